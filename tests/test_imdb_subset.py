"""End to end on real IMDB reviews from the offline mirror: a 2,000/2,000 subset, a recurrent and a convolutional
model and the baseline (every architecture runs end to end on the tiny data of tests/test_pipeline.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import keep_only, make_project, project_env, run
from tests.test_pipeline import check_metrics, stages_run

SUBSET = {
    "datasets.imdb.split.train_docs": 2000,
    "datasets.imdb.split.test_docs": 2000,
    "datasets.imdb.tokenize.vocab_size": 5000,
    "datasets.imdb.tokenize.max_len": 128,
    "train.epochs": 6,
    "train.batch_size": 64,  # 1,800 training reviews: small batches, for enough steps
    "train.embedding_dim": 32,
    "architectures.seq_cnn.train.embedding_dim": 600,  # as the quick preset: half the fit time of 1,500
}
SCORED = ("gru", "seq_cnn")  # one recurrent, one convolutional: the others run end to end in the tiny project


@pytest.mark.slow
def test_real_subset_trains_and_scores(tmp_path: Path, shared_data: Path):
    project = make_project(tmp_path / "project", shared_data, SUBSET, shrink=False)
    keep_only(project, list(SCORED))
    result = run(["dvc", "repro", "report@imdb"], project, project_env(shared_data))
    assert {f"train@imdb-{arch}" for arch in SCORED} <= stages_run(result.stdout)
    stats = json.loads((project / "data/imdb/stats.json").read_text())
    assert stats["test"]["documents"] == 2000
    assert stats["train"]["documents"] + stats["val"]["documents"] == 2000
    metrics = {arch: check_metrics(project, "imdb", arch) for arch in SCORED}
    accuracy = {arch: values["accuracy"] for arch, values in metrics.items()}
    print("test accuracy on the 2,000-review subset:", accuracy)
    for arch in SCORED:  # with vocab_size 20,000 seq_cnn stays at chance on 1,800 reviews: hence 5,000
        assert accuracy[arch] >= 0.70, accuracy
    baseline = json.loads((project / "metrics/imdb/baseline.json").read_text())
    assert baseline["accuracy"] >= 0.75
