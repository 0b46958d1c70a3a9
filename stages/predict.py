"""Classify new texts with a trained model, tokenized exactly as in training.

    python -m stages.predict --dataset imdb --arch gru "An absolute delight." "Two hours I will never get back."
    cat reviews.txt | python -m stages.predict --dataset imdb --arch gru     # one text per line
    python -m stages.predict --dataset imdb --arch gru --file reviews.txt

Prints one JSON line per text: label, probability per class, and the model file used.
From Python: `Predictor("imdb", "gru").predict(texts)`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from stages import UserError, run_stage
from stages.data import CLASS_NAMES, DATASET, MODELS_DIR, TOKENIZED_DIR
from stages.evaluate import load_model
from stages.params import architecture_kwargs, load_params
from stages.tokenize import encode, fill_empty, pad, words

BATCH = 1024
NO_TEXTS = "no texts given: pass them as arguments, one per line on stdin, or with --file"


class Predictor:
    """A trained model plus the tokenize stage's vocabulary and settings, loaded once."""

    def __init__(self, dataset: str, arch: str):
        if dataset != DATASET:
            raise UserError(f"--dataset {dataset}: unknown dataset; allowed: {DATASET}")
        params = load_params()
        architecture_kwargs(params, arch)
        self.settings = params.tokenize
        self.model_path = MODELS_DIR / f"{arch}.keras"
        vocab_path = TOKENIZED_DIR / "vocab.txt"
        for path in (self.model_path, vocab_path):
            if not path.is_file():
                raise UserError(f"{path}: missing; train first with `dvc repro evaluate@{arch}`")
        self.vocab = vocab_path.read_text().splitlines()
        self.model = load_model(self.model_path, arch)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(class) for each text, shape (len(texts), classes), in batched model calls."""
        if not texts:
            raise UserError(NO_TEXTS)
        sequences = encode((words(t, self.settings.lowercase) for t in texts), self.vocab)
        ids = pad(fill_empty(sequences), self.settings)  # the same steps as the tokenize stage
        positive = self.model.predict(ids, batch_size=BATCH, verbose=0).reshape(-1).astype(np.float64)
        return np.stack([1 - positive, positive], axis=1)

    def predict(self, texts: list[str]) -> list[dict]:
        """One result per text: the label, each class's probability, and the model used."""
        return [
            {
                "text": text,
                "label": CLASS_NAMES[int(np.argmax(row))],
                "probabilities": {name: round(float(p), 4) for name, p in zip(CLASS_NAMES, row)},
                "model": str(self.model_path),
            }
            for text, row in zip(texts, self.probabilities(texts))
        ]


def read_texts(args: argparse.Namespace) -> list[str]:
    """Texts from arguments, else from --file, else one per line from stdin; blank lines are skipped."""
    if args.texts:
        return args.texts
    if args.file:
        try:
            lines = Path(args.file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise UserError(f"--file {args.file}: cannot read ({exc.strerror})") from None
    elif not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
    else:
        lines = []
    return [line for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, help=f"dataset the model was trained on (default {DATASET})")
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    parser.add_argument("--file", help="a text file, one text per line")
    parser.add_argument("texts", nargs="*", help="texts to classify")
    args = parser.parse_args(argv)
    texts = read_texts(args)
    if not texts:
        raise UserError(NO_TEXTS)
    for result in Predictor(args.dataset, args.arch).predict(texts):
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    run_stage(main)
