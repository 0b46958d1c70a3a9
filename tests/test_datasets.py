"""Your own data: CSV/TSV/JSON Lines and folder datasets, any number of classes, class weights."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import stages.tokenize
from stages.data import DataError
from stages.metrics import read_metrics
from stages.params import Dataset, validate
from stages.sources import assign_splits, read_records
from stages.train import class_weights
from tests import fakes
from tests.conftest import ROOT, TINY, make_project, project_env, run, run_main, set_key
from tests.test_pipeline import stages_run

TOKENIZE = {"vocab_size": 200, "max_len": 24, "padding": "post", "truncating": "pre", "lowercase": True}


def dataset(source: dict, **split: float) -> Dataset:
    return Dataset.model_validate({"source": source, "split": {"val_fraction": 0.2, **split}, "tokenize": TOKENIZE})


def splits_of(raw: Path, settings: Dataset) -> tuple[list[str], dict[str, int]]:
    assignment = assign_splits(read_records(settings.source, raw), settings, seed=0)
    return assignment.classes, {split: len(indices) for split, indices in assignment.indices.items()}


def test_csv_string_labels_without_a_test_split_are_split_stratified(tmp_path: Path):
    fakes.topics_csv(tmp_path / "topics.csv", {"sports": 40, "politics": 40, "cooking": 20})
    settings = dataset({"url": "topics.csv", "format": "csv", "text_column": "body", "label_column": "topic"})
    assignment = assign_splits(read_records(settings.source, tmp_path), settings, seed=0)
    assert assignment.classes == ["cooking", "politics", "sports"]  # sorted when not given
    sizes = {split: len(indices) for split, indices in assignment.indices.items()}
    assert sizes == {"train": 64, "val": 16, "test": 20}  # test_fraction 0.2 by default, then val 0.2 of train
    test_labels = assignment.labels[assignment.indices["test"]]
    assert np.bincount(test_labels).tolist() == [4, 8, 8]  # stratified: the 20/40/40 shares
    used = np.concatenate(list(assignment.indices.values()))
    assert len(np.unique(used)) == len(used) == 100  # disjoint


def test_tsv_with_split_column_and_given_class_order(tmp_path: Path):
    rows = [("a good one", "yes", "train"), ("a bad one", "no", "train")] * 10 + [("fine", "yes", "test")] * 3
    rows += [("awful", "no", "TEST")] * 3
    (tmp_path / "data.tsv").write_text("label\ttext\tpart\n" + "".join(f"{b}\t{a}\t{c}\n" for a, b, c in rows))
    settings = dataset(
        {"url": "https://example.org/d/data.tsv", "format": "tsv", "classes": ["no", "yes"], "split_column": "part"}
    )
    classes, sizes = splits_of(tmp_path, settings)
    assert classes == ["no", "yes"]
    assert sizes == {"train": 16, "val": 4, "test": 6}


def test_jsonl_integer_labels_sort_numerically(tmp_path: Path):
    lines = [json.dumps({"text": f"doc {i}", "label": i % 11}) for i in range(110)]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n\n")
    classes, sizes = splits_of(tmp_path, dataset({"url": "d.jsonl", "format": "jsonl"}, test_fraction=0.5))
    assert classes == [str(i) for i in range(11)]
    assert sum(sizes.values()) == 110


def test_folders_without_test_split(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as archive:
        for name in ("cats", "dogs", "birds"):
            for i in range(10):
                archive.writestr(f"pets/train/{name}/{i}.txt", f"{name} {i}")
    settings = dataset({"url": "pets.zip", "format": "folders", "path": "pets"}, test_fraction=0.3)
    classes, sizes = splits_of(tmp_path, settings)
    assert classes == ["birds", "cats", "dogs"]
    assert sizes == {"train": 16, "val": 5, "test": 9}


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        (["pets/train/fish/"], r"pets\.zip: no documents \(\*\.txt\) in pets/train/fish/; every split needs"),
        (["pets/test/"], r"pets\.zip: no pets/test/cats/ in the archive; expected <split>/<class>/\*\.txt for classes"),
    ],
    ids=["empty-class-folder", "test-folder-without-classes"],
)
def test_empty_folders_in_an_archive_count_as_folders(tmp_path: Path, folders: list[str], message: str):
    """As on disk: an empty class folder is a class without documents, an empty test/ a test split without them."""
    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as archive:
        for name in ("cats", "dogs"):
            archive.writestr(f"pets/train/{name}/0.txt", name)
        for folder in folders:
            archive.writestr(zipfile.ZipInfo(folder), b"")  # a name ending in / is a folder entry
    settings = dataset({"url": "pets.zip", "format": "folders", "path": "pets"})
    with pytest.raises(DataError, match=message):
        splits_of(tmp_path, settings)


@pytest.mark.parametrize(
    ("content", "source", "message"),
    [
        ("body,topic\nhi,a\n", {}, r"d\.csv:2: no 'text' column \(has: body, topic\); set the dataset's source"),
        ("text,label\nhi,a\nho,b\nhu,c\n", {"classes": ["a", "b"]}, r"label 'c' is not in source\.classes \(a, b\)"),
        ("text,label\nhi,a\nho,a\n", {}, r"need at least two classes, found 1 \(a\)"),
        ("text,label\nhi,\n", {}, r"d\.csv:2: empty 'label'; every row needs a label"),
        ("text,label,s\nhi,a,dev\n", {"split_column": "s"}, r"d\.csv:2: s='dev'; allowed: train, test"),
    ],
)
def test_bad_tables_fail_in_one_line_naming_the_row(tmp_path: Path, content: str, source: dict, message: str):
    (tmp_path / "d.csv").write_text(content)
    settings = dataset({"url": "d.csv", "format": "csv", **source})
    with pytest.raises(DataError, match=message):
        splits_of(tmp_path, settings)


def rows(count: int, separator: str = ",") -> str:
    """`count` two-class rows, text then label."""
    return "".join(f"doc {i}{separator}{'a' if i % 2 else 'b'}\n" for i in range(count))


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """A folder with params.yaml whose dataset `news` reads data/news/raw/news.<format>; cwd changed to it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in TINY.items():
        set_key(params, key, value)
    params["datasets"]["news"] = {"source": {"url": "news.csv", "format": "csv"}, "split": {"val_fraction": 0.2}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "data/news/raw").mkdir(parents=True)
    return tmp_path


