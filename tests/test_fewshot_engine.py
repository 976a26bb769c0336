"""Few-shot classes and `openvid eval` end to end: a tiny model, synthetic clips of visibly different
classes (colour, shape, motion), and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import MediaError, OpenvidError, TaxonomyError
from openvid.evaluate import evaluate

CLASSES = {  # class -> (background colour, square colour, moves)
    "red sky": ((200, 30, 30), (250, 250, 250), False),
    "green field": ((30, 170, 40), (20, 20, 20), True),
    "blue sea": ((30, 50, 200), (250, 220, 0), True),
}


def write_class_clip(path: Path, background, square, moves: bool, variant: int, seconds: float = 1.0,
                     fps: int = 8, size=(96, 64)) -> Path:
    """A clip of one class: a coloured background and a square, placed (and moving) by `variant`."""
    import av

    width, height = size
    rng = np.random.default_rng(variant)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        x0, y0 = 8 + 9 * variant, 6 + 5 * variant
        for i in range(int(seconds * fps)):
            img = np.empty((height, width, 3), np.uint8)
            img[:] = np.clip(np.array(background) + rng.integers(-12, 13, 3), 0, 255)
            x = (x0 + (6 * i if moves else 0)) % (width - 20)
            img[y0 % (height - 20): y0 % (height - 20) + 20, x: x + 20] = square
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def class_clips(tmp_path_factory) -> dict[str, list[Path]]:
    """Five clips of each class, in a folder per class (the layout `openvid eval` reads)."""
    root = tmp_path_factory.mktemp("classes")
    clips = {}
    for name, (background, square, moves) in CLASSES.items():
        (root / name).mkdir()
        clips[name] = [write_class_clip(root / name / f"{v}.mp4", background, square, moves, v) for v in range(5)]
    return clips


@pytest.fixture
def engine(tiny_model_dirs, tmp_path) -> Engine:
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", batch_size=8)
    engine.taxonomies.create("scenes", templates=["a video of {}."])
    for name in CLASSES:
        engine.taxonomies.add_label("scenes", name)
    return engine


def _accuracy(engine: Engine, clips: dict[str, list[Path]], which: slice) -> float:
    paths = [p for name in CLASSES for p in clips[name][which]]
    truth = [name for name in CLASSES for _ in clips[name][which]]
    result = engine.classify(paths, "scenes", top_k=3)
    assert not result.failures
    return float(np.mean([p.top == t for p, t in zip(result.predictions, truth)]))


def test_one_example_per_class_raises_accuracy_over_text_alone(engine, class_clips):
    text_only = _accuracy(engine, class_clips, slice(1, 5))
    for name in CLASSES:
        engine.add_examples("scenes", name, [class_clips[name][0]])
    engine.taxonomies.update_settings("scenes", fewshot_alpha=100.0)  # tiny random model: the cache must dominate
    with_examples = _accuracy(engine, class_clips, slice(1, 5))
    assert with_examples == 1.0 and with_examples > text_only


def test_an_example_only_label_is_created_and_text_labels_keep_working(engine, class_clips):
    engine.taxonomies.update_settings("scenes", fewshot_alpha=100.0)
    records = engine.add_examples("scenes", "yellow thing", [f"{class_clips['blue sea'][0]}@0-0.5"])
    assert [(r.label, r.start_s, r.end_s) for r in records] == [("yellow thing", 0.0, 0.5)]
    labels = {label.name: label for label in engine.taxonomies.get("scenes").labels}
    assert labels["yellow thing"].prompts == []
    top = engine.classify([class_clips["blue sea"][1]], "scenes").predictions[0].top
    assert top == "yellow thing"  # the example-only label wins on a clip like its example
    result = engine.classify([class_clips["red sky"][1]], "scenes", top_k=4)
    assert len(result.predictions[0].labels) == 4  # the text-only labels are still scored


def test_bad_examples_store_nothing(engine, class_clips, bad_files, tmp_path):
    good = class_clips["red sky"][0]
    before = engine.taxonomies.get("scenes")
    with pytest.raises(MediaError):
        engine.add_examples("scenes", "new label", [good, bad_files["truncated_real"]])
    with pytest.raises(MediaError, match="outside the video"):
        engine.add_examples("scenes", "red sky", [f"{good}@5-9"])
    with pytest.raises(TaxonomyError, match="unknown taxonomy"):
        engine.add_examples("nope", "red sky", [good])
    assert engine.examples.list("scenes") == []
    after = engine.taxonomies.get("scenes")
    assert [l.name for l in after.labels] == [l.name for l in before.labels] and after.version == before.version


def test_fit_persists_a_probe_that_reloads_to_identical_predictions(engine, class_clips, tiny_model_dirs):
    for name in CLASSES:
        engine.add_examples("scenes", name, class_clips[name][:2])
    report = engine.fit_fewshot("scenes")
    assert report.examples == 6 and report.labels_with_examples == sorted(CLASSES)
    assert 0 <= report.tuning["accuracy"] <= 1  # leave-one-out over the six examples
    queries = [class_clips[name][3] for name in CLASSES]
    first = engine.classify(queries, "scenes", top_k=3).predictions
    fresh = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=engine.settings.home)
    again = fresh.classify(queries, "scenes", top_k=3).predictions
    assert [[(s.label, s.probability) for s in p.labels] for p in first] == \
           [[(s.label, s.probability) for s in p.labels] for p in again]
    assert [p.top for p in again] == list(CLASSES)
    stored = fresh.examples.load_probe("scenes", fresh.encoder.identity)
    assert stored is not None and stored.probe.meta["n_examples"] == 6
    # the probe drives the answer: its logits, averaged as probabilities over segments
    expected = stored.probe.scores(fresh.encode_video(queries[0]).vectors).probs.mean(axis=0)
    got = {s.label: s.probability for s in again[0].labels}
    leaves = [label.name for label in fresh.taxonomies.get("scenes").leaves()]
    np.testing.assert_allclose([got[name] for name in leaves], expected, rtol=1e-5)
    assert fresh.classify(queries, "scenes").warnings == []
    fresh.taxonomies.update_settings("scenes", aggregate="max")  # a settings edit keeps the probe valid...
    assert fresh.classify(queries, "scenes").warnings == []
    fresh.taxonomies.add_prompt("scenes", "red sky", "a sunset")  # ...a prompt edit does not
    assert "fewshot fit" in fresh.classify(queries, "scenes").warnings[0]
    fresh.taxonomies.update_settings("scenes", aggregate="mean")
    # adding an example drops the probe; classification falls back to the cache
    fresh.add_examples("scenes", "red sky", [class_clips["red sky"][4]])
    assert fresh.examples.load_probe("scenes", fresh.encoder.identity) is None


def test_too_few_examples_for_a_probe_is_a_clear_error(engine, class_clips):
    engine.add_examples("scenes", "red sky", class_clips["red sky"][:1])
    engine.add_examples("scenes", "blue sea", class_clips["blue sea"][:2])
    with pytest.raises(OpenvidError, match="red sky"):
        engine.fit_fewshot("scenes", tune=False)


def test_switching_encoders_re_embeds_examples_and_reports_missing_files(engine, class_clips, tiny_model_dirs, tmp_path):
    moved = tmp_path / "moved.mp4"
    shutil.copy(class_clips["green field"][0], moved)
    engine.add_examples("scenes", "red sky", [class_clips["red sky"][0]])
    engine.add_examples("scenes", "green field", [moved])
    moved.unlink()
    other = Engine(model=str(tiny_model_dirs["xclip"]), device="cpu", home=engine.settings.home)
    result = other.classify([class_clips["red sky"][1]], "scenes")
    assert len(result.predictions) == 1
    assert len(result.warnings) == 1 and "moved.mp4" in result.warnings[0] and "could not be re-embedded" in result.warnings[0]
    by_encoder = {}
    for record in other.examples.list("scenes"):
        by_encoder.setdefault(record.encoder, []).append(record.label)
    assert sorted(by_encoder[other.encoder.identity]) == ["red sky"]
    assert sorted(by_encoder[engine.encoder.identity]) == ["green field", "red sky"]
    assert other.examples.list("scenes", encoder=other.encoder.identity)[0].vector.shape == (other.encoder.dim,)


def test_fewshot_sync_and_classify_report_examples_that_cannot_be_re_embedded(engine, class_clips, tiny_model_dirs,
                                                                             tmp_path, capsys):
    moved = tmp_path / "gone.mp4"
    shutil.copy(class_clips["blue sea"][0], moved)
    engine.add_examples("scenes", "blue sea", [moved, class_clips["blue sea"][1]])
    moved.unlink()
    common = ["--home", str(engine.settings.home), "--model", str(tiny_model_dirs["xclip"]), "--device", "cpu"]
    assert run(["classify", str(class_clips["red sky"][1]), "-t", "scenes", *common]) == 0
    assert "gone.mp4" in capsys.readouterr().err
    assert run(["fewshot", "sync", "scenes", "--json", *common]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["re_embedded"] == [] and len(report["missing"]) == 1 and "gone.mp4" in report["missing"][0]


def test_eval_numbers_equal_a_direct_computation_and_pngs_are_written(engine, class_clips, tmp_path):
    data = class_clips["red sky"][0].parent.parent
    result = engine.evaluate("scenes", data, shots=[0, 1, 2], out_dir=tmp_path / "eval")
    labels = [label.name for label in engine.taxonomies.get("scenes").leaves()]
    paths = [p for name in labels for p in sorted(class_clips[name])]
    direct = engine.classify(paths, "scenes", top_k=3).predictions
    scores = np.array([[{s.label: s.probability for s in p.labels}[name] for name in labels] for p in direct])
    truth = [labels.index(Path(p.path).parent.name) for p in direct]
    expected = evaluate(truth, scores, labels)
    assert result.report.n == 15
    assert (result.report.top1, result.report.top5, result.report.macro_f1) == pytest.approx(
        (expected.top1, expected.top5, expected.macro_f1))
    np.testing.assert_array_equal(result.report.confusion, expected.confusion)
    assert [p["k"] for p in result.kshot] == [0, 1, 2]
    assert all(p["n_query"] == 9 for p in result.kshot)  # the same held-out clips at every k: 5 - max k per label
    assert result.kshot[0]["probe_top1"] is None and result.kshot[2]["probe_top1"] is not None
    for name in ("confusion", "kshot"):
        png = Path(result.files[name])
        assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(Path(result.files["report"]).read_text())
    assert saved["top1"] == pytest.approx(expected.top1) and saved["kshot"][1]["k"] == 1


def test_eval_cli_skips_bad_files_and_refuses_unknown_labels(engine, class_clips, bad_files, tmp_path, capsys):
    csv = tmp_path / "set.csv"
    rows = [f"{class_clips[name][i]},{name}" for name in CLASSES for i in range(2)]
    rows.append(f"{bad_files['truncated_real']},red sky")
    rows.append(f"{class_clips['blue sea'][2]},blue sea,0,0.5")
    csv.write_text("path,label,start,end\n" + "\n".join(rows) + "\n")
    home = ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu"]
    code = run(["eval", str(csv), "-t", "scenes", "-o", str(tmp_path / "out"), "--json", *home])
    assert code == 1  # one file skipped
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 7 and len(report["skipped"]) == 1 and Path(report["files"]["confusion"]).exists()
    csv.write_text("path,label\n" + f"{class_clips['red sky'][0]},red skies\n")
    assert run(["eval", str(csv), "-t", "scenes", *home]) == 1
    assert "red sky" in capsys.readouterr().err  # the close match is suggested


def test_fewshot_cli_add_list_fit_remove(engine, class_clips, capsys):
    home = ["--home", str(engine.settings.home)]
    model = [*home, "--model", str(engine.settings.model), "--device", "cpu"]
    for name in CLASSES:
        assert run(["fewshot", "add", "scenes", name, *map(str, class_clips[name][:2]), *model]) == 0
    capsys.readouterr()
    assert run(["fewshot", "list", "scenes", "--json", *home]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 6 and {row["label"] for row in listed} == set(CLASSES)
    assert run(["fewshot", "fit", "scenes", "--json", *model]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["examples"] == 6 and fitted["probe"]["method"] == "linear-probe"
    assert run(["fewshot", "remove", "scenes", str(listed[0]["id"]), "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 1
    assert run(["fewshot", "remove", "scenes", "--label", "red sky", *home]) == 0
    assert {r.label for r in engine.examples.list("scenes")} == {"green field", "blue sea"}
    assert run(["fewshot", "add", "scenes", "red sky", "/no/such/file.mp4", *model]) == 1


def test_copying_a_taxonomy_copies_its_examples_probe_and_head_overrides(engine, class_clips):
    for name in CLASSES:
        engine.add_examples("scenes", name, class_clips[name][:2])
    engine.fit_fewshot("scenes", tune=False)
    engine.head_maps.set("scenes", "videomae", "riding a bike", "green field")
    engine.head_maps.set("scenes", "videomae", "juggling", None)
    engine.taxonomies.copy("scenes", "scenes-2")
    original = [(r.label, r.source_path, r.encoder) for r in engine.examples.list("scenes")]
    assert [(r.label, r.source_path, r.encoder) for r in engine.examples.list("scenes-2")] == original
    assert engine.head_maps.overrides("scenes-2", "videomae") == {"riding a bike": "green field", "juggling": None}
    query = [class_clips["blue sea"][3]]
    first = engine.classify(query, "scenes", top_k=3)
    copy = engine.classify(query, "scenes-2", top_k=3)
    assert copy.warnings == []  # the copied probe is used: same labels, same prompts
    assert [(s.label, s.probability) for s in copy.predictions[0].labels] == \
           [(s.label, s.probability) for s in first.predictions[0].labels]
    engine.examples.remove("scenes-2", label="red sky")  # the copies are their own
    assert len(engine.examples.list("scenes")) == 6 and len(engine.examples.list("scenes-2")) == 4


def _content(home) -> str:
    """The store's content without the text-vector cache (a cache that any read may fill)."""
    from fixtures_store import dump

    return "\n".join(line for line in dump(home).splitlines() if not line.startswith('INSERT INTO "text_embeddings"'))


