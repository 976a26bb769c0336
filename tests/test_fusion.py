"""Head label mapping and fusion: the math on constructed cases, the stored overrides, and the
engine's plumbing with a stand-in head whose output is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import OpenvidError, TaxonomyError
from openvid.heads.base import HEADS, Head, HeadSpec, register_head, register_head_family
from openvid.scoring.fusion import ZERO_SHOT, as_distribution, fuse, head_vote
from openvid.scoring.head_mapping import EXACT, IGNORED, OVERRIDE, SIMILAR, UNMAPPED, map_labels
from openvid.store.head_maps import HeadMapStore

# -- fusion math -------------------------------------------------------------------------------


def test_head_vote_gives_mapped_mass_and_spreads_the_rest_in_zero_shot_proportions():
    head = np.array([0.5, 0.2, 0.2, 0.1])  # head labels a, b -> taxonomy 0; c -> 1; d -> nothing
    vote = head_vote(head, np.array([0, 0, 1, -1]), zero_shot=np.array([0.2, 0.3, 0.5]))
    np.testing.assert_allclose(vote, [0.7, 0.2, 0.1])
    # two uncovered labels share the head's leftover mass 0.3 as the zero-shot does (1:3)
    vote = head_vote(np.array([0.7, 0.3]), np.array([0, -1]), zero_shot=np.array([0.5, 0.1, 0.3]))
    np.testing.assert_allclose(vote, [0.7, 0.3 * 0.25, 0.3 * 0.75])


def test_head_vote_renormalises_when_every_label_is_covered_and_is_silent_without_input():
    vote = head_vote(np.array([0.3, 0.3, 0.4]), np.array([0, 1, -1]), zero_shot=np.array([0.9, 0.1]))
    np.testing.assert_allclose(vote, [0.5, 0.5])
    assert head_vote(np.full(3, np.nan), np.array([0, 1, -1]), np.array([0.5, 0.5])) is None
    assert head_vote(np.array([0.5, 0.5]), np.array([-1, -1]), np.array([0.5, 0.5])) is None


def test_multi_label_scores_are_normalised_to_a_distribution():
    np.testing.assert_allclose(as_distribution(np.array([0.9, 0.9, 0.2])), [0.45, 0.45, 0.1])
    assert as_distribution(np.zeros(3)) is None


def test_fuse_is_a_weighted_linear_pool_with_additive_contributions():
    zero_shot = np.array([0.2, 0.3, 0.5])
    head = np.array([0.7, 0.2, 0.1])
    fused = fuse(zero_shot, {"h": head}, {"h": 1.0})
    np.testing.assert_allclose(fused.probs, [0.45, 0.25, 0.3])
    fused = fuse(zero_shot, {"h": head}, {"h": 3.0})
    np.testing.assert_allclose(fused.probs, (zero_shot + 3 * head) / 4)
    np.testing.assert_allclose(fused.contributions[ZERO_SHOT], zero_shot / 4)
    np.testing.assert_allclose(sum(fused.contributions.values()), fused.probs)
    assert fused.weights == {ZERO_SHOT: 0.25, "h": 0.75}
    # a silent head or a head with weight 0 leaves the zero-shot answer untouched
    for votes, weights in (({"h": None}, {"h": 1.0}), ({"h": head}, {"h": 0.0})):
        fused = fuse(zero_shot, votes, weights)
        np.testing.assert_allclose(fused.probs, zero_shot)
        assert list(fused.weights) == [ZERO_SHOT]


# -- label mapping -----------------------------------------------------------------------------

VECTORS = {
    "riding a bike": [1, 0, 0], "cycling": [1, 0, 0], "biking": [0.95, 0.31, 0],
    "talking on the phone": [0, 1, 0], "phoning": [0.1, 0.995, 0], "juggling": [0, 0, 1],
    "swimming": [0.6, 0, 0.8], "bike": [0.8, 0.6, 0],
}


def _embed(texts):
    return np.array([VECTORS[t] for t in texts], np.float64)


def test_mapping_prefers_override_then_same_name_then_similarity_above_threshold():
    mapping = map_labels(
        "h", ["Riding_A_Bike", "biking", "phoning", "swimming", "juggling", "bike"],
        ["riding a bike", "talking on the phone"], _embed,
        synonyms={"riding a bike": ["cycling"]}, overrides={"juggling": "talking on the phone", "bike": None},
        threshold=0.9)
    assert mapping.how == [EXACT, SIMILAR, SIMILAR, UNMAPPED, OVERRIDE, IGNORED]
    assert [mapping.target(h) for h in mapping.head_labels] == [
        "riding a bike", "riding a bike", "talking on the phone", None, "talking on the phone", None]
    np.testing.assert_allclose(mapping.similarity[1], 0.95 / np.hypot(0.95, 0.31), atol=1e-9)
    assert mapping.covered == ["riding a bike", "talking on the phone"]
    assert [row["head_label"] for row in mapping.rows()] == ["Riding_A_Bike", "biking", "phoning", "juggling", "bike"]
    strict = map_labels("h", ["biking"], ["riding a bike"], _embed, threshold=0.99)
    assert strict.how == [UNMAPPED] and strict.covered == []


def test_an_override_to_a_label_that_is_gone_leaves_the_head_label_unmapped():
    mapping = map_labels("h", ["juggling"], ["riding a bike"], _embed, overrides={"juggling": "removed label"})
    assert mapping.targets.tolist() == [-1]


# -- stored overrides --------------------------------------------------------------------------


def test_overrides_are_stored_follow_renames_and_go_with_their_label(store):
    store.create("sports")
    store.add_label("sports", "cycling")
    store.add_label("sports", "phoning")
    maps = HeadMapStore(store)
    maps.set("sports", "videomae", "riding a bike", "cycling")
    maps.set("sports", "videomae", "juggling", None)
    maps.set("sports", "ast", "Bicycle", "cycling")
    assert maps.overrides("sports", "videomae") == {"juggling": None, "riding a bike": "cycling"}
    maps.set("sports", "videomae", "riding a bike", "phoning")  # overwrite
    assert maps.overrides("sports", "videomae")["riding a bike"] == "phoning"
    store.rename_label("sports", "phoning", "talking on the phone")
    assert maps.overrides("sports", "videomae")["riding a bike"] == "talking on the phone"
    store.remove_label("sports", "talking on the phone")
    assert maps.overrides("sports", "videomae") == {"juggling": None}
    with pytest.raises(TaxonomyError, match="cycling"):
        maps.set("sports", "videomae", "x", "cyclin")  # did you mean
    assert maps.clear("sports", "videomae", "juggling") == 1
    assert maps.overrides("sports", "videomae") == {}
    assert maps.overrides("sports", "ast") == {"Bicycle": "cycling"}


# -- the engine, with a stand-in head whose probabilities are fixed ------------------------------

STUB_LABELS = ["riding a bike", "talking on the phone", "playing cello"]


class StubHead(Head):
    """Says [0.6, 0.3, 0.1] for every clip, or nothing (NaN) when it wants audio and there is none."""

    frames_per_clip = 3
    resize_to = 64

    def __init__(self, spec: HeadSpec) -> None:
        self.spec = spec
        self.labels = list(STUB_LABELS)
        self.identity = spec.name
        self.sample_rate = spec.sample_rate
        self.seen_frames: list[int] = []

    def predict(self, clips):
        rows = []
        for clip in clips:
            self.seen_frames.append(len(clip.frames_for(self.frames_per_clip)))
            if self.needs_audio and clip.audio_at(self.sample_rate) is None:
                rows.append([np.nan] * 3)
            else:
                rows.append([0.6, 0.3, 0.1])
        return np.array(rows, np.float32)

    @classmethod
    def load(cls, spec, settings, checkpoint=None, labels=None):
        return cls(spec)

    @classmethod
    def is_cached(cls, spec):
        return True

    @classmethod
    def pull(cls, spec):
        return "(stub)"


@pytest.fixture
def stub_heads():
    """The stand-in heads, registered for one test only (other tests' head lists never see them)."""
    with HEADS.scoped():
        register_head_family("test-stub")(StubHead)
        register_head(HeadSpec("test-stub", "test-stub", "stub", frames=3, image_size=64, trained_on="nothing",
                               default_weight=2.0))
        register_head(HeadSpec("test-stub-audio", "test-stub", "stub", frames=3, image_size=64, trained_on="nothing",
                               needs_audio=True, sample_rate=8000))
        yield


@pytest.fixture
def sports(tiny_model_dirs, home, stub_heads):
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=2.0, batch_size=4)
    engine.taxonomies.create("sports", templates=["a video of {}."])
    for name in ("riding a bike", "talking on the phone", "swimming"):
        engine.taxonomies.add_label("sports", name)
    return engine


