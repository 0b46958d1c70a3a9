"""Tiny synthetic datasets in the real formats, for tests that must run in seconds."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from pathlib import Path

POSITIVE = ["great", "wonderful", "superb", "loved", "brilliant", "moving", "delight", "charming"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "waste", "mess", "tedious"]
NEUTRAL = ["the", "film", "movie", "plot", "actor", "scene", "story", "it", "was", "and", "a", "of", "this"]
ARCHIVE = "aclImdb_v1.tar.gz"


def review(rng: random.Random, positive: bool) -> str:
    """A review whose sentiment words are learnable: a fair test that training works."""
    cue = POSITIVE if positive else NEGATIVE
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(8, 40))]
    for _ in range(rng.randint(2, 4)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
    return " ".join(words).capitalize() + ".<br /><br />" + rng.choice(NEUTRAL)


def imdb_archive(path: Path, per_class: int = 60, seed: int = 0) -> Path:
    """Write an aclImdb_v1.tar.gz with `per_class` reviews in each of train/test x neg/pos."""
    rng = random.Random(seed)
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for label in ("neg", "pos"):
                for i in range(per_class):
                    data = review(rng, label == "pos").encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


def write_sums(folder: Path) -> None:
    """A SHA256SUMS file in `sha256sum` format for every file in `folder`."""
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def imdb_mirror(folder: Path, per_class: int = 60, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    imdb_archive(folder / ARCHIVE, per_class, seed)
    write_sums(folder)
    return folder
