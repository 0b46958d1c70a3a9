"""Stage `baseline`: TF-IDF over word n-grams + logistic regression, the non-neural reference row.

Trained on the same train split as the networks (validation documents are held out
for it too) and scored on the same test split with the same metrics.
"""

from __future__ import annotations

import argparse
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from stages import run_stage
from stages.data import METRICS_DIR, RAW_DIR, load_splits, write_json
from stages.evaluate import classification_metrics
from stages.params import Params, load_params
from stages.tokenize import words


def fit_and_score(params: Params) -> dict:
    settings, tok = params.baseline, params.tokenize
    splits = load_splits(RAW_DIR, tok.train_docs, tok.test_docs, tok.val_fraction, params.seed)
    model = make_pipeline(
        TfidfVectorizer(
            tokenizer=lambda text: words(text, tok.lowercase),
            lowercase=False,
            token_pattern=None,
            ngram_range=(1, settings.ngram_max),
            max_features=settings.max_features,
            sublinear_tf=True,
        ),
        LogisticRegression(C=settings.C, max_iter=1000, random_state=params.seed),
    )
    started = time.perf_counter()
    model.fit(*splits["train"])
    seconds = time.perf_counter() - started
    scores = {
        split: classification_metrics(splits[split][1], model.predict_proba(splits[split][0])[:, 1])
        for split in ("val", "test")
    }
    vocabulary = len(model.named_steps["tfidfvectorizer"].vocabulary_)
    return scores["test"] | {
        "val_accuracy": scores["val"]["accuracy"],
        "val_loss": scores["val"]["log_loss"],
        "train_seconds": round(seconds, 1),
        "params": vocabulary + 1,
        "epochs": 1,
        "best_epoch": 1,
    }


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    metrics = fit_and_score(params)
    write_json(METRICS_DIR / "baseline.json", metrics)
    print(f"baseline: wrote {METRICS_DIR / 'baseline.json'} (test accuracy {metrics['accuracy']:.4f})")


if __name__ == "__main__":
    run_stage(main)
