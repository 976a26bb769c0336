"""classify as users of the zero-shot pipelines expect: labels without a stored taxonomy, multi-label
answers that are independent yes/no scores naming every accepted label, head weights shown both as
configured and as the share they got, and `heads show-map` agreeing with the votes classify shows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_fusion import sports, stub_heads  # noqa: F401  (the stand-in head's fixtures)

from openvid.classify.prepare import ADHOC_TAXONOMY
from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import UsageError

LABELS = ["riding a bike", "swimming", "talking on the phone"]


@pytest.fixture
def engine(tiny_model_dirs, tmp_path) -> Engine:
    return Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=2.0, batch_size=4)


def _common(engine: Engine) -> list[str]:
    return ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu",
            "--window", "2"]


def test_labels_without_a_taxonomy_use_the_default_template_and_store_nothing(engine, sample_videos):
    path = sample_videos["bikes.mp4"]
    result = engine.classify(path, labels=LABELS)
    prediction = result.predictions[0]
    assert prediction.taxonomy == ADHOC_TAXONOMY and prediction.taxonomy_version == 0
    assert sorted(s.label for s in prediction.labels) == sorted(LABELS)
    assert sum(s.probability for s in prediction.labels) == pytest.approx(1.0, abs=1e-6)
    assert engine.taxonomies.list() == []  # nothing written, no history
    # the same labels as a stored taxonomy with the default template give the same answer
    engine.taxonomies.create("acts")
    for name in LABELS:
        engine.taxonomies.add_label("acts", name)
    stored = engine.classify(path, "acts").predictions[0]
    assert [(s.label, round(s.probability, 6)) for s in stored.labels] == \
        [(s.label, round(s.probability, 6)) for s in prediction.labels]
    assert engine.classify(path, labels="riding a bike, swimming").predictions[0].labels[0].label in LABELS[:2]


def test_taxonomy_or_labels_exactly_one(engine, sample_videos):
    with pytest.raises(UsageError, match="not neither"):
        engine.classify(sample_videos["bikes.mp4"])
    with pytest.raises(UsageError, match="not both"):
        engine.classify(sample_videos["bikes.mp4"], "acts", labels=["a"])
    with pytest.raises(UsageError, match="is empty"):
        engine.classify(sample_videos["bikes.mp4"], labels=" , ")


def test_cli_labels_and_head_labels_are_two_options(engine, sample_videos, capsys):
    path = str(sample_videos["bikes.mp4"])
    assert run(["classify", path, "--labels", "surfing,skateboarding,cooking", "--json", *_common(engine)]) == 0
    prediction = json.loads(capsys.readouterr().out)["predictions"][0]
    assert {s["label"] for s in prediction["labels"]} == {"surfing", "skateboarding", "cooking"}
    assert prediction["top"] == prediction["labels"][0]["label"] and prediction["accepted"] == [prediction["top"]]
    assert run(["classify", path, "-t", "acts", "--head-labels", "videomae=l.txt", *_common(engine)]) == 1
    assert "add --head videomae" in capsys.readouterr().err


def test_multi_label_scores_are_independent_and_every_accepted_label_is_named(engine, sample_videos, capsys):
    engine.taxonomies.create("acts")
    for name in LABELS:
        engine.taxonomies.add_label("acts", name)
    path = sample_videos["bikes.mp4"]
    engine.taxonomies.update_settings("acts", multi_label_threshold=-1.0)
    every = engine.classify(path, "acts", multi_label=True).predictions[0]
    assert len(every.accepted) == 3
    cosines = sorted(s.cosine for s in every.labels)
    threshold = (cosines[0] + cosines[1]) / 2  # two labels on, one off
    engine.taxonomies.update_settings("acts", multi_label_threshold=threshold)
    prediction = engine.classify(path, "acts", multi_label=True).predictions[0]
    assert len(prediction.accepted) == 2 and all(s.on for s in prediction.labels)
    scale = engine.encoder.logit_scale
    for score in prediction.labels:  # each label's own yes-probability, 0.5 at the threshold
        assert score.probability == pytest.approx(1 / (1 + np.exp(-scale * (score.cosine - threshold))), rel=1e-5)
        assert score.probability > 0.5
    assert sum(s.probability for s in prediction.labels) != pytest.approx(1.0)  # not a softmax
    assert prediction.threshold == pytest.approx(threshold)
    assert run(["classify", str(path), "-t", "acts", "--multi-label", *_common(engine)]) == 0
    shown = capsys.readouterr().out
    header = shown.splitlines()[0]
    assert all(name in header for name in prediction.accepted)  # every accepted label, not one
    assert "yes-probability" in shown and "judged on its own" in shown
    engine.taxonomies.update_settings("acts", multi_label_threshold=1.5)
    none = engine.classify(path, "acts", multi_label=True).predictions[0]
    assert none.rejected and none.accepted == [] and none.labels and not any(s.on for s in none.labels)


def test_head_weight_is_shown_as_configured_and_as_its_share(sports, sample_videos, capsys):  # noqa: F811
    path = str(sample_videos["bikes.mp4"])
    sports.set_head_weight("sports", "test-stub", 2.0)
    prediction = sports.classify(path, "sports", heads=["test-stub"]).predictions[0]
    report = prediction.heads[0].to_dict()
    assert report["weight"] == 2.0 and report["share"] == pytest.approx(2 / 3)
    common = ["--home", str(sports.settings.home), "--model", str(sports.settings.model), "--device", "cpu",
              "--window", "2"]
    assert run(["classify", path, "-t", "sports", "--head", "test-stub", *common]) == 0
    assert "test-stub weight 2 (share 0.67)" in capsys.readouterr().out


def test_show_map_and_classify_agree_on_which_labels_get_a_vote(sports, sample_videos, capsys):  # noqa: F811
    path = str(sample_videos["bikes.mp4"])
    prediction = sports.classify(path, "sports", heads=["test-stub"]).predictions[0]
    by_label = {s.label: s for s in prediction.labels}
    # the stub knows bike and phone; swimming gets only its leftover mass, marked as spread
    assert by_label["swimming"].spread == ["test-stub"] and by_label["swimming"].votes["test-stub"] > 0
    assert by_label["riding a bike"].spread == [] and by_label["talking on the phone"].spread == []
    common = ["--home", str(sports.settings.home), "--model", str(sports.settings.model), "--device", "cpu"]
    assert run(["heads", "show-map", "sports", "test-stub", "--json", *common]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["uncovered"] == [label for label, score in by_label.items() if score.spread]
    assert run(["heads", "show-map", "sports", "test-stub", *common]) == 0
    assert "share only test-stub's leftover mass" in capsys.readouterr().out
    assert run(["classify", path, "-t", "sports", "--head", "test-stub", *common, "--window", "2"]) == 0
    shown = capsys.readouterr().out
    assert "*" in shown and "leftover mass" in shown


def test_show_map_takes_the_same_head_checkpoint_spelling_and_its_advice_works(sports, capsys):  # noqa: F811
    common = ["--home", str(sports.settings.home)]
    assert run(["heads", "show-map", "sports", "test-stub", "--head-checkpoint", "/some/path", *common]) == 1
    message = capsys.readouterr().err
    assert "--head-checkpoint takes NAME=VALUE (e.g. --head-checkpoint test-stub=PATH)" in message
    assert run(["heads", "show-map", "sports", "test-stub", "--head-checkpoint", "other=/p", *common]) == 1
    assert "the head here is test-stub: give test-stub=PATH" in capsys.readouterr().err
