"""The project's defaults against the reference notebooks' settings, side by side through the same pipeline.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.notebooks [--docs 4000] [--repeats 3]
        [--write docs/benchmarks.md]

Copies the project into a temporary git + DVC repository and limits IMDB to a fixed, stratified,
seeded subset (`split.train_docs` = `split.test_docs` = --docs; 0 = all 25,000 each). Each repeat
runs `dvc repro --no-run-cache` of the evaluate stages three times: every architecture with
params.yaml as it is, then the architectures each preset in presets/ configures, with that preset
applied. Accuracy is the test split's; `fit s` is `train_seconds` (the whole `fit`, validation
included) and `to final s` is `seconds_to_best`: the time until the kept weights existed. The
ratio divides the defaults' time to their final accuracy by the notebook's training time. Repeat r
runs with `seed: r` (its subset, split, initial weights and shuffling), because one seed's accuracy
says little on 4,000 reviews: a SimpleRNN scores anywhere from 0.51 to 0.80 across seeds. Every
figure is a median over the repeats; accuracy also shows the lowest and highest.
Prints a Markdown table; --write replaces (or appends) this backend's section in a Markdown file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import yaml

from stages.params import PRESETS_DIR, apply_overrides, load_preset

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("stages", "presets", "params.yaml", "dvc.yaml", ".dvc/config", ".dvcignore", ".gitignore")
DEFAULTS = "defaults"
# What each lever buys: the defaults with one of them set back to the notebooks' way.
LEVERS = {
    "no length bucketing": {"train.bucketing": False},
    "max_len 500 instead of 256": {"datasets.imdb.tokenize.max_len": 500},
    "pre-padded, unmasked": {"datasets.imdb.tokenize.padding": "pre", "train.mask": False},
    "5 fixed epochs, last weights": {"train.early_stopping": False, "train.epochs": 5},
    "no embedding dropout": {"train.embedding_dropout": 0.0},
}


def make_project(dest: Path) -> Path:
    """A committed git + DVC copy of the project files (no data, no results)."""
    for name in PROJECT_FILES:
        source = ROOT / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    identity = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", *identity, "commit", "-q", "-m", "project"]):
        subprocess.run(command, cwd=dest, check=True)
    return dest


def preset_architectures() -> dict[str, list[str]]:
    """Each preset in presets/ and the architectures it configures (its `architectures.<name>.*` keys)."""
    return {
        path.stem: sorted({key.split(".")[1] for key in load_preset(path.stem) if key.startswith("architectures.")})
        for path in sorted(PRESETS_DIR.glob("*.yaml"))
    }


def run_config(project: Path, base: dict, overrides: dict, architectures: list[str]) -> dict[str, dict]:
    """Write params (base + overrides), reproduce the architectures' evaluate stages, return their metrics."""
    (project / "params.yaml").write_text(yaml.safe_dump(apply_overrides(base, overrides), sort_keys=False))
    targets = [f"evaluate@imdb-{arch}" for arch in architectures]
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # the venv's dvc
    result = subprocess.run(
        ["dvc", "repro", "--no-run-cache", *targets], cwd=project, capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise SystemExit(f"dvc repro {' '.join(targets)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return {arch: json.loads((project / "metrics/imdb" / f"{arch}.json").read_text()) for arch in architectures}


def hardware() -> str:
    """CPU model and cores, plus the GPU when the backend sees one."""
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and (match := re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())):
        cpu = match.group(1).strip()
    import keras

    backend = keras.backend.backend()
    gpus = []
    if backend == "jax":
        import jax

        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    device = f"{len(gpus)} x {gpus[0]}" if gpus else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {device}; Keras {keras.__version__} on {backend}"


Runs = list[dict[str, dict[str, dict]]]  # per repeat: configuration -> architecture -> metrics


def median_of(runs: Runs, config: str, arch: str, key: str) -> float:
    """A metric's median over the repeats that ran `config`."""
    return statistics.median(run[config][arch][key] for run in runs if config in run)


def table(runs: Runs, presets: dict[str, list[str]]) -> list[str]:
    """One row per architecture: its defaults against its notebook preset (medians over the repeats)."""

    def median(config: str, arch: str, key: str) -> float:
        return median_of(runs, config, arch, key)

    def accuracy(config: str, arch: str) -> str:
        scores = [run[config][arch]["accuracy"] for run in runs if config in run]
        spread = f" ({min(scores):.3f}-{max(scores):.3f})" if len(scores) > 1 else ""
        return f"{statistics.median(scores):.4f}{spread}"

    rows = [
        "| architecture | notebook preset | notebook accuracy (lowest-highest) | notebook fit s | rnnlab accuracy "
        "(lowest-highest) | rnnlab to final s (fit s) | time ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arch in runs[0][DEFAULTS]:
        ours = f"{accuracy(DEFAULTS, arch)} | {median(DEFAULTS, arch, 'seconds_to_best'):.1f} " + (
            f"({median(DEFAULTS, arch, 'train_seconds'):.1f})"
        )
        matched = [preset for preset, architectures in presets.items() if arch in architectures]
        if not matched:
            rows.append(f"| {arch} | none | | | {ours} | |")
        for preset in matched:
            theirs = median(preset, arch, "train_seconds")
            ratio = median(DEFAULTS, arch, "seconds_to_best") / theirs
            rows.append(f"| {arch} | {preset} | {accuracy(preset, arch)} | {theirs:.1f} | {ours} | {ratio:.2f} |")
    return rows


def lever_table(runs: Runs) -> list[str]:
    """One row per lever: the defaults with it reverted, against the defaults, over every architecture
    (medians over the repeats that ran the lever)."""
    rows = [
        "| reverted to the notebooks' way | test accuracy change: median (lowest, highest) | "
        "time to final accuracy x | fit time x |",
        "| --- | --- | --- | --- |",
    ]
    architectures = list(runs[0][DEFAULTS])
    for lever in (name for name in runs[0] if name in LEVERS):
        measured = [run for run in runs if lever in run]  # the defaults of the same repeats

        def median(config: str, arch: str, key: str, measured: Runs = measured) -> float:
            return median_of(measured, config, arch, key)

        change = {a: median(lever, a, "accuracy") - median(DEFAULTS, a, "accuracy") for a in architectures}
        lowest, highest = min(change, key=change.get), max(change, key=change.get)
        to_final, fit = (
            statistics.median(median(lever, a, key) / median(DEFAULTS, a, key) for a in architectures)
            for key in ("seconds_to_best", "train_seconds")
        )
        rows.append(
            f"| {lever} | {statistics.median(change.values()):+.4f} ({lowest} {change[lowest]:+.4f}, {highest} "
            f"{change[highest]:+.4f}) | {to_final:.2f} | {fit:.2f} |"
        )
    return rows


def write_section(path: Path, label: str, lines: list[str]) -> None:
    """Replace the section between this label's markers, or append it."""
    begin, end = f"<!-- benchmarks.notebooks {label} -->", f"<!-- /benchmarks.notebooks {label} -->"
    block = "\n".join([begin, *lines, end])
    text = path.read_text() if path.is_file() else ""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000, help="train and test documents (0 = all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levers", type=int, default=0, help="in this many repeats, also run each lever reverted")
    parser.add_argument("--write", type=Path, help="Markdown file whose section for this backend is replaced")
    args = parser.parse_args()
    if args.docs < 0 or args.repeats < 1 or not 0 <= args.levers <= args.repeats:
        raise SystemExit(
            f"error: --docs {args.docs} --repeats {args.repeats} --levers {args.levers}: "
            "need docs >= 0 (0 = all), repeats >= 1 and 0 <= levers <= repeats"
        )
    if mirror := os.environ.get("RNNLAB_DATA_MIRROR"):  # the stages run in a temporary copy of the project
        os.environ["RNNLAB_DATA_MIRROR"] = str(Path(mirror).resolve())
    subset = {"datasets.imdb.split.train_docs": args.docs, "datasets.imdb.split.test_docs": args.docs}
    with tempfile.TemporaryDirectory(prefix="rnnlab-notebooks-") as tmp:
        project = make_project(Path(tmp))
        os.chdir(project)  # presets and params are read from the copy
        base = yaml.safe_load(Path("params.yaml").read_text())
        presets = preset_architectures()
        configs = {DEFAULTS: ({}, list(base["architectures"]))}
        configs |= {name: (load_preset(name), architectures) for name, architectures in presets.items()}
        levers = {name: (overrides, configs[DEFAULTS][1]) for name, overrides in LEVERS.items()}
        runs = []
        for repeat in range(args.repeats):
            runs.append({})
            for config, (overrides, architectures) in (configs | (levers if repeat < args.levers else {})).items():
                print(f"seed {repeat}: {config} ({', '.join(architectures)})", file=sys.stderr)
                runs[-1][config] = run_config(project, base, subset | {"seed": repeat} | overrides, architectures)
        os.chdir(ROOT)
    docs = f"{args.docs:,} train and {args.docs:,} test documents" if args.docs else "full IMDB (25,000 / 25,000)"
    lines = [
        f"{hardware()}; {docs}; medians of {args.repeats} runs (seeds 0-{args.repeats - 1}); {date.today()}.",
        f"Command: `python -m benchmarks.notebooks --docs {args.docs} --repeats {args.repeats}"
        f"{f' --levers {args.levers}' if args.levers else ''}`",
        "",
        *table(runs, presets),
        *(
            ["", "What each lever buys (ratios above 1: reverting it costs time):", "", *lever_table(runs)]
            if args.levers
            else []
        ),
    ]
    print("\n".join(lines))
    if args.write:
        import keras

        write_section(args.write, keras.backend.backend(), lines)


if __name__ == "__main__":
    main()
