"""A checkpoint that is not on this machine, with no hub to fetch it from, fails in seconds with one
message that names it and the two ways out, instead of minutes of retries and the libraries' own
lines (item 8 of issue 12: 58 s for `clip`, 3 min 44 s for `xclip` against a closed port).

The hub is pointed at a closed local port (HF_ENDPOINT=http://127.0.0.1:9) with HF_HUB_OFFLINE unset:
nothing else is contacted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from openvid.encoders.hub import ensure_downloadable, unreachable
from openvid.errors import ModelUnavailable

CLOSED = "http://127.0.0.1:9"


@pytest.mark.parametrize("argv, checkpoint, pull", [
    (["embed", "x.mp4"], "MobileCLIP2-S0/dfndr2b", "openvid models pull mobileclip2-s0"),  # the CPU index default
    (["classify", "x.mp4", "--labels", "a,b"], "PE-Core-B-16/meta", "openvid models pull pe-core-b16"),
    (["embed", "x.mp4", "--model", "clip"], "ViT-B-32/laion2b_s34b_b79k", "openvid models pull clip"),
    (["embed", "x.mp4", "--model", "xclip"], "microsoft/xclip-base-patch32", "openvid models pull xclip"),
    (["models", "pull", "xclip-zs"], "microsoft/xclip-base-patch16-zero-shot", "openvid models pull xclip-zs"),
    (["models", "pull", "pe-core-b16"], "PE-Core-B-16/meta", "openvid models pull pe-core-b16"),
    (["classify", "x.mp4", "--labels", "a,b", "--model", "siglip2-b32"], "ViT-B-32-SigLIP2-256/webli",
     "openvid models pull siglip2-b32"),
    (["models", "pull", "videoprism-b"], "google/videoprism-lvt-base-f16r288", "openvid models pull videoprism-b"),
    (["classify", "x.mp4", "--labels", "a,b", "--head", "videomae", "--model", "TINY"],
     "MCG-NJU/videomae-base-finetuned-kinetics", "openvid models pull videomae"),
])
def test_an_unreachable_hub_fails_in_seconds_with_one_message(argv, checkpoint, pull, tmp_path, tiny_model_dirs):
    env = {**os.environ, "HF_ENDPOINT": CLOSED, "HF_HOME": str(tmp_path / "hf"), "OPENVID_HOME": str(tmp_path / "h")}
    env.pop("HF_HUB_OFFLINE", None)
    argv = [str(tiny_model_dirs["clip"]) if arg == "TINY" else arg for arg in argv]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "openvid.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - started
    assert done.returncode == 1, done.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"  # imports included, on a busy machine; the hub's retries took minutes
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: checkpoint {checkpoint!r} is not available: it is not in "
                                                   "the local cache, and 127.0.0.1 cannot be reached"), done.stderr
    assert pull in lines[1] and ("--model" in lines[1] or "--head-checkpoint" in lines[1]), lines[1]
    for noise in ("Retrying", "WARNING", "local directory with the same name", "Traceback"):
        assert noise not in done.stderr


def test_the_probe_answers_within_its_deadline():
    started = time.perf_counter()
    assert unreachable(CLOSED, timeout=1.0) is not None
    with pytest.raises(ModelUnavailable, match="switched off"):
        ensure_downloadable("org/name", CLOSED, "hint")  # the tests run with HF_HUB_OFFLINE=1
    assert time.perf_counter() - started < 3
