"""Shared fixtures: a temporary git + DVC copy of the project on tiny data, and the real-data mirror."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from benchmarks.notebooks import PROJECT_FILES  # the files a project copy needs, one list
from stages import run_stage
from stages.presets import epoch_cap
from tests import fakes

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Small enough that a full `dvc repro` of all architectures takes about a minute on 2 cores.
TINY = {
    "datasets.imdb.tokenize.vocab_size": 200,
    "datasets.imdb.tokenize.max_len": 32,
    "train.max_len": 16,  # the recurrent models read the last 16 of the 32 tokens; seq_cnn (1024) reads all 32
    "train.epochs": 1,
    "train.embedding_dim": 8,
    "train.batch_size": 32,
    "baseline.max_features": 500,
    "corpora.shakespeare.seq_len": 40,
    "lm_train.epochs": 1,
    "lm_train.embedding_dim": 8,
    "generate.chars": 20,
}
TINY |= epoch_cap(yaml.safe_load((ROOT / "params.yaml").read_text()), 1)  # architectures' own epochs too

WALL_TIMES = {"train_seconds", "seconds_to_best"}  # the only values two identical runs may differ in


def set_key(params: dict, dotted: str, value: object) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        params = params[part]
    params[leaf] = value


def edit_params(project: Path, changes: dict[str, object]) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        set_key(params, key, value)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def keep_only(project: Path, architectures: list[str], language_models: list[str] | None = None) -> None:
    """Narrow params.yaml to these architectures (and language models, where given): fewer train@ stages
    for a test whose point holds for any one of them. Stages left out stay in dvc.lock, as after a user's edit."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["architectures"] = {name: params["architectures"][name] for name in architectures}
    if language_models is not None:
        params["language_models"] = {name: params["language_models"][name] for name in language_models}
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def tiny_architectures(params: dict) -> None:
    """Shrink every architecture's width so a tiny run stays tiny."""
    for hyperparams in [*params["architectures"].values(), *params["language_models"].values()]:
        for key in ("units", "filters"):
            if key in hyperparams:
                hyperparams[key] = 8


def run(
    args: list[str], cwd: Path, env: dict | None = None, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run a command of the project's venv (dvc, python) and capture its output."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def run_main(
    main: Callable[[list[str] | None], None],
    argv: list[str],
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    stdin: str = "",
) -> tuple[int | str, str, str]:
    """A stage's or benchmark's `main(ARGV)` in-process in `cwd`, through run_stage as a stage's `__main__` runs
    it: (the exit code, stdout, stderr). The code is 0, a stage's 2, or the message of a benchmark's SystemExit,
    which Python prints on stderr with exit status 1. A real process costs seconds of TensorFlow start-up per
    case; each CLI keeps a real-process test, and its other cases run here."""
    monkeypatch.chdir(cwd)  # a benchmark changes into a temporary copy of the project
    monkeypatch.delenv("RNNLAB_DATA_MIRROR", raising=False)  # which a benchmark would make absolute for good
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        run_stage(main, argv)
        code: int | str = 0
    except SystemExit as stopped:
        code = stopped.code
    out, err = capsys.readouterr()
    return code, out, err


def git(project: Path, *args: str) -> str:
    """git with a throwaway identity, for commits in temporary projects."""
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], project, project_env(None)).stdout


def project_env(mirror: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("RNNLAB_DATA_MIRROR", None)
    if mirror is not None:
        env["RNNLAB_DATA_MIRROR"] = str(mirror)
    return env


def make_project(dest: Path, mirror: Path | None, changes: dict[str, object], shrink: bool = True) -> Path:
    """A committed git + DVC copy of the project with `changes` applied to params.yaml
    (and, with `shrink`, every architecture narrowed to 8 units)."""
    dest.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    # A cache of its own: a DVC cache set in the user's global config would hand the tests other projects'
    # results through its run cache instead of running their stages.
    (dest / ".dvc/config.local").write_text("[cache]\n    dir = cache\n")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    if shrink:
        tiny_architectures(params)
    for key, value in changes.items():
        set_key(params, key, value)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = project_env(mirror)
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "project"],
    ):
        run(command, dest, env)
    return dest


@pytest.fixture(scope="session")
def fake_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An RNNLAB_DATA_MIRROR folder with a tiny aclImdb archive and its SHA256SUMS."""
    return fakes.imdb_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real offline mirror beside the repo; skipped where absent, required under CI=true."""
    if not (SHARED_DATA / "SHA256SUMS").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED_DATA} is missing, and CI=true requires the real-data tests to run")
        pytest.skip(f"real data mirror {SHARED_DATA} is absent")
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow go first: pytest-xdist hands tests out in collection order, so the longest
    start early and the workers finish together instead of one running a long test alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` (minutes of `dvc repro`) runs once per test run: under pytest-xdist the first
    worker to ask builds it and every worker gets its own copy, since two DVC commands in one
    repository would wait on its lock."""
    own = tmp_path_factory.mktemp(name) / "project"
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nothing to share
        return build(own)
    run_root = tmp_path_factory.getbasetemp().parent  # this run's folder, shared by its workers
    built, done = run_root / f"{name}-built" / "project", run_root / f"{name}-built" / "done"
    with FileLock(run_root / f"{name}-built.lock"):
        if not done.exists():
            build(built)
            done.touch()
    shutil.copytree(built, own, symlinks=True)
    return own


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory, fake_mirror: Path) -> Path:
    """A project that has run a full `dvc repro` on tiny data; tests must not change it."""

    def build(dest: Path) -> Path:
        project = make_project(dest, fake_mirror, TINY)
        run(["dvc", "repro"], project, project_env(fake_mirror))
        return project

    return built_once(tmp_path_factory, "tiny", build)


@pytest.fixture
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_mirror: Path) -> Path:
    """Run stage functions in-process inside a fresh tiny project (cwd changed)."""
    project = make_project(tmp_path / "project", fake_mirror, TINY)
    monkeypatch.chdir(project)
    monkeypatch.setenv("RNNLAB_DATA_MIRROR", str(fake_mirror))
    return project


@pytest.fixture
def tiny_copy(tiny_project: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny project that a test may change (shares the DVC cache layout)."""
    dest = tmp_path / "copy"
    shutil.copytree(tiny_project, dest, symlinks=True)
    return dest
