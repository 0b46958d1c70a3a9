"""Stage `train@<arch>`: fit one architecture, early-stopped on the validation split.

Imports only `keras`, so KERAS_BACKEND=jax or torch runs it too. Writes the best
weights' model as `.keras`, a training summary JSON, and per-epoch DVCLive curves.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

import keras
from dvclive import Live

from stages import UserError, run_stage
from stages.data import LIVE_DIR, MODELS_DIR, TOKENIZED_DIR, atomic_write, load_arrays, write_json
from stages.params import Params, architecture_kwargs, load_params
from stages.registry import build_model


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; no model, summary, curves or metrics are written."""


# Out-of-memory errors of TensorFlow, PyTorch and Python; JAX's say RESOURCE_EXHAUSTED.
OUT_OF_MEMORY = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}


def out_of_memory(exc: BaseException) -> bool:
    """Recognised by name, so that this module still imports only keras, whatever the backend."""
    return type(exc).__name__ in OUT_OF_MEMORY or "RESOURCE_EXHAUSTED" in str(exc)[:200]


class LiveLogger(keras.callbacks.Callback):
    """Per-epoch metrics to DVCLive on any backend (dvclive.keras needs TensorFlow's Keras)."""

    def __init__(self, live: Live):
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            split = "eval" if name.startswith("val_") else "train"
            self.live.log_metric(f"{split}/{name.removeprefix('val_')}", float(value))
        self.live.next_step()


def train(params: Params, arch: str, live_dir: Path) -> tuple[keras.Model, dict]:
    """Build and fit `arch`; returns the model with its best weights restored and a summary."""
    keras.utils.set_random_seed(params.seed)
    settings = params.train
    train_split = load_arrays(TOKENIZED_DIR / "train.npz")
    val_split = load_arrays(TOKENIZED_DIR / "val.npz")
    model = build_model(arch, architecture_kwargs(params, arch), params.tokenize.vocab_size, settings.embedding_dim)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=settings.clipnorm),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    stopper = keras.callbacks.EarlyStopping(settings.monitor, patience=settings.patience, restore_best_weights=True)
    with Live(str(live_dir), dvcyaml=False, save_dvc_exp=False) as live:
        started = time.perf_counter()
        history = model.fit(
            train_split["x"],
            train_split["y"],
            validation_data=(val_split["x"], val_split["y"]),
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            callbacks=[stopper, keras.callbacks.TerminateOnNaN(), LiveLogger(live)],
            verbose=1 if sys.stdout.isatty() else 2,
        )
        seconds = time.perf_counter() - started
    losses = history.history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        shutil.rmtree(live_dir, ignore_errors=True)  # the diverged run's curves must not pass for results
        raise TrainingDiverged(
            f"train@{arch}: loss became {losses[-1] if losses else 'undefined'} at epoch {len(losses)}; "
            "lower train.learning_rate or train.clipnorm"
        )
    best = stopper.best_epoch
    summary = {
        "epochs": len(losses),
        "best_epoch": best + 1,
        "val_accuracy": round(history.history["val_accuracy"][best], 4),
        "val_loss": round(history.history["val_loss"][best], 4),
        "train_seconds": round(seconds, 1),
        "params": model.count_params(),
    }
    return model, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    architecture_kwargs(params, args.arch)  # fail on an unknown --arch before any work
    try:
        model, summary = train(params, args.arch, LIVE_DIR / args.arch)
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        shutil.rmtree(LIVE_DIR / args.arch, ignore_errors=True)  # a partial run's curves are not results
        raise UserError(
            f"train@{args.arch}: out of memory ({type(exc).__name__}); lower train.batch_size, tokenize.max_len, "
            "train.embedding_dim or the architecture's size"
        ) from None
    model_path = MODELS_DIR / f"{args.arch}.keras"
    atomic_write(model_path, model.save)
    write_json(MODELS_DIR / f"{args.arch}.json", summary)
    print(
        f"train@{args.arch}: wrote {model_path} ({summary['epochs']} epochs, best {summary['best_epoch']}, "
        f"{summary['train_seconds']} s)"
    )


if __name__ == "__main__":
    run_stage(main)
