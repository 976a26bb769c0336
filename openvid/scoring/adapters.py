"""Few-shot classes from example clips: a training-free example cache, and a fitted linear probe.

Both work on unit vectors in the encoder's space and start from the zero-shot text prototypes
T [L, d] (a label's normalised mean prompt vector, `encoders.base.label_matrix`), so a label
with no examples keeps its text-only behaviour and one example already helps. Queries Q [n, d]
and examples E [m, d] are L2-normalised here (cheap, and a whole-video example may be a mean of
segment vectors); y [m] are the examples' label indices into T's rows; s is the encoder's logit
scale (CLIP: 100).

Cache (Tip-Adapter: Zhang et al., "Tip-Adapter: Training-free Adaption of CLIP for Few-shot
Classification", ECCV 2022, arXiv:2207.09519; code github.com/gaopengcuhk/Tip-Adapter, whose
`tip_logits = 100. * f @ clip_weights + alpha * exp(-beta * (1 - f @ cache_keys)) @ cache_values`
this follows)::

    affinity A      = exp(-beta * (1 - Q @ E.T))      [n, m]   1 - cos lies in [0, 2]
    cache logits C  = A @ onehot(y, L)                [n, L]   a label's column sums its examples
    logits          = s * (Q @ T.T) + alpha * C
    probabilities   = softmax(logits)

As in the reference code, only the text term carries the logit scale: the cache term is in its
own units (an example adds at most 1, when the query equals it) and alpha weighs it; beta sets how
fast an example's vote falls with distance. A label without examples has a zero column of C, so
its logit is exactly its zero-shot one. Defaults: alpha = 1.0, beta = 5.5 (`TaxonomySettings`'s,
the usual Tip-Adapter starting point). They were chosen for CLIP image features; video encoders
differ, so `tune_alpha_beta` picks both per taxonomy by leave-one-out over the examples, on a
grid up to alpha 32 and beta 17 (alpha 0, text alone, included).

Linear probe (the text-initialised linear classifier of LP++ (Huang et al., CVPR 2024) and of
CLIP-Adapter-style residual tuning, without their extra terms)::

    logits = s * (Q @ W.T + b')       stored as  s * (Q @ W.T) + b,  b = s * b'

W starts at T and b' at 0 (so an unfitted probe *is* zero-shot). Only the rows of labels that have
examples are fitted, by full-batch L-BFGS (strong-Wolfe line search, at most PROBE_STEPS
iterations, float64, one thread; nothing random, so a fit gives the same bytes every time) on

    mean cross-entropy over the examples (softmax over the labels that have examples)
    + weight_decay / 2 * (||W_S - T_S||^2 + ||b'_S||^2)

The decay pulls toward the text prototypes rather than toward 0, so few examples move a label
only a little. The training softmax leaves out the text-only labels: the examples say nothing
about them, and including them would only teach every fitted label to outscore them. Their rows
stay T and their bias 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from openvid.errors import OpenvidError, UsageError
from openvid.scoring.zero_shot import softmax

DEFAULT_ALPHA = 1.0
DEFAULT_BETA = 5.5
ALPHA_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""alpha 0 is text alone: cross-validation may say the examples do not help."""
BETA_GRID: tuple[float, ...] = (1.0, 2.0, 3.5, 5.5, 8.0, 12.0, 17.0)

MIN_EXAMPLES_PER_LABEL = 2
"""A probe needs this many examples of every label that has any: one example cannot say which of
its directions matter, and the cache already uses single examples well."""
MIN_LABELS_WITH_EXAMPLES = 2
"""A probe needs examples of at least this many labels: its training softmax is over them."""
PROBE_WEIGHT_DECAY = 1.0
PROBE_STEPS = 100


@dataclass(frozen=True)
class FewShotScores:
    """Logits [n, L] and their softmax over the labels."""

    logits: np.ndarray
    probs: np.ndarray


