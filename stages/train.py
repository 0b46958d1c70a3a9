"""Stages `train@<dataset>-<arch>` and `lm_train@<corpus>-<arch>`: fit one architecture, early-stopped on
the validation split: a text classifier on a dataset, or a character-level language model on a corpus.

Trains through `keras` alone, so KERAS_BACKEND=jax or torch runs it too; DVCLive, which logs the
curves, is imported by the CLI only, so the training functions also run where DVC is not installed
(a JAX GPU machine). Writes the best weights' model as `.keras`, a training summary JSON, and
per-epoch DVCLive curves.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from stages import UserError, ctrl_c_exits_at_once, run_stage
from stages.batching import LengthBatches, bucket_width, crop
from stages.data import (
    atomic_write,
    load_arrays,
    load_ids,
    read_lines,
    read_vocab,
    replace_dir,
    windows,
    write_json,
)
from stages.distribution import distribution_scope, is_chief, replicas
from stages.optimizers import OPTIMIZERS
from stages.params import ClassifierTrain, Params, Train, classifier_train, load_params
from stages.registry import architecture_kwargs, build_language_model, build_model, check_architectures
from stages.task import Paths, Task, task

if TYPE_CHECKING:  # imported at run time by main() only: the training functions run without DVC
    from dvclive import Live


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; no model, summary, curves or metrics are written."""


# Out-of-memory errors of TensorFlow, PyTorch and Python; JAX's say RESOURCE_EXHAUSTED.
OUT_OF_MEMORY = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}


def out_of_memory(exc: BaseException) -> bool:
    """Recognised by name, so that this module still imports only keras, whatever the backend."""
    return type(exc).__name__ in OUT_OF_MEMORY or "RESOURCE_EXHAUSTED" in str(exc)[:200]


class LiveLogger(keras.callbacks.Callback):
    """Per-epoch metrics to a `dvclive.Live` on any backend (dvclive.keras needs TensorFlow's Keras)."""

    def __init__(self, live: Live):
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            split = "eval" if name.startswith("val_") else "train"
            self.live.log_metric(f"{split}/{name.removeprefix('val_')}", float(value))
        self.live.next_step()


def class_weights(labels: np.ndarray, classes: int, option: str) -> dict[int, float] | None:
    """`balanced` weighs each class by n / (classes * count): rare classes count as much as common ones."""
    if option == "none":
        return None
    weights = compute_class_weight("balanced", classes=np.arange(classes), y=labels)
    return {i: float(weight) for i, weight in enumerate(weights)}


