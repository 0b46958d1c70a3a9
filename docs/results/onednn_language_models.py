"""Seconds per training step of the four language models (params.yaml's sizes, batch 64 x 100 characters of
random ids over 65 symbols, 20 steps after a warm-up epoch), for one TF_ENABLE_ONEDNN_OPTS setting:

    for o in 0 1 0 1; do TF_ENABLE_ONEDNN_OPTS=$o TF_DETERMINISTIC_OPS=1 PYTHONPATH=. \\
        python docs/results/onednn_language_models.py; done
"""

import os
import time

import keras
import numpy as np

from stages.registry import build_language_model

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).integers(0, 65, (64 * 20, 100)).astype("int32")
y = np.roll(x, -1, axis=1)
sizes = {
    "lstm": {"units": 512},
    "gru": {"units": 512},
    "stacked_rnn": {"units": 256, "depth": 2, "cell": "gru"},
    "simple_rnn": {"units": 512},
}
for arch, hyperparams in sizes.items():
    model = build_language_model(arch, hyperparams, 65, 64)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(0.003, clipnorm=1.0), loss)
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    seconds = (time.perf_counter() - start) / 20
    print(f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS')}: {arch}: {seconds:.3f} s/step", flush=True)
