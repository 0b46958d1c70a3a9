"""The README's experiment workflows with real DVC: overrides, sweeps, branches, incremental reruns."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from stages import UserError
from stages.best_experiment import best_experiment, metric_column
from tests.conftest import WALL_TIMES, edit_params, git, keep_only, project_env, run
from tests.test_pipeline import stages_run

ENV = project_env(None)
# The incremental-rerun tests narrow params.yaml to two architectures: every train@ stage comes from one
# template, so two (a recurrent one and seq_cnn, which reads the whole review) show what all would do.
KEPT = ["lstm", "seq_cnn"]
KEPT_TRAIN_AND_EVALUATE = {f"{stage}@imdb-{arch}" for arch in KEPT for stage in ("train", "evaluate")}


@pytest.fixture
def committed(tiny_project: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny project with its dvc.lock and results committed, as in the real repo."""
    project = tmp_path / "committed"
    shutil.copytree(tiny_project, project, symlinks=True)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "results")
    return project


@pytest.mark.slow
def test_shared_training_change_reruns_every_architecture_only(committed: Path):
    keep_only(committed, KEPT)
    assert stages_run(run(["dvc", "repro"], committed, ENV).stdout) == set()  # narrowing alone reruns nothing
    edit_params(committed, {"train.batch_size": 16})
    assert stages_run(run(["dvc", "repro"], committed, ENV).stdout) == KEPT_TRAIN_AND_EVALUATE | {"report@imdb"}


@pytest.mark.slow
def test_tokenize_change_reruns_from_tokenize_on(committed: Path):
    """A dataset's entry is one dependency (its optional keys may be absent): the baseline reruns too."""
    keep_only(committed, KEPT)
    edit_params(committed, {"datasets.imdb.tokenize.max_len": 24})
    assert stages_run(run(["dvc", "repro"], committed, ENV).stdout) == KEPT_TRAIN_AND_EVALUATE | {
        "tokenize@imdb",
        "baseline@imdb",
        "report@imdb",
    }


def test_baseline_change_reruns_baseline_and_report(committed: Path):
    edit_params(committed, {"baseline.C": 1.0})
    assert stages_run(run(["dvc", "repro"], committed, ENV).stdout) == {"baseline@imdb", "report@imdb"}


def test_exp_run_override_then_show_branch_and_apply(committed: Path):
    result = run(["dvc", "exp", "run", "-n", "wide-lstm", "-S", "architectures.lstm.units=12"], committed, ENV)
    assert stages_run(result.stdout) == {"train@imdb-lstm", "evaluate@imdb-lstm", "report@imdb"}
    shown = json.loads(run(["dvc", "exp", "show", "--json"], committed, ENV).stdout)
    experiments = {e["name"]: e for commit in shown for e in (commit.get("experiments") or [])}
    assert "wide-lstm" in experiments
    # The experiment also lives in its own git ref: reset the workspace, then bring it back.
    git(committed, "checkout", "-q", "-f")
    assert yaml.safe_load((committed / "params.yaml").read_text())["architectures"]["lstm"]["units"] == 8
    run(["dvc", "exp", "branch", "wide-lstm", "wide-lstm-branch"], committed, ENV)
    assert "wide-lstm-branch" in git(committed, "branch", "--list")
    run(["dvc", "exp", "apply", "wide-lstm"], committed, ENV)
    assert yaml.safe_load((committed / "params.yaml").read_text())["architectures"]["lstm"]["units"] == 12
    assert json.loads((committed / "metrics/imdb/lstm.json").read_text())["params"] > 0


def test_best_experiment_uses_validation_direction():
    rows = [
        {"Experiment": None, "metrics/imdb/gru.json:val_loss": 0.1},  # the baseline commit is not a candidate
        {"Experiment": "a", "metrics/imdb/gru.json:val_loss": 0.5, "metrics/imdb/gru.json:val_accuracy": 0.9},
        {"Experiment": "b", "metrics/imdb/gru.json:val_loss": 0.3, "metrics/imdb/gru.json:val_accuracy": 0.8},
        {"Experiment": "c", "metrics/imdb/gru.json:val_loss": float("nan")},
    ]
    assert best_experiment(rows, metric_column("imdb", "gru", "val_loss"), "val_loss")["Experiment"] == "b"
    assert best_experiment(rows, metric_column("imdb", "gru", "val_accuracy"), "val_accuracy")["Experiment"] == "a"
    with pytest.raises(UserError, match=r"no finished experiment has metrics/imdb/lstm\.json:val_accuracy"):
        best_experiment(rows, metric_column("imdb", "lstm", "val_accuracy"), "val_accuracy")


def run_queue(project: Path, timeout: float = 600) -> tuple[str, int]:
    """`dvc queue start -j 2` until nothing is queued or running: the last status, and the most experiments seen
    running at once."""
    try:
        # The workers it leaves behind inherit its stdout: capturing that would wait for them to exit.
        with open(project.parent / "queue-start.log", "w") as log:
            start = ["dvc", "queue", "start", "-j", "2"]
            subprocess.run(start, cwd=project, env=ENV, stdout=log, stderr=log, check=True)
        most, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = run(["dvc", "queue", "status"], project, ENV).stdout
            most = max(most, len(re.findall(r"\bRunning\b", status)))
            if not re.search(r"\b(Queued|Running)\b", status):
                return status, most
            time.sleep(4)  # each `dvc queue status` costs a second of CPU the experiments need
        raise AssertionError(f"queue did not finish:\n{status}")
    finally:
        run(["dvc", "queue", "stop"], project, ENV, check=False)


