"""Reliability: under faults and bad input rnnlab keeps working, reports only what it computed,
and leaves no half-written output. Real processes, real DVC, tiny data."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import psutil
import pytest
import yaml

import stages.download
from stages.data import DataError, load_arrays
from stages.download import download, fetch
from stages.params import load_params
from stages.sources import read_records
from tests import fakes
from tests.conftest import (
    ROOT,
    TINY,
    WALL_TIMES,
    built_once,
    edit_params,
    keep_only,
    make_project,
    project_env,
    run,
    set_key,
)

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
# Long enough to kill training mid-way: early stopping never ends it before epoch 40.
LSTM = {**TINY, "train.epochs": 40, "train.patience": 40}


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------
# A finished lstm-only project: the reference every run with the same params must reproduce.


@dataclass(frozen=True)
class Reference:
    path: Path
    results: dict[str, object]  # every result file, wall times left out


def results_of(project: Path) -> dict[str, object]:
    """What a run computed: metrics, training summary, predictions, data stats, tokenized arrays."""

    def without_time(path: Path) -> dict:
        return {k: v for k, v in json.loads(path.read_text()).items() if k not in WALL_TIMES}

    results: dict[str, object] = {
        str(path.relative_to(project)): without_time(path)
        for path in [*(project / "metrics/imdb").rglob("*.json"), project / "data/imdb/models/lstm.json"]
    }
    results["predictions"] = (project / "reports/imdb/predictions/lstm.csv").read_text()
    results["stats"] = json.loads((project / "data/imdb/stats.json").read_text())
    for name in ("train", "val", "test"):
        for key, array in load_arrays(project / f"data/imdb/tokenized/{name}").items():
            results[f"{name}.{key}"] = array.tolist()
    return results


def lstm_project(dest: Path, mirror: Path | None) -> Path:
    """A committed project whose params.yaml keeps only the `lstm` architecture (and language model)."""
    project = make_project(dest, mirror, LSTM)
    keep_only(project, ["lstm"], ["lstm"])
    run([*GIT, "commit", "-qam", "lstm only"], project)
    return project


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, fake_mirror: Path) -> Reference:
    """Ran `dvc repro` once and committed everything (queued experiments see only committed files)."""

    def build(dest: Path) -> Path:
        project = lstm_project(dest, fake_mirror)
        run(["dvc", "repro"], project, project_env(fake_mirror))
        run(["git", "add", "-A"], project)
        run([*GIT, "commit", "-qm", "results"], project)
        return project

    project = built_once(tmp_path_factory, "reference", build)
    return Reference(project, results_of(project))


def copy_of(reference: Reference, dest: Path) -> Path:
    shutil.copytree(reference.path, dest, symlinks=True)
    return dest


# ---------------------------------------------------------------------------------------------
# Download: truncated transfers, timeouts, retries, a full disk.


class ArchiveServer(ThreadingHTTPServer):
    """Serves `body` at every path; each entry of `faults` spoils one request: `truncate` or `503`."""

    daemon_threads = True

    def __init__(self, body: bytes):
        super().__init__(("127.0.0.1", 0), ArchiveHandler)
        self.body = body
        self.faults: list[str] = []
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{fakes.ARCHIVE}"


class ArchiveHandler(BaseHTTPRequestHandler):
    server: ArchiveServer

    def do_GET(self) -> None:
        self.server.requests += 1
        fault = self.server.faults.pop(0) if self.server.faults else None
        if fault == "503":
            self.send_error(503)
            return
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))  # the whole body's length, even when truncating
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if fault == "truncate" else body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(fake_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArchiveServer]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    httpd = ArchiveServer((fake_mirror / fakes.ARCHIVE).read_bytes())
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers: (url, the connections accepted so far)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/{fakes.ARCHIVE}", accepted
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    for connection in accepted:
        connection.close()


def test_truncated_transfer_is_retried_then_one_error_and_no_file(server: ArchiveServer, tmp_path: Path):
    server.faults = ["truncate", "truncate"]
    dest = tmp_path / fakes.ARCHIVE
    with pytest.raises(DataError, match=r"transfer truncated at \d+ of \d+ bytes; 2 attempts"):
        fetch(server.url, dest, attempts=2, backoff=0.01)
    assert server.requests == 2
    assert files_under(tmp_path) == []
    fetch(server.url, dest, attempts=2, backoff=0.01)  # the rerun needs no clean-up
    assert dest.read_bytes() == server.body


@pytest.mark.parametrize("fault", ["truncate", "503"])
def test_one_failure_then_success_over_http(server: ArchiveServer, tmp_path: Path, fault: str):
    server.faults = [fault]
    dest = tmp_path / fakes.ARCHIVE
    fetch(server.url, dest, attempts=3, backoff=0.01)
    assert server.requests == 2
    assert dest.read_bytes() == server.body
    assert files_under(tmp_path) == [dest]


def test_timeout_is_retried_then_one_error(silent_server: tuple[str, list[socket.socket]], tmp_path: Path):
    url, accepted = silent_server
    with pytest.raises(DataError, match=rf"cannot download {re.escape(url)} \(timed out; 2 attempts\)"):
        fetch(url, tmp_path / fakes.ARCHIVE, attempts=2, timeout=0.5, backoff=0.01)
    assert len(accepted) == 2
    assert files_under(tmp_path) == []


class FullDisk(io.FileIO):
    """A file on a disk with `room` bytes free: writes what fits, then fails with ENOSPC."""

    room = 0

    def write(self, data: bytes) -> int:
        space = self.room - self.tell()
        if space <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)
        return super().write(bytes(memoryview(data)[:space]))


def test_disk_full_while_downloading_is_one_error_and_no_partial_file(
    server: ArchiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    FullDisk.room = len(server.body) // 3
    dest = tmp_path / fakes.ARCHIVE
    with monkeypatch.context() as patch, pytest.raises(DataError) as error:
        patch.setattr(stages.download, "open", lambda path, mode="r", buffering=-1: FullDisk(path, mode), raising=False)
        fetch(server.url, dest, attempts=3, backoff=0.01)
    assert str(error.value) == (
        f"cannot write {fakes.ARCHIVE} in {tmp_path} (No space left on device); "
        "free disk space there (or point TMPDIR elsewhere) and rerun"
    )
    assert server.requests == 1  # a full disk is not worth retrying
    assert files_under(tmp_path) == []
    fetch(server.url, dest, backoff=0.01)
    assert dest.read_bytes() == server.body


def test_disk_full_while_storing_leaves_the_previous_data(
    fake_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dest = tmp_path / "data" / "raw"
    dest.mkdir(parents=True)
    (dest / "previous.txt").write_text("kept")
    real_copy = shutil.copyfile

    def copy_until_full(source: Path, target: Path) -> None:
        real_copy(source, target)
        with open(target, "r+b") as f:
            f.truncate(2000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with (
        monkeypatch.context() as patch,
        pytest.raises(DataError, match=rf"cannot write aclImdb_v1.tar.gz in {dest} \(No space left on device\); free"),
    ):
        patch.setattr(shutil, "copyfile", copy_until_full)
        download(fakes.IMDB, dest, fake_mirror)
    assert files_under(tmp_path / "data") == [dest / "previous.txt"]  # no staging folder, no half-written archive
    assert download(fakes.IMDB, dest, fake_mirror)[1] == 240


def test_download_stage_fails_in_one_line_and_reruns_without_cleanup(server: ArchiveServer, tmp_path: Path):
    """The real stage under `dvc repro`: three truncated transfers, then a clean rerun."""
    checksum = hashlib.sha256(server.body).hexdigest()
    project = make_project(
        tmp_path / "project",
        None,
        {**TINY, "datasets.imdb.source.url": server.url, "datasets.imdb.source.sha256": checksum},
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**project_env(None), "TMPDIR": str(scratch), "no_proxy": "127.0.0.1"}
    server.faults = ["truncate"] * 3
    result = run(["dvc", "repro", "download@imdb"], project, env, check=False)
    assert result.returncode != 0
    (line,) = error_lines(result)
    assert line.startswith(f"error: cannot download {server.url} (transfer truncated at ")
    assert "3 attempts" in line and "RNNLAB_DATA_MIRROR" in line
    assert files_under(project / "data") == []
    assert list(scratch.glob("rnnlab-download-*")) == []
    result = run(["dvc", "repro", "download@imdb"], project, env)
    assert f"(240 files to read) from {server.url}" in result.stdout
    assert files_under(project / "data/imdb/raw") == [project / "data/imdb/raw" / fakes.ARCHIVE]
    assert server.requests == 4


# ---------------------------------------------------------------------------------------------
# Bad overrides and bad data.


def test_bad_override_through_exp_run_is_one_line(tmp_path: Path, fake_mirror: Path):
    """The first stage that reads the architectures refuses the value: the data stages and the baseline, which do
    not, may have run on a fresh project (their outputs do not depend on it), but no model, model metric or
    experiment is written."""
    project = make_project(tmp_path / "project", fake_mirror, TINY)
    result = run(["dvc", "exp", "run", "-S", "architectures.gru.dropout=1.5"], project, project_env(fake_mirror), False)
    assert result.returncode != 0
    assert error_lines(result) == ["error: architectures.gru.dropout: Input should be less than 1 (got 1.5)"]
    assert files_under(project / "data/imdb/models") == []
    baseline = [project / "metrics/imdb/baseline.json", project / "metrics/imdb/details/baseline.json"]
    assert files_under(project / "metrics") in ([], baseline)
    assert not (project / "dvclive").exists()
    assert files_under(project / "reports") in ([], [project / "reports/imdb/predictions/baseline.csv"])
    refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], project).stdout.split()
    assert [ref for ref in refs if not ref.startswith("refs/exps/exec/")] == []  # no experiment recorded


def write_corpus(raw: Path, extra: dict[str, bytes | None], per_class: int = 10) -> Path:
    """IMDB's archive in `raw`, as the download stage leaves it: `per_class` generated reviews per split and class,
    plus the `extra` files under aclImdb/ (None: leave that file out)."""
    rng = random.Random(0)
    members = {
        f"{split}/{label}/{i}_5.txt": fakes.review(rng, label == "pos").encode()
        for split in ("train", "test")
        for label in ("neg", "pos")
        for i in range(per_class)
    }
    raw.mkdir(parents=True)
    archive = raw / fakes.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (members | extra).items():
            if data is not None:
                info = tarfile.TarInfo(f"aclImdb/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a tiny params.yaml, as the cwd, for running stages in-process."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in TINY.items():
        set_key(params, key, value)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


HUGE = ("great film " * 100_000).encode()  # a 1.1 MB review of 200,000 words


def test_awkward_reviews_follow_the_documented_rules(workdir: Path):
    from stages import baseline, tokenize
    from stages.text import words

    write_corpus(
        workdir / "data/imdb/raw",
        {
            "train/neg/empty_1.txt": b"",
            "train/pos/blank_8.txt": b"  \n\t<br /><br /> ",
            "train/pos/latin1_9.txt": "Un film magnifique, très émouvant: great".encode("latin-1"),
            "test/neg/empty_2.txt": b"",
            "test/pos/huge_10.txt": HUGE,
        },
    )
    records = read_records(load_params().datasets["imdb"].source, workdir / "data/imdb/raw")  # the archive, as stored
    latin1 = next(text for _, text, _ in records if "magnifique" in text)
    assert words(latin1) == ["un", "film", "magnifique", "tr", "s", "mouvant", "great"]
    tokenize.main(["--dataset", "imdb"])
    stats = json.loads((workdir / "data/imdb/stats.json").read_text())
    assert stats["train"]["documents"] + stats["val"]["documents"] == 23  # nothing dropped
    assert stats["test"]["documents"] == 22
    assert sum(stats[split]["empty"] for split in ("train", "val", "test")) == 3
    assert sum(stats[split]["invalid_utf8"] for split in ("train", "val", "test")) == 1
    assert stats["test"]["length"]["max"] == 200_000
    for split in ("train", "val", "test"):
        arrays = load_arrays(workdir / f"data/imdb/tokenized/{split}")
        assert (arrays["x"][:, 0] != 0).all(), "no all-padding row: an empty review is one <oov> token"
        assert (arrays["lengths"] >= 1).all() and arrays["x"].shape[1] == 32
    test = load_arrays(workdir / "data/imdb/tokenized/test")
    empty = test["lengths"] == 1
    assert empty.sum() == 1 and (test["x"][empty] == [[1] + [0] * 31]).all()
    vocab = (workdir / "data/imdb/tokenized/vocab.txt").read_text().split("\n")
    huge = test["x"][-1]  # sorted by path, the huge review is the last pos one
    assert [vocab[i] for i in huge] == ["great", "film"] * 16  # truncated to max_len; `pre` keeps the end
    baseline.main(["--dataset", "imdb"])  # TF-IDF takes the same texts: empty ones are all-zero vectors
    assert 0 <= json.loads((workdir / "metrics/imdb/baseline.json").read_text())["accuracy"] <= 1


def no_reviews(folder: str) -> dict[str, bytes | None]:
    """A class folder that holds a file, but no review."""
    return {f"{folder}/{i}_5.txt": None for i in range(10)} | {f"{folder}/README": b"no reviews here"}


def truncate(archive: Path) -> None:
    archive.write_bytes(archive.read_bytes()[:2000])


@pytest.mark.parametrize(
    ("per_class", "extra", "changes", "spoil", "message"),
    [
        (
            10,
            no_reviews("train/pos"),
            {},
            None,
            r"^data/imdb/raw/aclImdb_v1.tar.gz: no documents \(\*\.txt\) in aclImdb/train/pos/; every split needs "
            "documents of each class$",
        ),
        (
            2,
            {},
            {},
            None,
            r"^cannot split 10% from 4 documents: .*adjust split.val_fraction or add documents$",
        ),
        (
            10,
            {},
            {"datasets.imdb.split.test_docs": 1},
            None,
            r"^split.test_docs=1: cannot take a stratified subset of 20 documents \(.*\)$",
        ),
        (
            10,
            {},
            {},
            truncate,
            r"^data/imdb/raw/aclImdb_v1.tar.gz: cannot read: .+$",
        ),
    ],
    ids=["class-without-reviews", "too-small-for-validation", "subset-smaller-than-classes", "truncated-archive"],
)
def test_unusable_corpus_is_one_clear_error_and_writes_nothing(
    workdir: Path,
    per_class: int,
    extra: dict[str, bytes | None],
    changes: dict,
    spoil: Callable[[Path], None] | None,
    message: str,
):
    from stages import tokenize

    archive = write_corpus(workdir / "data/imdb/raw", extra, per_class)
    if spoil:
        spoil(archive)
    edit_params(workdir, changes)
    with pytest.raises(DataError, match=message) as error:
        tokenize.main(["--dataset", "imdb"])
    assert "\n" not in str(error.value)
    assert not (workdir / "data/imdb/tokenized").exists() and not (workdir / "data/imdb/stats.json").exists()


def test_corpus_error_from_the_cli_is_one_line_exit_2(workdir: Path):
    write_corpus(workdir / "data/imdb/raw", no_reviews("test/neg"))
    result = run(
        ["python", "-m", "stages.tokenize", "--dataset", "imdb"],
        workdir,
        {**project_env(None), "PYTHONPATH": str(ROOT)},
        False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert error_lines(result) == [
        "error: data/imdb/raw/aclImdb_v1.tar.gz: no documents (*.txt) in aclImdb/test/neg/; every split needs "
        "documents of each class"
    ]
    assert not (workdir / "data/imdb/tokenized").exists()


# ---------------------------------------------------------------------------------------------
# Training: divergence, out of memory, SIGKILL; determinism.


def test_diverging_training_stops_in_one_line_and_writes_no_results(reference: Reference, tmp_path: Path):
    project = copy_of(reference, tmp_path / "project")
    result = run(["dvc", "exp", "run", "-S", "train.learning_rate=1e38"], project, project_env(None), check=False)
    assert result.returncode != 0
    assert "Invalid loss, terminating training" in result.stdout  # it really diverged
    (line,) = error_lines(result)
    assert re.fullmatch(r"error: train@imdb-lstm: loss became (nan|inf) at epoch 1; lower train.learning_rate .*", line)
    assert not (project / "data/imdb/models/lstm.keras").exists()
    assert not (project / "data/imdb/models/lstm.json").exists()
    # The earlier run's curves (persist outputs) and metrics stay as committed, and DVC flags them as stale.
    assert run(["git", "status", "--porcelain", "dvclive", "metrics"], project).stdout == ""
    assert "evaluate@imdb-lstm" in run(["dvc", "status"], project, project_env(None)).stdout


def test_out_of_memory_is_one_line_and_writes_no_model(reference: Reference, tmp_path: Path):
    """An embedding of 200 x 10^9 floats (800 GB): the allocation fails at once. The address-space
    limit makes sure of that whatever the kernel's overcommit policy, so the machine is never at risk."""
    project = copy_of(reference, tmp_path / "project")
    edit_params(project, {"train.embedding_dim": 10**9})

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))

    result = subprocess.run(
        ["dvc", "repro", "train@imdb-lstm"],
        cwd=project,
        env=project_env(None),
        capture_output=True,
        text=True,
        preexec_fn=limit_memory,
    )
    assert result.returncode != 0
    assert error_lines(result) == [
        "error: train@imdb-lstm: out of memory (ResourceExhaustedError); lower train.batch_size, train.max_len, "
        "train.embedding_dim or the architecture's size"
    ]
    assert not (project / "data/imdb/models/lstm.keras").exists()
    assert run(["git", "status", "--porcelain", "dvclive"], project).stdout == ""  # the committed curves stay


