"""params.yaml validation: every invalid value fails with one line naming the key."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.params import ParamsError, classifier_train, load_params
from stages.params import validate as validate_schema
from stages.registry import ARCHITECTURES, architecture_kwargs, check_architectures
from tests.conftest import ROOT, make_project, project_env, run, set_key

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def validate(raw: object):
    """params.yaml as a stage that builds a model sees it: the schema, then each model entry against its builder."""
    return check_architectures(validate_schema(raw))


def with_change(key: str, value: object) -> dict:
    params = copy.deepcopy(DEFAULTS)
    set_key(params, key, value)
    return params


def test_defaults_are_valid():
    params = validate(DEFAULTS)
    assert set(params.architectures) == set(ARCHITECTURES)  # every builder has its params.yaml entry
    assert set(params.datasets) == {"imdb"} and set(params.corpora) == {"shakespeare"}
    assert set(params.language_models) == {"simple_rnn", "stacked_rnn", "lstm", "gru"}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("train.epochs", 0, "train.epochs: Input should be greater than 0 (got 0)"),
        ("train.batch_size", -32, "train.batch_size: Input should be greater than 0 (got -32)"),
        ("train.learning_rate", "1e-3", "train.learning_rate: Input should be a valid number (got '1e-3')"),
        ("train.learning_rate", float("inf"), "train.learning_rate: Input should be a finite number (got inf)"),
        ("train.epochs", True, "train.epochs: Input should be a valid integer (got True)"),
        (
            "datasets.imdb.split.val_fraction",
            1.5,
            "datasets.imdb.split.val_fraction: Input should be less than 1 (got 1.5)",
        ),
        (
            "datasets.imdb.tokenize.padding",
            "left",
            "datasets.imdb.tokenize.padding: allowed: 'pre' or 'post' (got 'left')",
        ),
        ("train.optimiser", "adam", "train.optimiser: unknown key"),
        ("train.optimizer", "sgd", "train.optimizer: allowed: 'adam' or 'lazy_adam' (got 'sgd')"),
        ("architectures.lstm.dropout", 1.2, "architectures.lstm.dropout: Input should be less than 1 (got 1.2)"),
        ("architectures.lstm.unit", 64, "architectures.lstm.unit: unknown key"),
        ("architectures.gru.units", 0, "architectures.gru.units: Input should be greater than 0 (got 0)"),
        (
            "architectures.bi_rnn.cell",
            "rnn",
            "architectures.bi_rnn.cell: allowed: 'simple', 'lstm' or 'gru' (got 'rnn')",
        ),
        ("datasets.imdb.source.sha256", "abc", "datasets.imdb.source.sha256: String should match pattern"),
        ("datasets.imdb.source.format", "xml", "datasets.imdb.source.format: allowed: 'folders', 'csv', 'tsv'"),
        ("datasets.imdb.class_weight", "auto", "datasets.imdb.class_weight: allowed: 'none' or 'balanced'"),
        ("language_models.bi_rnn", {}, "language_models.bi_rnn: unknown architecture; allowed: gru, lstm, simple_rnn"),
        ("corpora.shakespeare.source.format", "csv", "corpora.shakespeare.source.format: allowed: 'text'"),
        ("corpora.shakespeare.seq_len", 0, "corpora.shakespeare.seq_len: Input should be greater than 0"),
        ("generate.temperatures", [], "generate.temperatures: List should have at least 1 item"),
        ("train.distribution", "ring", "train.distribution: allowed: 'single', 'mirrored' or 'multi_worker'"),
        ("architectures.gru.train", {"bucketin": False}, "architectures.gru.train.bucketin: unknown key"),
        (
            "architectures.gru.train",
            {"batch_size": 0},
            "architectures.gru.train.batch_size: Input should be greater than 0 (got 0)",
        ),
        ("architectures.gru.train", [1], "architectures.gru.train: expected a mapping of train keys"),
        ("train.embedding_dropout", 1.0, "train.embedding_dropout: Input should be less than 1 (got 1.0)"),
        ("train.bucket_width", -32, "train.bucket_width: Input should be greater than or equal to 0 (got -32)"),
        ("train.max_len", -1, "train.max_len: Input should be greater than or equal to 0 (got -1)"),
        (
            "architectures.seq_cnn.train",
            {"max_len": 2.5},
            "architectures.seq_cnn.train.max_len: Input should be a valid integer (got 2.5)",
        ),
        (
            "architectures.gru.train",
            {"embedding_dropout": -0.1},
            "architectures.gru.train.embedding_dropout: Input should be greater than or equal to 0 (got -0.1)",
        ),
        ("language_models.gru.train", {"epochs": 1}, "language_models.gru.train: unknown key"),
    ],
)
def test_invalid_value_names_key_and_rule(key, value, expected):
    with pytest.raises(ParamsError) as error:
        validate(with_change(key, value))
    message = str(error.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_an_architecture_overrides_train_for_itself_only():
    params = with_change("architectures.lstm.train", {"bucketing": False, "learning_rate": 0.002})
    params["architectures"]["gru"].pop("train", None)
    params["train"]["bucketing"] = True
    parsed = validate(params)
    lstm, gru = classifier_train(parsed, "lstm"), classifier_train(parsed, "gru")
    assert (lstm.bucketing, lstm.learning_rate, lstm.batch_size) == (False, 0.002, parsed.train.batch_size)
    assert gru == parsed.train
    assert "train" not in architecture_kwargs(parsed, "lstm")


def test_unknown_architecture_lists_the_known_ones():
    params = with_change("architectures.transformer", {"units": 8})
    allowed = ", ".join(sorted(ARCHITECTURES))
    with pytest.raises(ParamsError, match=rf"^architectures.transformer: unknown architecture; allowed: {allowed}$"):
        validate(params)


def test_missing_section():
    params = copy.deepcopy(DEFAULTS)
    del params["train"]
    with pytest.raises(ParamsError, match=r"^train: missing key$"):
        validate(params)


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 0\ntrain: [unclosed\n")
    with pytest.raises(ParamsError, match=r"params.yaml: line \d+: YAML syntax error"):
        load_params(path)


# Values that no numeric or enumerated key accepts, whatever its rule.
INVALID = st.one_of(
    st.integers(max_value=-1),
    st.just(True),
    st.text(max_size=5).filter(lambda s: s not in {"pre", "post", "simple", "lstm", "gru", "val_loss", "val_accuracy"}),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=True).filter(lambda x: not 0 <= x < 1),
)
SECTIONS = {
    "datasets.imdb.tokenize": DEFAULTS["datasets"]["imdb"]["tokenize"],
    "datasets.imdb.split": DEFAULTS["datasets"]["imdb"]["split"],
    **{section: DEFAULTS[section] for section in ("train", "baseline")},
}
NUMERIC_KEYS = [
    f"{section}.{key}"
    for section, values in SECTIONS.items()
    for key, value in values.items()
    if isinstance(value, (int, float)) and not isinstance(value, bool)
] + [
    f"architectures.{arch}.{key}"
    for arch, hyperparams in DEFAULTS["architectures"].items()
    for key, value in hyperparams.items()
    if isinstance(value, (int, float))
]


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(NUMERIC_KEYS), value=INVALID)
def test_validator_never_accepts_an_invalid_value(key, value):
    """Property: a negative, boolean, text, null, list or non-probability value is refused by name."""
    if isinstance(value, float) and value == value and value >= 1 and not key.endswith("dropout"):
        value = -value  # >= 1 is fine for sizes; make it invalid for every key
    with pytest.raises(ParamsError) as error:
        validate(with_change(key, value))
    assert str(error.value).startswith(key)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=4),
        max_leaves=12,
    )
)
def test_validator_never_crashes(raw):
    """Property: arbitrary YAML-shaped data is either valid params or a ParamsError, never a traceback."""
    try:
        validate(raw)
    except ParamsError as error:
        assert "\n" not in str(error)


def test_a_dataset_may_leave_out_every_key_with_a_documented_default():
    """docs/params.md gives defaults for tokenize's keys and class_weight: an entry without them is valid."""
    params = copy.deepcopy(DEFAULTS)
    imdb = params["datasets"]["imdb"]
    del imdb["class_weight"], imdb["tokenize"]
    parsed = validate_schema(params).datasets["imdb"]
    assert parsed.class_weight == "none"
    assert parsed.tokenize.model_dump() == {
        "vocab_size": 20000,
        "max_len": 1024,
        "padding": "post",
        "truncating": "pre",
        "lowercase": True,
    }


