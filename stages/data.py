"""Data I/O shared by the stages: reading datasets and corpora, splitting, arrays, atomic writes."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np
from sklearn.model_selection import train_test_split

from stages import UserError
from stages.params import Corpus, Dataset, Source


class DataError(UserError):
    """The data cannot be fetched, trusted or used; the message says which file and why."""


T = TypeVar("T")
Record = tuple[str, str, str]  # (given split: train | test, text, label)
Split = tuple[list[str], np.ndarray]
SPLITS = ("train", "val", "test")


def source_file_name(url: str) -> str:
    """The downloaded file's name: the last part of the URL's (or local path's) path."""
    return PurePosixPath(urlparse(url).path).name


def read_records(source: Source, raw: Path) -> Iterator[Record]:
    """Stream a dataset's documents in a fixed order, without holding their texts."""
    if source.format == "folders":
        return _folder_records(raw / source.path, source.classes)
    return _table_records(raw / (source.path or source_file_name(source.url)), source)


def _folder_records(root: Path, classes: list[str] | None) -> Iterator[Record]:
    """`<root>/{train,test}/<class>/*.txt` sorted by path; `test/` is optional.

    Bytes that are not UTF-8 become U+FFFD (a word boundary) rather than failing 50,000 documents for one;
    a class folder without documents is an error, since neither training nor scoring means anything then.
    """
    if not (root / "train").is_dir():
        raise DataError(f"{root / 'train'}: missing; the folders format expects <split>/<class>/*.txt")
    classes = classes or sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    for split in ("train", "test") if (root / "test").is_dir() else ("train",):
        for name in classes:
            folder = root / split / name
            if not folder.is_dir():
                raise DataError(f"{folder}: missing; expected <split>/<class>/*.txt for classes {', '.join(classes)}")
            paths = sorted(folder.glob("*.txt"))
            if not paths:
                raise DataError(f"{folder}: no documents (*.txt); every split needs documents of each class")
            for path in paths:
                yield split, read_text(path), name


def read_text(path: Path) -> str:
    """One document's text; an unreadable file names itself instead of ending in a traceback."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _table_records(path: Path, source: Source) -> Iterator[Record]:
    """Rows of a CSV, TSV or JSON Lines file. A UTF-8 byte order mark at the start is the encoding's marker, not
    part of the first column's name; numeric labels compare as numbers (`1`, `1.0` and "1" are one class)."""
    columns = [source.text_column, source.label_column, *([source.split_column] if source.split_column else [])]
    readers = {"csv": _csv_rows, "tsv": _tsv_rows, "jsonl": _jsonl_rows}
    try:
        # TSV and JSON Lines rows are lines ended by `\n` alone; the csv module finds a CSV's own line ends.
        with open(path, encoding="utf-8-sig", errors="replace", newline="" if source.format == "csv" else "\n") as f:
            for number, row in readers[source.format](path, f, columns):
                missing = [column for column in columns if column not in row]
                if missing:
                    raise DataError(
                        f"{path}:{number}: no {missing[0]!r} column (has: {', '.join(map(str, row))}); "
                        "set the dataset's source.text_column / label_column / split_column"
                    )
                split = str(row[source.split_column]).strip().lower() if source.split_column else "train"
                if split not in ("train", "test"):
                    raise DataError(f"{path}:{number}: {source.split_column}={split!r}; allowed: train, test")
                yield split, str(row[source.text_column]), _label(path, number, row[source.label_column], source)
    except FileNotFoundError:
        raise DataError(f"{path}: missing; check the dataset's source.path and format") from None
    except (csv.Error, UnicodeError) as exc:
        raise DataError(f"{path}: not valid {source.format} ({exc})") from None


def _label(path: Path, number: int, value: Any, source: Source) -> str:
    """A row's class name, a number as its shortest spelling; refused when missing (empty, JSON's null, NaN as pandas
    writes a missing value) or when it holds a line break, which the one-name-per-line classes.txt cannot hold."""
    label = "null" if value is None else str(value).strip()
    if value is None or label.lower() == "nan":
        raise DataError(f"{path}:{number}: {source.label_column}={label}, a missing value; every row needs a label")
    if not label:
        raise DataError(f"{path}:{number}: empty {source.label_column!r}; every row needs a label")
    if label.splitlines() != [label]:
        raise DataError(f"{path}:{number}: {source.label_column}={label!r} holds a line break; a label is one line")
    try:
        return str(int(label))
    except ValueError:
        pass
    try:
        numeric = float(label)
    except ValueError:
        return label
    return str(int(numeric)) if numeric.is_integer() else str(numeric)


def _check_header(path: Path, header: list[str], columns: list[str]) -> None:
    """Two columns of one name would leave one of them unread without a word."""
    twice = next((column for column in columns if header.count(column) > 1), None)
    if twice is not None:
        raise DataError(f"{path}:1: {header.count(twice)} columns named {twice!r}; a column name must be unique")


def _csv_rows(path: Path, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    """RFC 4180 rows: a quoted cell may hold commas, quotes (doubled) and line breaks, of any length."""
    csv.field_size_limit(sys.maxsize)  # the module's default caps a cell at 131,072 characters
    reader = csv.reader(f)
    header = next(reader, [])
    _check_header(path, header, columns)
    for row in reader:
        if row:
            yield reader.line_num, _fields(path, reader.line_num, header, row, "comma-separated")


def _tsv_rows(path: Path, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    """A TSV is tab-separated lines: a row is one line, and a quote is an ordinary character."""
    lines = (line.removesuffix("\n").removesuffix("\r") for line in f)
    header = next(lines, "").split("\t")
    _check_header(path, header, columns)
    for number, line in enumerate(lines, 2):
        if line:
            yield number, _fields(path, number, header, line.split("\t"), "tab-separated")


def _fields(path: Path, number: int, header: list[str], row: list[str], kind: str) -> dict[str, str]:
    if len(row) != len(header):
        raise DataError(
            f"{path}:{number}: {len(row)} {kind} fields, the header has {len(header)}; every row needs one per column"
        )
    return dict(zip(header, row))


def _jsonl_rows(path: Path, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    return (_json_row(path, number, line) for number, line in enumerate(f, 1) if line.strip())


def _json_row(path: Path, number: int, line: str) -> tuple[int, dict]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: expected a JSON object per line")
    return number, row


@dataclass(frozen=True)
class Assignment:
    """Which documents (positions in `read_records` order) go to which split, and the class names."""

    classes: list[str]
    labels: np.ndarray  # class id of every document
    indices: dict[str, np.ndarray]  # split -> sorted document positions


def assign_splits(records: Iterable[Record], dataset: Dataset, seed: int) -> Assignment:
    """Label every document and split them: the given test split or a stratified one, a seeded
    subset if asked, then a stratified validation split carved from train. Texts are not kept."""
    given, names = [], []
    for split, _, label in records:
        given.append(split == "test")
        names.append(label)
    classes = class_names(names, dataset.source.classes)
    index = {name: i for i, name in enumerate(classes)}
    unknown = next((name for name in names if name not in index), None)
    if unknown is not None:
        raise DataError(f"label {unknown!r} is not in source.classes ({', '.join(classes)}); add it or fix the data")
    labels = np.array([index[name] for name in names], dtype=np.int32)
    settings, everything = dataset.split, np.arange(len(labels))
    if any(given):
        train, test = everything[~np.array(given)], everything[np.array(given)]
    else:
        train, test = stratified_split(everything, labels, settings.test_fraction, seed, "split.test_fraction")
    train = stratified_subset(train, labels, settings.train_docs, seed, "split.train_docs")
    test = stratified_subset(test, labels, settings.test_docs, seed, "split.test_docs")
    train, val = stratified_split(train, labels, settings.val_fraction, seed, "split.val_fraction")
    return Assignment(classes, labels, {"train": train, "val": val, "test": test})


def class_names(labels: list[str], given: list[str] | None) -> list[str]:
    """The given order, else sorted (numerically when every label is a number); two or more."""
    if given:
        classes = list(given)
    else:
        unique = set(labels)
        numeric = all(re.fullmatch(r"-?\d+(\.\d+)?", name) for name in unique)
        classes = sorted(unique, key=float) if numeric else sorted(unique)
    if len(set(classes)) < 2:
        found = ", ".join(classes) or "no documents"
        raise DataError(f"need at least two classes, found {len(set(classes))} ({found})")
    return classes


def stratified_subset(indices: np.ndarray, labels: np.ndarray, size: int, seed: int, key: str) -> np.ndarray:
    """A seeded, class-balanced subset of `size` documents; 0 or a size >= the pool keeps it all."""
    if size == 0 or size >= len(indices):
        return indices
    try:
        keep, _ = train_test_split(
            np.arange(len(indices)), train_size=size, stratify=labels[indices], random_state=seed
        )
    except ValueError as exc:
        raise DataError(f"{key}={size}: cannot take a stratified subset of {len(indices)} documents ({exc})") from None
    return indices[np.sort(keep)]


def stratified_split(indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int, key: str) -> tuple:
    """Split off a stratified, seeded `fraction`: (rest, fraction), each sorted."""
    try:
        rest, part = train_test_split(
            np.arange(len(indices)), test_size=fraction, stratify=labels[indices], random_state=seed
        )
    except ValueError as exc:
        raise DataError(
            f"cannot split {fraction:.0%} from {len(indices)} documents: {exc}; each part needs every class, "
            f"so adjust {key} or add documents"
        ) from None
    return indices[np.sort(rest)], indices[np.sort(part)]


def load_splits(dataset: Dataset, raw: Path, seed: int) -> tuple[dict[str, Split], list[str]]:
    """The train/val/test texts and labels every consumer (tokenizer, baseline, tests) sees identically."""
    assignment = assign_splits(read_records(dataset.source, raw), dataset, seed)
    split_of = {int(i): split for split, indices in assignment.indices.items() for i in indices}
    texts: dict[str, list[str]] = {split: [] for split in SPLITS}
    for position, (_, text, _) in enumerate(read_records(dataset.source, raw)):
        if position in split_of:
            texts[split_of[position]].append(text)
    splits = {split: (texts[split], assignment.labels[assignment.indices[split]]) for split in SPLITS}
    return splits, assignment.classes


def read_corpus(corpus: Corpus, raw: Path) -> str:
    """A corpus's whole text; it is small next to a classification dataset, and splits are contiguous."""
    return read_text(raw / (corpus.source.path or source_file_name(corpus.source.url)))


def corpus_splits(text: str, corpus: Corpus) -> dict[str, str]:
    """Contiguous blocks: train, then validation, then test at the end; no character is in two splits."""
    val_start = round(len(text) * (1 - corpus.val_fraction - corpus.test_fraction))
    test_start = round(len(text) * (1 - corpus.test_fraction))
    return {"train": text[:val_start], "val": text[val_start:test_start], "test": text[test_start:]}


def windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of a character stream: inputs are characters t..t+L-1, targets t+1..t+L."""
    count = (len(ids) - 1) // seq_len
    return ids[: count * seq_len].reshape(count, seq_len), ids[1 : count * seq_len + 1].reshape(count, seq_len)


def load_ids(folder: Path) -> np.ndarray:
    """One split of a tokenized corpus: its character ids in text order."""
    return load_arrays(folder, required=("ids",))["ids"]


def read_vocab(tokenized: Path) -> list[str]:
    """A corpus's characters by id (JSON, since a character may be a line break); id 0 is any unseen one."""
    return read_json(tokenized / "vocab.json")


def read_lines(path: Path) -> list[str]:
    """A vocab.txt or classes.txt written by the tokenize stage: line i is id i."""
    return path.read_text(encoding="utf-8").splitlines()


def current_umask() -> int:
    """The process's umask, which can only be read by setting it."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Any) -> None:
    """Write via a temporary sibling and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's file is private; an output gets the user's usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON written atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def replace_dir(dest: Path, fill: Callable[[Path], T]) -> T:
    """Build a folder in a temporary sibling, then swap it in: `dest` is either complete or untouched."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        staging = Path(tmp) / dest.name
        staging.mkdir()
        result = fill(staging)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    return result


def load_arrays(folder: Path, required: tuple[str, ...] = ("x", "y")) -> dict[str, np.ndarray]:
    """One split's `.npy` arrays (x, y, lengths; or ids) by name; pickled objects are refused, never unpickled."""
    arrays = {}
    for path in sorted(folder.glob("*.npy")):
        try:
            arrays[path.stem] = np.load(path, allow_pickle=False)
        except ValueError as exc:  # numpy's refusal of object arrays and pickles
            raise DataError(f"{path}: refused ({exc}); only plain numeric arrays are loaded") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: unreadable ({exc}); `dvc repro` rebuilds it") from None
    if not set(required) <= arrays.keys():
        names = ", ".join(f"{name}.npy" for name in required)
        raise DataError(f"{folder}: no tokenized arrays ({names}); `dvc repro` rebuilds them")
    return arrays
