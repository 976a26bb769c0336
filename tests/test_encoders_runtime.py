"""Encoder runtimes (openvid.encoders.runtime): every runtime against torch on every family's tiny model,
the export cache (a corrupt file, a changed checkpoint, two processes at once), and a search that
does not care which runtime built the index.

Exports are shared by the whole module (one home), so each tiny tower is exported once per runtime.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import warnings

import numpy as np
import pytest
import torch

from openvid import Engine
from openvid.config import Settings, describe, resolve_runtime
from openvid.encoders import load_encoder
from openvid.errors import UsageError

# clip's tiny towers export in about a second; the others keep real timm vision towers or take the
# torch.export path for a free text length, tens of seconds each on 2 cores: marked slow.
FAMILIES = ["clip", *(pytest.param(key, marks=pytest.mark.slow) for key in
                      ("pe-core", "siglip2", "mobileclip2", "xclip-b16", "videoprism"))]
FP32_RUNTIMES = ["onnx", "openvino"]
TEXTS = ["a dog catching a frisbee", "kickflip", "a person slowly peeling an orange at a kitchen table while a "
         "cat watches"]


@pytest.fixture(scope="module")
def model_dir(tiny_model_dirs, tiny_encoder_dir):
    return lambda key: tiny_model_dirs["clip"] if key == "clip" else tiny_encoder_dir(key)


@pytest.fixture(scope="module")
def exports_home(tmp_path_factory):
    return tmp_path_factory.mktemp("runtime-home")


@pytest.fixture(scope="module")
def encoder(model_dir, exports_home):
    """(key, runtime) -> the tiny encoder on that runtime, its exports in the module's one home."""
    made = {}

    def get(key: str, runtime: str):
        if (key, runtime) not in made:
            made[key, runtime] = load_encoder(str(model_dir(key)), Settings(device="cpu", runtime=runtime,
                                                                            home=exports_home, batch_size=2))
        return made[key, runtime]

    return get


def _clips(encoder, n: int = 3) -> list[np.ndarray]:
    rng = np.random.RandomState(7)
    side = encoder.image_size
    return [rng.randint(0, 256, (encoder.frames_per_clip, side, side, 3), dtype=np.uint8) for _ in range(n)]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("runtime", FP32_RUNTIMES)
@pytest.mark.parametrize("key", FAMILIES)
def test_float32_runtimes_equal_torch(key, runtime, encoder):
    if runtime.startswith("openvino"):
        pytest.importorskip("openvino")
    reference, tested = encoder(key, "torch"), encoder(key, runtime)
    assert tested.runtimes(build=True) == {name: runtime for name in tested.tower_specs()}  # nothing fell back
    clips = _clips(reference)
    np.testing.assert_allclose(tested.encode_video(clips), reference.encode_video(clips), atol=1e-5)
    np.testing.assert_allclose(tested.encode_text(TEXTS), reference.encode_text(TEXTS), atol=1e-5)
    np.testing.assert_allclose(tested.text_features(TEXTS), reference.text_features(TEXTS), atol=1e-5, rtol=1e-5)
    for tower in tested._towers.values():
        assert tower.min_cosine >= 0.99999  # what the export measured and recorded


@pytest.mark.parametrize("key", FAMILIES)
def test_int8_weights_stay_close_to_torch(key, encoder):
    pytest.importorskip("nncf")
    reference, tested = encoder(key, "torch"), encoder(key, "openvino-int8")
    assert set(tested.runtimes(build=True).values()) == {"openvino-int8"}
    clips = _clips(reference)
    # not exact by construction: held to the bound the export itself enforces (MIN_COSINE_INT8)
    assert _cosines(tested.encode_video(clips), reference.encode_video(clips)).min() >= 0.99
    assert _cosines(tested.encode_text(TEXTS), reference.encode_text(TEXTS)).min() >= 0.99


def test_auto_is_onnx_on_cpu_and_torch_on_cuda(encoder):
    assert resolve_runtime("auto", torch.device("cpu"), torch.float32) == "onnx"
    assert resolve_runtime("auto", torch.device("cuda"), torch.float16) == "torch"
    assert resolve_runtime("auto", torch.device("cpu"), torch.bfloat16) == "torch"
    with pytest.raises(UsageError, match="runtime 'onnx' runs float32 on a CPU"):
        resolve_runtime("onnx", torch.device("cuda"), torch.float16)
    assert encoder("clip", "auto").runtime == "onnx"


