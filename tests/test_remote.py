"""A teammate gets the results without recomputing: dvc push to a remote, git clone, dvc pull."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import git, project_env, run

ENV = project_env(None)


def test_push_clone_pull_trains_nothing(tiny_project: Path, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, symlinks=True)
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "storage", str(remote)], project, ENV)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "results and remote")
    pushed = run(["dvc", "push"], project, ENV).stdout
    assert re.search(r"\d+ files? pushed", pushed), pushed

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    assert not (clone / "data").exists()
    run(["dvc", "pull"], clone, ENV)
    assert (clone / "data/imdb/models/lstm.keras").is_file()
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone, ENV).stdout
    repro = run(["dvc", "repro"], clone, ENV).stdout
    assert "Running stage" not in repro
    assert "Data and pipelines are up to date." in repro
