"""Input checks and small array helpers for `openvid.vectors.faiss_index`."""

from __future__ import annotations

import numpy as np

from openvid.errors import VideoIndexError

UNIT_TOLERANCE = 1e-2  # |norm - 1| allowed before a vector counts as not normalised


def check_ids(ids, what: str) -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise VideoIndexError(f"{what} must be a 1-d array of integers (int64); got dtype {array.dtype}, shape {array.shape}")
    if array.size and array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
        raise VideoIndexError(f"{what} must fit in int64")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if array.size and array.min() < 0:
        raise VideoIndexError(f"{what} must be >= 0 (-1 means 'no result' in search output); got {sample(array[array < 0])}")
    return array


def check_vectors(vectors, dim: int, what: str, *, allow_1d: bool = False) -> np.ndarray:
    array = np.asarray(vectors)
    if allow_1d and array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != dim:
        raise VideoIndexError(f"{what} must be an n x {dim} array (this index holds {dim}-d vectors; use the encoder "
                              f"it was built with); got shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise VideoIndexError(f"{what} must be numeric (float32); got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not len(array):
        return array
    norms = np.sqrt(np.einsum("ij,ij->i", array, array))  # NaN or inf anywhere in a row shows here
    finite = np.isfinite(norms)
    if not finite.all():
        raise VideoIndexError(f"{what} rows {sample(np.flatnonzero(~finite))} contain NaN or inf; drop or re-encode them")
    bad = np.abs(norms - 1.0) > UNIT_TOLERANCE
    if bad.any():
        rows = np.flatnonzero(bad)
        raise VideoIndexError(f"{what} must be L2-normalised (openvid encoders return unit vectors); rows {sample(rows)} "
                              f"have norms {sample(np.round(norms[rows], 4))}; divide by np.linalg.norm(x, axis=1, "
                              "keepdims=True) first")
    return array / norms[:, None]


def positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VideoIndexError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def isin_sorted(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    if not sorted_array.size or not values.size:
        return np.zeros(values.shape, dtype=bool)
    where = np.minimum(np.searchsorted(sorted_array, values), sorted_array.size - 1)
    return sorted_array[where] == values


def sample(values: np.ndarray, limit: int = 5) -> str:
    items = [str(v) for v in np.asarray(values).ravel()[:limit].tolist()]
    more = f" and {values.size - limit} more" if values.size > limit else ""
    return "[" + ", ".join(items) + "]" + more


def clean(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's outputs as float32 / int64 with score -inf wherever the id is -1 (FAISS pads with -FLT_MAX)."""
    scores, ids = np.asarray(scores, dtype=np.float32), np.asarray(ids, dtype=np.int64)
    missing = ids < 0
    if missing.any():
        scores[missing] = -np.inf
    return scores, ids


def padding(rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((rows, k), -np.inf, dtype=np.float32), np.full((rows, k), -1, dtype=np.int64)


def pad_to(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if scores.shape[1] >= k:
        return scores[:, :k], ids[:, :k]
    out_scores, out_ids = padding(len(scores), k)
    out_scores[:, : scores.shape[1]], out_ids[:, : ids.shape[1]] = scores, ids
    return out_scores, out_ids


class SideStore:
    """Exact float32 copies of the vectors, with their ids, for index types whose FAISS storage is
    lossy. Appends are kept as parts and joined on the next read, so many small adds stay linear."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._parts = [(ids, vectors)]
        self._order: np.ndarray | None = None

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._parts.append((ids, vectors))
        self._order = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._parts) > 1:
            self._parts = [(np.concatenate([p[0] for p in self._parts]), np.concatenate([p[1] for p in self._parts]))]
        return self._parts[0]

    def remove(self, ids: np.ndarray) -> None:
        stored, vectors = self.arrays()
        keep = ~np.isin(stored, ids)
        self._parts, self._order = [(stored[keep], vectors[keep])], None

    def take(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of ``ids`` (all present)."""
        stored, vectors = self.arrays()
        if self._order is None:
            self._order = np.argsort(stored, kind="stable")
        return np.asarray(vectors[self._order[np.searchsorted(stored, ids, sorter=self._order)]])
