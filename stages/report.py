"""Stage `report@<dataset>`: one Markdown page comparing every architecture with the baseline on a dataset.

Reads the metrics files, the test predictions, DVCLive curves and data stats; writes
`reports/<dataset>/report.md` and the PNG figures it links.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import confusion_matrix

from stages import require, run_stage
from stages.data import SPLITS, atomic_write, read_json
from stages.metrics import CLASSIFIER_COLUMNS, LANGUAGE_MODEL_COLUMNS
from stages.params import TRAIN_OVERRIDES, Params, load_params
from stages.task import Task, task


def results_table(rows: list[tuple[str, dict]], columns: tuple[str, ...]) -> str:
    """Markdown table, one row per model in the given order."""
    header = "| model | " + " | ".join(columns) + " |\n|" + " --- |" * (len(columns) + 1) + "\n"
    return header + "".join(
        f"| {name} | " + " | ".join(_cell(column, values.get(column)) for column in columns) + " |\n"
        for name, values in rows
    )


def _cell(column: str, value: object) -> str:
    if value is None:
        return "n/a"
    if column in ("train_seconds", "seconds_to_best"):
        return f"{value:,.1f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def curves(live_dir: Path) -> dict[str, pd.DataFrame]:
    """DVCLive's per-epoch TSVs of one architecture, keyed like `eval/accuracy`."""
    root = live_dir / "plots" / "metrics"
    return {
        f"{split}/{metric}": pd.read_csv(root / split / f"{metric}.tsv", sep="\t")
        for split in ("train", "eval")
        for metric in ("accuracy", "loss")
        if (root / split / f"{metric}.tsv").is_file()
    }


def plot_curves(live_dirs: dict[str, Path], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (name, live_dir), color in zip(live_dirs.items(), plt.cm.tab10.colors):
        for key, frame in curves(live_dir).items():
            split, metric = key.split("/")
            ax = axes[0 if metric == "accuracy" else 1]
            style = "-" if split == "eval" else ":"
            ax.plot(frame["step"] + 1, frame[metric], style, color=color, label=f"{name} ({split})")
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric}: validation (solid), train (dotted)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    _save(fig, path)


def plot_confusions(predictions: dict[str, Path], classes: list[str], path: Path) -> None:
    """Each model's confusion matrix, counted from its predictions CSV (actual, predicted class names)."""
    size = 1.2 + 0.7 * len(classes)
    fig, axes = plt.subplots(1, len(predictions), figsize=(size * len(predictions), size + 0.3), squeeze=False)
    ticks = list(range(len(classes)))
    for ax, (name, csv_path) in zip(axes[0], predictions.items()):
        rows = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        matrix = confusion_matrix(rows["actual"], rows["predicted"], labels=classes)
        ax.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, f"{count:,}", ha="center", va="center", color="black" if i != j else "white")
        ax.set(title=name, xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes)
        ax.set(xlabel="predicted", ylabel="actual")
    _save(fig, path)


def plot_accuracy_vs_time(metrics: dict[str, dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in metrics.items():
        ax.scatter(values["train_seconds"], values["accuracy"])
        ax.annotate(name, (values["train_seconds"], values["accuracy"]), fontsize=8)
    ax.set(
        xscale="log", xlabel="training time (s, log scale)", ylabel="test accuracy", title="accuracy vs training time"
    )
    ax.grid(alpha=0.3)
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))
    plt.close(fig)


def render(params: Params, name: str, metrics: dict[str, dict], baseline: dict, stats: dict) -> str:
    """The report's Markdown; figures are referenced relative to the report."""
    archs = list(metrics)
    rows = metrics | {"baseline (TF-IDF + logistic regression)": baseline}
    train, settings = params.train, params.datasets[name]
    classes = stats["classes"]
    data_rows = "".join(
        f"| {split} | {s['documents']:,} | {' / '.join(format(s['classes'][c], ',') for c in classes)} | "
        f"{s['length']['p50']} / {s['length']['p95']} | {s['oov_rate']:.2%} | {s['truncated_fraction']:.1%} |\n"
        for split, s in ((split, stats[split]) for split in SPLITS)
    )
    padding = ("masked" if train.mask else "not masked") + (", length-bucketed batches" if train.bucketing else "")
    embedding = f"{train.embedding_dim}" + (f" (dropout {train.embedding_dropout})" if train.embedding_dropout else "")
    overrides = {arch: params.architectures[arch].get(TRAIN_OVERRIDES) for arch in archs}
    own_settings = "".join(
        f"\n{arch} overrides: " + ", ".join(f"{key} {value}" for key, value in keys.items()) + "."
        for arch, keys in overrides.items()
        if keys
    )
    weighting = "balanced class weights" if settings.class_weight == "balanced" else "unweighted classes"
    stopping = (
        f"up to {train.epochs} epochs, early stopping on `{train.monitor}` (patience {train.patience}, best weights "
        "restored)"
        if train.early_stopping
        else f"{train.epochs} epochs, last weights kept"
    )
    return f"""# {name}: text classifiers compared

Generated by `dvc repro` (stage `report@{name}`). Test split only for the numbers below; early
stopping and model selection used the validation split carved from train.

## Results on the test split

{results_table(sorted(rows.items(), key=lambda item: -item[1]["accuracy"]), CLASSIFIER_COLUMNS)}
Shared training settings: embedding {embedding}, batch {train.batch_size}, {train.optimizer} lr {train.learning_rate}
({train.schedule}), clipnorm {train.clipnorm or "none"}, {stopping}, max_len {train.max_len or "all"} (tokens read per
review), padding {padding}, {weighting}.{own_settings}
`train_seconds` is the wall time of `fit`, `seconds_to_best` the time until the kept weights existed;
`precision`, `recall` and `f1` are macro averages over the classes (per-class figures are in
`metrics/{name}/<arch>.json`).

![accuracy vs training time](figures/accuracy_vs_time.png)

## Training curves

![training curves](figures/curves.png)

## Confusion matrices (test split)

![confusion matrices](figures/confusion.png)

## Data

Vocabulary {stats["vocab_size"]:,} words (built on train only), sequences padded/truncated to {stats["max_len"]} tokens
({settings.tokenize.padding}-padding, {settings.tokenize.truncating}-truncation; each model reads at most its
`max_len` of them, above); class imbalance in train
(largest / smallest class): {stats["train"]["imbalance"]}.

| split | documents | {" / ".join(classes)} | tokens p50 / p95 | OOV | truncated |
| --- | --- | --- | --- | --- | --- |
{data_rows}
Architectures: {", ".join(f"`{a}`" for a in archs)}. Hyperparameters: `params.yaml`.
"""


