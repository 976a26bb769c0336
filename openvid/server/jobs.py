"""Indexing jobs started from the web: one per index at a time, cancellable, with a progress feed.

A job is `Engine.index_videos` on a thread of its own, with the Engine's own `stop` event for
cancelling (the run ends cleanly: what was committed stays, `openvid check` is clean). Each
progress callback becomes an event in the job's list; readers wait on a condition for events
after the last one they saw, so any number of pages can follow one job and a page that connects
late gets the whole story. Searches run while a job does and see each video once it is committed.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from openvid.errors import Conflict, NotFound, OpenvidError

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


@dataclass
class Job:
    id: str
    index: str
    folder: str
    total: int
    state: str = RUNNING
    done: int = 0  # files finished (indexed, failed, already indexed, copies)
    segments: int = 0
    failures: list[dict] = field(default_factory=list)
    report: dict | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    events: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "index": self.index, "folder": self.folder, "state": self.state, "total": self.total,
                "done": self.done, "segments": self.segments, "failures": list(self.failures),
                "report": self.report, "error": self.error, "started_at": self.started_at,
                "finished_at": self.finished_at}


class IndexJobs:
    """The jobs of one server (thread-safe); finished jobs stay listed until the server stops."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._jobs: dict[str, Job] = {}
        self._changed = threading.Condition()
        self._ids = itertools.count(1)

    def start(self, index: str, folder: str) -> Job:
        from openvid.archive.walk import videos_under

        files = videos_under([folder])  # a folder with no video is refused here, before a thread starts
        with self._changed:
            running = [j for j in self._jobs.values() if j.index == index and j.state == RUNNING]
            if running:
                raise JobRunning(f"index {index!r} already has a job running ({running[0].id}); cancel it or wait")
            job = Job(id=f"job-{next(self._ids)}", index=index, folder=folder, total=len(files))
            self._jobs[job.id] = job
            self._event(job, {"type": "started", "total": job.total})
        job.thread = threading.Thread(target=self._run, args=(job,), name=f"openvid-{job.id}", daemon=True)
        job.thread.start()
        return job

    def get(self, job_id: str) -> Job:
        with self._changed:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}; GET /api/v1/jobs lists them")
        return job

    def list(self) -> list[Job]:
        with self._changed:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.stop.set()
        return job

    def follow(self, job_id: str, after: int = 0, wait_s: float = 15.0) -> Iterator[dict]:
        """The job's events from number `after` on, as they come; ends when the job has finished.

        Yields `{"type": "keepalive"}` after `wait_s` seconds without news, so a proxy keeps the
        stream open and a reader that went away is noticed.
        """
        job = self.get(job_id)
        seen = after
        while True:
            with self._changed:
                if len(job.events) <= seen and job.state == RUNNING:
                    self._changed.wait(wait_s)
                new, finished = job.events[seen:], job.state != RUNNING
            seen += len(new)
            yield from new
            if finished and not new:
                return
            if not new:
                yield {"type": "keepalive"}

    def stop_all(self, wait_s: float = 60.0) -> None:
        """Ask every running job to stop, and wait (up to `wait_s`) for each to save what it committed."""
        running = [job for job in self.list() if job.state == RUNNING]
        for job in running:
            job.stop.set()
        deadline = time.monotonic() + wait_s
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    # -- the job's thread ------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        def progress(path: str, status: str, segments: int) -> None:
            with self._changed:
                if status in ("indexed", "failed", "already", "copy", "moved"):
                    job.done = min(job.total, job.done + 1)
                job.segments += segments
                self._event(job, {"type": "progress", "path": path, "status": status, "segments": segments,
                                  "done": job.done, "total": job.total})

        try:
            report = self.engine.index_videos([job.folder], index=job.index, on_progress=progress, stop=job.stop)
        except OpenvidError as exc:
            self._finish(job, FAILED, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the job reports it; the server keeps serving
            self._finish(job, FAILED, error=f"{type(exc).__name__}: {exc}")
        else:
            job.report = report.to_dict()
            job.failures = [f.to_dict() for f in report.failures]
            self._finish(job, CANCELLED if report.stopped else DONE)

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        with self._changed:
            job.state, job.error, job.finished_at = state, error, time.time()
            self._event(job, {"type": state, "error": error, "done": job.done, "total": job.total,
                              "failures": job.failures})

    def _event(self, job: Job, event: dict) -> None:
        """Append an event (the caller holds the condition) and wake every reader."""
        event["n"] = len(job.events) + 1
        job.events.append(event)
        self._changed.notify_all()


class JobRunning(Conflict):
    """The index already has a job running (409)."""
