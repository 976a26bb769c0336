"""The REST API of `openvid serve`, end to end through FastAPI's TestClient.

One engine (the tiny CLIP) and one app serve the whole module over a small archive (bikes.mp4 and
carphone_pristine.mp4, 2 s windows). Every answer is checked against what the Python API returns
for the same call, so the server adds URLs and status codes but never its own numbers. Indexing
jobs write to indexes of their own, so the default index stays as the fixture built it.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from openvid.errors import UsageError  # noqa: E402

API = "/api/v1"
THINGS = ["riding a bike", "talking on a phone", "cooking"]


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_model_dirs, sample_videos):
    from openvid import Engine
    from openvid.server.app import create_app
    from openvid.server.config import ServeConfig

    root = tmp_path_factory.mktemp("server-api")
    archive, incoming, home = root / "archive", root / "incoming", root / "home"
    archive.mkdir()
    incoming.mkdir()
    for name in ("bikes.mp4", "carphone_pristine.mp4"):
        shutil.copyfile(sample_videos[name], archive / name)
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=2.0, batch_size=4)
    engine.index_videos([archive])
    engine.taxonomies.create("things")
    for label in THINGS:
        engine.taxonomies.add_label("things", label)
    app = create_app(engine, ServeConfig(allow_roots=(incoming,)))
    client = TestClient(app)
    videos = {Path(v.path).name: v for v in engine.catalog.list_videos(engine.catalog.get_index("default").id)}
    yield SimpleNamespace(engine=engine, app=app, client=client, archive=archive, incoming=incoming, home=home,
                          videos=videos, samples=sample_videos, config=ServeConfig)
    app.state.jobs.stop_all()


@pytest.fixture()
def client(world):
    return world.client


def error_of(response, status: int) -> dict:
    """The response is the JSON error {"error", "hint"} with `status`; never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "hint"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in response.text
    return body


def plain(value):
    from openvid.results import to_jsonable

    return json.loads(json.dumps(to_jsonable(value)))


def same_hits(api_hits: list[dict], engine_hits) -> None:
    expected = plain(engine_hits)
    assert [(h["segment_id"], h["video_id"], h["path"], h["start_s"], h["end_s"]) for h in api_hits] == \
        [(h["segment_id"], h["video_id"], h["path"], h["start_s"], h["end_s"]) for h in expected]
    assert [h["score"] for h in api_hits] == pytest.approx([h["score"] for h in expected], abs=1e-5)


def scores(prediction: dict) -> list[tuple[str, float]]:
    return [(s["label"], round(s["probability"], 5)) for s in prediction["labels"]]


def same_prediction(api: dict, expected) -> None:
    expected = plain(expected)
    assert scores(api) == scores(expected)
    assert api["top"] == expected["top"] and api["taxonomy"] == expected["taxonomy"]
    assert api["taxonomy_version"] == expected["taxonomy_version"]
    if expected.get("segments") is None:
        assert api.get("segments") is None
    else:
        assert [(s["start_s"], s["end_s"]) for s in api["segments"]] == \
            [(s["start_s"], s["end_s"]) for s in expected["segments"]]
        assert [scores(s) for s in api["segments"]] == [scores(s) for s in expected["segments"]]


