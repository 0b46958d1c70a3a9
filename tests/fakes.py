"""Tiny synthetic datasets in the real formats, for tests that must run in seconds."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import tarfile
from pathlib import Path

from stages.params import Source

POSITIVE = ["great", "wonderful", "superb", "loved", "brilliant", "moving", "delight", "charming"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "waste", "mess", "tedious"]
NEUTRAL = ["the", "film", "movie", "plot", "actor", "scene", "story", "it", "was", "and", "a", "of", "this"]
ARCHIVE = "aclImdb_v1.tar.gz"
IMDB_URL = f"https://ai.stanford.edu/~amaas/data/sentiment/{ARCHIVE}"
IMDB = Source(url=IMDB_URL, format="folders", path="aclImdb", classes=["neg", "pos"])  # params.yaml's, no checksum


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


CORPUS = "shakespeare.txt"
SPEAKERS = ["HAMLET", "OPHELIA", "KING", "QUEEN"]


def play(lines: int = 400, seed: int = 0) -> str:
    """A tiny play in Tiny Shakespeare's layout (speaker, colon, verse, blank line), ~20k characters."""
    rng = random.Random(seed)
    verse = [rng.choice(NEUTRAL + POSITIVE + NEGATIVE) for _ in range(lines * 6)]
    return "".join(
        f"{rng.choice(SPEAKERS)}:\n{' '.join(verse[i * 6 : i * 6 + 3]).capitalize()}, "
        f"{' '.join(verse[i * 6 + 3 : i * 6 + 6])}.\n\n"
        for i in range(lines)
    )


def imdb_mirror(folder: Path, per_class: int = 60, seed: int = 0) -> Path:
    """A mirror folder with both of the project's files, tiny: the aclImdb archive and the corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    imdb_archive(folder / ARCHIVE, per_class, seed)
    (folder / CORPUS).write_text(play(seed=seed))
    write_sums(folder)
    return folder


TOPICS = {
    "sports": ["goal", "match", "league", "coach", "striker", "season", "referee", "stadium"],
    "politics": ["election", "senate", "minister", "vote", "policy", "parliament", "campaign", "law"],
    "cooking": ["recipe", "oven", "garlic", "simmer", "flour", "bake", "sauce", "butter"],
}


def topics_rows(counts: dict[str, int], seed: int = 0) -> list[dict[str, str]]:
    """Short news-like texts whose topic words are learnable; `counts` rows per topic (imbalance allowed)."""
    rng = random.Random(seed)
    rows = []
    for topic, count in counts.items():
        for _ in range(count):
            words = [rng.choice(NEUTRAL) for _ in range(rng.randint(5, 15))]
            for _ in range(rng.randint(2, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(TOPICS[topic]))
            rows.append({"body": " ".join(words).capitalize() + ".", "topic": topic})
    rng.shuffle(rows)
    return rows


def topics_csv(path: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """A three-class CSV (`body`, `topic`) as a user would bring it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["body", "topic"])
        writer.writeheader()
        writer.writerows(topics_rows(counts, seed))
    return path
