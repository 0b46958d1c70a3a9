"""`train.distribution`: a mirrored run over two logical CPUs and a two-worker run both train a valid model.

TensorFlow fixes its devices at its first op, and a multi-worker cluster needs one process per
worker, so the training runs in fresh subprocesses. The errors are checked in-process, because
they are raised before TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from stages import UserError
from stages.distribution import DISTRIBUTIONS, distribution_scope, is_chief
from stages.metrics import read_metrics
from stages.registry import build_model

ROOT = Path(__file__).resolve().parents[1]

# argv: distribution, cpu_devices, output folder. Prints one JSON line.
TRAIN = """
import json, sys
import keras, numpy as np
from stages import UserError
from stages.distribution import distribution_scope
from stages.optimizers import LazyAdam
from stages.registry import build_model

distribution, cpu_devices, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.integers(1, 50, size=(256, 20), dtype=np.int32)
x[np.arange(20) >= rng.integers(5, 21, size=256)[:, None]] = 0  # right padding, masked by the embedding
y = (x == 7).any(axis=1).astype("float32")  # learnable: does token 7 occur?
with distribution_scope(distribution, cpu_devices, batch_size=32):
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    model = build_model("gru", {"units": 8, "dropout": 0.0}, vocab_size=50, embedding_dim=8)
    # LazyAdam: Adam for the dense gradients; its embedding-row updates must hold across replicas too.
    model.compile(optimizer=LazyAdam(0.01, clipnorm=1.0), loss="binary_crossentropy", metrics=["accuracy"])
    # Last batches of 17 (training) and 1 (validation) examples: replicas may get unequal shares of those.
    history = model.fit(x[:241], y[:241], validation_data=(x[-33:], y[-33:]), epochs=2, batch_size=32, verbose=0)
model.save(f"{out}/model.keras")
probabilities = keras.saving.load_model(f"{out}/model.keras").predict(x, verbose=0)
errors = {}
if distribution == "mirrored":  # a second multi-worker strategy would rejoin the cluster
    checks = {"late_split": {"cpu_devices": 3}, "odd_batch": {"cpu_devices": cpu_devices, "batch_size": 51}}
    for name, kwargs in checks.items():
        try:  # TensorFlow has started: too late to split the CPU again; and 51 does not split in 2
            distribution_scope(distribution, **kwargs)
            errors[name] = "accepted"
        except UserError as exc:
            errors[name] = str(exc)
print(json.dumps({
    "replicas": replicas,
    "loss": history.history["loss"],
    "accuracy": history.history["accuracy"][-1],
    "val_accuracy": history.history["val_accuracy"][-1],
    "probabilities": probabilities[:8, 0].tolist(),
    "all_probabilities_valid": bool(np.all(np.isfinite(probabilities) & (probabilities >= 0) & (probabilities <= 1))),
    "errors": errors,
}))
"""


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    return {**env, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def start(distribution: str, cpu_devices: int, out: Path, env: dict[str, str]) -> subprocess.Popen:
    out.mkdir()
    args = [sys.executable, "-c", TRAIN, distribution, str(cpu_devices), str(out)]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(process: subprocess.Popen) -> dict:
    """The process's JSON line, or a failure showing what it wrote."""
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode == 0, f"exited {process.returncode}\n{stdout}\n{stderr[-4000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


def assert_trained(run: dict, replicas: int) -> None:
    assert run["replicas"] == replicas
    assert len(run["loss"]) == 2 and all(math.isfinite(loss) for loss in run["loss"])
    assert run["loss"][1] < run["loss"][0]
    assert 0 <= run["accuracy"] <= 1 and 0 <= run["val_accuracy"] <= 1
    assert run["all_probabilities_valid"]


def free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def test_mirrored_over_two_logical_cpus_trains_a_valid_model(tmp_path: Path):
    run = result(start("mirrored", 2, tmp_path / "mirrored", environment()))
    assert_trained(run, replicas=2)
    assert (tmp_path / "mirrored" / "model.keras").is_file()
    assert run["errors"]["late_split"].startswith("train.cpu_devices=3: TensorFlow already ran an op")
    assert run["errors"]["odd_batch"] == (
        "train.batch_size=51 does not split evenly across the 2 replicas of train.distribution=mirrored; "
        "use a multiple of 2"
    )


