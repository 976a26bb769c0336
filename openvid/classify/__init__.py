"""The classify job: videos against an editable taxonomy, with few-shot examples and closed-set heads voting.

prepare: the one set-up every caller shares (classify, evaluate, calibrate, search's label filter)
classifier: clips → label cosines and head probabilities → a `Prediction` (fusion, levels, rejection)
voting: head weights and where each head's labels vote (`scoring.head_mapping`)
calibrate: the "none of these" threshold from accept/reject videos
"""

from openvid.classify.classifier import ClassifyOptions, ClipScores, HeadVoter, TaxonomyClassifier
from openvid.classify.prepare import PreparedClassifier, classify_videos, prepare
from openvid.scoring.adapters import FewShot
from openvid.scoring.fusion import ZERO_SHOT

__all__ = ["ZERO_SHOT", "ClassifyOptions", "ClipScores", "FewShot", "HeadVoter", "PreparedClassifier",
           "TaxonomyClassifier", "classify_videos", "prepare"]
