"""What one training step of a recurrent layer costs on this CPU: the notebooks' SimpleRNN layers against the
defaults' masked GRU layers, and what narrower, fused or unrolled layers would save. One batch of 64 random
reviews, Adam with clipping as in the train stage, oneDNN on; prints the first batch's seconds (tracing the
step included: paid once per batch width, and an unrolled layer's width must be fixed), milliseconds per
batch (the fastest of 5 blocks of 10 steps: this shared host's noise only adds time) and microseconds per
time step. Run from the repository root:

    python docs/results/rnn_step_cost.py
"""

import os
import time
from functools import partial

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import layers

UnrolledGRU = partial(layers.GRU, unroll=True)


def stacked(cell, units: int):
    return lambda x: cell(units)(cell(units, return_sequences=True)(x))


CASES = [  # name, layers after the embedding, width, masked
    ("notebook SimpleRNN(64)", lambda x: layers.SimpleRNN(64)(x), 500, False),
    ("notebook 2 x SimpleRNN(64)", stacked(layers.SimpleRNN, 64), 500, False),
    ("notebook Bidirectional(SimpleRNN(64))", lambda x: layers.Bidirectional(layers.SimpleRNN(64))(x), 500, False),
    ("SimpleRNN(64), masked", lambda x: layers.SimpleRNN(64)(x), 256, True),
    ("SimpleRNN(64), unmasked", lambda x: layers.SimpleRNN(64)(x), 256, False),
    ("GRU(64), masked", lambda x: layers.GRU(64)(x), 192, True),
    ("GRU(64), unmasked", lambda x: layers.GRU(64)(x), 192, False),
    ("GRU(16), masked", lambda x: layers.GRU(16)(x), 192, True),
    ("2 x GRU(64), masked", stacked(layers.GRU, 64), 192, True),
    ("2 x GRU(32), masked", stacked(layers.GRU, 32), 192, True),
    ("2 x GRU(16), masked", stacked(layers.GRU, 16), 192, True),
    ("2 x GRU(64) in one loop, masked", lambda x: layers.RNN([layers.GRUCell(64), layers.GRUCell(64)])(x), 192, True),
    ("Bidirectional(GRU(64)), masked", lambda x: layers.Bidirectional(layers.GRU(64))(x), 192, True),
    ("SimpleRNN(64), masked, unrolled", lambda x: layers.SimpleRNN(64, unroll=True)(x), 256, True),
    ("2 x GRU(64), masked, unrolled", stacked(UnrolledGRU, 64), 192, True),
    ("Bidirectional(GRU(64)), masked, unrolled", lambda x: layers.Bidirectional(UnrolledGRU(64))(x), 192, True),
]


def step_cost(body, width: int, masked: bool, batch: int = 64) -> tuple[float, float]:
    """Seconds of the first training step (tracing included) and the later ones' milliseconds."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(20000, 32, mask_zero=masked)(inputs)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(body(x)))
    model.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), "binary_crossentropy")
    x = np.random.default_rng(0).integers(2, 20000, (batch, width)).astype("int32")
    y = np.random.default_rng(1).integers(0, 2, (batch, 1)).astype("float32")
    start = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - start
    for _ in range(2):
        model.train_on_batch(x, y)
    blocks = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            model.train_on_batch(x, y)
        blocks.append((time.perf_counter() - start) / 10 * 1000)
    return first, min(blocks)


print("| layers after the embedding | steps | first batch s | ms per batch of 64 | us per step |")
print("| --- | --- | --- | --- | --- |")
for name, body, width, masked in CASES:
    first, ms = step_cost(body, width, masked)
    print(f"| {name} | {width} | {first:.1f} | {ms:.1f} | {ms / width * 1000:.0f} |", flush=True)
