"""What `train.patience: 1` would keep, from runs with the default patience (2), on this CPU: each argument
after the architecture is a seed. Trains with the stage functions (oneDNN on, as in the train stage),
keeps each epoch's weights and end time, feeds the validation curve to Keras's EarlyStopping with
patience 1, and scores on the test split the weights each patience keeps (the same weights when
both keep the same epoch: a seeded run is deterministic, so patience 1 follows the same curve until it
stops). Prints one RESULT line per run (`dvc repro tokenize@imdb` first):

    PYTHONPATH=. python docs/results/patience.py gru 0 1 2
"""

import os
import sys

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import keras

from stages.data import Paths, read_lines
from stages.evaluate import classifier_test_scores
from stages.metrics import classification_metrics
from stages.params import classifier_train, load_params
from stages.train import EpochClock, train_classifier


class Epochs(EpochClock):
    """The stage's epoch clock, plus each epoch's validation accuracy and weights."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self.curve, self.weights = [], []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self.curve.append(logs["val_accuracy"])
        self.weights.append(self.model.get_weights())


def early_stop(curve: list[float], patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    """Keras's own EarlyStopping fed a validation curve: (epochs run, kept epoch), 1-based."""
    stopper = keras.callbacks.EarlyStopping("val_accuracy", min_delta=min_delta, patience=patience, mode="max")
    model = keras.Sequential()
    model.stop_training = False
    stopper.set_model(model)
    stopper.on_train_begin()
    for epoch, value in enumerate(curve):
        stopper.on_epoch_end(epoch, {"val_accuracy": value})
        if model.stop_training:
            return epoch + 1, stopper.best_epoch + 1
    return len(curve), stopper.best_epoch + 1


if __name__ == "__main__":
    arch, paths = sys.argv[1], Paths("imdb")
    for seed in map(int, sys.argv[2:]):
        params = load_params().model_copy(update={"seed": seed})
        assert classifier_train(params, arch).patience == 2, "run with the default patience"
        epochs = Epochs()
        model, summary = train_classifier(params, "imdb", arch, [epochs])
        tokenize = params.datasets["imdb"].tokenize
        classes = read_lines(paths.tokenized / "classes.txt")
        result = {}
        for patience in (2, 1):
            run, kept = early_stop(epochs.curve, patience)
            model.set_weights(epochs.weights[kept - 1])
            labels, probabilities = classifier_test_scores(model, paths.tokenized, summary["max_len"], tokenize)
            accuracy = classification_metrics(labels, probabilities, classes)["accuracy"]
            result[patience] = f"{run} epochs, kept {kept}, val {epochs.curve[kept - 1]:.4f}, test {accuracy:.4f}, "
            result[patience] += f"fit {epochs.ends[run - 1]:.1f} s"
        assert early_stop(epochs.curve, 2) == (summary["epochs"], summary["best_epoch"]), "the replay must match Keras"
        curve = " ".join(f"{value:.4f}" for value in epochs.curve)
        print(f"RESULT {arch} seed {seed}: val {curve} | patience 2: {result[2]} | patience 1: {result[1]}", flush=True)
