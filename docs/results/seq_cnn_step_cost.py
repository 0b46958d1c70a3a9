"""What one `seq_cnn` training step costs on this CPU with each optimizer: Adam, `lazy_adam`, and the
embedding frozen (no table update at all, the floor). The same 60 length-bucketed batches of the
committed training split (`dvc repro tokenize@imdb` first) for each, the models side by side in one
process and timed in alternating rounds, oneDNN on as in the train stage. Prints how many distinct
words a batch uses, then ms per step:

    PYTHONPATH=. python docs/results/seq_cnn_step_cost.py
"""

import os
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import keras
import numpy as np

from stages.data import Paths, batch_width, load_arrays
from stages.params import classifier_train, load_params
from stages.registry import OPTIMIZERS, build_model
from stages.train import bucket_width

params = load_params()
settings, hyperparams = classifier_train(params, "seq_cnn"), dict(params.architectures["seq_cnn"])
hyperparams.pop("train", None)
train = load_arrays(Paths("imdb").tokenized / "train")
order = np.argsort(train["lengths"], kind="stable")
starts = np.random.default_rng(1).choice(len(order) // settings.batch_size, 60, replace=False) * settings.batch_size
step, batches = bucket_width(settings.bucket_width, keras.backend.backend()), []
for start in starts:
    rows = np.sort(order[start : start + settings.batch_size])
    width = batch_width(train["lengths"][rows], step, settings.max_len)
    batches.append((train["x"][rows, :width], train["y"][rows].reshape(-1, 1).astype("float32")))
print("batch widths:", sorted(x.shape[1] for x, _ in batches))
words = sorted(len(np.unique(x[x > 0])) for x, _ in batches)  # distinct word ids (0 is padding)
print(f"distinct words per batch: {words[0]} to {words[-1]}, median {int(np.median(words))}")

models = {}
for name in ("adam", "lazy_adam", "frozen embedding"):
    keras.utils.set_random_seed(0)
    model = build_model("seq_cnn", hyperparams, params.datasets["imdb"].tokenize.vocab_size, settings.embedding_dim)
    model.get_layer("embedding").trainable = name != "frozen embedding"
    optimizer = OPTIMIZERS.get(name, OPTIMIZERS["adam"])(settings.learning_rate, clipnorm=settings.clipnorm)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    for x, y in batches[:15]:  # trace every width first
        model.train_on_batch(x, y)
    models[name] = model

for round_ in range(3):
    for name, model in models.items():
        started = time.perf_counter()
        for x, y in batches:
            model.train_on_batch(x, y)
        print(f"round {round_}  {name:17s} {(time.perf_counter() - started) / len(batches) * 1000:6.1f} ms per step")