@dataclass(frozen=True, eq=False)
class Probe:
    """A linear classifier over L labels: logits = logit_scale * (Q @ weight.T) + bias.

    weight [L, d] and bias [L] are float32, exactly as stored; `meta` says how it was fitted
    (JSON-serialisable).
    """

    weight: np.ndarray
    bias: np.ndarray
    logit_scale: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        weight = np.ascontiguousarray(self.weight, np.float32)
        bias = np.ascontiguousarray(self.bias, np.float32).reshape(-1)
        if weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise OpenvidError(f"a probe needs weight [labels, dim] and bias [labels]; got {weight.shape} and "
                               f"{bias.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "logit_scale", float(self.logit_scale))

    @property
    def n_labels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def dim(self) -> int:
        return int(self.weight.shape[1])

    def scores(self, queries: np.ndarray) -> FewShotScores:
        """Logits and probabilities for query vectors [n, d] (or one [d])."""
        q = _unit(queries, "query vectors")
        if q.shape[1] != self.dim:
            raise OpenvidError(f"query vectors have dimension {q.shape[1]}, the probe {self.dim}; it was fitted "
                               "with another encoder: fit it again for this one")
        logits = self.logit_scale * (q @ self.weight.astype(np.float64).T) + self.bias.astype(np.float64)
        return FewShotScores(logits, softmax(logits, axis=1))


@dataclass(frozen=True)
class Tuning:
    """The (alpha, beta) leave-one-out cross-validation chose, and the whole table it chose from.

    accuracy: top-1 over the held-out examples at the chosen point; text_only_accuracy: the same
    examples scored by the text prototypes alone. table: one row per grid point (alpha, beta,
    accuracy, nll = mean negative log-likelihood of the true label, the tie-breaker).
    """

    alpha: float
    beta: float
    accuracy: float
    text_only_accuracy: float
    n_examples: int
    n_queries: int
    table: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "accuracy": self.accuracy,
                "text_only_accuracy": self.text_only_accuracy, "n_examples": self.n_examples,
                "n_queries": self.n_queries, "table": [dict(row) for row in self.table]}


# ---- the cache ----------------------------------------------------------------------------------


@dataclass
class FewShot:
    """A taxonomy's examples for this encoder, aligned to the scored labels, and its probe if fitted.

    With a probe, a segment's logits are the probe's; otherwise s·cosine plus the Tip-Adapter cache
    term alpha·Σ exp(-beta·(1 - cos(query, example))) per label (this module).
    """

    examples: np.ndarray  # E [m, d], unit
    example_labels: np.ndarray  # y [m], indices into the classifier's labels
    alpha: float
    beta: float
    probe: "Probe | None" = None

    def logits(self, cosine: np.ndarray, video: np.ndarray, logit_scale: float) -> np.ndarray:
        if self.probe is not None:
            return self.probe.scores(video).logits
        logits = logit_scale * np.asarray(cosine, np.float64)
        if self.alpha and len(self.example_labels):
            logits = logits + self.alpha * cache_logits(video, self.examples, self.example_labels,
                                                        logits.shape[1], self.beta)
        return logits


