"""Stages `evaluate@<dataset>-<arch>` and `lm_evaluate@<corpus>-<arch>`: score a trained model on the test split.

Writes `metrics/<dataset>/<arch>.json` (for `dvc metrics`: scalars only, so its table stays readable) and
per-example predictions `reports/<dataset>/predictions/<arch>.csv` (DVC's confusion-matrix plot and the
report's confusion figure read them); for a language model also text samples, `reports/<corpus>/samples/<arch>.json`.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import keras
import numpy as np

from stages import require, run_stage
from stages.data import (
    Paths,
    atomic_write,
    batch_width,
    crop,
    cut_to_longest,
    load_arrays,
    load_ids,
    read_json,
    read_lines,
    read_vocab,
    windows,
    write_json,
)
from stages.generate import sample
from stages.metrics import classification_metrics, language_model_metrics
from stages.params import Params, Tokenize, architecture_kwargs, is_corpus, load_params
from stages.registry import class_probabilities, load_model

WIDTH_STEP = 128  # batch widths are multiples of this: few shapes to compile on JAX, little padding anywhere
BATCH_VALUES = 2**25  # embedding values per model call: larger batches of wide embeddings thrash memory


def probabilities_by_length(
    model: keras.Model, x: np.ndarray, lengths: np.ndarray, pre_padded: bool, batch_values: int = BATCH_VALUES
) -> np.ndarray:
    """`class_probabilities` over batches of similar length, each cut to its longest row (rounded up to
    WIDTH_STEP): with the padding masked a review scores the same at any width, so 1024-wide rows cost what
    their words cost. An unmasked model reads its padding, so it gets the full width. A batch of width w holds
    `batch_values` // (w x embedding width) rows: many short reviews per call, few long ones."""
    embedding = model.get_layer("embedding")

    def rows_at(width: int) -> int:
        return max(1, batch_values // (width * embedding.output_dim))

    if not embedding.mask_zero:
        return class_probabilities(model, x, rows_at(x.shape[1]))
    order, parts = np.argsort(lengths, kind="stable"), []
    widths = np.array([batch_width(lengths[[row]], WIDTH_STEP, x.shape[1]) for row in order])  # nondecreasing
    for width in np.unique(widths):
        group, size = order[widths == width], rows_at(width)
        for rows in np.split(group, range(size, len(group), size)):
            parts.append(
                class_probabilities(model, cut_to_longest(x[rows], lengths[rows], WIDTH_STEP, pre_padded), size)
            )
    probabilities = np.empty((len(order), parts[0].shape[1]))
    probabilities[order] = np.concatenate(parts)
    return probabilities


def classifier_test_scores(model: keras.Model, tokenized: Path, max_len: int, settings: Tokenize) -> tuple:
    """The test split's labels and P(class), read as the model was trained to read it (cut to its `max_len`)."""
    test = crop(load_arrays(tokenized / "test"), max_len, settings.padding, settings.truncating)
    return test["y"], probabilities_by_length(model, test["x"], test["lengths"], settings.padding == "pre")


def write_predictions(path: Path, labels: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> None:
    """One row per test document, in test-split order: actual and predicted class, and P(predicted)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["actual", "predicted", "probability"])
            for label, row in zip(labels, probabilities):
                best = int(row.argmax())
                writer.writerow([classes[label], classes[best], f"{row[best]:.4f}"])

    atomic_write(path, write)


TOP_CHARACTERS = 10  # a language model's predictions CSV (its confusion plot) covers the most frequent characters
PREDICTION_ROWS = 10_000  # test characters in a language model's predictions CSV (the metrics use all)


def char_name(char: str) -> str:
    """A character as a readable label: whitespace spelled out, id 0 (never seen in train) as <unseen>."""
    return {"": "<unseen>", " ": "<space>", "\n": "<newline>", "\t": "<tab>"}.get(char, char)


def most_frequent(targets: np.ndarray) -> list[int]:
    """The ids of the TOP_CHARACTERS most frequent characters that occur, most frequent first."""
    counts = np.bincount(targets)
    return [int(i) for i in np.argsort(-counts, kind="stable")[:TOP_CHARACTERS] if counts[i]]


def write_char_predictions(path: Path, targets: np.ndarray, logits: np.ndarray, vocab: list[str]) -> None:
    """Actual and predicted next character of the first test characters whose actual one is among the most
    frequent, as DVC's confusion template wants them; a prediction outside those is `other`."""
    frequent = set(most_frequent(targets))
    predicted = logits.argmax(axis=1)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["actual", "predicted"])
            for actual, guess in zip(targets[:PREDICTION_ROWS], predicted[:PREDICTION_ROWS]):
                if actual in frequent:
                    writer.writerow(
                        [char_name(vocab[actual]), char_name(vocab[guess]) if guess in frequent else "other"]
                    )

    atomic_write(path, write)


def evaluate_language_model(params: Params, corpus: str, arch: str, model: keras.Model) -> dict:
    """Score every test character (each window read from its start, as in training) and sample text."""
    paths, seq_len = Paths(corpus), params.corpora[corpus].seq_len
    vocab = read_vocab(paths.tokenized)
    inputs, targets = windows(load_ids(paths.tokenized / "test"), seq_len)
    logits = model.predict(inputs, batch_size=64, verbose=0).reshape(-1, len(vocab)).astype(np.float64)
    targets = targets.reshape(-1)
    write_char_predictions(paths.predictions / f"{arch}.csv", targets, logits, vocab)
    settings = params.generate
    samples = {
        str(temperature): sample(model, vocab, settings.prompt, settings.chars, temperature, settings.seed)
        for temperature in settings.temperatures
    }
    write_json(paths.report / "samples" / f"{arch}.json", {"prompt": settings.prompt, "samples": samples})
    return language_model_metrics(targets, logits)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset or corpus name from params.yaml")
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    args = parser.parse_args(argv)
    params = load_params()
    corpus = is_corpus(params, args.dataset)
    architecture_kwargs(params, args.arch, "language_models" if corpus else "architectures")
    prefix = "lm_" if corpus else ""
    paths, trainer = Paths(args.dataset), f"{prefix}train@{args.dataset}-{args.arch}"
    model_path = paths.models / f"{args.arch}.keras"
    require(
        {
            model_path: trainer,
            paths.models / f"{args.arch}.json": trainer,
            paths.tokenized / ("vocab.json" if corpus else "classes.txt"): f"{prefix}tokenize@{args.dataset}",
        }
    )
    model, summary = load_model(model_path, trainer), read_json(paths.models / f"{args.arch}.json")
    if corpus:
        metrics = evaluate_language_model(params, args.dataset, args.arch, model)
    else:
        settings = params.datasets[args.dataset].tokenize
        labels, probabilities = classifier_test_scores(model, paths.tokenized, summary["max_len"], settings)
        classes = read_lines(paths.tokenized / "classes.txt")
        metrics = classification_metrics(labels, probabilities, classes)
        write_predictions(paths.predictions / f"{args.arch}.csv", labels, probabilities, classes)
    metrics |= summary
    write_json(paths.metrics / f"{args.arch}.json", metrics)
    print(
        f"{prefix}evaluate@{args.dataset}-{args.arch}: wrote {paths.metrics / args.arch}.json "
        f"(test accuracy {metrics['accuracy']:.4f})"
    )


if __name__ == "__main__":
    run_stage(main)
