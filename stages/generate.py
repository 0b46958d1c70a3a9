"""Sample text from a trained character-level language model, one character at a time.

    python -m stages.generate --dataset shakespeare --arch lstm --prompt "To be, or not to be," \
        --chars 300 --temperature 0.8 --seed 1

Prints the prompt and its continuation. Temperature 0 is greedy (always the likeliest character);
higher is more varied. A prompt character the model never saw in training is a one-line error.
From Python: `sample(model, vocab, prompt, chars, temperature, seed)`.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from stages import UserError, require, run_stage
from stages.data import Paths, read_vocab
from stages.params import architecture_kwargs, is_corpus, load_params
from stages.registry import load_model


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


def sample(model: keras.Model, vocab: list[str], prompt: str, chars: int, temperature: float, seed: int) -> str:
    """`chars` characters continuing `prompt`: the prompt is read once, then each character is one step of
    every recurrent layer, its state carried from the first prompt character on (past the training window
    too, as in char-rnn)."""
    index = {char: i for i, char in enumerate(vocab) if char}  # id 0 (never seen in train) is never produced
    unseen = sorted({char for char in prompt if char not in index})
    if not prompt or unseen:
        problem = f"characters never seen in training: {''.join(unseen)!r}" if unseen else "empty"
        raise UserError(f"--prompt: {problem}; use characters of the training text")
    step = Stepper(model)
    states = [np.zeros((1, size), "float32") for size in step.state_sizes]
    rng, generated, next_id = np.random.default_rng(seed), [], None
    for position in range(len(prompt) + chars - 1):
        char_id = index[prompt[position]] if position < len(prompt) else next_id
        logits, *states = step.predict_on_batch([np.array([char_id], "int32"), *states])
        if position < len(prompt) - 1:
            continue
        logits = np.asarray(logits, np.float64)[0]
        logits[0] = -np.inf
        if temperature == 0:
            next_id = int(logits.argmax())
        else:
            scaled = (logits - logits.max()) / temperature
            next_id = int(rng.choice(len(vocab), p=np.exp(scaled) / np.exp(scaled).sum()))
        generated.append(vocab[next_id])
    return "".join(generated)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="a corpus name from params.yaml (corpora)")
    parser.add_argument("--arch", required=True, help="a language model name from params.yaml (language_models)")
    parser.add_argument("--prompt", help="text to continue (default: generate.prompt)")
    parser.add_argument("--chars", type=int, help="characters to generate (default: generate.chars)")
    parser.add_argument("--temperature", type=float, help="0 = greedy (default: the last of generate.temperatures)")
    parser.add_argument("--seed", type=int, help="sampling seed (default: generate.seed)")
    args = parser.parse_args(argv)
    params = load_params()
    if not is_corpus(params, args.dataset):
        raise UserError(f"--dataset {args.dataset}: a classification dataset; generate needs one of the corpora")
    architecture_kwargs(params, args.arch, "language_models")
    settings = params.generate
    chars = settings.chars if args.chars is None else args.chars
    temperature = settings.temperatures[-1] if args.temperature is None else args.temperature
    if chars < 1 or not 0 <= temperature < float("inf"):
        raise UserError(f"--chars {chars} --temperature {temperature}: need chars >= 1 and a temperature >= 0")
    paths, stage = Paths(args.dataset), f"lm_train@{args.dataset}-{args.arch}"
    model_path = paths.models / f"{args.arch}.keras"
    require({model_path: stage, paths.tokenized / "vocab.json": f"lm_tokenize@{args.dataset}"})
    prompt = settings.prompt if args.prompt is None else args.prompt
    vocab, model = read_vocab(paths.tokenized), load_model(model_path, stage)
    seed = settings.seed if args.seed is None else args.seed
    print(prompt + sample(model, vocab, prompt, chars, temperature, seed))


if __name__ == "__main__":
    run_stage(main)
