"""Stage `evaluate@<arch>`: score a trained model on the test split with scikit-learn metrics.

Writes `metrics/imdb/<arch>.json` (for `dvc metrics`) and per-example predictions
`reports/imdb/predictions/<arch>.csv` (DVC's confusion-matrix plot reads them).
"""

from __future__ import annotations

import argparse
import csv
import zipfile
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support, roc_auc_score

from stages import UserError, run_stage
from stages.data import (
    CLASS_NAMES,
    METRICS_DIR,
    MODELS_DIR,
    PREDICTIONS_DIR,
    TOKENIZED_DIR,
    atomic_write,
    load_arrays,
    read_json,
    write_json,
)
from stages.params import architecture_kwargs, load_params

DIGITS = 4


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, macro and per-class P/R/F1, ROC-AUC, log loss and the confusion matrix."""
    predicted = (probabilities >= 0.5).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=[0, 1], zero_division=0)
    matrix = confusion_matrix(labels, predicted, labels=[0, 1])
    both_classes = len(np.unique(labels)) == 2
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), DIGITS),
        "precision": round(float(precision.mean()), DIGITS),
        "recall": round(float(recall.mean()), DIGITS),
        "f1": round(float(f1.mean()), DIGITS),
        "roc_auc": round(float(roc_auc_score(labels, probabilities)), DIGITS) if both_classes else None,
        "log_loss": round(float(log_loss(labels, probabilities, labels=[0, 1])), DIGITS),
        "per_class": {
            name: {
                "precision": round(float(p), DIGITS),
                "recall": round(float(r), DIGITS),
                "f1": round(float(f), DIGITS),
            }
            for name, p, r, f in zip(CLASS_NAMES, precision, recall, f1)
        },
        "confusion": {
            actual: {predicted_name: int(matrix[i, j]) for j, predicted_name in enumerate(CLASS_NAMES)}
            for i, actual in enumerate(CLASS_NAMES)
        },
    }


def write_predictions(path: Path, labels: np.ndarray, probabilities: np.ndarray) -> None:
    """One row per test review, in test-split order: actual and predicted class, P(pos)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["actual", "predicted", "probability"])
            for label, probability in zip(labels, probabilities):
                writer.writerow([CLASS_NAMES[label], CLASS_NAMES[int(probability >= 0.5)], f"{probability:.4f}"])

    atomic_write(path, write)


def load_model(path: Path, arch: str) -> keras.Model:
    """Keras safe_mode: a model file that carries Python code (a Lambda) is refused, never run."""
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, TypeError, OSError, zipfile.BadZipFile) as exc:
        message = " ".join(str(exc).split()).rpartition("Exception encountered: ")[2]  # Keras nests the cause
        reason = message.split(". ")[0].rstrip(".")
        raise UserError(
            f"{path}: refused or unreadable ({reason}); models load in Keras safe_mode, so no code in a model file "
            f"runs; `dvc repro train@{arch}` rebuilds it"
        ) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    architecture_kwargs(params, args.arch)
    model_path = MODELS_DIR / f"{args.arch}.keras"
    if not model_path.is_file():
        raise UserError(f"{model_path}: no trained model; run `dvc repro train@{args.arch}` first")
    model = load_model(model_path, args.arch)
    test = load_arrays(TOKENIZED_DIR / "test.npz")
    probabilities = model.predict(test["x"], batch_size=512, verbose=0).reshape(-1).astype(np.float64)
    metrics = classification_metrics(test["y"], probabilities) | read_json(MODELS_DIR / f"{args.arch}.json")
    write_predictions(PREDICTIONS_DIR / f"{args.arch}.csv", test["y"], probabilities)
    write_json(METRICS_DIR / f"{args.arch}.json", metrics)
    print(f"evaluate@{args.arch}: wrote {METRICS_DIR / args.arch}.json (test accuracy {metrics['accuracy']:.4f})")


if __name__ == "__main__":
    run_stage(main)