def test_classify_with_a_head_equals_the_pool_of_zero_shot_and_the_head(sports, sample_videos):
    path = sample_videos["bikes.mp4"]
    plain = sports.classify([path], "sports", top_k=3).predictions[0]
    fused = sports.classify([path], "sports", top_k=3, heads=["test-stub"]).predictions[0]
    zero_shot = {s.label: s.probability for s in plain.labels}
    # head: bike 0.6, phone 0.3, cello 0.1 -> nothing; swimming (uncovered) gets 0.1; weight 2 of 3
    head = {"riding a bike": 0.6, "talking on the phone": 0.3, "swimming": 0.1}
    for score in fused.labels:
        expected = (zero_shot[score.label] + 2 * head[score.label]) / 3
        assert score.probability == pytest.approx(expected, abs=1e-6)
        assert score.votes[ZERO_SHOT] == pytest.approx(zero_shot[score.label] / 3, abs=1e-6)
        assert score.votes["test-stub"] == pytest.approx(2 * head[score.label] / 3, abs=1e-6)
    assert fused.top == "riding a bike"
    assert [(h.name, h.voted, h.mapped_labels) for h in fused.heads] == [("test-stub", True, 2)]
    assert fused.heads[0].weight == 2.0 and fused.heads[0].share == pytest.approx(2 / 3)  # configured, normalised
    # the head got its own frame count from the same decode
    head_obj = sports.load_heads(["test-stub"])[0]
    assert set(head_obj.seen_frames) == {3}
    # the weight: call > taxonomy setting > default
    sports.set_head_weight("sports", "test-stub", 1.0)
    stored = sports.classify([path], "sports", heads=["test-stub"]).predictions[0]
    assert stored.heads[0].weight == 1.0 and stored.heads[0].share == pytest.approx(0.5)
    called = sports.classify([path], "sports", heads=["test-stub"], head_weights={"test-stub": 0}).predictions[0]
    assert [s.probability for s in called.labels] == pytest.approx([s.probability for s in plain.labels])
    assert not called.heads[0].voted


