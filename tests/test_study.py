"""The study's presets (the quick study, the previous defaults) and the benchmark that times whole studies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import benchmarks.notebooks
import benchmarks.study
from benchmarks.study import score, side_overrides, table, timed_repro
from stages.params import classifier_train, read_yaml, validate
from stages.presets import apply_overrides, load_preset, override_args
from tests.conftest import ROOT, TINY, git, keep_only, make_project, project_env, run, run_main


def test_quick_preset_shortens_every_training_on_a_subset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    defaults = validate(read_yaml(ROOT / "params.yaml"))
    params = validate(apply_overrides(read_yaml(ROOT / "params.yaml"), load_preset("quick")))
    assert params.datasets["imdb"].split.train_docs > 0 and params.datasets["imdb"].split.test_docs > 0
    for arch in params.architectures:
        assert classifier_train(params, arch).epochs <= classifier_train(defaults, arch).epochs, arch
    assert params.lm_train.epochs < defaults.lm_train.epochs


def test_previous_defaults_preset_restores_the_previous_training(monkeypatch: pytest.MonkeyPatch):
    """The settings the previous defaults trained with, as the benchmark's other side."""
    monkeypatch.chdir(ROOT)
    overrides = load_preset("defaults_2026_12")
    params = validate(apply_overrides(read_yaml(ROOT / "params.yaml"), overrides))
    assert (params.train.batch_size, params.train.learning_rate, params.train.schedule) == (64, 0.001, "constant")
    assert (params.lm_train.epochs, params.lm_train.schedule) == (10, "constant")
    assert classifier_train(params, "seq_cnn").epochs == classifier_train(params, "simple_rnn").epochs == 6


@pytest.mark.parametrize("name", ["params", "defaults_2026_12"])
def test_epoch_cap_reaches_every_training(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    params = validate(apply_overrides(read_yaml(ROOT / "params.yaml"), side_overrides(name, 1)))
    assert params.lm_train.epochs == 1
    assert {arch: classifier_train(params, arch).epochs for arch in params.architectures} == dict.fromkeys(
        params.architectures, 1
    )


def test_study_table_shows_ratios_scores_and_estimates():
    first = {"train@imdb-gru": (300.0, "val acc 0.8800, 6 ep", True), "report@imdb": (4.0, "", False)}
    second = {"train@imdb-gru": (100.0, "val acc 0.8900, 4 ep", False), "report@imdb": (4.0, "", False)}
    lines = table(["old", "new"], [first, second])
    assert lines[2] == "| train@imdb-gru | 300 (est.) | 100 | 0.33 | val acc 0.8800, 6 ep | val acc 0.8900, 4 ep |"
    assert lines[3] == "| report@imdb | 4 | 4 | 1.00 |  |  |"
    assert lines[4] == "| **whole study** | **5.1 min (est.)** | **1.7 min** | **0.34** | | |"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "error: --epochs 0: need 1 or more"),
        (["--epochs-from", "HEAD", "HEAD"], "error: --epochs-from needs --epochs (the cap whose runs it extrapolates)"),
        (["--presets", "nosuch", "params"], "error: --preset nosuch: no presets/nosuch.yaml; allowed: "),
        (
            ["--epochs", "1", "--epochs-from", "nosuchrev", "HEAD"],
            "error: --epochs-from nosuchrev: not a git revision of this repository",
        ),
    ],
)
def test_study_benchmark_refuses_bad_arguments_in_one_line_before_any_work(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    code, out, err = run_main(benchmarks.study.main, argv, ROOT, monkeypatch, capsys)
    assert code != 0 and out == ""
    assert (str(code) if isinstance(code, str) else err).strip().startswith(message)


def test_a_benchmark_project_keeps_its_own_dvc_cache(tmp_path: Path):
    """A benchmark's stages run on subsets, or on a test's fake mirror, whose files DVC does not hash into a
    stage's key: their results must never reach the user's cache, where `dvc repro` would take them for real."""
    project = benchmarks.notebooks.make_project(tmp_path / "project")
    cache = run(["dvc", "cache", "dir"], project, project_env(None)).stdout.strip()
    assert Path(cache) == project / ".dvc" / "cache"


def test_study_benchmark_times_every_stage_dvc_runs_and_reads_its_score(tmp_path: Path, tiny_project: Path):
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, symlinks=True)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["chars"] = 10  # the language model's evaluate stage and its report rerun
    params["language_models"] = {"gru": params["language_models"]["gru"]}  # one is enough to time
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    seconds = timed_repro(project)
    models = params["language_models"]
    assert set(seconds) == {f"lm_evaluate@shakespeare-{arch}" for arch in models} | {"lm_report@shakespeare"}
    assert all(value > 0 for value in seconds.values())
    text, summary = score(project, "lm_evaluate@shakespeare-gru")
    assert text.startswith("test ce ") and summary is None
    text, summary = score(project, "train@imdb-gru")
    assert text.startswith("val acc ") and text.endswith(" 1 ep") and summary["epochs"] == 1


@pytest.mark.slow
def test_quick_study_runs_end_to_end_through_its_command(
    tmp_path: Path, fake_mirror: Path, monkeypatch: pytest.MonkeyPatch
):
    """`./rnnlab quick` as the README shows it, on tiny data, its arguments passed on to `dvc exp run`: the preset's
    settings, the language models' among them, land in params.yaml, and the IMDB study runs as DVC experiment
    `quick` up to its report. The classifiers are narrowed to the four the preset sets keys of. The language models'
    half is not run here: test_quick_preset_shortens_every_training_on_a_subset validates the whole preset, and
    every stage of both datasets runs end to end in tests/test_pipeline.py."""
    monkeypatch.chdir(ROOT)
    project = make_project(tmp_path / "project", fake_mirror, {})
    keep_only(project, ["simple_rnn", "attention_rnn", "seq_cnn", "region_rnn"])
    git(project, "commit", "-qam", "four classifiers")
    for name in ("rnnlab", "requirements.txt", "requirements-dev.txt"):
        shutil.copy2(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    shrink = override_args(TINY)
    result = run(["./rnnlab", "quick", *shrink, "report@imdb"], project, project_env(fake_mirror))
    assert "Ran experiment(s): quick" in result.stdout + result.stderr
    applied = yaml.safe_load((project / "params.yaml").read_text())
    for key, value in load_preset("quick").items():
        if key not in TINY:
            node = applied
            for part in key.split("."):
                node = node[part]
            assert node == value, key
    assert (project / "reports/imdb/report.md").is_file()
    assert not (project / "reports/shakespeare/report.md").exists()  # only the target and what it needs ran
    status = run(["dvc", "status", "--with-deps", "report@imdb"], project, project_env(fake_mirror)).stdout
    assert "up to date" in status
