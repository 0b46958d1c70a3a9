"""Every registered architecture builds, handles padding masks, and round-trips through `.keras`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import keras
import numpy as np
import pytest
from pydantic import ValidationError

from stages import UserError
from stages.layers import MaskedMaxPooling1D, RegionSum
from stages.optimizers import OPTIMIZERS
from stages.params import Train
from stages.registry import (
    ARCHITECTURES,
    architecture_params_model,
    build_language_model,
    build_model,
    predicts_every_step,
)
from stages.scoring import class_probabilities, probabilities_by_length


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_builds_and_predicts_probabilities(name: str, tmp_path: Path):
    keras.utils.set_random_seed(0)
    hyperparams = architecture_params_model(name)().model_dump()
    model = build_model(name, hyperparams, vocab_size=50, embedding_dim=12)
    x = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 9, 9, 9, 9, 9, 9, 9]], dtype=np.int32)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (2, 1)
    assert np.all((probabilities > 0) & (probabilities < 1))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), probabilities, rtol=1e-6)


JAX_TRAIN_AND_ROUND_TRIP = """import sys, keras, numpy as np
from stages.optimizers import OPTIMIZERS
from stages.registry import ARCHITECTURES, architecture_params_model, build_language_model, build_model
from stages.registry import load_model, predicts_every_step
x = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 9, 9, 9, 9, 9, 9, 9]], dtype=np.int32)
def trains(model, y, loss):
    model.compile(optimizer=OPTIMIZERS["adam"](0.01, clipnorm=1.0), loss=loss)
    before = [w.copy() for w in model.get_weights()]
    losses = model.fit(x, y, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)), losses
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
for name in sorted(ARCHITECTURES):
    keras.utils.set_random_seed(0)
    hyperparams = architecture_params_model(name)().model_dump()
    model = build_model(name, hyperparams, vocab_size=50, embedding_dim=12)
    trains(model, np.array([0.0, 1.0]), "binary_crossentropy")
    model.save(f"{sys.argv[1]}/{name}.keras")
    loaded = load_model(f"{sys.argv[1]}/{name}.keras", "train")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    if predicts_every_step(name):
        language_model = build_language_model(name, hyperparams, vocab_size=50, embedding_dim=12)
        trains(language_model, np.roll(x, -1, axis=1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    print(name, keras.backend.backend())
"""


def test_every_architecture_trains_and_round_trips_on_jax(tmp_path: Path):
    """The README's other backend, every architecture and language model in one process: a few training steps
    change the weights with finite losses, and a model saved and loaded predicts what it did (a saved cnn_rnn
    once kept its mask pooling's sizes as lists, which JAX's max_pool refused). `dvc repro` on JAX runs a few
    of them through the stages (test_pipeline.py)."""
    env = os.environ | {"KERAS_BACKEND": "jax"}
    command = [sys.executable, "-c", JAX_TRAIN_AND_ROUND_TRIP, str(tmp_path)]
    result = subprocess.run(command, cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [f"{name} jax" for name in sorted(ARCHITECTURES)]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_padding_does_not_change_the_prediction(name: str):
    """Right-padding is masked: a review scores the same however much padding follows it."""
    keras.utils.set_random_seed(0)
    model = build_model(name, architecture_params_model(name)().model_dump(), vocab_size=50, embedding_dim=12)
    short = np.array([[5, 6, 7, 8, 9, 10, 11, 12]], dtype=np.int32)
    padded = np.pad(short, ((0, 0), (0, 8)))
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(padded, verbose=0), atol=1e-5)


def test_embedding_dropout_trains_on_dropped_channels_and_keeps_the_mask():
    """Active only in training, and the padding stays masked behind it."""
    keras.utils.set_random_seed(0)
    model = build_model("gru", {"units": 8}, vocab_size=50, embedding_dim=8, embedding_dropout=0.5)
    embedded = keras.Model(model.input, model.get_layer("embedding_dropout").output)
    x = np.array([[5, 6, 7, 8, 9, 10, 11, 12]], dtype=np.int32)
    dropped = np.asarray(embedded(x, training=True))[0]
    assert 0 < np.sum(np.all(dropped == 0, axis=0)) < 8  # whole channels, the same at every step
    np.testing.assert_allclose(np.asarray(embedded(x, training=False)), np.asarray(model.get_layer("embedding")(x)))
    padded = np.pad(x, ((0, 0), (0, 8)))
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(padded, verbose=0), atol=1e-5)


def test_pooled_mask_marks_windows_with_any_real_step():
    pool = MaskedMaxPooling1D(2)
    mask = np.array([[True, True, True, False, False, False]])
    pooled = pool.compute_mask(np.zeros((1, 6, 1)), mask)
    assert np.asarray(pooled).tolist() == [[True, True, False]]


def test_region_sum_adds_each_neighbours_part_and_skips_padding():
    """Region 3 over a 6-wide embedding: step t = relu(first third of t-1 + middle of t + last third of t+1 + bias);
    a masked step feeds no neighbour."""
    embedded = np.arange(1, 4 * 6 + 1, dtype="float32").reshape(1, 4, 6) * np.array([1, -1, 1, -1, 1, -1])
    layer = RegionSum(3)
    layer.build(embedded.shape)
    layer.bias.assign(np.array([0.5, 0.25], dtype="float32"))
    parts = np.pad(embedded[0], ((1, 1), (0, 0))).reshape(6, 3, 2)  # zero rows before and after
    expected = np.maximum(parts[:-2, 0] + parts[1:-1, 1] + parts[2:, 2] + [0.5, 0.25], 0)
    np.testing.assert_allclose(np.asarray(layer(embedded)), expected[None], rtol=1e-6)
    mask = np.array([[True, True, True, False]])
    parts[4] = 0  # the padded step, zeroed
    expected = np.maximum(parts[:-2, 0] + parts[1:-1, 1] + parts[2:, 2] + [0.5, 0.25], 0)
    np.testing.assert_allclose(np.asarray(layer(embedded, mask=mask))[:, :3], expected[None, :3], rtol=1e-6)


def test_region_width_must_split_into_the_region():
    with pytest.raises(UserError, match=r"^embedding_dim 8 .* is not a multiple of region 3: "):
        build_model("seq_cnn", {"region": 3}, vocab_size=50, embedding_dim=8)


def test_builder_signature_is_the_schema():
    model = architecture_params_model("stacked_rnn")
    assert model(units=8, depth=3, cell="gru").depth == 3
    with pytest.raises(ValidationError):
        model(depth=1)
    with pytest.raises(ValidationError):
        model(layers=2)


LANGUAGE_MODELS = sorted(filter(predicts_every_step, ARCHITECTURES))


def test_only_causal_builders_can_be_language_models():
    assert LANGUAGE_MODELS == ["gru", "lstm", "simple_rnn", "stacked_rnn"]


@pytest.mark.parametrize("name", LANGUAGE_MODELS)
def test_language_model_predicts_every_step_causally(name: str):
    """Logits for every position; changing a later character never changes an earlier prediction."""
    keras.utils.set_random_seed(0)
    model = build_language_model(name, architecture_params_model(name)().model_dump(), vocab_size=12, embedding_dim=4)
    text = np.array([[3, 4, 5, 6, 7, 8]], dtype=np.int32)
    changed = text.copy()
    changed[0, 4:] = [1, 2]
    logits, logits_changed = model.predict(text, verbose=0), model.predict(changed, verbose=0)
    assert logits.shape == (1, 6, 12)
    np.testing.assert_allclose(logits[:, :4], logits_changed[:, :4], atol=1e-6)
    assert not np.allclose(logits[:, 4:], logits_changed[:, 4:])


@pytest.mark.parametrize(
    ("name", "mask", "pre_padded"), [("seq_cnn", True, False), ("gru", True, True), ("lstm", False, True)]
)
def test_evaluation_by_length_scores_every_review_as_at_full_width(name: str, mask: bool, pre_padded: bool):
    """Evaluate and predict score reviews in batches of similar length cut to their longest one: each review's
    probabilities are the full-width ones, in the input order; an unmasked model reads its padding, so keeps it."""
    keras.utils.set_random_seed(0)
    hyperparams = architecture_params_model(name)().model_dump()
    model = build_model(name, hyperparams, vocab_size=50, embedding_dim=12, mask=mask)
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=40)
    rows = [rng.integers(2, 50, size=n) for n in lengths]
    x = np.zeros((40, 300), dtype=np.int32)
    for i, row in enumerate(rows):
        if pre_padded:
            x[i, 300 - len(row) :] = row
        else:
            x[i, : len(row)] = row
    by_length = probabilities_by_length(model, x, lengths, pre_padded, batch_values=8 * 300 * 12)
    np.testing.assert_allclose(by_length, class_probabilities(model, x, batch_size=8), atol=2e-5)


def test_params_allow_exactly_the_registered_optimizers():
    """`train.optimizer`'s allowed names (params.py imports no Keras) and the optimizers a stage can build agree."""
    assert set(get_args(Train.model_fields["optimizer"].annotation)) == set(OPTIMIZERS)
