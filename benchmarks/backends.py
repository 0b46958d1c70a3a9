"""Training time of the same models on two kernel sets, side by side on this CPU: TensorFlow with oneDNN off
and on (the train commands in dvc.yaml turn it on), or TensorFlow (oneDNN on) against JAX.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.backends [--compare onednn|jax] [--docs 4000]
        [--epochs 2] [--repeats 2] [--architectures seq_cnn gru]

Copies the project into a temporary git + DVC repository, tokenizes a fixed, stratified IMDB subset there
(`split.train_docs` = --docs) and runs the real train stage, `python -m stages.train --dataset imdb --arch A`,
for `train.epochs` = --epochs, alternating the two settings in each repeat, each in a fresh process (the
variables are read at import). JAX keeps its compiled programs in a cache inside the temporary copy: the
first repeat compiles, later ones load them, as a user's rerun does. `fit s` is the summary's
`train_seconds` (the median over the repeats); `repeats exactly` says whether every repeat of a setting
ended at the same validation loss, and the last column whether the two settings did.
"""

from __future__ import annotations

import argparse
import importlib.util
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
from stages.presets import epoch_cap

# --compare: two settings, each the environment variables its train stages run with (dvc.yaml's: oneDNN on)
COMPARISONS = {
    "onednn": {
        "oneDNN off": {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "0"},
        "oneDNN on": {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"},
    },
    "jax": {
        "tensorflow": {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"},
        "jax": {"KERAS_BACKEND": "jax"},
    },
}


def train(project: Path, arch: str, setting: dict[str, str]) -> tuple[dict, str]:
    """The train stage in a fresh process under `setting`: its summary JSON and its last line (which names
    the backend that trained)."""
    env = os.environ | {"JAX_COMPILATION_CACHE_DIR": str(project / ".jax-cache")} | setting
    command = [sys.executable, "-m", "stages.train", "--dataset", "imdb", "--arch", arch]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"stages.train --arch {arch} failed:\n{result.stderr[-3000:]}")
    summary = json.loads((project / f"data/imdb/models/{arch}.json").read_text())
    return summary, result.stdout.strip().splitlines()[-1]


def row(arch: str, runs: dict[str, list[dict]]) -> str:
    first, second = runs
    seconds = {name: statistics.median(run["train_seconds"] for run in runs[name]) for name in runs}
    accuracy = {name: statistics.median(run["val_accuracy"] for run in runs[name]) for name in runs}
    losses = {name: {run["val_loss"] for run in runs[name]} for name in runs}
    repeated = {name: "-" if len(runs[name]) < 2 else "yes" if len(losses[name]) == 1 else "no" for name in runs}
    repeats = " / ".join(repeated.values())  # "-": one run, nothing to compare
    same = "yes" if losses[first] == losses[second] else "no"
    ratio = seconds[second] / seconds[first]
    cells = [arch, f"{seconds[first]:.1f}", f"{seconds[second]:.1f}", f"{ratio:.2f}"]
    cells += [f"{accuracy[first]:.4f} / {accuracy[second]:.4f}", repeats, same]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", choices=COMPARISONS, default="onednn")
    parser.add_argument("--docs", type=int, default=4000, help="training documents, val share included (0 = all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--architectures", nargs="+", help="default: every one in params.yaml")
    args = parser.parse_args(argv)
    given = f"--compare {args.compare} --docs {args.docs} --epochs {args.epochs} --repeats {args.repeats}"
    if args.docs < 0 or args.epochs < 1 or args.repeats < 1:
        raise SystemExit(f"error: {given}: need docs >= 0 (0 = all), epochs >= 1 and repeats >= 1")
    if args.compare == "jax" and importlib.util.find_spec("jax") is None:
        raise SystemExit("error: --compare jax: JAX is not installed in this environment (pip install jax)")
    absolute_mirror()
    settings = COMPARISONS[args.compare]
    with tempfile.TemporaryDirectory(prefix="rnnlab-backends-") as tmp:
        project = make_project(Path(tmp))
        base = yaml.safe_load((project / "params.yaml").read_text())
        architectures = requested_architectures(base, args.architectures)
        overrides = {"datasets.imdb.split.train_docs": args.docs, "datasets.imdb.split.test_docs": args.docs}
        write_params(project, base, overrides | epoch_cap(base, args.epochs))
        dvc_repro(project, ["tokenize@imdb"])
        rows = []
        for arch in architectures:
            runs: dict[str, list[dict]] = {name: [] for name in settings}
            for _ in range(args.repeats):
                for name, setting in settings.items():
                    summary, reported = train(project, arch, setting)
                    runs[name].append(summary)
                    print(f"{name}: {reported}", file=sys.stderr, flush=True)
            rows.append(row(arch, runs))
    docs = f"{args.docs:,} IMDB training documents" if args.docs else "full IMDB"
    print(f"{hardware(backend=False)}; {docs}, {args.epochs} epochs; ", end="")
    command = given + (f" --architectures {' '.join(args.architectures)}" if args.architectures else "")
    medians = "one run" if args.repeats == 1 else f"medians of {args.repeats} runs"
    print(f"{medians}; {date.today()}.\nCommand: `python -m benchmarks.backends {command}`\n")
    first, second = settings
    print(
        f"| architecture | {first}: fit s | {second}: fit s | {second} / {first} | val accuracy ({first} / {second}) "
        f"| repeats exactly ({first} / {second}) | same result |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
