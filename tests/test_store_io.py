"""Import/export: exact round trips in YAML, JSON and CSV; malformed files refused whole, naming the line or field."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
from fixtures_store import dump

from openvid.errors import TaxonomyError
from openvid.store import TaxonomyStore
from openvid.store.io import dumps, loads

FORMATS = ["yaml", "json", "csv"]



@pytest.fixture
def rich(store):
    """Everything a taxonomy can hold, with text that is awkward in each format."""
    name = "rich"
    store.create(name, description='"Quoted", with a second\nline and ünïcödé',
                 templates=["a video of {}.", "{{literally}} {}"])
    store.update_settings(name, reject_threshold=0.3, reject_on="cosine", multi_label_threshold=0.2, aggregate="max")
    store.add_label(name, "ball game", description="games, with a ball")
    store.add_label(name, "football", parent="ball game", synonyms=["soccer", "fútbol"],
                    prompts=['people kicking a "ball", on grass', "a | b, c"])
    store.add_label(name, "yes", parent="ball game", description="a name YAML could misread\nsecond line")
    store.add_label(name, "null", enabled=False, prompts=["1.0"], synonyms=["true"])
    store.add_label(name, "  padded name  ")
    return store.get(name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_is_exact(rich, store, tmp_path, fmt):
    text = store.export("rich", fmt)
    assert loads(text, fmt) == rich
    again = TaxonomyStore(tmp_path / "other-home")
    same = again.import_text(text, fmt)
    assert same == rich and same.version == 1
    assert again.export("rich", fmt) == text
    renamed = store.import_text(text, fmt, name="rich-2")
    assert dataclasses.replace(renamed, name="rich") == rich
    assert store.export("rich-2", fmt) == text.replace("rich", "rich-2", 1)
    for other in FORMATS:  # every format carries everything: across formats too
        assert loads(dumps(loads(text, fmt), other), other) == rich


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ".csv"])
def test_files_by_suffix_and_explicit_format(rich, store, tmp_path, suffix):
    path = store.export_file("rich", tmp_path / f"out{suffix}")
    imported = store.import_file(path, name="from-file")
    assert dataclasses.replace(imported, name="rich") == rich
    assert store.history("from-file")[0].action == "import"
    odd = tmp_path / "taxonomy.txt"
    odd.write_text(path.read_text())
    with pytest.raises(TaxonomyError, match="cannot tell the format"):
        store.import_file(odd)
    fmt = {".yml": "yaml"}.get(suffix, suffix[1:])
    assert store.import_file(odd, name="explicit", fmt=fmt).labels == rich.labels


def test_the_name_comes_from_the_argument_then_the_file_then_its_stem(store, tmp_path):
    path = tmp_path / "kitchen.yaml"
    path.write_text("labels: [{name: chopping}]\n")
    assert store.import_file(path).name == "kitchen"
    path.write_text("name: cooking\nlabels: [{name: chopping}]\n")
    assert store.import_file(path).name == "cooking"
    assert store.import_file(path, name="mine").name == "mine"
    assert store.import_file(path, name="csv-too", fmt="yaml").name == "csv-too"


def test_replace_makes_the_file_the_next_version(rich, store, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("label\nrunning\nswimming\n")
    with pytest.raises(TaxonomyError, match="already exists.*replace"):
        store.import_file(path, name="rich")
    replaced = store.import_file(path, name="rich", replace=True)
    assert replaced.version == rich.version + 1 and [l.name for l in replaced.labels] == ["running", "swimming"]
    assert replaced.templates == ["a video of {}."]  # what the file says (here: the default)
    assert store.get("rich", version=rich.version) == rich  # the old content stays in history
    assert store.history("rich")[-1].detail["replaced"] is True
    assert store.import_file(path, name="rich", replace=True).version == replaced.version  # same content: no-op
    with pytest.raises(TaxonomyError, match="built-in label list"):
        store.import_file(path, name="ucf101", replace=True)


def test_hand_written_files_need_only_label_names(store):
    csv_text = "# name: hand\nlabel,enabled\nrunning,\nswimming,FALSE\n\n"
    taxonomy = store.import_text(csv_text, "csv")
    assert [(l.name, l.enabled) for l in taxonomy.labels] == [("running", True), ("swimming", False)]
    assert store.import_text('{"name": "j", "labels": [{"name": "a"}]}', "json").templates == ["a video of {}."]
    assert store.import_text("name: e\n", "yaml").labels == []  # an empty taxonomy may exist
    assert store.import_text("\ufeff# name: bom\nlabel\nx\n", "csv").name == "bom"


YAML_OK = """\
name: broken
templates:
- a video of {}.
labels:
- name: ball game
- name: football
  parent: ball game
  prompts: [kicking]
