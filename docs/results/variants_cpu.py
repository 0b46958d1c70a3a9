"""Variants of one architecture on this CPU, on the pipeline's committed tokenized arrays (`dvc repro
tokenize@imdb` first): each argument is a comma-separated list of overrides of `architectures.<arch>`,
`train.<key>` for its own train overrides, `seed` for the weights' initialisation and the batches' order
(the split stays the tokenize stage's). Trains and scores with the stage functions, oneDNN on as in the
train stage; prints one RESULT line per variant. The `simple_rnn` seeds, widths, dropout and lengths:

    PYTHONPATH=. python docs/results/variants_cpu.py simple_rnn seed=1 seed=2 seed=0,units=128 \
        seed=0,dropout=0.3 seed=0,train.max_len=128 seed=0,train.max_len=384 ...
"""

import os
import sys

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"  # before TensorFlow loads, as the train stage has it

import yaml

from stages.data import Paths, read_lines
from stages.evaluate import classifier_test_scores
from stages.metrics import classification_metrics
from stages.params import load_params
from stages.train import train_classifier

arch, paths = sys.argv[1], Paths("imdb")
for spec in sys.argv[2:]:
    params = load_params()
    overrides = {key: yaml.safe_load(value) for key, value in (kv.split("=", 1) for kv in spec.split(","))}
    seed = overrides.pop("seed", params.seed)
    entry = dict(params.architectures[arch])
    entry["train"] = dict(entry.get("train", {}))
    for key, value in overrides.items():
        if key.startswith("train."):
            entry["train"][key.removeprefix("train.")] = value
        else:
            entry[key] = value
    params = params.model_copy(update={"seed": seed, "architectures": params.architectures | {arch: entry}})
    model, summary = train_classifier(params, "imdb", arch, [])
    settings = params.datasets["imdb"].tokenize
    labels, probabilities = classifier_test_scores(model, paths.tokenized, summary["max_len"], settings)
    metrics = classification_metrics(labels, probabilities, read_lines(paths.tokenized / "classes.txt"))
    print("RESULT", arch, spec, metrics["accuracy"], summary, flush=True)
