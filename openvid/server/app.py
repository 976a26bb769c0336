"""The FastAPI app: the page at `/`, the API under `/api/v1`, its OpenAPI docs at `/docs`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from openvid.server import errors
from openvid.server.auth import TokenMiddleware, login_router
from openvid.server.config import ServeConfig
from openvid.server.jobs import IndexJobs
from openvid.server.routes import classify, fewshot, indexes, media, search, taxonomies
from openvid.server.uploads import BodyLimit

STATIC = Path(__file__).with_name("static")
API_PREFIX = "/api/v1"
MULTIPART_MARGIN = 1024 * 1024  # form fields and boundaries around an upload at the limit


def create_app(engine, config: ServeConfig | None = None) -> FastAPI:
    """An app serving `engine` (one Engine, shared by every request) under `config`."""
    from openvid import __version__

    config = config or ServeConfig()
    jobs = IndexJobs(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        jobs.stop_all()  # a server that stops ends its jobs cleanly: what was committed stays

    app = FastAPI(title="openvid", version=__version__, lifespan=lifespan,
                  description="Search video archives in plain words, classify videos against editable label "
                              "lists, and keep few-shot examples. Errors are JSON {error, hint}.")
    app.state.engine, app.state.config, app.state.jobs = engine, config, jobs
    errors.install(app)
    app.add_middleware(BodyLimit, limit=config.upload_limit, margin=MULTIPART_MARGIN)  # JSON 413, not plain text
    if config.token:
        app.add_middleware(TokenMiddleware, token=config.token)
    app.include_router(login_router(config.token))

    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", tags=["server"])
    def health() -> dict:
        return {"ok": True, "version": __version__, "model": engine.settings.model_name,
                "home": str(engine.settings.home)}

    for module in (search, classify, taxonomies, fewshot, indexes, media):
        api.include_router(module.router)
    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
