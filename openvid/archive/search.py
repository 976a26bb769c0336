"""Text (or example-clip) search over a video index: FAISS top hits, merged into moments.

Neighbouring segments of one video that both match are one moment to a person ("the dog
catches the frisbee from 12 s to 20 s"), so hits of the same video that touch or overlap merge,
keeping the best score. With X-CLIP, `rerank` re-scores the top hits with the model's exact
video-conditioned score, which needs the clips themselves: they are decoded again from the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from openvid.archive.video_index import VideoIndex
from openvid.errors import UsageError, opt
from openvid.media.clip_ref import parse_clip_ref
from openvid.results import ToDict
from openvid.store.catalog import Catalog, SegmentRecord

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext

@dataclass
class SearchHit(ToDict):
    """One moment: a time range of one video, scored by its best matching segment."""

    path: str
    start_s: float
    end_s: float
    score: float  # cosine (or the exact re-ranked cosine with --rerank)
    segments: int = 1  # how many indexed segments merged into this moment
    segment_id: int | None = None  # the best-scoring indexed segment of the moment (a `like` query can name it)
    video_id: int | None = None


def merge_moments(hits: Sequence[tuple[SegmentRecord, float]]) -> list[SearchHit]:
    """Merge hits of one video whose time ranges touch or overlap; best score first."""
    by_video: dict[int, list[tuple[SegmentRecord, float]]] = {}
    for record, score in hits:
        by_video.setdefault(record.video_id, []).append((record, score))
    moments: list[SearchHit] = []
    for group in by_video.values():
        group.sort(key=lambda item: item[0].start_s)
        current: SearchHit | None = None
        for record, score in group:
            if current is not None and record.start_s <= current.end_s + 1e-6:
                current.end_s = max(current.end_s, record.end_s)
                if score > current.score:
                    current.score, current.segment_id = score, record.id
                current.segments += 1
            else:
                current = SearchHit(record.path, record.start_s, record.end_s, score, segment_id=record.id,
                                    video_id=record.video_id)
                moments.append(current)
    moments.sort(key=lambda m: -m.score)
    return moments


def search_index(
    index: VideoIndex,
    query: np.ndarray,
    k: int = 10,
    *,
    per_video: bool = False,
    allowed_ids: np.ndarray | None = None,
    rescore=None,
    rerank: int = 0,
    ef_search: int | None = None,
    exclude_ids: np.ndarray | None = None,
    places: Callable[[Catalog, list[int]], dict[int, SegmentRecord]] | None = None,
) -> list[SearchHit]:
    """The top-k moments for a unit query vector.

    `rescore(records) -> scores` (X-CLIP's exact score) re-orders the best `rerank` segments.
    `exclude_ids`: segments never to return (a `like` query's own segment).
    `places(catalog, ids)`: where the hit segments are, as `Catalog.segments` answers (the default);
    a searcher that keeps an index open passes its in-memory table (`openvid.archive.readers`).
    """
    exclude = np.asarray(exclude_ids if exclude_ids is not None else [], np.int64)
    if allowed_ids is not None and len(exclude):
        allowed_ids = np.setdiff1d(allowed_ids, exclude)
    if allowed_ids is not None and not len(allowed_ids):
        return []
    fetch = max(4 * k, rerank, 50) + (len(exclude) if allowed_ids is None else 0)
    search_kwargs = {"allowed_ids": allowed_ids}
    if ef_search:
        search_kwargs["ef_search"] = ef_search
    scores, ids = index.vectors.search(np.asarray(query, np.float32)[None, :], fetch, **search_kwargs)
    pairs = [(i, s) for i, s in zip(ids[0].tolist(), scores[0].tolist()) if i >= 0]
    if len(exclude) and allowed_ids is None:
        dropped = set(exclude.tolist())
        pairs = [(i, s) for i, s in pairs if i not in dropped]
    hit_ids = [i for i, _ in pairs]
    records = places(index.catalog, hit_ids) if places is not None else index.catalog.segments(hit_ids)
    hits = [(records[i], s) for i, s in pairs if i in records]
    if rerank and rescore is not None and hits:
        head, tail = hits[:rerank], hits[rerank:]
        exact = rescore([record for record, _ in head])
        head = sorted(zip([record for record, _ in head], map(float, exact)), key=lambda item: -item[1])
        floor = min(score for _, score in head)
        hits = head + [(record, min(score, floor)) for record, score in tail]  # re-ranked stay on top
    moments = merge_moments(hits)
    if per_video:
        seen, unique = set(), []
        for moment in moments:
            if moment.path not in seen:
                seen.add(moment.path)
                unique.append(moment)
        moments = unique
    return moments[:k]


def search(
    ctx: "RunContext",
    target: VideoIndex,
    query: str | None = None,
    *,
    k: int = 10,
    like: str | None = None,
    per_video: bool = False,
    path_glob: str | None = None,
    min_duration_s: float | None = None,
    taxonomy: str | None = None,
    label: str | None = None,
    rerank: int = 0,
    ef_search: int | None = None,
    include_self: bool = False,
    places: Callable[[Catalog, list[int]], dict[int, SegmentRecord]] | None = None,
) -> list[SearchHit]:
    """Top-k moments of `target` for a text query, or for an example clip (`like="clip.mp4@12-20"`).

    `ctx` carries the index's own encoder and window; the filters narrow the candidates before the
    vector search (path glob, minimum duration, the zero-shot top label under a taxonomy).

    A `like` clip that is itself indexed would find itself first, at a score of about 1: its own
    segments (those of the same file, or of an indexed copy of it, that overlap the clip's time
    range; all of the file's without a range) are left out unless `include_self`.
    """
    from openvid.classify.prepare import prepare
    from openvid.encoders.base import label_matrix

    if (query is None) == (like is None):
        if query is None:
            raise UsageError(f"search needs a text query or {opt('like', 'FILE[@start-end]')}; give one of them")
        raise UsageError(f"search takes a text query or {opt('like', 'FILE[@start-end]')}, not both")
    encoder = ctx.encoder
    exclude = None
    if like is not None:
        path, start, end = parse_clip_ref(like)
        clip = ctx.load_clip(path, start, end)
        vector = encoder.encode_video([clip])[0]
        if not include_self:
            exclude = own_segments(target, path, clip.start_s, clip.end_s)
    else:
        # Through the call's text cache: a repeated query costs no text-tower pass (X-CLIP's cached
        # features are unnormalised projections, so the vector is normalised here either way).
        vector = np.asarray(ctx.text_features([query])[0], np.float32)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
    allowed = None
    if path_glob or min_duration_s is not None:
        allowed = ctx.catalog.filter_segment_ids(target.record.id, path_glob=path_glob, min_duration_s=min_duration_s)
    if taxonomy or label:
        if not (taxonomy and label):
            raise UsageError(f"filtering by label needs both {opt('taxonomy')} and {opt('label')}")
        classifier = prepare(ctx, taxonomy, with_examples=False).classifier
        candidates = allowed if allowed is not None else ctx.catalog.segment_ids(target.record.id)
        label_vectors = label_matrix(classifier.prompt_groups, ctx.text_features)
        allowed = label_filter_ids(target, candidates, label_vectors, classifier.labels, label)
    rescore = None
    if rerank and query is not None and hasattr(encoder, "rerank"):

        def rescore(records):
            clips = [ctx.load_clip(r.path, r.start_s, r.end_s) for r in records]
            return encoder.rerank(query, clips) / encoder.logit_scale
    elif rerank:
        raise UsageError(f"{opt('rerank')} needs a text query and an encoder with an exact video-conditioned "
                         f"score (xclip, xclip-zs); {encoder.name} has none")
    return search_index(target, vector, k, per_video=per_video, allowed_ids=allowed, rescore=rescore,
                        rerank=rerank, ef_search=ef_search, exclude_ids=exclude, places=places)


def own_segments(index: VideoIndex, path: str, start_s: float, end_s: float) -> np.ndarray:
    """Ids of the indexed segments that a clip of `path` over [start_s, end_s] is itself.

    The file is found by path, else by content (an indexed copy elsewhere); segments count when
    they overlap the range by more than a millisecond (touching neighbours are other moments).
    """
    from openvid.archive.ingest import content_hash

    file = Path(path).expanduser()
    catalog, index_id = index.catalog, index.record.id
    video = catalog.find_video(index_id, path=str(file.resolve()))
    if video is None and file.is_file():
        video = catalog.find_video(index_id, content_hash=content_hash(file))
    if video is None:
        return np.zeros(0, np.int64)
    return np.array([r.id for r in catalog.video_segments(video.id)
                     if r.start_s < end_s - 1e-3 and r.end_s > start_s + 1e-3], np.int64)


def label_filter_ids(index: VideoIndex, candidate_ids: np.ndarray, label_vectors: np.ndarray,
                     labels: list[str], wanted: str) -> np.ndarray:
    """Segments whose zero-shot top label (by cosine with the stored vectors) is `wanted`.

    The vectors come from the FAISS copy (exact float32) where it holds them, else the catalog's
    float16 copy (`VideoIndex.stored_vectors`): a segment whose top two labels are nearly tied
    would otherwise flip on rounding."""
    if wanted not in labels:
        raise UsageError(f"label {wanted!r} is not an enabled leaf label of that taxonomy")
    target = labels.index(wanted)
    keep = []
    for start in range(0, len(candidate_ids), 4096):
        chunk = candidate_ids[start : start + 4096]
        vectors = index.stored_vectors(chunk)
        keep.append(chunk[np.argmax(vectors @ label_vectors.T, axis=1) == target])
    return np.concatenate(keep) if keep else np.zeros(0, np.int64)
