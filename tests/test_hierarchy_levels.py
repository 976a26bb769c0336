"""`--level` must be a level the taxonomy has: deeper than its deepest leaf it was silently the leaf view."""

from __future__ import annotations

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import UsageError
from openvid.scoring.hierarchy import check_level, depth, roll_up

PARENT_OF = {"ball game": None, "football": "ball game", "tennis": "ball game", "cycling": None}
LEAVES = ["football", "tennis", "cycling"]


def test_depth_and_the_levels_a_tree_has():
    assert depth(LEAVES, PARENT_OF) == 2 and depth(["cycling"], PARENT_OF) == 1
    check_level(None, LEAVES, PARENT_OF)
    check_level(1, LEAVES, PARENT_OF)
    with pytest.raises(UsageError, match=r"level=5 is not a level of this taxonomy, which is 2 level\(s\) deep: "
                                         r"give 0 \(the top\) to 1 \(the deepest\)"):
        check_level(5, LEAVES, PARENT_OF)
    with pytest.raises(UsageError, match=r"give 0 \(its labels are not nested\)"):
        roll_up(["cycling"], np.array([1.0]), PARENT_OF, level=1)
    assert roll_up(LEAVES, np.array([0.5, 0.3, 0.2]), PARENT_OF, level=1)[0] == LEAVES  # the deepest level is fine


def test_classify_refuses_a_level_deeper_than_the_tree(tiny_model_dirs, tmp_path, sample_videos, capsys):
    home = tmp_path / "home"
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=4.0)
    engine.taxonomies.create("sports")
    engine.taxonomies.add_label("sports", "ball game")
    engine.taxonomies.add_label("sports", "football", parent="ball game")
    engine.taxonomies.add_label("sports", "cycling")
    video = sample_videos["bikes.mp4"]
    assert engine.classify(video, "sports", level=0).predictions[0].labels[0].label in {"ball game", "cycling"}
    with pytest.raises(UsageError, match="2 level"):
        engine.classify(video, "sports", level=5)
    argv = ["classify", str(video), "-t", "sports", "--level", "5", "--model", str(tiny_model_dirs["clip"]),
            "--device", "cpu", "--home", str(home)]
    assert run(argv) == 1
    err = capsys.readouterr().err
    assert "--level 5 is not a level of this taxonomy, which is 2 level(s) deep" in err
