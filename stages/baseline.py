"""Stage `baseline@<dataset>`: TF-IDF over word n-grams + logistic regression, the non-neural reference row.

Trained on the same train split as the networks (validation documents are held out
for it too) and scored on the same test split with the same metrics; like theirs, its per-document predictions
go to `reports/<dataset>/predictions/baseline.csv`, so the report can pair it with each network.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from stages import run_stage
from stages.metrics import CLASSIFIER_HEADLINE, classification_metrics, write_metrics, write_predictions
from stages.params import Params, dataset_params, load_params
from stages.sources import load_splits
from stages.task import Paths
from stages.text import words


def fit_and_score(params: Params, name: str) -> dict:
    """Fit on train; score validation and test, and write the test split's predictions."""
    settings, data = params.baseline, dataset_params(params, name)
    splits, classes = load_splits(data, Paths(name).raw, params.seed)
    model = make_pipeline(
        TfidfVectorizer(
            tokenizer=lambda text: words(text, data.tokenize.lowercase),
            lowercase=False,
            token_pattern=None,
            ngram_range=(1, settings.ngram_max),
            max_features=settings.max_features,
            sublinear_tf=True,
        ),
        LogisticRegression(
            C=settings.C,
            class_weight=None if data.class_weight == "none" else data.class_weight,
            max_iter=1000,
            random_state=params.seed,
        ),
    )
    started = time.perf_counter()
    model.fit(*splits["train"])
    seconds = time.perf_counter() - started
    probabilities = {split: _probabilities(model, splits[split][0], len(classes)) for split in ("val", "test")}
    scores = {split: classification_metrics(splits[split][1], probabilities[split], classes) for split in probabilities}
    write_predictions(Paths(name).predictions / "baseline.csv", splits["test"][1], probabilities["test"], classes)
    return scores["test"] | {
        "val_accuracy": scores["val"]["accuracy"],
        "val_loss": scores["val"]["log_loss"],
        "train_seconds": round(seconds, 1),
        "seconds_to_best": round(seconds, 1),  # its only weights are those at the end of the fit
        "params": weight_count(model.named_steps["logisticregression"]),
        "epochs": 1,
        "best_epoch": 1,
    }


def weight_count(classifier: LogisticRegression) -> int:
    """Weights and intercepts: one row per class for three or more classes, a single row for two."""
    return int(classifier.coef_.size + classifier.intercept_.size)


def _probabilities(model: Pipeline, texts: list[str], classes: int) -> np.ndarray:
    """One column per class, also for a class missing from train (LogisticRegression drops it)."""
    probabilities = np.zeros((len(texts), classes))
    probabilities[:, model.classes_] = model.predict_proba(texts)
    return probabilities


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset name from params.yaml")
    args = parser.parse_args(argv)
    metrics = fit_and_score(load_params(), args.dataset)
    path = Paths(args.dataset).metrics / "baseline.json"
    write_metrics(path, metrics, CLASSIFIER_HEADLINE)
    print(f"baseline@{args.dataset}: wrote {path} (test accuracy {metrics['accuracy']:.4f})")


if __name__ == "__main__":
    run_stage(main)
