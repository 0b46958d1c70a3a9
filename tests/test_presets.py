"""Notebook-faithful presets and the training switches they use: mask, bucketing, early stopping, clipping,
and the optimizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

import benchmarks.backends
import benchmarks.notebooks
from benchmarks.notebooks import preset_architectures
from stages.batching import LengthBatches, bucket_width
from stages.metrics import read_metrics
from stages.optimizers import LazyAdam
from stages.params import ParamsError, classifier_train, read_yaml, validate
from stages.presets import apply_overrides, epoch_cap, load_preset, override_args
from stages.registry import build_model
from stages.train import fit, learning_rate
from tests.conftest import ROOT, TINY, make_project, project_env, run, run_main


def test_presets_are_valid_and_name_their_architectures(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    first, second = load_preset("notebook_64"), load_preset("notebook_128")
    assert first["datasets.imdb.tokenize.max_len"] == 500 and first["train.mask"] is False
    assert first["train.embedding_dropout"] == second["train.embedding_dropout"] == 0.0  # the notebooks had none
    assert {key.split(".")[1] for key in first if key.startswith("architectures.")} == {
        "simple_rnn",
        "stacked_rnn",
        "bi_rnn",
        "cnn_rnn",
    }
    assert second["architectures.gru.units"] == 128 and second["train.batch_size"] == 32
    assert override_args({"train.mask": False, "train.clipnorm": 0.0}) == [
        "-S",
        "train.mask=false",
        "-S",
        "train.clipnorm=0.0",
    ]


@pytest.mark.parametrize("preset", ["notebook_64", "notebook_128"])
def test_presets_train_every_architecture_they_name_with_their_train_settings(
    preset: str, monkeypatch: pytest.MonkeyPatch
):
    """An architecture's own `train:` overrides in params.yaml (say, a wider embedding) must not leak into
    the notebooks' configuration: the preset resets them."""
    monkeypatch.chdir(ROOT)
    overrides = load_preset(preset)
    params = validate(apply_overrides(read_yaml(ROOT / "params.yaml"), overrides))
    shared = {key.removeprefix("train."): value for key, value in overrides.items() if key.startswith("train.")}
    for arch in preset_architectures()[preset]:
        settings = classifier_train(params, arch).model_dump()
        assert {key: settings[key] for key in shared} == shared, arch


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("train.epochz: 5\n", "presets/bad.yaml: train.epochz: unknown key"),
        ("trian.epochs: 5\n", "presets/bad.yaml: trian.epochs: trian is not in params.yaml"),
        ("train.mask: 0\n", "presets/bad.yaml: train.mask: Input should be a valid boolean (got 0)"),
        ("train: {epochs: 5}\n", "presets/bad.yaml: expected a flat mapping of dotted params keys to plain values"),
    ],
)
def test_a_bad_preset_fails_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset: str, expected: str):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets/bad.yaml").write_text(preset)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamsError) as error:
        load_preset("bad")
    assert str(error.value) == expected


def test_unknown_preset_cli_lists_the_presets():
    result = run(["python", "-m", "stages.presets", "--preset", "notebooks"], ROOT, project_env(None), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --preset notebooks: no presets/notebooks.yaml; "
        "allowed: defaults_2026_12, notebook_128, notebook_64, quick"
    )


def test_apply_overrides_leaves_the_original_alone():
    base = {"train": {"epochs": 6}}
    assert apply_overrides(base, {"train.epochs": 5}) == {"train": {"epochs": 5}}
    assert base == {"train": {"epochs": 6}}