def changed_stages(project: Path, rev: str) -> set[str]:
    """Stages whose dvc.lock entry differs between HEAD and `rev`: what that experiment reran."""
    locks = [yaml.safe_load(git(project, "show", f"{ref}:dvc.lock"))["stages"] for ref in ("HEAD", rev)]
    return {name for name in locks[0].keys() | locks[1].keys() if locks[0].get(name) != locks[1].get(name)}


def experiment_result(project: Path, rev: str) -> tuple[dict, str]:
    """An experiment's lstm metrics (wall times left out) and predictions."""
    metrics = json.loads(git(project, "show", f"{rev}:metrics/imdb/lstm.json"))
    predictions = git(project, "show", f"{rev}:reports/imdb/predictions/lstm.csv")
    return {k: v for k, v in metrics.items() if k not in WALL_TIMES}, predictions


@pytest.mark.slow
def test_sweep_runs_in_parallel_selects_on_validation_and_applies(committed: Path):
    """The README's sweep: a grid over one architecture's own keys, `++` adding its own learning rate
    (params.yaml gives lstm no `train` overrides), so every experiment retrains that architecture alone. The queue
    runs both at once, in their own workspaces; one of them again, alone in the workspace, computes the same."""
    rate = "++architectures.lstm.train.learning_rate=0.01"
    sweep = ["dvc", "exp", "run", "--queue", "-S", "architectures.lstm.units=choice(4,16)", "-S", rate]
    result = run(sweep, committed, ENV)
    assert result.stdout.count("Queued experiment") == 2
    status, most_running = run_queue(committed)
    assert status.count("Success") == 2, status
    assert most_running == 2, "the two experiments never ran at the same time"
    assert git(committed, "status", "--porcelain") == ""  # the workspace was not written to
    run(["dvc", "exp", "run", "-n", "alone", "-S", "architectures.lstm.units=4", "-S", rate], committed, ENV)

    best = run(["python", "-m", "stages.best_experiment", "--arch", "lstm", "--apply"], committed, ENV).stdout
    assert best.startswith("best by val_accuracy: ")
    import dvc.api

    rows = dvc.api.exp_show(repo=str(committed))
    experiments = [row for row in rows if row.get("Experiment")]
    assert len(experiments) == 3
    for row in experiments:
        assert changed_stages(committed, row["rev"]) == {"train@imdb-lstm", "evaluate@imdb-lstm", "report@imdb"}
    units = {row["Experiment"]: row["architectures.lstm.units"] for row in experiments}
    queued = {value: name for name, value in units.items() if name != "alone"}
    revs = {row["Experiment"]: row["rev"] for row in experiments}
    result = {units: experiment_result(committed, revs[name]) for units, name in queued.items()}
    assert result[4] == experiment_result(committed, revs["alone"])
    assert result[4][0]["params"] < result[16][0]["params"]  # neither got the other's outputs
    column = "metrics/imdb/lstm.json:val_accuracy"
    winner = best_experiment(rows, metric_column("imdb", "lstm", "val_accuracy"), "val_accuracy")
    assert winner[column] == max(row[column] for row in experiments)
    applied = yaml.safe_load((committed / "params.yaml").read_text())
    assert applied["architectures"]["lstm"]["units"] == winner["architectures.lstm.units"]
    assert applied["architectures"]["lstm"]["train"] == {"learning_rate": 0.01}


def test_branches_metrics_diff_and_plots_diff(committed: Path):
    git(committed, "checkout", "-q", "-b", "other")
    edit_params(committed, {"architectures.gru.units": 16})
    assert stages_run(run(["dvc", "repro"], committed, ENV).stdout) == {
        "train@imdb-gru",
        "evaluate@imdb-gru",
        "report@imdb",
    }
    git(committed, "add", "-A")
    git(committed, "commit", "-q", "-m", "wider gru")

    diff = json.loads(run(["dvc", "metrics", "diff", "main", "other", "--json"], committed, ENV).stdout)
    assert set(diff) == {"metrics/imdb/gru.json"}
    assert "params" in diff["metrics/imdb/gru.json"]
    table = run(["dvc", "metrics", "diff", "main", "other"], committed, ENV).stdout
    assert "metrics/imdb/gru.json" in table and "accuracy" in table

    # Both branches' lines on each comparison chart, named by architecture and revision.
    shown = json.loads(run(["dvc", "plots", "diff", "main", "other", "--json"], committed, ENV).stdout)["data"]
    (chart,) = shown["reports/imdb/plots/val_accuracy.csv"]
    series = {(row["model"], row["rev"]) for row in chart["content"]["data"]["values"]}
    assert {("gru", "main"), ("gru", "other"), ("lstm", "main"), ("lstm", "other")} <= series
