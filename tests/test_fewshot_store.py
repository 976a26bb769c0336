"""Few-shot examples and probes in the store: all-or-nothing adds, per-encoder rows, cascades, probes."""

from __future__ import annotations

import contextlib
import sqlite3

import numpy as np
import pytest
from fixtures_fewshot import ENC_A, ENC_B, unit_vectors
from fixtures_store import dump

from openvid.errors import OpenvidError, TaxonomyError
from openvid.scoring.adapters import Probe, fit_probe
from openvid.store import ExampleStore, TaxonomyStore


def items(paths, dim=8, seed=0, times=None):
    vectors = unit_vectors(len(paths), dim, seed)
    times = times or [(None, None)] * len(paths)
    return [(p, s, e, v) for p, (s, e), v in zip(paths, times, vectors, strict=True)]


def test_add_list_and_vectors_round_trip(examples):
    added = examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4", "/v/a2.mp4"], times=[(None, None), (1.5, 4)]))
    examples.add("sports", "pole vault", ENC_A, items(["/v/p1.mp4"], seed=1))
    assert [r.source_path for r in added] == ["/v/a1.mp4", "/v/a2.mp4"]
    assert (added[1].start_s, added[1].end_s) == (1.5, 4.0) and added[0].start_s is None
    listed = examples.list("sports")
    assert [(r.label, r.source_path) for r in listed] == [  # label order (pole vault first), then oldest first
        ("pole vault", "/v/p1.mp4"), ("archery", "/v/a1.mp4"), ("archery", "/v/a2.mp4")]
    assert listed[1].vector.dtype == np.float32 and np.array_equal(listed[1].vector, unit_vectors(2, 8)[0])
    assert listed[0].created_at.tzinfo is not None
    assert [r.id for r in examples.list("sports", label="archery")] == [r.id for r in added]
    names, matrix = examples.vectors("sports", ENC_A)
    assert names == ["pole vault", "archery", "archery"] and matrix.shape == (3, 8) and matrix.dtype == np.float32
    assert np.array_equal(matrix[1:], unit_vectors(2, 8))
    assert examples.vectors("sports", ENC_B)[1].shape == (0, 0)
    assert examples.counts("sports") == {("pole vault", ENC_A): 1, ("archery", ENC_A): 2}


def test_same_clip_per_encoder_and_sources_across_encoders(examples):
    examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4", "/v/a2.mp4"]))
    examples.add("sports", "archery", ENC_B, items(["/v/a1.mp4"], dim=16))  # another model, another dimension
    examples.add("sports", "rowing", ENC_B, items(["/v/r1.mp4"], dim=16, times=[(0, 2)]))
    sources = examples.sources("sports")
    assert [(s.label, s.source_path, s.start_s, s.end_s, s.encoders) for s in sources] == [
        ("archery", "/v/a1.mp4", None, None, (ENC_A, ENC_B)),
        ("archery", "/v/a2.mp4", None, None, (ENC_A,)),
        ("rowing", "/v/r1.mp4", 0.0, 2.0, (ENC_B,)),
    ]
    assert len(examples.list("sports", encoder=ENC_B)) == 2


def test_a_bad_item_stores_nothing(examples, home):
    examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4"]))
    before = dump(home)
    bad_vector = [*items(["/v/a2.mp4"]), ("/v/a3.mp4", None, None, np.array([np.nan] * 8))]
    with pytest.raises(OpenvidError, match="a3.mp4.*finite 1-D vector"):
        examples.add("sports", "archery", ENC_A, bad_vector)
    with pytest.raises(OpenvidError, match="dimension 8, these 16.*another model"):
        examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"], dim=16))
    with pytest.raises(OpenvidError, match="different dimensions"):
        examples.add("sports", "rowing", ENC_A, [*items(["/v/r1.mp4"]), *items(["/v/r2.mp4"], dim=4)])
    with pytest.raises(OpenvidError, match=r"a1.mp4 is already an example of 'archery'.*\(id 1\)"):
        examples.add("sports", "archery", ENC_A, items(["/v/a2.mp4", "/v/a1.mp4"]))
    with pytest.raises(OpenvidError, match="given twice"):
        examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4", "/v/r1.mp4"]))
    with pytest.raises(OpenvidError, match=r"r1.mp4 \[3-2 s\]: the clip must start before it ends"):
        examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"], times=[(3, 2)]))
    with pytest.raises(OpenvidError, match="start time must be a number of seconds"):
        examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"], times=[(-1, 2)]))
    with pytest.raises(OpenvidError, match="no example clips"):
        examples.add("sports", "rowing", ENC_A, [])
    assert dump(home) == before


def test_unknown_label_and_taxonomy_say_what_to_do(examples, store):
    with pytest.raises(TaxonomyError, match=r"no label 'archer'; did you mean 'archery'\? add it first: "
                                            r"`openvid taxonomy add-label sports 'archer'`"):
        examples.add("sports", "archer", ENC_A, items(["/v/a1.mp4"]))
    with pytest.raises(TaxonomyError) as mine:
        examples.list("sprots")
    with pytest.raises(TaxonomyError) as theirs:
        store.history("sprots")
    assert str(mine.value) == str(theirs.value) and "did you mean 'sports'" in str(mine.value)
    with pytest.raises(TaxonomyError, match="unknown taxonomy 'nope'"):
        examples.add("nope", "archery", ENC_A, items(["/v/a1.mp4"]))
    assert examples.list("ucf101") == [] and examples.sources("hmdb51") == []  # not installed: no examples
    with pytest.raises(TaxonomyError, match="built in: copy it to add labels"):
        examples.add("ucf101", "no such class", ENC_A, items(["/v/a1.mp4"]))


