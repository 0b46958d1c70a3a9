"""A dataset's or corpus's downloaded file, read where it lies: the documents of an archive (tar or zip, nothing
unpacked to disk) or of a plain table or text, and their split into train, validation and test."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlparse

import numpy as np
from sklearn.model_selection import train_test_split

from stages.data import SPLITS, DataError
from stages.params import Corpus, Dataset, Source

Record = tuple[str, str, str]  # (given split: train | test, text, label)
Document = tuple[str, str, str, str]  # (given split, class folder, file name, text) of a folders dataset
Split = tuple[list[str], np.ndarray]
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
UNREADABLE = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError)


def source_file_name(url: str) -> str:
    """The downloaded file's name: the last part of the URL's (or local path's) path."""
    return PurePosixPath(urlparse(url).path).name


def is_archive(file: Path) -> bool:
    return file.name.endswith((*TAR_SUFFIXES, ".zip"))


def member_parts(name: str) -> tuple[str, ...]:
    """An archive member's path as parts, without the `./` or `/` some archivers put before it."""
    return tuple(part for part in PurePosixPath(name).parts if part != "/")


def open_tar(file: Path) -> tarfile.TarFile:
    """A tar archive, compressed or not; a file that is none gets one line, not tarfile's line per method tried."""
    try:
        return tarfile.open(file)
    except tarfile.ReadError:
        raise DataError(f"{file}: cannot read: not a tar archive (plain, gzip, bzip2 or xz)") from None


Wanted = Callable[[tuple[str, ...], bool], bool]  # (a member's path parts, is it a file) -> read it?


def archive_files(file: Path, wanted: Wanted) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """The files of a tar or zip archive that `wanted` accepts, with their bytes, in archive order and in one pass
    through the compression. `wanted` sees every member, folders included."""
    try:
        if file.name.endswith(".zip"):
            with zipfile.ZipFile(file) as archive:
                for info in archive.infolist():
                    if wanted(parts := member_parts(info.filename), not info.is_dir()):
                        yield parts, archive.read(info)
        else:
            with open_tar(file) as tar:
                for member in tar:
                    if wanted(parts := member_parts(member.name), member.isfile()):
                        yield parts, tar.extractfile(member).read()
    except UNREADABLE as exc:
        raise DataError(f"{file}: cannot read: {exc}") from None


@contextmanager
def open_text(file: Path, member: str, newline: str) -> Iterator[IO[str]]:
    """`file`, or the `member` of an archive, as UTF-8 text streamed from it: a byte order mark at the start is the
    encoding's marker, and bytes that are not UTF-8 become U+FFFD."""
    if not is_archive(file):
        with open(file, encoding="utf-8-sig", errors="replace", newline=newline) as f:
            yield f
        return
    if not member:
        raise DataError(f"{file}: an archive; set the dataset's source.path to the file to read in it")
    try:
        if file.name.endswith(".zip"):
            with zipfile.ZipFile(file) as archive:
                found = next((i for i in archive.infolist() if member_parts(i.filename) == member_parts(member)), None)
                with _text_of(file, member, found and not found.is_dir() and archive.open(found), newline) as f:
                    yield f
        else:
            with open_tar(file) as tar:
                found = next((m for m in tar if m.isfile() and member_parts(m.name) == member_parts(member)), None)
                with _text_of(file, member, found and tar.extractfile(found), newline) as f:
                    yield f
    except UNREADABLE as exc:
        raise DataError(f"{file}: cannot read {member}: {exc}") from None


def _text_of(file: Path, member: str, binary: IO[bytes] | None, newline: str) -> io.TextIOWrapper:
    if not binary:
        raise DataError(f"{file}: no file {member} in the archive; source.path names the file to read in it")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline=newline)


def read_records(source: Source, raw: Path) -> Iterator[Record]:
    """A dataset's documents in a fixed order: a table's rows in its order, streamed; a folders archive's documents
    sorted by path."""
    file = raw / source_file_name(source.url)
    if source.format == "folders":
        return ((split, text, name) for split, name, _, text in folder_documents(file, source.path, source.classes))
    return _table_records(file, source)


