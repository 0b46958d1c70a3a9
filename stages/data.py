"""Data I/O shared by the stages: where things live, reading the corpus, splitting, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from stages import UserError

DATASET = "imdb"
CLASS_NAMES = ("neg", "pos")
DATA_DIR = Path("data") / DATASET
RAW_DIR = DATA_DIR / "raw"
TOKENIZED_DIR = DATA_DIR / "tokenized"
MODELS_DIR = DATA_DIR / "models"
METRICS_DIR = Path("metrics") / DATASET
LIVE_DIR = Path("dvclive") / DATASET
REPORT_DIR = Path("reports") / DATASET
PREDICTIONS_DIR = REPORT_DIR / "predictions"


class DataError(UserError):
    """The data cannot be fetched, trusted or used; the message says which file and why."""


Split = tuple[list[str], np.ndarray]


def read_aclimdb(root: Path) -> dict[str, Split]:
    """Read `<root>/aclImdb/{train,test}/{neg,pos}/*.txt` into texts and 0/1 labels, sorted by path.

    Bytes that are not UTF-8 become U+FFFD (a word boundary) rather than failing 50,000 reviews for one;
    a class folder without reviews is an error, since neither training nor scoring means anything then.
    """
    splits = {}
    for split in ("train", "test"):
        texts, labels = [], []
        for label, name in enumerate(CLASS_NAMES):
            folder = root / "aclImdb" / split / name
            if not folder.is_dir():
                raise DataError(f"{folder}: missing; expected the aclImdb layout <split>/<neg|pos>/*.txt")
            paths = sorted(folder.glob("*.txt"))
            if not paths:
                raise DataError(f"{folder}: no reviews (*.txt); every split needs reviews of both classes, neg and pos")
            for path in paths:
                texts.append(read_review(path))
                labels.append(label)
        splits[split] = (texts, np.array(labels, dtype=np.int32))
    return splits


def read_review(path: Path) -> str:
    """One review's text; an unreadable file names itself instead of ending in a traceback."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def stratified_subset(split: Split, size: int, seed: int, key: str = "size") -> Split:
    """A seeded, class-balanced subset of `size` documents; 0 or a size >= the split keeps it all."""
    texts, labels = split
    if size == 0 or size >= len(texts):
        return split
    try:
        keep, _ = train_test_split(np.arange(len(texts)), train_size=size, stratify=labels, random_state=seed)
    except ValueError as exc:
        raise DataError(f"{key}={size}: cannot take a stratified subset of {len(texts)} documents ({exc})") from None
    keep.sort()
    return [texts[i] for i in keep], labels[keep]


def split_train_val(split: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a stratified, seeded validation split from train; test is never touched."""
    texts, labels = split
    try:
        train_idx, val_idx = train_test_split(
            np.arange(len(texts)), test_size=val_fraction, stratify=labels, random_state=seed
        )
    except ValueError as exc:
        raise DataError(
            f"cannot carve a {val_fraction:.0%} validation split from {len(texts)} documents: {exc}; "
            "train and validation each need both classes, so adjust tokenize.val_fraction or add documents"
        ) from None
    train_idx.sort()
    val_idx.sort()
    return ([texts[i] for i in train_idx], labels[train_idx]), ([texts[i] for i in val_idx], labels[val_idx])


def load_splits(raw_dir: Path, train_docs: int, test_docs: int, val_fraction: float, seed: int) -> dict[str, Split]:
    """The train/val/test texts every consumer (tokenizer, baseline) sees identically."""
    corpus = read_aclimdb(raw_dir)
    train = stratified_subset(corpus["train"], train_docs, seed, "tokenize.train_docs")
    test = stratified_subset(corpus["test"], test_docs, seed, "tokenize.test_docs")
    train, val = split_train_val(train, val_fraction, seed)
    return {"train": train, "val": val, "test": test}


def atomic_write(path: Path, write: Any) -> None:
    """Write via a temporary sibling and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON written atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Framework-neutral `.npz` written atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(path, write)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Load an `.npz` written by `save_arrays`; pickled objects are refused, never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:  # numpy's refusal of object arrays and pickles
        raise DataError(f"{path}: refused ({exc}); only plain numeric arrays are loaded") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: unreadable ({exc}); `dvc repro` rebuilds it") from None
