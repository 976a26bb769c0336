"""Who may use a server: everyone on loopback without a token; with one, only who presents it.

The token comes as `Authorization: Bearer T` (scripts) or as a cookie the login form sets (the
page). Both are compared with `hmac.compare_digest`, so the time a wrong guess takes says nothing
about how much of it was right. The cookie holds a keyed digest of the token, not the token.
"""

from __future__ import annotations

import hashlib
import hmac
from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

COOKIE = "openvid_session"
OPEN_PATHS = ("/login", "/static/app.css")  # what a visitor without the token may fetch


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"openvid-session-v1", hashlib.sha256).hexdigest()


def presented(request: Request, token: str) -> bool:
    """True when the request carries the token (header) or the login cookie; constant-time."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


class TokenMiddleware(BaseHTTPMiddleware):
    """Refuses every request without the token: 401 JSON for the API, the login form for pages."""

    def __init__(self, app, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path in OPEN_PATHS or presented(request, self.token):
            return await call_next(request)
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"error": "this server needs its token",
                                 "hint": "send the header 'Authorization: Bearer TOKEN', or log in at /login"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def login_router(token: str | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(next: str = "/", failed: bool = False) -> str:
        note = '<p role="alert" class="error">That token is not this server\'s.</p>' if failed else ""
        return LOGIN_PAGE.format(next=escape(_local(next)), note=note)

    @router.post("/login")
    def login(token_given: str = Form(alias="token"), next: str = Form("/")) -> Response:
        target = _local(next)
        if token is None:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(token_given.encode(), token.encode()):
            return RedirectResponse(f"/login?failed=1&next={quote(target)}", status_code=303)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")
        return response

    return router


def _local(path: str) -> str:
    """Only a path on this server as the place to go after login (no open redirect). Browsers read
    `\\` as `/` and drop tabs and line breaks, so `/\\evil.example` and `/\\t/evil.example` mean
    `//evil.example`: a path with either after its first `/`, or any control character, goes home."""
    if not path.startswith("/") or path[1:2] in ("/", "\\") or any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "/"
    return path


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>openvid: log in</title><link rel="stylesheet" href="/static/app.css"></head>
<body class="login"><main><h1>openvid</h1>{note}
<form method="post" action="/login"><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}"><button type="submit">Log in</button></form>
<p>The token is the one <code>openvid serve --token</code> was started with.</p></main></body></html>
"""
