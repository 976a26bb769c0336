"""The checks an example passes before it is stored, and its vector's bytes back as an array.

Kept apart from `examples.py`: they are pure functions of the values given (no database), shared by
every way in (`ExampleStore.add`, and re-embedding for another encoder).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from openvid.errors import OpenvidError, UsageError

FLOAT32 = np.dtype("<f4")


def check_encoder(encoder: str) -> str:
    if not isinstance(encoder, str) or not encoder.strip():
        raise UsageError("the encoder identity must be non-empty text (the model's `identity`)")
    return encoder


def check_item(item: Any, index: int) -> dict[str, Any]:
    try:
        source_path, start_s, end_s, vector = item
    except (TypeError, ValueError):
        raise UsageError(f"example {index + 1}: give (source_path, start_s, end_s, vector)") from None
    if not isinstance(source_path, str) and hasattr(source_path, "__fspath__"):
        source_path = str(source_path)
    if not isinstance(source_path, str) or not source_path:
        raise UsageError(f"example {index + 1}: the source path must be non-empty text; got {source_path!r}")
    start, end = seconds(start_s, "start", source_path), seconds(end_s, "end", source_path)
    if start is not None and end is not None and not start < end:
        raise UsageError(f"{describe(source_path, start, end)}: the clip must start before it ends")
    array = np.asarray(vector)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number) or \
            not np.all(np.isfinite(array)):
        raise OpenvidError(f"{describe(source_path, start, end)}: the vector has shape {array.shape} ({array.dtype}); "
                           "an example needs one non-empty, finite 1-D vector")
    return {"source_path": source_path, "start_s": start, "end_s": end, "dim": int(array.size),
            "vector": np.ascontiguousarray(array, dtype=FLOAT32).tobytes()}


def seconds(value: Any, what: str, source_path: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{source_path}: the {what} time must be a number of seconds, 0 or more; got {value!r}")
    return seconds


def describe(source_path: str, start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return source_path
    return f"{source_path} [{'' if start is None else f'{start:g}'}-{'' if end is None else f'{end:g}'} s]"


def vector_of(blob: bytes, dim: int) -> np.ndarray:
    if len(blob) != dim * FLOAT32.itemsize:
        raise OpenvidError(f"a stored example vector is damaged ({len(blob)} bytes for dimension {dim}); remove it "
                           "and add the clip again")
    return np.frombuffer(blob, FLOAT32).astype(np.float32)


__all__ = ["FLOAT32", "check_encoder", "check_item", "describe", "seconds", "vector_of"]