def test_examples_follow_label_edits_and_go_with_the_label_or_taxonomy(examples, store, home):
    examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4", "/v/a2.mp4"]))
    examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"], seed=2))
    store.rename_label("sports", "archery", "target archery")
    assert [r.label for r in examples.list("sports")] == ["target archery", "target archery", "rowing"]
    store.remove_label("sports", "target archery")  # the FK cascade drops its examples
    assert [(r.label, r.source_path) for r in examples.list("sports")] == [("rowing", "/v/r1.mp4")]
    store.add_label("sports", "archery")  # a new label of the old name starts without examples
    assert examples.list("sports", label="archery") == []
    examples.save_probe("sports", ENC_A, ["pole vault", "rowing", "archery"], 9,
                        Probe(unit_vectors(3, 8), np.zeros(3), 100.0))
    store.delete("sports")  # the taxonomy's examples and probes go with it
    with contextlib.closing(sqlite3.connect(home / "openvid.db")) as conn:
        assert conn.execute("SELECT count(*) FROM fewshot_examples").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM fewshot_probes").fetchone() == (0,)


def test_remove_by_id_label_encoder(examples):
    a = examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4", "/v/a2.mp4"]))
    examples.add("sports", "archery", ENC_B, items(["/v/a1.mp4"], dim=4))
    examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"]))
    with pytest.raises(OpenvidError, match="say which examples"):
        examples.remove("sports")
    with pytest.raises(OpenvidError, match="no example with id 999; nothing removed"):
        examples.remove("sports", ids=[a[0].id, 999])
    assert len(examples.list("sports")) == 4
    assert examples.remove("sports", ids=[a[0].id]) == 1
    assert examples.remove("sports", ids=[a[1].id], label="rowing") == 0  # filters combine
    assert examples.remove("sports", encoder=ENC_B) == 1
    assert examples.remove("sports", label="archery") == 1
    with pytest.raises(TaxonomyError, match="no label 'nope'"):
        examples.remove("sports", label="nope")
    assert examples.remove("sports", everything=True) == 1
    assert examples.list("sports") == []


def test_probe_saves_loads_to_identical_predictions_and_goes_stale(examples):
    labels = ["pole vault", "archery", "rowing"]
    text = unit_vectors(3, 8, seed=5)
    vectors = unit_vectors(6, 8, seed=6)
    probe = fit_probe(vectors, [0, 0, 1, 1, 2, 2], text, 50.0, labels=labels)
    assert examples.load_probe("sports", ENC_A) is None
    saved = examples.save_probe("sports", ENC_A, labels, 4, probe, meta={"alpha": 2.0, "cv": [0.5, 0.75]})
    loaded = examples.load_probe("sports", ENC_A)
    assert loaded.labels == labels and loaded.taxonomy_version == 4 and loaded.encoder == ENC_A
    assert loaded.probe.weight.tobytes() == probe.weight.tobytes() and loaded.probe.bias.tobytes() == probe.bias.tobytes()
    assert loaded.probe.logit_scale == 50.0 and loaded.meta["alpha"] == 2.0 and loaded.meta["optimizer"] == "lbfgs"
    assert loaded.meta == saved.meta
    queries = unit_vectors(20, 8, seed=7)
    assert np.array_equal(loaded.probe.scores(queries).probs, probe.scores(queries).probs)
    assert loaded.stale_reason(labels, 4) is None
    assert "version 4" in loaded.stale_reason(labels, 5)
    assert "labels changed" in loaded.stale_reason(["pole vault", "rowing", "archery"], 4)
    examples.save_probe("sports", ENC_A, labels, 5, probe)  # replaces
    assert examples.load_probe("sports", ENC_A).taxonomy_version == 5
    with pytest.raises(OpenvidError, match="JSON-serialisable"):
        examples.save_probe("sports", ENC_A, labels, 5, probe, meta={"bad": object()})
    with pytest.raises(OpenvidError, match="3 rows needs as many distinct label names"):
        examples.save_probe("sports", ENC_A, labels[:2], 5, probe)


def test_changing_examples_drops_that_encoders_probe(examples):
    probe = Probe(unit_vectors(3, 8), np.zeros(3), 100.0)
    labels = ["pole vault", "archery", "rowing"]
    examples.save_probe("sports", ENC_A, labels, 1, probe)
    examples.save_probe("sports", ENC_B, labels, 1, probe)
    examples.add("sports", "archery", ENC_A, items(["/v/a1.mp4"]))
    assert examples.load_probe("sports", ENC_A) is None and examples.load_probe("sports", ENC_B) is not None
    examples.add("sports", "archery", ENC_B, items(["/v/a1.mp4"], dim=4))
    assert examples.load_probe("sports", ENC_B) is None
    examples.save_probe("sports", ENC_A, labels, 1, probe)
    examples.remove("sports", encoder=ENC_B)
    assert examples.load_probe("sports", ENC_A) is not None
    assert examples.drop_probe("sports", ENC_A) == 1 and examples.drop_probe("sports") == 0


def test_another_process_sees_the_examples(examples, home):
    examples.add("sports", "rowing", ENC_A, items(["/v/r1.mp4"]))
    other = ExampleStore(TaxonomyStore(home).engine)
    assert [r.source_path for r in other.list("sports")] == ["/v/r1.mp4"]
