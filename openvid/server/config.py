"""What a server is told at start: who may use it, what it may read, how big an upload may be."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from openvid.errors import UsageError, opt

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8750
DEFAULT_UPLOAD_LIMIT = 500 * 1024 * 1024  # bytes


@dataclass(frozen=True)
class ServeConfig:
    """`token`: required from every client when set (header `Authorization: Bearer T` or the login
    cookie); `allow_roots`: folders the page may start indexing jobs under (none: no jobs from the
    web); `upload_limit`: bytes one upload may have (larger ones get 413)."""

    token: str | None = None
    allow_roots: tuple[Path, ...] = ()
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    host: str = DEFAULT_HOST

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow_roots", tuple(Path(r).expanduser().resolve() for r in self.allow_roots))
        if self.upload_limit < 1:
            raise UsageError(f"{opt('upload_limit')} must be at least 1 byte")
        for root in self.allow_roots:
            if not root.is_dir():
                raise UsageError(f"{opt('allow_root', str(root))} is not a folder")
        if self.token is not None and not self.token.strip():
            raise UsageError(f"{opt('token')} must not be empty")
        if not is_loopback(self.host) and not self.token:
            raise UsageError(f"binding {self.host} (not loopback) lets other machines in: give {opt('token')} "
                             "(or OPENVID_TOKEN) so that only people with it can use the server")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses other machines cannot reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
