"""Load and validate params.yaml before any stage does work.

Every stage calls `load_params()` first, so a typo or an out-of-range value fails
in one line naming the key, instead of an hour later inside Keras.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stages import UserError
from stages.registry import ARCHITECTURES, architecture_params_model

PARAMS_FILE = Path("params.yaml")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats: `1e-5` and `1e+30` (how `dvc exp run -S` writes them) are numbers, as DVC reads them."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Side = Literal["pre", "post"]


class ParamsError(UserError):
    """A params.yaml problem, already phrased as the one line the user sees."""


class Section(BaseModel):
    """Strict: unknown keys are errors, and `true` is not a number."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Download(Section):
    url: Annotated[str, Field(pattern=r"^https?://\S+/[^/\s]+$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Tokenize(Section):
    vocab_size: Annotated[int, Field(ge=3)]
    max_len: PositiveInt
    padding: Side
    truncating: Side
    lowercase: bool
    val_fraction: Fraction
    train_docs: Annotated[int, Field(ge=0)]
    test_docs: Annotated[int, Field(ge=0)]


class Train(Section):
    epochs: PositiveInt
    batch_size: PositiveInt
    learning_rate: PositiveFloat
    clipnorm: PositiveFloat
    embedding_dim: PositiveInt
    monitor: Literal["val_loss", "val_accuracy"]
    patience: Annotated[int, Field(ge=0)]


class Baseline(Section):
    max_features: PositiveInt
    ngram_max: Annotated[int, Field(ge=1, le=3)]
    C: PositiveFloat


class Params(Section):
    seed: Annotated[int, Field(ge=0)]
    download: Download
    tokenize: Tokenize
    train: Train
    architectures: dict[str, dict[str, Any]]
    baseline: Baseline

    @field_validator("architectures")
    @classmethod
    def _at_least_one(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not value:
            raise ValueError("at least one architecture is required")
        return value


def _format(error: dict[str, Any], prefix: tuple[Any, ...] = ()) -> str:
    """One pydantic error as `key.path: what is allowed (got value)`."""
    key = ".".join(str(part) for part in (*prefix, *error["loc"]))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "missing key"
    elif error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    elif error["type"] == "literal_error":
        message = message.replace("Input should be", "allowed:")
    got = "" if error["type"] in {"missing", "extra_forbidden"} else f" (got {error['input']!r})"
    return f"{key}: {message}{got}"


def _first_error(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> ParamsError:
    return ParamsError(_format(exc.errors()[0], prefix))


def validate(raw: Any) -> Params:
    """Turn parsed YAML into Params, or raise ParamsError with one line."""
    if not isinstance(raw, dict):
        raise ParamsError("params.yaml: expected a mapping of sections at the top level")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(exc) from None
    for name, values in params.architectures.items():
        if name not in ARCHITECTURES:
            allowed = ", ".join(sorted(ARCHITECTURES))
            raise ParamsError(f"architectures.{name}: unknown architecture; allowed: {allowed}")
        try:
            architecture_params_model(name).model_validate(values)
        except ValidationError as exc:
            raise _first_error(exc, ("architectures", name)) from None
    return params


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml; a YAML syntax error is a ParamsError too."""
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader: no arbitrary objects
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the repository root)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParamsError(f"{path}:{where}: YAML syntax error: {problem}") from None
    return validate(raw)


def architecture_kwargs(params: Params, name: str) -> dict[str, Any]:
    """An architecture's validated hyperparameters, defaults filled in."""
    if name not in params.architectures:
        allowed = ", ".join(sorted(params.architectures))
        raise ParamsError(f"--arch {name}: not in params.yaml architectures; allowed: {allowed}")
    return architecture_params_model(name).model_validate(params.architectures[name]).model_dump()
