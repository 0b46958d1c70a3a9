"""Tokenization and splitting: vocabulary from train only, padding sides, no leakage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stages.batching import crop
from stages.data import DataError
from stages.params import Tokenize
from stages.sources import load_splits, stratified_split, stratified_subset
from stages.text import OOV, PAD, build_vocab, encode, pad, words
from stages.tokenize import split_stats

SETTINGS = dict(vocab_size=10, max_len=4, lowercase=True)


def test_words_drop_markup_and_case():
    assert words("Great<br /><br />FILM, isn't it?") == ["great", "film", "isn't", "it"]
    assert words("Great FILM", lowercase=False) == ["Great", "FILM"]


def test_vocab_is_most_frequent_train_words_after_specials():
    vocab = build_vocab([["b", "a", "b"], ["c", "b", "a"]], size=4)
    assert vocab == [PAD, OOV, "b", "a"]


def test_unknown_words_become_oov():
    vocab = [PAD, OOV, "good"]
    (ids,) = encode([["good", "unseen"]], vocab)
    assert ids.tolist() == [2, 1]


@pytest.mark.parametrize(
    ("padding", "truncating", "expected"),
    [("post", "pre", [[3, 4, 5, 6], [7, 0, 0, 0]]), ("pre", "post", [[2, 3, 4, 5], [0, 0, 0, 7]])],
)
def test_pad_and_truncate_sides(padding, truncating, expected):
    settings = Tokenize(padding=padding, truncating=truncating, **SETTINGS)
    padded = pad([np.arange(2, 7, dtype=np.int32), np.array([7], dtype=np.int32)], settings)
    assert padded.tolist() == expected
    assert padded.dtype == np.int32


@given(
    lengths=st.lists(st.integers(0, 12), min_size=1, max_size=6),
    max_len=st.integers(1, 12),
    padding=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
)
def test_pad_makes_the_rows_keras_pad_sequences_makes(lengths, max_len, padding, truncating):
    """The stage pads without Keras; the rows must be the ones Keras' own helper would give."""
    import keras

    sequences = [np.arange(2 + 20 * i, 2 + 20 * i + n, dtype=np.int32) for i, n in enumerate(lengths)]
    settings = Tokenize(padding=padding, truncating=truncating, vocab_size=10, max_len=max_len, lowercase=True)
    expected = keras.utils.pad_sequences(sequences, maxlen=max_len, padding=padding, truncating=truncating, value=0)
    assert pad(sequences, settings).tolist() == expected.tolist()


@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    width=st.integers(1, 12),
    max_len=st.integers(0, 14),
    padding=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
)
def test_cropped_arrays_equal_tokenizing_at_the_shorter_length(lengths, width, max_len, padding, truncating):
    """One array tokenized at `width` serves a model that reads `max_len`: the same rows, kept ends and
    lengths as tokenizing at min(width, max_len) directly (0 = all)."""
    sequences = [np.arange(2 + 20 * i, 2 + 20 * i + n, dtype=np.int32) for i, n in enumerate(lengths)]
    wide = Tokenize(padding=padding, truncating=truncating, vocab_size=10, max_len=width, lowercase=True)
    arrays = {"x": pad(sequences, wide), "y": np.arange(len(lengths)), "lengths": np.minimum(lengths, width)}
    cropped = crop(arrays, max_len, padding, truncating)
    narrow = wide.model_copy(update={"max_len": min(width, max_len or width)})
    assert cropped["x"].tolist() == pad(sequences, narrow).tolist()
    assert cropped["lengths"].tolist() == np.minimum(lengths, narrow.max_len).tolist()
    assert cropped["x"].dtype == np.int32 and cropped["y"] is arrays["y"]


def test_split_stats():
    stats = split_stats(np.array([3, 1]), oov=2, labels=np.array([0, 1]), classes=["neg", "pos"], max_len=2)
    assert stats["documents"] == 2
    assert stats["classes"] == {"neg": 1, "pos": 1}
    assert stats["imbalance"] == 1.0
    assert stats["oov_rate"] == 0.5
    assert stats["truncated_fraction"] == 0.5
    assert stats["length"]["max"] == 3


def test_validation_split_is_stratified_seeded_and_disjoint():
    labels = np.array([0] * 50 + [1] * 50)
    train, val = stratified_split(np.arange(100), labels, 0.2, seed=3, key="split.val_fraction")
    assert len(val) == 20 and labels[val].sum() == 10
    assert not set(train) & set(val) and len(train) + len(val) == 100
    assert np.array_equal(stratified_split(np.arange(100), labels, 0.2, seed=3, key="k")[1], val)


def test_subset_keeps_class_balance():
    labels = np.array([0] * 50 + [1] * 50)
    subset = stratified_subset(np.arange(100), labels, 10, seed=0, key="split.train_docs")
    assert len(subset) == 10 and labels[subset].sum() == 5
    assert len(stratified_subset(np.arange(100), labels, 0, seed=0, key="split.train_docs")) == 100


def test_too_few_documents_for_validation_is_a_clear_error():
    with pytest.raises(DataError, match=r"cannot split 50% from 2 documents: .* adjust split.val_fraction"):
        stratified_split(np.arange(2), np.array([0, 1]), 0.5, seed=0, key="split.val_fraction")


def test_load_splits_leaves_test_alone(in_project):
    from stages.download import main as download
    from stages.params import load_params

    download(["--dataset", "imdb"])
    settings = load_params().datasets["imdb"]
    splits, classes = load_splits(
        settings.model_copy(update={"split": settings.split.model_copy(update={"val_fraction": 0.25})}),
        in_project / "data/imdb/raw",
        seed=0,
    )
    assert classes == ["neg", "pos"]
    assert len(splits["test"][0]) == 120
    assert len(splits["train"][0]) + len(splits["val"][0]) == 120
    assert len(splits["val"][0]) == 30
    assert not set(splits["train"][0]) & set(splits["val"][0])