def test_multi_worker_over_two_local_workers_trains_the_same_model(tmp_path: Path):
    """Two processes on localhost stand in for two machines. Both must end with identical weights."""
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = [
        start(
            "multi_worker",
            0,
            tmp_path / f"worker{index}",
            environment(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})),
        )
        for index in range(2)
    ]
    try:
        runs = [result(worker) for worker in workers]
    finally:  # a worker whose peer failed would wait in a collective op until its timeout
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    for run in runs:
        assert_trained(run, replicas=2)
    np.testing.assert_allclose(runs[0]["probabilities"], runs[1]["probabilities"], rtol=1e-6)
    assert runs[0]["loss"] == runs[1]["loss"]  # metrics are aggregated over the whole cluster


def test_unknown_distribution_names_the_allowed_values():
    with pytest.raises(
        UserError, match=r"train\.distribution='mirror': expected one of single, mirrored, multi_worker"
    ):
        distribution_scope("mirror")
    assert DISTRIBUTIONS == ("single", "mirrored", "multi_worker")


def test_negative_cpu_devices_is_a_user_error():
    with pytest.raises(UserError, match=r"train\.cpu_devices=-1"):
        distribution_scope("mirrored", cpu_devices=-1)


@pytest.mark.parametrize("tf_config", [None, ""])
def test_multi_worker_without_tf_config_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tf_config: str | None):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(UserError, match=r"train\.distribution=multi_worker: TF_CONFIG is not set") as caught:
        distribution_scope("multi_worker")
    assert "\n" not in str(caught.value)


def test_multi_worker_with_malformed_tf_config_is_a_user_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": ')
    with pytest.raises(UserError, match="TF_CONFIG is not valid JSON"):
        distribution_scope("multi_worker")


def test_single_is_a_null_context_that_trains():
    scope = distribution_scope("single", cpu_devices=4)  # cpu_devices only matters to mirrored
    assert isinstance(scope, contextlib.nullcontext)
    keras.utils.set_random_seed(0)
    x = np.array([[5, 7, 0, 0], [3, 4, 2, 0]] * 4, dtype=np.int32)
    y = np.array([1, 0] * 4, dtype=np.float32)
    with scope:
        model = build_model("gru", {"units": 4, "dropout": 0.0}, vocab_size=10, embedding_dim=4)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert math.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("distribution", ["mirrored", "multi_worker"])
def test_torch_backend_is_a_user_error(monkeypatch: pytest.MonkeyPatch, distribution: str):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    monkeypatch.setenv("TF_CONFIG", "{}")
    with pytest.raises(UserError, match=rf"train\.distribution={distribution} needs KERAS_BACKEND=tensorflow"):
        distribution_scope(distribution)


@pytest.mark.parametrize(
    ("cluster", "task", "chief"),
    [
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
    ],
)
def test_only_the_chief_writes_outputs(monkeypatch: pytest.MonkeyPatch, cluster: dict, task: dict, chief: bool):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert is_chief("multi_worker") is chief
    assert is_chief("single") and is_chief("mirrored")  # TF_CONFIG means nothing to them


def test_train_stage_mirrored_over_two_cpu_devices_gives_a_valid_model_and_metrics(tmp_path: Path):
    """params.yaml alone switches the real stage to MirroredStrategy: `dvc repro` trains and scores as usual."""
    from tests import fakes
    from tests.conftest import TINY, make_project, project_env, run

    mirror = fakes.imdb_mirror(tmp_path / "mirror")
    changes = {**TINY, "train.distribution": "mirrored", "train.cpu_devices": 2, "train.epochs": 2}
    project = make_project(tmp_path / "project", mirror, changes)
    run(["dvc", "repro", "evaluate@imdb-gru"], project, project_env(mirror))
    assert json.loads((project / "data/imdb/models/gru.json").read_text())["replicas"] == 2
    metrics = read_metrics(project / "metrics/imdb/gru.json")
    assert 0 <= metrics["accuracy"] <= 1 and math.isfinite(metrics["log_loss"]) and metrics["epochs"] == 2
    assert len((project / "reports/imdb/predictions/gru.csv").read_text().splitlines()) == 1 + 120
    assert (project / "data/imdb/models/gru.keras").is_file()
