"""Character-level language models: contiguous splits, every-position training, metrics, generation."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

import benchmarks.generation
import benchmarks.language_model
import stages.generate
import stages.sampling
from stages.data import windows
from stages.evaluate import write_char_predictions
from stages.metrics import language_model_metrics, read_metrics
from stages.params import Corpus, Source
from stages.report import longest_repeat
from stages.sources import corpus_splits
from stages.tokenize import char_vocab
from tests.conftest import make_project, project_env, run, run_main
from tests.test_pipeline import LANGUAGE_MODELS, check_metrics, stages_run

ENV = project_env(None)
CORPUS = Corpus(source=Source(url="x.txt", format="text"), val_fraction=0.1, test_fraction=0.2, seq_len=5)


def test_splits_are_contiguous_blocks_without_overlap():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    splits = corpus_splits(text, CORPUS)
    assert [len(part) for part in splits.values()] == [700, 100, 200]
    assert splits["train"] + splits["val"] + splits["test"] == text


def test_windows_predict_every_next_character():
    x, y = windows(np.arange(12), seq_len=5)
    assert x.tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert y.tolist() == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]


def test_vocab_is_train_characters_after_the_unseen_id():
    assert char_vocab("ba\nab") == ["", "\n", "a", "b"]


def test_metrics_of_a_uniform_and_a_perfect_model():
    targets = np.array([1, 2, 3, 1, 2, 3])
    uniform = language_model_metrics(targets, np.zeros((6, 4)))
    assert uniform["cross_entropy"] == pytest.approx(math.log(4), abs=1e-4)
    assert uniform["perplexity"] == pytest.approx(4, abs=1e-3)
    assert uniform["bits_per_char"] == pytest.approx(2, abs=1e-4)
    perfect = language_model_metrics(targets, np.eye(4)[targets] * 50)
    assert perfect["accuracy"] == perfect["top5_accuracy"] == perfect["f1"] == 1
    assert perfect["cross_entropy"] < 1e-3


def test_char_predictions_name_the_most_frequent_characters_and_pool_the_rest(tmp_path: Path):
    """The confusion plot's rows: actual characters among the most frequent only, rarer guesses as `other`."""
    vocab = ["", " ", *"abcdefghi", "z"]  # <unseen>, <space>, nine letters and a rare `z`: 12 ids
    targets = np.array([1] * 12 + list(range(2, 11)) * 2 + [11])  # <space> and a-i are the 10 most frequent
    guesses = targets.copy()
    guesses[:2] = [11, 2]  # two spaces read as the rare `z` and as `a`
    write_char_predictions(tmp_path / "p.csv", targets, np.eye(12)[guesses], vocab)
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[:3] == ["actual,predicted", "<space>,other", "<space>,a"]
    assert len(rows) == 1 + len(targets) - 1  # every character but the rare `z`


def test_longest_repeat_finds_word_loops():
    assert longest_repeat("to be or not to be") == 1
    assert longest_repeat("and the way the way the way to go") == 3
    assert longest_repeat("no no no no") == 4


@pytest.mark.parametrize(
    ("arch", "hyperparams"),
    [
        ("simple_rnn", {"units": 8}),
        ("stacked_rnn", {"units": 8, "depth": 3, "cell": "lstm"}),
        ("lstm", {"units": 8}),
        ("gru", {"units": 8}),
    ],
)
def test_stepping_one_character_at_a_time_computes_what_the_model_computes(arch: str, hyperparams: dict):
    """Teacher-forcing a window through the step model gives the whole model's logits at every position: the
    samples come from the model that was scored, every layer's state carried."""
    import keras

    from stages.registry import build_language_model

    keras.utils.set_random_seed(0)
    model = build_language_model(arch, hyperparams, vocab_size=12, embedding_dim=4)
    window = np.random.default_rng(0).integers(0, 12, (1, 30)).astype("int32")
    step = stages.sampling.Stepper(model)
    states, stepped = [np.zeros((1, size), "float32") for size in step.state_sizes], []
    for char_id in window[0]:
        logits, *states = step.predict_on_batch([np.array([char_id], "int32"), *states])
        stepped.append(np.asarray(logits)[0])
    assert len(states) == {"simple_rnn": 1, "stacked_rnn": 6, "lstm": 2, "gru": 1}[arch]
    whole = np.asarray(model(window))[0]
    np.testing.assert_allclose(np.array(stepped), whole, atol=1e-5)
    targets = np.roll(window[0], -1)  # the evaluate stage's loss over the window, from either path's logits
    stepped_loss = language_model_metrics(targets, np.array(stepped, np.float64))["cross_entropy"]
    assert stepped_loss == pytest.approx(language_model_metrics(targets, whole.astype(np.float64))["cross_entropy"])


