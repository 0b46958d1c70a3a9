"""rnnlab pipeline stages: one module per DVC stage, plus shared params, registry and data I/O."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

# Before any stage imports Keras (and so TensorFlow): deterministic ops for reproducible
# metrics on CPU, and no C++ info logs between Keras' progress lines.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's CPU kernels train seq_cnn 2.2x faster (docs/benchmarks.md), but with them on, importing TensorFlow
# prints a banner no log level hides: only the train stage, which prints progress anyway, turns them on.
ONEDNN = "TF_ENABLE_ONEDNN_OPTS"
USER_ONEDNN = os.environ.get(ONEDNN)
os.environ.setdefault(ONEDNN, "1" if sys.orig_argv[1:3] == ["-m", "stages.train"] else "0")
# On KERAS_BACKEND=jax, compiled programs persist between runs: a rerun or `dvc exp run` of the same shapes
# loads them instead of compiling for seconds per batch width in its first epoch. TensorFlow ignores it.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnnlab", "jax"),
)


def child_environment() -> dict[str, str]:
    """The environment for stages run in child processes (`dvc repro` from a benchmark or a test): this
    process's own oneDNN default left out, so each stage makes its own choice (or keeps the user's)."""
    return {key: value for key, value in os.environ.items() if key != ONEDNN or USER_ONEDNN is not None}


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line, no traceback."""


def require(inputs: dict[Path, str]) -> None:
    """Stop at the first missing input file, naming the stage that writes it: a stage or tool run by hand
    (or after `dvc pull` of one stage's outputs) gets one line, not a traceback halfway through its work."""
    for path, stage in inputs.items():
        if not path.is_file():
            raise UserError(f"{path}: missing; run `dvc repro {stage}` first")


def run_stage(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a stage's main: a UserError becomes `error: ...` on stderr and exit status 2."""
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
