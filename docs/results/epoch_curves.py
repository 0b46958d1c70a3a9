"""Every epoch's test accuracy beside its validation accuracy, so that early-stopping rules can be replayed
on one curve (a GPU run does not repeat a seed exactly, so two runs cannot be compared epoch by epoch).
From the benchmarks.notebooks --export archives of the defaults (one per seed), on any backend: trains
the architecture for all `train.epochs` without early stopping, keeps each epoch's weights and end time,
scores each on the test split, and prints what Keras's EarlyStopping keeps with patience 2 (the
default), patience 3, and patience 2 with min_delta 0.003 (`early_stop` of patience.py, which also
turns oneDNN on for TensorFlow, as the train stage does). Arguments with `=` are params overrides
(YAML values; one that changes the tokenized arrays is refused, as --tokenized refuses it). One RESULT
line per run:

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/epoch_curves.py TOKENIZED_DIR simple_rnn 0 1 2
    PYTHONPATH=. python docs/results/epoch_curves.py TOKENIZED_DIR simple_rnn 0 1 2 \
        architectures.simple_rnn.train.max_len=128
"""

import os
import sys
import tempfile
from pathlib import Path

import yaml
from patience import Epochs, early_stop

from benchmarks.notebooks import archive_name, check_archive, make_project, unpack, write_params
from stages.data import read_lines
from stages.evaluate import classifier_test_scores
from stages.metrics import classification_metrics
from stages.params import validate
from stages.train import train_classifier

RULES = {"patience 2": (2, 0.0), "patience 3": (3, 0.0), "patience 2, min_delta 0.003": (2, 0.003)}

tokenized, arch = Path(sys.argv[1]).resolve(), sys.argv[2]
seeds = [int(arg) for arg in sys.argv[3:] if "=" not in arg]
overrides = {key: yaml.safe_load(value) for key, value in (arg.split("=", 1) for arg in sys.argv[3:] if "=" in arg)}
with tempfile.TemporaryDirectory() as tmp:
    project = make_project(Path(tmp), versioned=False)
    os.chdir(project)
    base = yaml.safe_load(Path("params.yaml").read_text())
    for seed in seeds:
        raw = write_params(project, base, overrides | {"seed": seed, "train.early_stopping": False})
        archive = tokenized / archive_name("defaults", seed)
        check_archive(archive, raw)  # overrides that change the tokenized arrays need their own archive
        params, unpacked = validate(raw), unpack(project, archive)
        epochs = Epochs()
        model, summary = train_classifier(params, "imdb", arch, [epochs])
        tests, classes = [], read_lines(unpacked / "classes.txt")
        for weights in epochs.weights:
            model.set_weights(weights)
            labels, probabilities = classifier_test_scores(
                model, unpacked, summary["max_len"], params.datasets["imdb"].tokenize
            )
            tests.append(classification_metrics(labels, probabilities, classes)["accuracy"])
        kept = []
        for rule, (patience, min_delta) in RULES.items():
            run, best = early_stop(epochs.curve, patience, min_delta)
            kept.append(
                f"{rule}: {run} epochs, kept {best}, test {tests[best - 1]:.4f}, to final {epochs.ends[best - 1]:.1f} s"
            )
        curves = " ".join(f"{v:.4f}/{t:.4f}/{s:.1f}" for v, t, s in zip(epochs.curve, tests, epochs.ends))
        print(f"RESULT {arch} {overrides} seed {seed}: val/test/end s {curves} | {' | '.join(kept)}", flush=True)