def tokenize_news(project: Path, data: bytes, fmt: str, monkeypatch, capsys) -> tuple[int | str, str, str]:
    """tokenize@news on a file in `fmt` holding `data`, run as its CLI runs it."""
    name = f"news.{fmt}"
    edit = {"datasets.news.source.url": name, "datasets.news.source.format": fmt}
    params = yaml.safe_load((project / "params.yaml").read_text())
    for key, value in edit.items():
        set_key(params, key, value)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (project / "data/news/raw" / name).write_bytes(data)
    return run_main(stages.tokenize.main, ["--dataset", "news"], project, monkeypatch, capsys)


@pytest.mark.parametrize(
    ("fmt", "data", "line"),
    [
        (
            "csv",
            'text,label\nhi,"spo\nrts"\n',
            "error: data/news/raw/news.csv:3: label='spo\\nrts' holds a line break; a label is one line",
        ),
        (
            "jsonl",
            json.dumps({"text": "hi", "label": "spo\u2028rts"}) + "\n",
            "error: data/news/raw/news.jsonl:1: label='spo\\u2028rts' holds a line break; a label is one line",
        ),
        (
            "csv",
            "text,label,label\nhi,a,b\n",
            "error: data/news/raw/news.csv:1: 2 columns named 'label'; a column name must be unique",
        ),
        (
            "csv",
            "text,label\nhi,NaN\n",
            "error: data/news/raw/news.csv:2: label=NaN, a missing value; every row needs a label",
        ),
        (
            "jsonl",
            '{"text": "hi", "label": null}\n',
            "error: data/news/raw/news.jsonl:1: label=null, a missing value; every row needs a label",
        ),
        (
            "jsonl",
            '{"text": "hi", "label": NaN}\n',
            "error: data/news/raw/news.jsonl:1: label=nan, a missing value; every row needs a label",
        ),
        (
            "tsv",
            "text\tlabel\nhi\tthere\ta\n",
            "error: data/news/raw/news.tsv:2: 3 tab-separated fields, the header has 2; every row needs one per column",
        ),
        (
            "csv",
            "text,label\nhi\n",
            "error: data/news/raw/news.csv:2: 1 comma-separated fields, the header has 2; "
            "every row needs one per column",
        ),
    ],
    ids=[
        "csv-label-line-break",
        "jsonl-label-u2028",
        "two-label-columns",
        "nan-label",
        "null",
        "json-nan",
        "tsv-tab",
        "short-row",
    ],
)
def test_bad_table_rows_stop_tokenize_in_one_line_and_write_nothing(
    news: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, fmt: str, data: str, line: str
):
    separator = "\t" if fmt == "tsv" else ","
    body = (
        rows(40, separator)
        if fmt != "jsonl"
        else "".join(json.dumps({"text": f"d{i}", "label": i % 2}) + "\n" for i in range(40))
    )
    header, _, first = data.partition("\n") if fmt != "jsonl" else ("", "", data)
    content = (f"{header}\n{first}{body}" if fmt != "jsonl" else f"{first}{body}").encode()
    status, out, err = tokenize_news(news, content, fmt, monkeypatch, capsys)
    assert (status, out, err) == (2, "", line + "\n")
    assert not (news / "data/news/tokenized").exists() and not (news / "data/news/stats.json").exists()


