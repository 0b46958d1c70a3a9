"""The script behind docs/benchmarks.md's "XLA on the CPU" figures (weighed, not kept).

Keras compiles nothing with XLA on a TensorFlow CPU (`jit_compile="auto"` means off there), and refuses
`jit_compile=True` while TensorFlow's op determinism is on, which `stages/__init__.py` turns on for
reproducible runs. So this runs with TF_DETERMINISTIC_OPS=0 for both settings and forces `jit_compile`
through `Model.compile`, then trains one architecture with the defaults for a fixed number of epochs
(no early stopping) and prints each epoch's seconds. From the project root, after `dvc repro tokenize@imdb`:

    TF_DETERMINISTIC_OPS=0 PYTHONPATH=. python docs/results/xla_cpu.py 1 gru 3

Arguments: jit_compile (0 | 1), architecture, epochs.
"""

import sys
import time

import keras

from stages import train
from stages.params import load_params

jit, arch, epochs = sys.argv[1] == "1", sys.argv[2], int(sys.argv[3])
keras_compile = keras.Model.compile


def compile_with_jit(self: keras.Model, *args, **kwargs) -> None:
    keras_compile(self, *args, **kwargs | {"jit_compile": jit})


class EpochSeconds(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.perf_counter() - self.started
        print(f"EPOCH {epoch + 1} {seconds:.1f}s val_acc={logs['val_accuracy']:.4f}", flush=True)


keras.Model.compile = compile_with_jit
params = load_params()
settings = params.train.model_copy(update={"epochs": epochs, "early_stopping": False})
model, summary = train.train_classifier(params.model_copy(update={"train": settings}), "imdb", arch, [EpochSeconds()])
print("RESULT", arch, "jit", model.jit_compile, summary["train_seconds"], summary["val_accuracy"])
