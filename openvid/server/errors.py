"""Errors as JSON: `{"error": ..., "hint": ...}` with the status that says what kind of problem it is.

400 bad input (a wrong argument), 403 a path the server may not read, 404 an unknown taxonomy,
label, index, video or segment, 409 a conflict (a name taken, a job already running), 413 an upload
over the limit, 422 a request the API cannot parse or a file that is not a readable video, 503 a
model that cannot be loaded. Anything unexpected is a 500 with a plain message; the traceback goes
to the server's log, never to the client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openvid.errors import Conflict, MediaError, ModelUnavailable, NotFound, OpenvidError, UsageError

log = logging.getLogger("openvid.server")


class Forbidden(OpenvidError):
    """A path outside what the server may read (403); nothing was opened."""


class TooLarge(OpenvidError):
    """An upload over the server's limit (413); what was received is deleted."""


def status_of(exc: OpenvidError) -> int:
    for kind, status in ((Forbidden, 403), (NotFound, 404), (Conflict, 409), (TooLarge, 413), (MediaError, 422),
                         (ModelUnavailable, 503), (UsageError, 400)):
        if isinstance(exc, kind):
            return status
    return 400


def body(exc: OpenvidError) -> dict:
    """The message's first line is the error; the rest (and a ModelUnavailable's advice) the hint."""
    text = str(exc)
    first, _, rest = text.partition("\n")
    hint = getattr(exc, "hint", None) or rest.strip() or None
    return {"error": first, "hint": hint}


def install(app: FastAPI) -> None:
    @app.exception_handler(OpenvidError)
    async def openvid_error(request: Request, exc: OpenvidError) -> JSONResponse:
        return JSONResponse(body(exc), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'request'}: {e.get('msg')}"
                    for e in exc.errors()]
        return JSONResponse({"error": "; ".join(problems) or "the request is not valid",
                             "hint": "see /docs for what each endpoint takes"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse({"error": detail, "hint": None}, status_code=exc.status_code, headers=exc.headers)

    app.add_middleware(CatchAll)


class CatchAll:
    """The 500 answer for anything unexpected, as JSON, without re-raising.

    A handler registered for `Exception` runs in Starlette's ServerErrorMiddleware, which re-raises
    after answering, and the server then drops the keep-alive connection: the client's next
    request on it fails too. Caught here, one unexpected error fails one request.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the edge: log it, answer JSON
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # part of an answer went out already: nothing valid can follow it
                return
            response = JSONResponse({"error": f"internal error ({type(exc).__name__})",
                                     "hint": "the server's log has the details; please report it"}, status_code=500)
            await response(scope, receive, send)
