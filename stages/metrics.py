"""Scores from labels and predicted probabilities, shared by the evaluate and baseline stages, the files they go
to, and the columns the reports show: adding a metric happens here. scikit-learn, scipy and numpy only, so the
baseline starts without Keras."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, precision_recall_fscore_support, roc_auc_score

from stages.data import atomic_write, read_json, write_json
from stages.statistics import mean_interval

DIGITS = 4  # decimals kept in the metrics files

# The keys of the metrics files DVC reads (`dvc metrics show`, `dvc exp show`): what a user compares, few enough
# that the table fits a screen. Every other key goes to the details file beside them. `val_loss` stays for
# `best_experiment --metric val_loss`; bits per character is cross-entropy / ln 2, so it waits in the details.
CLASSIFIER_HEADLINE = ("accuracy", "f1", "roc_auc", "log_loss", "val_accuracy", "val_loss", "seconds_to_best", "params")
LANGUAGE_MODEL_HEADLINE = ("cross_entropy", "accuracy", "val_accuracy", "val_loss", "seconds_to_best", "params")

# The reports' results tables, in column order after the scores given with an interval (a classifier's accuracy
# and macro F1, a language model's cross-entropy): then speed and size, beside the scores they bought.
CLASSIFIER_COLUMNS = ("roc_auc", "log_loss", "val_accuracy", "seconds_to_best", "params", "train_seconds", "epochs")
LANGUAGE_MODEL_COLUMNS = (
    "bits_per_char",
    "perplexity",
    "accuracy",
    "top5_accuracy",
    "f1",
    "val_loss",
    "seconds_to_best",
    "params",
    "train_seconds",
    "epochs",
)


def rounded(value: float) -> float:
    return round(float(value), DIGITS)


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict:
    """Accuracy; macro, weighted and per-class P/R/F1; ROC-AUC; log loss (the confusion matrix is in the
    predictions CSV, where DVC's confusion template reads it).

    `probabilities` has one column per class; `precision`/`recall`/`f1` are macro averages."""
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)  # a float32 softmax sums to about one
    ids = np.arange(len(classes))
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=ids, zero_division=0)
    weighted = precision_recall_fscore_support(labels, predicted, labels=ids, average="weighted", zero_division=0)
    every_class = len(np.unique(labels)) == len(classes)
    if not every_class:
        roc_auc = None
    elif len(classes) == 2:
        roc_auc = roc_auc_score(labels, probabilities[:, 1])
    else:
        roc_auc = roc_auc_score(labels, probabilities, multi_class="ovr", labels=ids)
    return {
        "accuracy": rounded(accuracy_score(labels, predicted)),
        "precision": rounded(precision.mean()),
        "recall": rounded(recall.mean()),
        "f1": rounded(f1.mean()),
        "weighted_precision": rounded(weighted[0]),
        "weighted_recall": rounded(weighted[1]),
        "weighted_f1": rounded(weighted[2]),
        "roc_auc": None if roc_auc is None else rounded(roc_auc),
        "log_loss": rounded(log_loss(labels, probabilities, labels=ids)),
        "per_class": {
            name: {"precision": rounded(p), "recall": rounded(r), "f1": rounded(f)}
            for name, p, r, f in zip(classes, precision, recall, f1)
        },
    }


def language_model_metrics(targets: np.ndarray, logits: np.ndarray, window: int = 1) -> dict:
    """Next-character accuracy and top-5 accuracy, cross-entropy in nats and bits per character with its
    interval (a bootstrap over blocks of `window` consecutive characters: the evaluate stage's windows),
    perplexity, macro P/R/F1 over the characters that occur."""
    log_probabilities = logits - logits.max(axis=1, keepdims=True)
    log_probabilities -= np.log(np.exp(log_probabilities).sum(axis=1, keepdims=True))
    losses = -log_probabilities[np.arange(len(targets)), targets]
    nats = float(losses.mean())
    block = max(1, min(window, len(losses) // 2))  # at least two blocks to resample, on the shortest test split
    low, high = mean_interval(losses[: len(losses) // block * block].reshape(-1, block).mean(axis=1))
    predicted = logits.argmax(axis=1)
    top5 = np.argsort(logits, axis=1)[:, -5:]
    present = np.unique(targets)
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predicted, labels=present, average="macro", zero_division=0
    )
    return {
        "accuracy": rounded(np.mean(predicted == targets)),
        "top5_accuracy": rounded(np.mean((top5 == targets[:, None]).any(axis=1))),
        "cross_entropy": rounded(nats),
        "cross_entropy_low": rounded(low),
        "cross_entropy_high": rounded(high),
        "bits_per_char": rounded(nats / np.log(2)),
        "perplexity": rounded(np.exp(nats)),
        "precision": rounded(precision),
        "recall": rounded(recall),
        "f1": rounded(f1),
        "characters": len(targets),
    }


def details_path(metrics_path: Path) -> Path:
    """Where the keys a metrics file leaves out live: `metrics/<d>/details/<name>.json`, which DVC does not read."""
    return metrics_path.parent / "details" / metrics_path.name


def write_metrics(path: Path, metrics: dict, headline: tuple[str, ...]) -> None:
    """The headline keys to the metrics file DVC shows, every other key to its details file."""
    write_json(path, {key: value for key, value in metrics.items() if key in headline})
    write_json(details_path(path), {key: value for key, value in metrics.items() if key not in headline})


def read_metrics(path: Path) -> dict:
    """A model's metrics file and its details, as one record."""
    return read_json(path) | read_json(details_path(path))


def write_predictions(path: Path, labels: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> None:
    """One row per test document, in test-split order: actual and predicted class, and P(predicted)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["actual", "predicted", "probability"])
            for label, row in zip(labels, probabilities):
                best = int(row.argmax())
                writer.writerow([classes[label], classes[best], f"{row[best]:.4f}"])

    atomic_write(path, write)
