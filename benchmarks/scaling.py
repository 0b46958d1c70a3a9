"""How each stage's wall time and peak memory grow with the number of documents.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.scaling [--base 5000] [--factors 1 2 4] [--arch lstm]
        [--copies 1 10]

Copies the project into a temporary folder, downloads once (from the mirror), then for each
factor runs tokenize, baseline, train (one epoch) and evaluate as the pipeline would, with
`split.train_docs` = `split.test_docs` = base x factor. Then, for each of `--copies`, writes all
50,000 IMDB reviews that many times into one JSON Lines dataset and tokenizes it: a corpus ten
times IMDB's size. Each stage is its own process; its peak resident memory is that process's
maximum RSS. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from stages.params import Source
from stages.presets import apply_overrides, epoch_cap
from stages.sources import read_records

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("stages", "params.yaml", "dvc.yaml")


def run_stage(project: Path, module: str, *args: str) -> tuple[float, float]:
    """Wall seconds and peak MiB (the process's maximum RSS) of one stage process, started as DVC starts it."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        env = os.environ | {"TF_ENABLE_ONEDNN_OPTS": "1" if module == "stages.train" else "0"}  # as dvc.yaml sets it
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)  # this child's own resource usage
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:  # a stage's own error is its last line (TensorFlow logs come before it)
            errors.seek(0)
            last = (errors.read().strip().splitlines() or [f"exit status {process.returncode}"])[-1]
            raise SystemExit(f"error: {module} failed: {last.removeprefix('error: ')}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=5000, help="documents per split at factor 1")
    parser.add_argument("--factors", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 10], help="IMDB copies to tokenize")
    args = parser.parse_args()
    if mirror := os.environ.get("RNNLAB_DATA_MIRROR"):  # the stages run in a temporary copy of the project
        os.environ["RNNLAB_DATA_MIRROR"] = str(Path(mirror).resolve())
    with tempfile.TemporaryDirectory(prefix="rnnlab-scaling-") as tmp:
        project = Path(tmp)
        for name in PROJECT_FILES:
            source = ROOT / name
            copy = shutil.copytree if source.is_dir() else shutil.copy2
            copy(source, project / name)
        run_stage(project, "stages.download", "--dataset", "imdb")
        rows = []
        for factor in args.factors:
            documents = args.base * factor
            params = yaml.safe_load((project / "params.yaml").read_text())
            split = {"datasets.imdb.split.train_docs": documents, "datasets.imdb.split.test_docs": documents}
            params = apply_overrides(params, split | epoch_cap(params, 1))
            (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            for module, stage_args in (
                ("stages.tokenize", ()),
                ("stages.baseline", ()),
                ("stages.train", ("--arch", args.arch)),
                ("stages.evaluate", ("--arch", args.arch)),
            ):
                seconds, peak = run_stage(project, module, "--dataset", "imdb", *stage_args)
                rows.append((documents, module.removeprefix("stages."), seconds, peak))
        big = [(copies, *tokenize_copies(project, copies)) for copies in args.copies]
    print(f"{platform.machine()}, {os.cpu_count()} cores, train = test documents, train 1 epoch of {args.arch}\n")
    print("| documents per split | stage | wall s | peak MiB |\n| --- | --- | --- | --- |")
    for documents, stage, seconds, peak in sorted(rows, key=lambda row: (row[1], row[0])):
        print(f"| {documents:,} | {stage} | {seconds:.1f} | {peak:,.0f} |")
    print("\n| IMDB copies | documents | tokenize wall s | peak MiB |\n| --- | --- | --- | --- |")
    for copies, seconds, peak in big:
        print(f"| {copies} | {copies * 50_000:,} | {seconds:.1f} | {peak:,.0f} |")


def tokenize_copies(project: Path, copies: int) -> tuple[float, float]:
    """Tokenize a JSON Lines dataset holding every IMDB review `copies` times (written by streaming)."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    imdb = params["datasets"]["imdb"]
    table = project / "inputs" / f"imdb_x{copies}.jsonl"
    table.parent.mkdir(exist_ok=True)
    with open(table, "w") as out:
        for _ in range(copies):
            for _, text, label in read_records(Source.model_validate(imdb["source"]), project / "data/imdb/raw"):
                out.write(json.dumps({"text": text, "label": label}) + "\n")
    name = f"imdb_x{copies}"
    params["datasets"][name] = {
        "source": {"url": str(table), "format": "jsonl"},
        "split": {"val_fraction": 0.1, "test_fraction": 0.5},
        "tokenize": imdb["tokenize"],
    }
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_stage(project, "stages.download", "--dataset", name)
    return run_stage(project, "stages.tokenize", "--dataset", name)


if __name__ == "__main__":
    main()
