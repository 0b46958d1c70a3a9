"""The short-texts benchmark: IMDB's star ratings over each review's first words, every model with the defaults."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

import benchmarks.short_texts
from benchmarks.short_texts import short_text_rows
from tests.conftest import ROOT, run_main


def test_a_row_is_a_reviews_first_words_and_its_star_class(tmp_path: Path):
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in [
            ("test/pos/9_10.txt", "A masterpiece of its kind"),
            ("train/neg/3_1.txt", "Awful.<br /><br />Truly, deeply awful film"),
            ("train/unsup/7_0.txt", "Unlabelled"),
            ("train/pos/5_8.txt", "Good"),
            ("test/neg/4_4.txt", "Not great"),
        ]:
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    assert list(short_text_rows(archive, 4)) == [
        {"text": "Awful Truly deeply awful", "label": "1-2", "split": "train"},
        {"text": "Good", "label": "7-8", "split": "train"},
        {"text": "Not great", "label": "3-4", "split": "test"},
        {"text": "A masterpiece of its", "label": "9-10", "split": "test"},
    ]


@pytest.mark.slow
def test_short_texts_benchmark_scores_the_baseline_and_the_named_architectures(
    fake_mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """On the fake mirror (stars 2 and 7 only: two of the four classes), through real `dvc repro` stages."""
    monkeypatch.setenv("RNNLAB_DATA_MIRROR", str(fake_mirror))
    monkeypatch.chdir(ROOT)
    benchmarks.short_texts.main(["--words", "12", "--architectures", "gru"])
    lines = capsys.readouterr().out.splitlines()
    assert "Command: `python -m benchmarks.short_texts --words 12 --architectures gru`" in lines
    header = lines.index("| model | test accuracy | macro F1 | seconds |")
    rows = [line.strip("|").split("|") for line in lines[header + 2 :]]
    assert [row[0].strip() for row in rows] == ["baseline (TF-IDF + logistic regression)", "gru"]
    for _, accuracy, f1, seconds in rows:
        assert 0 < float(accuracy) <= 1 and 0 <= float(f1) <= 1 and float(seconds) > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--words", "0"], "error: --words 0: need 1 or more"),
        (["--architectures", "nosuch"], "error: --architectures nosuch: not in params.yaml"),
    ],
)
def test_short_texts_benchmark_refuses_bad_arguments_in_one_line(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    code, out, _ = run_main(benchmarks.short_texts.main, argv, ROOT, monkeypatch, capsys)
    assert str(code).startswith(message) and out == ""