def test_a_fit_that_fails_writes_nothing(engine, class_clips, monkeypatch):
    from openvid.store import ExampleStore

    engine.add_examples("scenes", "red sky", class_clips["red sky"][:1])
    engine.add_examples("scenes", "blue sea", class_clips["blue sea"][:2])
    home = engine.settings.home
    before = _content(home)
    with pytest.raises(OpenvidError, match="red sky"):  # too few examples for the probe
        engine.fit_fewshot("scenes")
    assert _content(home) == before
    engine.add_examples("scenes", "red sky", class_clips["red sky"][1:2])
    before = _content(home)

    def broken(*args, **kwargs):
        raise OpenvidError("disk full")

    monkeypatch.setattr(ExampleStore, "save_probe", broken)  # fails after the tuned settings are written
    with pytest.raises(OpenvidError, match="disk full"):
        engine.fit_fewshot("scenes")
    assert _content(home) == before
    assert engine.taxonomies.get("scenes").settings.fewshot_alpha == 1.0


def test_a_fit_refuses_to_store_a_probe_for_a_taxonomy_that_changed_meanwhile(engine, class_clips, monkeypatch):
    import openvid.scoring.adapters as adapters

    for name in CLASSES:
        engine.add_examples("scenes", name, class_clips[name][:2])
    fit_probe = adapters.fit_probe

    def meanwhile(*args, **kwargs):
        probe = fit_probe(*args, **kwargs)
        engine.taxonomies.add_prompt("scenes", "red sky", "a sunset")  # another process edits the labels
        return probe

    monkeypatch.setattr(adapters, "fit_probe", meanwhile)
    with pytest.raises(OpenvidError, match="changed while the probe was being fitted.*nothing was stored"):
        engine.fit_fewshot("scenes")
    assert engine.examples.load_probe("scenes", engine.encoder.identity) is None
    assert engine.taxonomies.get("scenes").settings.fewshot_alpha == 1.0


