"""Files shared by the stages: tokenized arrays, vocabularies, JSON, and writes that are atomic."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from stages import UserError


class DataError(UserError):
    """The data cannot be fetched, trusted or used; the message says which file and why."""


T = TypeVar("T")
SPLITS = ("train", "val", "test")


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
