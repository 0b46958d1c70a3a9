"""A teammate gets the results without recomputing: dvc push to a remote, git clone, dvc pull."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import git, project_env, run

ENV = project_env(None)


@pytest.fixture
def clone(tiny_project: Path, tmp_path: Path) -> Path:
    """A git clone of the finished tiny project, whose DVC outputs were pushed to a local remote; nothing pulled."""
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, symlinks=True)
    run(["dvc", "remote", "add", "-d", "storage", str(tmp_path / "remote")], project, ENV)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "results and remote")
    pushed = run(["dvc", "push"], project, ENV).stdout
    assert re.search(r"\d+ files? pushed", pushed), pushed
    git(tmp_path, "clone", "-q", str(project), str(tmp_path / "clone"))
    assert not (tmp_path / "clone/data").exists()
    return tmp_path / "clone"


def test_push_clone_pull_trains_nothing(clone: Path):
    run(["dvc", "pull"], clone, ENV)
    assert (clone / "data/imdb/models/lstm.keras").is_file()
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone, ENV).stdout
    repro = run(["dvc", "repro"], clone, ENV).stdout
    assert "Running stage" not in repro
    assert "Data and pipelines are up to date." in repro


def test_pull_one_model_and_its_vocabulary_to_predict(clone: Path):
    """The README's recipe for predictions from one model: its train stage and two files of the tokenize stage."""
    run(["dvc", "pull", "train@imdb-gru"], clone, ENV)
    predict = ["python", "-m", "stages.predict", "--dataset", "imdb", "--arch", "gru", "An absolute delight."]
    refused = run(predict, clone, ENV, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and refused.stdout == ""
    assert [line for line in refused.stderr.splitlines() if line.startswith("error:")] == [
        "error: data/imdb/tokenized/vocab.txt: missing; run `dvc repro tokenize@imdb` first"
    ]
    run(["dvc", "pull", "data/imdb/tokenized/vocab.txt", "data/imdb/tokenized/classes.txt"], clone, ENV)
    assert sorted(path.name for path in (clone / "data/imdb/tokenized").iterdir()) == ["classes.txt", "vocab.txt"]
    prediction = json.loads(run(predict, clone, ENV).stdout)
    assert prediction["label"] in {"neg", "pos"} and prediction["model"] == "data/imdb/models/gru.keras"
