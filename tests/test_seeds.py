"""`python -m stages.seeds`: one experiment per seed, each model's mean +- standard deviation and every seed's
score, and whether the ranking holds."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

import stages.seeds
from stages.seeds import summary
from tests.conftest import ROOT, git, keep_only, project_env, run, run_main


def test_summary_gives_mean_sd_every_seed_and_where_the_ranking_changes():
    values = {"gru": [0.90, 0.80], "lstm": [0.86, 0.86], "baseline": [0.70, 0.72]}
    text = summary("imdb", values, [0, 1], lower_is_better=False)
    assert "| gru | 0.8500 ± 0.0707 | 0.9000 | 0.8000 |" in text  # sample sd of 0.9 and 0.8
    assert "ranking changes with the seed (by mean: lstm > gru > baseline):" in text
    assert "  seed 0: gru > lstm > baseline" in text and "  seed 1: lstm > gru > baseline" in text
    held = summary("shakespeare", {"gru": [1.6, 1.7], "lstm": [1.5, 1.55]}, [3, 4], lower_is_better=True)
    assert held.endswith("ranking holds in every seed: lstm > gru")


@pytest.mark.slow
def test_two_seeds_of_one_architecture_as_experiments(tiny_copy: Path):
    """Two `dvc exp run`s of one architecture on tiny data, then the same table read back without running. The
    committed results are seed 0's, so its experiment reruns nothing."""
    project = tiny_copy
    keep_only(project, ["cnn_rnn"])
    git(project, "add", "-A")
    git(project, "commit", "-qm", "results")
    env = project_env(None)
    command = ["python", "-m", "stages.seeds", "--seeds", "0", "1", "--arch", "cnn_rnn"]
    output = run(command, project, env).stdout
    row = re.search(r"^\| cnn_rnn \| (\S+) ± (\S+) \| (\S+) \| (\S+) \|$", output, re.M)
    assert row, output
    mean, sd, *seeds = map(float, row.groups())
    assert mean == pytest.approx(statistics.mean(seeds), abs=1e-4)
    assert sd == pytest.approx(statistics.stdev(seeds), abs=1e-4)
    assert "imdb: test accuracy, higher is better, 2 seeds" in output
    shown = run(["dvc", "exp", "show", "--csv"], project, env).stdout
    assert "seed-0" in shown and "seed-1" in shown
    assert run([*command, "--no-run"], project, env).stdout.strip() in output
    missing = run(["python", "-m", "stages.seeds", "--seeds", "7", "--no-run"], project, env, check=False)
    assert missing.returncode == 2 and missing.stderr == "error: no experiment seed-7; run without --no-run first\n"


def test_ctrl_c_names_the_seeds_whose_experiments_are_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """Ctrl-C during the second seed's experiment: the first one finished and stays, and the line says so."""

    def run_seed(seed: int, targets: list[str], dvc_args: list[str]) -> None:
        if seed == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(stages.seeds, "run_seed", run_seed)
    status, out, err = run_main(stages.seeds.main, ["--seeds", "0", "1", "--arch", "gru"], ROOT, monkeypatch, capsys)
    assert (status, out) == (2, "")
    assert err == "error: interrupted at seed 1; finished experiments kept: seed-0\n"
