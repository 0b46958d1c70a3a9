"""How sure the test scores are: intervals for one model's scores and paired tests between two models scored on
the same test documents. scipy and numpy do the statistics; the report and the evaluate stage call them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import binomtest, bootstrap

CONFIDENCE = 0.95
RESAMPLES = 2000  # bootstrap resamples: enough that an interval's ends barely move with the bootstrap's seed
BATCH = 50  # resamples held in memory at once, each a copy of the test split
SEED = 0  # fixed, so a regenerated report prints the same intervals


def exact_rate_interval(successes: int, trials: int) -> tuple[float, float]:
    """Clopper-Pearson interval of a rate such as accuracy: exact at any test size, no resampling."""
    interval = binomtest(successes, trials).proportion_ci(CONFIDENCE, method="exact")
    return float(interval.low), float(interval.high)


def macro_f1(actual: np.ndarray, predicted: np.ndarray, classes: int, axis: int = -1) -> np.ndarray:
    """Macro F1 along `axis` (scikit-learn's, zero_division=0, every class counted), for many resamples at once."""
    scores = []
    for label in range(classes):
        is_actual, is_predicted = actual == label, predicted == label
        hits = np.sum(is_actual & is_predicted, axis=axis)
        total = np.sum(is_actual, axis=axis) + np.sum(is_predicted, axis=axis)
        scores.append(np.divide(2 * hits, total, out=np.zeros(np.shape(hits)), where=total > 0))
    return np.mean(scores, axis=0)


def bootstrap_interval(samples: tuple[np.ndarray, ...], statistic: Callable, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap over paired rows (documents, or a language model's test windows)."""
    result = bootstrap(
        samples,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=RESAMPLES,
        batch=BATCH,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def macro_f1_interval(actual: np.ndarray, predicted: np.ndarray, classes: int) -> tuple[float, float]:
    """Bootstrap interval of macro F1 over test documents: F1 is no rate, so no exact interval exists."""
    return bootstrap_interval((actual, predicted), lambda a, p, axis: macro_f1(a, p, classes, axis))


def mean_interval(values: np.ndarray) -> tuple[float, float]:
    """Bootstrap interval of a mean over independent blocks, e.g. cross-entropy over a language model's test windows."""
    return bootstrap_interval((values,), np.mean)


def mcnemar_exact_p(first_correct: np.ndarray, second_correct: np.ndarray) -> float:
    """McNemar's exact test: on the documents exactly one of two models gets right, is either right more often
    than a fair coin would be? Two-sided p; 1 when the models never disagree on correctness."""
    only_first = int(np.sum(first_correct & ~second_correct))
    only_second = int(np.sum(~first_correct & second_correct))
    if only_first + only_second == 0:
        return 1.0
    return float(binomtest(only_first, only_first + only_second, 0.5).pvalue)