@pytest.mark.parametrize(("pre_padded", "step"), [(False, 32), (True, 32), (False, 16), (True, 48)])
def test_length_batches_cover_every_row_once_cut_to_their_longest(pre_padded: bool, step: int):
    """Widths are the longest document rounded up to a multiple of `width_step`, at most the padded width."""
    lengths = np.array([3, 40, 7, 64, 1, 33, 5, 64, 20, 2, 9, 50])
    x = np.zeros((len(lengths), 64), dtype=np.int32)
    for row, length in enumerate(lengths):
        tokens = np.arange(1, length + 1) + 100 * row
        if pre_padded:
            x[row, 64 - length :] = tokens
        else:
            x[row, :length] = tokens
    y = np.arange(len(lengths))
    batches = LengthBatches(x, y, lengths, batch_size=5, pre_padded=pre_padded, seed=0, width_step=step)
    for _ in range(2):  # two epochs, regrouped in between
        seen = []
        for index in range(len(batches)):
            xb, yb = batches[index]
            longest = lengths[yb].max()
            assert xb.shape[1] == min(64, max(step, -(-longest // step) * step))
            for row, label in zip(xb, yb, strict=True):  # every real token survived the cut
                assert np.count_nonzero(row) == lengths[label]
            seen.extend(yb.tolist())
        assert sorted(seen) == y.tolist() and len(batches) == 3
        batches.on_epoch_end()


@pytest.mark.parametrize(
    ("configured", "backend", "expected"),
    [(0, "jax", 128), (0, "tensorflow", 32), (0, "torch", 32), (64, "jax", 64), (16, "tensorflow", 16)],
)
def test_bucket_width_zero_picks_a_coarse_grid_for_jax_only(configured: int, backend: str, expected: int):
    """JAX compiles every batch width, so the default grid is coarser there; a set width is kept as is."""
    assert bucket_width(configured, backend) == expected


def test_bucketed_batches_train_when_nearly_all_reviews_fill_max_len():
    """TensorFlow fixes the input signature from the first two batches; one short batch among full-width
    ones must still fit, in every epoch."""
    lengths = np.full(40, 64)
    lengths[[5, 17, 23, 31]] = 3  # sorted into one batch of width 32 among nine of width 64
    x = (np.arange(64) < lengths[:, None]).astype(np.int32) * 7
    y = np.arange(40) % 2
    batches = LengthBatches(x, y, lengths, batch_size=4, pre_padded=False, seed=0, width_step=32)
    assert [batches[i][0].shape[1] for i in range(2)] == [64, 32]
    keras.utils.set_random_seed(0)
    model = build_model("gru", {"units": 4, "dropout": 0.0}, vocab_size=10, embedding_dim=4)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(batches, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_masked_model_scores_a_bucketed_batch_as_the_full_padding():
    """Cutting a batch to its longest review changes nothing for a masked model: bucketing is only speed."""
    keras.utils.set_random_seed(0)
    model = build_model("gru", {"units": 8, "dropout": 0.0}, vocab_size=50, embedding_dim=8)
    x = np.zeros((3, 96), dtype=np.int32)
    x[0, :10], x[1, :30], x[2, :5] = 7, 9, 11
    batches = LengthBatches(
        x, np.arange(3), np.array([10, 30, 5]), batch_size=3, pre_padded=False, seed=0, width_step=32
    )
    cut, rows = batches[0]
    assert cut.shape == (3, 32)
    np.testing.assert_allclose(model.predict(cut, verbose=0), model.predict(x[rows], verbose=0), atol=1e-5)


def test_unmasked_model_sees_the_padding():
    keras.utils.set_random_seed(0)
    model = build_model("gru", {"units": 8, "dropout": 0.0}, vocab_size=50, embedding_dim=8, mask=False)
    assert model.get_layer("embedding").mask_zero is False
    short = np.array([[5, 6, 7, 8]], dtype=np.int32)
    assert not np.allclose(model.predict(short, verbose=0), model.predict(np.pad(short, ((0, 0), (4, 0))), verbose=0))


def test_fit_traces_its_training_step_once_and_trains_as_keras_does():
    """The stage's `fit` makes the metric's and the optimizer's variables before the first step, which
    TensorFlow would otherwise trace twice; the weights come out as from Keras's own compile and fit."""
    params = validate(read_yaml(ROOT / "params.yaml"))
    settings = classifier_train(params, "gru").model_copy(
        update={"epochs": 2, "early_stopping": False, "batch_size": 16}
    )
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 50, (64, 12)), rng.integers(0, 2, 64)
    data = {"train": (x, y), "val": (x[:16], y[:16])}

    def counted(traces: list[int]) -> keras.Model:
        keras.utils.set_random_seed(0)
        model = build_model("gru", {"units": 4, "dropout": 0.0}, vocab_size=50, embedding_dim=8)
        step = model.train_step
        model.train_step = lambda batch: traces.append(1) or step(batch)
        return model

    traces = []
    model, summary = fit(
        lambda: counted(traces),
        "binary_crossentropy",
        keras.metrics.BinaryAccuracy,
        settings,
        data,
        "train@tiny-gru",
        [],
    )
    assert len(traces) == 1 and summary["epochs"] == 2
    reference = counted([])
    reference.compile(
        keras.optimizers.Adam(learning_rate(settings, data["train"]), clipnorm=settings.clipnorm),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    reference.fit(x, y, batch_size=16, epochs=2, validation_data=data["val"], verbose=0)
    for ours, keras_own in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(ours, keras_own, rtol=1e-6, atol=1e-7)


def embedding_model_steps(optimizer: keras.optimizers.Optimizer, batches: list[np.ndarray]) -> list[np.ndarray]:
    """The weights and the optimizer's state of a tiny embedding model after one step per batch (TensorFlow,
    so the embedding's gradient arrives as rows)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(6, 4)])
    model.add(keras.layers.GlobalAveragePooling1D())
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    for x in batches:
        model.train_on_batch(x, np.ones((len(x), 1), "float32"))
    return [*model.get_weights(), *(np.array(variable) for variable in optimizer.variables)]


def test_cosine_schedule_decays_the_rate_to_zero_over_every_step_of_every_epoch():
    settings = validate(read_yaml(ROOT / "params.yaml")).lm_train
    x = np.zeros((10, 3), "int32")  # batches of 4: 3 steps an epoch
    constant = settings.model_copy(update={"schedule": "constant", "learning_rate": 0.01, "batch_size": 4})
    assert learning_rate(constant, (x, x)) == 0.01
    cosine = constant.model_copy(update={"schedule": "cosine", "epochs": 3})
    rate = learning_rate(cosine, (x, x))
    assert [round(float(rate(step)), 6) for step in (0, 4.5, 9)] == [0.01, 0.005, 0.0]


def test_lazy_adam_is_adam_when_a_batch_uses_every_row():
    """Each row once per batch, so the clipped norms agree too: the same weights and moments as Keras's Adam."""
    rows = np.random.default_rng(0).permuted(np.tile(np.arange(6), (5, 1)), axis=1)
    batches = [rows[i : i + 1].astype("int32") for i in range(5)]
    lazy = embedding_model_steps(LazyAdam(0.01, clipnorm=0.05), batches)
    adam = embedding_model_steps(keras.optimizers.Adam(0.01, clipnorm=0.05), batches)
    for lazy_weights, adam_weights in zip(lazy, adam, strict=True):
        np.testing.assert_allclose(lazy_weights, adam_weights, rtol=1e-5, atol=1e-7)


def test_lazy_adam_moves_only_the_rows_a_batch_used_as_adam_moves_them():
    """A second step whose gradient has rows 1 and 3 only (row 1 twice, as a repeated word gives it): Adam
    moves every row on its decayed moments, LazyAdam leaves rows 0, 2 and 4 and their moments as they were.
    Rows 1 and 3 move exactly as Adam moves them on the same gradient made dense (Keras's Adam, handed the
    slices themselves, squares a repeated row's slices apart)."""
    import tensorflow as tf

    first = tf.constant(np.random.default_rng(0).normal(size=(5, 2)), "float32")
    second = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), tf.constant([1, 1, 3]), (5, 2))
    start = np.arange(10, dtype="float32").reshape(5, 2)
    weights, moments = {}, {}
    for name, optimizer, gradient in (
        ("lazy", LazyAdam(0.1, clipnorm=1.0), second),
        ("adam", keras.optimizers.Adam(0.1, clipnorm=1.0), tf.convert_to_tensor(second)),
    ):
        variable = keras.Variable(start)
        optimizer.apply([first], [variable])
        before = [np.array(variable), *(np.array(v) for v in optimizer.variables[2:4])]
        optimizer.apply([gradient], [variable])
        after = [np.array(variable), *(np.array(v) for v in optimizer.variables[2:4])]
        moved = [~np.isclose(b, a, rtol=0, atol=1e-9).all(axis=1) for b, a in zip(before, after, strict=True)]
        weights[name], moments[name] = after[0], moved
    assert all(m.tolist() == [True] * 5 for m in moments["adam"])  # weights, momentum, velocity
    assert all(m.tolist() == [False, True, False, True, False] for m in moments["lazy"])
    np.testing.assert_allclose(weights["lazy"][[1, 3]], weights["adam"][[1, 3]], rtol=1e-6)


def test_notebook_preset_runs_through_dvc_exp_run(tmp_path: Path, fake_mirror: Path):
    """The documented command: `dvc exp run $(python -m stages.presets --preset notebook_64)`, shrunk to tiny
    sizes: all epochs run (no early stopping), the last weights are kept, and the model has no mask."""
    project = make_project(tmp_path / "project", fake_mirror, TINY)
    env = project_env(fake_mirror)
    preset = run(["python", "-m", "stages.presets", "--preset", "notebook_64"], project, env).stdout.split()
    shrink = ["-S", "datasets.imdb.tokenize.max_len=48", "-S", "train.embedding_dim=8"]
    shrink += override_args(epoch_cap(yaml.safe_load((project / "params.yaml").read_text()), 3))
    shrink += ["-S", "architectures.simple_rnn.units=8"]
    run(["dvc", "exp", "run", "-n", "notebook", *preset, *shrink, "evaluate@imdb-simple_rnn"], project, env)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["train"]["early_stopping"] is False and params["datasets"]["imdb"]["tokenize"]["padding"] == "pre"
    metrics = read_metrics(project / "metrics/imdb/simple_rnn.json")
    assert metrics["epochs"] == 3 and metrics["best_epoch"] == 3
    assert metrics["seconds_to_best"] == metrics["train_seconds"]
    model = keras.saving.load_model(project / "data/imdb/models/simple_rnn.keras")
    assert model.get_layer("embedding").mask_zero is False
    assert np.load(project / "data/imdb/tokenized/train/x.npy").shape[1] == 48


def test_benchmark_table_of_some_architectures_renders_their_seeds_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """`--table ALL_SEED0 SOME_SEEDS12 --architectures gru`: the seeds a later file adds to one architecture
    render as that architecture's medians, without the other architectures' single runs; a name with no
    runs is refused in one line, before anything is written."""

    def record(seed: int, arch: str, config: str, seconds: float) -> dict:
        context = {"hardware": "H100", "backend": "jax", "docs": 0, "date": "2026-11-27", "command": f"c{seed > 0}"}
        metrics = {"accuracy": 0.8 + seed / 100, "train_seconds": seconds, "seconds_to_best": seconds / 2}
        return context | {"seed": seed, "config": config, "arch": arch, "metrics": metrics}

    first, later, docs = tmp_path / "first.jsonl", tmp_path / "later.jsonl", tmp_path / "benchmarks.md"
    first_records = [record(0, arch, config, 40.0) for arch in ("gru", "cnn_rnn") for config in ("defaults", "nb")]
    first.write_text("".join(json.dumps(r) + "\n" for r in first_records))
    later_records = [record(seed, "gru", config, 20.0 * seed) for seed in (1, 2) for config in ("defaults", "nb")]
    later.write_text("".join(json.dumps(r) + "\n" for r in later_records))
    table_args = ["--table", str(first), str(later), "--architectures", "gru"]
    code, output, _ = run_main(benchmarks.notebooks.main, table_args, ROOT, monkeypatch, capsys)
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == "H100; full IMDB; medians of 3 runs (seeds 0-2); 2026-11-27."
    assert lines[-1] == "| gru | nb | 0.8100 (0.800-0.820) | 40.0 | 0.8100 (0.800-0.820) | 20.0 (40.0) | 0.50 |"
    assert "cnn_rnn" not in output
    refused, _, _ = run_main(
        benchmarks.notebooks.main, [*table_args, "lstm", "--write", str(docs)], ROOT, monkeypatch, capsys
    )
    assert refused == "error: --architectures lstm: no runs of the defaults in --table (gru, cnn_rnn)"
    assert not docs.exists()


def test_benchmark_table_refuses_to_mix_backends_or_subsets_in_one_line(tmp_path: Path):
    """A GPU file after a CPU one (or a subset after full IMDB) would render one meaningless table."""
    context = {"hardware": "H100", "date": "2026-11-27", "command": "c", "seed": 0, "config": "defaults", "arch": "gru"}
    metrics = {"metrics": {"accuracy": 0.88, "train_seconds": 10.0, "seconds_to_best": 10.0}}
    gpu, cpu, docs = tmp_path / "gpu.jsonl", tmp_path / "cpu.jsonl", tmp_path / "benchmarks.md"
    gpu.write_text(json.dumps(context | metrics | {"backend": "jax", "docs": 0}) + "\n")
    cpu.write_text(json.dumps(context | metrics | {"backend": "tensorflow", "docs": 4000}) + "\n")
    result = benchmark("--table", str(gpu), str(cpu), "--write", str(docs))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {cpu}: runs on tensorflow with --docs 4000 after runs on jax with --docs 0: "
        "one table holds one backend and one --docs"
    ]
    assert not docs.exists()


@pytest.mark.parametrize(
    ("args", "given"),
    [
        (["--repeats", "0"], "--docs 4000 --repeats 0 --levers 0 --first-seed 0"),
        (["--docs", "-1"], "--docs -1 --repeats 3 --levers 0 --first-seed 0"),
        (["--levers", "4"], "--docs 4000 --repeats 3 --levers 4 --first-seed 0"),
        (["--first-seed", "-1"], "--docs 4000 --repeats 3 --levers 0 --first-seed -1"),
    ],
)
def test_benchmark_refuses_bad_counts_in_one_line_before_any_work(
    args: list[str], given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    docs = tmp_path / "benchmarks.md"
    refused, _, _ = run_main(benchmarks.notebooks.main, [*args, "--write", str(docs)], ROOT, monkeypatch, capsys)
    assert refused == (
        f"error: {given}: need docs >= 0 (0 = all), repeats >= 1, 0 <= levers <= repeats, first-seed >= 0"
    )
    assert not docs.exists()


def benchmark(*args: str, env: dict | None = None, block: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`python -m benchmarks.notebooks ARGS`, with the modules in `block` made unimportable."""
    code = f"import runpy, sys; sys.modules.update(dict.fromkeys({list(block)!r})); "
    code += "runpy.run_module('benchmarks.notebooks', run_name='__main__')"
    command = [sys.executable, "-c", code, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_benchmark_trains_from_exported_archives_without_dvc(
    tmp_path: Path, fake_mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """The GPU-machine route: --export tokenizes through DVC here; --tokenized trains and evaluates
    from the archives with dvc and dvclive unimportable, one architecture's pair after another. --first-seed 1
    (how the repeats are split across machines) names, checks and records seed 1. The table and the refusals
    run in-process."""
    env, archives = project_env(fake_mirror), tmp_path / "archives"
    common = ["--docs", "0", "--repeats", "1", "--first-seed", "1", "--architectures", "lstm"]
    exported = benchmark(*common, "--export", str(archives), env=env)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert sorted(path.name for path in archives.iterdir()) == ["defaults-seed1.tar.xz", "notebook_128-seed1.tar.xz"]
    results, docs = tmp_path / "runs.jsonl", tmp_path / "benchmarks.md"
    trained = benchmark(
        *common,
        "--tokenized",
        str(archives),
        "--results",
        str(results),
        "--write",
        str(docs),
        env=env,
        block=("dvc", "dvclive"),
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["config"], r["arch"], r["seed"]) for r in records] == [
        ("defaults", "lstm", 1),
        ("notebook_128", "lstm", 1),
    ]
    ours, theirs = (record["metrics"] for record in records)
    assert theirs["epochs"] == theirs["best_epoch"] == 5  # the notebook's fixed epochs, last weights
    assert 1 <= ours["best_epoch"] <= ours["epochs"] <= 6 and 0 <= ours["accuracy"] <= 1
    assert records[0]["command"].endswith("--repeats 1 --first-seed 1 --tokenized DIR --architectures lstm")
    section = docs.read_text()
    assert "| lstm | notebook_128 |" in section and "one run" in section

    def notebooks(*argv: str) -> tuple[int | str, str]:
        """The exit code (a refusal's message), stdout; a refusal says nothing else."""
        code, out, err = run_main(benchmarks.notebooks.main, list(argv), ROOT, monkeypatch, capsys)
        assert err == ""
        return code, out

    code, rendered = notebooks("--table", str(results))  # the results file renders the same table again
    assert code == 0 and rendered.strip() in section
    other_results = tmp_path / "other.jsonl"
    other_docs = [*common[:1], "50", *common[2:], "--tokenized", str(archives), "--results", str(other_results)]
    assert notebooks(*other_docs) == (
        f"error: {archives / 'defaults-seed1.tar.xz'}: tokenized with other params; run --export again",
        "",
    )
    missing = [*common[:6], "--architectures", "cnn_rnn", "--tokenized", str(archives)]
    assert notebooks(*missing) == (
        f"error: {archives / 'notebook_64-seed1.tar.xz'}: no such archive; make it with --export and the same "
        "arguments",
        "",
    )
    assert not other_results.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json\n", "not a --results file (Expecting value: line 1 column 1 (char 0))"),
        (
            '{"config": "defaults"}\n',
            "not a --results file (each line needs arch, backend, command, config, date, "
            "docs, hardware, metrics, seed)",
        ),
        ("", "no runs of the defaults in it; nothing to compare"),
    ],
)
def test_benchmark_table_refuses_a_bad_results_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, content: str, expected: str
):
    results, docs = tmp_path / "runs.jsonl", tmp_path / "benchmarks.md"
    results.write_text(content)
    args = ["--table", str(results), "--write", str(docs)]
    refused, _, _ = run_main(benchmarks.notebooks.main, args, ROOT, monkeypatch, capsys)
    assert refused == f"error: {results}: {expected}"
    assert not docs.exists()


def test_benchmark_refuses_an_unknown_architecture_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    results = tmp_path / "runs.jsonl"
    args = ["--architectures", "lstm", "transformer", "--results", str(results)]
    refused, _, _ = run_main(benchmarks.notebooks.main, args, ROOT, monkeypatch, capsys)
    known = ", ".join(yaml.safe_load((ROOT / "params.yaml").read_text())["architectures"])
    assert refused == f"error: --architectures transformer: not in params.yaml ({known})"
    assert not results.exists()


def backends_row(stdout: str, arch: str) -> list[str]:
    """benchmarks.backends' row for `arch`, checked: times and their ratio positive, accuracies within [0, 1]."""
    row = next(line for line in stdout.splitlines() if line.startswith(f"| {arch} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert min(float(cells[1]), float(cells[2]), float(cells[3])) > 0
    assert all(0 <= float(value) <= 1 for value in cells[4].split(" / "))
    return cells


@pytest.mark.slow
def test_backends_benchmark_times_the_real_train_stage_with_onednn_off_and_on(fake_mirror: Path):
    """benchmarks.backends trains through `python -m stages.train` with oneDNN off and on; both repeat exactly."""
    command = [sys.executable, "-m", "benchmarks.backends", "--docs", "0", "--epochs", "1", "--architectures", "gru"]
    env = project_env(fake_mirror)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "full IMDB, 1 epochs; medians of 2 runs" in result.stdout
    command_line = "python -m benchmarks.backends --compare onednn --docs 0 --epochs 1 --repeats 2 --architectures gru"
    assert f"Command: `{command_line}`" in result.stdout
    assert "| architecture | oneDNN off: fit s | oneDNN on: fit s | oneDNN on / oneDNN off |" in result.stdout
    *_, repeats, same = backends_row(result.stdout, "gru")
    assert repeats == "yes / yes" and same in {"yes", "no"}


def test_backends_row_of_one_run_each_compares_nothing():
    """One run of each setting: nothing to compare between repeats, not a vacuous "yes"."""
    summary = {"train_seconds": 2.0, "val_accuracy": 0.5, "val_loss": 0.69}
    runs = {"oneDNN off": [summary], "oneDNN on": [summary | {"train_seconds": 1.0}]}
    assert benchmarks.backends.row("gru", runs) == "| gru | 2.0 | 1.0 | 0.50 | 0.5000 / 0.5000 | - / - | yes |"


WITHOUT_JAX = """import importlib.util, sys
found = importlib.util.find_spec
importlib.util.find_spec = lambda name, *args: None if name == "jax" else found(name, *args)
sys.argv = ["backends", "--compare", "jax"]
from benchmarks.backends import main
main()
"""


def test_backends_benchmark_refuses_to_compare_jax_where_it_is_not_installed(tmp_path: Path):
    """Where JAX is missing, --compare jax stops in one line before copying the project or training anything."""
    env = os.environ | {"TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", WITHOUT_JAX], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: --compare jax: JAX is not installed in this environment (pip install jax)"
    ]
    assert list(tmp_path.iterdir()) == []  # no temporary project


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--epochs", "0"],
            "--compare onednn --docs 4000 --epochs 0 --repeats 2: "
            "need docs >= 0 (0 = all), epochs >= 1 and repeats >= 1",
        ),
        (
            ["--architectures", "transformer"],
            "--architectures transformer: not in params.yaml ("
            + ", ".join(yaml.safe_load((ROOT / "params.yaml").read_text())["architectures"])
            + ")",
        ),
    ],
)
def test_backends_benchmark_refuses_bad_input_in_one_line(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    refused, _, _ = run_main(benchmarks.backends.main, args, ROOT, monkeypatch, capsys)
    assert refused == f"error: {message}"
