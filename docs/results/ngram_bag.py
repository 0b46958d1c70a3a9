"""The script behind docs/benchmarks.md's "bag of hashed n-grams" figures (weighed, not kept in the registry).

A fastText-style classifier: the mean embedding of a review's words and hashed word pairs, then one sigmoid
unit; `hybrid` puts it beside a registry network (the defaults' embedding, embedding dropout and builder).
Trains on a project's tokenized IMDB arrays with the train stage's length batches and early stopping.
Run from a project root after `dvc repro tokenize@imdb` (a copy, for another `max_len`):

    PYTHONPATH=. LR=0.005 python docs/results/ngram_bag.py bag 1000003 8 12
    PYTHONPATH=. LR=0.003 python docs/results/ngram_bag.py hybrid 1000003 8 8 gru

Arguments: bag | hybrid, hash buckets, n-gram embedding width, epochs (6), registry network (cnn_rnn);
environment: LR (Adam, 0.001), BAGDROP (dropout on the mean n-gram vector, 0).
"""

import os
import sys
import time
from pathlib import Path

import keras
from keras import layers, ops
from sklearn.metrics import accuracy_score

from stages.data import load_arrays, read_lines
from stages.registry import ARCHITECTURES
from stages.train import LengthBatches

TOKENIZED = Path("data/imdb/tokenized")
NETWORKS = {
    "cnn_rnn": {"filters": 64, "kernel_size": 5, "pool_size": 4, "units": 64, "cell": "gru", "dropout": 0.3},
    "gru": {"units": 64, "dropout": 0.3},
}


class NgramBag(layers.Layer):
    """Mean of the embeddings of every word and every hashed pair of neighbouring words, padding left out."""

    def __init__(self, vocab_size: int, buckets: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = vocab_size, buckets
        self.table = layers.Embedding(vocab_size + buckets, dim, name="ngrams")  # words, then pair buckets

    def call(self, ids):
        first, second = ids[:, :-1], ids[:, 1:]
        pairs = self.vocab_size + ops.mod(first * self.vocab_size + second, self.buckets)
        total, count = 0, 0
        for grams, real in ((pairs, (first > 0) & (second > 0)), (ids, ids > 0)):
            real = ops.cast(real, "float32")
            total = total + ops.sum(self.table(grams) * real[..., None], axis=1)
            count = count + ops.sum(real, axis=1)
        return total / ops.maximum(count, 1.0)[:, None]


def main() -> None:
    mode, buckets, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    network = sys.argv[5] if len(sys.argv) > 5 else "cnn_rnn"
    vocab_size = len(read_lines(TOKENIZED / "vocab.txt"))
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(None,), dtype="int32")
    features = []
    if mode in ("bag", "hybrid"):
        bag = NgramBag(vocab_size, buckets, dim)(inputs)
        if float(os.environ.get("BAGDROP", "0")):
            bag = layers.Dropout(float(os.environ["BAGDROP"]))(bag)
        features.append(bag)
    if mode == "hybrid":
        x = layers.Embedding(vocab_size, 32, mask_zero=True)(inputs)
        x = layers.SpatialDropout1D(0.4)(x)
        for layer in ARCHITECTURES[network](**NETWORKS[network]):
            x = layer(x)
        features.append(x)
    joined = features[0] if len(features) == 1 else layers.Concatenate()(features)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(joined))
    learning_rate = float(os.environ.get("LR", "0.001"))
    model.compile(keras.optimizers.Adam(learning_rate, clipnorm=1.0), "binary_crossentropy", metrics=["accuracy"])
    data = {split: load_arrays(TOKENIZED / split) for split in ("train", "val", "test")}
    train, val = (
        LengthBatches(data[s]["x"], data[s]["y"], data[s]["lengths"], 64, False, 0, 32) for s in ("train", "val")
    )
    stopper = keras.callbacks.EarlyStopping("val_accuracy", patience=2, restore_best_weights=True)
    started = time.perf_counter()
    model.fit(train, validation_data=val, epochs=epochs, callbacks=[stopper], verbose=2)
    seconds = time.perf_counter() - started
    probability = model.predict(data["test"]["x"], batch_size=512, verbose=0)[:, 0]
    accuracy = accuracy_score(data["test"]["y"], probability > 0.5)
    print(
        f"RESULT {sys.argv[1:]} params={model.count_params()} test_acc={accuracy:.4f} "
        f"best={stopper.best_epoch + 1} fit_s={seconds:.1f}"
    )


if __name__ == "__main__":
    main()
