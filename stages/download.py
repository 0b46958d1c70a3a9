"""Stage `download@<dataset>`: fetch a dataset's file, verify its sha256 and what it holds, store it atomically.

With RNNLAB_DATA_MIRROR set to a folder, a file with an http(s) URL is read from there by its
canonical file name and verified against that folder's SHA256SUMS instead of the network.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

from stages import run_stage
from stages.data import DataError, replace_dir
from stages.params import Source, load_params
from stages.sources import files_to_read, source_file_name
from stages.task import task

MIRROR_ENV = "RNNLAB_DATA_MIRROR"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_checksum(mirror: Path, filename: str) -> str:
    """The sha256 the mirror's SHA256SUMS (sha256sum format) lists for `filename`."""
    sums = mirror / "SHA256SUMS"
    if not sums.is_file():
        raise DataError(f"{sums}: missing; a mirror folder needs a SHA256SUMS file in sha256sum format")
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{sums}: byte 0x{exc.object[exc.start]:02x} is not UTF-8; expected sha256sum's output"
        ) from None
    for line in lines:
        digest, _, name = line.strip().partition(" ")
        if name.lstrip(" *") == filename:
            return digest.lower()
    raise DataError(f"{sums}: no entry for {filename}")


class _Truncated(Exception):
    """The server closed the connection before sending all the bytes it announced."""


# Worth another attempt: refused or reset connections, timeouts, HTTP errors, short transfers.
TRANSIENT = (urllib.error.URLError, http.client.HTTPException, OSError, _Truncated)


def fetch(url: str, dest: Path, attempts: int = 3, timeout: float = 30.0, backoff: float = 2.0) -> None:
    """Stream `url` to `dest` with a progress bar, retrying transient network errors and truncated
    transfers; bytes go to a temporary sibling renamed on success, so `dest` is complete or absent."""
    partial = dest.with_name(f".{dest.name}.part")
    try:
        for attempt in range(1, attempts + 1):
            try:
                _fetch_once(url, partial, timeout)
                os.replace(partial, dest)
                return
            except TRANSIENT as exc:
                if attempt == attempts:
                    reason = getattr(exc, "reason", None) or exc
                    raise DataError(
                        f"cannot download {url} ({reason}; {attempts} attempts); offline? set {MIRROR_ENV} to a "
                        f"folder holding {source_file_name(url)} and its SHA256SUMS"
                    ) from None
                time.sleep(backoff * 2 ** (attempt - 1))
    finally:
        partial.unlink(missing_ok=True)


def _fetch_once(url: str, partial: Path, timeout: float) -> None:
    """One attempt; a failed write (disk full) is a DataError at once, not a network error to retry."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        received = 0
        with (
            _open_for_writing(partial) as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=source_file_name(url)) as bar,
        ):
            while chunk := response.read(CHUNK):
                _write(out, chunk, partial)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise _Truncated(f"transfer truncated at {received} of {total} bytes")


def _open_for_writing(path: Path) -> io.FileIO:
    """Unbuffered, so a full disk fails in `_write` rather than in a later flush or close."""
    try:
        return open(path, "wb", buffering=0)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _write(out: io.FileIO, chunk: bytes, path: Path) -> None:
    """Loop: a raw write may take only part of the chunk; an OSError here is the disk, not the network."""
    view = memoryview(chunk)
    try:
        while view:
            view = view[out.write(view) or 0 :]
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> DataError:
    reason = exc.strerror or exc
    return DataError(
        f"cannot write {path.name.removesuffix('.part').lstrip('.')} in {path.parent} ({reason}); "
        "free disk space there (or point TMPDIR elsewhere) and rerun"
    )


def store(file: Path, dest: Path, source: Source) -> int:
    """Check that `file` holds what the dataset reads, then copy it into `dest`, built aside and swapped in:
    `dest` is either complete or untouched. Archives are read where they lie, never unpacked (no member can write
    outside the project, and the DVC cache holds one file). Returns the files the readers will open in it."""
    files = files_to_read(source, file)

    def fill(staging: Path) -> None:
        try:
            shutil.copyfile(file, staging / file.name)
        except OSError as exc:
            raise _cannot_write(dest / file.name, exc) from None

    replace_dir(dest, fill)
    return files


def download(source: Source, dest: Path, mirror: Path | None) -> tuple[str, int]:
    """Fetch (or take from the mirror, or a local path), verify, store in `dest`: (where from, files to read)."""
    name = source_file_name(source.url)
    with tempfile.TemporaryDirectory(prefix="rnnlab-download-") as tmp:
        if urlparse(source.url).scheme not in ("http", "https"):
            file, expected, origin = Path(source.url), source.sha256, source.url
            if not file.is_file():
                raise DataError(f"{file}: no such file; source.url is an http(s) URL or a path from the repo root")
        elif mirror is not None:
            file, expected, origin = mirror / name, mirror_checksum(mirror, name), f"mirror {mirror}"
            if not file.is_file():
                raise DataError(f"{file}: missing from the mirror {mirror}")
        else:
            file, expected, origin = Path(tmp) / name, source.sha256, source.url
            fetch(source.url, file)
        if expected is not None and (actual := sha256_of(file)) != expected:
            raise DataError(f"{file}: sha256 mismatch (expected {expected}, got {actual})")
        return origin, store(file, dest, source)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    kind = task(params, args.dataset)
    source = kind.settings(params).source
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and not Path(mirror).is_dir():
        raise DataError(f"{MIRROR_ENV}={mirror}: not a folder")
    raw = kind.paths.raw
    origin, files = download(source, raw, Path(mirror) if mirror else None)
    print(f"{kind.stage('download')}: wrote {raw} ({files:,} files to read) from {origin}")


if __name__ == "__main__":
    run_stage(main)
