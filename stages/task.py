"""What a dataset is for, and so where its files live and what its stages are called: a classification
dataset (`datasets`, stages such as `train@imdb-gru`) or a language-model corpus (`corpora`, stages such as
`lm_train@shakespeare-gru`). Stages ask the Task instead of branching on the kind themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.params import Corpus, Dataset, Params, ParamsError, Train, classifier_train


@dataclass(frozen=True)
class Paths:
    """Where one dataset's files live; dvc.yaml declares the same layout as stage outputs."""

    dataset: str

    @property
    def raw(self) -> Path:
        return Path("data") / self.dataset / "raw"

    @property
    def tokenized(self) -> Path:
        return Path("data") / self.dataset / "tokenized"

    @property
    def stats(self) -> Path:
        return Path("data") / self.dataset / "stats.json"

    @property
    def models(self) -> Path:
        return Path("data") / self.dataset / "models"

    @property
    def metrics(self) -> Path:
        return Path("metrics") / self.dataset

    @property
    def live(self) -> Path:
        return Path("dvclive") / self.dataset

    @property
    def report(self) -> Path:
        return Path("reports") / self.dataset

    @property
    def predictions(self) -> Path:
        return self.report / "predictions"

    @property
    def samples(self) -> Path:
        return self.report / "samples"


@dataclass(frozen=True)
class Task:
    """One dataset's kind: its params sections, its stage names and its paths."""

    dataset: str
    language_model: bool

    @property
    def paths(self) -> Paths:
        return Paths(self.dataset)

    @property
    def models_section(self) -> str:
        """The params.yaml section of its model entries."""
        return "language_models" if self.language_model else "architectures"

    @property
    def data_section(self) -> str:
        """The params.yaml section of its entry."""
        return "corpora" if self.language_model else "datasets"

    @property
    def train_section(self) -> str:
        """The params.yaml section of its training settings."""
        return "lm_train" if self.language_model else "train"

    def settings(self, params: Params) -> Dataset | Corpus:
        """Its entry under `datasets` or `corpora`."""
        return getattr(params, self.data_section)[self.dataset]

    def architectures(self, params: Params) -> list[str]:
        """The names of the models the study trains on it."""
        return list(getattr(params, self.models_section))

    def stage(self, step: str, arch: str = "") -> str:
        """The DVC stage that runs `step` for it, as dvc.yaml names it: download, tokenize, train, evaluate, report,
        and for a classification dataset baseline."""
        name = f"{'lm_' if self.language_model else ''}{step}@{self.dataset}"
        return f"{name}-{arch}" if arch else name

    def train_settings(self, params: Params, arch: str) -> Train:
        """The training settings `arch` gets: `lm_train`, or `train` with the architecture's own overrides."""
        return params.lm_train if self.language_model else classifier_train(params, arch)


def task(params: Params, dataset: str) -> Task:
    """The task of a dataset or corpus named in params.yaml; any other name is a one-line error."""
    if dataset not in params.datasets and dataset not in params.corpora:
        allowed = ", ".join(sorted([*params.datasets, *params.corpora]))
        raise ParamsError(f"--dataset {dataset}: not in params.yaml datasets or corpora; allowed: {allowed}")
    return Task(dataset, dataset in params.corpora)
