"""Load and validate params.yaml before any stage does work.

Every stage calls `load_params()` first, so a typo or an out-of-range value fails
in one line naming the key, instead of an hour later inside Keras. This module imports no
Keras: the architectures are checked against their builders by the registry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stages import UserError

PARAMS_FILE = Path("params.yaml")
TRAIN_OVERRIDES = "train"  # key of an `architectures` entry holding its own overrides of the `train` section


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
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # numpy and scikit-learn take 32-bit seeds


class ParamsError(UserError):
    """A params.yaml problem, already phrased as the one line the user sees."""


class Section(BaseModel):
    """Strict: unknown keys are errors, and `true` is not a number."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NAME = r"^[a-z][a-z0-9_]*$"  # used in paths and in stage names such as train@imdb-lstm, so no `-` or `@`
SHA256 = r"^[0-9a-f]{64}$"


class Source(Section):
    """Where a dataset comes from and how to read it."""

    url: Annotated[str, Field(min_length=1)]  # http(s) URL, or a local path relative to the repository root
    sha256: Annotated[str, Field(pattern=SHA256)] | None = None
    format: Literal["folders", "csv", "tsv", "jsonl", "text"]  # text: one plain UTF-8 file (corpora)
    path: str = ""  # inside a downloaded archive: the folder (folders) or file (tables) to read
    classes: list[str] | None = None  # label order; folders: the class folders to read. Default: all, sorted
    text_column: str = "text"
    label_column: str = "label"
    split_column: str | None = None  # tables: rows whose value is `test` form the given test split


class Split(Section):
    val_fraction: Fraction
    test_fraction: Fraction = 0.2  # used only when the source gives no test split
    train_docs: Annotated[int, Field(ge=0)] = 0
    test_docs: Annotated[int, Field(ge=0)] = 0


class Tokenize(Section):
    """Every key has a default, so a dataset entry may leave out any of them, or `tokenize` altogether."""

    vocab_size: Annotated[int, Field(ge=3)] = 20000
    max_len: PositiveInt = 1024
    padding: Side = "post"  # right-padding: masked, and cuDNN-eligible on TensorFlow GPUs
    truncating: Side = "pre"  # keep a document's end
    lowercase: bool = True


class Dataset(Section):
    source: Source
    split: Split
    tokenize: Tokenize = Tokenize()
    class_weight: Literal["none", "balanced"] = "none"


class Corpus(Section):
    """A plain text for a character-level language model, split into contiguous blocks: train, then
    validation, then test at the end, so no window of text straddles two splits."""

    source: Source
    val_fraction: Fraction
    test_fraction: Fraction
    seq_len: PositiveInt  # characters per training window; the model predicts every next character


class Generate(Section):
    prompt: Annotated[str, Field(min_length=1)]
    chars: PositiveInt
    temperatures: Annotated[list[Annotated[float, Field(ge=0, allow_inf_nan=False)]], Field(min_length=1)]
    seed: Seed


class Train(Section):
    epochs: PositiveInt
    batch_size: PositiveInt
    optimizer: Literal["adam", "lazy_adam"] = "adam"  # optimizers.OPTIMIZERS; lazy_adam: only the rows a batch used
    learning_rate: PositiveFloat
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: decay the rate to 0 over `epochs`
    clipnorm: Annotated[float, Field(ge=0, allow_inf_nan=False)]  # 0: no gradient clipping
    embedding_dim: PositiveInt
    monitor: Literal["val_loss", "val_accuracy"]
    patience: Annotated[int, Field(ge=0)]
    early_stopping: bool = True  # false: train all `epochs` and keep the last epoch's weights, as notebooks do
    distribution: Literal["single", "mirrored", "multi_worker"] = "single"
    cpu_devices: Annotated[int, Field(ge=0)] = 0  # mirrored without GPUs: split the CPU into this many devices


class ClassifierTrain(Train):
    """Padded documents: how many tokens the model reads, whether it masks the padding, and whether batches are
    cut to their longest document (length bucketing), which with the mask gives the same model for a fraction
    of the steps."""

    mask: bool = True
    bucketing: bool = True
    bucket_width: Annotated[int, Field(ge=0)] = 0  # bucketed batches are cut to a multiple of this; 0: by backend
    embedding_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0  # share of embedding channels dropped per review
    max_len: Annotated[int, Field(ge=0)] = 0  # tokens a model reads per review, at most the tokenized; 0: all


