"""The two runs the 2026-11-26 H100 call of benchmarks.notebooks left at its time limit: simple_rnn with
notebook_64, then attention_rnn's defaults, appended to its --results file as the benchmark records them.

    KERAS_BACKEND=jax PYTHONPATH=. python docs/results/finish_table_jax.py TOKENIZED_DIR RESULTS
"""

import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import yaml

from benchmarks.notebooks import archive_name, hardware, make_project, run_in_process
from stages.params import load_preset

tok, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
with tempfile.TemporaryDirectory() as tmp:
    project = make_project(Path(tmp), versioned=False)
    os.chdir(project)
    base = yaml.safe_load(Path("params.yaml").read_text())
    import keras

    context = {"hardware": hardware(), "backend": keras.backend.backend(), "docs": 0, "date": str(date.today())}
    for config, arch in (("notebook_64", "simple_rnn"), ("defaults", "attention_rnn")):
        print(f"seed 0: {arch} with {config}", file=sys.stderr, flush=True)
        overrides = {} if config == "defaults" else load_preset(config)
        metrics = run_in_process(project, tok / archive_name(config, 0), base, overrides | {"seed": 0}, arch)
        with out.open("a") as f:
            f.write(json.dumps(context | {"seed": 0, "config": config, "arch": arch, "metrics": metrics}) + "\n")
