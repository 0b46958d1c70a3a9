"""The script behind docs/benchmarks.md's "averaging networks" figures: test accuracy of the mean of the
committed networks' P(pos) (reports/imdb/predictions/*.csv), all of them and the best three. The best three
are picked on the test set itself, so that figure flatters. Run from the project root:

    python docs/results/average_networks.py
"""

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

frames = {path.stem: pd.read_csv(path) for path in sorted(Path("reports/imdb/predictions").glob("*.csv"))}
actual = next(iter(frames.values())).actual.eq("pos").to_numpy()
positive = {  # the CSVs hold the predicted class's probability
    arch: np.where(frame.predicted.eq("pos"), frame.probability, 1 - frame.probability)
    for arch, frame in frames.items()
}


def accuracy(archs: tuple[str, ...]) -> float:
    return float(np.mean((np.mean([positive[arch] for arch in archs], axis=0) > 0.5) == actual))


for arch in positive:
    print(f"{arch}: {accuracy((arch,)):.4f}")
print(f"mean of all {len(positive)}: {accuracy(tuple(positive)):.4f}")
best = max(combinations(positive, 3), key=accuracy)
print(f"best three ({', '.join(best)}), picked on the test set: {accuracy(best):.4f}")