def test_optional_dataset_keys_are_optional_under_dvc_repro_too(tmp_path: Path, fake_mirror: Path):
    """DVC stops on a param that dvc.yaml names and params.yaml lacks: the stages depend on a dataset's whole
    entry, so leaving out `class_weight` or a tokenize key with a default is fine under `dvc repro` as well."""
    project = make_project(tmp_path / "project", fake_mirror, {"datasets.imdb.tokenize": {"vocab_size": 200}})
    params = yaml.safe_load((project / "params.yaml").read_text())
    del params["datasets"]["imdb"]["class_weight"]
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = project_env(fake_mirror)
    run(["dvc", "repro", "tokenize@imdb", "baseline@imdb"], project, env)
    stats = json.loads((project / "data/imdb/stats.json").read_text())
    assert stats["max_len"] == 1024 and stats["vocab_size"] <= 200  # the default max_len, the given vocab_size
    assert "changed" not in run(["dvc", "status", "tokenize@imdb", "baseline@imdb"], project, env).stdout


def test_stage_cli_fails_before_any_work(tmp_path: Path, fake_mirror: Path):
    project = make_project(tmp_path / "project", fake_mirror, {"train.batch_size": 0})
    result = run(
        ["python", "-m", "stages.download", "--dataset", "imdb"], project, project_env(fake_mirror), check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: train.batch_size: Input should be greater than 0 (got 0)"]
    assert not (project / "data").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [("architectures.gru.units", -1), ("architectures.transformer", {}), ("language_models.bi_rnn", {})],
)
def test_stages_that_build_no_model_leave_the_architectures_to_those_that_do(key: str, value: object):
    """Checking an architecture's entry imports the registry, and so Keras: download, tokenize, baseline and report
    skip it; train, evaluate, generate and predict, the stages that build or load a model, refuse the entry."""
    params = with_change(key, value)
    assert validate_schema(params).train == validate(DEFAULTS).train
    with pytest.raises(ParamsError, match=rf"^{key}: "):
        validate(params)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("architectures.simple_rnn.train.batch_size", 0, "Input should be greater than 0 (got 0)"),
        ("architectures.gru.train", 5, "expected a mapping of train keys"),
        ("seed", -1, "Input should be greater than or equal to 0 (got -1)"),
    ],
)
def test_stages_that_build_no_model_still_check_the_rest(key: str, value: object, expected: str):
    with pytest.raises(ParamsError, match=rf"^{key}: {re.escape(expected)}$"):
        validate_schema(with_change(key, value))


def test_stages_that_build_no_model_start_without_keras():
    """TensorFlow's import is 6 to 8 s of every stage process on a 2-core CPU: the stages that need no model
    must not pay it, through the registry or otherwise."""
    code = (
        "import sys, stages.download, stages.tokenize, stages.baseline, stages.report; "
        "print(sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))"
    )
    result = run(["python", "-c", code], ROOT, project_env(None))
    assert result.stdout.strip() == "[]"
