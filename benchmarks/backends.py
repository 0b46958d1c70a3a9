"""Training time with TensorFlow's oneDNN kernels off and on (the train stage's default), side by side on this CPU.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.onednn [--docs 4000] [--epochs 2] [--repeats 2]
        [--architectures seq_cnn gru]

Copies the project into a temporary git + DVC repository, tokenizes a fixed, stratified IMDB subset there
(`split.train_docs` = --docs) and runs the real train stage, `python -m stages.train --dataset imdb --arch A`,
for `train.epochs` = --epochs, alternating TF_ENABLE_ONEDNN_OPTS=0 and 1 in each repeat. `fit s` is the
summary's `train_seconds` (the median over the repeats); `repeats exactly` says whether every repeat of a
setting ended at the same validation loss, and the last column whether the two settings did.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import yaml

from benchmarks.notebooks import (
    absolute_mirror,
    dvc_repro,
    hardware,
    make_project,
    requested_architectures,
    write_params,
)

SETTINGS = {"off": "0", "on": "1"}  # TF_ENABLE_ONEDNN_OPTS


def train(project: Path, arch: str, onednn: str) -> dict:
    """The train stage in a fresh process (TensorFlow reads the variable at import); its summary JSON."""
    env = os.environ | {"TF_ENABLE_ONEDNN_OPTS": onednn}
    command = [sys.executable, "-m", "stages.train", "--dataset", "imdb", "--arch", arch]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"stages.train --arch {arch} failed:\n{result.stderr[-3000:]}")
    return json.loads((project / f"data/imdb/models/{arch}.json").read_text())


def row(arch: str, runs: dict[str, list[dict]]) -> str:
    seconds = {name: statistics.median(run["train_seconds"] for run in runs[name]) for name in SETTINGS}
    losses = {name: {run["val_loss"] for run in runs[name]} for name in SETTINGS}
    repeated = {name: "-" if len(runs[name]) < 2 else "yes" if len(losses[name]) == 1 else "no" for name in SETTINGS}
    repeats = " / ".join(repeated.values())  # "-": one run, nothing to compare
    same = "yes" if losses["off"] == losses["on"] else "no"
    ratio = seconds["on"] / seconds["off"]
    return f"| {arch} | {seconds['off']:.1f} | {seconds['on']:.1f} | {ratio:.2f} | {repeats} | {same} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000, help="training documents, val share included (0 = all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--architectures", nargs="+", help="default: every one in params.yaml")
    args = parser.parse_args()
    given = f"--docs {args.docs} --epochs {args.epochs} --repeats {args.repeats}"
    if args.docs < 0 or args.epochs < 1 or args.repeats < 1:
        raise SystemExit(f"error: {given}: need docs >= 0 (0 = all), epochs >= 1 and repeats >= 1")
    absolute_mirror()
    with tempfile.TemporaryDirectory(prefix="rnnlab-onednn-") as tmp:
        project = make_project(Path(tmp))
        base = yaml.safe_load((project / "params.yaml").read_text())
        architectures = requested_architectures(base, args.architectures)
        overrides = {"datasets.imdb.split.train_docs": args.docs, "datasets.imdb.split.test_docs": args.docs}
        write_params(project, base, overrides | {"train.epochs": args.epochs})
        dvc_repro(project, ["tokenize@imdb"])
        rows = []
        for arch in architectures:
            runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
            for _ in range(args.repeats):
                for name, value in SETTINGS.items():
                    runs[name].append(train(project, arch, value))
                    print(f"{arch} oneDNN {name}: {runs[name][-1]['train_seconds']} s", file=sys.stderr, flush=True)
            rows.append(row(arch, runs))
    docs = f"{args.docs:,} IMDB training documents" if args.docs else "full IMDB"
    print(f"{hardware()}; {docs}, {args.epochs} epochs; ", end="")
    command = given + (f" --architectures {' '.join(args.architectures)}" if args.architectures else "")
    print(f"medians of {args.repeats} runs; {date.today()}.\nCommand: `python -m benchmarks.onednn {command}`\n")
    print("| architecture | oneDNN off: fit s | on: fit s | on / off | repeats exactly (off / on) | same result |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
