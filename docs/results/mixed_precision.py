"""The train stage's `fit` of one architecture under a Keras dtype policy: `float32` (as shipped),
`mixed_bfloat16` or `mixed_float16` (layers compute in 16 bits, variables stay float32). Runs on any
backend; the epochs all run (no early stopping) so the seconds compare. Prints one RESULT line
(`dvc repro tokenize@imdb` first):

    PYTHONPATH=. python docs/results/mixed_precision.py gru mixed_bfloat16 2
"""

import sys

import keras

from stages.params import load_params
from stages.train import train_classifier

arch, policy, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
keras.mixed_precision.set_global_policy(policy)
params = load_params()
train = params.train.model_copy(update={"epochs": epochs, "early_stopping": False})
model, summary = train_classifier(params.model_copy(update={"train": train}), "imdb", arch, [])
print("RESULT", keras.backend.backend(), arch, policy, summary, flush=True)
