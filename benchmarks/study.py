"""Wall time of the whole study, stage by stage, for two parameter sets side by side on this machine.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.study [--presets defaults_2026_12 params]
        [--epochs N --epochs-from REV REV]

Each side is a preset of `presets/` applied to params.yaml, or `params` for params.yaml as it is. For each
side in turn the project is copied into a temporary git + DVC repository with an empty DVC cache of its own,
and `dvc repro` runs the whole study there, as a user's first run does. A stage's seconds run from DVC's
`Running stage` line to the next one (process start-up, DVC's own work and the report stages included).
The table has every stage, each side's seconds, their ratio and the score each reached: test accuracy for
a classifier's evaluate stage, test cross-entropy (nats/char) for a language model's, validation accuracy
or loss for train stages.

Where one sitting cannot hold both full studies, `--epochs N` caps every training at N epochs on both
sides and `--epochs-from` names, for each side, a git revision whose committed metrics hold the epochs its
full run trained: a train stage's full time is then estimated as its capped time plus its measured seconds
per epoch times the epochs it did not run. Those rows and the totals say `(est.)`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.notebooks import ROOT, absolute_mirror, make_project, run_header, write_params
from stages import run_stage
from stages.data import read_json
from stages.metrics import details_path
from stages.params import read_yaml
from stages.presets import apply_overrides, epoch_cap, load_preset
from stages.task import Paths

PARAMS = "params"  # --presets name for params.yaml unchanged
STAGE_LINE = re.compile(r"^Running stage '([^']+)':")


def side_overrides(name: str, epochs: int | None) -> dict:
    """A preset's overrides (none for `params`), with every training capped at `epochs` when given."""
    overrides = {} if name == PARAMS else load_preset(name)
    if epochs:
        overrides |= epoch_cap(apply_overrides(read_yaml(ROOT / "params.yaml"), overrides), epochs)
    return overrides


def timed_repro(project: Path, targets: list[str] | None = None) -> dict[str, float]:
    """`dvc repro` of the whole study (or of `targets`), streamed: seconds per stage, in the order DVC ran them."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        ["dvc", "repro", "--no-run-cache", *(targets or [])],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds, current, started, tail = {}, None, time.perf_counter(), []
    for line in process.stdout:
        tail = [*tail[-40:], line]
        if match := STAGE_LINE.match(line):
            now = time.perf_counter()
            if current:
                seconds[current] = now - started
            current, started = match.group(1), now
    if process.wait() != 0:
        raise SystemExit(f"error: dvc repro failed in {project}:\n{''.join(tail)}")
    if current:
        seconds[current] = time.perf_counter() - started
    return seconds


def stage_parts(stage: str) -> tuple[str, Paths, str]:
    """`train@imdb-gru` -> ("train", the dataset's Paths, "gru"); the arch is empty for per-dataset stages."""
    kind, _, item = stage.partition("@")
    dataset, _, arch = item.partition("-")
    return kind, Paths(dataset), arch


def score(project: Path, stage: str) -> tuple[str, dict | None]:
    """The score a stage reached, as text, and its training summary (train stages)."""
    kind, paths, arch = stage_parts(stage)
    if kind == "baseline":
        return f"test acc {read_json(project / paths.metrics / 'baseline.json')['accuracy']:.4f}", None
    if kind in {"evaluate", "lm_evaluate"}:
        metrics = read_json(project / paths.metrics / f"{arch}.json")
        value = metrics["cross_entropy"] if kind == "lm_evaluate" else metrics["accuracy"]
        return f"{'test ce' if kind == 'lm_evaluate' else 'test acc'} {value:.4f}", None
    if kind not in {"train", "lm_train"}:
        return "", None
    summary = read_json(project / paths.models / f"{arch}.json")
    value = f"val loss {summary['val_loss']:.4f}" if kind == "lm_train" else f"val acc {summary['val_accuracy']:.4f}"
    return f"{value}, {summary['epochs']} ep", summary


def full_epochs(revision: str, stage: str) -> int:
    """The epochs a train stage ran in the full study committed at `revision`: its metrics details file, or
    its metrics file at a revision from before the details were split out."""
    _, paths, arch = stage_parts(stage)
    metrics_path = paths.metrics / f"{arch}.json"
    for path in (details_path(metrics_path).as_posix(), metrics_path.as_posix()):
        shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            return json.loads(shown.stdout)["epochs"]
    raise SystemExit(f"error: --epochs-from {revision}: no {path} there ({shown.stderr.strip()})")


def run_side(name: str, epochs: int | None, revision: str | None) -> dict[str, tuple[float, str, bool]]:
    """One side's study: stage -> (seconds, score, estimated)."""
    with tempfile.TemporaryDirectory(prefix=f"rnnlab-study-{name}-") as folder:
        project = make_project(Path(folder))
        write_params(project, read_yaml(project / "params.yaml"), side_overrides(name, epochs))
        rows = {}
        for stage, seconds in timed_repro(project).items():
            text, summary = score(project, stage)
            estimated = bool(revision and summary)
            if estimated:
                seconds += (
                    summary["train_seconds"] / summary["epochs"] * (full_epochs(revision, stage) - summary["epochs"])
                )
            rows[stage] = (seconds, text, estimated)
        return rows


def table(names: list[str], sides: list[dict]) -> list[str]:
    """The Markdown table: one row per stage either side ran, then the whole study's minutes and ratio."""
    first, second = sides
    lines = [f"| stage | {names[0]} s | {names[1]} s | ratio | {names[0]} score | {names[1]} score |"]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for stage in [*first, *(s for s in second if s not in first)]:
        a, b = first.get(stage, (0.0, "", False)), second.get(stage, (0.0, "", False))
        cell = [f"{side[0]:.0f}{' (est.)' if side[2] else ''}" if side[0] else "-" for side in (a, b)]
        ratio = f"{b[0] / a[0]:.2f}" if a[0] and b[0] else "-"
        lines.append(f"| {stage} | {cell[0]} | {cell[1]} | {ratio} | {a[1]} | {b[1]} |")
    totals = [sum(side[0] for side in rows.values()) for rows in sides]
    estimated = [" (est.)" if any(side[2] for side in rows.values()) else "" for rows in sides]
    lines.append(
        f"| **whole study** | **{totals[0] / 60:.1f} min{estimated[0]}** | **{totals[1] / 60:.1f} min{estimated[1]}** "
        f"| **{totals[1] / totals[0]:.2f}** | | |"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs=2, default=["defaults_2026_12", PARAMS], metavar="NAME")
    parser.add_argument("--epochs", type=int, help="cap every training at this many epochs on both sides")
    parser.add_argument("--epochs-from", nargs=2, metavar="REV", help="with --epochs: each side's full-run revision")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        raise SystemExit(f"error: --epochs {args.epochs}: need 1 or more")
    if args.epochs_from and not args.epochs:
        raise SystemExit("error: --epochs-from needs --epochs (the cap whose runs it extrapolates)")
    for revision in args.epochs_from or []:
        if subprocess.run(["git", "rev-parse", "--verify", "-q", f"{revision}^{{commit}}"], cwd=ROOT).returncode:
            raise SystemExit(f"error: --epochs-from {revision}: not a git revision of this repository")
    for name in args.presets:
        if name != PARAMS:
            load_preset(name)  # a missing or stale preset fails before any work
    absolute_mirror()
    sides = [run_side(name, args.epochs, (args.epochs_from or [None, None])[i]) for i, name in enumerate(args.presets)]
    print(run_header("benchmarks.study", argv))
    print("\n".join(table(args.presets, sides)))


if __name__ == "__main__":
    run_stage(main)
