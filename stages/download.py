"""Stage `download`: fetch the IMDB archive, verify its sha256, extract it safely and atomically.

With RNNLAB_DATA_MIRROR set to a folder, the archive is read from there by its canonical
file name and verified against that folder's SHA256SUMS instead of the network.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from tqdm import tqdm

from stages import run_stage
from stages.data import RAW_DIR, DataError
from stages.params import load_params

MIRROR_ENV = "RNNLAB_DATA_MIRROR"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def archive_name(url: str) -> str:
    """The canonical file name, the last part of the URL's path."""
    return PurePosixPath(urlparse(url).path).name


def mirror_checksum(mirror: Path, filename: str) -> str:
    """The sha256 the mirror's SHA256SUMS (sha256sum format) lists for `filename`."""
    sums = mirror / "SHA256SUMS"
    if not sums.is_file():
        raise DataError(f"{sums}: missing; a mirror folder needs a SHA256SUMS file in sha256sum format")
    for line in sums.read_text().splitlines():
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
                        f"folder holding {archive_name(url)} and its SHA256SUMS"
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
            tqdm(total=total, unit="B", unit_scale=True, desc=archive_name(url)) as bar,
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


def extract(archive: Path, dest: Path) -> int:
    """Extract with tarfile's `data` filter (no absolute paths, `..`, links out, or devices)
    into a temporary sibling, then swap it in: `dest` is either complete or untouched."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        staging = Path(tmp) / "extracted"
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except tarfile.FilterError as exc:
            raise DataError(f"{archive}: refused unsafe archive member: {exc}") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(f"{archive}: cannot extract: {exc}") from None
        files = sum(1 for p in staging.rglob("*") if p.is_file())
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    return files


def download(url: str, sha256: str, dest: Path, mirror: Path | None) -> tuple[str, int]:
    """Fetch (or take from the mirror), verify, extract into `dest`: (where from, files extracted)."""
    name = archive_name(url)
    with tempfile.TemporaryDirectory(prefix="rnnlab-download-") as tmp:
        if mirror is not None:
            archive, expected, source = mirror / name, mirror_checksum(mirror, name), f"mirror {mirror}"
            if not archive.is_file():
                raise DataError(f"{archive}: missing from the mirror {mirror}")
        else:
            archive, expected, source = Path(tmp) / name, sha256, url
            fetch(url, archive)
        actual = sha256_of(archive)
        if actual != expected:
            raise DataError(f"{archive}: sha256 mismatch (expected {expected}, got {actual})")
        return source, extract(archive, dest)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and not Path(mirror).is_dir():
        raise DataError(f"{MIRROR_ENV}={mirror}: not a folder")
    source, files = download(params.download.url, params.download.sha256, RAW_DIR, Path(mirror) if mirror else None)
    print(f"download: wrote {RAW_DIR} ({files:,} files) from {source}")


if __name__ == "__main__":
    run_stage(main)
