"""Real (tiny) heads voting in `classify`: fusion equals the pool of the encoder and each head's own
output, one decode serves every model, and audio heads fall silent on videos without audio."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.heads import HeadChoice
from openvid.media import iter_clips, load_audio
from openvid.media.window_audio import with_audio
from openvid.scoring.fusion import ZERO_SHOT, fuse, head_vote

LABELS = ["riding a bike", "swimming", "talking on the phone"]


@pytest.fixture
def engine(tiny_model_dirs, tmp_path) -> Engine:
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=2.0,
                    batch_size=4)
    engine.taxonomies.create("acts", templates=["a video of {}."])
    for name in LABELS:
        engine.taxonomies.add_label("acts", name)
    return engine


def _choice(tiny_model_dirs, name):
    return HeadChoice(name, checkpoint=str(tiny_model_dirs[name]))


def test_videomae_and_ast_votes_equal_the_pool_of_their_own_outputs(engine, tiny_model_dirs, make_video):
    path = make_video("heads-classify-tone", seconds=4.0, fps=12, size=(160, 120), audio_hz=440)
    heads = [_choice(tiny_model_dirs, "videomae"), _choice(tiny_model_dirs, "ast")]
    prediction = engine.classify([path], "acts", top_k=3, heads=heads, head_weights={"ast": 0.5}).predictions[0]
    plain = engine.classify([path], "acts", top_k=3).predictions[0]

    videomae, ast = engine.load_heads(heads)
    clips = list(with_audio(str(path), iter_clips(str(path), window_s=2.0, stride_s=2.0,
                                                  frames_per_window=engine.encoder.frames_per_clip,
                                                  short_side=max(224, videomae.resize_to),
                                                  extra_frame_counts=[(videomae.frames_per_clip, videomae.clip_seconds)]),
                            [ast.sample_rate]))
    zero_shot = np.array([{s.label: s.probability for s in plain.labels}[name] for name in LABELS])
    votes = {}
    for head in (videomae, ast):
        mapping = engine.head_mapping("acts", head)
        votes[head.name] = head_vote(head.predict(clips).mean(axis=0), mapping.targets, zero_shot)
    # the tiny videomae knows "riding a bike" and "swimming" by name; the tiny AST knows none of these
    assert engine.head_mapping("acts", videomae).covered == ["riding a bike", "swimming"]
    assert votes["ast"] is None
    expected = fuse(zero_shot, votes, {"videomae": 1.0, "ast": 0.5})
    got = {s.label: s for s in prediction.labels}
    np.testing.assert_allclose([got[name].probability for name in LABELS], expected.probs, atol=1e-6)
    np.testing.assert_allclose([got[name].votes["videomae"] for name in LABELS],
                               expected.contributions["videomae"], atol=1e-6)
    assert {h.name: (h.voted, h.mapped_labels) for h in prediction.heads} == {"videomae": (True, 2), "ast": (False, 0)}


def test_one_decode_serves_the_encoder_and_every_head(engine, tiny_model_dirs, sample_videos, monkeypatch):
    import openvid.media.segments as segments

    opened = []
    real_open = segments.open_video

    def counting_open(path, **kwargs):
        opened.append((str(path), kwargs.get("short_side")))
        return real_open(path, **kwargs)

    monkeypatch.setattr(segments, "open_video", counting_open)
    heads = [_choice(tiny_model_dirs, "videomae"), _choice(tiny_model_dirs, "timesformer")]
    path = sample_videos["bikes.mp4"]
    result = engine.classify([path], "acts", heads=heads, segments=True)
    assert not result.failures and len(opened) == 1
    assert opened[0][1] == max(224, *(h.resize_to for h in engine.load_heads(heads)))
    segments_seen = len(result.predictions[0].segments)
    assert segments_seen >= 2
    for segment in result.predictions[0].segments:
        assert sum(segment.labels[0].votes.values()) == pytest.approx(segment.labels[0].probability, abs=1e-5)


def test_clap_scores_the_taxonomy_labels_and_is_silent_without_audio(engine, tiny_model_dirs, make_video):
    tone = make_video("heads-classify-clap-tone", seconds=2.0, fps=10, audio_hz=440)
    silent = make_video("heads-classify-clap-silent", seconds=2.0, fps=10)
    result = engine.classify([tone, silent], "acts", heads=[_choice(tiny_model_dirs, "clap")])
    by_path = {p.path: p for p in result.predictions}
    assert by_path[str(tone)].heads[0].voted and by_path[str(tone)].heads[0].mapped_labels == len(LABELS)
    assert not by_path[str(silent)].heads[0].voted
    clap = engine.load_heads([_choice(tiny_model_dirs, "clap")])[0]
    assert clap.labels == LABELS  # set to the taxonomy's labels
    wave = load_audio(tone, clap.sample_rate)
    assert wave.size > 0


def test_classify_cli_with_heads_and_show_map(engine, tiny_model_dirs, sample_videos, capsys):
    common = ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu"]
    code = run(["classify", str(sample_videos["bikes.mp4"]), "-t", "acts", "--window", "2", "--head", "videomae",
                "--head-checkpoint", f"videomae={tiny_model_dirs['videomae']}", "--json", *common])
    assert code == 0
    prediction = json.loads(capsys.readouterr().out)["predictions"][0]
    assert set(prediction["labels"][0]["votes"]) == {ZERO_SHOT, "videomae"}
    assert prediction["heads"][0]["name"] == "videomae"
    assert run(["heads", "show-map", "acts", "videomae", "--head-checkpoint", f"videomae={tiny_model_dirs['videomae']}",
                "--all", "--json", *common]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["map"]) == 5 and shown["uncovered"] == ["talking on the phone"]


def test_default_head_checkpoints_offline_say_how_to_get_them(engine, capsys):
    for name in ("videomae", "ast"):
        assert run(["classify", "x.mp4", "-t", "acts", "--head", name, "--home", str(engine.settings.home)]) == 1
        message = capsys.readouterr().err
        assert "openvid models pull" in message and name in message


def test_models_list_and_pull_know_the_heads(capsys):
    assert run(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    heads = {row["name"]: row for row in rows if row["kind"] == "head"}
    assert set(heads) == {"videomae", "timesformer", "swin3d_t", "mvit_v2_s", "r2plus1d_18", "slowfast_r50", "x3d_m",
                          "ast", "clap", "avslowfast"}
    assert not any(row["available"] for row in heads.values())  # empty caches in tests
    assert (heads["videomae"]["frames"], heads["timesformer"]["frames"]) == (16, 8)
    assert heads["ast"]["needs_audio"] and heads["ast"]["default_weight"] == 0.5
    assert run(["models", "pull", "avslowfast"]) == 1
    assert "--head-checkpoint avslowfast=" in capsys.readouterr().err
    assert run(["models", "pull", "videomae"]) == 1  # offline: the instruction, not a traceback
    assert "MCG-NJU/videomae-base-finetuned-kinetics" in capsys.readouterr().err


def test_show_map_of_a_kinetics_head_needs_no_weights(engine, capsys):
    common = ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu"]
    for head in ("swin3d_t", "x3d_m"):  # their checkpoints are not on this machine; their labels are known
        assert run(["heads", "show-map", "acts", head, "--json", *common]) == 0
        shown = json.loads(capsys.readouterr().out)
        rows = {row["head_label"]: (row["label"], row["how"]) for row in shown["map"]}
        assert rows["riding a bike"] == ("riding a bike", "same name")
        assert "riding a bike" in shown["covered"]


def test_long_videos_read_audio_window_by_window_with_the_same_samples(make_video, monkeypatch):
    import openvid.media.window_audio as voting

    tone = make_video("heads-classify-window-audio", seconds=4.0, fps=10, audio_hz=440)
    silent = make_video("heads-classify-window-silent", seconds=2.0, fps=10)

    def windows(path):
        clips = iter_clips(str(path), window_s=1.0, stride_s=1.0, frames_per_window=2, short_side=64)
        return [clip.audio for clip in with_audio(str(path), clips, [16000])]

    whole = windows(tone)
    monkeypatch.setattr(voting, "WHOLE_TRACK_S", 0.0)
    by_window = windows(tone)
    assert len(whole) == len(by_window) == 4
    for a, b in zip(whole, by_window):
        a, b = a[16000], b[16000]
        assert abs(len(a) - len(b)) <= 1 and len(a) > 15000
        # After a seek the resampler starts at another phase: the same sound, shifted by under a
        # sample. Compare what a model hears: loudness and pitch.
        n = min(len(a), len(b))
        rms = [np.sqrt(np.mean(x[n // 4: 3 * n // 4] ** 2)) for x in (a, b)]
        assert rms[1] == pytest.approx(rms[0], rel=0.02) and rms[0] > 0.1
        pitch = [np.argmax(np.abs(np.fft.rfft(x[:n]))) * 16000 / n for x in (a, b)]
        assert pitch[0] == pitch[1] == pytest.approx(440, abs=2)
    assert windows(silent) == [None, None]


def test_a_head_sees_the_central_seconds_its_training_clips_covered(make_video):
    from fixtures_media import read_frame_number

    path = make_video("heads-classify-numbered", seconds=4.0, fps=20, size=(160, 96))
    clip = next(iter(iter_clips(str(path), window_s=4.0, stride_s=4.0, frames_per_window=8, short_side=96,
                                extra_frame_counts=[(10, 1.0), 10])))
    central = [read_frame_number(f) for f in clip.frames_for(10, 1.0)]
    whole = [read_frame_number(f) for f in clip.frames_for(10)]
    # 10 frames over [1.5, 2.5] s at 20 fps: frames 31, 33, ..., 49 (slice centres); the whole window: 4, 12, ..., 76
    assert central == list(range(31, 50, 2))
    assert whole == list(range(4, 80, 8))
    # without a decoded view, the central part of the encoder's frames stands in
    fallback = clip.frames_for(2, 2.0)
    assert [read_frame_number(f) for f in fallback] == [35, 55]  # of 5, 15, ..., 75: the ones nearest 1.5 s and 2.5 s


def test_eval_with_a_head_measures_the_fused_answer(engine, tiny_model_dirs, sample_videos, make_video, tmp_path, capsys):
    import shutil

    data = tmp_path / "labelled"
    clips = {"riding a bike": [sample_videos["bikes.mp4"], make_video("eval-head-a", seconds=2.0, fps=10)],
             "swimming": [sample_videos["carphone_pristine.mp4"], make_video("eval-head-b", seconds=2.0, fps=10,
                                                                              size=(96, 64))]}
    paths = []
    for label, files in clips.items():
        (data / label).mkdir(parents=True)
        for file in files:
            shutil.copy(file, data / label / file.name)
            paths.append((label, data / label / file.name))
    heads, weights = [_choice(tiny_model_dirs, "videomae")], {"videomae": 50.0}

    def confusion_of(result) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for (label, _), prediction in zip(paths, result.predictions):
            counts[label, prediction.labels[0].label] = counts.get((label, prediction.labels[0].label), 0) + 1
        return counts

    files = [str(p) for _, p in paths]
    fused = confusion_of(engine.classify(files, "acts", top_k=1, heads=heads, head_weights=weights))
    alone = confusion_of(engine.classify(files, "acts", top_k=1))
    assert fused != alone, "the head must change some answer, or this test could not tell the two apart"

    def eval_confusion(report) -> dict[tuple[str, str], int]:
        names = report.confusion_labels
        return {(names[i], names[j]): int(n) for i, row in enumerate(report.confusion) for j, n in enumerate(row) if n}

    result = engine.evaluate("acts", data, heads=heads, head_weights=weights)
    assert eval_confusion(result.report) == fused and result.report.extra["heads"] == ["videomae"]
    assert eval_confusion(engine.evaluate("acts", data).report) == alone

    common = ["--home", str(engine.settings.home), "--model", str(engine.settings.model), "--device", "cpu",
              "--window", "2"]
    code = run(["eval", str(data), "-t", "acts", "--head", "videomae", "--head-checkpoint",
                f"videomae={tiny_model_dirs['videomae']}", "--head-weight", "videomae=50", "-o", str(tmp_path / "out"),
                "--json", *common])
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["top1"] == pytest.approx(result.report.top1) and report["heads"] == ["videomae"]