def uploads_left(world) -> list[str]:
    folder = world.home / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def read_events(client, job_id: str) -> list[dict]:
    """The job's server-sent events (their JSON data) until the stream ends with the job."""
    found = []
    with client.stream("GET", f"{API}/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                found.append(json.loads(line[len("data:"):]))
    return found


def synthetic_folder(make_video, folder: Path, count: int, tag: str, start_s: float = 2.0) -> list[Path]:
    """`count` clips of distinct content (lengths differ) copied into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        seconds = start_s + 0.5 * i
        source = make_video(f"srv-{seconds:g}s.mp4", seconds=seconds, fps=8)
        target = folder / f"{tag}-{i}.mp4"
        shutil.copyfile(source, target)
        made.append(target)
    return made


def gate_progress(monkeypatch, engine, after_each) -> None:
    """Jobs call `after_each(path, status)` after each progress event (to hold a job mid-run)."""
    original = engine.index_videos

    def index_videos(paths, index="default", *, on_progress=None, stop=None, **kwargs):
        def progress(path, status, segments):
            on_progress(path, status, segments)
            after_each(path, status)

        return original(paths, index=index, on_progress=progress, stop=stop, **kwargs)

    monkeypatch.setattr(engine, "index_videos", index_videos)


# ---- health and search --------------------------------------------------------------------------

def test_health(world, client):
    from openvid import __version__

    body = client.get(f"{API}/health").json()
    assert body == {"ok": True, "version": __version__, "model": world.engine.settings.model_name,
                    "home": str(world.engine.settings.home)}


def test_search_text_equals_engine(world, client):
    response = client.get(f"{API}/search", params={"q": "a person riding a bike", "k": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "a person riding a bike" and body["like"] is None and body["index"] == "default"
    assert len(body["hits"]) == 1
    same_hits(body["hits"], world.engine.search("a person riding a bike", k=1))
    # Neighbouring segments merge into moments: with every segment matching, one moment per video.
    everything = client.get(f"{API}/search", params={"q": "a person riding a bike", "k": 20}).json()["hits"]
    same_hits(everything, world.engine.search("a person riding a bike", k=20))
    _, segments = world.engine.catalog.counts(world.engine.catalog.get_index("default").id)
    assert len(everything) == 2 and sum(h["segments"] for h in everything) == segments == 7
    for hit in everything:
        video = world.engine.catalog.get_video(hit["video_id"])
        assert hit["path"] == video.path and hit["name"] == Path(video.path).name
        assert hit["thumbnail"] == f"{API}/media/thumbnails/{hit['segment_id']}.jpg"
        assert hit["video"] == f"{API}/media/videos/{hit['video_id']}"
        assert world.engine.catalog.segments([hit["segment_id"]])[hit["segment_id"]].video_id == video.id


@pytest.mark.parametrize("params, kwargs", [
    ({"per_video": "true"}, {"per_video": True}),
    ({"path": "*bikes*"}, {"path_glob": "*bikes*"}),
    ({"min_duration": 5}, {"min_duration_s": 5.0}),
    ({"taxonomy": "things", "label": "cooking"}, {"taxonomy": "things", "label": "cooking"}),
], ids=["per_video", "path", "min_duration", "label"])
def test_search_filters_equal_engine(world, client, params, kwargs):
    response = client.get(f"{API}/search", params={"q": "a video", "k": 20, **params})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    expected = world.engine.search("a video", k=20, **kwargs)
    assert expected, "the filter should keep something, or the comparison says nothing"
    same_hits(hits, expected)
    unfiltered = world.engine.search("a video", k=20)
    if "per_video" in params:
        assert len({h["video_id"] for h in hits}) == len(hits) == len(world.videos)
    if "path" in params:
        assert {h["name"] for h in hits} == {"bikes.mp4"}
        assert len(hits) < len(unfiltered)
    if "min_duration" in params:
        assert {h["name"] for h in hits} == {"bikes.mp4"}  # the 10 s video; carphone has 4 s


def test_search_like_segment_leaves_its_own_segment_out(world, client):
    from openvid.server.deps import clip_ref

    video = world.videos["bikes.mp4"]
    segment = world.engine.catalog.video_segments(video.id)[2]  # 4-6 s: the moment around it splits in two
    response = client.get(f"{API}/search", params={"like": segment.id, "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["like"] == segment.id and body["query"] is None
    assert segment.id not in {h["segment_id"] for h in body["hits"]}
    own = [(h["start_s"], h["end_s"]) for h in body["hits"] if h["video_id"] == video.id]
    assert sorted(own) == [(0.0, 4.0), (6.0, 10.0)]
    same_hits(body["hits"], world.engine.search(like=clip_ref(segment.path, segment.start_s, segment.end_s), k=5))
    error_of(client.get(f"{API}/search", params={"like": 999999}), 404)


def test_search_like_upload(world, client):
    clip = world.samples["carphone_pristine.mp4"]
    response = client.post(f"{API}/search/like", data={"k": "4"},
                           files={"file": ("phone call.mp4", clip.read_bytes(), "video/mp4")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["like"] == "phone call.mp4" and body["hits"]
    same_hits(body["hits"], world.engine.search(like=str(clip), k=4))
    # The upload is the indexed carphone's content: that video is its own, left out.
    assert {h["name"] for h in body["hits"]} == {"bikes.mp4"}
    assert uploads_left(world) == []


def test_hit_urls_work(client):
    hit = client.get(f"{API}/search", params={"q": "a phone", "k": 1}).json()["hits"][0]
    thumb = client.get(hit["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    video = client.get(hit["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == Path(hit["path"]).read_bytes()


def test_search_refusals(client):
    error_of(client.get(f"{API}/search", params={"q": "x", "index": "nope"}), 404)
    error_of(client.get(f"{API}/search", params={"q": "x", "k": 0}), 422)
    error_of(client.get(f"{API}/search", params={"q": "x", "taxonomy": "things"}), 400)  # label missing
    error_of(client.get(f"{API}/search", params={"q": "x", "taxonomy": "things", "label": "nope"}), 400)


# ---- classify -----------------------------------------------------------------------------------

def test_classify_by_video_id_equals_engine(world, client):
    video = world.videos["bikes.mp4"]
    response = client.post(f"{API}/classify", json={"video_id": video.id, "taxonomy": "things"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prediction"]["path"] == video.path and body["warnings"] == []
    expected = world.engine.classify([video.path], "things", segments=True).predictions[0]
    same_prediction(body["prediction"], expected)
    assert len(body["prediction"]["segments"]) == 5  # 10 s in 2 s windows
    error_of(client.post(f"{API}/classify", json={"video_id": 999999, "taxonomy": "things"}), 404)


@pytest.mark.parametrize("spelling", ["relative", "absolute"])
def test_classify_by_path_equals_engine(world, client, spelling):
    path = world.archive / "carphone_pristine.mp4"
    given = "carphone_pristine.mp4" if spelling == "relative" else str(path)
    response = client.post(f"{API}/classify", json={"path": given, "taxonomy": "things", "segments": False})
    assert response.status_code == 200, response.text
    prediction = response.json()["prediction"]
    assert prediction["path"] == given
    same_prediction(prediction, world.engine.classify([path], "things").predictions[0])


def test_classify_a_file_not_indexed_under_an_indexed_folder(world, client, make_video):
    path = world.archive / "extra" / "new-clip.mp4"
    path.parent.mkdir(exist_ok=True)
    shutil.copyfile(make_video("srv-extra.mp4", seconds=2.0, fps=6, size=(96, 64)), path)
    try:
        response = client.post(f"{API}/classify", json={"path": "extra/new-clip.mp4", "taxonomy": "things"})
        assert response.status_code == 200, response.text
        same_prediction(response.json()["prediction"],
                        world.engine.classify([path], "things", segments=True).predictions[0])
    finally:
        shutil.rmtree(path.parent)


def test_classify_ad_hoc_labels(world, client):
    video = world.videos["carphone_pristine.mp4"]
    labels = ["a phone call", "a car ride", "a football match"]
    response = client.post(f"{API}/classify", json={"video_id": video.id, "labels": labels, "top_k": 2,
                                                    "segments": False})
    assert response.status_code == 200, response.text
    prediction = response.json()["prediction"]
    assert len(prediction["labels"]) == 2
    same_prediction(prediction, world.engine.classify([video.path], labels=labels, top_k=2).predictions[0])
    assert "a phone call" not in {t.name for t in world.engine.taxonomies.list()}  # nothing stored


def test_classify_upload_with_timeline(world, client):
    clip = world.samples["carphone_pristine.mp4"]
    response = client.post(f"{API}/classify/upload", data={"taxonomy": "things", "segments": "true"},
                           files={"file": ("my call.mp4", clip.read_bytes(), "video/mp4")})
    assert response.status_code == 200, response.text
    prediction = response.json()["prediction"]
    assert prediction["path"] == "my call.mp4"
    same_prediction(prediction, world.engine.classify([clip], "things", segments=True).predictions[0])
    assert [s["start_s"] for s in prediction["segments"]] == [0.0, 2.0]  # 4 s in 2 s windows
    assert all(len(s["labels"]) == len(THINGS) for s in prediction["segments"])
    assert uploads_left(world) == []

    ad_hoc = client.post(f"{API}/classify/upload", data={"labels": "a bike, a phone", "segments": "false"},
                         files={"file": ("call.mp4", clip.read_bytes(), "video/mp4")})
    assert ad_hoc.status_code == 200, ad_hoc.text
    assert ad_hoc.json()["prediction"]["segments"] is None
    same_prediction(ad_hoc.json()["prediction"],
                    world.engine.classify([clip], labels=["a bike", "a phone"]).predictions[0])
    assert uploads_left(world) == []


def test_classify_needs_one_target_and_labels(world, client):
    video = world.videos["bikes.mp4"]
    error_of(client.post(f"{API}/classify", json={"taxonomy": "things"}), 400)
    error_of(client.post(f"{API}/classify", json={"video_id": video.id, "path": "bikes.mp4",
                                                  "taxonomy": "things"}), 400)
    error_of(client.post(f"{API}/classify", json={"video_id": video.id}), 400)
    error_of(client.post(f"{API}/classify", json={"video_id": video.id, "taxonomy": "nope"}), 404)


@pytest.mark.parametrize("content", [b"this is not a video at all", b""], ids=["corrupt", "empty"])
def test_bad_upload_is_422_naming_the_uploaded_file(world, client, content):
    response = client.post(f"{API}/classify/upload", data={"taxonomy": "things"},
                           files={"file": ("holiday.mp4", content, "video/mp4")})
    body = error_of(response, 422)
    assert body["error"].startswith("holiday.mp4: ")
    assert str(world.home) not in response.text and "uploads" not in response.text
    assert uploads_left(world) == []
    like = client.post(f"{API}/search/like", files={"file": ("holiday.mp4", content, "video/mp4")})
    assert error_of(like, 422)["error"].startswith("holiday.mp4: ")
    assert str(world.home) not in like.text
    assert uploads_left(world) == []


def test_upload_over_the_limit_is_413_and_deleted(world):
    from openvid.server.app import create_app

    small = TestClient(create_app(world.engine, world.config(upload_limit=1000)))
    payload = world.samples["carphone_pristine.mp4"].read_bytes()[:5000]
    clips_before = sorted((world.home / "example-clips").glob("*")) if (world.home / "example-clips").is_dir() else []
    for url, data in ((f"{API}/classify/upload", {"taxonomy": "things"}), (f"{API}/search/like", {}),
                      (f"{API}/taxonomies/things/examples/upload", {"label": "cooking"})):
        response = small.post(url, data=data, files={"file": ("big.mp4", payload, "video/mp4")})
        assert "limit of 0.000953674 MB" in error_of(response, 413)["error"]  # 1000 bytes in MiB
        assert uploads_left(world) == []
    clips_after = sorted((world.home / "example-clips").glob("*")) if (world.home / "example-clips").is_dir() else []
    assert clips_after == clips_before
    # A body far over the limit is refused before it is read (Content-Length), or as soon as it
    # passes the limit (a chunked body); either way a JSON error.
    huge = small.post(f"{API}/classify/upload", data={"taxonomy": "things"},
                      files={"file": ("huge.mp4", b"\0" * (2 * 1024 * 1024), "video/mp4")})
    assert "upload limit of 0.000953674 MB" in error_of(huge, 413)["error"]

    def chunks():
        for _ in range(40):
            yield b"\0" * 65536

    chunked = small.post(f"{API}/taxonomies/import", content=chunks(),
                         headers={"content-type": "multipart/form-data; boundary=xyz"})
    error_of(chunked, 413)
    assert uploads_left(world) == []


# ---- paths the server refuses -------------------------------------------------------------------

@pytest.fixture()
def no_classify(world, monkeypatch):
    """Classify calls that get past the path check are recorded (and refused), so a test can tell
    that a refused path was never handed to the engine."""
    calls = []

    def classify(paths, *args, **kwargs):
        calls.append(paths)
        raise AssertionError(f"classify was reached with {paths}")

    monkeypatch.setattr(world.engine, "classify", classify)
    return calls


@pytest.mark.parametrize("given", [
    "../bikes.mp4",
    "../../../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "%252e%252e/%252e%252e/etc/passwd",
    "..\\..\\etc\\passwd",
    "{archive}/../archive/bikes.mp4",
    "{archive}/%2e%2e/x.mp4",
    "/etc/passwd",
    "/etc",
    "{parent}/outside.mp4",
    "link-out.mp4",
    "link-dir/passwd",
    "extra\0.mp4",
])
def test_refused_paths_are_403_without_opening(world, client, no_classify, given):
    (world.archive / "link-out.mp4").unlink(missing_ok=True)
    (world.archive / "link-out.mp4").symlink_to("/etc/passwd")
    (world.archive / "link-dir").unlink(missing_ok=True)
    (world.archive / "link-dir").symlink_to("/etc", target_is_directory=True)
    (world.archive.parent / "outside.mp4").write_bytes(b"secret")
    try:
        path = given.format(archive=world.archive, parent=world.archive.parent)
        response = client.post(f"{API}/classify", json={"path": path, "taxonomy": "things"})
        error_of(response, 403)
        assert "passwd" not in response.text or "root:" not in response.text
        assert no_classify == []
    finally:
        (world.archive / "link-out.mp4").unlink()
        (world.archive / "link-dir").unlink()


@pytest.mark.parametrize("given", ["missing.mp4", "{archive}/missing.mp4", "extra/none.mp4"])
def test_missing_file_inside_is_404(world, client, no_classify, given):
    response = client.post(f"{API}/classify", json={"path": given.format(archive=world.archive),
                                                    "taxonomy": "things"})
    error_of(response, 404)
    assert no_classify == []


@pytest.mark.parametrize("request_kwargs", [
    {"content": b"{not json", "headers": {"content-type": "application/json"}},
    {"json": {"video_id": "the first one", "taxonomy": "things"}},
    {"json": {"video_id": 1, "taxonomy": "things", "top_k": 0}},
    {"json": ["a", "list"]},
], ids=["not-json", "wrong-type", "out-of-range", "not-an-object"])
def test_malformed_request_body_is_422_json(client, request_kwargs):
    error_of(client.post(f"{API}/classify", **request_kwargs), 422)


def test_an_unexpected_error_is_a_plain_500(world, monkeypatch):
    def broken():
        raise RuntimeError("secret detail /some/internal/path")

    monkeypatch.setattr(world.engine, "list_indexes", broken)
    response = TestClient(world.app, raise_server_exceptions=False).get(f"{API}/indexes")
    body = error_of(response, 500)
    assert body["error"] == "internal error (RuntimeError)"
    assert "secret detail" not in response.text and "/some/internal/path" not in response.text


def test_openapi_schema_and_docs(client):
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/search", "/api/v1/classify", "/api/v1/classify/upload", "/api/v1/taxonomies/{name}/labels/{label}",
                 "/api/v1/jobs/{job_id}/events", "/api/v1/media/videos/{video_id}"):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_unknown_routes_and_methods_are_json(client):
    error_of(client.get(f"{API}/no-such-thing"), 404)
    error_of(client.put(f"{API}/health"), 405)


# ---- taxonomies ---------------------------------------------------------------------------------

def test_taxonomy_lifecycle(world, client):
    store = world.engine.taxonomies
    created = client.post(f"{API}/taxonomies", json={"name": "pets", "description": "animals at home"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "pets" and created.json()["version"] == 1
    error_of(client.post(f"{API}/taxonomies", json={"name": "pets"}), 409)
    listed = {t["name"]: t for t in client.get(f"{API}/taxonomies").json()}
    assert listed["pets"]["description"] == "animals at home" and listed["pets"]["label_count"] == 0

    for body in ({"name": "cat", "prompts": ["a cat sleeping"]}, {"name": "dog"},
                 {"name": "kitten", "parent": "cat", "synonyms": ["young cat"]}):
        response = client.post(f"{API}/taxonomies/pets/labels", json=body)
        assert response.status_code == 201, response.text
    shown = client.get(f"{API}/taxonomies/pets").json()
    assert shown == plain(store.get("pets"))
    assert [label["name"] for label in shown["labels"]] == ["cat", "dog", "kitten"]
    assert shown["version"] == 4
    error_of(client.post(f"{API}/taxonomies/pets/labels", json={"name": "dog"}), 409)  # the name is taken
    error_of(client.post(f"{API}/taxonomies/pets/labels", json={"name": "pup", "parent": "horse"}), 404)
    error_of(client.post(f"{API}/taxonomies", json={"name": "a/b"}), 400)  # one URL segment: no slash

    renamed = client.patch(f"{API}/taxonomies/pets/labels/dog", json={"new_name": "puppy"})
    assert renamed.status_code == 200, renamed.text
    assert [label["name"] for label in renamed.json()["labels"]] == ["cat", "puppy", "kitten"]
    prompts = client.patch(f"{API}/taxonomies/pets/labels/cat", json={"prompts": ["a cat on a sofa", "a cat"]})
    assert store.get("pets").label("cat").prompts == ["a cat on a sofa", "a cat"] == \
        next(x for x in prompts.json()["labels"] if x["name"] == "cat")["prompts"]
    client.patch(f"{API}/taxonomies/pets/labels/kitten", json={"parent": "puppy"})
    assert store.get("pets").label("kitten").parent == "puppy"
    client.patch(f"{API}/taxonomies/pets/labels/kitten", json={"parent": None})
    assert store.get("pets").label("kitten").parent is None
    kitten_synonyms = store.get("pets").label("kitten").synonyms
    disabled = client.patch(f"{API}/taxonomies/pets/labels/kitten", json={"enabled": False})
    assert disabled.status_code == 200
    kitten = store.get("pets").label("kitten")
    assert kitten.enabled is False and kitten.synonyms == kitten_synonyms == ["young cat"]  # others kept
    error_of(client.patch(f"{API}/taxonomies/pets/labels/horse", json={"enabled": False}), 404)
    error_of(client.patch(f"{API}/taxonomies/nope/labels/cat", json={"enabled": False}), 404)

    version = store.get("pets").version
    removed = client.delete(f"{API}/taxonomies/pets/labels/kitten")
    assert removed.status_code == 200
    assert [label["name"] for label in removed.json()["labels"]] == ["cat", "puppy"]
    error_of(client.delete(f"{API}/taxonomies/pets/labels/kitten"), 404)

    at = client.get(f"{API}/taxonomies/pets", params={"version": version})
    assert at.json() == plain(store.get("pets", version=version))
    assert "kitten" in [label["name"] for label in at.json()["labels"]]
    history = client.get(f"{API}/taxonomies/pets/history").json()
    assert history == plain(store.history("pets"))
    assert [entry["version"] for entry in history] == list(range(1, version + 2))
    reverted = client.post(f"{API}/taxonomies/pets/revert", json={"version": version})
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["version"] == version + 2
    assert store.get("pets") == store.get("pets", version=version)  # equality ignores the version
    error_of(client.post(f"{API}/taxonomies/pets/revert", json={"version": 999}), 404)  # no such version
    error_of(client.get(f"{API}/taxonomies/pets", params={"version": 999}), 404)


def test_odd_names_work_end_to_end(world, client):
    """Taxonomy names are free text and label names may hold a '/': export and label edits still work."""
    for name in ("Café 猫", 'say "hi"'):
        assert client.post(f"{API}/taxonomies", json={"name": name}).status_code == 201
        exported = client.get(f"{API}/taxonomies/{name}/export", params={"format": "json"})
        assert exported.status_code == 200, exported.text
        assert exported.text == world.engine.taxonomies.export(name, "json")
        disposition = exported.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=\"") and disposition.isascii()
        assert f"filename*=UTF-8''{quote(name + '.json', safe='')}" in disposition
    client.post(f"{API}/taxonomies/Café 猫/labels", json={"name": "indoor/outdoor"})
    edited = client.patch(f"{API}/taxonomies/Café 猫/labels/{quote('indoor/outdoor', safe='')}",
                          json={"new_name": "inside or out"})
    assert edited.status_code == 200, edited.text
    assert [label["name"] for label in edited.json()["labels"]] == ["inside or out"]
    client.post(f"{API}/taxonomies/Café 猫/labels", json={"name": "a/b"})
    removed = client.delete(f"{API}/taxonomies/Café 猫/labels/{quote('a/b', safe='')}")
    assert removed.status_code == 200, removed.text
    assert [label["name"] for label in removed.json()["labels"]] == ["inside or out"]


def test_delete_taxonomy(world, client):
    client.post(f"{API}/taxonomies", json={"name": "doomed"})
    response = client.delete(f"{API}/taxonomies/doomed")
    assert response.status_code == 204 and response.content == b""
    assert "doomed" not in {t.name for t in world.engine.taxonomies.list()}
    error_of(client.get(f"{API}/taxonomies/doomed"), 404)
    error_of(client.delete(f"{API}/taxonomies/doomed"), 404)


def test_unknown_taxonomy_is_404(client):
    for response in (client.get(f"{API}/taxonomies/nope"), client.get(f"{API}/taxonomies/nope/history"),
                     client.get(f"{API}/taxonomies/nope/export"),
                     client.post(f"{API}/taxonomies/nope/labels", json={"name": "x"}),
                     client.delete(f"{API}/taxonomies/nope/labels/x"),
                     client.post(f"{API}/taxonomies/nope/revert", json={"version": 1})):
        assert "nope" in error_of(response, 404)["error"]


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_export_import_round_trip(world, client, fmt):
    store = world.engine.taxonomies
    name = f"roundtrip-{fmt}"
    if name not in {t.name for t in store.list()}:
        store.create(name, "a round trip")
        store.add_label(name, "sport", description="any sport")
        store.add_label(name, "tennis", parent="sport", prompts=["people playing tennis"], synonyms=["a tennis match"])
        store.add_label(name, "chess", enabled=False)
    exported = client.get(f"{API}/taxonomies/{name}/export", params={"format": fmt})
    assert exported.status_code == 200
    assert exported.text == store.export(name, fmt)
    assert f'filename="{name}.{fmt}"' in exported.headers["content-disposition"]
    imported = client.post(f"{API}/taxonomies/import", data={"name": f"{name}-copy"},
                           files={"file": (f"labels.{fmt}", exported.content, "application/octet-stream")})
    assert imported.status_code == 201, imported.text
    assert imported.json()["name"] == f"{name}-copy"
    copy, original = store.get(f"{name}-copy"), store.get(name)
    assert [(x.name, x.parent, x.prompts, x.synonyms, x.enabled) for x in copy.labels] == \
        [(x.name, x.parent, x.prompts, x.synonyms, x.enabled) for x in original.labels]
    if fmt != "csv":  # CSV carries the labels only
        assert copy == __import__("dataclasses").replace(original, name=f"{name}-copy")
    again = client.post(f"{API}/taxonomies/import", data={"name": f"{name}-copy"},
                        files={"file": (f"labels.{fmt}", exported.content, "application/octet-stream")})
    error_of(again, 409)
    store.add_label(f"{name}-copy", "extra")
    replaced = client.post(f"{API}/taxonomies/import", data={"name": f"{name}-copy", "replace": "true"},
                           files={"file": (f"labels.{fmt}", exported.content, "application/octet-stream")})
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["version"] == copy.version + 2  # the file's content as the next version
    assert "extra" not in {x.name for x in store.get(f"{name}-copy").labels}


@pytest.mark.parametrize("filename, content", [
    ("broken.yaml", b"name: broken\nlabels: [unclosed\n"),
    ("broken.json", b'{"name": "broken", "labels": [{"name": "a"}, {"name": "a"}]}'),
    ("broken.csv", b"\xff\xfe\x00not utf-8"),
    ("broken.txt", b"name: broken\n"),
    ("broken.json", b'{"name": "broken", "labels": [{"nom": "a"}]}'),
], ids=["yaml-syntax", "duplicate-label", "not-utf8", "unknown-format", "unknown-field"])
def test_malformed_import_is_400_and_stores_nothing(world, client, filename, content):
    before = plain(world.engine.taxonomies.list())
    response = client.post(f"{API}/taxonomies/import", files={"file": (filename, content, "text/plain")})
    error_of(response, 400)
    assert plain(world.engine.taxonomies.list()) == before
    assert "broken" not in {t["name"] for t in client.get(f"{API}/taxonomies").json()}


# ---- few-shot -----------------------------------------------------------------------------------

def test_fewshot_from_segment_list_remove(world, client):
    client.post(f"{API}/taxonomies", json={"name": "shots"})
    segment_id = client.get(f"{API}/search", params={"q": "bikes", "k": 1}).json()["hits"][0]["segment_id"]
    segment = world.engine.catalog.segments([segment_id])[segment_id]
    added = client.post(f"{API}/taxonomies/shots/examples", json={"label": "cycling", "segment_id": segment_id})
    assert added.status_code == 201, added.text
    assert added.json() == {"taxonomy": "shots", "label": "cycling", "created_label": True, "similar_labels": [],
                            "added": 1}
    listed = client.get(f"{API}/taxonomies/shots/examples").json()
    assert listed == plain(world.engine.examples.sources("shots"))
    assert [(e["label"], e["source_path"], e["start_s"], e["end_s"]) for e in listed] == \
        [("cycling", segment.path, segment.start_s, segment.end_s)]
    assert client.get(f"{API}/taxonomies/shots/examples", params={"label": "cycling"}).json() == listed
    error_of(client.post(f"{API}/taxonomies/shots/examples", json={"label": "cycling", "segment_id": 999999}), 404)
    error_of(client.get(f"{API}/taxonomies/nope/examples"), 404)

    removed = client.delete(f"{API}/taxonomies/shots/examples/{listed[0]['ids'][0]}")
    assert removed.status_code == 200 and removed.json() == {"removed": 1}
    assert client.get(f"{API}/taxonomies/shots/examples").json() == []
    error_of(client.delete(f"{API}/taxonomies/shots/examples/{listed[0]['ids'][0]}"), 404)


def test_fewshot_from_upload_keeps_the_clip(world, client):
    client.post(f"{API}/taxonomies", json={"name": "uploaded-shots"})
    clip = world.samples["carphone_pristine.mp4"]
    response = client.post(f"{API}/taxonomies/uploaded-shots/examples/upload", data={"label": "phoning"},
                           files={"file": ("call.mp4", clip.read_bytes(), "video/mp4")})
    assert response.status_code == 201, response.text
    assert response.json()["added"] == 1 and response.json()["created_label"] is True
    listed = client.get(f"{API}/taxonomies/uploaded-shots/examples").json()
    assert len(listed) == 1
    kept = Path(listed[0]["source_path"])
    assert kept.parent == world.home / "example-clips" and kept.suffix == ".mp4"
    assert kept.read_bytes() == clip.read_bytes()
    assert uploads_left(world) == []
    # The same clip sent again is one file.
    client.post(f"{API}/taxonomies/uploaded-shots/examples/upload", data={"label": "phoning"},
                files={"file": ("call again.mp4", clip.read_bytes(), "video/mp4")})
    assert sorted((world.home / "example-clips").iterdir()) == [kept]
    bad = client.post(f"{API}/taxonomies/uploaded-shots/examples/upload", data={"label": "phoning"},
                      files={"file": ("junk.mp4", b"junk", "video/mp4")})
    assert error_of(bad, 422)["error"].startswith("junk.mp4")
    assert sorted((world.home / "example-clips").iterdir()) == [kept]  # a failed upload keeps nothing


# ---- indexes and jobs ---------------------------------------------------------------------------

def test_indexes_list_info_videos_check(world, client):
    engine = world.engine
    listed = client.get(f"{API}/indexes").json()
    assert listed == plain(engine.list_indexes())
    default = next(i for i in listed if i["name"] == "default")
    assert default["videos"] == 2 and default["segments"] == 7
    info = client.get(f"{API}/indexes/default").json()
    assert info == plain(engine.index_info("default"))
    videos = client.get(f"{API}/indexes/default/videos").json()
    record = engine.catalog.get_index("default")
    assert [(v["id"], v["path"]) for v in videos] == [(v.id, v.path) for v in engine.catalog.list_videos(record.id)]
    assert {v["name"] for v in videos} == {"bikes.mp4", "carphone_pristine.mp4"}
    assert all(client.get(v["url"]).status_code == 200 for v in videos)
    check = client.post(f"{API}/indexes/default/check")
    direct = engine.check("default")
    assert check.status_code == 200 and check.json() == {**plain(direct), "ok": direct.ok, "vectors_ok": direct.vectors_ok}
    assert check.json()["ok"] is True
    for response in (client.get(f"{API}/indexes/nope"), client.get(f"{API}/indexes/nope/videos"),
                     client.post(f"{API}/indexes/nope/check"), client.get(f"{API}/jobs/job-999"),
                     client.get(f"{API}/jobs/job-999/events"), client.delete(f"{API}/jobs/job-999")):
        error_of(response, 404)
    assert client.get(f"{API}/roots").json() == {"allow_roots": [str(world.incoming.resolve())]}


def test_jobs_refused_outside_allowed_roots(world, client, tmp_path):
    from openvid.server.app import create_app

    closed = TestClient(create_app(world.engine, world.config()))
    error_of(closed.post(f"{API}/indexes/default/jobs", json={"folder": str(world.incoming)}), 403)
    for folder in (str(world.archive), "/etc", str(tmp_path), f"{world.incoming}/../archive", "../archive",
                   f"{world.incoming}/%2e%2e/archive"):
        error_of(client.post(f"{API}/indexes/default/jobs", json={"folder": folder}), 403)
    error_of(client.post(f"{API}/indexes/default/jobs", json={"folder": f"{world.incoming}/none"}), 404)
    (world.incoming / "empty").mkdir(exist_ok=True)
    assert "no videos" in error_of(client.post(f"{API}/indexes/default/jobs",
                                               json={"folder": str(world.incoming / "empty")}), 400)["error"]
    assert client.get(f"{API}/jobs").json() == []


def test_job_indexes_a_folder_with_progress_and_failures(world, client, make_video):
    folder = world.incoming / "batch"
    made = synthetic_folder(make_video, folder, 2, "good")
    (folder / "broken.mp4").write_bytes(b"this is no video")
    started = client.post(f"{API}/indexes/batch/jobs", json={"folder": str(folder)})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] == "running" and job["total"] == 3 and job["index"] == "batch"
    events = read_events(client, job["id"])
    assert events[0]["type"] == "started" and events[0]["total"] == 3
    assert [e["n"] for e in events] == list(range(1, len(events) + 1))
    progress = [e for e in events if e["type"] == "progress"]
    assert sorted((Path(e["path"]).name, e["status"]) for e in progress) == \
        [("broken.mp4", "failed"), ("good-0.mp4", "indexed"), ("good-1.mp4", "indexed")]
    assert events[-1]["type"] == "done" and events[-1]["done"] == 3
    assert [Path(f["path"]).name for f in events[-1]["failures"]] == ["broken.mp4"]
    summary = client.get(f"{API}/jobs/{job['id']}").json()
    assert summary["state"] == "done" and summary["done"] == 3
    assert summary["segments"] == sum(e["segments"] for e in progress) > 0
    assert [Path(f["path"]).name for f in summary["failures"]] == ["broken.mp4"]
    assert summary["failures"][0]["error"]
    assert job["id"] in {j["id"] for j in client.get(f"{API}/jobs").json()}
    # A late reader gets the whole story; `after` continues from an event number.
    assert read_events(client, job["id"]) == events
    with client.stream("GET", f"{API}/jobs/{job['id']}/events", params={"after": len(events) - 1}) as response:
        tail = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    assert tail == events[-1:]
    hits = client.get(f"{API}/search", params={"q": "stripes", "index": "batch", "k": 50}).json()["hits"]
    assert {Path(h["path"]).name for h in hits} == {p.name for p in made}
    same_hits(hits, world.engine.search("stripes", index="batch", k=50))


def test_cancel_a_running_job(world, client, make_video, monkeypatch):
    folder = world.incoming / "many"
    made = synthetic_folder(make_video, folder, 5, "clip", start_s=4.0)
    held, release = threading.Event(), threading.Event()

    def after_each(path, status):
        if status == "indexed" and not held.is_set():
            held.set()
            release.wait(30)

    gate_progress(monkeypatch, world.engine, after_each)
    job = client.post(f"{API}/indexes/many/jobs", json={"folder": str(folder)}).json()
    try:
        assert held.wait(30), "the job never committed a video"
        assert client.get(f"{API}/jobs/{job['id']}").json()["state"] == "running"
        error_of(client.post(f"{API}/indexes/many/jobs", json={"folder": str(folder)}), 409)
        cancelled = client.delete(f"{API}/jobs/{job['id']}")
        assert cancelled.status_code == 200
    finally:
        release.set()
    events = read_events(client, job["id"])
    assert events[-1]["type"] == "cancelled"
    summary = client.get(f"{API}/jobs/{job['id']}").json()
    assert summary["state"] == "cancelled" and summary["finished_at"] is not None
    assert summary["report"]["stopped"] is True and summary["report"]["pending"]
    indexed, pending = set(summary["report"]["indexed"]), set(summary["report"]["pending"])
    # Stopped between videos: the one committed before the cancel (at least) is kept, the rest is
    # left for the next run, and every file of the folder is in exactly one of the two lists.
    assert indexed and pending and indexed.isdisjoint(pending)
    assert {Path(p).name for p in indexed | pending} == {p.name for p in made}
    videos = client.get(f"{API}/indexes/many/videos").json()
    assert {v["path"] for v in videos} == indexed  # what was committed stays, nothing half-done
    check = client.post(f"{API}/indexes/many/check").json()
    assert check["ok"] is True and check["missing"] == [] and check["extra"] == []
    # A cancelled job no longer blocks the index: the next one finishes the folder.
    monkeypatch.undo()
    again = client.post(f"{API}/indexes/many/jobs", json={"folder": str(folder)})
    assert again.status_code == 202, again.text
    assert read_events(client, again.json()["id"])[-1]["type"] == "done"
    assert len(client.get(f"{API}/indexes/many/videos").json()) == 5


def test_searches_while_a_job_runs(world, client, make_video, monkeypatch):
    first = synthetic_folder(make_video, world.incoming / "live-first", 1, "first", start_s=2.25)
    world.engine.index_videos(first, index="live")
    folder = world.incoming / "live"
    synthetic_folder(make_video, folder, 3, "more", start_s=2.75)
    seen_lock, best = threading.Lock(), [1]
    committed, timeouts = [1], []

    def after_each(path, status):
        if status != "indexed":
            return
        committed[0] += 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # hold the job until some search saw this video
            with seen_lock:
                if best[0] >= committed[0]:
                    return
            time.sleep(0.02)
        timeouts.append(path)

    gate_progress(monkeypatch, world.engine, after_each)
    job = client.post(f"{API}/indexes/live/jobs", json={"folder": str(folder)})
    assert job.status_code == 202
    finished = threading.Event()
    failures, sequences = [], [[] for _ in range(8)]

    def searcher(n: int) -> None:
        last_round = False
        while not last_round:
            last_round = finished.is_set()
            try:
                response = client.get(f"{API}/search", params={"q": "a square", "index": "live", "k": 100,
                                                               "per_video": "true"})
            except Exception as exc:  # noqa: BLE001 - collected and reported by the test
                failures.append(repr(exc))
                return
            if response.status_code != 200:
                failures.append(response.text)
                return
            count = len({h["video_id"] for h in response.json()["hits"]})
            sequences[n].append(count)
            with seen_lock:
                best[0] = max(best[0], count)

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        events = read_events(client, job.json()["id"])
    finally:
        finished.set()
        for thread in threads:
            thread.join(60)
    assert failures == []
    assert events[-1]["type"] == "done"
    assert timeouts == [], "a committed video did not show up in searches"
    for sequence in sequences:
        assert sequence and sequence == sorted(sequence)  # results only grow
        assert sequence[-1] == 4
    seen = {count for sequence in sequences for count in sequence}
    assert {2, 3, 4} <= seen  # each video became visible as it was committed


# ---- media --------------------------------------------------------------------------------------

def test_thumbnail_is_a_jpeg_made_once(world, client, monkeypatch):
    from PIL import Image

    import openvid.media
    from openvid.server.thumbnails import THUMBNAIL_SIDE, thumbnail_file

    video = world.videos["carphone_pristine.mp4"]
    segment = world.engine.catalog.video_segments(video.id)[-1]
    cached = thumbnail_file(world.home, video.content_hash, segment.start_s)
    cached.unlink(missing_ok=True)  # another test may have shown this segment already
    first = client.get(f"{API}/media/thumbnails/{segment.id}.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(first.content))
    assert image.format == "JPEG" and min(image.size) == THUMBNAIL_SIDE
    assert image.size[0] / image.size[1] == pytest.approx(176 / 144, abs=0.02)  # the clip's shape
    assert cached.read_bytes() == first.content
    assert not list(cached.parent.glob("*.part"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("the thumbnail was decoded again")

    monkeypatch.setattr(openvid.media, "load_clip", no_decoding)
    second = client.get(f"{API}/media/thumbnails/{segment.id}.jpg")
    assert second.status_code == 200 and second.content == first.content
    error_of(client.get(f"{API}/media/thumbnails/999999.jpg"), 404)
    error_of(client.get(f"{API}/media/thumbnails/abc.jpg"), 422)


def test_video_range_requests(world, client):
    video = world.videos["bikes.mp4"]
    data = Path(video.path).read_bytes()
    partial = client.get(f"{API}/media/videos/{video.id}", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206
    assert partial.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert partial.content == data[:100] and len(partial.content) == 100
    middle = client.get(f"{API}/media/videos/{video.id}", headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206 and middle.content == data[1000:2000]
    full = client.get(f"{API}/media/videos/{video.id}")
    assert full.status_code == 200 and full.content == data
    assert int(full.headers["content-length"]) == len(data) and full.headers["accept-ranges"] == "bytes"
    tail = client.get(f"{API}/media/videos/{video.id}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    past = client.get(f"{API}/media/videos/{video.id}", headers={"Range": f"bytes={len(data)}-"})
    error_of(past, 416)
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    for header in ("bytes=abc", "items=0-9", "bytes=50-10"):
        error_of(client.get(f"{API}/media/videos/{video.id}", headers={"Range": header}), 400)
    error_of(client.get(f"{API}/media/videos/999999"), 404)


# ---- auth ---------------------------------------------------------------------------------------

@pytest.fixture()
def locked(world):
    from openvid.server.app import create_app

    return create_app(world.engine, world.config(token="s3cret", host="0.0.0.0"))


def test_token_is_required(locked):
    client = TestClient(locked)
    error_of(client.get(f"{API}/health"), 401)
    assert client.get(f"{API}/health").headers["www-authenticate"] == "Bearer"
    error_of(client.get(f"{API}/health", headers={"Authorization": "Bearer wrong"}), 401)
    error_of(client.get(f"{API}/health", headers={"Authorization": "Bearer s3cre"}), 401)
    error_of(client.get(f"{API}/health", headers={"Authorization": "Basic s3cret"}), 401)
    error_of(client.post(f"{API}/taxonomies", json={"name": "sneaky"}), 401)
    error_of(client.get(f"{API}/search", params={"q": "x"}), 401)
    ok = client.get(f"{API}/health", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    page = client.get("/", follow_redirects=False)
    assert page.status_code in (302, 303, 307) and page.headers["location"].startswith("/login")
    docs = client.get("/docs", follow_redirects=False)
    assert docs.status_code in (302, 303, 307)
    assert client.get("/login").status_code == 200


def test_login_form_sets_a_cookie_that_works(locked):
    client = TestClient(locked)
    wrong = client.post("/login", data={"token": "guess"}, follow_redirects=False)
    assert wrong.status_code == 303 and "failed" in wrong.headers["location"]
    assert "set-cookie" not in wrong.headers
    error_of(client.get(f"{API}/health"), 401)
    right = client.post("/login", data={"token": "s3cret", "next": "/"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert "s3cret" not in right.headers["set-cookie"] and "httponly" in right.headers["set-cookie"].lower()
    assert client.get(f"{API}/health").status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 200
    for elsewhere in ("//evil.example/", "/\\evil.example/", "/\t/evil.example/", "https://evil.example/",
                      "evil.example"):
        away = client.post("/login", data={"token": "s3cret", "next": elsewhere}, follow_redirects=False)
        assert away.headers["location"] == "/", elsewhere  # no open redirect
    back = client.post("/login", data={"token": "s3cret", "next": "/api/v1/indexes"}, follow_redirects=False)
    assert back.headers["location"] == "/api/v1/indexes"
    forged = TestClient(locked, cookies={"openvid_session": "s3cret"})
    error_of(forged.get(f"{API}/health"), 401)


def test_non_loopback_needs_a_token(world):
    with pytest.raises(UsageError, match="token"):
        world.config(host="0.0.0.0")
    with pytest.raises(UsageError):
        world.config(host="0.0.0.0", token="   ")
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert world.config(host=host).token is None
    assert world.config(host="0.0.0.0", token="s3cret").token == "s3cret"


# ---- concurrency without jobs -------------------------------------------------------------------

def test_parallel_requests_of_every_kind(world, client):
    """Searches, classifies and taxonomy reads from 8 threads at once all answer as they do alone."""
    video = world.videos["carphone_pristine.mp4"]
    alone = {
        "search": client.get(f"{API}/search", params={"q": "bikes", "k": 5}).json(),
        "classify": client.post(f"{API}/classify", json={"video_id": video.id, "taxonomy": "things",
                                                         "segments": False}).json(),
        "taxonomy": client.get(f"{API}/taxonomies/things").json(),
    }
    results, failures = [], []

    def worker(n: int) -> None:
        kind = ("search", "classify", "taxonomy")[n % 3]
        for _ in range(2):
            if kind == "search":
                response = client.get(f"{API}/search", params={"q": "bikes", "k": 5})
            elif kind == "classify":
                response = client.post(f"{API}/classify", json={"video_id": video.id, "taxonomy": "things",
                                                                "segments": False})
            else:
                response = client.get(f"{API}/taxonomies/things")
            if response.status_code != 200:
                failures.append(response.text)
            else:
                results.append((kind, response.json()))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(results) == 16
    for kind, body in results:
        if kind == "classify":
            same_prediction(body["prediction"], alone[kind]["prediction"])
        elif kind == "search":
            assert [h["segment_id"] for h in body["hits"]] == [h["segment_id"] for h in alone[kind]["hits"]]
        else:
            assert body == alone[kind]

