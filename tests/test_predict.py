"""Predict: tokenizes exactly as training did, batches, and fails in one line on bad requests."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import stages.predict
from stages import UserError
from stages.params import load_params
from stages.predict import Predictor
from stages.sources import load_splits
from stages.task import Paths
from tests.conftest import TINY, make_project, project_env, run, run_main

ENV = project_env(None)


def test_predictions_match_the_evaluate_stage(tiny_project: Path, monkeypatch: pytest.MonkeyPatch):
    """Same texts, same probabilities as evaluate@imdb-lstm computed from the tokenized arrays, which the
    lstm (train.max_len 16) reads cut to its last 16 of 32 tokens."""
    monkeypatch.chdir(tiny_project)
    assert json.loads(Path("data/imdb/models/lstm.json").read_text())["max_len"] == 16
    splits, classes = load_splits(load_params().datasets["imdb"], Paths("imdb").raw, seed=0)
    probabilities = Predictor("imdb", "lstm").probabilities(splits["test"][0])
    with open("reports/imdb/predictions/lstm.csv") as f:
        rows = list(csv.DictReader(f))
    np.testing.assert_allclose(probabilities.max(axis=1), [float(row["probability"]) for row in rows], atol=6e-5)
    assert [classes[i] for i in probabilities.argmax(axis=1)] == [row["predicted"] for row in rows]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_text_without_words_is_encoded_as_in_training(tiny_project: Path, monkeypatch: pytest.MonkeyPatch):
    """Training turns a review with no words into one <oov> token; so must predict."""
    monkeypatch.chdir(tiny_project)
    no_words, unknown_word = Predictor("imdb", "lstm").probabilities(["!!! ...", "qqqzzzxx"])
    np.testing.assert_allclose(no_words, unknown_word, rtol=1e-6)


def test_cli_arguments_stdin_and_file(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """Arguments through a real process; --file and stdin in-process, where they must print the same lines."""
    command = ["python", "-m", "stages.predict", "--dataset", "imdb", "--arch", "gru"]
    from_args = run([*command, "An absolute delight.", "Two hours I will never get back."], tiny_project, ENV)
    lines = [json.loads(line) for line in from_args.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["An absolute delight.", "Two hours I will never get back."]
    for line in lines:
        assert line["label"] in {"neg", "pos"}
        assert set(line["probabilities"]) == {"neg", "pos"}
        assert line["label"] == max(line["probabilities"], key=line["probabilities"].get)
        assert line["model"] == "data/imdb/models/gru.keras"
    (tmp_path / "texts.txt").write_text("An absolute delight.\n\nTwo hours I will never get back.\n")
    argv = command[3:]
    from_file = run_main(
        stages.predict.main, [*argv, "--file", str(tmp_path / "texts.txt")], tiny_project, monkeypatch, capsys
    )
    stdin = "An absolute delight.\nTwo hours I will never get back.\n"
    from_stdin = run_main(stages.predict.main, argv, tiny_project, monkeypatch, capsys, stdin=stdin)
    assert from_file[1] == from_args.stdout == from_stdin[1]


def test_cli_lines_end_at_newline_only_and_every_output_line_is_json(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """Bytes that are not UTF-8 become U+FFFD, a form feed or U+2028 stays inside its text, a CRLF ends a line,
    and every output line is UTF-8 JSON that even a reader splitting on U+2028 sees whole; stdin (a real process,
    whose stdin is bytes) and --file alike."""
    data = b"great film \xff\xfe here\n" + "one\u2028text\x0cstill\r\n".encode() + b"\n"
    (tmp_path / "texts.txt").write_bytes(data)
    command = ["python", "-m", "stages.predict", "--dataset", "imdb", "--arch", "gru"]
    from_stdin = subprocess.run(command, cwd=tiny_project, env=ENV, input=data, capture_output=True, check=True).stdout
    from_file = run_main(
        stages.predict.main, [*command[3:], "--file", str(tmp_path / "texts.txt")], tiny_project, monkeypatch, capsys
    )
    assert from_stdin.decode("utf-8") == from_file[1]
    lines = from_stdin.decode("utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["great film \ufffd\ufffd here", "one\u2028text\x0cstill"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "gru"], "error: no texts given: pass them as arguments, one per line on stdin, or with --file"),
        (["--arch", "gru", "", " "], "error: no texts given: pass them as arguments"),
        (
            ["--dataset", "yelp", "--arch", "gru", "ok"],
            "error: --dataset yelp: not in params.yaml datasets; allowed: imdb",
        ),
        (["--arch", "transformer", "ok"], "error: --arch transformer: not in params.yaml architectures; allowed:"),
    ],
)
def test_cli_bad_requests_are_one_line(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, args: list[str], message: str
):
    status, out, err = run_main(stages.predict.main, args, tiny_project, monkeypatch, capsys)
    assert status == 2 and out == ""
    assert err.strip().startswith(message) and len(err.strip().splitlines()) == 1


def test_untrained_model_is_a_clear_error(tmp_path: Path, fake_mirror: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(make_project(tmp_path / "project", fake_mirror, TINY))
    with pytest.raises(UserError, match=r"data/imdb/models/gru\.keras: missing; run `dvc repro train@imdb-gru` first"):
        Predictor("imdb", "gru")
