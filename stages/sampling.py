"""Text from a trained character-level language model, one recurrent step per character: shared by the
generate command and the evaluate stage's samples."""

from __future__ import annotations

from collections.abc import Iterator

import keras
import numpy as np

from stages import UserError


def state_sizes(layer: keras.layers.RNN) -> list[int]:
    """The widths of a recurrent layer's states: one (SimpleRNN, GRU) or two (LSTM's h and c)."""
    size = layer.cell.state_size
    return list(size) if isinstance(size, list | tuple) else [size]


class Stepper(keras.Model):
    """A trained language model as one step: (character ids, every recurrent layer's state) -> (logits, new
    states). It calls the model's own embedding, cells and head, so it computes what the model computes over a
    sequence, one character at a time, compiled once instead of re-reading a whole window per character."""

    def __init__(self, model: keras.Model):
        super().__init__(name=f"{model.name}_step")
        skipped = keras.layers.InputLayer | keras.layers.Dropout  # no work at inference
        self.parts = [layer for layer in model.layers if not isinstance(layer, skipped)]
        for layer in self.parts:
            if not isinstance(layer, keras.layers.RNN | keras.layers.Embedding | keras.layers.Dense):
                raise UserError(f"{model.name}: cannot step a {type(layer).__name__} layer one character at a time")
        self.state_sizes = [
            size for layer in self.parts if isinstance(layer, keras.layers.RNN) for size in state_sizes(layer)
        ]

    def call(self, inputs: list) -> list:
        x, states, new_states = inputs[0], list(inputs[1:]), []
        for layer in self.parts:
            if isinstance(layer, keras.layers.RNN):
                count = len(state_sizes(layer))
                x, new = layer.cell(x, states[:count])
                states, new_states = states[count:], [*new_states, *new]
            else:
                x = layer(x)
        return [x, *new_states]


def stream(
    model: keras.Model, vocab: list[str], prompt: str, chars: int, temperature: float, seed: int
) -> Iterator[str]:
    """`chars` characters continuing `prompt`, yielded as they are made: the prompt is read once, then each
    character is one step of every recurrent layer, its state carried from the first prompt character on (past
    the training window too, as in char-rnn)."""
    index = {char: i for i, char in enumerate(vocab) if char}  # id 0 (never seen in train) is never produced
    unseen = sorted({char for char in prompt if char not in index})
    if not prompt or unseen:
        problem = f"characters never seen in training: {''.join(unseen)!r}" if unseen else "empty"
        raise UserError(f"--prompt: {problem}; use characters of the training text")
    return _steps(Stepper(model), [index[char] for char in prompt], vocab, chars, temperature, seed)


def _steps(
    step: Stepper, prompt_ids: list[int], vocab: list[str], chars: int, temperature: float, seed: int
) -> Iterator[str]:
    """The generator behind `stream`, apart so that a bad prompt stops before the first character."""
    states = [np.zeros((1, size), "float32") for size in step.state_sizes]
    rng, next_id = np.random.default_rng(seed), None
    for position in range(len(prompt_ids) + chars - 1):
        char_id = prompt_ids[position] if position < len(prompt_ids) else next_id
        logits, *states = step.predict_on_batch([np.array([char_id], "int32"), *states])
        if position < len(prompt_ids) - 1:
            continue
        logits = np.asarray(logits, np.float64)[0]
        logits[0] = -np.inf
        if temperature == 0:
            next_id = int(logits.argmax())
        else:
            scaled = (logits - logits.max()) / temperature
            next_id = int(rng.choice(len(vocab), p=np.exp(scaled) / np.exp(scaled).sum()))
        yield vocab[next_id]


def sample(model: keras.Model, vocab: list[str], prompt: str, chars: int, temperature: float, seed: int) -> str:
    """The whole of `stream`'s text at once, for the report's samples."""
    return "".join(stream(model, vocab, prompt, chars, temperature, seed))
