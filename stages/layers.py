"""The custom layers the architectures are built from, registered with Keras so a saved model loads."""

from __future__ import annotations

import keras
from keras import layers, ops

from stages import UserError


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
