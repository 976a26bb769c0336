"""Few-shot examples: a segment of an indexed video or an uploaded clip as an example of a label."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

from openvid.errors import NotFound
from openvid.server import deps
from openvid.server.uploads import kept

router = APIRouter(prefix="/taxonomies/{name}/examples", tags=["few-shot"])


class NewExample(BaseModel):
    label: str
    segment_id: int


def added_json(added) -> dict:
    return {"taxonomy": added.taxonomy, "label": added.label, "created_label": added.created_label,
            "similar_labels": list(added.similar_labels), "added": len(list(added))}


@router.get("")
def list_examples(request: Request, name: str, label: str | None = None) -> list[dict]:
    engine = deps.engine(request)
    engine.taxonomies.get(name)  # an unknown taxonomy is a 404, not an empty list
    return deps.plain(engine.examples.sources(name, label=label))


@router.post("", status_code=201)
def add_from_segment(request: Request, name: str, body: NewExample) -> dict:
    """The segment's time range of its indexed video becomes an example of `label` (created if new)."""
    segment = deps.segment(request, body.segment_id)
    added = deps.engine(request).add_examples(name, body.label, [deps.clip_ref(segment.path, segment.start_s,
                                                                                segment.end_s)])
    return added_json(added)


@router.post("/upload", status_code=201)
def add_from_upload(request: Request, name: str, label: Annotated[str, Form()],
                    file: Annotated[UploadFile, File(description="a video clip")]) -> dict:
    """An uploaded clip as an example; the clip is kept under the home folder (`example-clips/`) so
    another encoder can re-embed it later."""
    with kept(file, deps.home(request), deps.config(request).upload_limit) as path:
        return added_json(deps.engine(request).add_examples(name, label, [str(path)]))


@router.delete("/{example_id}")
def remove(request: Request, name: str, example_id: int) -> dict:
    """The example clip (its rows under every encoder)."""
    engine = deps.engine(request)
    engine.taxonomies.get(name)  # an unknown taxonomy is a 404
    if not any(example_id in source.ids for source in engine.examples.sources(name)):
        raise NotFound(f"taxonomy {name!r} has no example {example_id}; GET /api/v1/taxonomies/{name}/examples "
                       "lists them")
    removed = engine.examples.remove(name, ids=[example_id], clips=True)
    return {"removed": removed}
