"""What one training step of a recurrent layer costs on this CPU: the notebooks' SimpleRNN layers against the
defaults' masked GRU layers, and what narrower or fused GRU layers would save. One batch of 64 random reviews,
Adam with clipping as in the train stage, oneDNN on; prints milliseconds per batch (median of 3 blocks of 10
steps) and microseconds per time step. Run from the repository root:

    python docs/results/rnn_step_cost.py
"""

import os
import statistics
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import layers


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
]


def milliseconds_per_batch(body, width: int, masked: bool, batch: int = 64) -> float:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(20000, 32, mask_zero=masked)(inputs)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(body(x)))
    model.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), "binary_crossentropy")
    x = np.random.default_rng(0).integers(2, 20000, (batch, width)).astype("int32")
    y = np.random.default_rng(1).integers(0, 2, (batch, 1)).astype("float32")
    for _ in range(3):
        model.train_on_batch(x, y)
    blocks = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(10):
            model.train_on_batch(x, y)
        blocks.append((time.perf_counter() - start) / 10 * 1000)
    return statistics.median(blocks)


print("| layers after the embedding | steps | ms per batch of 64 | us per step |")
print("| --- | --- | --- | --- |")
for name, body, width, masked in CASES:
    ms = milliseconds_per_batch(body, width, masked)
    print(f"| {name} | {width} | {ms:.1f} | {ms / width * 1000:.0f} |", flush=True)
