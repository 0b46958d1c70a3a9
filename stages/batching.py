"""Batch geometry of padded reviews: cropping to a model's length, and batches cut to their longest document,
in training (length bucketing) and in scoring alike."""

from __future__ import annotations

import keras
import numpy as np


def crop(arrays: dict[str, np.ndarray], max_len: int, padding: str, truncating: str) -> dict[str, np.ndarray]:
    """A split's padded reviews (x, y, lengths) cut to `max_len` tokens, exactly as if tokenized at that length:
    one tokenized array serves models that read different lengths. `truncating` says which end is kept,
    `padding` which side the padding goes; no cut when `max_len` is 0 or the arrays are no wider."""
    x, lengths = arrays["x"], arrays["lengths"]
    if not max_len or max_len >= x.shape[1]:
        return arrays
    kept = np.minimum(lengths, max_len)[:, None]
    first_real = (x.shape[1] - lengths if padding == "pre" else np.zeros_like(lengths))[:, None]
    first_kept = first_real + (lengths[:, None] - kept if truncating == "pre" else 0)
    column = np.arange(max_len)[None, :] - (max_len - kept if padding == "pre" else 0)  # place in the kept tokens
    real = (column >= 0) & (column < kept)
    source = np.clip(first_kept + column, 0, x.shape[1] - 1)
    cropped = np.where(real, np.take_along_axis(x, source, axis=1), 0).astype(x.dtype)
    return arrays | {"x": cropped, "lengths": kept[:, 0].astype(lengths.dtype)}


def batch_width(lengths: np.ndarray, step: int, padded_width: int) -> int:
    """The longest of these documents rounded up to a multiple of `step` (fewer shapes to compile), at most the
    padded width: what a batch of similar-length reviews is cut to, in training and in scoring alike."""
    return min(padded_width, max(step, -(-int(lengths.max()) // step) * step))


def cut_to_longest(x: np.ndarray, lengths: np.ndarray, step: int, pre_padded: bool) -> np.ndarray:
    """Padded rows cut to `batch_width` from their padding's side: a masked model reads them as at full width."""
    width = batch_width(lengths, step, x.shape[1])
    return x[:, -width:] if pre_padded else x[:, :width]


class LengthBatches(keras.utils.PyDataset):
    """Length bucketing: batches of documents of similar length, each cut to its longest document rounded
    up to a multiple of `width_step` tokens (fewer shapes to compile: JAX compiles a program for each).
    With the padding masked the model is the same, but a batch of short reviews no longer steps through
    `max_len` positions. Batches are regrouped every epoch from a seeded shuffle: documents are sorted by
    length only within pools of 50 batches. The widest and the narrowest batch lead each epoch:
    TensorFlow's input signature is read from the first two batches, so they must differ in width
    wherever any batches do."""

    POOL = 50

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray,
        batch_size: int,
        pre_padded: bool,
        seed: int,
        width_step: int,
    ):
        super().__init__()
        self.x, self.y, self.lengths = x, y, lengths
        self.batch_size, self.pre_padded, self.width_step = batch_size, pre_padded, width_step
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        order = self.rng.permutation(len(self.y))
        size, pool = self.batch_size, self.batch_size * self.POOL
        chunks = np.split(order, range(pool, len(order), pool))
        pools = [chunk[np.argsort(self.lengths[chunk], kind="stable")] for chunk in chunks]
        batches = [batch for chunk in pools for batch in np.split(chunk, range(size, len(chunk), size))]
        batches = [batches[i] for i in self.rng.permutation(len(batches))]
        widths = [batch_width(self.lengths[batch], self.width_step, self.x.shape[1]) for batch in batches]
        lead = list(dict.fromkeys([int(np.argmax(widths)), int(np.argmin(widths))]))
        self.batches = [batches[i] for i in lead] + [b for i, b in enumerate(batches) if i not in lead]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.sort(self.batches[index])
        return cut_to_longest(self.x[rows], self.lengths[rows], self.width_step, self.pre_padded), self.y[rows]


def bucket_width(configured: int, backend: str) -> int:
    """`train.bucket_width`, where 0 picks by backend: JAX compiles a program for every batch width it meets,
    so it gets a coarse grid (128: fewer compilations); TensorFlow and torch pay little per width, so they get
    a fine one (32: fewer padded steps)."""
    return configured or (128 if backend == "jax" else 32)