"""

MALFORMED = [
    # (format, text, what the message must say)
    ("yaml", YAML_OK.replace("parent: ball game", "parent: ball gmae"),
     ["line 7, labels[1].parent", "'ball gmae'", "did you mean 'ball game'"]),
    ("yaml", YAML_OK + "- name: football\n", ["line 9, labels[2].name", "already in the taxonomy"]),
    ("yaml", YAML_OK.replace("a video of {}.", "a video of"), ["line 3, templates[0]", "exactly one {}"]),
    ("yaml", YAML_OK.replace("prompts: [kicking]", "prompts: kicking"), ["line 8, labels[1].prompts", "list"]),
    ("yaml", YAML_OK + "settings: {aggregate: max, smoothing: 2}\n", ["line 9, settings.smoothing",
                                                                      "unknown setting 'smoothing'"]),
    ("yaml", YAML_OK + "settings: {aggregate: median}\n", ["settings.aggregate", "valid values: mean, max"]),
    ("yaml", YAML_OK.replace("templates:", "template:"), ["line 2, template", "unknown field 'template'"]),
    ("yaml", YAML_OK + "  colour: red\n", ["labels[1].colour", "unknown label field 'colour'"]),
    ("yaml", YAML_OK + "  enabled: maybe\n", ["labels[1].enabled", "true or false"]),
    ("yaml", YAML_OK + "  parent: other\n", ["line 9", "appears twice"]),
    ("yaml", YAML_OK.replace("- name: ball game", "- name: [ball game"), ["line", "not valid YAML"]),
    ("yaml", "- just\n- a list\n", ["line 1", "expected a mapping"]),
    ("yaml", YAML_OK.replace("- name: ball game", "- parent: football"), ["line 5, labels[0].name", "no name"]),
    ("json", '{"name": "broken", "labels": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d", '
             '"prompts": "one"}]}', ["labels[3].prompts", "must be a list of strings"]),
    ("json", '{"name": "broken", "labels": [{"name": "a", "prompts": ["x", 3]}]}',
     ["labels[0].prompts[1]", "must be a string"]),
    ("json", '{"name": "broken",\n "labels": [}', ["line 2", "not valid JSON"]),
    ("json", '{"name": "broken", "name": "again"}', ["'name' appears twice"]),
    ("json", '{"name": "", "labels": []}', ["name", "empty"]),
    ("json", '{"name": "broken", "labels": [{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]}',
     ["labels[0].parent", "cycle: a -> b -> a"]),
]

CSV_OK = """\
# name: broken
# description: a test
# templates: ["a video of {}."]
# settings: {"aggregate": "max"}
label,parent,description,enabled,prompts,synonyms
ball game,,,true,,
football,ball game,,true,"[""kicking""]",
"""

MALFORMED += [
    ("csv", CSV_OK.replace("synonyms\n", "synonyms,colour\n"), ["line 5", "column 'colour' is not a known column"]),
    ("csv", CSV_OK.replace("football,ball game", "football,ball gmae"),
     ["line 7, column parent", "did you mean 'ball game'"]),
    ("csv", CSV_OK + "football,,,true,,\n", ["line 8, column label", "already in the taxonomy"]),
    ("csv", CSV_OK + ",,,true,,\n", ["line 8, column label", "empty"]),
    ("csv", CSV_OK.replace('"[""kicking""]"', "kicking"), ["line 7, column prompts", "not a JSON list"]),
    ("csv", CSV_OK.replace('"[""kicking""]"', '"[""kicking"", 1]"'), ["line 7, column prompts", "string"]),
    ("csv", CSV_OK.replace("a video of {}.", "a video of {} {}"), ["line 3, templates[0]", "exactly one {}"]),
    ("csv", CSV_OK.replace('"max"}', '"max", "smoothing": 1}'), ["line 4, settings.smoothing", "unknown setting"]),
    ("csv", CSV_OK.replace("# settings: {", "# settings: ["), ["line 4", "not valid JSON"]),
    ("csv", CSV_OK.replace("ball game,,,true,,", "ball game,,,maybe,,"), ["line 6, column enabled", "true or false"]),
    ("csv", CSV_OK.replace("ball game,,,true,,", "ball game,,true,,"), ["line 6", "5 cells under 6 columns"]),
    ("csv", CSV_OK.replace("# description:", "# about:"), ["line 2", "# key: value"]),
    ("csv", CSV_OK.replace("label,", "name,"), ["line 5", "'name' is not a known column"]),
    ("csv", "# name: broken\n", ["line 2", "header row is missing"]),
    ("csv", CSV_OK + 'x,,"an open quote\n', ["line 8", "not valid CSV"]),
]


@pytest.mark.parametrize("fmt,text,expected", MALFORMED,
                         ids=[f"{fmt}-{i}" for i, (fmt, _, _) in enumerate(MALFORMED)])
def test_malformed_files_are_refused_whole(store, home, tmp_path, fmt, text, expected):
    store.create("keep")
    store.add_label("keep", "x")
    before = dump(home)
    path = tmp_path / f"broken.{fmt}"
    path.write_text(text)
    with pytest.raises(TaxonomyError) as caught:
        store.import_file(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, message
    with pytest.raises(TaxonomyError):  # nor over an existing one
        store.import_file(path, name="keep", replace=True)
    assert dump(home) == before


def test_the_good_versions_of_those_files_import(store, tmp_path):
    for fmt, text in [("yaml", YAML_OK), ("csv", CSV_OK)]:
        taxonomy = store.import_text(text, fmt, name=f"ok-{fmt}")
        assert [(l.name, l.parent, l.prompts) for l in taxonomy.labels] == [
            ("ball game", None, []), ("football", "ball game", ["kicking"])]


def test_missing_and_undecodable_files(store, tmp_path):
    with pytest.raises(TaxonomyError, match="no such file"):
        store.import_file(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("label\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(TaxonomyError, match="not UTF-8"):
        store.import_file(bad)
    with pytest.raises(TaxonomyError, match="unknown format 'xml'; valid formats: yaml, json, csv"):
        store.export("x", "xml")


def test_csv_layout_is_documented_shape(rich, store):
    text = store.export("rich", "csv")
    lines = text.splitlines()
    assert lines[0] == "# name: rich"
    assert lines[1] == '# description: "\\"Quoted\\", with a second\\nline and ünïcödé"'
    assert lines[2] == '# templates: ["a video of {}.", "{{literally}} {}"]'
    assert lines[3].startswith('# settings: {"reject_threshold": 0.3, "reject_on": "cosine"')
    assert lines[4] == "label,parent,description,enabled,prompts,synonyms"
    assert lines[6] == 'football,ball game,,true,"[""people kicking a \\""ball\\"", on grass"", ""a | b, c""]",' \
                       '"[""soccer"", ""fútbol""]"'
    assert textwrap.dedent(store.export("rich", "yaml")).startswith("name: rich\n")
