"""Two processes editing one taxonomy at once: every edit lands, versions never collide, nobody sees "locked"."""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback

from openvid.store import TaxonomyStore, write_transaction

EDITS = 20


def _add_labels(home: str, worker: int, barrier, errors) -> None:
    try:
        store = TaxonomyStore(home)
        barrier.wait(timeout=60)
        for i in range(EDITS):
            store.add_label("shared", f"worker {worker} label {i}")
    except BaseException:  # reported to the parent, which fails the test with it
        errors.put(traceback.format_exc())


def _run_two_workers(target, home) -> None:
    """Start two spawned processes on `target(home, worker, barrier, errors)`; fail on any error."""
    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(2), context.Queue()
    workers = [context.Process(target=target, args=(str(home), w, barrier, errors)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert not problems, "\n".join(problems)
    assert [p.exitcode for p in workers] == [0, 0]


def test_two_processes_adding_labels_at_once(tmp_path):
    home = tmp_path / "home"
    initial = TaxonomyStore(home).create("shared").version
    _run_two_workers(_add_labels, home)
    store = TaxonomyStore(home)
    taxonomy = store.get("shared")
    assert sorted(l.name for l in taxonomy.labels) == sorted(
        f"worker {w} label {i}" for w in range(2) for i in range(EDITS))
    assert taxonomy.version == initial + 2 * EDITS
    assert [e.version for e in store.history("shared")] == list(range(1, taxonomy.version + 1))
    for worker in range(2):  # each worker's own edits kept their order
        mine = [l.name for l in taxonomy.labels if l.name.startswith(f"worker {worker} ")]
        assert mine == [f"worker {worker} label {i}" for i in range(EDITS)]


def test_a_writer_waits_for_the_lock_instead_of_failing(tmp_path):
    holder = TaxonomyStore(tmp_path)
    holder.create("shared")
    other = TaxonomyStore(tmp_path)  # its own engine and connections, as another process would have
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with write_transaction(holder.engine):
            locked.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(timeout=10)
    threading.Timer(0.5, release.set).start()
    start = time.monotonic()
    taxonomy = other.add_label("shared", "late")
    waited = time.monotonic() - start
    thread.join()
    assert taxonomy.version == 2 and waited >= 0.4


def _open_fresh_and_create(home: str, worker: int, barrier, errors) -> None:
    try:
        barrier.wait(timeout=60)
        TaxonomyStore(home).create(f"taxonomy {worker}")  # both create the file and migrate it at once
    except BaseException:
        errors.put(traceback.format_exc())


def test_two_processes_creating_the_database_at_once(tmp_path):
    home = tmp_path / "fresh"
    _run_two_workers(_open_fresh_and_create, home)
    assert [s.name for s in TaxonomyStore(home).list()] == ["taxonomy 0", "taxonomy 1"]
