"""Closed-set heads: fine-tuned classifiers that vote beside the open-vocabulary encoder."""

from openvid.heads.base import (
    Head,
    HeadChoice,
    HeadSpec,
    get_head_spec,
    list_heads,
    load_head,
    pull_head,
    read_labels_file,
    register_head,
    register_head_family,
)

__all__ = [
    "Head",
    "HeadChoice",
    "HeadSpec",
    "get_head_spec",
    "list_heads",
    "load_head",
    "pull_head",
    "read_labels_file",
    "register_head",
    "register_head_family",
]
