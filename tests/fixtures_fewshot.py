"""Fixtures for few-shot examples: an ExampleStore on a fresh home, a small taxonomy, unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from openvid.store import ExampleStore

ENC_A = "clip:tiny-a|video"
ENC_B = "clip:tiny-b|video"


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """n float32 unit vectors of dimension dim, fixed by seed."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def examples(store):
    """An ExampleStore on the same database as `store`, with taxonomy "sports": pole vault, archery, rowing."""
    store.create("sports")
    for name in ("pole vault", "archery", "rowing"):
        store.add_label("sports", name)
    return ExampleStore(store.engine)


def synthetic_task(seed: int = 0, labels: int = 12, dim: int = 64, shots: int = 4, queries: int = 25,
                   text_noise: float = 1.0, clip_noise: float = 1.0):
    """A world where text prototypes are noisy but clips cluster by class.

    Class centres share a direction; clips and texts each sit on their own offset (the modality
    gap), so clip-clip cosines are high and clip-text cosines low, as with CLIP. Returns
    (text [L, d], examples [L*shots, d], example labels, queries [L*queries, d], query labels).
    """
    rng = np.random.default_rng(seed)

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    centres = unit(unit(rng.normal(size=dim)) + 0.8 * unit(rng.normal(size=(labels, dim))))
    clip_gap, text_gap = 1.5 * unit(rng.normal(size=(2, dim)))
    text = unit(centres + text_gap + text_noise * unit(rng.normal(size=(labels, dim))))

    def clips(per_label):
        y = np.repeat(np.arange(labels), per_label)
        return unit(centres[y] + clip_gap + clip_noise * unit(rng.normal(size=(len(y), dim)))).astype(np.float32), y

    examples, example_labels = clips(shots)
    query, query_labels = clips(queries)
    return text.astype(np.float32), examples, example_labels, query, query_labels
