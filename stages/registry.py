"""The architecture registry: one builder per architecture, its signature is its schema.

A builder returns the layers between the embedding and the output head. Its keyword
arguments, with their type hints and defaults, are exactly the keys allowed under
`architectures.<name>` in params.yaml, so adding an architecture is one function here
plus one entry there (and its layer in layers.py, if Keras has none that fits). This module
also checks params.yaml's model entries against the builders, and loads saved models (their
custom layers and optimizer registered by importing layers.py and optimizers.py).
"""

from __future__ import annotations

import inspect
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import keras
from keras import layers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from stages import (
    UserError,
    optimizers,  # noqa: F401  registered with Keras: a saved model keeps its optimizer
)
from stages.layers import AttentionPooling, MaskedConv1D, MaskedGlobalMax, MaskedMaxPooling1D, RegionSum
from stages.params import TRAIN_OVERRIDES, Params, ParamsError, first_error

Units = Annotated[int, Field(gt=0)]
Rate = Annotated[float, Field(ge=0, lt=1)]
Cell = Literal["simple", "lstm", "gru"]

Builder = Callable[..., list[layers.Layer]]
ARCHITECTURES: dict[str, Builder] = {}


def architecture(builder: Builder) -> Builder:
    """Register a builder under its function name."""
    ARCHITECTURES[builder.__name__] = builder
    return builder


def recurrent(cell: Cell, units: int, dropout: float, return_sequences: bool = False) -> layers.Layer:
    """A recurrent layer of the given cell; defaults stay cuDNN-eligible on TensorFlow GPUs."""
    layer = {"simple": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    return layer(units, dropout=dropout, return_sequences=return_sequences)


@architecture
def simple_rnn(units: Units = 64, dropout: Rate = 0.0, *, sequences: bool = False) -> list[layers.Layer]:
    """Elman RNN: the baseline recurrent cell, prone to forgetting early tokens."""
    return [recurrent("simple", units, dropout, sequences)]


@architecture
def stacked_rnn(
    units: Units = 64,
    depth: Annotated[int, Field(ge=2)] = 2,
    cell: Cell = "simple",
    dropout: Rate = 0.0,
    *,
    sequences: bool = False,
) -> list[layers.Layer]:
    """Several recurrent layers, each reading the full output sequence of the one below."""
    below = [recurrent(cell, units, dropout, return_sequences=True) for _ in range(depth - 1)]
    return [*below, recurrent(cell, units, dropout, sequences)]


@architecture
def bi_rnn(units: Units = 64, cell: Cell = "simple", dropout: Rate = 0.0) -> list[layers.Layer]:
    """Reads the review forwards and backwards and concatenates both final states."""
    return [layers.Bidirectional(recurrent(cell, units, dropout))]


@architecture
def cnn_rnn(
    filters: Units = 64,
    kernel_size: Units = 5,
    pool_size: Units = 4,
    units: Units = 64,
    cell: Cell = "simple",
    dropout: Rate = 0.0,
) -> list[layers.Layer]:
    """Convolution finds local n-gram features, pooling shortens the sequence the RNN reads."""
    return [
        MaskedConv1D(filters, kernel_size, activation="relu"),
        MaskedMaxPooling1D(pool_size),
        recurrent(cell, units, dropout),
    ]


@architecture
def lstm(units: Units = 64, dropout: Rate = 0.0, *, sequences: bool = False) -> list[layers.Layer]:
    """Long short-term memory: gates keep gradients alive across long reviews."""
    return [recurrent("lstm", units, dropout, sequences)]


@architecture
def gru(units: Units = 64, dropout: Rate = 0.0, *, sequences: bool = False) -> list[layers.Layer]:
    """Gated recurrent unit: LSTM's gating with fewer parameters."""
    return [recurrent("gru", units, dropout, sequences)]


@architecture
def attention_rnn(
    units: Units = 64, attention_units: Units = 64, cell: Cell = "gru", dropout: Rate = 0.0
) -> list[layers.Layer]:
    """Bidirectional recurrent encoder, every step kept, pooled by additive attention: the hybrid the
    notebooks name but do not build. The head sees a weighted mix of all steps, not only the last state."""
    return [
        layers.Bidirectional(recurrent(cell, units, dropout, return_sequences=True)),
        AttentionPooling(attention_units),
    ]


@architecture
def seq_cnn(region: Units = 3, dropout: Rate = 0.5) -> list[layers.Layer]:
    """Johnson & Zhang's seq-CNN (NAACL 2015), no recurrence: a convolution straight over one-hot words (the
    embedding holds `region` x features values per word; set `train.embedding_dim` to match), then each
    feature's strongest value anywhere in the review. The n-gram reference the recurrent models answer to."""
    return [RegionSum(region), MaskedGlobalMax(), layers.Dropout(dropout)]


@architecture
def region_rnn(region: Units = 3, units: Units = 64, cell: Cell = "gru", dropout: Rate = 0.5) -> list[layers.Layer]:
    """A recurrent layer over seq_cnn's region inputs (`RegionSum`; set `train.embedding_dim` to `region` x
    features), both ways, every step kept, then each feature's strongest value anywhere in the review, so a verdict
    need not survive to the last state; after Johnson & Zhang's max-pooled LSTMs (ICML 2016), which read words."""
    return [
        RegionSum(region),
        layers.Bidirectional(recurrent(cell, units, 0.0, return_sequences=True)),
        MaskedGlobalMax(),
        layers.Dropout(dropout),
    ]


def predicts_every_step(name: str) -> bool:
    """Builders with a keyword-only `sequences` flag can output every step, causally: language models.
    (A bidirectional layer reads the future; pooling drops steps.)"""
    return "sequences" in inspect.signature(ARCHITECTURES[name]).parameters


@cache
def architecture_params_model(name: str) -> type[BaseModel]:
    """A strict pydantic model of a builder's hyperparameters, used to validate params.yaml;
    keyword-only arguments are set by the task, not by params.yaml."""
    fields = {
        param.name: (param.annotation, param.default)
        for param in inspect.signature(ARCHITECTURES[name], eval_str=True).parameters.values()
        if param.kind is not param.KEYWORD_ONLY
    }
    config = ConfigDict(extra="forbid", strict=True)
    return create_model(f"{name}_params", __config__=config, **fields)


def build_model(
    name: str,
    hyperparams: dict,
    vocab_size: int,
    embedding_dim: int,
    classes: int = 2,
    mask: bool = True,
    embedding_dropout: float = 0.0,
) -> keras.Model:
    """Token ids -> embedding (id 0 is padding, masked unless `mask` is false, as in the notebooks) ->
    architecture -> class probabilities: one sigmoid unit, P(class 1), for two classes; a softmax for more.
    `embedding_dropout` drops whole embedding channels for a review while training (SpatialDropout1D), so
    the model cannot lean on a few word features: IMDB's recurrent models overfit within two epochs."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab_size, embedding_dim, mask_zero=mask, name="embedding")(inputs)
    if embedding_dropout:
        x = layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
    for layer in ARCHITECTURES[name](**hyperparams):
        x = layer(x)
    units, activation = (1, "sigmoid") if classes == 2 else (classes, "softmax")
    outputs = layers.Dense(units, activation=activation, name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


def build_language_model(name: str, hyperparams: dict, vocab_size: int, embedding_dim: int) -> keras.Model:
    """Character ids -> embedding -> architecture, every step -> logits over the next character.
    No padding, so no mask: the recurrent layers keep their fast kernels on every backend."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="char_ids")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    for layer in ARCHITECTURES[name](**hyperparams, sequences=True):
        x = layer(x)
    outputs = layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def load_model(path: Path, stage: str) -> keras.Model:
    """Keras safe_mode: a model file that carries Python code (a Lambda) is refused, never run."""
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, TypeError, OSError, zipfile.BadZipFile) as exc:
        message = " ".join(str(exc).split()).rpartition("Exception encountered: ")[2]  # Keras nests the cause
        reason = message.split(". ")[0].rstrip(".")
        raise UserError(
            f"{path}: refused or unreadable ({reason}); models load in Keras safe_mode, so no code in a model file "
            f"runs; `dvc repro {stage}` rebuilds it"
        ) from None


