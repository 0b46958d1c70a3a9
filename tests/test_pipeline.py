"""The real `dvc repro` on tiny data: every stage, every metric key, incremental reruns, bad params."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from stages import evaluate, generate, report
from stages.metrics import (
    CLASSIFIER_COLUMNS,
    CLASSIFIER_HEADLINE,
    LANGUAGE_MODEL_COLUMNS,
    LANGUAGE_MODEL_HEADLINE,
    classification_metrics,
    details_path,
    language_model_metrics,
    read_metrics,
)
from stages.params import classifier_train, read_yaml, validate
from stages.registry import ARCHITECTURES, predicts_every_step
from tests.conftest import TINY, edit_params, keep_only, make_project, project_env, run, run_main

ARCHS = sorted(ARCHITECTURES)
LANGUAGE_MODELS = sorted(filter(predicts_every_step, ARCHITECTURES))


def metric_keys(project: Path, dataset: str, arch: str) -> set[str]:
    """What a metrics file holds: the scores of `stages.metrics` and the training summary, nothing else. Derived
    from them, so adding a metric touches `stages/metrics.py` alone."""
    summary = json.loads((project / f"data/{dataset}/models/{arch}.json").read_text())
    if dataset == "shakespeare":
        scores = language_model_metrics(np.array([1, 2]), np.zeros((2, 6)))
    else:
        scores = classification_metrics(np.array([0, 1]), np.array([[0.6, 0.4], [0.3, 0.7]]), ["neg", "pos"])
    return set(scores) | set(summary)


def check_metrics(project: Path, dataset: str, arch: str) -> dict:
    """A metrics file with exactly the headline keys, its details file with the rest, the report's columns among
    them; returned together for further checks."""
    path = project / f"metrics/{dataset}/{arch}.json"
    headline = LANGUAGE_MODEL_HEADLINE if dataset == "shakespeare" else CLASSIFIER_HEADLINE
    assert set(json.loads(path.read_text())) == set(headline), arch
    assert not set(json.loads(details_path(path).read_text())) & set(headline), arch
    metrics = read_metrics(path)
    assert set(metrics) == metric_keys(project, dataset, arch), arch
    columns = LANGUAGE_MODEL_COLUMNS if dataset == "shakespeare" else CLASSIFIER_COLUMNS
    assert set(columns) <= set(metrics), arch
    return metrics


def has_row(report: str, arch: str) -> bool:
    """The classification report's row of `arch`: its accuracy and interval, `≈` where tied with the best."""
    return re.search(rf"^\| {arch}( ≈)? \| [01]\.\d{{4}} \[", report, re.M) is not None


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def test_full_repro_writes_every_output(tiny_project: Path):
    params, tokenized = validate(read_yaml(tiny_project / "params.yaml")), TINY["datasets.imdb.tokenize.max_len"]
    for arch in ARCHS:
        metrics = check_metrics(tiny_project, "imdb", arch)
        assert 0 <= metrics["accuracy"] <= 1 and metrics["epochs"] == 1
        assert metrics["max_len"] == min(classifier_train(params, arch).max_len, tokenized), arch  # at most tokenized
        assert (tiny_project / f"data/imdb/models/{arch}.keras").is_file()
        predictions = (tiny_project / f"reports/imdb/predictions/{arch}.csv").read_text().splitlines()
        assert predictions[0] == "actual,predicted,probability" and len(predictions) == 121
        assert (tiny_project / f"dvclive/imdb/{arch}/plots/metrics/eval/accuracy.tsv").is_file()
    baseline = json.loads((tiny_project / "metrics/imdb/baseline.json").read_text())
    assert set(baseline) == set(CLASSIFIER_HEADLINE)
    assert baseline["accuracy"] > 0.9  # the fake reviews' sentiment words are easy for TF-IDF
    predictions = (tiny_project / "reports/imdb/predictions/baseline.csv").read_text().splitlines()
    assert predictions[0] == "actual,predicted,probability" and len(predictions) == 121  # paired with the networks
    report = (tiny_project / "reports/imdb/report.md").read_text()
    assert all(has_row(report, arch) for arch in ARCHS)
    assert "| baseline (TF-IDF + logistic regression) " in report and "McNemar's exact test" in report
    assert re.search(r"is the most accurate model; .* Against the TF-IDF baseline", report)
    lm_report = (tiny_project / "reports/shakespeare/report.md").read_text()
    assert all(
        re.search(rf"^\| {arch} \| \d\.\d{{4}} \[\d\.\d{{4}}, \d\.\d{{4}}\] \|", lm_report, re.M)
        for arch in LANGUAGE_MODELS
    )
    for figure in ("comparison", "confusion", "accuracy_vs_time"):
        assert (tiny_project / f"reports/imdb/figures/{figure}.png").stat().st_size > 1000
    assert (tiny_project / "reports/shakespeare/figures/comparison.png").stat().st_size > 1000


