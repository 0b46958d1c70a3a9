"""The report's statistics against known cases: McNemar's exact test, exact and bootstrap intervals that cover
the true value in seeded simulations, and the three-class fixes of the metrics and the baseline."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss

from stages import UserError
from stages.baseline import weight_count
from stages.metrics import classification_metrics, language_model_metrics
from stages.report import BASELINE, comparison_sentences, comparison_table, paired_comparison
from stages.statistics import exact_rate_interval, macro_f1, macro_f1_interval, mcnemar_exact_p, mean_interval


def coverage(trials: int, interval: Callable[[np.random.Generator], tuple[float, float]], truth: float) -> float:
    """Share of seeded trials whose interval covers the truth."""
    return np.mean([low <= truth <= high for low, high in (interval(np.random.default_rng(t)) for t in range(trials))])


def test_mcnemar_exact_p_of_a_small_table_by_hand():
    """1 document only the first model gets right, 9 only the second: p = 2 (C(10,0) + C(10,1)) / 2^10."""
    first = np.array([True] * 1 + [False] * 9 + [True] * 5 + [False] * 3)
    second = np.array([False] * 1 + [True] * 9 + [True] * 5 + [False] * 3)
    assert mcnemar_exact_p(first, second) == pytest.approx(2 * (1 + 10) / 2**10)
    assert mcnemar_exact_p(second, first) == pytest.approx(2 * (1 + 10) / 2**10)
    assert mcnemar_exact_p(first, first) == 1.0  # never disagree: nothing tells them apart


def test_exact_interval_of_no_successes_and_its_coverage():
    """Clopper-Pearson for 0 of 10 has the closed form upper end 1 - 0.025^(1/10); over seeded samples the
    interval covers the true accuracy at least 95% of the time (it is conservative)."""
    low, high = exact_rate_interval(0, 10)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    rate, size = 0.87, 300
    assert coverage(400, lambda rng: exact_rate_interval(rng.binomial(size, rate), size), rate) >= 0.95


def test_macro_f1_is_scikit_learns_and_its_bootstrap_interval_covers_the_truth():
    rng = np.random.default_rng(0)
    actual, predicted = rng.integers(0, 3, 200), rng.integers(0, 4, 200)  # class 3 is predicted but never actual
    expected = f1_score(actual, predicted, labels=range(4), average="macro", zero_division=0)
    assert macro_f1(actual, predicted, 4) == pytest.approx(expected)
    # A population of two classes: 90% of documents classified right, class 0 more often wrong.
    cells = np.array([[0.40, 0.08], [0.02, 0.50]])  # P(actual, predicted)
    truth = np.mean([2 * cells[c, c] / (cells[c].sum() + cells[:, c].sum()) for c in range(2)])

    def interval(rng: np.random.Generator) -> tuple[float, float]:
        documents = rng.choice(4, size=400, p=cells.ravel())  # cell ids: actual * 2 + predicted
        return macro_f1_interval(documents // 2, documents % 2, 2)

    assert coverage(60, interval, truth) >= 0.85


def test_mean_interval_covers_the_true_mean_of_block_losses():
    """Windows' mean losses drawn from a skewed distribution whose mean is 1.5."""
    assert coverage(60, lambda rng: mean_interval(rng.gamma(3, 0.5, 150)), 1.5) >= 0.85


def test_cross_entropy_interval_of_one_window_resamples_halves_and_brackets_the_score():
    """A test split one window long still gets an interval: its halves are resampled."""
    targets = np.random.default_rng(0).integers(0, 4, 10)
    logits = np.random.default_rng(1).normal(size=(10, 4))
    metrics = language_model_metrics(targets, logits, window=10)
    assert metrics["cross_entropy_low"] <= metrics["cross_entropy"] <= metrics["cross_entropy_high"]


def test_three_class_softmax_in_float32_scores_without_a_warning():
    """A float32 softmax cast to float64 sums to one only within float32's precision, which scikit-learn warns
    about; the metrics renormalise it."""
    logits = np.random.default_rng(0).normal(size=(2000, 3)).astype(np.float32) * 4
    softmax = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
    labels = np.arange(2000) % 3
    with pytest.warns(UserWarning, match="do not sum to one"):
        log_loss(labels, softmax, labels=[0, 1, 2])  # the case is real
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = classification_metrics(labels, softmax, ["a", "b", "c"])
    assert math.isfinite(metrics["log_loss"]) and 0 <= metrics["roc_auc"] <= 1


def test_baseline_counts_a_weight_row_per_class_for_three_classes():
    texts = ["good fun", "bad dull", "meh fine", "good great", "bad awful", "fine ok"] * 3
    features = CountVectorizer().fit_transform(texts)
    three = LogisticRegression().fit(features, [0, 1, 2, 0, 1, 2] * 3)
    two = LogisticRegression().fit(features, [0, 1, 1, 0, 1, 1] * 3)
    assert weight_count(three) == 3 * features.shape[1] + 3
    assert weight_count(two) == features.shape[1] + 1


def predictions(actual: list[str], predicted: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"actual": actual, "predicted": predicted, "probability": "0.9"})


def test_report_pairs_every_model_with_the_best_and_the_baseline():
    """Three models on 40 documents: `best` right on all, `close` wrong on 2 (p = 0.5, not distinguishable),
    the baseline wrong on 12 (p < 0.001)."""
    actual = ["neg", "pos"] * 20
    flip = {"neg": "pos", "pos": "neg"}
    frames = {
        "best": predictions(actual, actual),
        "close": predictions(actual, [flip[a] if i < 2 else a for i, a in enumerate(actual)]),
        BASELINE: predictions(actual, [flip[a] if i < 12 else a for i, a in enumerate(actual)]),
    }
    compared = paired_comparison(frames, ["neg", "pos"])
    assert compared["best"]["p_best"] is None and compared[BASELINE]["p_baseline"] is None
    assert compared["close"]["p_best"] == pytest.approx(0.5)
    assert compared[BASELINE]["p_best"] == pytest.approx(2 / 2**12)
    assert (
        compared["close"]["accuracy"][0] == 0.95
        and compared["close"]["accuracy"][1] < 0.95 < compared["close"]["accuracy"][2]
    )
    sentences = comparison_sentences(compared, 40)
    assert "`best` is the most accurate model; `close` is not distinguishable from it at the 0.05 level" in sentences
    assert sentences.endswith("Against the TF-IDF baseline, `best` and `close` are more accurate beyond chance.")
    metrics = {name: {"roc_auc": 0.9} for name in frames}
    table = comparison_table(metrics, compared)
    assert "| close ≈ | 0.9500 [" in table and "| best | 1.0000 [" in table
    frames["close"] = frames["close"].iloc[::-1].reset_index(drop=True)
    with pytest.raises(UserError, match="close: its predictions are not of the same test documents"):
        paired_comparison(frames, ["neg", "pos"])
