"""Seconds to score the first 5,000 IMDB test reviews with `Predictor` at several batch sizes (texts per model
call), committed models, tokenization included:

    PYTHONPATH=. python docs/results/predict_batch_sizes.py seq_cnn gru

2026-11-26 evening, 2-core AMD EPYC (run then through the module-level batch size that
`stages/predict.py` had; `batch_tokens`, rows x the model's width, is its successor): seq_cnn 12.49,
12.04, 11.07, 13.64, 26.21 s and gru 4.83, 3.21, 1.95, 1.26, 1.01 s for 64, 128, 256, 512 and 1,024 texts.
"""

import sys
import time

from stages.data import Paths, load_splits
from stages.params import load_params
from stages.predict import Predictor

texts = load_splits(load_params().datasets["imdb"], Paths("imdb").raw, seed=0)[0]["test"][0][:5000]
for arch in sys.argv[1:]:
    predictor = Predictor("imdb", arch)
    for batch_size in (64, 128, 256, 512, 1024):
        predictor.batch_tokens = batch_size * predictor.settings.max_len
        started = time.perf_counter()
        predictor.probabilities(texts)
        print(arch, batch_size, round(time.perf_counter() - started, 2), flush=True)