COMPARISON_CHARTS = {
    "imdb": ("val_accuracy", "train_loss", "test_accuracy"),
    "shakespeare": ("val_loss", "train_loss", "test_cross_entropy"),
}


def test_plots_page_is_one_chart_per_question_with_every_model(tiny_copy: Path):
    """`dvc plots show` as a reader opens it: the comparison charts alone, each holding every model's series (the
    baseline's test accuracy among them), from the files the report's figure draws, on a page that carries Vega
    itself, so it opens offline. One model's curves and confusion matrix are still drawn on request."""
    env = project_env(None)
    shown = json.loads(run(["dvc", "plots", "show", "--json"], tiny_copy, env).stdout)["data"]
    charts = [f"reports/{dataset}/plots/{name}.csv" for dataset, names in COMPARISON_CHARTS.items() for name in names]
    assert sorted(shown) == sorted(charts)
    models = {"imdb": set(ARCHS), "shakespeare": set(LANGUAGE_MODELS)}
    for dataset, names in COMPARISON_CHARTS.items():
        for name in names:
            (chart,) = shown[f"reports/{dataset}/plots/{name}.csv"]
            values = chart["content"]["data"]["values"]
            expected = models[dataset] | ({"baseline"} if name == "test_accuracy" else set())
            assert {row["model"] for row in values} == expected, name
            assert all(float(row[name]) >= 0 for row in values), name
    run(["dvc", "plots", "show"], tiny_copy, env)  # into dvc_plots/, which git ignores
    html = (tiny_copy / "dvc_plots/index.html").read_text()
    assert "cdn.jsdelivr" not in html and "vega@5.33.1" in html
    assert len(html.encode()) < 2_000_000
    assert "dvc_plots" not in run(["git", "status", "--porcelain", "--ignored=no"], tiny_copy).stdout
    on_request = [
        ["dvclive/imdb/lstm/plots/metrics", "-x", "step"],
        ["reports/imdb/predictions/lstm.csv", "-t", "confusion", "-x", "predicted", "-y", "actual"],
    ]
    drawn = [
        json.loads(run(["dvc", "plots", "show", "--json", *args], tiny_copy, env).stdout)["data"] for args in on_request
    ]
    assert len(drawn[0]) == 4 and list(drawn[1]) == ["reports/imdb/predictions/lstm.csv"]


