"""Where a seq_cnn training step goes on a TensorFlow CPU: forward + backward of its parts on one batch of
64 reviews x 256 words at width 1500, in milliseconds (10 calls after 3 warm-ups), and RegionSum written
with one split and shifted concatenations instead of three strided slices and pads (same output).

    TF_ENABLE_ONEDNN_OPTS=0 TF_DETERMINISTIC_OPS=1 PYTHONPATH=. python docs/results/region_sum_ops.py
    TF_ENABLE_ONEDNN_OPTS=1 TF_DETERMINISTIC_OPS=1 PYTHONPATH=. python docs/results/region_sum_ops.py
"""

import os
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from stages.registry import MaskedGlobalMax, RegionSum

tf.random.set_seed(0)
ids = tf.constant(np.random.default_rng(0).integers(2, 20000, (64, 256)).astype("int32"))
mask = tf.ones((64, 256), bool)
embedding = keras.layers.Embedding(20000, 1500)
embedding.build((None, None))
region_sum, global_max = RegionSum(3), MaskedGlobalMax()
x, h = tf.random.normal((64, 256, 1500)), tf.random.normal((64, 256, 500))
adam = keras.optimizers.Adam(0.003, clipnorm=1.0)
adam.build(embedding.trainable_variables)


def timed(name, fn):
    compiled = tf.function(fn)
    for _ in range(3):
        compiled()
    start = time.perf_counter()
    for _ in range(10):
        compiled()
    print(f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS')}: {name}: {(time.perf_counter() - start) * 100:.1f} ms")


def gradient(layer, inputs, **kwargs):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        total = tf.reduce_sum(layer(inputs, **kwargs))
    return tape.gradient(total, inputs)


def embedding_gradient():
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(embedding(ids))
    return tape.gradient(total, embedding.trainable_variables)


def region_sum_by_split(inputs, region=3):
    total = None
    for k, part in enumerate(ops.split(inputs, region, axis=-1)):
        offset = k - region // 2
        if offset < 0:
            part = ops.concatenate([ops.zeros_like(part[:, :-offset]), part[:, :offset]], axis=1)
        elif offset > 0:
            part = ops.concatenate([part[:, offset:], ops.zeros_like(part[:, :offset])], axis=1)
        total = part if total is None else total + part
    return ops.relu(total)


timed("embedding forward + backward", embedding_gradient)
timed("embedding gradient + Adam, clipnorm", lambda: adam.apply(embedding_gradient(), embedding.trainable_variables))
timed("RegionSum forward + backward", lambda: gradient(region_sum, x, mask=mask))
timed("RegionSum by split forward + backward", lambda: gradient(region_sum_by_split, x))
timed("MaskedGlobalMax forward + backward", lambda: gradient(global_max, h, mask=mask))
print("same output:", bool(tf.reduce_all(tf.abs(region_sum(x, mask=mask) - region_sum_by_split(x)) < 1e-5)))
