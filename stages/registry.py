"""The architecture registry: one builder per architecture, its signature is its schema.

A builder returns the layers between the embedding and the output head. Its keyword
arguments, with their type hints and defaults, are exactly the keys allowed under
`architectures.<name>` in params.yaml, so adding an architecture is one function here
plus one entry there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from typing import Annotated, Literal

import keras
from keras import layers, ops
from pydantic import BaseModel, ConfigDict, Field, create_model

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


@keras.saving.register_keras_serializable(package="rnnlab")
class MaskedConv1D(layers.Conv1D):
    """Conv1D that keeps the padding mask: `same` padding keeps the length, and padded steps
    are zeroed on the way in and out, so a review scores the same however much padding follows."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, padding="same", **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        keep = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return super().call(inputs * keep) * keep

    def get_config(self):
        config = super().get_config()
        config.pop("padding")
        return config


@keras.saving.register_keras_serializable(package="rnnlab")
class MaskedMaxPooling1D(layers.MaxPooling1D):
    """Max pooling that pools the padding mask too: a window is real if any step in it is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, padding="same", **kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        steps = ops.expand_dims(ops.cast(mask, "float32"), -1)
        pooled = ops.max_pool(steps, self.pool_size, self.strides, padding="same")
        return ops.squeeze(pooled, -1) > 0

    def get_config(self):
        config = super().get_config()
        config.pop("padding")
        return config


@architecture
def simple_rnn(units: Units = 64, dropout: Rate = 0.0) -> list[layers.Layer]:
    """Elman RNN: the baseline recurrent cell, prone to forgetting early tokens."""
    return [recurrent("simple", units, dropout)]


@architecture
def stacked_rnn(
    units: Units = 64, depth: Annotated[int, Field(ge=2)] = 2, cell: Cell = "simple", dropout: Rate = 0.0
) -> list[layers.Layer]:
    """Several recurrent layers, each reading the full output sequence of the one below."""
    below = [recurrent(cell, units, dropout, return_sequences=True) for _ in range(depth - 1)]
    return [*below, recurrent(cell, units, dropout)]


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
def lstm(units: Units = 64, dropout: Rate = 0.0) -> list[layers.Layer]:
    """Long short-term memory: gates keep gradients alive across long reviews."""
    return [recurrent("lstm", units, dropout)]


@architecture
def gru(units: Units = 64, dropout: Rate = 0.0) -> list[layers.Layer]:
    """Gated recurrent unit: LSTM's gating with fewer parameters."""
    return [recurrent("gru", units, dropout)]


@cache
def architecture_params_model(name: str) -> type[BaseModel]:
    """A strict pydantic model of a builder's keyword arguments, used to validate params.yaml."""
    fields = {
        param.name: (param.annotation, param.default)
        for param in inspect.signature(ARCHITECTURES[name], eval_str=True).parameters.values()
    }
    config = ConfigDict(extra="forbid", strict=True)
    return create_model(f"{name}_params", __config__=config, **fields)


def build_model(name: str, hyperparams: dict, vocab_size: int, embedding_dim: int) -> keras.Model:
    """Token ids -> embedding (id 0 is padding, masked) -> architecture -> P(positive)."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
    for layer in ARCHITECTURES[name](**hyperparams):
        x = layer(x)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name=name)
