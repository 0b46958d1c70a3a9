"""Run the study, or some architectures, once per seed as DVC experiments and show how much each model's test
score moves with the seed, and whether the ranking holds.

    python -m stages.seeds --seeds 0 1 2                       # the whole study, one experiment per seed
    python -m stages.seeds --seeds 0 1 2 --arch gru lstm       # only these architectures (every dataset)
    python -m stages.seeds --seeds 0 1 2 --no-run              # read the experiments an earlier run made
    python -m stages.seeds --seeds 0 1 -- --temp               # arguments after `--` go to `dvc exp run`

Experiment `seed-<N>` is `dvc exp run -S seed=<N>`: params.yaml's `seed` changes the split, the subsets, weight
init and shuffling. A classifier's score is test accuracy (higher is better), a language model's test
cross-entropy (lower is better); `dvc exp show` lists the same experiments. A seed whose experiment exists
stops the run: `dvc exp remove seed-<N>` first, or read it with `--no-run`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import dvc.api
import numpy as np

from stages import UserError, run_stage
from stages.params import load_params
from stages.task import Task, task


def experiment_name(seed: int) -> str:
    return f"seed-{seed}"


def run_seed(seed: int, targets: list[str], extra: list[str]) -> None:
    """One `dvc exp run` with this seed; its output streams to the console."""
    command = [sys.executable, "-m", "dvc", "exp", "run", "-n", experiment_name(seed), "-S", f"seed={seed}"]
    if subprocess.run([*command, *extra, *targets]).returncode != 0:
        raise UserError(f"`dvc exp run` for seed {seed} failed (its output is above)")


def value_of(row: dict, column: str) -> object:
    """A metric of an `exp_show` row: DVC names it `<file>:<key>`, or just `<key>` where one file holds metrics."""
    if any(".json:" in key for key in row):
        return row.get(column)
    return row.get(column.split(":", 1)[1])


def scores(rows: list[dict], seeds: list[int], kinds: dict[str, Task], archs: dict[str, list[str]]) -> dict:
    """{dataset: {model: [score per seed]}} from `dvc.api.exp_show()` rows of the seeds' experiments; `archs`
    holds each dataset's models (the baseline among them)."""
    by_name = {row.get("Experiment"): row for row in rows}
    missing = [experiment_name(seed) for seed in seeds if experiment_name(seed) not in by_name]
    if missing:
        raise UserError(f"no experiment {', '.join(missing)}; run without --no-run first")
    table: dict[str, dict[str, list[float]]] = {}
    for dataset, kind in kinds.items():
        metric = "cross_entropy" if kind.language_model else "accuracy"
        for model in archs[dataset]:
            column = f"{kind.paths.metrics / model}.json:{metric}"
            values = [value_of(by_name[experiment_name(seed)], column) for seed in seeds]
            if all(isinstance(value, (int, float)) for value in values):
                table.setdefault(dataset, {})[model] = [float(value) for value in values]
    return table


def ranking(values: dict[str, list[float]], seed_index: int, lower_is_better: bool) -> list[str]:
    """The models in order, best first, by one seed's score."""
    return sorted(values, key=lambda model: values[model][seed_index] * (1 if lower_is_better else -1))


def summary(dataset: str, values: dict[str, list[float]], seeds: list[int], lower_is_better: bool) -> str:
    """One dataset's table (mean +- standard deviation over seeds, then every seed's score) and its ranking."""
    metric = "test cross-entropy, lower is better" if lower_is_better else "test accuracy, higher is better"
    means = {model: float(np.mean(scores)) for model, scores in values.items()}
    order = sorted(values, key=lambda model: means[model] * (1 if lower_is_better else -1))
    lines = [
        f"{dataset}: {metric}, {len(seeds)} seeds",
        "| model | mean ± sd | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "| --- | --- |" + " --- |" * len(seeds),
    ]
    for model in order:
        spread = f"{np.std(values[model], ddof=1):.4f}" if len(seeds) > 1 else "n/a"
        lines.append(
            f"| {model} | {means[model]:.4f} ± {spread} | " + " | ".join(f"{v:.4f}" for v in values[model]) + " |"
        )
    rankings = {seed: ranking(values, i, lower_is_better) for i, seed in enumerate(seeds)}
    if all(order == rankings[seed] for seed in seeds):
        lines.append(f"ranking holds in every seed: {' > '.join(order)}")
    else:
        lines.append(f"ranking changes with the seed (by mean: {' > '.join(order)}):")
        lines += [f"  seed {seed}: {' > '.join(rankings[seed])}" for seed in seeds]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="the seeds, one experiment each")
    parser.add_argument("--arch", nargs="+", help="only these architectures or language models (default: all)")
    parser.add_argument("--no-run", action="store_true", help="read the seeds' experiments, run nothing")
    parser.add_argument("dvc_args", nargs="*", help="after `--`: more arguments for `dvc exp run`")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        raise UserError(f"--seeds {' '.join(map(str, args.seeds))}: each seed once")
    params = load_params()
    kinds = {name: task(params, name) for name in [*params.datasets, *params.corpora]}
    every = {name: kind.architectures(params) for name, kind in kinds.items()}
    unknown = sorted(set(args.arch or []) - {arch for archs in every.values() for arch in archs})
    if unknown:
        allowed = ", ".join(sorted({arch for archs in every.values() for arch in archs}))
        raise UserError(f"--arch {' '.join(unknown)}: not in params.yaml; allowed: {allowed}")
    archs = {name: [a for a in archs if not args.arch or a in args.arch] for name, archs in every.items()}
    kinds = {name: kind for name, kind in kinds.items() if archs[name]}
    targets = (
        [kind.stage("evaluate", arch) for name, kind in kinds.items() for arch in archs[name]] if args.arch else []
    )
    if not args.no_run:
        for done, seed in enumerate(args.seeds):
            try:
                run_seed(seed, targets, args.dvc_args)
            except KeyboardInterrupt:  # the experiments that finished are kept: say so, not "nothing was written"
                kept = ", ".join(f"seed-{s}" for s in args.seeds[:done]) or "none"
                raise UserError(f"interrupted at seed {seed}; finished experiments kept: {kept}") from None
    table = scores(dvc.api.exp_show(), args.seeds, kinds, archs)
    print("\n\n".join(summary(name, table[name], args.seeds, kinds[name].language_model) for name in table))


if __name__ == "__main__":
    run_stage(main)
