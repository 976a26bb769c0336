"""One Engine shared by many calls: no call changes what a later call does, and threads get the
same answers as the same calls run one by one."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import openvid.config
from openvid.config import Settings
from openvid.engine import Engine
from openvid.errors import IndexModelMismatch

LABELS = {"cycling": ["people riding bicycles"], "phone call": ["a person talking on a phone"],
          "cartoon": ["an animated rabbit in a forest"]}


@pytest.fixture
def shared_home(tmp_path, tiny_model_dirs, sample_videos):
    """A home with an index built by the tiny X-CLIP (window 2 s) and a taxonomy to classify with."""
    home = tmp_path / "home"
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("bikes.mp4", "carphone_pristine.mp4"):
        shutil.copy(sample_videos[name], folder / name)
    builder = Engine(model=str(tiny_model_dirs["xclip"]), device="cpu", home=home, window_s=2.0, batch_size=4)
    assert len(builder.index_videos([folder], index="clips").indexed) == 2
    store = builder.taxonomies
    store.create("things", templates=["a video of {}"])
    for label, prompts in LABELS.items():
        store.add_label("things", label, prompts=prompts)
    return home, folder


@pytest.fixture
def default_is_tiny_clip(monkeypatch, tiny_model_dirs):
    """The default models (used when none is chosen) are the tiny CLIP: no hub here."""
    tiny = str(tiny_model_dirs["clip"])
    monkeypatch.setattr(openvid.config, "DEFAULT_MODELS", {key: tiny for key in openvid.config.DEFAULT_MODELS})
    monkeypatch.delenv("OPENVID_MODEL", raising=False)


def _unchosen(home) -> Engine:
    return Engine(settings=Settings(home=home, device="cpu", batch_size=4))


def _answers(result):
    return [(p.path, [(s.label, round(s.probability, 5), round(s.cosine, 5)) for s in p.labels])
            for p in result.predictions]


def _hits(hits):
    return [(h.path, h.start_s, h.end_s, round(h.score, 5)) for h in hits]


def test_search_then_classify_equals_fresh_engines_in_both_orders(shared_home, sample_videos, default_is_tiny_clip):
    home, folder = shared_home
    video = str(folder / "bikes.mp4")
    fresh_hits = _hits(_unchosen(home).search("people riding bicycles", index="clips", k=3))
    fresh_classes = _answers(_unchosen(home).classify([video], "things"))
    fresh_embedding = _unchosen(home).encode_video(video)

    first = _unchosen(home)  # search first: the index's model and window are used for that call only
    assert _hits(first.search("people riding bicycles", index="clips", k=3)) == fresh_hits
    assert _answers(first.classify([video], "things")) == fresh_classes
    embedding = first.encode_video(video)
    assert embedding.model == fresh_embedding.model and "clip" in embedding.model
    np.testing.assert_array_equal(embedding.starts, fresh_embedding.starts)  # the default window, not the index's
    assert first.settings.model is None and first.settings.window_s is None

    second = _unchosen(home)  # classify first: the search still uses the index's X-CLIP
    assert _answers(second.classify([video], "things")) == fresh_classes
    assert _hits(second.search("people riding bicycles", index="clips", k=3)) == fresh_hits
    assert fresh_classes[0][1] and fresh_hits


def test_a_chosen_model_is_used_or_refused_with_the_model_the_index_needs(shared_home, tiny_model_dirs):
    home, _ = shared_home
    clip, xclip = str(tiny_model_dirs["clip"]), str(tiny_model_dirs["xclip"])
    for chosen in (Engine(model=clip, device="cpu", home=home),
                   Engine(settings=Settings(model=clip, device="cpu", home=home))):
        assert chosen.model_was_chosen
        with pytest.raises(IndexModelMismatch) as caught:
            chosen.search("bikes", index="clips")
        assert caught.value.needs == xclip
    assert Engine(settings=Settings(model=xclip, device="cpu", home=home)).search("bikes", index="clips", k=1)


def test_one_engine_serves_eight_threads_with_the_answers_of_sequential_calls(shared_home, tiny_model_dirs):
    home, folder = shared_home
    videos = [str(folder / "bikes.mp4"), str(folder / "carphone_pristine.mp4")]
    queries = ["people riding bicycles", "a person on the phone", "a cartoon", "traffic on a road"]

    def calls(engine: Engine, tag: str):
        """Mixed work, keyed so the concurrent run can be compared call by call."""
        work = []
        for i, query in enumerate(queries):
            work.append((f"search-{i}", lambda q=query: _hits(engine.search(q, index="clips", k=4))))
            work.append((f"text-{i}", lambda q=query: engine.encode_text([q]).round(5).tolist()))
        for i, video in enumerate(videos):
            work.append((f"classify-{i}", lambda v=video: _answers(engine.classify([v], "things", segments=True))))
        for i in range(4):
            name = f"{tag}-edits-{i}"

            def edit(name=name, i=i):
                store = engine.taxonomies
                store.create(name)
                store.add_label(name, f"label {i}", prompts=[f"a prompt {i}"])
                store.add_label(name, "other")
                final = store.rename_label(name, "other", f"renamed {i}")
                return final.version, sorted((label.name, tuple(label.prompts)) for label in final.labels)

            work.append((f"edit-{i}", edit))
        return work

    xclip = str(tiny_model_dirs["xclip"])
    sequential_engine = Engine(model=xclip, device="cpu", home=home, batch_size=4)
    sequential = {key: call() for key, call in calls(sequential_engine, "one")}

    shared = Engine(model=xclip, device="cpu", home=home, batch_size=4)
    work = calls(shared, "many") * 2  # every call twice, so the same call also meets itself in flight
    work = [(f"{key}#{n}", call) for n, (key, call) in enumerate(work)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(call) for key, call in work if not key.startswith("edit")}
        edits = {key: pool.submit(call) for key, call in work[: len(work) // 2] if key.startswith("edit")}
        concurrent = {key: future.result() for key, future in {**futures, **edits}.items()}
    for key, answer in concurrent.items():
        assert answer == sequential[key.split("#")[0]], key
    assert len(shared._models.encoders) == 1  # one loaded encoder served every thread


def test_index_and_classify_have_their_own_defaults_and_an_index_keeps_its_model(
        monkeypatch, tiny_model_dirs, tiny_encoder_dir, tmp_path, sample_videos):
    fast, strong = str(tiny_model_dirs["clip"]), str(tiny_encoder_dir("mobileclip2"))
    monkeypatch.delenv("OPENVID_MODEL", raising=False)
    monkeypatch.setattr(openvid.config, "DEFAULT_MODELS", {("index", "cpu"): fast, ("classify", "cpu"): strong,
                                                           ("index", "cuda"): fast, ("classify", "cuda"): strong})
    video = str(sample_videos["bikes.mp4"])
    engine = Engine(settings=Settings(home=tmp_path, device="cpu", batch_size=4, window_s=4.0))
    engine.index_videos([video], index="clips")
    assert engine.open_index("clips").record.model == fast
    engine.taxonomies.create("things", templates=["a video of {}"])
    for label, prompts in LABELS.items():
        engine.taxonomies.add_label("things", label, prompts=prompts)
    assert "mobileclip2" in engine.classify([video], "things").predictions[0].model
    hits = _hits(engine.search("people riding bicycles", index="clips", k=3))
    # a later release changes both defaults: the index still searches with the model it was built with
    monkeypatch.setattr(openvid.config, "DEFAULT_MODELS", {key: strong for key in openvid.config.DEFAULT_MODELS})
    assert _hits(_unchosen(tmp_path).search("people riding bicycles", index="clips", k=3)) == hits
