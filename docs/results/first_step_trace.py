"""What a `fit` pays once, before its steps run at their own speed: on TensorFlow without a distribution
strategy Keras creates the optimizer's slots and the accuracy metric's variables inside the first traced
training step, and a `tf.function` that creates variables on its first call traces itself a second time.
For each architecture, with the defaults (`params.yaml`) and with each notebook preset, this fits one
epoch of 30 batches of 64, once compiled as Keras's defaults have it and once with the variables made
before `fit` (the accuracy metric passed as an object, whose variables exist once it is made, and
`optimizer.build`: public API; what the train stage does since 2026-12-02), twice each way,
alternating, and prints the first batch's seconds (tracing included; the faster of the two fits),
the fastest median batch and the number of traces.

    PYTHONPATH=. python docs/results/first_step_trace.py simple_rnn stacked_rnn bi_rnn cnn_rnn lstm gru

Inputs are random word ids of the stage's shapes: the defaults' batches cut to 32-token multiples of
real review lengths (`tokenize@imdb` first), the notebooks' 500 tokens; tracing depends on the
shapes, not on the ids.
"""

import os
import sys
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import keras
import numpy as np
from keras.src.backend.tensorflow import trainer as tf_trainer

from benchmarks.notebooks import preset_architectures
from stages.data import Paths, crop, load_arrays
from stages.params import (
    PARAMS_FILE,
    apply_overrides,
    architecture_kwargs,
    classifier_train,
    load_preset,
    read_yaml,
    validate,
)
from stages.registry import OPTIMIZERS, build_model
from stages.train import classifier_inputs

BATCHES, BATCH = 30, 64


class Batches(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.started, self.ends = time.perf_counter(), []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter() - self.started)


def inputs(params, arch: str, rng: np.random.Generator):
    """Random ids in the stage's shapes, batched by the stage's own `classifier_inputs`."""
    settings, tokenize = classifier_train(params, arch), params.datasets["imdb"].tokenize
    lengths, width = None, settings.max_len or tokenize.max_len
    if settings.bucketing:  # real review lengths, cut as the stage cuts them
        real = crop(
            load_arrays(Paths("imdb").tokenized / "train"), settings.max_len, tokenize.padding, tokenize.truncating
        )
        lengths, width = real["lengths"][: BATCHES * BATCH], real["x"].shape[1]
    x = rng.integers(2, tokenize.vocab_size, size=(BATCHES * BATCH, width))
    if lengths is not None:
        x[np.arange(width) >= lengths[:, None]] = 0
    split = {"x": x, "y": rng.integers(0, 2, BATCHES * BATCH), "lengths": lengths}
    return classifier_inputs({"train": split}, settings, tokenize.padding == "pre", 0)["train"]


def first_fit(params, arch: str, prebuild: bool) -> tuple[float, float, int]:
    settings = classifier_train(params, arch)
    data = inputs(params, arch, np.random.default_rng(0))
    keras.utils.set_random_seed(0)
    model = build_model(
        arch,
        architecture_kwargs(params, arch),
        params.datasets["imdb"].tokenize.vocab_size,
        settings.embedding_dim,
        2,
        settings.mask,
        settings.embedding_dropout,
    )
    model.compile(
        optimizer=OPTIMIZERS[settings.optimizer](settings.learning_rate, clipnorm=settings.clipnorm or None),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy") if prebuild else "accuracy"],
    )
    batched = isinstance(data, keras.utils.PyDataset)
    traces = []
    original = tf_trainer.TensorFlowTrainer.train_step
    tf_trainer.TensorFlowTrainer.train_step = lambda self, batch: traces.append(1) or original(self, batch)
    clock = Batches()
    try:
        if prebuild:
            model.optimizer.build(model.trainable_variables)
        model.fit(
            *((data,) if batched else data),
            batch_size=None if batched else BATCH,
            epochs=1,
            verbose=0,
            callbacks=[clock],
        )
    finally:
        tf_trainer.TensorFlowTrainer.train_step = original
    ends = np.array(clock.ends)
    return ends[0], float(np.median(np.diff(ends))), len(traces)


print("| architecture | configuration | first batch s, as is | first batch s, built first | traces | median batch s |")
print("| --- | --- | --- | --- | --- | --- |")
base, presets = read_yaml(PARAMS_FILE), preset_architectures()
for arch in sys.argv[1:]:
    for config in ["defaults", *(preset for preset, configured in presets.items() if arch in configured)]:
        params = validate(base if config == "defaults" else apply_overrides(base, load_preset(config)))
        runs = {False: [], True: []}
        for prebuild in (False, True, False, True):
            runs[prebuild].append(first_fit(params, arch, prebuild))
        first = {k: min(r[0] for r in v) for k, v in runs.items()}
        traces = "/".join(str(v[0][2]) for v in runs.values())
        median = min(r[1] for v in runs.values() for r in v)
        print(f"| {arch} | {config} | {first[False]:.2f} | {first[True]:.2f} | {traces} | {median:.3f} |", flush=True)