def _hyperparams(section: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An `architectures` entry without its `train` overrides: the builder's arguments."""
    return {key: value for key, value in entry.items() if not (section == "architectures" and key == TRAIN_OVERRIDES)}


def check_architectures(params: Params) -> Params:
    """Every `architectures` and `language_models` entry names a builder that suits its section (language
    models must predict every step) and holds only that builder's arguments, each of its type and range."""
    for section in ("architectures", "language_models"):
        allowed = sorted(filter(predicts_every_step, ARCHITECTURES) if section == "language_models" else ARCHITECTURES)
        for name, entry in getattr(params, section).items():
            if name not in allowed:
                raise ParamsError(f"{section}.{name}: unknown architecture; allowed: {', '.join(allowed)}")
            try:
                architecture_params_model(name).model_validate(_hyperparams(section, entry))
            except ValidationError as exc:
                raise first_error(exc, (section, name)) from None
    return params


def architecture_kwargs(params: Params, name: str, section: str = "architectures") -> dict[str, Any]:
    """An architecture's validated hyperparameters from `architectures` or `language_models`, defaults filled in."""
    entries = getattr(params, section)
    if name not in entries:
        raise ParamsError(f"--arch {name}: not in params.yaml {section}; allowed: {', '.join(sorted(entries))}")
    return architecture_params_model(name).model_validate(_hyperparams(section, entries[name])).model_dump()
