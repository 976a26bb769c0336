"""Open-vocabulary encoders: video and text into one space. See `base.py` for the contract."""

from openvid.encoders.base import Encoder, EncoderSpec, get_spec, list_encoders, register_encoder, register_family
from openvid.encoders.resolve import ModelRef, identity_of, is_cached, load_encoder, parse_model_ref, pull

__all__ = [
    "Encoder",
    "EncoderSpec",
    "ModelRef",
    "get_spec",
    "identity_of",
    "is_cached",
    "list_encoders",
    "load_encoder",
    "parse_model_ref",
    "pull",
    "register_encoder",
    "register_family",
]
