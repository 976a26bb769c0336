"""Few-shot classes for the engine: embedding example clips, keeping them per encoder, fitting.

An example is one clip (a file, or a time range of it), embedded the way classification sees
videos: cut into the encoder's windows, one unit vector per window, and the example's vector is
the normalised mean of those. Examples are stored per encoder identity with their source
reference, so switching encoders re-embeds them from the files (`sync`), and reports the ones
whose files are gone.

Scoring with them is `openvid.classify.FewShot` (the Tip-Adapter cache, or the fitted probe);
the math is `openvid.scoring.fewshot`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from openvid.classify import FewShot
from openvid.errors import MediaError, OpenvidError, TaxonomyError
from openvid.media import Clip, load_clip, probe
from openvid.search import parse_clip_ref

if TYPE_CHECKING:  # pragma: no cover
    from openvid.engine import Engine
    from openvid.store.examples import ExampleRecord, ExampleStore
    from openvid.store.models import Taxonomy


@dataclass
class SyncReport:
    """What bringing a taxonomy's examples to the current encoder did."""

    encoder: str
    re_embedded: list[str] = field(default_factory=list)  # "label: file@a-b"
    missing: list[str] = field(default_factory=list)  # "label: file@a-b (why)": could not be re-embedded


@dataclass
class FitReport:
    """What `fewshot fit` did: the tuned cache weights and the fitted probe."""

    taxonomy: str
    encoder: str
    examples: int
    labels_with_examples: list[str]
    alpha: float
    beta: float
    tuning: dict[str, Any]
    probe: dict[str, Any]
    sync: SyncReport | None = None


