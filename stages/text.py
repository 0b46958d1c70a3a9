"""Words and ids: how a text becomes the padded row a classifier reads, shared by tokenize, the baseline and
predict, so a review is read the same way in training, in the reference row and in use."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from stages.params import Tokenize

PAD, OOV = "<pad>", "<oov>"  # ids 0 and 1

OOV_ID = 1

REPLACEMENT = "\ufffd"  # what the readers decode bytes that are not UTF-8 to

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")

LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def words(text: str, lowercase: bool = True) -> list[str]:
    """Split a text into words; HTML `<br />` tags (IMDB has them) are line breaks, not words."""
    text = LINE_BREAK.sub(" ", text)
    return WORD.findall(text.lower() if lowercase else text)


def build_vocab(documents: Iterable[list[str]], size: int) -> list[str]:
    """The `size - 2` most frequent words after the padding and out-of-vocabulary tokens."""
    counts = Counter(word for document in documents for word in document)
    return [PAD, OOV, *(word for word, _ in counts.most_common(size - 2))]


def encode(documents: Iterable[list[str]], vocab: list[str]) -> list[np.ndarray]:
    """Map words to ids; unknown words become the OOV id."""
    index = {word: i for i, word in enumerate(vocab)}
    return [encode_one(document, index) for document in documents]


def encode_one(document: list[str], index: dict[str, int]) -> np.ndarray:
    return np.array([index.get(word, OOV_ID) for word in document], dtype=np.int32)


def fill_empty(sequences: list[np.ndarray]) -> list[np.ndarray]:
    """A review without words becomes one `<oov>` token, not an all-padding row: the mask would hide
    every step, which cuDNN's RNN kernels refuse, and it still gets exactly one prediction."""
    return [s if len(s) else np.array([OOV_ID], dtype=np.int32) for s in sequences]


def pad(sequences: list[np.ndarray], settings: Tokenize) -> np.ndarray:
    """Rows of `max_len` ids, padded with 0 and truncated as `keras.utils.pad_sequences` does (a test holds them
    equal), but without importing Keras, and so TensorFlow: 6 to 8 s of this stage's start-up."""
    rows = np.zeros((len(sequences), settings.max_len), dtype=np.int32)
    for row, ids in zip(rows, sequences, strict=True):
        kept = ids[-settings.max_len :] if settings.truncating == "pre" else ids[: settings.max_len]
        if settings.padding == "pre":
            row[settings.max_len - len(kept) :] = kept
        else:
            row[: len(kept)] = kept
    return rows