def start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    """In its own process group, so that the test can kill it with everything it started."""
    return subprocess.Popen(
        args,
        cwd=cwd,
        env={**project_env(None), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def read_until(process: subprocess.Popen, marker: str, timeout: float = 180) -> str:
    """The process's output up to `marker`; fails if it ends or stays silent first."""
    assert process.stdout is not None
    fd, output, deadline = process.stdout.fileno(), b"", time.monotonic() + timeout
    while marker.encode() not in output:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 1 << 16) if ready else b""
        if not chunk:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"{marker!r} never came:\n{output.decode()}")
        output += chunk
    return output.decode()


def test_killed_training_reruns_to_the_same_result(reference: Reference, tmp_path: Path):
    """SIGKILL of the training process alone (as the OOM killer does), then of `dvc repro` with it (a crash):
    each time a plain `dvc repro` afterwards starts training over and finishes the pipeline. With tokenize and the
    baseline forced too, every stage that computes has rerun from scratch on CPU: the same bytes of predictions and
    the same metrics, tokenized arrays and stats as the reference; only the wall times may differ."""
    project = copy_of(reference, tmp_path / "project")
    model = project / "data/imdb/models/lstm.keras"

    repro = start(["dvc", "repro", "--force", "--single-item", "train@imdb-lstm"], project)
    read_until(repro, "Epoch 2/40")
    (trainer,) = [
        p for p in psutil.Process(repro.pid).children(recursive=True) if p.cmdline()[1:3] == ["-m", "stages.train"]
    ]
    trainer.send_signal(signal.SIGKILL)
    output = repro.communicate(timeout=120)[0].decode()
    assert repro.returncode != 0, output
    assert "failed to reproduce 'train@imdb-lstm'" in output
    assert not model.exists() and "train@imdb-lstm: wrote" not in output

    repro = start(["dvc", "repro"], project)
    read_until(repro, "Epoch 2/40")
    os.killpg(repro.pid, signal.SIGKILL)
    repro.wait(timeout=60)
    assert not model.exists()

    forced = ["tokenize@imdb", "baseline@imdb"]
    result = run(["dvc", "repro", "--force", "--single-item", *forced], project, project_env(None))
    assert stages_run(result.stdout) == set(forced)
    result = run(["dvc", "repro"], project, project_env(None))
    assert {"train@imdb-lstm", "evaluate@imdb-lstm"} <= stages_run(result.stdout)
    assert results_of(project) == reference.results
    assert "Data and pipelines are up to date." in run(["dvc", "status"], project, project_env(None)).stdout


