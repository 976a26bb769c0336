"""End to end on real sample videos: Engine and `openvid embed/probe` through the tiny models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.media import iter_clips, probe


@pytest.mark.parametrize("family", ["clip", "xclip"])
def test_engine_encode_video_equals_encoder_on_its_clips(family, tiny_model_dirs, sample_videos):
    path = sample_videos["bikes.mp4"]
    engine = Engine(model=str(tiny_model_dirs[family]), device="cpu", window_s=3.0, batch_size=2)
    result = engine.encode_video(path)
    clips = list(iter_clips(str(path), window_s=3.0, stride_s=3.0, frames_per_window=engine.encoder.frames_per_clip,
                            short_side=224))
    assert len(result.vectors) == len(clips) == int(np.ceil(probe(path).duration_s / 3.0))
    np.testing.assert_allclose(result.vectors, engine.encoder.encode_video(clips), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert result.starts[0] == 0.0 and result.ends[-1] == pytest.approx(probe(path).duration_s, abs=0.05)
    assert result.model == engine.encoder.identity


def test_cli_embed_writes_vectors_and_json(tiny_model_dirs, sample_videos, tmp_path, capsys):
    out = tmp_path / "bikes.npz"
    code = run(["embed", str(sample_videos["bikes.mp4"]), "--model", str(tiny_model_dirs["clip"]),
                "--device", "cpu", "--window", "5", "-o", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    saved = np.load(out)
    assert summary["segments"] == len(saved["vectors"]) == len(summary["starts"])
    assert saved["vectors"].shape[1] == summary["dim"] == 32


def test_cli_embed_bad_file_is_one_clear_line(tiny_model_dirs, bad_files, capsys):
    code = run(["embed", str(bad_files["text"]), "--model", str(tiny_model_dirs["clip"]), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error:" in err and "text.mp4" in err and "Traceback" not in err


def test_cli_probe_reports_good_and_skips_bad(sample_videos, bad_files, capsys):
    code = run(["probe", str(sample_videos["carphone_pristine.mp4"]), str(bad_files["empty"]), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # some failed
    assert report["videos"][0]["width"] > 0 and report["videos"][0]["frame_count"] > 0
    assert report["failed"][0]["path"].endswith("empty.mp4") and "empty" in report["failed"][0]["error"]