def align_examples(example_names: Sequence[str], vectors: np.ndarray,
                   labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(E, y, left out): the examples whose label is among `labels` (the labels being scored, in
    score order), with y their indices into `labels`; and the names of labels whose examples were
    left out (disabled or parent labels, which are not scored), sorted. Keeps the examples' order."""
    index = {name: i for i, name in enumerate(labels)}
    keep = [i for i, name in enumerate(example_names) if name in index]
    left_out = sorted({name for name in example_names if name not in index})
    array = np.asarray(vectors, np.float32)
    if not keep:
        return np.zeros((0, array.shape[1] if array.ndim == 2 else 0), np.float32), np.zeros(0, np.int64), left_out
    return array[keep], np.array([index[example_names[i]] for i in keep], np.int64), left_out



def cache_logits(queries: np.ndarray, examples: np.ndarray, example_labels: Sequence[int], n_labels: int,
                 beta: float = DEFAULT_BETA) -> np.ndarray:
    """C = exp(-beta * (1 - Q @ E.T)) @ onehot(y) [n, L]: each label's summed example affinity."""
    q = _unit(queries, "query vectors")
    e, y = _examples(examples, example_labels, n_labels, q.shape[1])
    if not len(y):
        return np.zeros((q.shape[0], n_labels))
    affinity = np.exp(-float(beta) * (1.0 - q @ e.T))
    return affinity @ _onehot(y, n_labels)


def cache_scores(queries: np.ndarray, text: np.ndarray, examples: np.ndarray, example_labels: Sequence[int],
                 logit_scale: float, alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA) -> FewShotScores:
    """Tip-Adapter scores: softmax(s * Q @ T.T + alpha * C) (see the module docstring).

    With no examples (E of shape [0, d]) or alpha 0 this is exactly zero-shot.
    """
    t = _unit(text, "text prototypes")
    q = _unit(queries, "query vectors")
    _same_dim(q, t)
    logits = float(logit_scale) * (q @ t.T)
    if alpha:
        logits = logits + float(alpha) * cache_logits(q, examples, example_labels, t.shape[0], beta)
    return FewShotScores(logits, softmax(logits, axis=1))


def tune_alpha_beta(examples: np.ndarray, example_labels: Sequence[int], text: np.ndarray, logit_scale: float,
                    alphas: Sequence[float] = ALPHA_GRID, betas: Sequence[float] = BETA_GRID) -> Tuning:
    """Choose (alpha, beta) by leave-one-out over the examples: each is scored, over all L labels,
    with a cache built from the others; the best top-1 wins, ties broken by the lower mean negative
    log-likelihood, then by the earlier grid point.

    The held-out examples are those whose label has at least two: a label's only example, held out,
    leaves its label no cache to be found by, which would measure nothing but the other labels'
    pull (it still sits in the cache for the others). Raises OpenvidError when no label has two.
    """
    t = _unit(text, "text prototypes")
    e, y = _examples(examples, example_labels, t.shape[0], t.shape[1])
    counts = np.bincount(y, minlength=t.shape[0])
    held = np.flatnonzero(counts[y] >= 2)
    if not len(held):
        raise OpenvidError(f"choosing alpha and beta needs at least 2 examples of some label (has {len(y)} "
                           "example(s), no label with 2); add more examples, or keep the defaults "
                           f"(alpha {DEFAULT_ALPHA}, beta {DEFAULT_BETA})")
    if not alphas or not betas:
        raise UsageError("the alpha and beta grids must each have at least one value")
    text_logits = float(logit_scale) * (e[held] @ t.T)
    truth = y[held]
    cosine = e[held] @ e.T
    onehot = _onehot(y, t.shape[0])
    table: list[dict[str, float]] = []
    text_accuracy = float(np.mean(text_logits.argmax(axis=1) == truth))
    for beta in betas:
        affinity = np.exp(-float(beta) * (1.0 - cosine))
        affinity[np.arange(len(held)), held] = 0.0  # leave the example itself out of its own cache
        cache = affinity @ onehot
        for alpha in alphas:
            logits = text_logits + float(alpha) * cache
            accuracy = float(np.mean(logits.argmax(axis=1) == truth))
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            nll = float(-log_probs[np.arange(len(truth)), truth].mean())
            table.append({"alpha": float(alpha), "beta": float(beta), "accuracy": accuracy, "nll": nll})
    best = min(range(len(table)), key=lambda i: (-table[i]["accuracy"], table[i]["nll"], i))
    row = table[best]
    return Tuning(alpha=row["alpha"], beta=row["beta"], accuracy=row["accuracy"], text_only_accuracy=text_accuracy,
                  n_examples=len(y), n_queries=len(held), table=table)


# ---- the probe ----------------------------------------------------------------------------------


def check_probe_examples(example_labels: Sequence[int], n_labels: int, labels: Sequence[str] | None = None) -> None:
    """Raise OpenvidError, naming the labels short of examples, unless a probe can be fitted:
    MIN_EXAMPLES_PER_LABEL of every label that has any, and MIN_LABELS_WITH_EXAMPLES such labels."""
    y = np.asarray(example_labels, np.int64).reshape(-1)
    counts = np.bincount(y, minlength=n_labels) if len(y) else np.zeros(n_labels, np.int64)
    names = list(labels) if labels is not None else [f"#{i}" for i in range(n_labels)]
    short = [i for i in range(n_labels) if 0 < counts[i] < MIN_EXAMPLES_PER_LABEL]
    if short:
        listed = ", ".join(f"{names[i]!r} ({counts[i]})" for i in short)
        raise OpenvidError(f"fitting a probe needs at least {MIN_EXAMPLES_PER_LABEL} examples of every label that has "
                           f"any; short: {listed}. Add examples of these labels (or remove their single ones); the "
                           "example cache already uses them as they are")
    with_examples = int(np.count_nonzero(counts))
    if with_examples < MIN_LABELS_WITH_EXAMPLES:
        have = ", ".join(repr(names[i]) for i in np.flatnonzero(counts)) or "none"
        raise OpenvidError(f"fitting a probe needs examples of at least {MIN_LABELS_WITH_EXAMPLES} labels; labels with "
                           f"examples: {have}. Add examples of another label first")


def fit_probe(examples: np.ndarray, example_labels: Sequence[int], text: np.ndarray, logit_scale: float, *,
              labels: Sequence[str] | None = None, weight_decay: float = PROBE_WEIGHT_DECAY,
              steps: int = PROBE_STEPS) -> Probe:
    """Fit the text-initialised linear probe (module docstring) on examples E [m, d] with labels y.

    `labels` (names of T's rows) only make errors readable. Deterministic: the same inputs give the
    same bytes. Raises OpenvidError (see `check_probe_examples`) when examples are too few.
    """
    import torch  # here, so the store and the cache never import torch

    t = _unit(text, "text prototypes")
    e, y = _examples(examples, example_labels, t.shape[0], t.shape[1])
    check_probe_examples(y, t.shape[0], labels)
    if weight_decay <= 0 or steps < 1:
        raise UsageError(f"weight_decay must be above 0 and steps at least 1; got {weight_decay}, {steps}")
    fitted = np.flatnonzero(np.bincount(y, minlength=t.shape[0]))  # rows S, in label order
    remap = np.full(t.shape[0], -1, np.int64)
    remap[fitted] = np.arange(len(fitted))
    scale = float(logit_scale)
    with torch.no_grad():
        features = torch.from_numpy(e)
        target = torch.from_numpy(remap[y])
        init = torch.from_numpy(t[fitted].copy())
    weight = init.clone().requires_grad_(True)
    bias = torch.zeros(len(fitted), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=int(steps), history_size=20,
                                  tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        logits = scale * (features @ weight.T + bias)
        return torch.nn.functional.cross_entropy(logits, target) + \
            0.5 * weight_decay * (((weight - init) ** 2).sum() + (bias ** 2).sum())

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same bytes whatever the machine's thread count; small problems run faster too
    try:
        optimizer.step(closure)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        loss = float(objective())
        train_accuracy = float(((scale * (features @ weight.T + bias)).argmax(dim=1) == target).double().mean())
        out_weight = t.copy()
        out_weight[fitted] = weight.numpy()
        out_bias = np.zeros(t.shape[0])
        out_bias[fitted] = scale * bias.numpy()
    iterations = int(optimizer.state[weight].get("n_iter", 0))
    meta = {"method": "linear-probe", "optimizer": "lbfgs", "steps": int(steps), "iterations": iterations,
            "weight_decay": float(weight_decay), "loss": loss, "train_accuracy": train_accuracy,
            "n_examples": len(y), "labels_fitted": len(fitted)}
    return Probe(out_weight, out_bias, scale, meta)


def probe_scores(probe: Probe, queries: np.ndarray) -> FewShotScores:
    """Logits and probabilities of the probe for query vectors [n, d]."""
    return probe.scores(queries)


# ---- helpers ------------------------------------------------------------------------------------


def _unit(vectors: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(vectors, np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not np.all(np.isfinite(array)):
        raise OpenvidError(f"{what} must be a finite [n, dim] array; got shape {np.shape(vectors)}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise OpenvidError(f"{what} include an all-zero vector, which has no direction; embed the clip again")
    return array / norms


def _examples(examples: np.ndarray, example_labels: Sequence[int], n_labels: int,
              dim: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(example_labels).reshape(-1)
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise OpenvidError(f"example labels must be integer label indices; got {y.dtype}")
    y = y.astype(np.int64)
    array = np.asarray(examples, np.float64)
    if array.size == 0 and not len(y):
        return np.zeros((0, dim)), y
    e = _unit(array, "example vectors")
    if e.shape[0] != len(y):
        raise OpenvidError(f"{e.shape[0]} example vectors but {len(y)} example labels; give one label per example")
    if e.shape[1] != dim:
        raise OpenvidError(f"example vectors have dimension {e.shape[1]}, the text prototypes {dim}: they come from "
                           "different encoders; embed the examples with the encoder that scores")
    if len(y) and (y.min() < 0 or y.max() >= n_labels):
        raise OpenvidError(f"example label indices must lie in 0..{n_labels - 1}; got {y.min()}..{y.max()}")
    return e, y


def _onehot(y: np.ndarray, n_labels: int) -> np.ndarray:
    out = np.zeros((len(y), n_labels))
    out[np.arange(len(y)), y] = 1.0
    return out


def _same_dim(q: np.ndarray, t: np.ndarray) -> None:
    if q.shape[1] != t.shape[1]:
        raise OpenvidError(f"query vectors have dimension {q.shape[1]}, the text prototypes {t.shape[1]}: they come "
                           "from different encoders")


__all__ = [
    "ALPHA_GRID",
    "BETA_GRID",
    "DEFAULT_ALPHA",
    "FewShot",
    "DEFAULT_BETA",
    "MIN_EXAMPLES_PER_LABEL",
    "MIN_LABELS_WITH_EXAMPLES",
    "PROBE_STEPS",
    "PROBE_WEIGHT_DECAY",
    "FewShotScores",
    "Probe",
    "Tuning",
    "align_examples",
    "cache_logits",
    "cache_scores",
    "check_probe_examples",
    "fit_probe",
    "probe_scores",
    "tune_alpha_beta",
]
