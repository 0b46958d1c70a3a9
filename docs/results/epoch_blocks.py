"""The train stage's own `fit` of one architecture on this CPU, printing each epoch's time per step in
blocks of 50 training batches, and its first three steps one by one (an epoch leads with its widest
batch): where within an epoch the time goes. Arguments: the architecture, then
overrides of its `train` settings (`dvc repro tokenize@imdb` first):

    PYTHONPATH=. python docs/results/epoch_blocks.py seq_cnn optimizer=lazy_adam epochs=4
"""

import os
import sys
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import keras
import yaml

from stages.params import load_params
from stages.train import train_classifier


class Blocks(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = self.step_started = time.perf_counter()
        self.blocks, self.first_steps = [], []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if batch < 3:
            self.first_steps.append(round((now - self.step_started) * 1000))
            self.step_started = now
        if (batch + 1) % 50 == 0:
            self.blocks.append(round((now - self.started) / 50 * 1000))
            self.started = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        print(
            f"epoch {epoch + 1}: ms per step, blocks of 50 batches: {self.blocks}; first 3 steps: {self.first_steps}",
            flush=True,
        )


arch, overrides = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2:])
params = load_params()
entry = dict(params.architectures[arch])
entry["train"] = {**entry.get("train", {}), **{key: yaml.safe_load(value) for key, value in overrides.items()}}
params = params.model_copy(update={"architectures": params.architectures | {arch: entry}})
model, summary = train_classifier(params, "imdb", arch, [Blocks()])
print("RESULT", arch, overrides, summary, flush=True)
