"""Tokenization and splitting: vocabulary from train only, padding sides, no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from stages.data import DataError, load_splits, split_train_val, stratified_subset
from stages.params import Tokenize
from stages.tokenize import OOV, PAD, build_vocab, encode, pad, split_stats, words

SETTINGS = dict(vocab_size=10, max_len=4, lowercase=True, val_fraction=0.2, train_docs=0, test_docs=0)


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


def test_split_stats():
    stats = split_stats([np.array([2, 1, 1]), np.array([3])], np.array([0, 1]), max_len=2)
    assert stats["documents"] == 2
    assert stats["classes"] == {"neg": 1, "pos": 1}
    assert stats["oov_rate"] == 0.5
    assert stats["truncated_fraction"] == 0.5
    assert stats["length"]["max"] == 3


def test_validation_split_is_stratified_seeded_and_disjoint():
    texts = [f"doc {i}" for i in range(100)]
    labels = np.array([0] * 50 + [1] * 50)
    (train_texts, _), (val_texts, val_y) = split_train_val((texts, labels), 0.2, seed=3)
    assert len(val_texts) == 20 and np.sum(val_y) == 10
    assert not set(train_texts) & set(val_texts)
    again = split_train_val((texts, labels), 0.2, seed=3)
    assert again[1][0] == val_texts


def test_subset_keeps_class_balance():
    texts = [str(i) for i in range(100)]
    labels = np.array([0] * 50 + [1] * 50)
    sub_texts, sub_labels = stratified_subset((texts, labels), 10, seed=0)
    assert len(sub_texts) == 10 and sub_labels.sum() == 5
    assert stratified_subset((texts, labels), 0, seed=0)[0] == texts


def test_too_few_documents_for_validation_is_a_clear_error():
    with pytest.raises(DataError, match="cannot carve a 50% validation split from 2 documents"):
        split_train_val((["a", "b"], np.array([0, 1])), 0.5, seed=0)


def test_load_splits_leaves_test_alone(in_project):
    from stages.download import main as download

    download([])
    splits = load_splits(in_project / "data/imdb/raw", 0, 0, 0.25, seed=0)
    assert len(splits["test"][0]) == 120
    assert len(splits["train"][0]) + len(splits["val"][0]) == 120
    assert not set(splits["train"][0]) & set(splits["val"][0])
