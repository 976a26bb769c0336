"""Versions of a taxonomy: revert (a new version equal to an old one), diff, compound label edits, and
writes in several steps that are all or nothing (`TaxonomyStore.transaction`)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_fewshot import ENC_A, ENC_B, unit_vectors
from fixtures_store import dump

from openvid.errors import OpenvidError, TaxonomyError, UsageError


@pytest.fixture
def sports(store):
    """v1 create, v2 ball game, v3 football (under ball game), v4 cycling, v5 soccer -> football renamed."""
    store.create("sports", templates=["a video of {}."])
    store.add_label("sports", "ball game")
    store.add_label("sports", "soccer", parent="ball game", prompts=["people kicking a ball"])
    store.add_label("sports", "cycling")
    return store.rename_label("sports", "soccer", "football")


def test_revert_is_a_new_version_equal_to_the_old_content(sports, store):
    store.update_settings("sports", aggregate="max")
    store.remove_label("sports", "cycling")
    reverted = store.revert("sports", 4)
    assert reverted.version == 8 and reverted == store.get("sports", version=4)
    entry = store.history("sports")[-1]
    assert (entry.version, entry.action, entry.detail["to_version"]) == (8, "revert", 4)
    assert entry.detail["renames"] == {"football": "soccer"}
    assert store.get("sports", version=7).settings.aggregate == "max"  # the history keeps what was in between
    assert store.revert("sports", 8).version == 8  # the same content again: nothing written


def test_revert_gives_renamed_labels_their_old_names_and_keeps_their_examples(sports, store):
    examples = store.examples
    examples.add("sports", "football", ENC_A, [("/v/f1.mp4", None, None, unit_vectors(1, 8)[0])])
    store.revert("sports", 3)
    assert [label.name for label in store.get("sports").labels] == ["ball game", "soccer"]
    assert [(r.label, r.source_path) for r in examples.list("sports")] == [("soccer", "/v/f1.mp4")]
    store.revert("sports", 5)  # and forward again
    assert [(r.label, r.source_path) for r in examples.list("sports")] == [("football", "/v/f1.mp4")]


def test_revert_refusals_write_nothing(sports, store, home):
    before = dump(home)
    with pytest.raises(TaxonomyError, match="versions 1 to 5; there is no version 9"):
        store.revert("sports", 9)
    with pytest.raises(TaxonomyError, match="built-in label list.*copy it"):
        store.revert("ucf101", 1)
    with pytest.raises(TaxonomyError, match="unknown taxonomy 'sprots'; did you mean 'sports'"):
        store.revert("sprots", 1)
    assert dump(home) == before


def test_diff_names_every_kind_of_change_and_follows_renames(sports, store):
    store.set_templates("sports", ["a video of {}.", "a clip of {}."])
    store.update_settings("sports", reject_threshold=0.3)
    store.add_prompt("sports", "football", "a goal")
    store.set_label("sports", "cycling", enabled=False)
    store.add_label("sports", "rowing")
    changes = store.diff("sports", 3)
    assert changes.from_version == 3 and changes.to_version == 10
    lines = changes.lines()
    assert "~ label 'soccer' renamed to 'football'" in lines
    assert "~ label 'football': prompts: added 'a goal'" in lines
    assert "+ label 'cycling'" in lines and "+ label 'rowing'" in lines
    assert '~ templates: ["a video of {}."] -> ["a video of {}.", "a clip of {}."]' in lines
    assert "~ setting reject_threshold: none -> 0.3" in lines
    assert not any("soccer" in line and "removed" in line for line in lines)
    between = store.diff("sports", 4, 10).lines()
    assert "~ label 'cycling': enabled: yes -> no" in between
    backwards = store.diff("sports", 5, 3).lines()
    assert backwards == ["- label 'cycling'", "~ label 'football' renamed to 'soccer'"]
    assert store.diff("sports", 5, 5).changes == []


def test_set_label_changes_several_fields_in_one_version(sports, store):
    changed = store.set_label("sports", "football", new_name="association football", parent=None, enabled=False,
                              description="the round ball", add_prompts=["a goal"],
                              remove_prompts=["people kicking a ball"], add_synonyms=["soccer"])
    assert changed.version == 6
    label = changed.label("association football")
    assert (label.parent, label.enabled, label.description) == (None, False, "the round ball")
    assert label.prompts == ["a goal"] and label.synonyms == ["soccer"]
    assert store.history("sports")[-1].detail["new_name"] == "association football"
    assert store.diff("sports", 5).lines()[0] == "~ label 'football' renamed to 'association football'"


def test_a_compound_label_edit_with_one_bad_part_writes_nothing(sports, store, home):
    before = dump(home)
    with pytest.raises(TaxonomyError, match="has no prompt 'nope'"):
        store.set_label("sports", "football", new_name="x", enabled=False, remove_prompts=["nope"])
    with pytest.raises(TaxonomyError, match="cycle"):
        store.set_label("sports", "ball game", new_name="balls", parent="football")
    with pytest.raises(TaxonomyError, match="already"):
        store.set_label("sports", "football", new_name="cycling")
    assert dump(home) == before


def test_settings_edit_naming_nothing_is_refused_and_writes_nothing(sports, store, home):
    before = dump(home)
    with pytest.raises(UsageError, match="say which settings of 'sports' to change: reject_threshold"):
        store.update_settings("sports")
    assert dump(home) == before


def test_head_weight_is_read_and_written_in_one_edit(sports, store):
    assert store.set_head_weight("sports", "videomae", 2.0).settings.head_weights == {"videomae": 2.0}
    assert store.set_head_weight("sports", "ast", 0.5).settings.head_weights == {"videomae": 2.0, "ast": 0.5}
    taxonomy = store.set_head_weight("sports", "videomae", None)
    assert taxonomy.settings.head_weights == {"ast": 0.5} and taxonomy.version == 8


def test_a_transaction_keeps_all_of_its_writes_or_none(sports, store, home):
    before = dump(home)
    vector = unit_vectors(1, 8)[0]
    with pytest.raises(OpenvidError, match="given twice"):
        with store.transaction() as tx:
            tx.add_label("sports", "rowing")
            tx.update_settings("sports", aggregate="max")
            tx.examples.add("sports", "rowing", ENC_A, [("/v/r.mp4", None, None, vector)] * 2)
    assert dump(home) == before
    with store.transaction() as tx:
        tx.add_label("sports", "rowing")
        assert "rowing" in [label.name for label in tx.get("sports").labels]  # its own writes are visible
        tx.examples.add("sports", "rowing", ENC_B, [("/v/r.mp4", None, None, np.asarray(vector))])
    assert [r.label for r in store.examples.list("sports")] == ["rowing"]
    assert store.get("sports").version == 6