def test_runtime_is_a_setting_and_shown_by_config(tmp_path):
    settings = Settings.from_env({"OPENVID_RUNTIME": "openvino", "OPENVID_THREADS": "3"}, home=tmp_path)
    assert (settings.runtime, settings.threads) == ("openvino", 3)
    info = describe(settings, resolve=True, environ={"OPENVID_RUNTIME": "openvino"})
    assert (info["runtime"], info["runtime_chosen_by"], info["runtime_resolved"]) == ("openvino", "OPENVID_RUNTIME",
                                                                                     "openvino")
    with pytest.raises(UsageError, match="runtime"):
        Settings(home=tmp_path, runtime="tensorrt")


def test_cli_config_and_info_show_the_runtime(tmp_path, capsys):
    from openvid.cli import run

    assert run(["config", "--runtime", "onnx", "--resolve", "--json", "--home", str(tmp_path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["runtime"], info["runtime_resolved"]) == ("onnx", "onnx")
    assert run(["config", "--runtime", "nope", "--home", str(tmp_path)]) == 1
    assert run(["info", "--home", str(tmp_path)]) == 0  # no index yet: the listing
    capsys.readouterr()


def test_info_on_an_index_shows_the_runtime(model_dir, tmp_path, make_video, capsys):
    from openvid.cli import run

    engine = Engine(model=str(model_dir("clip")), device="cpu", home=tmp_path, window_s=2.0, runtime="torch")
    engine.index_videos([make_video("runtime-info", seconds=2, fps=8)], "archive")
    assert run(["info", "--index", "archive", "--json", "--home", str(tmp_path)]) == 0
    runtime = json.loads(capsys.readouterr().out)["runtime"]
    assert runtime["runtime"] == "torch" and runtime["runtime_plan"] == "torch"


def test_a_refused_export_runs_torch_with_one_warning(model_dir, tmp_path, monkeypatch):
    import openvid.encoders.runtime as runtime

    monkeypatch.setattr(runtime, "MIN_COSINE", 1.5)  # no export can reach it
    monkeypatch.setattr(runtime, "_WARNED", set())
    tested = load_encoder(str(model_dir("clip")), Settings(device="cpu", runtime="onnx", home=tmp_path))
    reference = load_encoder(str(model_dir("clip")), Settings(device="cpu", runtime="torch", home=tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vectors = tested.encode_text(TEXTS)
        tested.encode_text(TEXTS)
        load_encoder(str(model_dir("clip")), Settings(device="cpu", runtime="onnx", home=tmp_path)).encode_text(TEXTS)
    said = [str(w.message) for w in caught if "runs on torch" in str(w.message)]
    assert len(said) == 1 and "min cosine to torch" in said[0] and "< 1.5" in said[0]
    assert tested.runtimes() == {"image": "onnx", "text": "torch"}  # the image tower is not built yet
    np.testing.assert_array_equal(vectors, reference.encode_text(TEXTS))
    assert not list(tmp_path.glob("exports/*/*/text.json"))  # nothing refused is kept


def _export_folder(home, name: str = "image"):
    (meta,) = list(home.glob(f"exports/*/onnx-*/{name}.json"))
    return meta.parent


def test_a_corrupt_export_is_made_again(model_dir, tmp_path):
    settings = Settings(device="cpu", runtime="onnx", home=tmp_path)
    first = load_encoder(str(model_dir("clip")), settings)
    clips = _clips(first)
    expected = first.encode_video(clips)
    folder = _export_folder(tmp_path)
    good = (folder / "image.onnx").read_bytes()
    (folder / "image.onnx").write_bytes(good[: len(good) // 2])  # cut short, as a crash or a full disk leaves it
    again = load_encoder(str(model_dir("clip")), settings)
    np.testing.assert_allclose(again.encode_video(clips), expected, atol=1e-6)
    assert again.tower("image").runtime == "onnx"
    assert (folder / "image.onnx").stat().st_size == len(good)
    meta = json.loads((folder / "image.json").read_text())
    assert meta["files"]["image.onnx"]["size"] == len(good) and meta["min_cosine"] >= 0.99999


def test_a_changed_checkpoint_is_exported_again(model_dir, tmp_path):
    import sys

    folder = tmp_path / "model"
    shutil.copytree(model_dir("clip"), folder)
    settings = Settings(device="cpu", runtime="onnx", home=tmp_path / "home")
    before = load_encoder(str(folder), settings)
    clips = _clips(before)
    before.encode_video(clips)
    maker = sys.modules["make_tiny_models"]
    maker.make_tiny_open_clip(folder, seed=1)  # other weights in the same folder: another identity
    after = load_encoder(str(folder), settings)
    assert after.identity != before.identity
    reference = load_encoder(str(folder), Settings(device="cpu", runtime="torch", home=tmp_path / "home"))
    np.testing.assert_allclose(after.encode_video(clips), reference.encode_video(clips), atol=1e-5)
    assert len(list((tmp_path / "home" / "exports").iterdir())) == 2  # one folder per identity


def _export_in_process(folder: str, home: str, queue) -> None:
    encoder = load_encoder(folder, Settings(device="cpu", runtime="onnx", home=home))
    queue.put((encoder.tower("image").runtime, encoder.tower("image").min_cosine))


def test_two_processes_exporting_at_once_leave_one_good_file(model_dir, tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_export_in_process, args=(str(model_dir("clip")), str(tmp_path), queue))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    assert [w.exitcode for w in workers] == [0, 0]
    answers = [queue.get(timeout=5) for _ in workers]
    assert [runtime for runtime, _ in answers] == ["onnx", "onnx"]
    folder = _export_folder(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["image.json", "image.lock", "image.onnx"]  # no temp left
    from openvid.encoders.runtime.cache import ExportSlot

    identity = load_encoder(str(model_dir("clip")), Settings(device="cpu", runtime="torch", home=tmp_path)).identity
    assert ExportSlot(folder, "image", ".onnx").read_meta(identity) is not None  # whole, and for this checkpoint


@pytest.mark.parametrize("key", ["clip", "xclip-b16"])
def test_an_index_built_on_one_runtime_answers_the_same_on_another(key, model_dir, exports_home, make_video):
    videos = [make_video(f"runtime-{key}-{i}", seconds=2 * (i + 2), fps=8) for i in range(2)]  # distinct content
    home = exports_home / f"index-{key}"
    home.mkdir(exist_ok=True)
    built = Engine(model=str(model_dir(key)), device="cpu", home=home, window_s=2.0, batch_size=2, runtime="onnx")
    report = built.index_videos(videos)
    assert not report.failures and report.segments == 5
    queries = ["people riding bikes", "a cartoon rabbit", "talking on the phone"]
    on_onnx = [[(h.path, h.start_s) for h in built.search(q, k=3)] for q in queries]
    assert all(len(hits) == 2 for hits in on_onnx)  # both videos, each at its best segment
    other = Engine(model=str(model_dir(key)), device="cpu", home=home, window_s=2.0, batch_size=2, runtime="torch")
    assert [[(h.path, h.start_s) for h in other.search(q, k=3)] for q in queries] == on_onnx
    assert built.encoder.runtimes(build=True) == {name: "onnx" for name in built.encoder.tower_specs()}
    assert other.encoder.runtime == "torch"


def test_models_export_makes_and_reports_the_towers(model_dir, exports_home, encoder, capsys):
    from openvid.cli import run

    encoder("clip", "onnx").runtimes(build=True)  # the module's exports: the command finds them made
    assert run(["models", "export", str(model_dir("clip")), "--runtime", "onnx", "--home", str(exports_home),
                "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {name: row["runtime"] for name, row in report["towers"].items()} == {"image": "onnx", "text": "onnx"}
    assert all(row["min_cosine"] >= 0.99999 and not row["reason"] for row in report["towers"].values())


def test_serve_builds_the_towers_before_it_says_it_is_listening(model_dir, tmp_path, make_video):
    """`openvid serve` loads the index's model and exports its towers before printing its URL: the
    first query then waits for no export (which can take longer than a client's timeout)."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    pytest.importorskip("uvicorn")
    engine = Engine(model=str(model_dir("clip")), device="cpu", home=tmp_path, window_s=2.0, runtime="torch")
    engine.index_videos([make_video("serve-warm", seconds=2, fps=8)], "default")
    exports = tmp_path / "exports"
    assert not exports.exists()
    env = {**os.environ, "OPENVID_RUNTIME": "onnx"}
    server = subprocess.Popen([sys.executable, "-m", "openvid", "serve", "--home", str(tmp_path), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        assert "openvid is serving" in line, server.stderr.read() if server.poll() is not None else line
        made = {p.relative_to(exports) for p in exports.rglob("*.onnx")}
        assert len(made) == 2, made  # the image and the text tower, both there before the URL
        url = line.split(" at ", 1)[1].split()[0]
        started = time.perf_counter()
        answer = httpx.get(f"{url}api/v1/search", params={"q": "a clip"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["hits"]
        assert {p.relative_to(exports) for p in exports.rglob("*.onnx")} == made  # nothing exported on the query
        assert time.perf_counter() - started < 10
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "text on onnx" in errors and "image on onnx" in errors
