"""Scores from labels and predicted probabilities, shared by the evaluate and baseline stages, and the columns
the reports show: adding a metric happens here. scikit-learn and numpy only, so the baseline starts without Keras."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, precision_recall_fscore_support, roc_auc_score

DIGITS = 4  # decimals kept in the metrics files

# The reports' results tables, in column order: the scores below, then the training summary's figures.
CLASSIFIER_COLUMNS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "val_accuracy",
    "params",
    "train_seconds",
    "seconds_to_best",
    "epochs",
)
LANGUAGE_MODEL_COLUMNS = (
    "cross_entropy",
    "bits_per_char",
    "perplexity",
    "accuracy",
    "top5_accuracy",
    "f1",
    "val_loss",
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


def language_model_metrics(targets: np.ndarray, logits: np.ndarray) -> dict:
    """Next-character accuracy and top-5 accuracy, cross-entropy in nats and bits per character,
    perplexity, macro P/R/F1 over the characters that occur."""
    log_probabilities = logits - logits.max(axis=1, keepdims=True)
    log_probabilities -= np.log(np.exp(log_probabilities).sum(axis=1, keepdims=True))
    nats = float(-log_probabilities[np.arange(len(targets)), targets].mean())
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
        "bits_per_char": rounded(nats / np.log(2)),
        "perplexity": rounded(np.exp(nats)),
        "precision": rounded(precision),
        "recall": rounded(recall),
        "f1": rounded(f1),
        "characters": len(targets),
    }
