"""Stage `report@<dataset>`: one Markdown page comparing every architecture with the baseline on a dataset.

Reads the metrics files and their details, the test predictions, DVCLive curves and data stats; writes
`reports/<dataset>/report.md`, the PNG figures it links and, in `reports/<dataset>/plots/`, the data of its
comparison figures, which `dvc plots show` draws (dvc.yaml): the same numbers in both. From the per-document
predictions it gives each classifier's accuracy and macro F1 an interval and pairs it with the best model and the
baseline (`stages.statistics`).
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

from stages import UserError, require, run_stage
from stages.data import SPLITS, atomic_write, read_json
from stages.metrics import CLASSIFIER_COLUMNS, LANGUAGE_MODEL_COLUMNS, details_path, read_metrics
from stages.params import TRAIN_OVERRIDES, Params, load_params
from stages.statistics import CONFIDENCE, exact_rate_interval, macro_f1, macro_f1_interval, mcnemar_exact_p
from stages.task import Task, task

BASELINE = "baseline (TF-IDF + logistic regression)"  # the baseline's row in the results table
SIGNIFICANCE = 1 - CONFIDENCE  # a paired test's p below this: the two models differ beyond chance


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
    if isinstance(value, tuple):  # a score and its interval
        return f"{value[0]:.4f} [{value[1]:.4f}, {value[2]:.4f}]"
    if column in ("train_seconds", "seconds_to_best"):
        return f"{value:,.1f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


# The comparison charts: file name in reports/<dataset>/plots/ -> the DVCLive curve of every model it gathers.
CLASSIFIER_CURVES = {"val_accuracy": "eval/accuracy", "train_loss": "train/loss"}
LANGUAGE_MODEL_CURVES = {"val_loss": "eval/loss", "train_loss": "train/loss"}


def curve_table(live_dirs: dict[str, Path], curve: str, column: str) -> pd.DataFrame:
    """One DVCLive curve (like `eval/accuracy`) of every model, long form (epoch, model, `column`): a chart with one
    line per model. A model whose curve is missing is left out."""
    split, metric = curve.split("/")
    frames = [
        pd.read_csv(path, sep="\t").assign(epoch=lambda f: f["step"] + 1, model=name)[["epoch", "model", metric]]
        for name, live_dir in live_dirs.items()
        if (path := live_dir / "plots" / "metrics" / split / f"{metric}.tsv").is_file()
    ]
    empty = pd.DataFrame(columns=["epoch", "model", metric])
    return pd.concat(frames or [empty], ignore_index=True).rename(columns={metric: column}).round(4)


def score_table(scores: dict[str, tuple[float, float, float]], column: str) -> pd.DataFrame:
    """Each model's test score and its interval (`low`, `high`), in the given order: the interval chart's rows."""
    return pd.DataFrame(
        [
            {"model": name, column: round(score, 4), "low": round(low, 4), "high": round(high, 4)}
            for name, (score, low, high) in scores.items()
        ]
    )


def plot_comparison(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """The report's figure of the comparison charts: a curve table's panel has one line per model, a score
    table's one interval per model, best at the top."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4))
    for ax, (column, table) in zip(axes, tables.items()):
        if "epoch" in table:
            for (name, rows), color in zip(table.groupby("model", sort=False), plt.cm.tab10.colors):
                ax.plot(rows["epoch"], rows[column], "o-", color=color, label=name, markersize=3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set(xlabel="epoch", ylabel=column.replace("_", " "))
            ax.legend(fontsize=7)
        else:
            rows = table.iloc[::-1]  # best at the top
            ax.errorbar(
                rows[column],
                rows["model"],
                xerr=[rows[column] - rows["low"], rows["high"] - rows[column]],
                fmt="o",
                capsize=3,
            )
            ax.set(xlabel=f"{column.replace('_', ' ')} [{CONFIDENCE:.0%} CI]")
        ax.set_title(column.replace("_", " "))
        ax.grid(alpha=0.3)
    _save(fig, path)


def write_comparison(tables: dict[str, pd.DataFrame], report_dir: Path) -> None:
    """The comparison charts' data, `reports/<dataset>/plots/<chart>.csv`, and the report's figure of them."""
    for column, table in tables.items():
        atomic_write(report_dir / "plots" / f"{column}.csv", lambda tmp, table=table: table.to_csv(tmp, index=False))
    plot_comparison(tables, report_dir / "figures" / "comparison.png")


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
    """Test accuracy against the seconds until the kept weights existed: what each model's accuracy cost."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in metrics.items():
        ax.scatter(values["seconds_to_best"], values["accuracy"])
        ax.annotate(name, (values["seconds_to_best"], values["accuracy"]), fontsize=8)
    ax.set(
        xscale="log",
        xlabel="seconds to the kept weights (log scale)",
        ylabel="test accuracy",
        title="accuracy vs training time",
    )
    ax.grid(alpha=0.3)
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))
    plt.close(fig)


def paired_comparison(predictions: dict[str, pd.DataFrame], classes: list[str]) -> dict[str, dict]:
    """Per model, from its per-document predictions: accuracy and macro F1 with their intervals, and McNemar's
    exact p against the most accurate model and against the baseline (None against itself)."""
    actual = next(iter(predictions.values()))["actual"]
    for name, rows in predictions.items():
        if not rows["actual"].equals(actual):
            raise UserError(f"{name}: its predictions are not of the same test documents in the same order")
    ids = {label: i for i, label in enumerate(classes)}
    actual_ids = actual.map(ids).to_numpy()
    correct = {name: (rows["predicted"] == actual).to_numpy() for name, rows in predictions.items()}
    best = max(correct, key=lambda name: correct[name].sum())
    return {
        name: {
            "accuracy": (hits.mean(), *exact_rate_interval(int(hits.sum()), len(hits))),
            "f1": (
                macro_f1(actual_ids, rows["predicted"].map(ids).to_numpy(), len(classes)),
                *macro_f1_interval(actual_ids, rows["predicted"].map(ids).to_numpy(), len(classes)),
            ),
            "p_best": None if name == best else mcnemar_exact_p(hits, correct[best]),
            "p_baseline": None if name == BASELINE else mcnemar_exact_p(hits, correct[BASELINE]),
        }
        for (name, rows), hits in zip(predictions.items(), correct.values())
    }


def _p_value(p: float | None) -> str:
    return "-" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def ranking(compared: dict[str, dict]) -> list[str]:
    """The models of `paired_comparison`, most accurate first: the one its paired tests compare with leads."""
    return sorted(compared, key=lambda name: (compared[name]["p_best"] is not None, -compared[name]["accuracy"][0]))


def comparison_table(metrics: dict[str, dict], compared: dict[str, dict]) -> str:
    """The results table, most accurate first: the scores with intervals, the paired tests' p, then the rest."""
    order = ranking(compared)
    best = order[0]
    header = (
        f"| model | accuracy [{CONFIDENCE:.0%} CI] | F1 (macro) [{CONFIDENCE:.0%} CI] | p vs {best} | p vs TF-IDF | "
        + " | ".join(CLASSIFIER_COLUMNS)
        + " |\n|"
        + " --- |" * (len(CLASSIFIER_COLUMNS) + 5)
        + "\n"
    )
    return header + "".join(
        f"| {name}{' ≈' if tied(compared[name]) else ''} | {_cell('', compared[name]['accuracy'])} | "
        f"{_cell('', compared[name]['f1'])} | {_p_value(compared[name]['p_best'])} | "
        f"{_p_value(compared[name]['p_baseline'])} | "
        + " | ".join(_cell(column, metrics[name].get(column)) for column in CLASSIFIER_COLUMNS)
        + " |\n"
        for name in order
    )


def tied(values: dict) -> bool:
    """Not distinguishable from the most accurate model by the paired test."""
    return values["p_best"] is not None and values["p_best"] >= SIGNIFICANCE


def comparison_sentences(compared: dict[str, dict], documents: int) -> str:
    """What the paired tests say, in words."""
    order = ranking(compared)
    best = order[0]
    ties = [name for name in order if tied(compared[name])]
    if ties:
        verdict = (
            f"{_names(ties)} {_are(ties)} not distinguishable from it at the {SIGNIFICANCE:g} level (marked ≈): "
            f"on these {documents:,} test documents the gap may be chance, and every other model is less accurate"
        )
    else:
        verdict = f"every other model is less accurate than it at the {SIGNIFICANCE:g} level"
    baseline = compared[BASELINE]["accuracy"][0]
    others = [name for name in order if name != BASELINE]
    differ = [name for name in others if compared[name]["p_baseline"] < SIGNIFICANCE]
    groups = (
        ("more accurate beyond chance", [name for name in differ if compared[name]["accuracy"][0] > baseline]),
        ("less accurate beyond chance", [name for name in differ if compared[name]["accuracy"][0] < baseline]),
        ("not distinguishable from it", [name for name in others if name not in differ]),
    )
    against = "; ".join(f"{_names(names)} {_are(names)} {what}" for what, names in groups if names)
    return f"{_names([best])} is the most accurate model; {verdict}. Against the TF-IDF baseline, {against}."


def _are(names: list[str]) -> str:
    return "are" if len(names) > 1 else "is"


def _names(names: list[str]) -> str:
    names = [f"`{name}`" if name != BASELINE else "the baseline" for name in names]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")


def render(params: Params, name: str, metrics: dict[str, dict], stats: dict, compared: dict[str, dict]) -> str:
    """The report's Markdown; figures are referenced relative to the report. `metrics` and `compared` (from
    `paired_comparison`) hold every architecture and the baseline."""
    archs = [arch for arch in metrics if arch != BASELINE]
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

{comparison_table(metrics, compared)}
{comparison_sentences(compared, stats["test"]["documents"])}

Accuracy intervals are exact binomial (Clopper-Pearson) {CONFIDENCE:.0%} intervals; macro F1 intervals are
{CONFIDENCE:.0%} percentile bootstraps over the test documents. `p vs ...` is McNemar's exact test on the test
documents where exactly one of the two models is right, each pair on its own (no correction for the number of
pairs). Both describe the test sample's noise, not retraining's: another seed moves a model's accuracy too.

Shared training settings: embedding {embedding}, batch {train.batch_size}, {train.optimizer} lr {train.learning_rate}
({train.schedule}), clipnorm {train.clipnorm or "none"}, {stopping}, max_len {train.max_len or "all"} (tokens read per
review), padding {padding}, {weighting}.{own_settings}
`seconds_to_best` is the wall time of `fit` until the kept weights existed, `train_seconds` all of `fit`;
`params` counts the weights. Precision, recall and per-class scores are in `metrics/{name}/details/<arch>.json`.

![accuracy vs training time](figures/accuracy_vs_time.png)

## Compared: validation accuracy and training loss per epoch, test accuracy

![comparison](figures/comparison.png)

The same data `dvc plots show` draws, from `plots/` beside this report.

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


def by_cross_entropy(metrics: dict[str, dict]) -> dict[str, dict]:
    """Language models best first: the lowest test cross-entropy leads the table and the interval chart."""
    return dict(sorted(metrics.items(), key=lambda item: item[1]["cross_entropy"]))


def render_language_model(params: Params, name: str, metrics: dict[str, dict], stats: dict, samples: dict) -> str:
    """The language-model report: metrics, then what the numbers mean: samples at each temperature."""
    ranked = by_cross_entropy(metrics)
    interval = f"cross_entropy [{CONFIDENCE:.0%} CI]"
    with_interval = [
        (arch, v | {interval: (v["cross_entropy"], v["cross_entropy_low"], v["cross_entropy_high"])})
        for arch, v in ranked.items()
    ]
    table = results_table(with_interval, (interval, *LANGUAGE_MODEL_COLUMNS))
    settings, corpus = params.lm_train, params.corpora[name]
    sample_sections = "".join(
        f"### {arch}\n\n"
        + "".join(
            f"Temperature {temperature} (longest back-to-back phrase repeat: {longest_repeat(text)}):\n\n"
            f"```text\n{samples[arch]['prompt']}{text}\n```\n\n"
            for temperature, text in samples[arch]["samples"].items()
        )
        for arch in ranked
    )
    return f"""# {name}: character-level language models compared

Generated by `dvc repro` (stage `lm_report@{name}`). Every position of a {corpus.seq_len}-character window
predicts the next character. Test figures cover all {stats["test"]["characters"]:,} characters of the last
{corpus.test_fraction:.0%} of the text; early stopping used the {corpus.val_fraction:.0%} before it.

## Results on the test split

{table}
`cross_entropy` is in nats per character (`bits_per_char` = nats / ln 2, `perplexity` = e^nats), with a
{CONFIDENCE:.0%} percentile bootstrap interval over the test's {corpus.seq_len}-character windows; `f1` is the macro
average over the characters that occur. `seconds_to_best` is the wall time of `fit` until the kept weights
existed, `train_seconds` all of `fit`; `params` counts the weights.
Training: embedding {settings.embedding_dim}, batch {settings.batch_size},
{settings.optimizer} lr {settings.learning_rate} ({settings.schedule}), clipnorm {settings.clipnorm}, up to
{settings.epochs} epochs, early stopping on `{settings.monitor}` (patience {settings.patience}, best weights restored).

## Compared: validation and training loss per epoch, test cross-entropy

![comparison](figures/comparison.png)

The same data `dvc plots show` draws, from `plots/` beside this report.

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
        for path in (paths.metrics / "baseline.json", paths.predictions / "baseline.csv"):
            needs[path] = kind.stage("baseline")
            needs[details_path(paths.metrics / "baseline.json")] = kind.stage("baseline")
    for arch in archs:
        evaluate = kind.stage("evaluate", arch)
        needs[paths.metrics / f"{arch}.json"] = evaluate
        needs[details_path(paths.metrics / f"{arch}.json")] = evaluate
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
    metrics = {arch: read_metrics(paths.metrics / f"{arch}.json") for arch in archs}
    stats = read_json(paths.stats)
    live_dirs = {arch: paths.live / arch for arch in archs}
    figures = paths.report / "figures"
    if kind.language_model:
        samples = {arch: read_json(paths.samples / f"{arch}.json") for arch in archs}
        report = render_language_model(params, args.dataset, metrics, stats, samples)
        curves = LANGUAGE_MODEL_CURVES
        scores = {
            arch: (v["cross_entropy"], v["cross_entropy_low"], v["cross_entropy_high"])
            for arch, v in by_cross_entropy(metrics).items()
        }
        score_column = "test_cross_entropy"
    else:
        metrics[BASELINE] = read_metrics(paths.metrics / "baseline.json")
        predictions = {arch: paths.predictions / f"{arch}.csv" for arch in [*archs, "baseline"]}
        frames = {
            BASELINE if name == "baseline" else name: pd.read_csv(path, dtype=str, keep_default_na=False)
            for name, path in predictions.items()
        }
        compared = paired_comparison(frames, stats["classes"])
        plot_confusions(predictions, stats["classes"], figures / "confusion.png")
        plot_accuracy_vs_time(metrics, figures / "accuracy_vs_time.png")
        report = render(params, args.dataset, metrics, stats, compared)
        curves = CLASSIFIER_CURVES
        scores = {"baseline" if name == BASELINE else name: compared[name]["accuracy"] for name in ranking(compared)}
        score_column = "test_accuracy"
    tables = {column: curve_table(live_dirs, curve, column) for column, curve in curves.items()}
    write_comparison(tables | {score_column: score_table(scores, score_column)}, paths.report)
    atomic_write(paths.report / "report.md", lambda tmp: tmp.write_text(report))
    print(f"{kind.stage('report')}: wrote {paths.report / 'report.md'}, {figures}/ and {paths.report / 'plots'}/")


if __name__ == "__main__":
    run_stage(main)
