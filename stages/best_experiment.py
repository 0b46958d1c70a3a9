"""Pick the experiment with the best validation score for one architecture, and optionally apply it.

    python -m stages.best_experiment --arch lstm --apply

Selection reads `val_accuracy` or `val_loss` (the validation split carved from train),
never a test metric, so the test score of the chosen experiment stays an honest estimate.
"""

from __future__ import annotations

import argparse
import math

import dvc.api
from dvc.repo import Repo

from stages import UserError, run_stage
from stages.params import load_params
from stages.task import Paths, task

HIGHER_IS_BETTER = {"val_accuracy": True, "val_loss": False}


def metric_column(dataset: str, arch: str, metric: str) -> str:
    """How `dvc exp show` names a metric of one dataset's architecture."""
    return f"{Paths(dataset).metrics / arch}.json:{metric}"


def best_experiment(rows: list[dict], column: str, metric: str) -> dict:
    """The experiment row (from `dvc.api.exp_show()`) with the best value in `column`."""
    scored = [
        row
        for row in rows
        if row.get("Experiment") and isinstance(row.get(column), (int, float)) and math.isfinite(row[column])
    ]
    if not scored:
        raise UserError(f"no finished experiment has {column}; run `dvc exp run` or `dvc queue start` first")
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    return max(scored, key=lambda row: sign * row[column])


def tuned_params(row: dict, prefixes: tuple[str, ...]) -> dict:
    """The experiment's params under `prefixes`: what decides one architecture's result on one dataset."""
    params = {
        key.removeprefix("params.yaml:"): value
        for key, value in row.items()
        if ":" not in key or key.startswith("params.yaml:")
    }
    return {key: value for key, value in params.items() if key.startswith(prefixes)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", help="dataset whose validation score decides (default: the first in params.yaml)")
    parser.add_argument("--arch", required=True, help="architecture whose validation score decides")
    parser.add_argument("--metric", choices=sorted(HIGHER_IS_BETTER), default="val_accuracy")
    parser.add_argument("--apply", action="store_true", help="dvc exp apply the winner to the workspace")
    args = parser.parse_args(argv)

    params = load_params()
    dataset = args.dataset or next(iter(params.datasets))
    kind = task(params, dataset)  # an unknown --dataset is a one-line error, before reading experiments
    column = metric_column(dataset, args.arch, args.metric)
    row = best_experiment(dvc.api.exp_show(), column, args.metric)
    print(f"best by {args.metric}: {row['Experiment']} ({args.metric} {row[column]})")
    prefixes = (f"{kind.models_section}.{args.arch}.", f"{kind.train_section}.", f"{kind.data_section}.{dataset}.")
    for key, value in sorted(tuned_params(row, prefixes).items()):
        print(f"  {key} = {value:g}" if isinstance(value, float) else f"  {key} = {value}")
    if args.apply:
        Repo(".").experiments.apply(row["Experiment"])
        print(f"applied {row['Experiment']} to the workspace: `git diff params.yaml` shows it, `git commit` keeps it")


if __name__ == "__main__":
    run_stage(main)
