"""The optimizers `train.optimizer` names, registered with Keras: a saved model keeps its optimizer."""

from __future__ import annotations

import keras
from keras import ops


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
