"""Variants of the defaults on the GPU, one run each, from the benchmarks.notebooks --export archives
(`defaults`, seed 0): each argument is an architecture followed by its params overrides (YAML values).
The "larger batch" figures (weighed, not kept) and the seq-CNN's epochs and widths came from:

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/variants_jax.py TOKENIZED_DIR RESULTS \
        "bi_rnn train.bucket_width=128 train.batch_size=256 train.learning_rate=0.003"
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.notebooks import archive_name, make_project, run_in_process

tok, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
variants = []
for spec in sys.argv[3:]:
    arch, *settings = spec.split()
    variants.append((arch, {key: yaml.safe_load(value) for key, value in (s.split("=", 1) for s in settings)}))
with tempfile.TemporaryDirectory() as tmp:
    project = make_project(Path(tmp), versioned=False)
    os.chdir(project)
    base = yaml.safe_load(Path("params.yaml").read_text())
    for arch, overrides in variants:
        print(f"variant {arch} {overrides}", file=sys.stderr, flush=True)
        metrics = run_in_process(project, tok / archive_name("defaults", 0), base, overrides, arch)
        with out.open("a") as f:
            f.write(json.dumps({"arch": arch, "overrides": overrides, "metrics": metrics}) + "\n")
        print({k: metrics.get(k) for k in ("accuracy", "seconds_to_best", "train_seconds", "best_epoch")}, flush=True)
