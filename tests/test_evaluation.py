"""Evaluation: reading labelled sets, k-shot splits, metrics against scikit-learn, PNG plots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openvid.errors import OpenvidError, TaxonomyError
from openvid.evaluate import (
    Dataset,
    Item,
    evaluate,
    kshot_split,
    plot_confusion,
    plot_kshot_curve,
    read_dataset,
    top_k_accuracy,
)

PNG = b"\x89PNG\r\n\x1a\n"


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a video")  # reading a set never opens the files
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "set"
    for name in ("b.mp4", "a.MOV", "deeper/c.mkv", "notes.txt", ".hidden/d.mp4"):
        touch(root / "pole vault" / name)
    touch(root / "archery" / "x.webm")
    (root / "rowing").mkdir()
    touch(root / "rowing" / "readme.md")
    touch(root / "loose.mp4")
    return root


def test_folder_of_label_folders(folder):
    data = read_dataset(folder)
    assert data.labels == ["archery", "pole vault"]
    assert [(i.path.relative_to(folder).as_posix(), i.label) for i in data.items] == [
        ("archery/x.webm", "archery"),
        ("pole vault/a.MOV", "pole vault"), ("pole vault/b.mp4", "pole vault"),
        ("pole vault/deeper/c.mkv", "pole vault")]
    assert all(i.start_s is None and i.end_s is None for i in data.items)
    assert any("'rowing' has no video files" in w for w in data.warnings)
    assert any("1 video file(s) directly in" in w for w in data.warnings)


def test_csv_with_relative_paths_and_times(tmp_path):
    for name in ("a.mp4", "b.mp4", "clips/c.mp4"):
        touch(tmp_path / "videos" / name)
    (tmp_path / "set.csv").write_text(
        "\ufeffpath,label,start,end,split\n"
        "videos/a.mp4,archery,,,train\n"
        "\n"
        f"{tmp_path / 'videos' / 'b.mp4'},rowing,1.5,4,test\n"
        "videos/clips/c.mp4,\"pole vault\",2,,test\n"
        "videos/a.mp4,archery,,,train\n", encoding="utf-8")
    data = read_dataset(tmp_path / "set.csv")
    assert data.items == [
        Item(tmp_path / "videos" / "a.mp4", "archery"),
        Item(tmp_path / "videos" / "b.mp4", "rowing", 1.5, 4.0),
        Item(tmp_path / "videos" / "clips" / "c.mp4", "pole vault", 2.0, None)]
    assert any("'split' ignored" in w for w in data.warnings)
    assert any("line 6 repeats line 2" in w for w in data.warnings)


def test_bad_csv_rows_are_named_by_line_together(tmp_path):
    touch(tmp_path / "a.mp4")
    (tmp_path / "set.csv").write_text(
        "path,label,start,end\n"
        "a.mp4,archery,0,2\n"
        "missing.mp4,archery\n"
        "a.mp4,,0,1\n"
        "a.mp4,archery,3,1\n"
        "a.mp4,archery,soon,\n"
        "a.mp4,archery,0,1,extra\n")
    with pytest.raises(OpenvidError) as error:
        read_dataset(tmp_path / "set.csv")
    message = str(error.value)
    assert "5 bad row(s)" in message
    for expected in ("line 3: ", "missing.mp4: no such file", "line 4: no label", "line 5: start 3 s is not before end 1 s",
                     "line 6: start 'soon' is not a number", "line 7: 5 fields, the header has 4"):
        assert expected in message
    (tmp_path / "nolabel.csv").write_text("file,label\n")
    with pytest.raises(OpenvidError, match="line 1: .*no 'path' column"):
        read_dataset(tmp_path / "nolabel.csv")
    with pytest.raises(OpenvidError, match="no such file or folder"):
        read_dataset(tmp_path / "nothing")
    (tmp_path / "set.txt").write_text("")
    with pytest.raises(OpenvidError, match="a .csv file"):
        read_dataset(tmp_path / "set.txt")


def test_labels_are_checked_against_the_taxonomy_before_anything_runs(folder):
    with pytest.raises(TaxonomyError, match=r"1 label\(s\) the taxonomy does not have: 'archery' \(did you mean "
                                            r"'archer'\?\)"):
        read_dataset(folder, known_labels=["archer", "pole vault", "rowing"])
    data = read_dataset(folder, known_labels=["Archery", "pole_vault"])  # case and "_" are forgiven when unique
    assert data.labels == ["Archery", "pole_vault"]
    data = read_dataset(folder, known_labels={"archery": "target archery", "PoleVault": "pole vault"})
    assert data.labels == ["target archery", "pole vault"]


def dataset(counts):
    items = [Item(f"/v/{label}/{i}.mp4", label) for label, n in counts.items() for i in range(n)]
    return Dataset(items)


def test_kshot_split_is_deterministic_nested_and_skips_small_labels():
    data = dataset({"a": 10, "b": 6, "c": 2})
    two = kshot_split(data, 2, seed=3)
    shuffled = kshot_split(Dataset(list(reversed(data.items))), 2, seed=3)  # input order does not matter
    assert sorted(map(str, shuffled.support)) == sorted(map(str, two.support))
    assert sorted(map(str, shuffled.query)) == sorted(map(str, two.query))
    assert kshot_split(data, 2, seed=3) == two
    assert two.skipped == ["c"] and "'c' has 2 item(s), needs more than 2" in two.warnings[0]
    assert [i.label for i in two.support] == ["a", "a", "b", "b"]
    assert len(two.query) == 8 + 4 and not set(two.support) & set(two.query)
    four = kshot_split(data, 4, seed=3)
    assert {i for i in two.support} < {i for i in four.support}  # nested supports
    assert kshot_split(data, 2, seed=4).support != two.support
    fixed = [kshot_split(data, k, seed=3, max_k=4) for k in (1, 2, 4)]
    assert fixed[0].query == fixed[1].query == fixed[2].query == four.query
    assert fixed[1].support == two.support
    zero = kshot_split(data, 0, seed=3)
    assert zero.support == [] and len(zero.query) == 18 and zero.skipped == []
    with pytest.raises(OpenvidError, match="max_k"):
        kshot_split(data, 4, max_k=2)


def test_metrics_by_hand():
    labels = ["a", "b", "c", "d"]
    scores = np.array([[0.9, 0.1, 0.0, 0.0],   # a -> a
                       [0.2, 0.7, 0.1, 0.0],   # a -> b
                       [0.1, 0.8, 0.1, 0.0],   # b -> b
                       [0.5, 0.1, 0.4, 0.0]])  # c -> a
    report = evaluate([0, 0, 1, 2], scores, labels, top_k=2)
    assert report.top1 == 0.5 and report.top5 == 1.0  # top_k=2: every true label is in the two highest
    assert report.per_class == {"a": 0.5, "b": 1.0, "c": 0.0, "d": None}
    # F1: a = 2*1/(2+2) = 0.5, b = 2*1/(1+2) = 2/3, c = 0; d is never true or predicted: left out
    assert report.macro_f1 == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert report.confusion_labels == ["a", "b", "c"]
    assert report.confusion.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert report.mean_class_accuracy == pytest.approx(0.5)
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["per_class"] == {"a": {"accuracy": 0.5, "support": 2}, "b": {"accuracy": 1.0, "support": 1},
                                    "c": {"accuracy": 0.0, "support": 1}}
    assert as_json["confusion"]["counts"] == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert top_k_accuracy([3], np.array([[0.2, 0.2, 0.2, 0.1]]), 3) == 0.0


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_metrics_equal_scikit_learns():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    n_labels, n = 12, 300
    truth = rng.integers(0, 9, n)  # labels 9..11 are never true; some are predicted
    scores = rng.normal(size=(n, n_labels))
    scores[np.arange(n), truth] += 1.2
    labels = [f"label {i}" for i in range(n_labels)]
    report = evaluate(truth, scores, labels)
    predicted = scores.argmax(axis=1)
    assert report.top1 == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert report.top5 == pytest.approx(metrics.top_k_accuracy_score(truth, scores, k=5, labels=range(n_labels)))
    assert report.macro_f1 == pytest.approx(metrics.f1_score(truth, predicted, average="macro", zero_division=0))
    involved = sorted(set(truth) | set(predicted))
    assert report.confusion_labels == [labels[i] for i in involved]
    np.testing.assert_array_equal(report.confusion, metrics.confusion_matrix(truth, predicted, labels=involved))
    recall = metrics.recall_score(truth, predicted, labels=range(9), average=None)
    assert [report.per_class[labels[i]] for i in range(9)] == pytest.approx(list(recall))
    assert all(report.per_class[labels[i]] is None for i in range(9, 12))
    assert report.mean_class_accuracy == pytest.approx(metrics.balanced_accuracy_score(truth, predicted))


def test_metrics_refuse_mismatched_input():
    with pytest.raises(OpenvidError, match=r"scores must be \[items, labels\] = \[2, 3\]"):
        evaluate([0, 1], np.zeros((2, 4)), ["a", "b", "c"])
    with pytest.raises(OpenvidError, match="must lie in 0..2"):
        evaluate([0, 3], np.zeros((2, 3)), ["a", "b", "c"])


def test_plots_are_pngs(tmp_path):
    labels = [f"a rather long label number {i}" for i in range(50)]
    rng = np.random.default_rng(1)
    confusion = rng.integers(0, 5, (50, 50)) + np.diag(np.full(50, 20))
    path = plot_confusion(confusion, labels, tmp_path / "out" / "confusion.png", title="50 labels")
    small = plot_confusion(confusion[:4, :4], labels[:4], tmp_path / "small.png", normalize=False)
    curve = plot_kshot_curve({"cache": [(1, 0.4), (2, 0.5), (4, 0.62)], "probe": [(2, 0.48, 0.02), (4, 0.66, 0.03)]},
                             tmp_path / "curve.png", zero_shot=0.35, title="k-shot")
    for written in (path, small, curve):
        data = written.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
    with pytest.raises(OpenvidError, match="must be 3 x 3"):
        plot_confusion(confusion[:4, :4], labels[:3], tmp_path / "bad.png")
    with pytest.raises(OpenvidError, match="no k-shot points"):
        plot_kshot_curve({}, tmp_path / "none.png")