def test_greedy_sample_continues_the_prompt_with_the_models_likeliest_characters():
    """Temperature 0 through the stepping path: each character is the argmax of the whole model's logits
    over the prompt and what came before, id 0 (never seen in training) excluded."""
    import keras

    from stages.registry import build_language_model

    keras.utils.set_random_seed(1)
    vocab = ["", *"abcdefgh"]
    model = build_language_model("stacked_rnn", {"units": 8, "depth": 2, "cell": "lstm"}, len(vocab), 4)
    text = "abc" + stages.sampling.sample(model, vocab, "abc", 12, temperature=0, seed=0)
    assert len(text) == 15
    ids = np.array([[vocab.index(char) for char in text]], "int32")
    logits = np.array(model(ids))[0, 2:-1]
    logits[:, 0] = -np.inf
    assert "".join(vocab[i] for i in logits.argmax(axis=1)) == text[3:]


def test_repro_trains_and_scores_every_language_model(tiny_project: Path):
    stats = json.loads((tiny_project / "data/shakespeare/stats.json").read_text())
    assert stats["train"]["characters"] + stats["val"]["characters"] + stats["test"]["characters"] == 18529
    report = (tiny_project / "reports/shakespeare/report.md").read_text()
    for arch in LANGUAGE_MODELS:
        metrics = check_metrics(tiny_project, "shakespeare", arch)
        assert metrics["bits_per_char"] == pytest.approx(metrics["cross_entropy"] / math.log(2), abs=1e-3)
        assert 0 <= metrics["accuracy"] <= metrics["top5_accuracy"] <= 1
        samples = json.loads((tiny_project / f"reports/shakespeare/samples/{arch}.json").read_text())
        assert set(samples["samples"]) == {"0.3", "0.8"}
        assert all(len(text) == 20 for text in samples["samples"].values())
        assert f"| {arch} |" in report and f"### {arch}" in report
        assert (tiny_project / f"reports/shakespeare/predictions/{arch}.csv").read_text().startswith("actual,predicted")


GENERATE = ["python", "-m", "stages.generate", "--dataset", "shakespeare", "--arch", "gru"]


@pytest.mark.slow  # seconds itself, but handed out early: its setup builds the tiny project most tests share
def test_generation_is_seeded_and_respects_chars(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    def generate(*args: str) -> str:
        argv = [*GENERATE[3:], "--prompt", "KING:\n", *args]
        status, out, _ = run_main(stages.generate.main, argv, tiny_project, monkeypatch, capsys)
        assert status == 0
        return out.removesuffix("\n")

    command = [*GENERATE, "--prompt", "KING:\n", "--chars", "50", "--temperature", "0.8", "--seed", "1"]
    first = run(command, tiny_project, ENV).stdout.removesuffix("\n")
    assert first.startswith("KING:\n") and len(first) == len("KING:\n") + 50
    assert generate("--chars", "50", "--temperature", "0.8", "--seed", "1") == first
    assert generate("--chars", "50", "--temperature", "0.8", "--seed", "2") != first
    greedy = generate("--chars", "30", "--temperature", "0", "--seed", "1")
    assert generate("--chars", "30", "--temperature", "0", "--seed", "9") == greedy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt", "Zürich"], "error: --prompt: characters never seen in training: 'Zü'; use characters of"),
        (["--prompt", ""], "error: --prompt: empty; use characters of the training text"),
        (["--chars", "0"], "error: --chars 0 --temperature 0.8 --seed 1: need 1 <= chars <= 100,000, a temp"),
        (["--chars", "100001"], "error: --chars 100001 --temperature 0.8 --seed 1: need 1 <= chars <= 100,000"),
        (["--seed", "-1"], "error: --chars 20 --temperature 0.8 --seed -1: need 1 <= chars <= 100,000, a tem"),
    ],
)
def test_bad_generate_requests_are_one_line(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, args: list[str], message: str
):
    status, out, err = run_main(stages.generate.main, [*GENERATE[3:], *args], tiny_project, monkeypatch, capsys)
    assert status == 2 and out == ""
    assert err.strip().startswith(message) and len(err.strip().splitlines()) == 1