@pytest.mark.slow
def test_every_keras_stage_runs_on_jax_too(tiny_copy: Path, tmp_path: Path):
    """The README's faster backend on a CPU: under `KERAS_BACKEND=jax` `dvc repro` retrains and rescores classifiers
    and language models and rewrites both reports; each train stage says it trained on JAX, and the classifiers'
    metrics have every key. Two classifiers (simple_rnn trains on unbucketed batches with its own train overrides,
    seq_cnn on bucketed whole reviews) and one language model keep it short: test_registry.py trains every
    architecture on JAX. Download, tokenize and the baseline never import Keras: the tiny project's stand."""
    kept = ["seq_cnn", "simple_rnn"]
    keep_only(tiny_copy, kept, ["gru"])
    env = project_env(None) | {"KERAS_BACKEND": "jax", "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    keras_stages = [
        *(f"{stage}@imdb-{arch}" for arch in kept for stage in ("train", "evaluate")),
        "report@imdb",
        *(f"{stage}@shakespeare-gru" for stage in ("lm_train", "lm_evaluate")),
        "lm_report@shakespeare",
    ]
    output = run(["dvc", "repro", "--force", "--single-item", *keras_stages], tiny_copy, env).stdout
    assert stages_run(output) == set(keras_stages)
    trained = re.findall(r"^(lm_train|train)@\S+: wrote .* on (\w+)\)$", output, re.M)
    assert sorted(trained) == [("lm_train", "jax"), ("train", "jax"), ("train", "jax")]
    for arch in kept:
        assert 0 <= check_metrics(tiny_copy, "imdb", arch)["accuracy"] <= 1, arch
        assert json.loads((tiny_copy / f"data/imdb/models/{arch}.json").read_text())["backend"] == "jax"
    assert all(has_row((tiny_copy / "reports/imdb/report.md").read_text(), arch) for arch in kept)
    assert "| gru |" in (tiny_copy / "reports/shakespeare/report.md").read_text()


def test_a_stage_prints_its_own_lines_and_no_native_logs(tiny_copy: Path):
    """TensorFlow's C++ absl lines (`E0000 ... NodeDef mentions ...`) look like errors: a stage's console holds
    its own lines and Keras' progress only. Run as dvc.yaml runs it."""
    env = project_env(None) | {"TF_ENABLE_ONEDNN_OPTS": "0"}
    result = run(["python", "-m", "stages.evaluate", "--dataset", "imdb", "--arch", "gru"], tiny_copy, env)
    assert result.stdout.startswith("evaluate@imdb-gru: wrote metrics/imdb/gru.json"), result.stdout
    assert result.stderr == "", result.stderr


def test_dag_and_metrics_show(tiny_project: Path):
    env = project_env(None)
    dag = run(["dvc", "dag", "--dot"], tiny_project, env).stdout
    edges = set(re.findall(r'"([^"]+)" -> "([^"]+)"', dag))
    assert {
        ("download@imdb", "tokenize@imdb"),
        ("download@imdb", "baseline@imdb"),
        ("baseline@imdb", "report@imdb"),
    } <= edges
    for arch in ARCHS:
        assert {
            ("tokenize@imdb", f"train@imdb-{arch}"),
            (f"train@imdb-{arch}", f"evaluate@imdb-{arch}"),
            (f"evaluate@imdb-{arch}", "report@imdb"),
        } <= edges
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], tiny_project, env).stdout)
    files = shown[""]["data"]
    language_models = {f"metrics/shakespeare/{arch}.json" for arch in LANGUAGE_MODELS}
    assert {f"metrics/imdb/{arch}.json" for arch in ARCHS} | {"metrics/imdb/baseline.json"} | language_models == set(
        files
    )
    table = run(["dvc", "metrics", "show"], tiny_project, env).stdout.splitlines()
    assert max(map(len, table)) <= 160, table[0]  # every metrics file's headline keys fit a screen


def test_noop_repro_reruns_nothing(tiny_project: Path):
    result = run(["dvc", "repro"], tiny_project, project_env(None))
    assert stages_run(result.stdout) == set()
    assert "Data and pipelines are up to date." in result.stdout


def test_one_architecture_change_reruns_only_it(tiny_copy: Path):
    edit_params(tiny_copy, {"architectures.lstm.units": 12})
    result = run(["dvc", "repro"], tiny_copy, project_env(None))
    assert stages_run(result.stdout) == {"train@imdb-lstm", "evaluate@imdb-lstm", "report@imdb"}


