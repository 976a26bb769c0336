"""Taxonomies: list, create, show (at a version), edit labels in place, history, revert, import, export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from openvid.errors import UsageError
from openvid.server import deps

router = APIRouter(prefix="/taxonomies", tags=["taxonomies"])
IMPORT_LIMIT = 10 * 1024 * 1024  # a label list, not a video
MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json", "csv": "text/csv"}


class NewTaxonomy(BaseModel):
    name: str
    description: str = ""
    templates: list[str] | None = None


class NewLabel(BaseModel):
    name: str
    prompts: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    parent: str | None = None
    description: str | None = None


class LabelChange(BaseModel):
    """Leave a field out to keep it; `prompts` / `synonyms` replace the lists; `parent` null makes it a root."""

    new_name: str | None = None
    prompts: list[str] | None = None
    synonyms: list[str] | None = None
    parent: str | None = None
    enabled: bool | None = None
    description: str | None = None


class Revert(BaseModel):
    version: int = Field(ge=1)


def store(request: Request):
    return deps.engine(request).taxonomies


@router.get("")
def list_taxonomies(request: Request) -> list[dict]:
    return deps.plain(store(request).list())


@router.post("", status_code=201)
def create(request: Request, body: NewTaxonomy) -> dict:
    return deps.plain(store(request).create(body.name, body.description, body.templates))


@router.post("/import", status_code=201)
def import_taxonomy(request: Request, file: Annotated[UploadFile, File(description="YAML, JSON or CSV")],
                    name: Annotated[str | None, Form()] = None, replace: Annotated[bool, Form()] = False) -> dict:
    """A whole taxonomy from a file (format from its suffix); refused whole, changing nothing, if anything is wrong."""
    from openvid.store.io import format_for

    raw = file.file.read(IMPORT_LIMIT + 1)
    if len(raw) > IMPORT_LIMIT:
        from openvid.server.errors import TooLarge

        raise TooLarge(f"a taxonomy file may have at most {IMPORT_LIMIT // 1024 // 1024} MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file.filename}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    fmt = format_for(file.filename or "", None)
    return deps.plain(store(request).import_text(text, fmt, name=name or None, replace=replace,
                                                 source=file.filename or "<upload>"))


@router.get("/{name}")
def show(request: Request, name: str, version: int | None = None) -> dict:
    return deps.plain(store(request).get(name, version=version))


@router.delete("/{name}", status_code=204)
def delete(request: Request, name: str) -> None:
    store(request).delete(name)


@router.post("/{name}/labels", status_code=201)
def add_label(request: Request, name: str, body: NewLabel) -> dict:
    return deps.plain(store(request).add_label(name, body.name, prompts=body.prompts, synonyms=body.synonyms,
                                               parent=body.parent, description=body.description))


@router.patch("/{name}/labels/{label:path}")  # a label name may hold a "/" (sent as %2F)
def edit_label(request: Request, name: str, label: str, body: LabelChange) -> dict:
    """Change a label in one version: rename, prompts, synonyms, parent, enabled, description."""
    taxonomies = store(request)
    current = taxonomies.get(name).label(label)
    given = body.model_fields_set
    changes: dict[str, Any] = {"enabled": body.enabled, "description": body.description, "new_name": body.new_name}
    if "parent" in given:
        changes["parent"] = body.parent
    if body.prompts is not None:
        changes["remove_prompts"] = [p for p in current.prompts if p not in body.prompts]
        changes["add_prompts"] = [p for p in body.prompts if p not in current.prompts]
    if body.synonyms is not None:
        changes["remove_synonyms"] = [s for s in current.synonyms if s not in body.synonyms]
        changes["add_synonyms"] = [s for s in body.synonyms if s not in current.synonyms]
    return deps.plain(taxonomies.set_label(name, label, **changes))


@router.delete("/{name}/labels/{label:path}")
def remove_label(request: Request, name: str, label: str, cascade: bool = False) -> dict:
    return deps.plain(store(request).remove_label(name, label, cascade=cascade))


@router.get("/{name}/history")
def history(request: Request, name: str) -> list[dict]:
    return deps.plain(store(request).history(name))


@router.post("/{name}/revert")
def revert(request: Request, name: str, body: Revert) -> dict:
    """The taxonomy as it was at `version`, as its next version (history is kept)."""
    return deps.plain(store(request).revert(name, body.version))


@router.get("/{name}/export")
def export(request: Request, name: str, format: str = "yaml", version: int | None = None) -> PlainTextResponse:
    text = store(request).export(name, format, version=version)
    return PlainTextResponse(text, media_type=MEDIA_TYPES.get(format.lower(), "text/plain"),
                             headers={"Content-Disposition": attachment(f"{name}.{format.lower()}")})


def attachment(filename: str) -> str:
    """A Content-Disposition for any taxonomy name: an ASCII `filename` (quotes, slashes and
    other characters as `_`) and the exact name as RFC 5987 `filename*` (headers are latin-1 only)."""
    from urllib.parse import quote

    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\/' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