class Baseline(Section):
    max_features: PositiveInt
    ngram_max: Annotated[int, Field(ge=1, le=3)]
    C: PositiveFloat


class Params(Section):
    seed: Seed
    datasets: dict[Annotated[str, Field(pattern=NAME)], Dataset]
    train: ClassifierTrain
    architectures: dict[str, dict[str, Any]]
    baseline: Baseline
    corpora: dict[Annotated[str, Field(pattern=NAME)], Corpus]
    lm_train: Train
    language_models: dict[str, dict[str, Any]]
    generate: Generate

    @field_validator("datasets", "architectures", "corpora", "language_models")
    @classmethod
    def _at_least_one(cls, value: dict, info: Any) -> dict:
        if not value:
            raise ValueError(f"at least one entry is required under {info.field_name}")
        return value


def _format(error: dict[str, Any], prefix: tuple[Any, ...] = ()) -> str:
    """One pydantic error as `key.path: what is allowed (got value)`."""
    key = ".".join(str(part) for part in (*prefix, *error["loc"]))
    message = error["msg"]
    if error["type"] == "string_pattern_mismatch" and error["loc"][-1] == "[key]":  # a dataset's name
        return f"{key.removesuffix('.[key]')}: not a valid name; use lowercase letters, digits and _, letter first"
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


def first_error(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> ParamsError:
    """A pydantic error as the one line the user sees, its key path after `prefix`."""
    return ParamsError(_format(exc.errors()[0], prefix))


def validate(raw: Any) -> Params:
    """Turn parsed YAML into Params, or raise ParamsError with one line. Each architecture's name and
    hyperparameters are checked against its builder by `registry.check_architectures`, which imports Keras:
    stages that build no model start without it."""
    if not isinstance(raw, dict):
        raise ParamsError("params.yaml: expected a mapping of sections at the top level")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc) from None
    for name in params.architectures:
        classifier_train(params, name)  # its `train` overrides, validated as the merged settings
    for name, corpus in params.corpora.items():
        if name in params.datasets:
            raise ParamsError(f"corpora.{name}: also a name in datasets; a name must say which data it is")
        if corpus.source.format != "text":
            raise ParamsError(f"corpora.{name}.source.format: allowed: 'text' (got {corpus.source.format!r})")
    for name, settings in params.datasets.items():
        if settings.source.format == "text":
            raise ParamsError(f"datasets.{name}.source.format: 'text' is for corpora (language models), not datasets")
    return params


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file, a byte that is not UTF-8 or a syntax error is a one-line ParamsError."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader: no arbitrary objects
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the repository root)") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ParamsError(
            f"{path}: line {line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8; save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParamsError(f"{path}:{where}: YAML syntax error: {problem}") from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml; a YAML syntax error is a ParamsError too."""
    return validate(read_yaml(path))


def dataset_params(params: Params, name: str) -> Dataset:
    """A dataset's settings, or a one-line error listing the datasets params.yaml has."""
    if name not in params.datasets:
        allowed = ", ".join(sorted(params.datasets))
        raise ParamsError(f"--dataset {name}: not in params.yaml datasets; allowed: {allowed}")
    return params.datasets[name]


def classifier_train(params: Params, name: str) -> ClassifierTrain:
    """`train` with the architecture's own `train:` overrides applied: one model can differ (say, a cell
    that learns worse from length-sorted batches) while a change to `train` still reaches them all."""
    overrides = params.architectures.get(name, {}).get(TRAIN_OVERRIDES, {})
    if not isinstance(overrides, dict):
        raise ParamsError(f"architectures.{name}.{TRAIN_OVERRIDES}: expected a mapping of train keys")
    try:
        return ClassifierTrain.model_validate(params.train.model_dump() | overrides)
    except ValidationError as exc:
        raise first_error(exc, ("architectures", name, TRAIN_OVERRIDES)) from None
