"""Where checkpoints come from: the Hugging Face cache, and turning load failures into advice."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Iterator

from openvid.encoders.resolve import ModelRef, pull_hint
from openvid.errors import ModelUnavailable, OpenvidError


def hf_cached(repo_id: str, filenames: list[str]) -> bool:
    """True when the hub cache holds `repo_id`'s config.json (if asked) and any one of the others."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, name), str)

    required = [name for name in filenames if name.endswith(".json")]
    weights = [name for name in filenames if not name.endswith(".json")]
    return all(cached(name) for name in required) and (not weights or any(cached(n) for n in weights))


def local_fingerprint(path: Path) -> str:
    """Short digest of a file's or folder's names, sizes and mtimes: changes when weights change."""
    files = sorted(path.glob("*")) if path.is_dir() else [path]
    digest = hashlib.sha1()
    for file in files:
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def model_load_errors(ref: ModelRef) -> Iterator[None]:
    """Re-raise whatever the library throws while loading as ModelUnavailable with the fix."""
    try:
        yield
    except (ModelUnavailable, OpenvidError):
        raise
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if ref.source == "local":
            hint = "Check that the folder or file is a complete checkpoint (config and weights)."
        else:
            hint = pull_hint(ref)
        raise ModelUnavailable(ref.checkpoint, reason, hint) from exc  # the hint names a registered name