@pytest.mark.slow
@pytest.mark.parametrize("preset", [None, "/elsewhere/jax"])
def test_jax_keeps_compiled_programs_in_the_user_cache_unless_told_otherwise(tmp_path: Path, preset: str | None):
    """On KERAS_BACKEND=jax a rerun loads its compiled programs instead of compiling them in its first epoch;
    a user's own JAX_COMPILATION_CACHE_DIR wins."""
    env = {key: value for key, value in os.environ.items() if key != "JAX_COMPILATION_CACHE_DIR"}
    env |= {"XDG_CACHE_HOME": str(tmp_path)} | ({"JAX_COMPILATION_CACHE_DIR": preset} if preset else {})
    show = "import os, stages; print(os.environ['JAX_COMPILATION_CACHE_DIR'])"
    result = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == (preset or str(tmp_path / "rnnlab" / "jax"))


def test_a_benchmark_reports_a_failing_stage_in_one_line_of_its_own_error(tmp_path: Path):
    """benchmarks.scaling runs each stage as its own process: a failing stage ends the benchmark with that
    stage's own error line (not the TensorFlow log before it) and the stage's name."""
    from benchmarks.scaling import run_stage

    shutil.copy2(ROOT / "params.yaml", tmp_path / "params.yaml")  # the project copy the benchmark makes
    shutil.copytree(ROOT / "stages", tmp_path / "stages")
    with pytest.raises(SystemExit) as failure:
        run_stage(tmp_path, "stages.download", "--dataset", "nope")
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("error: stages.download failed: --dataset nope: not in params.yaml datasets"), message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml", "stages"]  # nothing written


