"""Your own data: CSV/TSV/JSON Lines and folder datasets, any number of classes, class weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages.data import DataError, assign_splits, read_records
from stages.params import Dataset, validate
from stages.train import class_weights
from tests import fakes
from tests.conftest import ROOT, make_project, project_env, run
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
    for name in ("cats", "dogs", "birds"):
        folder = tmp_path / "pets" / "train" / name
        folder.mkdir(parents=True)
        for i in range(10):
            (folder / f"{i}.txt").write_text(f"{name} {i}")
    settings = dataset({"url": "pets.zip", "format": "folders", "path": "pets"}, test_fraction=0.3)
    classes, sizes = splits_of(tmp_path, settings)
    assert classes == ["birds", "cats", "dogs"]
    assert sizes == {"train": 16, "val": 5, "test": 9}


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
        metrics = json.loads((project / f"metrics/topics/{name}.json").read_text())
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
