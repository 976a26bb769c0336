"""A text-feature cache in front of an encoder's text tower.

Prompt sets are edited one label at a time and classified again and again; only texts never seen
under the same checkpoint go through the model. Two layers: a dict for the life of the object
(batches of one run), and the store's SQLite table across runs. Keyed by the encoder's identity
and the kind of feature it caches, so a different checkpoint never reuses another's vectors.
"""

from __future__ import annotations

import threading
from typing import Protocol, Sequence

import numpy as np

from openvid.encoders.base import Encoder


class VectorStore(Protocol):
    def get(self, identity: str, texts: list[str]) -> dict[str, np.ndarray]: ...

    def put(self, identity: str, vectors: dict[str, np.ndarray]) -> None: ...


class CachedTextFeatures:
    """Callable like `encoder.text_features`, encoding only what neither layer holds."""

    def __init__(self, encoder: Encoder, store: VectorStore | None = None) -> None:
        self.encoder = encoder
        self.store = store
        self.key = f"{encoder.identity}|{encoder.text_feature_kind}"
        self.memory: dict[str, np.ndarray] = {}
        self.encoded = 0  # texts that went through the model: what tests and --verbose count
        self._lock = threading.Lock()  # one Engine's threads share this cache

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """The lock guards the memory only: the model runs outside it, so a cache hit never waits
        for another thread's text-tower pass (two threads missing the same text may both encode it;
        the vectors are the same)."""
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            missing = [t for t in wanted if t not in self.memory]
        if missing and self.store is not None:
            stored = self.store.get(self.key, missing)
            with self._lock:
                self.memory.update(stored)
            missing = [t for t in missing if t not in stored]
        if missing:
            vectors = np.asarray(self.encoder.text_features(missing), np.float32)
            fresh = dict(zip(missing, vectors))
            with self._lock:
                self.encoded += len(missing)
                self.memory.update(fresh)
            if self.store is not None:
                self.store.put(self.key, fresh)
        if not texts:
            return np.zeros((0, self.encoder.dim), np.float32)
        with self._lock:
            return np.stack([self.memory[t] for t in texts])
