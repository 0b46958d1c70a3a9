"""Short texts in several classes: the TF-IDF row and every architecture on IMDB's star ratings, each review cut
to its first words, with params.yaml's defaults.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.short_texts [--words 30] [--architectures NAME ...]

IMDB names each review `<id>_<stars>.txt` (1 to 4 stars negative, 7 to 10 positive). The benchmark copies the
project into a temporary git + DVC repository, runs `download@imdb` there, and writes a CSV of each review's first
`--words` words labelled by its stars in four classes (1-2, 3-4, 7-8, 9-10), IMDB's train/test split kept. That
table joins params.yaml as the dataset `short` with no other change, as a user's own short texts would; then
`dvc repro` trains and evaluates the baseline and every architecture on it. The table gives each model's test
accuracy, macro F1 and seconds (its train and evaluate stages, process start-up included).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks.notebooks import ROOT, absolute_mirror, make_project, requested_architectures, run_header, write_params
from benchmarks.study import timed_repro
from stages import run_stage
from stages.data import read_json
from stages.params import read_yaml
from stages.report import BASELINE
from stages.sources import folder_documents
from stages.task import Paths, Task
from stages.text import words

DATASET = "short"
STAR_CLASSES = {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 7: "7-8", 8: "7-8", 9: "9-10", 10: "9-10"}


def short_text_rows(archive: Path, length: int) -> Iterator[dict[str, str]]:
    """One row per labelled review in IMDB's archive (`aclImdb/{train,test}/{neg,pos}`): its first `length` words
    (as the tokenizer splits them), its star class and its split."""
    for split, _, name, text in folder_documents(archive, "aclImdb", ["neg", "pos"]):
        stars = int(name.removesuffix(".txt").rpartition("_")[2])
        yield {"text": " ".join(words(text, lowercase=False)[:length]), "label": STAR_CLASSES[stars], "split": split}


def write_short_texts(project: Path, length: int) -> dict:
    """The CSV in the project copy, and its entry for params.yaml's `datasets`."""
    table = project / "inputs" / f"{DATASET}.csv"
    table.parent.mkdir()
    with open(table, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["text", "label", "split"])
        writer.writeheader()
        writer.writerows(short_text_rows(project / Paths("imdb").raw / "aclImdb_v1.tar.gz", length))
    source = {"url": f"inputs/{DATASET}.csv", "format": "csv", "split_column": "split"}
    return {"source": source, "split": {"val_fraction": 0.1}}


def measure(length: int, architectures: list[str]) -> list[tuple[str, float, float, float]]:
    """(model, test accuracy, macro F1, seconds) for the baseline and each architecture, on a fresh project copy."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-short-texts-") as folder:
        project = make_project(Path(folder))
        timed_repro(project, ["download@imdb"])
        params = read_yaml(project / "params.yaml")
        params["architectures"] = {name: params["architectures"][name] for name in architectures}
        params["datasets"][DATASET] = write_short_texts(project, length)
        write_params(project, params, {})
        kind = Task(DATASET, language_model=False)
        targets = [kind.stage("baseline"), *(kind.stage("evaluate", arch) for arch in architectures)]
        seconds = timed_repro(project, targets)
        rows = []
        for name in ["baseline", *architectures]:
            metrics = read_json(project / kind.paths.metrics / f"{name}.json")
            steps = [("baseline", "")] if name == "baseline" else [("train", name), ("evaluate", name)]
            spent = sum(seconds[kind.stage(*step)] for step in steps)
            rows.append((BASELINE if name == "baseline" else name, metrics["accuracy"], metrics["f1"], spent))
        return rows


def table(rows: list[tuple[str, float, float, float]]) -> list[str]:
    """The Markdown table, one row per model in the order measured."""
    lines = ["| model | test accuracy | macro F1 | seconds |", "| --- | --- | --- | --- |"]
    return lines + [f"| {name} | {accuracy:.4f} | {f1:.4f} | {seconds:.0f} |" for name, accuracy, f1, seconds in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=30, help="words kept from the start of each review")
    parser.add_argument("--architectures", nargs="+", metavar="NAME", help="default: every one in params.yaml")
    args = parser.parse_args(argv)
    if args.words < 1:
        raise SystemExit(f"error: --words {args.words}: need 1 or more")
    architectures = requested_architectures(read_yaml(ROOT / "params.yaml"), args.architectures)
    absolute_mirror()
    rows = measure(args.words, architectures)
    print(run_header("benchmarks.short_texts", argv))
    print("\n".join(table(rows)))


if __name__ == "__main__":
    run_stage(main)
