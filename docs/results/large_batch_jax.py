"""A larger batch on the GPU, weighed and not kept: each named architecture's defaults with batch 256 and
learning rate 0.003 (bucket width 128), from the benchmarks.notebooks --export archives, one run each.

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/large_batch_jax.py TOKENIZED_DIR RESULTS bi_rnn stacked_rnn
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.notebooks import archive_name, make_project, run_in_process

tok, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
large_batch = {"train.bucket_width": 128, "train.batch_size": 256, "train.learning_rate": 0.003}
variants = [(arch, large_batch) for arch in sys.argv[3:]]
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
