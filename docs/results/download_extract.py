"""The download stage's extraction, all of an archive against what the dataset reads, on IMDB's original layout.

The offline mirror holds only the labelled reviews, so this first writes an archive in the original's layout
from it: the mirror's members plus 50,000 unlabelled reviews (`train/unsup`, reused texts made unique), the three
bag-of-words `.feat` files at their original sizes, the vocabulary, the URL lists and a README. Then it times
`stages.download.unpack` extracting everything and extracting `archive_members` of params.yaml's IMDB source,
alternating, and prints files and seconds. The archive's folder, with its SHA256SUMS, then serves as
RNNLAB_DATA_MIRROR for timing the stage under `dvc repro`, which also hashes and caches what it extracted.

    PYTHONPATH=. python docs/results/download_extract.py ../shared/data /tmp/extract 3
"""

from __future__ import annotations

import io
import random
import shutil
import sys
import tarfile
import time
from pathlib import Path

from stages.download import archive_members, sha256_of, unpack
from stages.params import load_params

ARCHIVE = "aclImdb_v1.tar.gz"
FEATURES = {"train/labeledBow.feat": 21_000_000, "test/labeledBow.feat": 20_000_000, "train/unsupBow.feat": 41_000_000}
URL_LISTS = [
    "train/urls_neg.txt",
    "train/urls_pos.txt",
    "train/urls_unsup.txt",
    "test/urls_neg.txt",
    "test/urls_pos.txt",
]


def original_layout(mirror_archive: Path, dest: Path) -> Path:
    rng = random.Random(0)
    with tarfile.open(mirror_archive) as mirror, tarfile.open(dest, "w:gz") as out:

        def add(name: str, data: bytes) -> None:
            member = tarfile.TarInfo(f"aclImdb/{name}")
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))

        texts = []
        for member in mirror:
            data = mirror.extractfile(member).read() if member.isfile() else None
            if data is not None and "/train/" in member.name:
                texts.append(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        for i in range(50_000):
            add(f"train/unsup/{i}_0.txt", texts[i % len(texts)] + f" ({i})".encode())  # unique, as DVC sees
        for name, size in FEATURES.items():
            pairs = " ".join(f"{rng.randrange(89527)}:{rng.randrange(1, 5)}" for _ in range(size // 9))
            add(name, pairs.encode()[:size])
        add("imdb.vocab", "\n".join(map(str, range(89527))).encode())
        add("imdbEr.txt", "\n".join(str(rng.random()) for _ in range(89527)).encode())
        for name in URL_LISTS:
            add(name, b"http://www.imdb.com/title/tt0000000/usercomments\n" * 12500)
        add("README", b"Large Movie Review Dataset v1.0\n")
    return dest


def main() -> None:
    mirror, work, repeats = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    archive = original_layout(mirror / ARCHIVE, work / ARCHIVE)
    (work / "SHA256SUMS").write_text(f"{sha256_of(archive)}  {ARCHIVE}\n")
    members = archive_members(load_params(architectures=False).datasets["imdb"].source)
    print(f"{archive}: {archive.stat().st_size:,} bytes; the dataset reads {', '.join(map(str, members))}")
    print("| repeat | extracted | files | seconds |\n| --- | --- | --- | --- |")
    for repeat in range(1, repeats + 1):
        for label, wanted in (("all", None), ("what the dataset reads", members)):
            shutil.rmtree(work / "raw", ignore_errors=True)
            start = time.perf_counter()
            files = unpack(archive, work / "raw", wanted)
            print(f"| {repeat} | {label} | {files:,} | {time.perf_counter() - start:.1f} |", flush=True)
    shutil.rmtree(work / "raw")


if __name__ == "__main__":
    main()
