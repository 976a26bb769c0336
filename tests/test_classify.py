"""Classification against editable taxonomies, end to end on tiny models and real videos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openvid.cli import run
from openvid.encoders.base import label_matrix
from openvid.engine import Engine
from openvid.errors import TaxonomyError
from openvid.media import iter_clips
from openvid.scoring.zero_shot import label_prompts, softmax

TEMPLATES = ["a video of {}.", "a person {}."]


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def _engine(tiny_model_dirs, home, family="clip", **kw) -> Engine:
    return Engine(model=str(tiny_model_dirs[family]), device="cpu", home=home, window_s=4.0, batch_size=4, **kw)


def _sports(engine: Engine, name: str = "sports"):
    store = engine.taxonomies
    store.create(name, templates=TEMPLATES)
    store.add_label(name, "riding a bike", synonyms=["cycling"])
    store.add_label(name, "a cartoon rabbit", prompts=["an animated bunny in a meadow"])
    store.add_label(name, "talking on the phone")
    return store.get(name)


def test_probabilities_equal_a_direct_computation(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home)
    taxonomy = _sports(engine)
    path = sample_videos["bikes.mp4"]
    prediction = engine.classify([path], "sports", top_k=3).predictions[0]

    encoder = engine.encoder
    clips = list(iter_clips(str(path), window_s=4.0, stride_s=4.0,
                            frames_per_window=encoder.frames_per_clip, short_side=224))
    groups = [label_prompts(label, TEMPLATES) for label in taxonomy.labels]
    assert groups[0] == ["a video of riding a bike.", "a person riding a bike.", "a video of cycling.",
                         "a person cycling."]
    cosine = encoder.encode_video(clips) @ label_matrix(groups, encoder.encode_text).T
    probs = softmax(encoder.logit_scale * cosine, axis=1).mean(0)
    expected = sorted(zip([label.name for label in taxonomy.labels], probs), key=lambda x: -x[1])
    assert [s.label for s in prediction.labels] == [name for name, _ in expected]
    np.testing.assert_allclose([s.probability for s in prediction.labels], [p for _, p in expected], rtol=1e-5)
    np.testing.assert_allclose([s.cosine for s in prediction.labels],
                               [cosine.mean(0)[[l.name for l in taxonomy.labels].index(n)] for n, _ in expected],
                               rtol=1e-5)
    assert prediction.taxonomy_version == taxonomy.version
    assert prediction.model == encoder.identity


def test_xclip_single_prompt_labels_rank_by_the_models_own_logits(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home, "xclip")
    store = engine.taxonomies
    store.create("plain", templates=["{}"])
    names = ["a dog", "a bike race", "a cartoon", "a news anchor"]
    for name in names:
        store.add_label("plain", name)
    path = sample_videos["bigbuckbunny.mp4"]
    prediction = engine.classify([path], "plain", top_k=4).predictions[0]
    clips = list(iter_clips(str(path), window_s=4.0, stride_s=4.0, frames_per_window=8, short_side=224))
    logits = engine.encoder.score(names, clips)  # XCLIPModel's logits_per_video
    expected = softmax(logits, axis=1).mean(0)
    got = {s.label: s.probability for s in prediction.labels}
    np.testing.assert_allclose([got[n] for n in names], expected, rtol=1e-4)


def test_text_cache_second_run_encodes_nothing_and_new_label_only_its_prompts(tiny_model_dirs, home, sample_videos):
    first = _engine(tiny_model_dirs, home)
    _sports(first)
    first.classify([sample_videos["bikes.mp4"]], "sports")
    assert first.text_features.encoded == 2 * 2 + (2 + 1) + 2  # templates × (name, synonym); own prompt

    second = _engine(tiny_model_dirs, home)  # a new process would start like this: SQLite cache only
    second.classify([sample_videos["bikes.mp4"]], "sports")
    assert second.text_features.encoded == 0

    second.taxonomies.add_label("sports", "juggling", prompts=["someone juggling three balls"])
    second.classify([sample_videos["bikes.mp4"]], "sports")
    assert second.text_features.encoded == 3


def test_none_of_these_and_multi_label(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home)
    _sports(engine)
    path = sample_videos["carphone_pristine.mp4"]
    assert not engine.classify([path], "sports").predictions[0].rejected
    engine.taxonomies.update_settings("sports", reject_threshold=0.999, reject_on="probability")
    rejected = engine.classify([path], "sports").predictions[0]
    assert rejected.rejected and rejected.top is None and rejected.labels  # scores still shown

    engine.taxonomies.update_settings("sports", reject_threshold=None, multi_label_threshold=-1.0)
    everything = engine.classify([path], "sports", multi_label=True).predictions[0]
    assert len(everything.labels) == 3 and not everything.rejected
    cosines = [s.cosine for s in everything.labels]
    assert cosines == sorted(cosines, reverse=True)
    middle = cosines[1]
    engine.taxonomies.update_settings("sports", multi_label_threshold=middle)
    some = engine.classify([path], "sports", multi_label=True).predictions[0]
    assert [s.label for s in some.labels] == [s.label for s in everything.labels[:2]]
    engine.taxonomies.update_settings("sports", multi_label_threshold=1.5)
    assert engine.classify([path], "sports", multi_label=True).predictions[0].rejected


def test_hierarchy_parents_sum_their_children(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home)
    store = engine.taxonomies
    store.create("tree", templates=TEMPLATES)
    store.add_label("tree", "sport")
    store.add_label("tree", "cycling", parent="sport")
    store.add_label("tree", "running", parent="sport")
    store.add_label("tree", "cartoon")
    path = sample_videos["bikes.mp4"]
    leaves = {s.label: s.probability for s in engine.classify([path], "tree", top_k=10).predictions[0].labels}
    assert set(leaves) == {"cycling", "running", "cartoon"}  # parents are roll-ups, not classes
    parents = {s.label: s.probability for s in engine.classify([path], "tree", level=0).predictions[0].labels}
    assert parents == pytest.approx({"sport": leaves["cycling"] + leaves["running"], "cartoon": leaves["cartoon"]})


def test_segments_timeline_and_max_aggregation(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home)
    _sports(engine)
    path = sample_videos["bigbuckbunny.mp4"]
    prediction = engine.classify([path], "sports", segments=True, top_k=2).predictions[0]
    assert len(prediction.segments) >= 2
    assert prediction.segments[0].start_s == 0.0
    assert all(a.end_s <= b.end_s for a, b in zip(prediction.segments, prediction.segments[1:]))
    mean_of_segments = {}
    for segment in engine.classify([path], "sports", segments=True, top_k=3).predictions[0].segments:
        for score in segment.labels:
            mean_of_segments[score.label] = mean_of_segments.get(score.label, 0) + score.probability
    n = len(prediction.segments)
    for score in prediction.labels:
        assert score.probability == pytest.approx(mean_of_segments[score.label] / n, rel=1e-5)
    engine.taxonomies.update_settings("sports", aggregate="max")
    maxed = engine.classify([path], "sports", segments=True, top_k=3).predictions[0]
    best = {s.label: max(x.probability for seg in maxed.segments for x in seg.labels if x.label == s.label)
            for s in maxed.labels}
    assert {s.label: s.probability for s in maxed.labels} == pytest.approx(best)


def test_bad_files_are_skipped_and_reported(tiny_model_dirs, home, sample_videos, bad_files):
    engine = _engine(tiny_model_dirs, home)
    _sports(engine)
    paths = [sample_videos["bikes.mp4"], bad_files["text"], bad_files["truncated_faststart"],
             sample_videos["carphone_pristine.mp4"]]
    result = engine.classify(paths, "sports")
    assert [p.path for p in result.predictions] == [str(paths[0]), str(paths[3])]
    assert [f.path for f in result.failures] == [str(paths[1]), str(paths[2])]
    assert all(f.error for f in result.failures)


def test_unknown_and_empty_taxonomies_are_clear_errors(tiny_model_dirs, home, sample_videos):
    engine = _engine(tiny_model_dirs, home)
    _sports(engine)
    with pytest.raises(TaxonomyError, match="sports"):  # did you mean
        engine.classify([sample_videos["bikes.mp4"]], "sprots")
    engine.taxonomies.create("empty")
    with pytest.raises(TaxonomyError, match="add-label"):
        engine.classify([sample_videos["bikes.mp4"]], "empty")


def test_cli_end_to_end(tiny_model_dirs, home, sample_videos, bad_files, capsys):
    model = str(tiny_model_dirs["clip"])
    common = ["--home", str(home)]
    assert run(["taxonomy", "create", "sports", "--template", "a video of {}.", *common]) == 0
    for label in ["cycling", "cartoon", "phone call"]:
        assert run(["taxonomy", "add-label", "sports", label, *common]) == 0
    assert run(["taxonomy", "add-prompt", "sports", "cycling", "people racing on bikes", *common]) == 0
    capsys.readouterr()
    code = run(["classify", str(sample_videos["bikes.mp4"]), str(bad_files["empty"]), "--taxonomy", "sports",
                "--model", model, "--device", "cpu", "--top-k", "2", "--segments", "--json", *common])
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # one file failed
    [prediction] = report["predictions"]
    assert len(prediction["labels"]) == 2 and prediction["segments"]
    assert report["failures"][0]["path"].endswith("empty.mp4")
    assert run(["classify", str(sample_videos["bikes.mp4"]), "-t", "sprots", "--model", model, *common]) == 1
    assert "sports" in capsys.readouterr().err
