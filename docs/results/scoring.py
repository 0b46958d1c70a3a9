"""Shared by the scripts here: fit a model built outside the registry as the train stage fits one (its `fit`,
its length batches, params.yaml's seed), then print its IMDB test accuracy on one RESULT line."""

import sys
from collections.abc import Callable

import keras
from sklearn.metrics import accuracy_score

from stages.data import Paths, load_arrays
from stages.params import ClassifierTrain, load_params
from stages.train import classifier_inputs, fit


def fit_and_score(build: Callable[[], keras.Model], settings: ClassifierTrain, label: str) -> None:
    params, tokenized = load_params(), Paths("imdb").tokenized
    pre_padded = params.datasets["imdb"].tokenize.padding == "pre"
    arrays = {split: load_arrays(tokenized / split) for split in ("train", "val", "test")}
    data = classifier_inputs({split: arrays[split] for split in ("train", "val")}, settings, pre_padded, params.seed)
    keras.utils.set_random_seed(params.seed)
    model, summary = fit(build, "binary_crossentropy", keras.metrics.BinaryAccuracy, settings, data, label, [])
    probability = model.predict(arrays["test"]["x"], batch_size=512, verbose=0)[:, 0]
    accuracy = accuracy_score(arrays["test"]["y"], probability > 0.5)
    print(
        f"RESULT {sys.argv[1:]} params={model.count_params()} test_acc={accuracy:.4f} "
        f"best={summary['best_epoch']} val={summary['val_accuracy']} fit_s={summary['train_seconds']} "
        f"to_best={summary['seconds_to_best']}"
    )