def test_a_tsv_row_is_a_line_and_quotes_are_ordinary_characters(tmp_path: Path):
    """An opening quote closed rows later does not join them: 100 lines are 100 documents."""
    (tmp_path / "d.tsv").write_text('text\tlabel\n"opens a quote\ta\n' + rows(98, "\t") + 'closes it"\tb\n')
    records = list(read_records(dataset({"url": "d.tsv", "format": "tsv"}).source, tmp_path))
    assert len(records) == 100
    assert records[0][1:] == ('"opens a quote', "a") and records[-1][1:] == ('closes it"', "b")


def test_numeric_labels_compare_as_numbers(tmp_path: Path):
    lines = [json.dumps({"text": f"doc {i}", "label": [1, 1.0, "1", 2, 2.0, " 2 "][i % 6]}) for i in range(60)]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    classes, sizes = splits_of(tmp_path, dataset({"url": "d.jsonl", "format": "jsonl"}))
    assert classes == ["1", "2"] and sum(sizes.values()) == 60


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_a_byte_order_mark_is_read_as_the_encoding_marker(tmp_path: Path, fmt: str):
    """The same documents and classes with and without a UTF-8 BOM, in every table format."""
    if fmt == "jsonl":
        content = "".join(json.dumps({"text": f"doc {i}", "label": i % 2}) + "\n" for i in range(40))
    else:
        separator = "\t" if fmt == "tsv" else ","
        content = f"text{separator}label\n" + rows(40, separator)
    (tmp_path / f"plain.{fmt}").write_text(content)
    (tmp_path / f"bom.{fmt}").write_bytes(b"\xef\xbb\xbf" + content.encode())
    plain, bom = (
        list(read_records(dataset({"url": f"{name}.{fmt}", "format": fmt}).source, tmp_path))
        for name in ("plain", "bom")
    )
    assert bom == plain and len(bom) == 40


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_a_cell_of_any_length_is_read_whole(tmp_path: Path, fmt: str):
    separator = "\t" if fmt == "tsv" else ","
    huge = "great film " * 100_000  # 1.1 million characters, past the csv module's default cell limit
    (tmp_path / f"d.{fmt}").write_text(f"text{separator}label\n{huge}{separator}a\n" + rows(9, separator))
    records = list(read_records(dataset({"url": f"d.{fmt}", "format": fmt}).source, tmp_path))
    assert records[0] == ("train", huge, "a") and len(records) == 10


