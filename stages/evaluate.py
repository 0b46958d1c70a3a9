"""Stages `evaluate@<dataset>-<arch>` and `lm_evaluate@<corpus>-<arch>`: score a trained model on the test split.

Writes `metrics/<dataset>/<arch>.json` (for `dvc metrics`: the headline scores only, so its table fits a screen),
every other score to `metrics/<dataset>/details/<arch>.json`, and per-example predictions
`reports/<dataset>/predictions/<arch>.csv` (DVC's confusion-matrix plot and the report read them); for a language
model also text samples, `reports/<corpus>/samples/<arch>.json`.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import keras
import numpy as np

from stages import require, run_stage
from stages.data import atomic_write, load_ids, read_json, read_lines, read_vocab, windows, write_json
from stages.metrics import (
    CLASSIFIER_HEADLINE,
    LANGUAGE_MODEL_HEADLINE,
    classification_metrics,
    language_model_metrics,
    write_metrics,
    write_predictions,
)
from stages.params import Params, load_params
from stages.registry import architecture_kwargs, check_architectures, load_model
from stages.sampling import sample
from stages.scoring import classifier_test_scores
from stages.task import Paths, task

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
    write_json(paths.samples / f"{arch}.json", {"prompt": settings.prompt, "samples": samples})
    return language_model_metrics(targets, logits, seq_len)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True, help="a dataset or corpus name from params.yaml")
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    args = parser.parse_args(argv)
    params = check_architectures(load_params())
    kind = task(params, args.dataset)
    architecture_kwargs(params, args.arch, kind.models_section)
    paths, trainer = kind.paths, kind.stage("train", args.arch)
    model_path = paths.models / f"{args.arch}.keras"
    require(
        {
            model_path: trainer,
            paths.models / f"{args.arch}.json": trainer,
            paths.tokenized / ("vocab.json" if kind.language_model else "classes.txt"): kind.stage("tokenize"),
        }
    )
    model, summary = load_model(model_path, trainer), read_json(paths.models / f"{args.arch}.json")
    if kind.language_model:
        metrics = evaluate_language_model(params, args.dataset, args.arch, model)
    else:
        settings = params.datasets[args.dataset].tokenize
        labels, probabilities = classifier_test_scores(model, paths.tokenized, summary["max_len"], settings)
        classes = read_lines(paths.tokenized / "classes.txt")
        metrics = classification_metrics(labels, probabilities, classes)
        write_predictions(paths.predictions / f"{args.arch}.csv", labels, probabilities, classes)
    metrics |= summary
    headline = LANGUAGE_MODEL_HEADLINE if kind.language_model else CLASSIFIER_HEADLINE
    write_metrics(paths.metrics / f"{args.arch}.json", metrics, headline)
    print(
        f"{kind.stage('evaluate', args.arch)}: wrote {paths.metrics / args.arch}.json "
        f"(test accuracy {metrics['accuracy']:.4f})"
    )


if __name__ == "__main__":
    run_stage(main)
