"""An interrupted `openvid index` (Ctrl-C or SIGTERM) stops cleanly: it saves what it indexed,
says so and how to finish, exits 130 / 143, and leaves an index that `openvid check` finds clean."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from fixtures_store import committed_videos

from openvid.cli import run
from openvid.engine import Engine

VIDEOS = 12


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_index_saves_its_work_and_says_how_to_finish(tiny_model_dirs, tmp_path, make_video, sig, code):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(VIDEOS):
        shutil.copy(make_video(f"interrupt-{i}", seconds=4 + i / 10, fps=15, noise=True), folder / f"v{i:02d}.mp4")
    home = tmp_path / "home"
    command = [sys.executable, "-m", "openvid", "index", str(folder), "--home", str(home), "--model",
               str(tiny_model_dirs["clip"]), "--device", "cpu", "--window", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OPENVID_BATCH_SIZE": "2", "COLUMNS": "400"})
    engine = Engine(device="cpu", home=home)
    deadline = time.monotonic() + 120
    try:
        while True:  # wait until some videos are committed, then interrupt mid-run
            assert process.poll() is None, f"the indexer ended (exit code {process.returncode}) before the signal"
            assert time.monotonic() < deadline, "no video was committed within 120 s"
            time.sleep(0.2)
            committed = committed_videos(engine)
            if committed is not None and 2 <= committed < VIDEOS:
                break
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, (process.returncode, stderr)
    said = " ".join((stdout + stderr).split())
    assert "Traceback" not in said
    assert "run the same command again to finish the job" in said and f"Exit code {code}" in said
    assert ("Ctrl-C" if sig == signal.SIGINT else "SIGTERM") in said

    record = engine.catalog.find_index("default")
    partial = engine.catalog.counts(record.id)[0]
    assert 0 < partial < VIDEOS, "the signal should land mid-run"
    assert f"indexed {partial} videos" in said  # what was done, as the catalog has it
    assert run(["check", "--home", str(home)]) == 0  # clean at once, no --fix needed
    state = Engine(device="cpu", home=home).check()
    assert state.ok and state.catalog_segments == state.index_vectors > 0

    rerun = Engine(device="cpu", home=home, window_s=1.0).index_videos([folder])
    assert len(rerun.already) == partial and len(rerun.indexed) == VIDEOS - partial and not rerun.stopped
    assert Engine(device="cpu", home=home).check().ok


def test_a_stop_set_before_the_run_indexes_nothing_and_leaves_no_new_index(tiny_model_dirs, tmp_path, make_video):
    import threading

    folder = tmp_path / "two"
    folder.mkdir()
    for i in range(2):
        shutil.copy(make_video(f"interrupt-early-{i}", seconds=2 + i, fps=10), folder / f"v{i}.mp4")
    stop = threading.Event()
    stop.set()
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=1.0)
    report = engine.index_videos([folder], stop=stop)
    assert report.stopped and not report.indexed and len(report.pending) == 2
    assert engine.catalog.find_index("default") is None  # nothing was indexed: nothing is left behind
