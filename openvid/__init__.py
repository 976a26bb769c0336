"""openvid: open-vocabulary video classification and retrieval."""

from openvid.errors import (
    IndexError_,
    MediaError,
    ModelUnavailable,
    NoAudioError,
    OpenvidError,
    TaxonomyError,
    UnknownChoice,
)

__version__ = "0.1.0"

__all__ = [
    "IndexError_",
    "MediaError",
    "ModelUnavailable",
    "NoAudioError",
    "OpenvidError",
    "TaxonomyError",
    "UnknownChoice",
    "__version__",
]
