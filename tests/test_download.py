"""Download: mirror, checksums, safe and atomic extraction, and the offline message."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

import stages.download
from stages.data import DataError, source_file_name
from stages.download import MIRROR_ENV, download, fetch, mirror_checksum, unpack
from stages.params import Source
from tests import fakes
from tests.conftest import edit_params, make_project, project_env, run, run_main

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
CANONICAL = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB = Source(url=URL, sha256=CANONICAL, format="folders", path="aclImdb", classes=["neg", "pos"])  # as params.yaml


def test_file_name_is_the_url_or_path_file_name():
    assert source_file_name(URL) == "aclImdb_v1.tar.gz"
    assert source_file_name("inputs/my data.csv") == "my data.csv"


def test_mirror_extracts_into_destination(fake_mirror: Path, tmp_path: Path):
    source, files = download(IMDB, tmp_path / "raw", fake_mirror)
    assert source == f"mirror {fake_mirror}"
    assert files == 240
    assert len(list((tmp_path / "raw/aclImdb/train/pos").glob("*.txt"))) == 60


def test_mirror_checksum_mismatch_leaves_nothing(tmp_path: Path):
    mirror = fakes.imdb_mirror(tmp_path / "mirror")
    (mirror / "SHA256SUMS").write_text(f"{'0' * 64}  {fakes.ARCHIVE}\n")
    with pytest.raises(DataError, match=r"aclImdb_v1.tar.gz: sha256 mismatch \(expected 0+, got [0-9a-f]{64}\)"):
        download(IMDB, tmp_path / "raw", mirror)
    assert not (tmp_path / "raw").exists()


def test_mirror_without_an_entry(tmp_path: Path):
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  other.tar.gz\n")
    with pytest.raises(DataError, match=r"SHA256SUMS: no entry for aclImdb_v1\.tar\.gz"):
        mirror_checksum(tmp_path, "aclImdb_v1.tar.gz")


def tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("aclImdb/ok.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escape.txt"),
        link("aclImdb/symlink", "/etc/passwd", tarfile.SYMTYPE),
        link("aclImdb/hardlink", "../../outside.txt", tarfile.LNKTYPE),
    ],
    ids=["parent-path", "symlink-outside", "hardlink-outside"],
)
def test_unsafe_members_are_refused_and_destination_untouched(tmp_path: Path, member: tarfile.TarInfo):
    dest = tmp_path / "out" / "raw"
    dest.mkdir(parents=True)
    (dest / "previous.txt").write_text("kept")
    with pytest.raises(DataError, match="refused unsafe archive member"):
        unpack(tar_with(tmp_path / "evil.tar.gz", member), dest)
    assert [p.name for p in dest.iterdir()] == ["previous.txt"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["raw"]  # no staging folder left
    assert not (tmp_path / "escape.txt").exists()


def test_absolute_member_lands_inside_destination(tmp_path: Path):
    unpack(tar_with(tmp_path / "abs.tar.gz", tarfile.TarInfo("/tmp/absolute.txt")), tmp_path / "raw")
    assert (tmp_path / "raw/tmp/absolute.txt").is_file()


def test_an_empty_archive_is_a_clear_error(tmp_path: Path):
    tarfile.open(tmp_path / "empty.tar.gz", "w:gz").close()
    with pytest.raises(DataError, match=r"empty\.tar\.gz: no file in the archive; source\.path"):
        unpack(tmp_path / "empty.tar.gz", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_corrupt_archive_is_a_clear_error(tmp_path: Path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(fakes.imdb_archive(tmp_path / "good.tar.gz").read_bytes()[:500])
    with pytest.raises(DataError, match=r"bad\.tar\.gz: cannot extract"):
        unpack(archive, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def canonical_imdb(path: Path) -> Path:
    """aclImdb's real layout: labelled reviews beside what no reader opens (unlabelled reviews, bag-of-words
    files, the vocabulary), some under a `./` prefix as some tar tools write them."""
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as tar:
        for name in [
            "aclImdb/README",
            "aclImdb/imdb.vocab",
            "./aclImdb/train/labeledBow.feat",
            "aclImdb/train/unsup/0_0.txt",
            "aclImdb/train/neg/0_2.txt",
            "./aclImdb/train/pos/0_9.txt",
            "aclImdb/test/neg/0_1.txt",
            "aclImdb/test/pos/0_8.txt",
        ]:
            member = tarfile.TarInfo(name)
            member.size = len(name)
            tar.addfile(member, io.BytesIO(name.encode()))
    fakes.write_sums(path.parent)
    return path


def test_only_what_the_dataset_reads_is_extracted(tmp_path: Path):
    """IMDB's archive holds 50,000 unlabelled reviews and bag-of-words files beside the 50,000 it reads."""
    mirror = canonical_imdb(tmp_path / "mirror" / fakes.ARCHIVE).parent
    assert download(IMDB, tmp_path / "raw", mirror)[1] == 4
    kept = sorted(str(p.relative_to(tmp_path / "raw")) for p in (tmp_path / "raw").rglob("*") if p.is_file())
    assert kept == [
        "aclImdb/test/neg/0_1.txt",
        "aclImdb/test/pos/0_8.txt",
        "aclImdb/train/neg/0_2.txt",
        "aclImdb/train/pos/0_9.txt",
    ]
    every_class = IMDB.model_copy(update={"classes": None})  # then every folder under train/ is a class
    assert download(every_class, tmp_path / "raw", mirror)[1] == 6  # + unsup/0_0.txt, train/labeledBow.feat