def test_invalid_params_fail_in_one_line_under_repro(tiny_copy: Path):
    edit_params(tiny_copy, {"architectures.gru.dropout": 1.5})
    before = (tiny_copy / "metrics/imdb/gru.json").read_text()
    result = run(["dvc", "repro"], tiny_copy, project_env(None), check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert errors == ["error: architectures.gru.dropout: Input should be less than 1 (got 1.5)"]
    assert (tiny_copy / "metrics/imdb/gru.json").read_text() == before


def test_region_width_that_does_not_split_fails_in_one_line(tiny_copy: Path):
    """seq_cnn cuts each word's embedding into one part per word of its region: 1000 does not split in 3."""
    edit_params(tiny_copy, {"architectures.seq_cnn.train.embedding_dim": 1000})
    before = (tiny_copy / "metrics/imdb/seq_cnn.json").read_text()
    result = run(["dvc", "repro", "evaluate@imdb-seq_cnn"], tiny_copy, project_env(None), check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert errors == [
        "error: embedding_dim 1000 (train.embedding_dim, or the architecture's own train.embedding_dim) is not a "
        "multiple of region 3: the layer reads one equal part of each word's embedding per word of its region"
    ]
    assert not (tiny_copy / "data/imdb/models/seq_cnn.keras").exists()
    assert not (tiny_copy / "data/imdb/live/seq_cnn").exists()
    assert (tiny_copy / "metrics/imdb/seq_cnn.json").read_text() == before


def written_files(project: Path) -> dict[Path, int]:
    """What a stage may write under metrics/ and reports/, with its modification time."""
    files = [path for folder in ("metrics", "reports") for path in (project / folder).rglob("*") if path.is_file()]
    return {path: path.stat().st_mtime_ns for path in files}


def test_a_stage_run_by_hand_without_an_input_names_its_stage_and_writes_nothing(tiny_copy: Path):
    """Under `dvc repro` DVC remakes a missing input first; run by hand, a stage says which stage makes it."""
    missing = "reports/imdb/predictions/lstm.csv"
    (tiny_copy / missing).unlink()
    before = written_files(tiny_copy)
    result = run(["python", "-m", "stages.report", "--dataset", "imdb"], tiny_copy, project_env(None), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {missing}: missing; run `dvc repro evaluate@imdb-lstm` first"]
    assert written_files(tiny_copy) == before


@pytest.mark.parametrize(
    ("main", "args", "missing", "stage"),
    [
        (report.main, "--dataset imdb", "data/imdb/stats.json", "tokenize@imdb"),
        (report.main, "--dataset shakespeare", "reports/shakespeare/samples/gru.json", "lm_evaluate@shakespeare-gru"),
        # as after `dvc pull train@imdb-gru`, which brings a model but not the vocabulary it was trained with
        # (tests/test_remote.py pulls so for `stages.predict`)
        (evaluate.main, "--dataset imdb --arch gru", "data/imdb/tokenized/classes.txt", "tokenize@imdb"),
        (
            generate.main,
            "--dataset shakespeare --arch gru",
            "data/shakespeare/tokenized/vocab.json",
            "lm_tokenize@shakespeare",
        ),
    ],
    ids=["report-stats", "report-samples", "evaluate-classes", "generate-vocab"],
)
def test_more_stages_without_an_input_name_its_stage_and_write_nothing(
    tiny_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    main: Callable[[list[str] | None], None],
    args: str,
    missing: str,
    stage: str,
):
    """The same for other inputs and stages, each as its `__main__` runs it, in-process."""
    (tiny_copy / missing).unlink()
    before = written_files(tiny_copy)
    status, out, err = run_main(main, args.split(), tiny_copy, monkeypatch, capsys)
    assert (status, out, err) == (2, "", f"error: {missing}: missing; run `dvc repro {stage}` first\n")
    assert written_files(tiny_copy) == before


def test_repro_from_fresh_clone_takes_the_mirror(tmp_path: Path, fake_mirror: Path):
    """Only download and tokenize: the no-network, mirror-only path a new user takes."""
    project = make_project(tmp_path / "project", fake_mirror, TINY)
    result = run(["dvc", "repro", "tokenize@imdb"], project, project_env(fake_mirror))
    assert stages_run(result.stdout) == {"download@imdb", "tokenize@imdb"}
    assert f"from mirror {fake_mirror}" in result.stdout
    stats = json.loads((project / "data/imdb/stats.json").read_text())
    assert stats["train"]["documents"] + stats["val"]["documents"] == 120
