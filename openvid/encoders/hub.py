"""Where checkpoints come from: the Hugging Face cache, whether a download can work, and load failures as advice.

Everything here runs without torch, transformers or open_clip: `openvid models list`, opening an
index (which checks the encoder's identity) and the offline check before a load all use it, so they
answer at once. Three rules:

- **Availability and identity from facts, not from loading.** A shipped family's cache check and
  identity (`is_cached`, `identity_of`) read the hub cache and the registry's data; the family
  modules call these same functions, so there is one implementation of each.
- **Fail in seconds when a download cannot work.** A checkpoint that is not in the cache is
  fetched only after `ensure_downloadable` has seen the hub answer: offline (`HF_HUB_OFFLINE`) or
  with the hub unreachable (a TCP connection within `PROBE_TIMEOUT_S`, name resolution included),
  the load fails at once with one `ModelUnavailable` naming the checkpoint and the two ways out,
  instead of the libraries' minutes of retries and their own (misleading) messages.
- **One message.** While a checkpoint loads, the libraries' logging and warnings are held back
  (`quiet_loading`); what goes wrong becomes one `ModelUnavailable` (`model_load_errors`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import urlparse

from openvid.errors import ModelUnavailable, OpenvidError

if TYPE_CHECKING:  # pragma: no cover
    from openvid.encoders.resolve import ModelRef

PROBE_TIMEOUT_S = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"
XCLIP_FILES = ["config.json", "model.safetensors", "pytorch_model.bin"]
XCLIP_PROCESSOR_FILES = ["preprocessor_config.json", "tokenizer_config.json"]
CLIP_WEIGHT_FILES = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
_QUIET_LOGGERS = ("transformers", "huggingface_hub", "open_clip", "root", "timm")


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


# -- the shipped families' cache checks and identities, without their libraries ----------------------
def local_path(ref: "ModelRef") -> Path:
    """The file or folder a local reference loads: `local-dir:/f`, `ARCH//path/w.pt` or `/path`."""
    checkpoint = ref.checkpoint.removeprefix("local-dir:")
    if Path(checkpoint).exists():
        return Path(checkpoint)
    return Path(ref.checkpoint.partition("/")[2])


def identity_of(ref: "ModelRef") -> str:
    """The encoder identity a reference loads as (`Encoder.identity`): stable for a hub checkpoint;
    for a local folder or file, it changes when its files change."""
    if ref.source != "local":
        return f"{ref.family}:{ref.checkpoint}"
    return f"{ref.family}:{ref.checkpoint}#{local_fingerprint(local_path(ref))}"


def clip_hub_repo(ref: "ModelRef") -> str | None:
    """The hub repository an open_clip reference downloads from; open_clip's table is read (an
    import of torch) only for a tag the registry does not record."""
    if ref.checkpoint.startswith("hf-hub:"):
        return ref.checkpoint[len("hf-hub:"):]
    if ref.spec is not None and ref.spec.hf_hub and ref.spec.checkpoint == ref.checkpoint:
        return ref.spec.hf_hub.strip("/")
    import open_clip

    arch, _, tag = ref.checkpoint.partition("/")
    cfg = open_clip.get_pretrained_cfg(arch, tag) or {}
    return (cfg.get("hf_hub") or "").strip("/") or None


def clip_tokenizer_repo(ref: "ModelRef") -> str:
    """The hub repository of a Hugging Face tokenizer the reference's text tower reads ("" for open_clip's
    bundled BPE, and for `hf-hub:` folders, which carry their tokenizer): the registry's
    `tokenizer_hub`, else open_clip's config for an unregistered architecture."""
    if ref.checkpoint.startswith(("hf-hub:", "local-dir:")):
        return ""
    if ref.spec is not None and ref.spec.checkpoint == ref.checkpoint:
        return ref.spec.tokenizer_hub
    import open_clip

    arch = ref.checkpoint.partition("/")[0]
    return str(((open_clip.get_model_config(arch) or {}).get("text_cfg") or {}).get("hf_tokenizer_name") or "")


def clip_cached(ref: "ModelRef") -> bool:
    if ref.source == "local":
        return True
    repo = clip_hub_repo(ref)
    if repo is None or not hf_cached(repo, CLIP_WEIGHT_FILES):
        return False
    tokenizer = clip_tokenizer_repo(ref)
    return not tokenizer or hf_cached(tokenizer, ["tokenizer_config.json"])


def xclip_cached(ref: "ModelRef") -> bool:
    if ref.source == "local":
        return Path(ref.checkpoint).is_dir()
    return hf_cached(ref.checkpoint, XCLIP_FILES) and hf_cached(ref.checkpoint, XCLIP_PROCESSOR_FILES)


def videoprism_cached(ref: "ModelRef") -> bool:
    """config.json and weights, a tokenizer file and a processor file: what VideoPrismProcessor and
    VideoPrismClipModel read. Which processor and tokenizer files a repository has depends on the
    transformers version that wrote it, so any one of each kind will do."""
    if ref.source == "local":
        return Path(ref.checkpoint).is_dir()
    groups = (["tokenizer.json", "spiece.model"],
              ["processor_config.json", "video_preprocessor_config.json", "preprocessor_config.json"])
    return hf_cached(ref.checkpoint, XCLIP_FILES) and all(
        any(hf_cached(ref.checkpoint, [name]) for name in group) for group in groups)


CACHE_CHECKS: dict[str, Callable[["ModelRef"], bool]] = {
    "clip": clip_cached, "xclip": xclip_cached, "videoprism": videoprism_cached,
}
"""Family -> its cache check, for the shipped families (a plugin family is asked itself)."""


# -- can a download work? ----------------------------------------------------------------------------
def hub_offline() -> bool:
    """HF_HUB_OFFLINE, as huggingface_hub reads it."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "on", "yes", "true")


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when a TCP connection to `url`'s host opens within `timeout` seconds, else why not.

    Name resolution is inside the deadline too (it is not bounded by a socket timeout), so an
    offline machine whose resolver hangs still answers in `timeout` seconds.
    """
    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc.strerror or str(exc) or type(exc).__name__)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def ensure_downloadable(checkpoint: str, url: str, hint: str) -> None:
    """Before a checkpoint missing from the cache is fetched: fail at once when the fetch cannot work."""
    host = urlparse(url).hostname or url
    if hub_offline() and not urlparse(url).scheme.startswith("file"):
        raise ModelUnavailable(checkpoint, "it is not in the local cache, and the hub is switched off "
                               "(HF_HUB_OFFLINE is set)", hint)
    why = unreachable(url)
    if why is not None:
        raise ModelUnavailable(checkpoint, f"it is not in the local cache, and {host} cannot be reached ({why})", hint)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Hold back the libraries' logging (below errors) and warnings while a checkpoint loads: what
    matters reaches the user once, as a ModelUnavailable, not as the libraries' repeated lines."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def model_load_errors(ref: "ModelRef") -> Iterator[None]:
    """Re-raise whatever the library throws while loading as ModelUnavailable with the fix."""
    from openvid.encoders.resolve import pull_hint

    try:
        with quiet_loading():
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
