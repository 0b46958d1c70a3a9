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
import os
import sys
from pathlib import Path

import numpy as np

from stages import UserError, require, run_stage
from stages.data import read_json, read_lines
from stages.params import dataset_params, load_params
from stages.registry import architecture_kwargs, check_architectures, load_model
from stages.scoring import BATCH_VALUES, probabilities_by_length
from stages.task import Task
from stages.text import encode, fill_empty, pad, words

NO_TEXTS = "no texts given: pass them as arguments, one per line on stdin, or with --file"


class Predictor:
    """A trained model plus the tokenize stage's vocabulary and settings, loaded once."""

    def __init__(self, dataset: str, arch: str):
        params = check_architectures(load_params())
        settings, kind = dataset_params(params, dataset), Task(dataset, language_model=False)
        architecture_kwargs(params, arch)
        paths, stage, tokenize = kind.paths, kind.stage("train", arch), kind.stage("tokenize")
        self.model_path = paths.models / f"{arch}.keras"
        require(
            {
                self.model_path: stage,
                paths.models / f"{arch}.json": stage,
                paths.tokenized / "vocab.txt": tokenize,
                paths.tokenized / "classes.txt": tokenize,
            }
        )
        max_len = read_json(paths.models / f"{arch}.json")["max_len"]  # the length the model was trained at
        self.settings = settings.tokenize.model_copy(update={"max_len": max_len})
        self.batch_values = BATCH_VALUES  # embedding values per model call
        self.vocab = read_lines(paths.tokenized / "vocab.txt")
        self.classes = read_lines(paths.tokenized / "classes.txt")
        self.model = load_model(self.model_path, stage)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(class) for each text, shape (len(texts), classes), in batched model calls."""
        if not texts:
            raise UserError(NO_TEXTS)
        sequences = fill_empty(encode((words(t, self.settings.lowercase) for t in texts), self.vocab))
        ids = pad(sequences, self.settings)  # the same steps as the tokenize stage
        lengths = np.minimum([len(s) for s in sequences], self.settings.max_len)
        return probabilities_by_length(self.model, ids, lengths, self.settings.padding == "pre", self.batch_values)

    def predict(self, texts: list[str]) -> list[dict]:
        """One result per text: the label, each class's probability, and the model used."""
        return [
            {
                "text": text,
                "label": self.classes[int(np.argmax(row))],
                "probabilities": {name: round(float(p), 4) for name, p in zip(self.classes, row)},
                "model": str(self.model_path),
            }
            for text, row in zip(texts, self.probabilities(texts))
        ]


def read_texts(args: argparse.Namespace) -> list[str]:
    """Texts from arguments, else from --file, else one per line from stdin; blank ones are skipped. Lines end at
    `\n` alone (a form feed or U+2028 is part of a text), and bytes that are not UTF-8 become U+FFFD, as in training."""
    if args.texts:  # an argument's undecodable bytes reach Python as surrogates: back to bytes, then replaced
        texts = (os.fsencode(text).decode("utf-8", errors="replace") for text in args.texts)
        return [text for text in texts if text.strip()]
    if args.file:
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise UserError(f"--file {args.file}: cannot read ({exc.strerror})") from None
    elif not sys.stdin.isatty():
        # the bytes, not the text the locale decodes (which keeps undecodable bytes to write them back out)
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        data = b""
    lines = (line.removesuffix("\r") for line in data.decode("utf-8", errors="replace").split("\n"))
    return [line for line in lines if line.strip()]


# JSON strings may hold these raw, but line readers split on them: escaped, each result stays on one line
LINE_SEPARATORS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", help="dataset the model was trained on (default: the first in params.yaml)")
    parser.add_argument("--arch", required=True, help="an architecture name from params.yaml")
    parser.add_argument("--file", help="a text file, one text per line")
    parser.add_argument("texts", nargs="*", help="texts to classify")
    args = parser.parse_args(argv)
    texts = read_texts(args)
    if not texts:
        raise UserError(NO_TEXTS)
    dataset = args.dataset or next(iter(load_params().datasets))
    for result in Predictor(dataset, args.arch).predict(texts):
        print(json.dumps(result, ensure_ascii=False).translate(LINE_SEPARATORS))


if __name__ == "__main__":
    run_stage(main)
