"""Few-shot examples: embedding example clips and keeping them per encoder.

An example is one clip (a file, or a time range of it), embedded the way classification sees
videos: cut into the encoder's windows, one unit vector per window, and the example's vector is
the normalised mean of those. Examples are stored per encoder identity with their source
reference, so switching encoders re-embeds them from the files (`sync`), and reports the ones
whose files are gone.

What classification uses of them is `openvid.fewshot.state`; fitting the probe and tuning the
cache is `openvid.fewshot.fit`; the math is `openvid.scoring.adapters`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from openvid.errors import MediaError, UsageError
from openvid.media.clip_ref import describe, parse_clip_ref

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.store.examples import ExampleRecord, ExampleStore


@dataclass
class SyncReport:
    """What bringing a taxonomy's examples to the current encoder did."""

    encoder: str
    re_embedded: list[str] = field(default_factory=list)  # "label: file@a-b"
    missing: list[str] = field(default_factory=list)  # "label: file@a-b (why)": could not be re-embedded


def example_vector(window_vectors: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """An example's unit vector from its windows' vectors: their normalised mean."""
    mean = np.asarray(window_vectors, np.float64).mean(axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def embed_example(ctx: "RunContext", path: str, start_s: float | None, end_s: float | None) -> np.ndarray:
    """The example's unit vector (`example_vector` of its windows, as classification sees them)."""
    return example_vector(ctx.encoder.encode_video(list(ctx.range_clips(path, start_s, end_s))))


@dataclass
class ExamplesAdded:
    """What `add_examples` stored, and what the user should hear about it.

    `created_label`: the label did not exist and was made for these examples; `similar_labels`:
    existing labels spelled like it (a typo is the usual reason for a new label). Iterating gives
    the stored records, as the plain list this used to be did.
    """

    taxonomy: str
    label: str
    encoder: str
    records: list["ExampleRecord"]
    created_label: bool = False
    similar_labels: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator["ExampleRecord"]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def warnings(self) -> list[str]:
        """A new label made for these examples, and the close existing one(s) it may be a typo of."""
        if not self.created_label:
            return []
        message = f"created label {self.label!r} in {self.taxonomy!r} (it did not exist)"
        if self.similar_labels:
            close = " or ".join(repr(name) for name in self.similar_labels)
            message += (f"; did you mean {close}? To undo: `openvid taxonomy remove-label {self.taxonomy} "
                        f"{self.label!r}` (its examples go with it)")
        return [message]


def add_examples(ctx: "RunContext", taxonomy: str, label: str, refs: Sequence[str]) -> ExamplesAdded:
    """Embed every clip first, then store them all in one transaction (nothing if one fails).

    A label that does not exist yet is created in that same transaction (no prompts of its own: the
    taxonomy's templates filled with its name still give it a text prototype), and the result says
    so, with the existing labels spelled like it.
    """
    from openvid.store.models import close_matches

    if not refs:
        raise UsageError("name at least one example clip: FILE or FILE@START-END")
    spec = ctx.taxonomies.get(taxonomy, install=False)  # unknown taxonomy: fail before any decoding
    names = [existing.name for existing in spec.labels]
    new_label = label not in names
    if new_label:
        ctx.taxonomies.check_editable(taxonomy)  # a built-in gets no new labels: fail before decoding too
    items = []
    for ref in refs:
        path, start, end = parse_clip_ref(str(ref))
        path = str(Path(path).expanduser().resolve())
        items.append((path, start, end, embed_example(ctx, path, start, end)))
    with ctx.taxonomies.transaction() as tx:
        names = [existing.name for existing in tx.get(taxonomy).labels]  # again: another process may have added it
        new_label = label not in names
        if new_label:
            tx.add_label(taxonomy, label)
        records = tx.examples.add(taxonomy, label, ctx.encoder.identity, items)
    similar = close_matches(label, names) if new_label else []
    return ExamplesAdded(taxonomy, label, ctx.encoder.identity, records, new_label, similar)


def sync(ctx: "RunContext", taxonomy: str) -> SyncReport:
    """Give every stored example a vector under the current encoder, re-embedding from its file."""
    store: "ExampleStore" = ctx.examples
    identity = ctx.encoder.identity
    report = SyncReport(identity)
    pending: dict[str, list] = {}
    for source in store.sources(taxonomy):
        if identity in source.encoders:
            continue
        name = f"{source.label}: {describe(source.source_path, source.start_s, source.end_s)}"
        try:
            vector = embed_example(ctx, source.source_path, source.start_s, source.end_s)
        except MediaError as exc:
            report.missing.append(f"{name} ({exc.reason})")
            continue
        pending.setdefault(source.label, []).append((source.source_path, source.start_s, source.end_s, vector))
        report.re_embedded.append(name)
    if pending:
        with ctx.taxonomies.transaction() as tx:  # every label's re-embedded clips, or none
            for label, items in pending.items():
                tx.examples.add(taxonomy, label, identity, items)
    return report


def sync_warnings(report: SyncReport) -> list[str]:
    """The warning a classification prints when some examples could not be brought to its encoder."""
    if not report.missing:
        return []
    return [f"{len(report.missing)} example(s) could not be re-embedded for {report.encoder} and are left out: "
            + "; ".join(report.missing)]


__all__ = ["ExamplesAdded", "SyncReport", "add_examples", "describe", "embed_example", "example_vector", "sync", "sync_warnings"]
