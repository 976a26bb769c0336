"""The few-shot job: example clips that teach a label, per encoder; the cache and probe classification uses.

examples: embed clips (`FILE` or `FILE@START-END`) and store them, all or none; re-embed for a new encoder
state: what classification uses (the Tip-Adapter cache, or a fitted probe that is still valid)
fit: tune alpha/beta by leave-one-out and fit the linear probe
"""

from openvid.fewshot.examples import (
    ExamplesAdded,
    SyncReport,
    add_examples,
    embed_example,
    example_vector,
    sync,
    sync_warnings,
)
from openvid.fewshot.fit import FitReport, fit
from openvid.fewshot.state import prompts_digest, state

__all__ = ["ExamplesAdded", "FitReport", "SyncReport", "add_examples", "embed_example", "example_vector", "fit",
           "prompts_digest", "state", "sync", "sync_warnings"]
