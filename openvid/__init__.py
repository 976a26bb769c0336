"""openvid: open-vocabulary video classification and retrieval.

    from openvid import Engine
    engine = Engine(model="clip")
    engine.classify("clip.mp4", taxonomy="sports").predictions[0].top
    engine.classify("clip.mp4", labels=["surfing", "cooking"]).to_dict()   # what `--json` prints

`Engine` and the result types load on first access, so `import openvid` (and the CLI's help)
stays fast: torch is imported only when a model is needed.
"""

from typing import TYPE_CHECKING

from openvid.errors import (
    IndexError_,
    IndexModelMismatch,
    MediaError,
    ModelUnavailable,
    NoAudioError,
    OpenvidError,
    TaxonomyError,
    UnknownChoice,
    UsageError,
    VideoIndexError,
)

__version__ = "0.1.0"

_LAZY = {
    "Engine": "openvid.engine",
    "VideoEmbedding": "openvid.engine",
    "Prediction": "openvid.results",
    "LabelScore": "openvid.results",
    "HeadReport": "openvid.results",
    "SegmentPrediction": "openvid.results",
    "ClassifyResult": "openvid.results",
    "Failure": "openvid.results",
    "Settings": "openvid.config",
    "Calibration": "openvid.classify.calibrate",
    "SearchHit": "openvid.archive.search",
    "IndexReport": "openvid.archive.ingest",
}

if TYPE_CHECKING:  # pragma: no cover
    from openvid.archive.ingest import IndexReport
    from openvid.archive.search import SearchHit
    from openvid.classify.calibrate import Calibration
    from openvid.config import Settings
    from openvid.engine import Engine, VideoEmbedding
    from openvid.results import ClassifyResult, Failure, HeadReport, LabelScore, Prediction, SegmentPrediction


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openvid' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "IndexError_",
    "IndexModelMismatch",
    "MediaError",
    "ModelUnavailable",
    "NoAudioError",
    "OpenvidError",
    "TaxonomyError",
    "UnknownChoice",
    "UsageError",
    "VideoIndexError",
    "__version__",
]