def test_an_audio_head_on_a_video_without_audio_is_left_out(sports, make_video):
    silent = make_video("fusion-silent", seconds=2.0, fps=10)
    tone = make_video("fusion-tone", seconds=2.0, fps=10, audio_hz=440)
    result = sports.classify([silent, tone], "sports", heads=["test-stub-audio"])
    assert not result.failures
    by_path = {p.path: p for p in result.predictions}
    assert not by_path[str(silent)].heads[0].voted
    assert by_path[str(tone)].heads[0].voted
    plain = sports.classify([silent], "sports").predictions[0]
    assert [s.probability for s in by_path[str(silent)].labels] == pytest.approx([s.probability for s in plain.labels])


def test_overrides_change_the_vote_and_the_cli_shows_map_and_contributions(sports, sample_videos, home, capsys):
    path = str(sample_videos["bikes.mp4"])
    model = ["--model", str(sports.settings.model), "--home", str(home), "--device", "cpu"]
    assert run(["heads", "map", "sports", "test-stub", "playing cello", "swimming", "--home", str(home)]) == 0
    assert "'playing cello' → 'swimming'" in capsys.readouterr().out
    assert run(["heads", "show-map", "sports", "test-stub", *model, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {row["head_label"]: (row["label"], row["how"]) for row in shown["map"]} == {
        "riding a bike": ("riding a bike", EXACT), "talking on the phone": ("talking on the phone", EXACT),
        "playing cello": ("swimming", OVERRIDE)}
    assert run(["classify", path, "-t", "sports", "--head", "test-stub", "--head-weight", "test-stub=1",
                "--window", "2", *model, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    labels = {s["label"]: s for s in output["predictions"][0]["labels"]}
    assert labels["swimming"]["votes"]["test-stub"] == pytest.approx(0.1 / 2, abs=1e-6)
    assert sum(labels["swimming"]["votes"].values()) == pytest.approx(labels["swimming"]["probability"], abs=1e-5)
    assert run(["heads", "weight", "sports", "test-stub", "0.5", "--home", str(home)]) == 0
    capsys.readouterr()
    assert sports.taxonomies.get("sports").settings.head_weights == {"test-stub": 0.5}
    assert run(["heads", "weight", "sports", "test-stub", "--reset", "--home", str(home)]) == 0
    assert sports.taxonomies.get("sports").settings.head_weights == {}


def test_bad_head_options_are_refused_with_what_to_do(sports, sample_videos, home, capsys):
    path = str(sample_videos["bikes.mp4"])
    with pytest.raises(OpenvidError, match="heads=") as caught:  # the API's spelling of the option
        sports.classify([path], "sports", heads=["test-stub"], head_weights={"other": 1})
    assert "--head" in caught.value.cli_message()  # the command line's
    with pytest.raises(OpenvidError, match="valid choices"):
        sports.classify([path], "sports", heads=["no-such-head"])
    assert run(["classify", path, "-t", "sports", "--head-weight", "test-stub", "--home", str(home)]) == 1
    assert "NAME=VALUE" in capsys.readouterr().err
    assert run(["classify", path, "-t", "sports", "--head-checkpoint", "videomae=/x", "--home", str(home)]) == 1
    assert "--head videomae" in capsys.readouterr().err
