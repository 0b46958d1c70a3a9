"""Validation loss, accuracy and training time of every language model, on this machine's backend.

    python -m benchmarks.language_model [--corpus shakespeare] [--arch gru ...] [--committed]

Run from the repository root after `dvc repro lm_tokenize@shakespeare` (or with its tokenized arrays
copied in): trains each architecture of `language_models` with the `lm_train` settings, exactly as
the `lm_train@` stage does, but writes nothing into the project. Prints a Markdown table with the
backend and device. On a GPU machine without TensorFlow, `KERAS_BACKEND=jax` runs it. `--committed`
prints the same table from the last `dvc repro`'s training summaries instead of training.
"""

from __future__ import annotations

import argparse
import math
import platform

import keras

from stages.data import read_json
from stages.params import load_params
from stages.registry import check_architectures
from stages.task import Paths
from stages.train import train_language_model


def device() -> str:
    """The accelerator Keras trains on, or the CPU."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()[0].device_kind
    return f"{platform.processor() or platform.machine()} CPU"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="shakespeare")
    parser.add_argument("--arch", nargs="*", help="default: every entry of language_models")
    parser.add_argument("--committed", action="store_true", help="the last dvc repro's summaries; no training")
    args = parser.parse_args(argv)
    params = check_architectures(load_params())
    rows = []
    for arch in args.arch or list(params.language_models):
        if args.committed:
            summary = read_json(Paths(args.corpus).models / f"{arch}.json")
        else:
            _, summary = train_language_model(params, args.corpus, arch, [])
        rows.append((arch, summary))
    backend = rows[0][1]["backend"] if args.committed else keras.backend.backend()
    print(f"\n{args.corpus}, backend {backend}, {'the last dvc repro' if args.committed else device()}\n")
    print("| model | val loss (nats/char) | val bits/char | val accuracy | epochs (best) | train s | s/epoch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for arch, s in rows:
        print(
            f"| {arch} | {s['val_loss']:.4f} | {s['val_loss'] / math.log(2):.4f} | {s['val_accuracy']:.4f} | "
            f"{s['epochs']} ({s['best_epoch']}) | {s['train_seconds']:.1f} | {s['train_seconds'] / s['epochs']:.1f} |"
        )


if __name__ == "__main__":
    main()
