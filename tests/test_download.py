"""Download: mirror, checksums, what an archive must hold, atomic storing, and the offline message."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

import stages.download
from stages.data import DataError
from stages.download import MIRROR_ENV, download, fetch, mirror_checksum
from stages.params import Source
from stages.sources import folder_documents, read_records, source_file_name
from tests import fakes
from tests.conftest import edit_params, make_project, project_env, run, run_main

URL = fakes.IMDB_URL
CANONICAL = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB = fakes.IMDB.model_copy(update={"sha256": CANONICAL})  # as params.yaml


def local_imdb(archive: Path) -> Source:
    """IMDB's source, read from a local archive without a checksum."""
    return IMDB.model_copy(update={"url": str(archive), "sha256": None})


def test_file_name_is_the_url_or_path_file_name():
    assert source_file_name(URL) == "aclImdb_v1.tar.gz"
    assert source_file_name("inputs/my data.csv") == "my data.csv"


def test_mirror_archive_is_stored_as_it_is_and_read_where_it_lies(fake_mirror: Path, tmp_path: Path):
    source, files = download(IMDB, tmp_path / "raw", fake_mirror)
    assert (source, files) == (f"mirror {fake_mirror}", 240)
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [fakes.ARCHIVE]
    assert (tmp_path / "raw" / fakes.ARCHIVE).read_bytes() == (fake_mirror / fakes.ARCHIVE).read_bytes()
    records = list(read_records(IMDB, tmp_path / "raw"))
    assert len(records) == 240 and sum(label == "pos" and split == "train" for split, _, label in records) == 60


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


def tar_with(path: Path, member: tarfile.TarInfo, data: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "name", ["../escape/train/neg/0_1.txt", "/tmp/escape/train/neg/0_1.txt"], ids=["parent-path", "absolute"]
)
def test_members_are_read_never_written(tmp_path: Path, name: str):
    """Nothing is unpacked: a member named to land outside the project is only ever bytes in memory."""
    archive = tar_with(tmp_path / "evil.tar.gz", tarfile.TarInfo(name), b"bad")
    root = "../escape" if name.startswith("..") else "/tmp/escape"
    assert list(folder_documents(archive, root, None)) == [("train", "neg", "0_1.txt", "bad")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]
    assert not Path("/tmp/escape").exists()


def test_an_empty_archive_is_a_clear_error(tmp_path: Path):
    tarfile.open(tmp_path / "empty.tar.gz", "w:gz").close()
    with pytest.raises(DataError, match=r"empty\.tar\.gz: no aclImdb/train/ in the archive; the folders format"):
        download(local_imdb(tmp_path / "empty.tar.gz"), tmp_path / "raw", None)
    assert not (tmp_path / "raw").exists()


def test_corrupt_archive_is_a_clear_error(tmp_path: Path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(fakes.imdb_archive(tmp_path / "good.tar.gz").read_bytes()[:500])
    with pytest.raises(DataError, match=r"bad\.tar\.gz: cannot read"):
        download(local_imdb(archive), tmp_path / "raw", None)
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


def test_only_what_the_dataset_reads_is_read(tmp_path: Path):
    """IMDB's archive holds 50,000 unlabelled reviews and bag-of-words files beside the 50,000 it reads."""
    mirror = canonical_imdb(tmp_path / "mirror" / fakes.ARCHIVE).parent
    assert download(IMDB, tmp_path / "raw", mirror)[1] == 4
    documents = [
        document[:3] for document in folder_documents(tmp_path / "raw" / fakes.ARCHIVE, "aclImdb", IMDB.classes)
    ]
    assert documents == [
        ("train", "neg", "0_2.txt"),
        ("train", "pos", "0_9.txt"),
        ("test", "neg", "0_1.txt"),
        ("test", "pos", "0_8.txt"),
    ]
    every_class = IMDB.model_copy(update={"classes": None})  # then every folder under train/ is a class: unsup too
    with pytest.raises(DataError, match=r"no aclImdb/test/unsup/ in the archive; expected .* classes neg, pos, unsup"):
        download(every_class, tmp_path / "raw2", mirror)


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
        "aclImdb_v1.tar.gz: no imdb/train/ in the archive; the folders format expects <split>/<class>/*.txt"
    )
    assert not (in_project / "data/imdb/raw").exists()


def test_a_table_is_read_from_a_zip_and_a_missing_one_is_named(tmp_path: Path):
    table = fakes.topics_csv(tmp_path / "in" / "topics.csv", {"sports": 2, "cooking": 2})
    with zipfile.ZipFile(tmp_path / "news.zip", "w") as archive:
        archive.write(table, "news/topics.csv")
        archive.writestr("news/images/logo.png", b"not read")
    source = Source(
        url=str(tmp_path / "news.zip"), format="csv", path="news/topics.csv", text_column="body", label_column="topic"
    )
    assert download(source, tmp_path / "raw", None)[1] == 1
    assert [label for _, _, label in read_records(source, tmp_path / "raw")] == ["sports"] * 2 + ["cooking"] * 2
    missing = source.model_copy(update={"path": "news/other.csv"})
    with pytest.raises(DataError, match=r"news\.zip: no file news/other\.csv in the archive; source\.path names"):
        download(missing, tmp_path / "raw2", None)
    assert not (tmp_path / "raw2").exists()


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
        download(local_imdb(tmp_path / "fake.tar.gz"), tmp_path / "raw", None)
    assert str(error.value) == f"{tmp_path}/fake.tar.gz: cannot read: not a tar archive (plain, gzip, bzip2 or xz)"
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
