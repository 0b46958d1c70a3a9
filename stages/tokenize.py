"""Stage `tokenize`: words -> integer ids, padded/truncated to `max_len`, vocabulary from train only.

Writes `train/val/test.npz` (x, y, lengths), `vocab.txt` (line i is id i) and `stats.json`.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable

import keras
import numpy as np

from stages import run_stage
from stages.data import (
    CLASS_NAMES,
    DATA_DIR,
    RAW_DIR,
    TOKENIZED_DIR,
    atomic_write,
    load_splits,
    save_arrays,
    write_json,
)
from stages.params import Tokenize, load_params

PAD, OOV = "<pad>", "<oov>"  # ids 0 and 1
OOV_ID = 1
REPLACEMENT = "\ufffd"  # what read_aclimdb decodes bytes that are not UTF-8 to
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def words(text: str, lowercase: bool = True) -> list[str]:
    """Split a review into words; IMDB's `<br />` tags are line breaks, not words."""
    text = LINE_BREAK.sub(" ", text)
    return WORD.findall(text.lower() if lowercase else text)


def build_vocab(documents: Iterable[list[str]], size: int) -> list[str]:
    """The `size - 2` most frequent words after the padding and out-of-vocabulary tokens."""
    counts = Counter(word for document in documents for word in document)
    return [PAD, OOV, *(word for word, _ in counts.most_common(size - 2))]


def encode(documents: Iterable[list[str]], vocab: list[str]) -> list[np.ndarray]:
    """Map words to ids; unknown words become the OOV id."""
    index = {word: i for i, word in enumerate(vocab)}
    oov = index[OOV]
    return [np.array([index.get(word, oov) for word in document], dtype=np.int32) for document in documents]


def fill_empty(sequences: list[np.ndarray]) -> list[np.ndarray]:
    """A review without words becomes one `<oov>` token, not an all-padding row: the mask would hide
    every step, which cuDNN's RNN kernels refuse, and it still gets exactly one prediction."""
    return [s if len(s) else np.array([OOV_ID], dtype=np.int32) for s in sequences]


def pad(sequences: list[np.ndarray], settings: Tokenize) -> np.ndarray:
    return keras.utils.pad_sequences(
        sequences, maxlen=settings.max_len, padding=settings.padding, truncating=settings.truncating, value=0
    )


def split_stats(sequences: list[np.ndarray], labels: np.ndarray, max_len: int) -> dict:
    """What a reader needs to judge max_len and vocab_size for one split."""
    lengths = np.array([len(s) for s in sequences])
    tokens = max(int(lengths.sum()), 1)
    oov = sum(int(np.count_nonzero(s == 1)) for s in sequences)
    percentiles = np.percentile(lengths, [50, 90, 95, 99]) if len(lengths) else np.zeros(4)
    return {
        "documents": len(sequences),
        "empty": int(np.sum(lengths == 0)),
        "classes": {name: int(np.sum(labels == i)) for i, name in enumerate(CLASS_NAMES)},
        "length": {
            **{f"p{p}": int(v) for p, v in zip((50, 90, 95, 99), percentiles)},
            "max": int(lengths.max(initial=0)),
        },
        "oov_rate": round(oov / tokens, 5),
        "truncated_fraction": round(float(np.mean(lengths > max_len)) if len(lengths) else 0.0, 5),
    }


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    settings = params.tokenize
    splits = load_splits(RAW_DIR, settings.train_docs, settings.test_docs, settings.val_fraction, params.seed)
    documents = {name: [words(t, settings.lowercase) for t in texts] for name, (texts, _) in splits.items()}
    vocab = build_vocab(documents["train"], settings.vocab_size)
    stats = {"vocab_size": len(vocab), "max_len": settings.max_len}
    for name, (texts, labels) in splits.items():
        sequences = encode(documents[name], vocab)
        stats[name] = split_stats(sequences, labels, settings.max_len)
        stats[name]["invalid_utf8"] = sum(REPLACEMENT in text for text in texts)
        sequences = fill_empty(sequences)
        lengths = np.minimum([len(s) for s in sequences], settings.max_len).astype(np.int32)
        save_arrays(TOKENIZED_DIR / f"{name}.npz", x=pad(sequences, settings), y=labels, lengths=lengths)
    atomic_write(TOKENIZED_DIR / "vocab.txt", lambda tmp: tmp.write_text("\n".join(vocab) + "\n"))
    write_json(DATA_DIR / "stats.json", stats)
    counts = ", ".join(f"{name} {stats[name]['documents']:,}" for name in splits)
    print(f"tokenize: wrote {TOKENIZED_DIR} ({counts} documents, {len(vocab):,} words) and {DATA_DIR / 'stats.json'}")


if __name__ == "__main__":
    run_stage(main)
