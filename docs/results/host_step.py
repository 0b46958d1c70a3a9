"""What a training step costs the host alone: the train stage's `fit`, on the default length batches of full
IMDB, of a model too small to cost anything (an 8-wide embedding, averaged, one sigmoid unit), so an
epoch's time is the input pipeline's (batching, cutting each batch to its longest review), Keras's loop,
the callbacks and the dispatch of each step. The mode is as in step_sync.py: `sync` reads each step's
loss on the training loop's thread (the NaN check as Keras ships it), `async` off it; `arrays` feeds
the padded arrays instead of length batches (`train.bucketing: false`). Prints Keras's epoch lines and
one RESULT line (`dvc repro tokenize@imdb` first):

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/host_step.py async [arrays]
"""

import sys

import keras
from keras import layers

from stages.data import Paths, crop, load_arrays
from stages.params import classifier_train, load_params
from stages.train import classifier_inputs, fit

mode, bucketing = sys.argv[1], sys.argv[2:] != ["arrays"]
keras.callbacks.TerminateOnNaN.async_safe = mode == "async"
params = load_params()
settings = classifier_train(params, "gru").model_copy(
    update={"epochs": 3, "early_stopping": False, "bucketing": bucketing}
)
tokenized = params.datasets["imdb"].tokenize
arrays = {
    split: crop(load_arrays(Paths("imdb").tokenized / split), settings.max_len, tokenized.padding, tokenized.truncating)
    for split in ("train", "val")
}
data = classifier_inputs(arrays, settings, tokenized.padding == "pre", params.seed)


def tiny_model() -> keras.Model:
    return keras.Sequential(
        [
            layers.Input((None,), dtype="int32"),
            layers.Embedding(tokenized.vocab_size, 8),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


keras.utils.set_random_seed(params.seed)
model, summary = fit(tiny_model, "binary_crossentropy", keras.metrics.BinaryAccuracy, settings, data, "host", [])
print("RESULT", keras.backend.backend(), mode, "batches" if bucketing else "arrays", summary, flush=True)
