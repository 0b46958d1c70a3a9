"""Texts per second of `stages.predict` on real test reviews, for each trained architecture.

    python -m benchmarks.predict_throughput [--texts 10000] [--arch gru ...]

Run from the repository root after `dvc repro`; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from stages.params import load_params
from stages.predict import Predictor
from stages.sources import read_records
from stages.task import Paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--arch", nargs="*", help="default: every architecture in params.yaml")
    args = parser.parse_args()
    params = load_params()
    test = [
        text for split, text, _ in read_records(params.datasets["imdb"].source, Paths("imdb").raw) if split == "test"
    ]
    texts = test[:: len(test) // args.texts][: args.texts]
    print(f"{len(texts):,} IMDB test reviews, {platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print("| architecture | load s | predict s | texts/s |\n| --- | --- | --- | --- |")
    for arch in args.arch or list(params.architectures):
        started = time.perf_counter()
        predictor = Predictor("imdb", arch)
        loaded = time.perf_counter()
        predictor.predict(texts)
        done = time.perf_counter()
        print(f"| {arch} | {loaded - started:.1f} | {done - loaded:.1f} | {len(texts) / (done - loaded):,.0f} |")


if __name__ == "__main__":
    main()