def longest_repeat(text: str) -> int:
    """How many times a phrase of one to three words repeats back to back: 3 for "the way the way the way",
    the notebooks' failure mode; 1 when nothing repeats."""
    words, best = text.split(), 1
    for n in (1, 2, 3):
        for start in range(len(words) - n + 1):
            count = 1
            while words[start + count * n : start + (count + 1) * n] == words[start : start + n]:
                count += 1
            best = max(best, count)
    return best


def render_language_model(params: Params, name: str, metrics: dict[str, dict], stats: dict, samples: dict) -> str:
    """The language-model report: metrics, then what the numbers mean: samples at each temperature."""
    rows = sorted(metrics.items(), key=lambda item: item[1]["cross_entropy"])  # best first
    table = results_table(rows, LANGUAGE_MODEL_COLUMNS)
    settings, corpus = params.lm_train, params.corpora[name]
    sample_sections = "".join(
        f"### {arch}\n\n"
        + "".join(
            f"Temperature {temperature} (longest back-to-back phrase repeat: {longest_repeat(text)}):\n\n"
            f"```text\n{samples[arch]['prompt']}{text}\n```\n\n"
            for temperature, text in samples[arch]["samples"].items()
        )
        for arch, _ in rows
    )
    return f"""# {name}: character-level language models compared

Generated by `dvc repro` (stage `lm_report@{name}`). Every position of a {corpus.seq_len}-character window
predicts the next character. Test figures cover all {stats["test"]["characters"]:,} characters of the last
{corpus.test_fraction:.0%} of the text; early stopping used the {corpus.val_fraction:.0%} before it.

## Results on the test split

{table}
`cross_entropy` is in nats per character (`bits_per_char` = nats / ln 2, `perplexity` = e^nats); `f1` is the
macro average over the characters that occur. Training: embedding {settings.embedding_dim}, batch {settings.batch_size},
{settings.optimizer} lr {settings.learning_rate} ({settings.schedule}), clipnorm {settings.clipnorm}, up to
{settings.epochs} epochs, early stopping on `{settings.monitor}` (patience {settings.patience}, best weights restored).

## Training curves

![training curves](figures/curves.png)

## Samples

Prompt `{params.generate.prompt}`, {params.generate.chars} characters, seed {params.generate.seed}
(`python -m stages.generate --dataset {name} --arch <arch> --temperature <t>` makes more).

{sample_sections}## Data

{stats["vocab_size"]} character ids (built on train; id 0 stands for a character train never has);
train / validation / test: {stats["train"]["characters"]:,} / {stats["val"]["characters"]:,} /
{stats["test"]["characters"]:,} characters in contiguous blocks.
"""


def report_inputs(kind: Task, archs: list[str]) -> dict[Path, str]:
    """Every file the report needs, with the stage that writes it; DVCLive curves are drawn where present."""
    paths = kind.paths
    needs = {paths.stats: kind.stage("tokenize")}
    if not kind.language_model:
        needs[paths.metrics / "baseline.json"] = kind.stage("baseline")
    for arch in archs:
        evaluate = kind.stage("evaluate", arch)
        needs[paths.metrics / f"{arch}.json"] = evaluate
        needs[paths.samples / f"{arch}.json" if kind.language_model else paths.predictions / f"{arch}.csv"] = evaluate
    return needs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset or corpus name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    kind = task(params, args.dataset)
    paths, archs = kind.paths, kind.architectures(params)
    require(report_inputs(kind, archs))  # before any figure is written
    metrics = {arch: read_json(paths.metrics / f"{arch}.json") for arch in archs}
    stats = read_json(paths.stats)
    figures = paths.report / "figures"
    plot_curves({arch: paths.live / arch for arch in archs}, figures / "curves.png")
    if kind.language_model:
        samples = {arch: read_json(paths.samples / f"{arch}.json") for arch in archs}
        report = render_language_model(params, args.dataset, metrics, stats, samples)
    else:
        baseline = read_json(paths.metrics / "baseline.json")
        predictions = {arch: paths.predictions / f"{arch}.csv" for arch in archs}
        plot_confusions(predictions, stats["classes"], figures / "confusion.png")
        plot_accuracy_vs_time(metrics | {"baseline": baseline}, figures / "accuracy_vs_time.png")
        report = render(params, args.dataset, metrics, baseline, stats)
    atomic_write(paths.report / "report.md", lambda tmp: tmp.write_text(report))
    print(f"{kind.stage('report')}: wrote {paths.report / 'report.md'} and {figures}/")


if __name__ == "__main__":
    run_stage(main)
