"""The train stage's `fit` of one architecture with Keras's `steps_per_execution` (training steps run per
call of the compiled train function, which saves Python's per-batch work between them), on this CPU:
the architecture, the steps per call, the epochs (all run, no early stopping). Prints one RESULT line
(`dvc repro tokenize@imdb` first):

    PYTHONPATH=. python docs/results/steps_per_execution.py gru 16 2
"""

import os
import sys

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import keras

from stages.params import load_params
from stages.train import train_classifier

arch, steps, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
compile_as_the_stage = keras.Model.compile
keras.Model.compile = lambda model, *args, **kwargs: compile_as_the_stage(
    model, *args, steps_per_execution=steps, **kwargs
)
params = load_params()
train = params.train.model_copy(update={"epochs": epochs, "early_stopping": False})
model, summary = train_classifier(params.model_copy(update={"train": train}), "imdb", arch, [])
print("RESULT", arch, steps, summary, flush=True)
