"""TaxonomyStore: CRUD, versions and history, older versions, and refusals that leave the file untouched."""

from __future__ import annotations

import contextlib
import getpass
import sqlite3
from datetime import timezone

import pytest
from fixtures_store import dump

from openvid.errors import TaxonomyError
from openvid.store import Label, Taxonomy, TaxonomySettings, TaxonomyStore, open_database, rows
from openvid.store.taxonomy import TaxonomyStore as _Store


@pytest.fixture
def sports(store):
    """ball game > football, basketball; cycling (a prompt, a synonym)."""
    store.create("sports", description="Ball games and more", templates=["a video of {}.", "people playing {}."])
    store.add_label("sports", "ball game")
    store.add_label("sports", "football", parent="ball game", synonyms=["soccer"])
    store.add_label("sports", "basketball", parent="ball game")
    return store.add_label("sports", "cycling", prompts=["people racing on bikes"], description="on two wheels")


def test_create_get_list_delete(store, home):
    created = store.create("sports", description="Ball games", templates=["a clip of {}"])
    assert created.version == 1 and created.labels == [] and created.templates == ["a clip of {}"]
    assert created.created_at.tzinfo == timezone.utc and created.created_at == created.updated_at
    assert store.get("sports") == created
    assert store.create("other").templates == ["a video of {}."]  # the default
    [other, sports] = store.list()
    assert (sports.name, sports.description, sports.version, sports.label_count) == ("sports", "Ball games", 1, 0)
    assert other.name == "other"
    store.add_label("sports", "cycling")
    assert store.list()[1].label_count == 1
    store.delete("sports")
    assert [s.name for s in store.list()] == ["other"]
    with pytest.raises(TaxonomyError, match="unknown taxonomy 'sports'"):
        store.get("sports")
    assert "labels" in dump(home) and "cycling" not in dump(home)  # labels and history went with it


def test_store_over_an_engine_shares_the_file(home):
    engine = open_database(home)
    TaxonomyStore(engine).create("shared")
    assert TaxonomyStore(home).get("shared").version == 1
    assert isinstance(TaxonomyStore(engine), _Store)


