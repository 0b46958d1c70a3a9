"""`train.distribution`: single-device, mirrored or multi-worker data-parallel training.

Enter the scope before anything runs a TensorFlow (or JAX) op, since devices are fixed at the first one,
and create everything with variables inside it:

    with distribution_scope(settings.distribution, settings.cpu_devices, settings.batch_size):
        model = build_model(...)  # the model's variables,
        model.compile(...)  # the optimizer's and the metrics' too
        model.fit(x, y, batch_size=settings.batch_size)
    if is_chief(settings.distribution):
        model.save(...)

`batch_size` stays the *global* batch: Keras splits each batch across the replicas. A mirrored run
over N devices takes as many steps as a single-device one, and each device gets batch_size / N
examples. That division must be exact. Keras 3.15 on TensorFlow reduces the first batch across
replicas to learn its shapes, and fails on unequal shards ("AddN must have the same size", or a
collective "Shape mismatch"). Pass `batch_size` to get a one-line error instead. On TensorFlow a
short last batch may split unevenly. On JAX every batch must split evenly, the last one included,
or fit fails with IndivisibleError.

Plain NumPy arrays work under every strategy. On TensorFlow, Keras wraps them in a distributed
tf.data pipeline, so no tf.data.Dataset, masking or int-input workaround is needed. `tensorflow`
and `jax` are imported here, lazily, and only on their own backend, so the rest of the project
keeps importing `keras` alone.
"""

from __future__ import annotations

import contextlib
import json
import math
import os

import keras

from stages import UserError

DISTRIBUTIONS = ("single", "mirrored", "multi_worker")


def distribution_scope(
    distribution: str, cpu_devices: int = 0, batch_size: int | None = None
) -> contextlib.AbstractContextManager:
    """Context in which the caller builds AND compiles the model, and then calls fit.

    When there is no GPU, `cpu_devices` > 1 splits the CPU into that many logical devices for
    `mirrored`, so a laptop can exercise the multi-replica path. 0 or 1 leaves the CPU whole.
    A `batch_size` (the global batch) is checked to split evenly across the replicas.
    """
    if distribution not in DISTRIBUTIONS:
        raise UserError(f"train.distribution={distribution!r}: expected one of {', '.join(DISTRIBUTIONS)}")
    if cpu_devices < 0:
        raise UserError(f"train.cpu_devices={cpu_devices}: expected 0 (leave the CPU whole) or a positive count")
    if distribution == "single":
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if distribution == "mirrored" and backend == "tensorflow":
        strategy = _tf_mirrored(cpu_devices)
    elif distribution == "mirrored" and backend == "jax":
        data_parallel = _jax_data_parallel(cpu_devices)
        _check_batch_size(batch_size, distribution, data_parallel.device_mesh.shape[0])
        return data_parallel.scope()
    elif distribution == "mirrored":
        raise UserError(f"train.distribution=mirrored needs KERAS_BACKEND=tensorflow or jax, not {backend}")
    elif backend != "tensorflow":
        raise UserError(f"train.distribution=multi_worker needs KERAS_BACKEND=tensorflow, not {backend}")
    else:
        strategy = _tf_multi_worker()
    _check_batch_size(batch_size, distribution, strategy.num_replicas_in_sync)
    return strategy.scope()


def replicas() -> int:
    """How many devices share each batch in the current scope; 1 outside a distribution."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    distribution = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
    return 1 if distribution is None else math.prod(distribution.device_mesh.shape)


def is_chief(distribution: str) -> bool:
    """Whether this process writes the stage's outputs. Every multi-worker process ends with the same model,
    and only the chief saves it: TF_CONFIG's `chief` task, or worker 0 when the cluster names no chief."""
    if distribution != "multi_worker":
        return True
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as exc:
        raise UserError(f"train.distribution=multi_worker: TF_CONFIG is not valid JSON ({exc})") from None
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and task.get("index", 0) == 0


def _check_batch_size(batch_size: int | None, distribution: str, replicas: int) -> None:
    """Every replica gets an equal share of each global batch, as Keras needs."""
    if batch_size is not None and batch_size % replicas:
        raise UserError(
            f"train.batch_size={batch_size} does not split evenly across the {replicas} replicas of "
            f"train.distribution={distribution}; use a multiple of {replicas}"
        )


def _tf_mirrored(cpu_devices: int):  # -> tf.distribute.MirroredStrategy
    """One replica per local GPU, or per logical CPU device when there is no GPU."""
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:  # setting the split TF already uses is a no-op, even after TF has started
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:
            raise UserError(
                f"train.cpu_devices={cpu_devices}: TensorFlow already ran an op with another CPU split; "
                "enter distribution_scope before any TensorFlow op"
            ) from None
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])


def _tf_multi_worker():  # -> tf.distribute.MultiWorkerMirroredStrategy
    """Synchronous data parallelism across the workers that TF_CONFIG names, using each worker's GPUs or CPU."""
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise UserError(
            "train.distribution=multi_worker: TF_CONFIG is not set; "
            "set it on every worker to the cluster and that worker's task (see docs/distributed.md)"
        )
    try:
        json.loads(config)
    except json.JSONDecodeError as exc:
        raise UserError(f"train.distribution=multi_worker: TF_CONFIG is not valid JSON ({exc})") from None
    import tensorflow as tf

    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:  # "Collective ops must be configured at program startup"
        raise UserError(
            f"train.distribution=multi_worker: {_first_line(exc)}; enter distribution_scope before any TensorFlow op"
        ) from None
    except ValueError as exc:  # a TF_CONFIG without a task, or with a task that is not in the cluster
        raise UserError(f"train.distribution=multi_worker: TF_CONFIG: {_first_line(exc)}") from None
    _reduce_leaf_by_leaf(strategy)
    return strategy


def _reduce_leaf_by_leaf(strategy) -> None:
    """Work around Keras 3's fit under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    Keras reduces a whole (x, y) batch in one call, and reduces scalar logs along axis 0. Across
    workers, tf.distribute rejects both. Only calls that would raise change: each leaf is reduced
    on its own, and a scalar leaf is reduced without an axis.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def leaf(v):
            rank = tf.TensorShape(getattr(strategy.experimental_local_results(v)[0], "shape", ())).rank
            return reduce(reduce_op, v, None if rank == 0 else axis)

        return tf.nest.map_structure(leaf, value)

    strategy.reduce = reduce_each


def _jax_data_parallel(cpu_devices: int) -> keras.distribution.DataParallel:
    """keras.distribution's data parallelism: variables are replicated and each batch is sharded across the devices."""
    if cpu_devices > 1:
        import jax

        try:  # possible until JAX runs its first op, and importing keras runs none
            jax.config.update("jax_num_cpu_devices", cpu_devices)
        except RuntimeError:
            raise UserError(
                f"train.cpu_devices={cpu_devices}: JAX already ran an op; enter distribution_scope before any JAX op"
            ) from None
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices())


def _first_line(exc: BaseException) -> str:
    """TensorFlow's messages can run to many lines, but a UserError is one."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
