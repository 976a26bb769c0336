"""The Python API's conventions: one path or a list wherever paths are taken, and results that
serialise with `to_dict()` to exactly what `--json` prints (UTF-8 names reading as themselves)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from openvid.cli import run
from openvid.cli.common import emit_json
from openvid.engine import Engine, VideoEmbedding
from openvid.errors import UsageError
from openvid.results import ClassifyResult, Failure, HeadReport, LabelScore, Prediction, to_jsonable


@pytest.fixture
def engine(tiny_model_dirs, tmp_path) -> Engine:
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=2.0)
    engine.taxonomies.create("acts")
    for name in ("riding a bike", "swimming"):
        engine.taxonomies.add_label("acts", name)
    return engine


def test_one_path_or_a_list_everywhere(engine, sample_videos):
    one = str(sample_videos["bikes.mp4"])
    assert len(engine.classify(one, "acts").predictions) == 1
    assert len(engine.classify(Path(one), "acts").predictions) == 1
    assert len(engine.classify([one, Path(one)], "acts").predictions) == 2
    report = engine.index_videos(one, "archive")  # a lone string is one file, not its characters
    assert report.indexed == [str(Path(one).resolve())] and not report.failures
    assert engine.remove_videos(one, "archive") == [str(Path(one).resolve())]
    assert len(engine.add_examples("acts", "swimming", one)) == 1
    with pytest.raises(UsageError, match="encode_video takes one video"):
        engine.encode_video([one])


def test_to_dict_is_what_json_prints(engine, sample_videos, capsys):
    path = str(sample_videos["bikes.mp4"])
    result = engine.classify(path, "acts")
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    prediction = data["predictions"][0]
    assert prediction["top"] == result.predictions[0].top and prediction["accepted"] == [prediction["top"]]
    assert run(["classify", path, "-t", "acts", "--json", "--home", str(engine.settings.home), "--model",
                str(engine.settings.model), "--device", "cpu", "--window", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == data
    hits = engine.index_videos([path], "archive")
    assert hits.to_dict()["indexed"] == [str(Path(path).resolve())]
    hit = engine.search("a bike", index="archive", k=1)[0]
    assert hit.to_dict() == {"path": hit.path, "start_s": hit.start_s, "end_s": hit.end_s, "score": hit.score,
                             "segments": hit.segments, "segment_id": hit.segment_id, "video_id": hit.video_id}
    best = engine.catalog.segments([hit.segment_id])[hit.segment_id]  # the moment's best segment
    assert best.video_id == hit.video_id and hit.start_s <= best.start_s < best.end_s <= hit.end_s
    assert engine.check("archive").to_dict()["missing"] == []


def test_nested_results_numpy_and_paths_serialise():
    prediction = Prediction("p.mp4", "t", 1, "m", [LabelScore("a", np.float32(0.5), 0.1, {"zero-shot": 0.5})],
                            heads=[HeadReport("h", 2.0, 0.5, True, 1)])
    result = ClassifyResult([prediction], [Failure("x.mp4", "bad")], ["w"])
    data = result.to_dict()
    assert data["predictions"][0]["labels"][0]["probability"] == 0.5
    assert data["predictions"][0]["heads"][0] == {"name": "h", "weight": 2.0, "share": 0.5, "voted": True,
                                                  "mapped_labels": 1}
    video = VideoEmbedding("v.mp4", np.zeros(2), np.ones(2), np.zeros((2, 3), np.float32), "m")
    assert to_jsonable(video)["vectors"] == [[0.0] * 3] * 2
    assert to_jsonable({"path": Path("/a/b"), "set": {1}}) == {"path": "/a/b", "set": [1]}
    with pytest.raises(TypeError, match="cannot serialise object"):
        to_jsonable(object())


def test_json_is_utf8_as_it_is(engine, sample_videos, tmp_path, capsys):
    named = tmp_path / "vidéo_日本語.mp4"
    shutil.copy(sample_videos["bikes.mp4"], named)
    assert run(["probe", str(named), "--json"]) == 0
    text = capsys.readouterr().out
    assert "vidéo_日本語.mp4" in text and "\\u" not in text
    emit_json({"name": "vidéo"})
    assert capsys.readouterr().out == '{\n  "name": "vidéo"\n}\n'