def folder_documents(file: Path, root: str, classes: list[str] | None) -> Iterator[Document]:
    """`<root>/{train,test}/<class>/*.txt` in an archive, sorted by path; `test/` is optional, and every folder
    under `train/` is a class unless `classes` names them.

    The documents' bytes are held while the archive is read, since a compressed archive is read in its own order.
    Bytes that are not UTF-8 become U+FFFD (a word boundary) rather than failing 50,000 documents for one; a class
    folder without documents is an error, since neither training nor scoring means anything then.
    """
    if not is_archive(file):
        raise DataError(f"{file}: not a tar or zip archive; the folders format reads <split>/<class>/*.txt in one")
    top, splits, folders = member_parts(root), set(), set()

    def wanted(parts: tuple[str, ...], is_file: bool) -> bool:
        """Notes which split and class folders exist (a folder exists if it is listed or holds anything)."""
        depth = len(top)
        if parts[:depth] != top or len(parts) == depth or parts[depth] not in ("train", "test"):
            return False
        if len(parts) > depth + 1 or not is_file:
            splits.add(parts[depth])
        if len(parts) > depth + 2 or (len(parts) == depth + 2 and not is_file):
            folders.add(parts[depth : depth + 2])
        in_class = len(parts) == depth + 3 and (not classes or parts[depth + 1] in classes)
        return is_file and in_class and parts[-1].endswith(".txt")

    documents: dict[tuple[str, str], dict[str, bytes]] = {}
    for parts, data in archive_files(file, wanted):
        documents.setdefault(parts[-3:-1], {})[parts[-1]] = data
    where = "".join(f"{part}/" for part in top)
    if "train" not in splits:
        raise DataError(f"{file}: no {where}train/ in the archive; the folders format expects <split>/<class>/*.txt")
    classes = classes or sorted(name for split, name in folders if split == "train")
    for split in ("train", "test") if "test" in splits else ("train",):
        for name in classes:
            if (split, name) not in folders:
                raise DataError(
                    f"{file}: no {where}{split}/{name}/ in the archive; expected <split>/<class>/*.txt for classes "
                    f"{', '.join(classes)}"
                )
            texts = documents.get((split, name))
            if not texts:
                raise DataError(
                    f"{file}: no documents (*.txt) in {where}{split}/{name}/; every split needs documents of each class"
                )
            for file_name in sorted(texts):
                yield split, name, file_name, texts[file_name].decode("utf-8", errors="replace")


def _table_records(file: Path, source: Source) -> Iterator[Record]:
    """Rows of a CSV, TSV or JSON Lines file, or of one in an archive (`source.path`). Numeric labels compare as
    numbers (`1`, `1.0` and "1" are one class)."""
    columns = [source.text_column, source.label_column, *([source.split_column] if source.split_column else [])]
    readers = {"csv": _csv_rows, "tsv": _tsv_rows, "jsonl": _jsonl_rows}
    where = f"{file}/{source.path}" if is_archive(file) else str(file)
    try:
        # TSV and JSON Lines rows are lines ended by `\n` alone; the csv module finds a CSV's own line ends.
        with open_text(file, source.path, "" if source.format == "csv" else "\n") as f:
            for number, row in readers[source.format](where, f, columns):
                missing = [column for column in columns if column not in row]
                if missing:
                    raise DataError(
                        f"{where}:{number}: no {missing[0]!r} column (has: {', '.join(map(str, row))}); "
                        "set the dataset's source.text_column / label_column / split_column"
                    )
                split = str(row[source.split_column]).strip().lower() if source.split_column else "train"
                if split not in ("train", "test"):
                    raise DataError(f"{where}:{number}: {source.split_column}={split!r}; allowed: train, test")
                yield split, str(row[source.text_column]), _label(where, number, row[source.label_column], source)
    except FileNotFoundError:
        raise DataError(f"{file}: missing; `dvc repro` downloads it") from None
    except (csv.Error, UnicodeError) as exc:
        raise DataError(f"{where}: not valid {source.format} ({exc})") from None


