"""The train stage's `fit` of one architecture with the NaN check read on the training loop's thread after
every step (`sync`: Keras then waits for each step's loss before it starts the next one) or off it
(`async`: JAX and torch keep dispatching steps while a worker thread reads the losses). Run under
KERAS_BACKEND=jax (TensorFlow runs every callback on the loop's thread either way): the architecture,
the mode, the epochs (all run, no early stopping). Prints one RESULT line (`dvc repro tokenize@imdb` first):

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/step_sync.py gru async 2
"""

import sys

import keras

from stages.params import load_params
from stages.train import train_classifier

arch, mode, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
keras.callbacks.TerminateOnNaN.async_safe = mode == "async"
params = load_params()
train = params.train.model_copy(update={"epochs": epochs, "early_stopping": False})
model, summary = train_classifier(params.model_copy(update={"train": train}), "imdb", arch, [])
print("RESULT", keras.backend.backend(), arch, mode, summary, flush=True)
