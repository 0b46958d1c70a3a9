"""Stage `tokenize@<dataset>`: words -> integer ids, padded/truncated to `max_len`, vocabulary from train only.

Writes `tokenized/{train,val,test}/{x,y,lengths}.npy`, `vocab.txt` (line i is id i), `classes.txt`
(line i is class id i) and `stats.json`, streaming the documents (a folders archive's are held while it is read).
For a corpus (stage `lm_tokenize@<corpus>`): characters -> ids, `tokenized/<split>/ids.npy` and `vocab.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from stages import run_stage
from stages.data import SPLITS, DataError, replace_dir, write_json
from stages.params import Corpus, Dataset, Tokenize, load_params
from stages.sources import assign_splits, corpus_splits, read_corpus, read_records
from stages.task import Paths, task
from stages.text import OOV_ID, REPLACEMENT, build_vocab, encode_one, fill_empty, pad, words


class SplitWriter:
    """Pads one split's documents chunk by chunk and appends them to its `x.npy` on disk (numpy's header,
    then the rows), so memory stays flat however many documents there are; keeps the counts `stats` reports."""

    CHUNK = 4096

    def __init__(self, folder: Path, labels: np.ndarray, settings: Tokenize):
        folder.mkdir()
        self.settings, self.labels, self.row, self.pending = settings, labels, 0, []
        self.x = open(folder / "x.npy", "wb")  # noqa: SIM115 -- closed in close(), after the last chunk
        header = {"descr": np.dtype(np.int32).str, "fortran_order": False, "shape": (len(labels), settings.max_len)}
        np.lib.format.write_array_header_1_0(self.x, header)
        np.save(folder / "y.npy", labels)
        self.lengths = np.zeros(len(labels), dtype=np.int32)  # before filling empties and truncation
        self.folder, self.oov, self.invalid_utf8 = folder, 0, 0

    def add(self, text: str, sequence: np.ndarray) -> None:
        self.lengths[self.row + len(self.pending)] = len(sequence)
        self.oov += int(np.count_nonzero(sequence == OOV_ID))
        self.invalid_utf8 += REPLACEMENT in text
        self.pending.append(sequence)
        if len(self.pending) == self.CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.x.write(pad(fill_empty(self.pending), self.settings).astype(np.int32).tobytes())
            self.row, self.pending = self.row + len(self.pending), []

    def close(self, classes: list[str]) -> dict:
        self.flush()
        self.x.close()
        np.save(self.folder / "lengths.npy", np.clip(self.lengths, 1, self.settings.max_len))
        return split_stats(self.lengths, self.oov, self.labels, classes, self.settings.max_len) | {
            "invalid_utf8": self.invalid_utf8
        }


def split_stats(lengths: np.ndarray, oov: int, labels: np.ndarray, classes: list[str], max_len: int) -> dict:
    """What a reader needs to judge max_len, vocab_size and class balance for one split."""
    tokens = max(int(lengths.sum()), 1)
    percentiles = np.percentile(lengths, [50, 90, 95, 99]) if len(lengths) else np.zeros(4)
    counts = np.bincount(labels, minlength=len(classes))
    return {
        "documents": len(lengths),
        "empty": int(np.sum(lengths == 0)),
        "classes": {name: int(count) for name, count in zip(classes, counts)},
        "imbalance": round(float(counts.max() / max(counts.min(), 1)), 2),  # largest class / smallest
        "length": {
            **{f"p{p}": int(v) for p, v in zip((50, 90, 95, 99), percentiles)},
            "max": int(lengths.max(initial=0)),
        },
        "oov_rate": round(oov / tokens, 5),
        "truncated_fraction": round(float(np.mean(lengths > max_len)) if len(lengths) else 0.0, 5),
    }


def tokenize(dataset: Dataset, paths: Paths, seed: int, out: Path) -> dict:
    """Three streaming passes over the documents (labels and splits, train vocabulary, encoding): of the encoded
    texts, only one chunk is ever in memory. Writes into `out`; returns the stats."""
    settings = dataset.tokenize
    assignment = assign_splits(read_records(dataset.source, paths.raw), dataset, seed)
    split_of = np.full(len(assignment.labels), -1, dtype=np.int8)  # -1: left out by a subset
    for number, split in enumerate(SPLITS):
        split_of[assignment.indices[split]] = number
    train = (
        words(text, settings.lowercase)
        for position, (_, text, _) in enumerate(read_records(dataset.source, paths.raw))
        if split_of[position] == 0
    )
    vocab = build_vocab(train, settings.vocab_size)
    writers = [SplitWriter(out / split, assignment.labels[assignment.indices[split]], settings) for split in SPLITS]
    index = {word: i for i, word in enumerate(vocab)}
    for position, (_, text, _) in enumerate(read_records(dataset.source, paths.raw)):
        if split_of[position] >= 0:
            writers[split_of[position]].add(text, encode_one(words(text, settings.lowercase), index))
    stats = {"vocab_size": len(vocab), "max_len": settings.max_len, "classes": assignment.classes}
    stats |= {split: writer.close(assignment.classes) for split, writer in zip(SPLITS, writers)}
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (out / "classes.txt").write_text("\n".join(assignment.classes) + "\n")
    return stats


def char_vocab(train: str) -> list[str]:
    """Id 0 stands for any character never seen in train (written as ""), then train's characters, sorted."""
    return ["", *sorted(set(train))]


def tokenize_corpus(corpus: Corpus, paths: Paths, out: Path) -> dict:
    """Characters -> ids for the contiguous train/val/test blocks, vocabulary from train only."""
    splits = corpus_splits(read_corpus(corpus, paths.raw), corpus)
    for split, text in splits.items():
        if len(text) <= corpus.seq_len:
            raise DataError(
                f"{split} split: {len(text):,} characters, not more than seq_len={corpus.seq_len}; "
                "use a longer text, larger val_fraction/test_fraction or a smaller seq_len"
            )
    vocab = char_vocab(splits["train"])
    index = {char: i for i, char in enumerate(vocab)}
    stats: dict = {"vocab_size": len(vocab), "seq_len": corpus.seq_len}
    for split, text in splits.items():
        ids = np.fromiter((index.get(char, 0) for char in text), dtype=np.int32, count=len(text))
        (out / split).mkdir()
        np.save(out / split / "ids.npy", ids)
        stats[split] = {
            "characters": len(text),
            "windows": (len(text) - 1) // corpus.seq_len,
            "unseen_characters": int(np.count_nonzero(ids == 0)),
        }
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    return stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    kind = task(params, args.dataset)
    paths = kind.paths
    if kind.language_model:
        stats = replace_dir(paths.tokenized, lambda out: tokenize_corpus(params.corpora[args.dataset], paths, out))
        write_json(paths.stats, stats)
        counts = ", ".join(f"{split} {stats[split]['characters']:,}" for split in SPLITS)
        print(f"{kind.stage('tokenize')}: wrote {paths.tokenized} ({counts} characters, {stats['vocab_size']} ids)")
        return
    stats = replace_dir(paths.tokenized, lambda out: tokenize(params.datasets[args.dataset], paths, params.seed, out))
    write_json(paths.stats, stats)
    counts = ", ".join(f"{split} {stats[split]['documents']:,}" for split in SPLITS)
    print(
        f"{kind.stage('tokenize')}: wrote {paths.tokenized} ({counts} documents, {stats['vocab_size']:,} words, "
        f"{len(stats['classes'])} classes) and {paths.stats}"
    )


if __name__ == "__main__":
    run_stage(main)