def describe(path: str, start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return path
    return f"{path}@{'' if start is None else f'{start:g}'}-{'' if end is None else f'{end:g}'}"


def range_clips(engine: "Engine", path: str, start_s: float | None, end_s: float | None) -> Iterator[Clip]:
    """The encoder's windows over [start_s, end_s] of a video, each decoded with `load_clip`.

    A range outside the video is a MediaError naming its duration (raised before anything is yielded).
    """
    encoder = engine.encoder
    window = engine.settings.window_s or encoder.window_s
    duration = probe(path).duration_s
    start = 0.0 if start_s is None else float(start_s)
    end = duration if end_s is None else min(float(end_s), duration)
    if start < 0 or start >= duration or end <= start:
        shown = f"{start:g}-{'' if end_s is None else f'{end_s:g}'}"
        raise MediaError(path, f"the range {shown} s is outside the video, which lasts {duration:.2f} s; pick a range "
                               f"within 0-{duration:.2f} s")
    count = max(1, math.ceil((end - start) / window - 1e-9))
    bounds = [(start + i * window, min(start + (i + 1) * window, end)) for i in range(count)]

    def clips() -> Iterator[Clip]:
        for index, (a, b) in enumerate(bounds):
            clip = load_clip(path, a, b, encoder.frames_per_clip, short_side=encoder.resize_to,
                             backend=engine.settings.decoder)
            clip.index = index
            yield clip

    return clips()


def example_vector(window_vectors: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """An example's unit vector from its windows' vectors: their normalised mean."""
    mean = np.asarray(window_vectors, np.float64).mean(axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def embed_example(engine: "Engine", path: str, start_s: float | None, end_s: float | None) -> np.ndarray:
    """The example's unit vector (`example_vector` of its windows, as classification sees them)."""
    return example_vector(engine.encoder.encode_video(list(range_clips(engine, path, start_s, end_s))))


def add_examples(engine: "Engine", taxonomy: str, label: str, refs: Sequence[str]) -> list["ExampleRecord"]:
    """Embed every clip first, then store them all in one transaction (nothing if one fails).

    A label that does not exist yet is created (no prompts of its own: the taxonomy's templates
    filled with its name still give it a text prototype).
    """
    if not refs:
        raise OpenvidError("name at least one example clip: FILE or FILE@START-END")
    spec = engine.taxonomies.get(taxonomy)  # unknown taxonomy: fail before any decoding
    items = []
    for ref in refs:
        path, start, end = parse_clip_ref(str(ref))
        path = str(Path(path).expanduser().resolve())
        items.append((path, start, end, embed_example(engine, path, start, end)))
    new_label = label not in {existing.name for existing in spec.labels}
    if new_label:
        engine.taxonomies.add_label(taxonomy, label)
    try:
        return engine.examples.add(taxonomy, label, engine.encoder.identity, items)
    except (OpenvidError, TaxonomyError):
        if new_label:  # undo the label made for them
            engine.taxonomies.remove_label(taxonomy, label)
        raise


def sync(engine: "Engine", taxonomy: str) -> SyncReport:
    """Give every stored example a vector under the current encoder, re-embedding from its file."""
    store: "ExampleStore" = engine.examples
    identity = engine.encoder.identity
    report = SyncReport(identity)
    pending: dict[str, list] = {}
    for source in store.sources(taxonomy):
        if identity in source.encoders:
            continue
        name = f"{source.label}: {describe(source.source_path, source.start_s, source.end_s)}"
        try:
            vector = embed_example(engine, source.source_path, source.start_s, source.end_s)
        except MediaError as exc:
            report.missing.append(f"{name} ({exc.reason})")
            continue
        pending.setdefault(source.label, []).append((source.source_path, source.start_s, source.end_s, vector))
        report.re_embedded.append(name)
    for label, items in pending.items():
        store.add(taxonomy, label, identity, items)
    return report


def state(engine: "Engine", spec: "Taxonomy", labels: Sequence[str], warnings: list[str]) -> FewShot | None:
    """The examples and probe classification uses for `spec` under the current encoder (None: none)."""
    from openvid.scoring.fewshot import align_examples

    identity = engine.encoder.identity
    names, vectors = engine.examples.vectors(spec.name, identity)
    if not names:
        return None
    examples, example_labels, left_out = align_examples(names, vectors, labels)
    if left_out:
        warnings.append(f"examples of {', '.join(left_out)} are not used: those labels are disabled or are parents")
    probe = None
    stored = engine.examples.load_probe(spec.name, identity)
    if stored is not None:
        # The probe depends on the labels and their prompts (its text-initialised rows), not on
        # settings: a settings edit bumps the version but leaves a probe valid.
        same_text = stored.labels == list(labels) and stored.meta.get("prompts_sha") == prompts_digest(spec, labels)
        stale = None if same_text else stored.stale_reason(labels, spec.version)
        if stale:
            warnings.append(f"the fitted probe of {spec.name!r} is not used: {stale}; run `openvid fewshot fit "
                            f"{spec.name}` again (the example cache is used meanwhile)")
        else:
            probe = stored.probe
    return FewShot(examples, example_labels, spec.settings.fewshot_alpha, spec.settings.fewshot_beta, probe)


def prompts_digest(spec: "Taxonomy", labels: Sequence[str]) -> str:
    """A digest of the scored labels' prompts: what a fitted probe's text rows were made from."""
    from openvid.scoring.zero_shot import label_prompts

    by_name = {label.name: label for label in spec.labels}
    groups = [label_prompts(by_name[name], spec.templates) for name in labels]
    return hashlib.sha1(json.dumps(groups, ensure_ascii=False).encode()).hexdigest()[:16]


def fit(engine: "Engine", taxonomy: str, *, tune: bool = True) -> FitReport:
    """Tune alpha/beta by leave-one-out (stored as taxonomy settings), fit and store the probe."""
    from openvid.classify import TaxonomyClassifier
    from openvid.encoders.base import label_matrix
    from openvid.scoring.fewshot import align_examples, fit_probe, tune_alpha_beta

    report_sync = sync(engine, taxonomy)
    spec = engine.taxonomies.get(taxonomy)
    classifier = TaxonomyClassifier(engine.encoder, spec, engine.text_features)
    labels = classifier.labels
    names, vectors = engine.examples.vectors(taxonomy, engine.encoder.identity)
    examples, example_labels, _ = align_examples(names, vectors, labels)
    if not len(example_labels):
        raise OpenvidError(f"taxonomy {taxonomy!r} has no examples for this encoder; add some with "
                           f"`openvid fewshot add {taxonomy} LABEL FILE...`")
    text = label_matrix(classifier.prompt_groups, engine.text_features)
    scale = engine.encoder.logit_scale
    tuning: dict[str, Any] = {}
    alpha, beta = spec.settings.fewshot_alpha, spec.settings.fewshot_beta
    if tune:
        result = tune_alpha_beta(examples, example_labels, text, scale)
        alpha, beta, tuning = result.alpha, result.beta, result.to_dict()
        spec = engine.taxonomies.update_settings(taxonomy, fewshot_alpha=alpha, fewshot_beta=beta)
    probe = fit_probe(examples, example_labels, text, scale, labels=labels)
    engine.examples.save_probe(taxonomy, engine.encoder.identity, labels, spec.version, probe,
                               meta={"alpha": alpha, "beta": beta, "prompts_sha": prompts_digest(spec, labels)})
    with_examples = sorted({labels[i] for i in example_labels})
    return FitReport(taxonomy, engine.encoder.identity, len(example_labels), with_examples, alpha, beta, tuning,
                     dict(probe.meta), report_sync)


__all__ = ["FitReport", "SyncReport", "add_examples", "embed_example", "example_vector", "fit", "range_clips", "state",
           "sync"]
