"""Indexes: what is indexed, consistency checks, and indexing jobs with live progress."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from openvid.server import deps
from openvid.server.errors import Forbidden
from openvid.server.files import check_path

router = APIRouter(tags=["indexes"])


class NewJob(BaseModel):
    folder: str


@router.get("/indexes")
def list_indexes(request: Request) -> list[dict]:
    return deps.plain(deps.engine(request).list_indexes())


@router.get("/indexes/{name}")
def info(request: Request, name: str) -> dict:
    return deps.plain(deps.engine(request).index_info(name))


@router.get("/indexes/{name}/videos")
def videos(request: Request, name: str) -> list[dict]:
    catalog = deps.engine(request).catalog
    record = catalog.get_index(name)
    return [{**deps.plain(v), "name": os.path.basename(v.path), "url": f"/api/v1/media/videos/{v.id}"}
            for v in catalog.list_videos(record.id)]


@router.post("/indexes/{name}/check")
def check(request: Request, name: str) -> dict:
    """Compare the FAISS copy with the catalog and the files with the disk (nothing is changed)."""
    result = deps.engine(request).check(name, fix=False)
    return {**deps.plain(result), "ok": result.ok, "vectors_ok": result.vectors_ok}


@router.get("/roots")
def roots(request: Request) -> dict:
    """Where indexing jobs may start (`--allow-root`; none: no jobs from the web)."""
    return {"allow_roots": [str(r) for r in deps.config(request).allow_roots]}


@router.post("/indexes/{name}/jobs", status_code=202)
def start_job(request: Request, name: str, body: NewJob) -> dict:
    """Index a folder under an allowed root in the background; follow it at /jobs/{id}/events."""
    allowed = deps.config(request).allow_roots
    if not allowed:
        raise Forbidden("this server starts no indexing jobs: no folder was allowed; start it with "
                        "`openvid serve --allow-root DIR` to allow one")
    folder = check_path(body.folder, allowed, what="folder")
    return deps.jobs(request).start(name, str(folder)).summary()


@router.get("/jobs")
def list_jobs(request: Request) -> list[dict]:
    return [job.summary() for job in deps.jobs(request).list()]


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> dict:
    return deps.jobs(request).get(job_id).summary()


@router.delete("/jobs/{job_id}")
def cancel(request: Request, job_id: str) -> dict:
    """Stop the job cleanly: videos already committed stay indexed; the rest are left for a next run."""
    return deps.jobs(request).cancel(job_id).summary()


def known_job(request: Request, job_id: str):
    """The job, or a 404; a dependency, so it runs before the stream starts (a generator
    endpoint's own body runs only once the response is streaming, too late for a status)."""
    return deps.jobs(request).get(job_id)


@router.get("/jobs/{job_id}/events", response_class=EventSourceResponse)
def events(request: Request, job_id: str, after: int = 0, _job=Depends(known_job)):
    """The job's progress as server-sent events: JSON data with `type` started, progress, keepalive, then
    done, failed or cancelled; each event's id is its number, so a reconnecting browser (Last-Event-ID)
    or `?after=N` continues where it left off."""
    jobs = deps.jobs(request)
    last = request.headers.get("last-event-id", "")
    start = max(after, int(last) if last.isdigit() else 0)
    for event in jobs.follow(job_id, after=start):
        yield ServerSentEvent(data=event, id=str(event["n"])) if "n" in event else ServerSentEvent(comment="keepalive")
