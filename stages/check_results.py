"""Check that the committed results come from the committed code, params and commands.

    ./rnnlab check-results

Asks DVC which stages are stale: a code file, a param or a command changed since `dvc.lock` was written, or
a git-tracked result (a metrics file, a curve, a report) was edited by hand. Data and models that are simply
not here (a fresh clone, before `dvc pull` or `dvc repro`) are not stale. Prints one line per stale stage
and exits 1 if there is any, so a change to training or evaluation code shows what it must rerun.
"""

from __future__ import annotations

import argparse

from dvc.repo import Repo

from stages import run_stage

ABSENT = {"deleted", "not in cache"}  # an output that is merely not in this checkout or its cache


def stale_stages(status: dict[str, list]) -> dict[str, dict[str, list[str]]]:
    """`dvc status` reduced to what makes a result stale, by stage and kind (deps, params, outs, command):
    changed code, params, commands or git-tracked outputs; absent DVC-cached data and models do not count."""
    stale: dict[str, dict[str, list[str]]] = {}
    for stage, changes in status.items():
        for change in changes:
            if isinstance(change, str):  # "changed command", "always changed"
                stale.setdefault(stage, {})[change.removeprefix("changed ")] = []
                continue
            for kind, items in change.items():  # "changed deps" / "changed outs": path -> state (or params)
                for path, state in items.items():
                    if isinstance(state, dict):  # params.yaml: key -> state
                        stale.setdefault(stage, {}).setdefault("params", []).extend(state)
                    elif not (path.startswith("data/") and state in ABSENT):
                        stale.setdefault(stage, {}).setdefault(kind.removeprefix("changed "), []).append(path)
    return stale


def describe(reasons: dict[str, list[str]], shown: int = 3) -> str:
    """`deps stages/train.py, stages/data.py (+2); params train.epochs; command`: what changed, in a line."""
    parts = []
    for kind, items in reasons.items():
        more = f" (+{len(items) - shown})" if len(items) > shown else ""
        parts.append(" ".join([kind, ", ".join(items[:shown]) + more]).strip())
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    with Repo(".") as repo:
        stages = [stage.addressing for stage in repo.index.stages]
        stale = stale_stages(repo.status())
    for stage, reasons in sorted(stale.items()):
        print(f"stale: {stage}: {describe(reasons)}")
    if stale:
        raise SystemExit(f"{len(stale)} of {len(stages)} stages are stale: `./rnnlab repro` reruns them")
    print(f"all {len(stages)} stages match the committed code, params, commands and results")


if __name__ == "__main__":
    run_stage(main)