def test_bad_json_line_is_named(tmp_path: Path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": 1}\n{"text": oops}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: not valid JSON"):
        splits_of(tmp_path, dataset({"url": "d.jsonl", "format": "jsonl"}))


def test_dataset_names_are_checked():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["datasets"]["My-Data"] = params["datasets"]["imdb"]
    with pytest.raises(Exception, match=r"^datasets\.My-Data: not a valid name; use lowercase letters"):
        validate(params)


def test_balanced_class_weights_counter_imbalance():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    weights = class_weights(labels, 3, "balanced")
    assert weights == pytest.approx({0: 100 / 180, 1: 100 / 90, 2: 100 / 30})
    assert sum(weights[c] * np.sum(labels == c) for c in range(3)) == pytest.approx(len(labels))
    assert class_weights(labels, 3, "none") is None


@pytest.mark.slow
def test_three_class_csv_end_to_end_with_dvc_and_predict(tmp_path: Path):
    """A user's CSV added to params.yaml only: download -> tokenize -> train -> evaluate -> report, then predict."""
    project = tmp_path / "project"
    topics = {
        "source": {"url": "inputs/topics.csv", "format": "csv", "text_column": "body", "label_column": "topic"},
        "split": {"val_fraction": 0.15, "test_fraction": 0.25},
        "tokenize": TOKENIZE,
        "class_weight": "balanced",
    }
    changes = {
        "datasets.topics": topics,
        "architectures": {"gru": {"units": 16}, "cnn_rnn": {"filters": 16, "units": 16, "cell": "gru"}},
        "train.epochs": 8,
        "train.patience": 8,
        "train.learning_rate": 0.01,
        "train.embedding_dim": 16,
        "train.batch_size": 16,
    }
    make_project(project, None, changes, shrink=False)
    fakes.topics_csv(project / "inputs/topics.csv", {"sports": 120, "politics": 80, "cooking": 40})
    env = project_env(None)
    result = run(["dvc", "repro", "report@topics"], project, env)
    assert stages_run(result.stdout) == {
        "download@topics",
        "tokenize@topics",
        "baseline@topics",
        "report@topics",
        *(f"{stage}@topics-{arch}" for stage in ("train", "evaluate") for arch in ("gru", "cnn_rnn")),
    }
    classes = ["cooking", "politics", "sports"]
    stats = json.loads((project / "data/topics/stats.json").read_text())
    assert stats["classes"] == classes
    assert stats["train"]["imbalance"] == pytest.approx(3, abs=0.1)
    for name in ("gru", "cnn_rnn", "baseline"):
        metrics = read_metrics(project / f"metrics/topics/{name}.json")
        assert set(metrics["per_class"]) == set(classes)
        assert all(0 <= metrics[key] <= 1 for key in ("accuracy", "f1", "weighted_f1", "roc_auc"))
        assert metrics["log_loss"] > 0
    assert json.loads((project / "metrics/topics/baseline.json").read_text())["accuracy"] >= 0.9
    assert json.loads((project / "metrics/topics/gru.json").read_text())["accuracy"] >= 0.8
    with open(project / "reports/topics/predictions/gru.csv") as f:
        rows = list(csv.DictReader(f))
    assert {row["actual"] for row in rows} == set(classes)
    assert len(rows) == stats["test"]["documents"] == 60
    report = (project / "reports/topics/report.md").read_text()
    assert "| split | documents | cooking / politics / sports |" in report

    texts = ["The striker scored a late goal in the match.", "Simmer the garlic in butter, then bake."]
    predicted = run(["python", "-m", "stages.predict", "--dataset", "topics", "--arch", "gru", *texts], project, env)
    lines = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [line["label"] for line in lines] == ["sports", "cooking"]
    for line in lines:
        assert set(line["probabilities"]) == set(classes)
        assert sum(line["probabilities"].values()) == pytest.approx(1, abs=1e-3)