class EpochClock(keras.callbacks.Callback):
    """Seconds since the start of `fit` at the end of each epoch (validation included)."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.started, self.ends = time.perf_counter(), []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.ends.append(time.perf_counter() - self.started)


Inputs = tuple[np.ndarray, np.ndarray] | keras.utils.PyDataset


def classifier_inputs(
    arrays: dict[str, dict[str, np.ndarray]], settings: ClassifierTrain, pre_padded: bool, seed: int
) -> dict[str, Inputs]:
    """What `fit` reads for each split of padded reviews: length batches with `train.bucketing`, else the arrays."""
    width_step = bucket_width(settings.bucket_width, keras.backend.backend())
    return {
        split: LengthBatches(a["x"], a["y"], a["lengths"], settings.batch_size, pre_padded, seed, width_step)
        if settings.bucketing
        else (a["x"], a["y"])
        for split, a in arrays.items()
    }


def learning_rate(settings: Train, train: Inputs) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """`learning_rate`, or with `schedule: cosine` a decay from it to 0 over every step of `epochs`: large
    steps early, small ones late, so the last epochs settle instead of overfitting at a fixed rate."""
    if settings.schedule == "constant":
        return settings.learning_rate
    steps = len(train) if isinstance(train, keras.utils.PyDataset) else math.ceil(len(train[0]) / settings.batch_size)
    return keras.optimizers.schedules.CosineDecay(settings.learning_rate, settings.epochs * steps)


def fit(
    build: Callable[[], keras.Model],
    loss: str | keras.losses.Loss,
    accuracy: type[keras.metrics.Metric],
    settings: Train,
    data: dict[str, Inputs],
    stage: str,
    loggers: list[keras.callbacks.Callback],
    class_weight: dict[int, float] | None = None,
) -> tuple[keras.Model, dict]:
    """Build (inside the distribution scope), compile and fit; returns the model (with its best weights
    restored when early-stopped) and a summary. Shared by the classifiers and the language models.
    `accuracy` is the metric class that fits the loss; `data` holds (x, y) arrays or ready-made batches
    per split; `loggers` see every epoch."""
    with distribution_scope(settings.distribution, settings.cpu_devices, settings.batch_size):
        model = build()
        devices = replicas()
        rate = learning_rate(settings, data["train"])
        model.compile(
            optimizer=OPTIMIZERS[settings.optimizer](rate, clipnorm=settings.clipnorm or None),
            loss=loss,
            metrics=[accuracy(name="accuracy")],
        )
        # The optimizer's slots made now, as the metric's were: a first training step that makes variables is
        # traced twice on TensorFlow (0.3 to 2.9 s of each fit on a 2-core CPU, docs/benchmarks.md).
        model.optimizer.build(model.trainable_variables)
        stopper = keras.callbacks.EarlyStopping(settings.monitor, patience=settings.patience, restore_best_weights=True)
        clock = EpochClock()
        batched = isinstance(data["train"], keras.utils.PyDataset)
        callbacks = [keras.callbacks.TerminateOnNaN(), *loggers, clock]
        with ctrl_c_exits_at_once():
            history = model.fit(
                *((data["train"],) if batched else data["train"]),
                validation_data=data["val"],
                epochs=settings.epochs,
                batch_size=None if batched else settings.batch_size,
                class_weight=class_weight,
                callbacks=[stopper, *callbacks] if settings.early_stopping else callbacks,
                verbose=1 if sys.stdout.isatty() else 2,
            )
    losses = history.history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        section = stage.partition("@")[0]
        raise TrainingDiverged(
            f"{stage}: loss became {losses[-1] if losses else 'undefined'} at epoch {len(losses)}; "
            f"lower {section}.learning_rate or {section}.clipnorm"
        )
    best = stopper.best_epoch if settings.early_stopping else len(losses) - 1  # the epoch whose weights are kept
    summary = {
        "epochs": len(losses),
        "best_epoch": best + 1,
        "val_accuracy": round(history.history["val_accuracy"][best], 4),
        "val_loss": round(history.history["val_loss"][best], 4),
        "train_seconds": round(clock.ends[-1], 1),
        "seconds_to_best": round(clock.ends[best], 1),  # when the kept weights existed: time to final accuracy
        "params": model.count_params(),
        "replicas": devices,
        "backend": keras.backend.backend(),  # KERAS_BACKEND: results differ between backends
    }
    return model, summary


def train_classifier(
    params: Params, dataset: str, arch: str, loggers: list[keras.callbacks.Callback]
) -> tuple[keras.Model, dict]:
    """Fit `arch` on a classification dataset: a sigmoid or softmax head over the padded, masked reviews."""
    paths, settings, tokenized = Paths(dataset), classifier_train(params, arch), params.datasets[dataset].tokenize
    pre_padded = tokenized.padding == "pre"
    arrays = {
        split: crop(load_arrays(paths.tokenized / split), settings.max_len, tokenized.padding, tokenized.truncating)
        for split in ("train", "val")
    }
    data = classifier_inputs(arrays, settings, pre_padded, params.seed)
    vocab_size = len(read_lines(paths.tokenized / "vocab.txt"))
    classes = len(read_lines(paths.tokenized / "classes.txt"))
    hyperparams = architecture_kwargs(params, arch)
    keras.utils.set_random_seed(params.seed)
    model, summary = fit(
        lambda: build_model(
            arch, hyperparams, vocab_size, settings.embedding_dim, classes, settings.mask, settings.embedding_dropout
        ),
        "binary_crossentropy" if classes == 2 else "sparse_categorical_crossentropy",
        keras.metrics.BinaryAccuracy if classes == 2 else keras.metrics.SparseCategoricalAccuracy,
        settings,
        data,
        Task(dataset, language_model=False).stage("train", arch),
        loggers,
        class_weights(arrays["train"]["y"], classes, params.datasets[dataset].class_weight),
    )
    return model, summary | {"max_len": int(arrays["train"]["x"].shape[1])}  # what evaluate and predict cut to


def train_language_model(
    params: Params, corpus: str, arch: str, loggers: list[keras.callbacks.Callback]
) -> tuple[keras.Model, dict]:
    """Fit `arch` as a character-level language model: every position of a window predicts the next character."""
    paths, settings, seq_len = Paths(corpus), params.lm_train, params.corpora[corpus].seq_len
    data = {split: windows(load_ids(paths.tokenized / split), seq_len) for split in ("train", "val")}
    vocab_size = len(read_vocab(paths.tokenized))
    hyperparams = architecture_kwargs(params, arch, "language_models")
    keras.utils.set_random_seed(params.seed)
    model, summary = fit(
        lambda: build_language_model(arch, hyperparams, vocab_size, settings.embedding_dim),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.metrics.SparseCategoricalAccuracy,
        settings,
        data,
        Task(corpus, language_model=True).stage("train", arch),
        loggers,
    )
    return model, summary | {"val_bits_per_char": round(summary["val_loss"] / math.log(2), 4)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset or corpus name from params.yaml")
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    args = parser.parse_args(argv)
    params = check_architectures(load_params())
    kind = task(params, args.dataset)  # fail on an unknown --dataset or --arch before any work
    architecture_kwargs(params, args.arch, kind.models_section)
    paths, stage, settings = kind.paths, kind.stage("train", args.arch), kind.train_settings(params, args.arch)
    from dvclive import Live  # here only: the training functions above run without DVC

    # The curves go to a folder of their own and replace dvclive/<dataset>/<arch> only once training succeeded: a
    # failed or interrupted run leaves the committed ones as they were.
    with tempfile.TemporaryDirectory(prefix="rnnlab-curves-") as tmp:
        curves = Path(tmp) / args.arch  # made by DVCLive with the user's usual mode, unlike the private `tmp`
        try:
            with Live(str(curves), dvcyaml=False, save_dvc_exp=False) as live:
                model, summary = (train_language_model if kind.language_model else train_classifier)(
                    params, args.dataset, args.arch, [LiveLogger(live)]
                )
        except Exception as exc:
            if not out_of_memory(exc):
                raise
            section = kind.train_section
            length = f"corpora.{args.dataset}.seq_len" if kind.language_model else "train.max_len"
            raise UserError(
                f"{stage}: out of memory ({type(exc).__name__}); lower {section}.batch_size, {length}, "
                f"{section}.embedding_dim or the architecture's size"
            ) from None
        if not is_chief(settings.distribution):
            print(f"{stage}: trained as a multi-worker replica; the chief writes the outputs")
            return
        model_path = paths.models / f"{args.arch}.keras"
        atomic_write(model_path, model.save)
        write_json(paths.models / f"{args.arch}.json", summary)
        replace_dir(paths.live / args.arch, lambda folder: shutil.copytree(curves, folder, dirs_exist_ok=True))
    print(
        f"{stage}: wrote {model_path} ({summary['epochs']} epochs, best {summary['best_epoch']}, "
        f"{summary['train_seconds']} s on {keras.backend.backend()})"
    )


if __name__ == "__main__":
    run_stage(main)