def test_a_new_label_whose_examples_fail_to_store_leaves_nothing(engine, class_clips):
    home = engine.settings.home
    engine.classify([class_clips["red sky"][0]], "scenes")  # warm the caches a read fills anyway
    before = _content(home)
    clip = str(class_clips["red sky"][0])
    with pytest.raises(OpenvidError, match="given twice"):  # refused by the store, after the label was made
        engine.add_examples("scenes", "sunset", [clip, clip])
    assert _content(home) == before
    with pytest.raises(TaxonomyError, match="built-in label list"):  # refused before decoding, installing nothing
        engine.add_examples("ucf101", "new class", [clip])
    assert _content(home) == before


def test_a_label_made_by_fewshot_add_is_announced_with_the_close_existing_one(engine, class_clips, capsys):
    added = engine.add_examples("scenes", "red skies", class_clips["red sky"][:1])
    assert added.created_label and added.similar_labels == ["red sky"] and len(added) == 1
    assert "created label 'red skies'" in added.warnings[0] and "did you mean 'red sky'?" in added.warnings[0]
    again = engine.add_examples("scenes", "red sky", class_clips["red sky"][:1])
    assert not again.created_label and again.warnings == []
    model = ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu"]
    assert run(["fewshot", "add", "scenes", "grean field", str(class_clips["green field"][0]), *model]) == 0
    err = capsys.readouterr().err
    assert "created label 'grean field'" in err and "did you mean 'green field'?" in err
    assert run(["fewshot", "add", "scenes", "sunset", str(class_clips["red sky"][1]), "--json", *model]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["created_label"] is True and report["similar_labels"] == []


def test_syncing_for_another_encoder_stores_every_label_or_none(engine, class_clips, monkeypatch):
    from openvid.store import ExampleStore

    other = "other-model|video"
    for name in ("red sky", "blue sea"):  # examples another model embedded: this one re-embeds them
        engine.examples.add("scenes", name, other, [(str(class_clips[name][0]), None, None, np.ones(4, np.float32))])
    home = engine.settings.home
    before = _content(home)
    add = ExampleStore.add
    calls = []

    def second_fails(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise OpenvidError("disk full")
        return add(self, *args, **kwargs)

    monkeypatch.setattr(ExampleStore, "add", second_fails)
    with pytest.raises(OpenvidError, match="disk full"):
        engine.sync_examples("scenes")
    assert _content(home) == before
    monkeypatch.setattr(ExampleStore, "add", add)
    assert len(engine.sync_examples("scenes").re_embedded) == 2


def test_fewshot_list_counts_clips_and_shows_their_encoders(engine, class_clips, capsys):
    home = ["--home", str(engine.settings.home)]
    clip = class_clips["red sky"][0]
    engine.add_examples("scenes", "red sky", [clip])
    engine.add_examples("scenes", "blue sea", class_clips["blue sea"][:1])
    engine.examples.add("scenes", "red sky", "other-model|video", [(str(clip), None, None, np.ones(4, np.float32))])
    assert run(["fewshot", "list", "scenes", "--json", *home]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2  # two clips, three vectors
    assert rows[0]["label"] == "red sky" and rows[0]["encoders"] == sorted([engine.encoder.identity, "other-model|video"])
    assert len(rows[0]["ids"]) == 2 and rows[0]["id"] == min(rows[0]["ids"])
    assert run(["fewshot", "list", "scenes", *home]) == 0
    assert "2 example clip(s), embedded by 2 encoder(s)" in capsys.readouterr().out
    assert run(["fewshot", "remove", "scenes", str(rows[0]["id"]), "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out) == {"taxonomy": "scenes", "removed": 1, "vectors_removed": 2}
    assert [(r.label, r.encoder) for r in engine.examples.list("scenes")] == [("blue sea", engine.encoder.identity)]


def test_fewshot_json_reads_labels_and_files_as_themselves(engine, capsys):
    name = "vidéo_日本語"
    engine.examples.add("scenes", "red sky", "some-model|video", [(f"/v/{name}.mp4", 1, 2, np.ones(4, np.float32))])
    assert run(["fewshot", "list", "scenes", "--json", "--home", str(engine.settings.home)]) == 0
    printed = capsys.readouterr().out
    assert f"/v/{name}.mp4" in printed and "\\u" not in printed
    assert json.loads(printed)[0]["clip"] == f"/v/{name}.mp4@1-2"