def test_a_path_the_archive_lacks_is_one_line_and_leaves_nothing(
    in_project: Path, fake_mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    archive = str(fake_mirror / fakes.ARCHIVE)  # a local path: run_main leaves the mirror setting out
    source = {"url": archive, "sha256": None, "path": "imdb"}
    edit_params(in_project, {f"datasets.imdb.source.{key}": value for key, value in source.items()})
    status, out, err = run_main(stages.download.main, ["--dataset", "imdb"], in_project, monkeypatch, capsys)
    assert status == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(
        "aclImdb_v1.tar.gz: no file under imdb/train/neg, imdb/train/pos, imdb/test/neg, imdb/test/pos in the "
        "archive; source.path (and, for folders, source.classes) name what to read in it"
    )
    assert not (in_project / "data/imdb/raw").exists()


def test_a_table_is_taken_alone_from_a_zip(tmp_path: Path):
    table = fakes.topics_csv(tmp_path / "in" / "topics.csv", {"sports": 2, "cooking": 2})
    with zipfile.ZipFile(tmp_path / "news.zip", "w") as archive:
        archive.write(table, "news/topics.csv")
        archive.writestr("news/images/logo.png", b"not read")
    source = Source(url=str(tmp_path / "news.zip"), format="csv", path="news/topics.csv")
    assert download(source, tmp_path / "raw", None)[1] == 1
    assert (tmp_path / "raw/news/topics.csv").read_bytes() == table.read_bytes()


def test_local_file_is_copied_and_its_checksum_checked(tmp_path: Path):
    table = fakes.topics_csv(tmp_path / "in" / "topics.csv", {"sports": 2, "cooking": 2})
    source, files = download(Source(url=str(table), format="csv"), tmp_path / "raw", None)
    assert (source, files) == (str(table), 1)
    assert (tmp_path / "raw/topics.csv").read_bytes() == table.read_bytes()
    wrong = Source(url=str(table), format="csv", sha256="0" * 64)
    with pytest.raises(DataError, match=r"topics\.csv: sha256 mismatch \(expected 0+, got [0-9a-f]{64}\)"):
        download(wrong, tmp_path / "raw2", None)
    assert not (tmp_path / "raw2").exists()
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file; source\.url is an http\(s\) URL or a path"):
        download(Source(url="nowhere.csv", format="csv"), tmp_path / "raw3", None)


def test_unreachable_url_says_how_to_set_the_mirror(tmp_path: Path):
    with pytest.raises(
        DataError, match=rf"cannot download http://127.0.0.1:9/x.tar.gz .*set {MIRROR_ENV} to a folder holding x.tar.gz"
    ):
        fetch("http://127.0.0.1:9/x.tar.gz", tmp_path / "x.tar.gz", attempts=1)


def test_cli_offline_without_mirror_is_one_line(tmp_path: Path):
    project = make_project(
        tmp_path / "project", None, {"datasets.imdb.source.url": "http://127.0.0.1:9/aclImdb_v1.tar.gz"}
    )
    result = run(["python", "-m", "stages.download", "--dataset", "imdb"], project, project_env(None), check=False)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert MIRROR_ENV in line
    assert not (project / "data/imdb/raw").exists()


def test_a_file_named_tar_gz_that_is_no_archive_is_one_line(tmp_path: Path):
    (tmp_path / "fake.tar.gz").write_text("<html>not found</html>\n")
    with pytest.raises(DataError) as error:
        unpack(tmp_path / "fake.tar.gz", tmp_path / "raw")
    assert str(error.value) == f"{tmp_path}/fake.tar.gz: cannot extract: not a tar archive (plain, gzip, bzip2 or xz)"
    assert not (tmp_path / "raw").exists()


def test_cli_mirror_with_a_checksum_file_that_is_not_utf8_is_one_line(tmp_path: Path, fake_mirror: Path):
    mirror = tmp_path / "mirror"
    shutil.copytree(fake_mirror, mirror)
    (mirror / "SHA256SUMS").write_bytes(b"\xff\xfe" + (fake_mirror / "SHA256SUMS").read_bytes())
    project = make_project(tmp_path / "project", None, {})
    result = run(["python", "-m", "stages.download", "--dataset", "imdb"], project, project_env(mirror), check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {mirror}/SHA256SUMS: byte 0xff is not UTF-8; expected sha256sum's output\n"
    assert not (project / "data/imdb/raw").exists()
