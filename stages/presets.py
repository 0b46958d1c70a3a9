"""Presets: named sets of params.yaml overrides (`presets/<name>.yaml`), checked before any work.

./rnnlab quick                              # runs presets/quick.yaml as DVC experiment `quick`
dvc exp run $(python -m stages.presets --preset quick)
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from stages import run_stage
from stages.params import PARAMS_FILE, TRAIN_OVERRIDES, ParamsError, read_yaml, validate
from stages.registry import check_architectures

PRESETS_DIR = Path("presets")


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    """A copy of parsed params with dotted `key: value` overrides applied, as `dvc exp run -S` applies them."""
    result = copy.deepcopy(raw)
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = result
        for depth, part in enumerate(parents, 1):
            if not isinstance(node, dict) or part not in node:
                raise ParamsError(f"{key}: {'.'.join(parents[:depth])} is not in params.yaml")
            node = node[part]
        node[leaf] = value
    return result


def load_preset(name: str, params_path: Path = PARAMS_FILE) -> dict[str, Any]:
    """A preset (`presets/<name>.yaml`): a flat mapping of dotted params keys to values, checked by
    applying it to params.yaml and validating the result, so a stale preset fails before any work."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        allowed = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))) or "none"
        raise ParamsError(f"--preset {name}: no {path}; allowed: {allowed}")
    overrides = read_yaml(path)
    if not isinstance(overrides, dict) or any(isinstance(value, (dict, list)) for value in overrides.values()):
        raise ParamsError(f"{path}: expected a flat mapping of dotted params keys to plain values")
    try:
        check_architectures(validate(apply_overrides(read_yaml(params_path), overrides)))
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
    return overrides


def epoch_cap(raw: dict, epochs: int) -> dict[str, int]:
    """Overrides that train every classifier and language model `epochs` epochs at most: `train.epochs`,
    `lm_train.epochs` and each architecture's own `train.epochs` where it sets one."""
    overrides = {"train.epochs": epochs, "lm_train.epochs": epochs}
    for name, entry in raw["architectures"].items():
        if "epochs" in (entry.get(TRAIN_OVERRIDES) or {}):
            overrides[f"architectures.{name}.{TRAIN_OVERRIDES}.epochs"] = epochs
    return overrides


def override_args(overrides: dict[str, Any]) -> list[str]:
    """`dvc exp run` arguments for overrides: -S key=value, booleans as true/false."""
    return [
        arg
        for key, value in overrides.items()
        for arg in ("-S", f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Print a preset as `dvc exp run` arguments: dvc exp run $(python -m stages.presets --preset NAME)"
    )
    parser.add_argument("--preset", required=True, help="a file name in presets/, without .yaml")
    args = override_args(load_preset(parser.parse_args(argv).preset))
    print("\n".join(" ".join(pair) for pair in zip(args[::2], args[1::2], strict=True)))


if __name__ == "__main__":
    run_stage(main)