# ---------------------------------------------------------------------------------------------
# Security: model files and arrays never run code.


class Payload:
    """Unpickling this creates the file at `path`: proof that something was unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w"))


def evaluate_refuses(project: Path, marker: Path) -> str:
    """Run evaluate@imdb-lstm on a tampered project: one error line, no code run, no metrics written."""
    (project / "metrics/imdb/lstm.json").unlink()
    (project / "reports/imdb/predictions/lstm.csv").unlink()
    env = {**project_env(None), "PWNED": str(marker)}
    result = run(["python", "-m", "stages.evaluate", "--dataset", "imdb", "--arch", "lstm"], project, env, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert not marker.exists(), "the file's code ran"
    assert not (project / "metrics/imdb/lstm.json").exists()
    assert not (project / "reports/imdb/predictions/lstm.csv").exists()
    return line


def test_model_with_python_code_is_refused_not_run(reference: Reference, tmp_path: Path):
    import keras

    project = copy_of(reference, tmp_path / "project")
    keras.utils.set_random_seed(0)  # TF_DETERMINISTIC_OPS (set by stages) wants seeded initialisers
    inputs = keras.Input(shape=(None,), dtype="int32")
    hidden = keras.layers.Lambda(  # a Python lambda: saved as bytecode, which would run on load without safe_mode
        lambda x: (
            x  # as built here; under evaluate (PWNED set) it would leave a mark
            if "PWNED" not in __import__("os").environ
            else __import__("pathlib").Path(__import__("os").environ["PWNED"]).touch() or x
        )
    )(inputs)
    hidden = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(200, 2)(hidden))
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden)).save(
        project / "data/imdb/models/lstm.keras"
    )
    line = evaluate_refuses(project, tmp_path / "pwned")
    assert line.startswith("error: data/imdb/models/lstm.keras: refused or unreadable (Requested the deserialization ")
    assert "Lambda" in line and "safe_mode" in line


def test_arrays_holding_python_objects_are_refused_not_unpickled(reference: Reference, tmp_path: Path):
    project = copy_of(reference, tmp_path / "project")
    marker = tmp_path / "pwned"
    test_x = project / "data/imdb/tokenized/test/x.npy"
    rows = len(load_arrays(test_x.parent)["y"])
    test_x.unlink()  # a DVC output may be a read-only link into the cache
    np.save(test_x, np.array([Payload(str(marker))] * rows, dtype=object), allow_pickle=True)
    line = evaluate_refuses(project, marker)
    assert line == (
        "error: data/imdb/tokenized/test/x.npy: refused (Object arrays cannot be loaded when allow_pickle=False); "
        "only plain numeric arrays are loaded"
    )


# ---------------------------------------------------------------------------------------------
# Params that cannot be read or used, errors before TensorFlow's logs, file modes.


@pytest.mark.parametrize(
    ("spoil", "line"),
    [
        (
            lambda text: re.sub(rb"(?m)^seed:", b"# caf\xe9\nseed:", text, count=1),
            "error: params.yaml: line {line}: byte 0xe9 is not UTF-8; save it as UTF-8",
        ),
        (
            lambda text: re.sub(rb"(?m)^seed: *\d+", b"seed: 1099511627776", text, count=1),
            "error: seed: Input should be less than 4294967296 (got 1099511627776)",
        ),
    ],
    ids=["not-utf8", "seed-out-of-range"],
)
def test_unusable_params_are_one_line_before_any_work(workdir: Path, spoil: Callable[[bytes], bytes], line: str):
    write_corpus(workdir / "data/imdb/raw", {})
    text = spoil((workdir / "params.yaml").read_bytes())
    (workdir / "params.yaml").write_bytes(text)
    env = {**project_env(None), "PYTHONPATH": str(ROOT)}
    result = run(["python", "-m", "stages.tokenize", "--dataset", "imdb"], workdir, env, False)
    number = text[: text.find(b"\xe9")].count(b"\n") + 1
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line.format(line=number) + "\n")
    assert not (workdir / "data/imdb/tokenized").exists() and not (workdir / "data/imdb/stats.json").exists()


@pytest.mark.parametrize("stage", ["train", "evaluate"])
def test_a_model_stage_error_is_all_the_user_sees(workdir: Path, stage: str):
    """As dvc runs them (oneDNN on for train): TensorFlow's start-up logs never come before the error line."""
    edit_params(workdir, {"architectures.gru.dropout": 1.5})
    env = {**project_env(None), "PYTHONPATH": str(ROOT), "TF_ENABLE_ONEDNN_OPTS": "1" if stage == "train" else "0"}
    result = run(["python", "-m", f"stages.{stage}", "--dataset", "imdb", "--arch", "gru"], workdir, env, False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: architectures.gru.dropout: Input should be less than 1 (got 1.5)\n"


def test_outputs_get_the_users_umask(workdir: Path):
    """Files written aside and renamed get the mode any other file would, not the private one of a temporary file."""
    from stages import tokenize

    write_corpus(workdir / "data/imdb/raw", {})
    previous = os.umask(0o002)
    try:
        tokenize.main(["--dataset", "imdb"])
    finally:
        os.umask(previous)
    assert (workdir / "data/imdb/stats.json").stat().st_mode & 0o777 == 0o664
    assert (workdir / "data/imdb/tokenized/train/x.npy").stat().st_mode & 0o777 == 0o664


# ---------------------------------------------------------------------------------------------
# Interrupted and failed training: committed files stay as they were; a stage dies with its parent.


def test_training_that_fails_by_hand_leaves_the_committed_curves(workdir: Path):
    curves = workdir / "dvclive/imdb/lstm"
    (curves / "plots/metrics/train").mkdir(parents=True)
    (curves / "metrics.json").write_text('{"step": 3}\n')
    (curves / "plots/metrics/train/loss.tsv").write_text("step\tloss\n0\t0.7\n")
    before = {path: path.read_bytes() for path in files_under(curves)}
    env = {**project_env(None), "PYTHONPATH": str(ROOT)}
    result = run(["python", "-m", "stages.train", "--dataset", "imdb", "--arch", "lstm"], workdir, env, False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: data/imdb/tokenized/train: no tokenized arrays (x.npy, y.npy); `dvc repro` rebuilds them\n"
    )
    assert {path: path.read_bytes() for path in files_under(curves)} == before
    assert not (workdir / "data/imdb/models").exists()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_interrupted_training_leaves_every_committed_file(reference: Reference, tmp_path: Path, stop: signal.Signals):
    """Training run by hand, stopped mid-way: its curves, model and metrics stay as committed; Ctrl-C says so in
    one line, without a traceback."""
    project = copy_of(reference, tmp_path / "project")
    edit_params(project, {"train.epochs": 1000, "train.patience": 1000})  # no chance to finish before the signal
    run([*GIT, "commit", "-qam", "a long training"], project)
    model = project / "data/imdb/models/lstm.keras"
    committed = model.read_bytes()
    trainer = start(["python", "-m", "stages.train", "--dataset", "imdb", "--arch", "lstm"], project)
    read_until(trainer, "Epoch 2/1000")
    trainer.send_signal(stop)
    output = trainer.communicate(timeout=60)[0].decode()
    assert trainer.returncode == (128 + stop if stop == signal.SIGINT else -stop)  # Ctrl-C: the shell's status
    if stop == signal.SIGINT:
        assert "Traceback" not in output
        assert [line for line in output.splitlines() if line.startswith("error:")] == [
            "error: interrupted: python -m stages.train --dataset imdb --arch lstm stopped; nothing was written"
        ]
    assert run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout == ""
    assert model.read_bytes() == committed


def test_training_dies_with_a_killed_dvc(reference: Reference, tmp_path: Path):
    """SIGKILL to `dvc repro` alone: its training process ends too, instead of writing a model no dvc.lock records,
    also where dvc's shell stays between them (dash, the /bin/sh dvc uses without $SHELL, does not exec)."""
    project = copy_of(reference, tmp_path / "project")
    repro = start(["dvc", "repro", "--force", "--single-item", "train@imdb-lstm"], project, SHELL="/bin/sh")
    try:
        read_until(repro, "Epoch 2/40")
        (trainer,) = [
            p for p in psutil.Process(repro.pid).children(recursive=True) if p.cmdline()[1:3] == ["-m", "stages.train"]
        ]
        os.kill(repro.pid, signal.SIGKILL)
        repro.wait(timeout=30)
        _, alive = psutil.wait_procs([trainer], timeout=30)
        assert alive == []
        assert not (project / "data/imdb/models/lstm.keras").exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(repro.pid, signal.SIGKILL)  # whatever is left of its session