def _label(where: str, number: int, value: Any, source: Source) -> str:
    """A row's class name, a number as its shortest spelling; refused when missing (empty, JSON's null, NaN as pandas
    writes a missing value) or when it holds a line break, which the one-name-per-line classes.txt cannot hold."""
    label = "null" if value is None else str(value).strip()
    if value is None or label.lower() == "nan":
        raise DataError(f"{where}:{number}: {source.label_column}={label}, a missing value; every row needs a label")
    if not label:
        raise DataError(f"{where}:{number}: empty {source.label_column!r}; every row needs a label")
    if label.splitlines() != [label]:
        raise DataError(f"{where}:{number}: {source.label_column}={label!r} holds a line break; a label is one line")
    try:
        return str(int(label))
    except ValueError:
        pass
    try:
        numeric = float(label)
    except ValueError:
        return label
    return str(int(numeric)) if numeric.is_integer() else str(numeric)


def _check_header(where: str, header: list[str], columns: list[str]) -> None:
    """Two columns of one name would leave one of them unread without a word."""
    twice = next((column for column in columns if header.count(column) > 1), None)
    if twice is not None:
        raise DataError(f"{where}:1: {header.count(twice)} columns named {twice!r}; a column name must be unique")


def _csv_rows(where: str, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    """RFC 4180 rows: a quoted cell may hold commas, quotes (doubled) and line breaks, of any length."""
    csv.field_size_limit(sys.maxsize)  # the module's default caps a cell at 131,072 characters
    reader = csv.reader(f)
    header = next(reader, [])
    _check_header(where, header, columns)
    for row in reader:
        if row:
            yield reader.line_num, _fields(where, reader.line_num, header, row, "comma-separated")


def _tsv_rows(where: str, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    """A TSV is tab-separated lines: a row is one line, and a quote is an ordinary character."""
    lines = (line.removesuffix("\n").removesuffix("\r") for line in f)
    header = next(lines, "").split("\t")
    _check_header(where, header, columns)
    for number, line in enumerate(lines, 2):
        if line:
            yield number, _fields(where, number, header, line.split("\t"), "tab-separated")


def _fields(where: str, number: int, header: list[str], row: list[str], kind: str) -> dict[str, str]:
    if len(row) != len(header):
        raise DataError(
            f"{where}:{number}: {len(row)} {kind} fields, the header has {len(header)}; every row needs one per column"
        )
    return dict(zip(header, row))


def _jsonl_rows(where: str, f: Iterable[str], columns: list[str]) -> Iterator[tuple[int, dict]]:
    return (_json_row(where, number, line) for number, line in enumerate(f, 1) if line.strip())


def _json_row(where: str, number: int, line: str) -> tuple[int, dict]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}:{number}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{where}:{number}: expected a JSON object per line")
    return number, row


def read_corpus(corpus: Corpus, raw: Path) -> str:
    """A corpus's whole text; it is small next to a classification dataset, and splits are contiguous."""
    return whole_text(raw / source_file_name(corpus.source.url), corpus.source.path)


def whole_text(file: Path, member: str) -> str:
    """A file's text, or that of the `member` of an archive, with its line ends as they are."""
    if not is_archive(file):
        try:
            return file.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise DataError(f"{file}: cannot read ({exc.strerror or exc})") from None
    wanted = member_parts(member)
    texts = member and [data for _, data in archive_files(file, lambda parts, is_file: is_file and parts == wanted)]
    if not texts:
        raise DataError(f"{file}: no file {member or '(source.path)'} in the archive; source.path names it")
    return texts[0].decode("utf-8", errors="replace")


def files_to_read(source: Source, file: Path) -> int:
    """How many files the readers open in a downloaded file: its documents (folders), else 1. Reading them here
    makes a file that lacks what the dataset reads fail at download, in one line."""
    if source.format == "folders":
        return sum(1 for _ in folder_documents(file, source.path, source.classes))
    if source.format == "text":
        whole_text(file, source.path)
    elif is_archive(file):
        with open_text(file, source.path, "\n"):
            pass
    return 1


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


def corpus_splits(text: str, corpus: Corpus) -> dict[str, str]:
    """Contiguous blocks: train, then validation, then test at the end; no character is in two splits."""
    val_start = round(len(text) * (1 - corpus.val_fraction - corpus.test_fraction))
    test_start = round(len(text) * (1 - corpus.test_fraction))
    return {"train": text[:val_start], "val": text[val_start:test_start], "test": text[test_start:]}