def test_generate_prints_each_line_while_it_is_still_generating(tiny_project: Path):
    """Streamed, not collected: the prompt's line arrives through a pipe long before the last character."""
    command = [*GENERATE, "--prompt", "KING:\n", "--chars", "100000", "--temperature", "0.8"]
    buffered = {key: value for key, value in ENV.items() if key != "PYTHONUNBUFFERED"}  # as a user's shell
    process = subprocess.Popen(command, cwd=tiny_project, env=buffered, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "KING:\n"
        assert process.stdout.readline().endswith("\n")
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_generation_benchmark_times_both_paths_and_the_command(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    argv = ["--chars", "20", "--window-chars", "5", "--arch", "stacked_rnn"]  # every layer's state carried
    status, out, _ = run_main(benchmarks.generation.main, argv, tiny_project, monkeypatch, capsys)
    assert status == 0
    rows = {cells[0]: cells[1:] for line in out.splitlines() if (cells := line.strip("| ").split(" | "))[1:]}
    assert set(rows) == {"model", "---", "stacked_rnn"}
    window, stepped, ratio, seconds = (float(cell.replace(",", "")) for cell in rows["stacked_rnn"])
    assert window > 0 and stepped > 0 and ratio > 0 and seconds > 0


def test_language_model_benchmark_prints_the_committed_runs_table(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    status, out, _ = run_main(benchmarks.language_model.main, ["--committed"], tiny_project, monkeypatch, capsys)
    assert status == 0
    rows = [line.strip("| ").split(" | ") for line in out.splitlines() if line.startswith("| ")][2:]
    assert sorted(row[0] for row in rows) == sorted(LANGUAGE_MODELS)
    for arch, val_loss, bits, *_ in rows:
        summary = json.loads((tiny_project / f"data/shakespeare/models/{arch}.json").read_text())
        assert float(val_loss) == pytest.approx(summary["val_loss"], abs=1e-4)
        assert float(bits) == pytest.approx(summary["val_loss"] / math.log(2), abs=1e-4)


def test_generate_refuses_a_classification_dataset(
    tiny_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    argv = ["--dataset", "imdb", "--arch", "gru"]
    status, out, err = run_main(stages.generate.main, argv, tiny_project, monkeypatch, capsys)
    assert (status, out) == (2, "")
    assert "generate needs one of the corpora" in err


@pytest.mark.slow
def test_real_shakespeare_through_the_mirror(tmp_path: Path, shared_data: Path):
    """The real 1.1 MB text, its real checksum, one small model for one epoch."""
    changes = {"language_models": {"gru": {"units": 32}}, "lm_train.epochs": 1, "generate.chars": 40}
    project = make_project(tmp_path / "project", shared_data, changes)
    result = run(["dvc", "repro", "lm_report@shakespeare"], project, project_env(shared_data))
    assert stages_run(result.stdout) == {
        "lm_download@shakespeare",
        "lm_tokenize@shakespeare",
        "lm_train@shakespeare-gru",
        "lm_evaluate@shakespeare-gru",
        "lm_report@shakespeare",
    }
    stats = json.loads((project / "data/shakespeare/stats.json").read_text())
    assert stats["vocab_size"] == 66  # 65 characters in train, plus the unseen id
    assert sum(stats[split]["characters"] for split in ("train", "val", "test")) == 1_115_394
    metrics = read_metrics(project / "metrics/shakespeare/gru.json")
    assert metrics["cross_entropy"] < math.log(65)  # better than uniform after one epoch
    assert metrics["characters"] == stats["test"]["windows"] * 100
