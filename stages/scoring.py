"""A trained classifier's class probabilities, scored in batches of similar length: shared by the evaluate
stage and predict, so a review gets the same probability from both."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from stages.batching import batch_width, crop, cut_to_longest
from stages.data import load_arrays
from stages.params import Tokenize

WIDTH_STEP = 128  # batch widths are multiples of this: few shapes to compile on JAX, little padding anywhere
BATCH_VALUES = 2**25  # embedding values per model call: larger batches of wide embeddings thrash memory


def class_probabilities(model: keras.Model, x, batch_size: int = 512) -> np.ndarray:
    """P(class) for every row, shape (rows, classes), whichever head the model has."""
    output = model.predict(x, batch_size=batch_size, verbose=0).astype(np.float64)
    return np.concatenate([1 - output, output], axis=1) if output.shape[1] == 1 else output


def probabilities_by_length(
    model: keras.Model, x: np.ndarray, lengths: np.ndarray, pre_padded: bool, batch_values: int = BATCH_VALUES
) -> np.ndarray:
    """`class_probabilities` over batches of similar length, each cut to its longest row (rounded up to
    WIDTH_STEP): with the padding masked a review scores the same at any width, so 1024-wide rows cost what
    their words cost. An unmasked model reads its padding, so it gets the full width. A batch of width w holds
    `batch_values` // (w x embedding width) rows: many short reviews per call, few long ones."""
    embedding = model.get_layer("embedding")

    def rows_at(width: int) -> int:
        return max(1, batch_values // (width * embedding.output_dim))

    if not embedding.mask_zero:
        return class_probabilities(model, x, rows_at(x.shape[1]))
    order, parts = np.argsort(lengths, kind="stable"), []
    widths = np.array([batch_width(lengths[[row]], WIDTH_STEP, x.shape[1]) for row in order])  # nondecreasing
    for width in np.unique(widths):
        group, size = order[widths == width], rows_at(width)
        for rows in np.split(group, range(size, len(group), size)):
            parts.append(
                class_probabilities(model, cut_to_longest(x[rows], lengths[rows], WIDTH_STEP, pre_padded), size)
            )
    probabilities = np.empty((len(order), parts[0].shape[1]))
    probabilities[order] = np.concatenate(parts)
    return probabilities


def classifier_test_scores(model: keras.Model, tokenized: Path, max_len: int, settings: Tokenize) -> tuple:
    """The test split's labels and P(class), read as the model was trained to read it (cut to its `max_len`)."""
    test = crop(load_arrays(tokenized / "test"), max_len, settings.padding, settings.truncating)
    return test["y"], probabilities_by_length(model, test["x"], test["lengths"], settings.padding == "pre")