def test_every_edit_bumps_version_and_records_who_when_what(store):
    steps = [
        ("create", lambda: store.create("t", templates=["a video of {}."])),
        ("add_label", lambda: store.add_label("t", "sport")),
        ("add_label", lambda: store.add_label("t", "runing", parent="sport", prompts=["people jogging"])),
        ("rename_label", lambda: store.rename_label("t", "runing", "running")),
        ("add_label", lambda: store.add_label("t", "cycling")),
        ("set_label", lambda: store.set_label("t", "cycling", parent="sport")),
        ("set_label", lambda: store.set_label("t", "cycling", enabled=False)),
        ("set_label", lambda: store.set_label("t", "cycling", description="bikes")),
        ("add_prompt", lambda: store.add_prompt("t", "running", "a marathon")),
        ("remove_prompt", lambda: store.remove_prompt("t", "running", "people jogging")),
        ("add_synonym", lambda: store.add_synonym("t", "running", "jogging")),
        ("remove_synonym", lambda: store.remove_synonym("t", "running", "jogging")),
        ("set_templates", lambda: store.set_templates("t", ["a video of {}.", "a person {}."])),
        ("update_settings", lambda: store.update_settings("t", reject_threshold=0.3, aggregate="max")),
        ("remove_label", lambda: store.remove_label("t", "sport", cascade=True)),
        ("import", lambda: store.import_text("name: t\nlabels: [{name: swimming}]\n", "yaml", replace=True)),
    ]
    results = []
    for version, (action, step) in enumerate(steps, start=1):
        taxonomy = step()
        assert taxonomy.version == version, action
        results.append(taxonomy)
    history = store.history("t")
    assert [e.action for e in history] == [action for action, _ in steps]
    assert [e.version for e in history] == list(range(1, len(steps) + 1))
    assert {e.who for e in history} == {getpass.getuser()}
    assert all(e.at.tzinfo == timezone.utc for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert [e.at for e in history] == [t.updated_at for t in results]
    details = {e.version: e.detail for e in history}
    assert details[1] == {"templates": ["a video of {}."]}
    assert details[3] == {"label": "runing", "parent": "sport", "prompts": ["people jogging"]}
    assert details[4] == {"label": "runing", "new_name": "running"}
    assert details[6] == {"label": "cycling", "parent": "sport"}
    assert details[7] == {"label": "cycling", "enabled": False}
    assert details[9] == {"label": "running", "prompt": "a marathon"}
    assert details[14] == {"reject_threshold": 0.3, "aggregate": "max"}
    assert details[15] == {"label": "sport", "also_removed": ["running", "cycling"]}
    assert details[16]["replaced"] is True and details[16]["labels"] == 1

    # any older version can be shown as it was
    for taxonomy in results:
        old = store.get("t", version=taxonomy.version)
        assert old == taxonomy and old.version == taxonomy.version and old.updated_at == taxonomy.updated_at
        assert old.created_at == results[0].created_at
    assert [l.name for l in store.get("t", version=5).labels] == ["sport", "running", "cycling"]
    assert store.get("t", version=7).label("cycling") == Label("cycling", parent="sport", enabled=False)
    assert store.get("t").labels == [Label("swimming")]


def test_an_edit_that_changes_nothing_keeps_the_version(sports, store):
    assert store.set_label("sports", "cycling", enabled=True).version == sports.version
    assert store.rename_label("sports", "cycling", "cycling").version == sports.version
    assert store.update_settings("sports", aggregate="mean").version == sports.version
    assert len(store.history("sports")) == sports.version


def test_rename_children_follow_and_rows_keep_their_ids(sports, store, home):
    def ids():
        with contextlib.closing(sqlite3.connect(home / "openvid.db")) as conn:
            return dict(conn.execute("SELECT name, id FROM labels"))

    before = ids()
    renamed = store.rename_label("sports", "ball game", "ball sports")
    assert [l.parent for l in renamed.labels] == [None, "ball sports", "ball sports", None]
    assert [l.name for l in renamed.children("ball sports")] == ["football", "basketball"]
    after = ids()
    assert after["ball sports"] == before["ball game"] and after["football"] == before["football"]
    case_only = store.rename_label("sports", "cycling", "Cycling")  # only the case changes: allowed
    assert case_only.label("Cycling").prompts == ["people racing on bikes"]


def test_remove_label_with_children_needs_cascade(sports, store):
    with pytest.raises(TaxonomyError, match=r"has children \('football', 'basketball'\).*remove them too \(cascade=True\)$"):
        store.remove_label("sports", "ball game")
    left = store.remove_label("sports", "football")
    assert [l.name for l in left.labels] == ["ball game", "basketball", "cycling"]
    left = store.remove_label("sports", "ball game", cascade=True)
    assert [l.name for l in left.labels] == ["cycling"]


def test_taxonomy_helpers(sports, store):
    assert sports.label("football").synonyms == ["soccer"]
    assert [l.name for l in sports.children("ball game")] == ["football", "basketball"]
    assert [l.name for l in sports.leaves()] == ["football", "basketball", "cycling"]
    disabled = store.set_label("sports", "football", enabled=False)
    assert [l.name for l in disabled.leaves()] == ["basketball", "cycling"]
    store.set_label("sports", "basketball", enabled=False)
    assert [l.name for l in store.get("sports").leaves()] == ["ball game", "cycling"]  # no enabled children left
    with pytest.raises(TaxonomyError, match="did you mean 'football'"):
        sports.children("footbal")
    with pytest.raises(TaxonomyError, match="no labels yet"):
        store.create("empty").label("x")


def test_set_label_fields(sports, store):
    moved = store.set_label("sports", "cycling", parent="ball game", description="")
    assert moved.label("cycling") == Label("cycling", parent="ball game", prompts=["people racing on bikes"])
    assert store.set_label("sports", "cycling", parent=None).label("cycling").parent is None
    assert store.add_label("sports", "chess", enabled=False, description="  ").label("chess").description is None


def test_copy_is_a_new_taxonomy_with_its_own_history(sports, store):
    copied = store.copy("sports", "sports-2")
    assert copied.version == 1 and copied.name == "sports-2"
    assert copied.labels == sports.labels and copied.templates == sports.templates
    assert store.history("sports-2")[0].detail == {"source": "sports", "source_version": sports.version}
    store.add_label("sports-2", "rowing")
    assert len(store.get("sports").labels) == 4  # the original is untouched
    assert store.copy("sports", "first", version=2).labels == [Label("ball game")]


def _refusals(store):
    return [
        (lambda: store.get("sprots"), r"unknown taxonomy 'sprots'; did you mean 'sports'\?"),
        (lambda: store.get("zzz"), r"existing: sports; create it with"),
        (lambda: store.add_label("sprots", "x"), "did you mean 'sports'"),
        (lambda: store.add_label("sports", "cycling"), "label 'cycling' is already in the taxonomy"),
        (lambda: store.add_label("sports", "Cycling"), "clashes with 'cycling'"),
        (lambda: store.add_label("sports", ""), "label name is empty"),
        (lambda: store.add_label("sports", "   "), "label name is empty"),
        (lambda: store.add_label("sports", "two\nlines"), "line break"),
        (lambda: store.add_label("sports", "x", parent="ball gmae"), "did you mean 'ball game'"),
        (lambda: store.add_label("sports", "x", parent="nothing like it"), "add the parent label first"),
        (lambda: store.add_label("sports", "x", prompts="one prompt"), "prompts must be a list"),
        (lambda: store.add_label("sports", "x", prompts=["a", "a"]), "listed twice"),
        (lambda: store.add_label("sports", "x", enabled="yes"), "True or False"),
        (lambda: store.set_label("sports", "ball game", parent="football"),
         "would make a cycle: ball game -> football -> ball game"),
        (lambda: store.set_label("sports", "cycling", parent="cycling"), "cycle"),
        (lambda: store.set_label("sports", "cyclign", enabled=False), "did you mean 'cycling'"),
        (lambda: store.rename_label("sports", "footbal", "soccer"), "has no label 'footbal'; did you mean 'football'"),
        (lambda: store.rename_label("sports", "football", "basketball"), "already in the taxonomy"),
        (lambda: store.rename_label("sports", "football", ""), "empty"),
        (lambda: store.remove_label("sports", "ball game"), "has children"),
        (lambda: store.remove_label("sports", "golf"), "has no label 'golf'"),
        (lambda: store.create("sports"), "taxonomy 'sports' already exists"),
        (lambda: store.create(""), "taxonomy name is empty"),
        (lambda: store.create("ucf101"), "built-in label list"),
        (lambda: store.create("new", templates=["a video of"]), "exactly one {}"),
        (lambda: store.create("new", templates=["{} and {}"]), "exactly one {}"),
        (lambda: store.set_templates("sports", ["a video of {0}."]), "exactly one {}"),
        (lambda: store.set_templates("sports", ["a video of {."]), "unmatched brace"),
        (lambda: store.set_templates("sports", "a video of {}."), "templates must be a list"),
        (lambda: store.update_settings("sports", aggregate="median"), "valid values: mean, max"),
        (lambda: store.update_settings("sports", reject_on="logit"), "valid values: probability, cosine"),
        (lambda: store.update_settings("sports", bogus=1), "unknown setting 'bogus'; valid settings: reject_threshold"),
        (lambda: store.update_settings("sports", reject_threshold=1.5), "out of range"),
        (lambda: store.update_settings("sports", multi_label_threshold="high"), "must be a number"),
        (lambda: store.add_prompt("sports", "cycling", "people racing on bikes"), "already has the prompt"),
        (lambda: store.remove_prompt("sports", "cycling", "people racing on bike"),
         "did you mean 'people racing on bikes'"),
        (lambda: store.remove_synonym("sports", "cycling", "biking"), "it has no synonyms"),
        (lambda: store.add_synonym("sports", "football", "football"), "own name"),
        (lambda: store.add_label("ucf101", "x"), r"stays as shipped; copy it to edit it: `openvid taxonomy copy"),
        (lambda: store.copy("sports", "sports"), "already exists"),
        (lambda: store.copy("sports", "kinetics400"), "built-in"),
        (lambda: store.copy("nope", "new"), "unknown taxonomy 'nope'"),
        (lambda: store.get("sports", version=99), "has versions 1 to 5; there is no version 99"),
        (lambda: store.delete("sprots"), "did you mean 'sports'"),
        (lambda: store.history("hmdb51"), "built in and not installed"),
        (lambda: store.import_text("labels: []\n", "yaml", name="sports"), r"already exists.*or replace it \(replace=True\)$"),
        (lambda: store.import_text("labels: []\n", "yaml"), "names no taxonomy"),
    ]


def test_refusals_say_what_to_do_and_change_nothing(sports, store, home):
    before_dump, before_yaml = dump(home), store.export("sports")
    for call, message in _refusals(store):
        with pytest.raises(TaxonomyError, match=message):
            call()
        assert dump(home) == before_dump, message
    assert store.export("sports") == before_yaml
    assert [s.name for s in store.list()] == ["sports"]


def test_settings_are_checked_when_built():
    with pytest.raises(TaxonomyError, match="reject_on='logit' is not valid; valid values: probability, cosine"):
        TaxonomySettings(reject_on="logit")
    assert TaxonomySettings(reject_threshold=-0.2, reject_on="cosine").reject_threshold == -0.2
    with pytest.raises(TaxonomyError, match="probability threshold lies from 0 to 1"):
        TaxonomySettings(reject_threshold=-0.2)
    assert TaxonomySettings(multi_label_threshold=0).multi_label_threshold == 0.0
    assert TaxonomySettings(multi_label_threshold=1.5).multi_label_threshold == 1.5  # a cosine never reached: never on
    with pytest.raises(TaxonomyError, match="must be a number"):
        TaxonomySettings(multi_label_threshold=float("nan"))


def test_a_failure_in_the_middle_of_a_write_leaves_nothing_behind(sports, store, home, monkeypatch):
    before = dump(home)

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(rows, "record", broken)  # fails after the label rows were written
    with pytest.raises(RuntimeError):
        store.rename_label("sports", "ball game", "ball sports")
    with pytest.raises(RuntimeError):
        store.copy("sports", "copy")
    assert dump(home) == before


def test_equality_ignores_version_and_times(sports, store):
    store.add_label("sports", "x")
    back = store.remove_label("sports", "x")
    assert back == sports and back.version == sports.version + 2
    assert Taxonomy("a") != Taxonomy("b")
