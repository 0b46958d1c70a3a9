"""The architecture registry: one builder per architecture, its signature is its schema.

A builder returns the layers between the embedding and the output head. Its keyword
arguments, with their type hints and defaults, are exactly the keys allowed under
`architectures.<name>` in params.yaml, so adding an architecture is one function here
plus one entry there. The custom layers and the optimizer that saved models are made of live
here too, registered with Keras, so that whatever loads a model through this module can read it.
"""

from __future__ import annotations

import inspect
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import keras
import numpy as np
from keras import layers, ops
from pydantic import BaseModel, ConfigDict, Field, create_model

from stages import UserError

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
        # ints, not the layer's 1-tuples: the model file keeps this op with its arguments, a tuple comes back
        # from it as a list, and JAX's max_pool rejects a list (a saved cnn_rnn could not predict on JAX)
        pooled = ops.max_pool(steps, self.pool_size[0], self.strides[0], padding="same")
        return ops.squeeze(pooled, -1) > 0

    def get_config(self):
        config = super().get_config()
        config.pop("padding")
        return config


@keras.saving.register_keras_serializable(package="rnnlab")
class AttentionPooling(layers.Layer):
    """Additive (Bahdanau) attention pooling: score every step with v . tanh(W h + b), softmax the scores
    over the real (unmasked) steps, and return the steps' weighted sum: one vector, wherever the cues are."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="tanh")
        self.score = layers.Dense(1, use_bias=False)
        self.supports_masking = True

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))

    def call(self, inputs, mask=None):
        scores = ops.squeeze(self.score(self.hidden(inputs)), -1)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="rnnlab")
class RegionSum(layers.Layer):
    """Johnson & Zhang's convolution over one-hot words, read from an embedding cut into `region` equal parts:
    step t sums part k of the word at t + k - region // 2, adds a bias and applies a ReLU. Each (offset, word)
    pair has its own vector, so a region is not squeezed through a narrow word embedding first."""

    def __init__(self, region: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.region = region
        self.supports_masking = True

    def build(self, input_shape):
        width = input_shape[-1]
        if width % self.region:
            raise UserError(
                f"embedding_dim {width} (train.embedding_dim, or the architecture's own train.embedding_dim) is "
                f"not a multiple of region {self.region}: the layer reads one equal part of each word's embedding "
                f"per word of its region"
            )
        self.features = width // self.region
        self.bias = self.add_weight(shape=(self.features,), initializer="zeros", name="bias")

    def call(self, inputs, mask=None):
        if mask is not None:  # padding contributes nothing to its neighbours' regions
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = self.bias  # a split and shifted concatenations: 2-3x faster on a TF CPU than slices + pads
        for k, part in enumerate(ops.split(inputs, self.region, axis=-1)):
            offset = k - self.region // 2
            if offset < 0:  # step t reads the word -offset steps before it
                part = ops.concatenate([ops.zeros_like(part[:, :-offset]), part[:, :offset]], axis=1)
            elif offset > 0:
                part = ops.concatenate([part[:, offset:], ops.zeros_like(part[:, :offset])], axis=1)
            total = total + part
        return ops.relu(total)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.region)

    def get_config(self):
        return {**super().get_config(), "region": self.region}


@keras.saving.register_keras_serializable(package="rnnlab")
class MaskedGlobalMax(layers.Layer):
    """Each channel's largest value over the real (unmasked) steps of a review: a feature counts wherever it fires."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = ops.where(ops.expand_dims(mask, -1), inputs, ops.full_like(inputs, -1e9))
        return ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


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


def is_row_gradient(gradient) -> bool:
    """TensorFlow hands an embedding's gradient over as the rows a batch used (tf.IndexedSlices): recognised
    by name, so this module imports no backend. JAX and torch give every gradient dense."""
    return type(gradient).__name__ == "IndexedSlices"


def summed_rows(gradient):
    """A row gradient with each row once: a word used twice in a batch arrives as two slices."""
    import tensorflow as tf  # row gradients come from TensorFlow only

    rows, position = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, position, tf.size(rows))
    return tf.IndexedSlices(values, rows, gradient.dense_shape)


@keras.saving.register_keras_serializable(package="rnnlab")  # a saved model keeps its optimizer
class LazyAdam(keras.optimizers.Adam):
    """Adam that moves only the embedding rows a batch used, and only their moments (TF Addons' LazyAdam):
    Adam's dense update of seq_cnn's 30 M-value table cost more than the rest of its step on a CPU. Wherever
    a gradient is dense (every weight but an embedding on TensorFlow), this is Adam."""

    def _clip_by_norm(self, values, axes=None):
        if not is_row_gradient(values):
            return super()._clip_by_norm(values, axes)
        values = summed_rows(values)  # Adam's clipping would make it dense, and square a repeated word's slices apart
        norm = ops.sqrt(ops.sum(ops.square(values.values)))
        return type(values)(values.values * (self.clipnorm / ops.maximum(norm, self.clipnorm)), values.indices)

    def update_step(self, gradient, variable, learning_rate):
        if not is_row_gradient(gradient):
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        gradient = summed_rows(gradient)  # already summed when clipped; then this costs little
        rows, values, dtype = gradient.indices, ops.cast(gradient.values, variable.dtype), variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        bias_correction = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), step)) / (
            1 - ops.power(ops.cast(self.beta_1, dtype), step)
        )
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # Gathered from the variables themselves: after a whole read, each scatter below would copy the table.
        m_rows = self.beta_1 * tf.gather(m.value, rows) + (1 - self.beta_1) * values
        v_rows = self.beta_2 * tf.gather(v.value, rows) + (1 - self.beta_2) * ops.square(values)
        step_rows = ops.cast(learning_rate, dtype) * bias_correction * m_rows / (ops.sqrt(v_rows) + self.epsilon)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))


OPTIMIZERS = {"adam": keras.optimizers.Adam, "lazy_adam": LazyAdam}


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


def class_probabilities(model: keras.Model, x, batch_size: int = 512) -> np.ndarray:
    """P(class) for every row, shape (rows, classes), whichever head the model has."""
    output = model.predict(x, batch_size=batch_size, verbose=0).astype(np.float64)
    return np.concatenate([1 - output, output], axis=1) if output.shape[1] == 1 else output


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
