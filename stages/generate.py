"""Sample text from a trained character-level language model, one character at a time.

    python -m stages.generate --dataset shakespeare --arch lstm --prompt "To be, or not to be," \
        --chars 300 --temperature 0.8 --seed 1

Prints the prompt and its continuation. Temperature 0 is greedy (always the likeliest character);
higher is more varied. A prompt character the model never saw in training is a one-line error.
From Python: `sample(model, vocab, prompt, chars, temperature, seed, context)`.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from stages import UserError, require, run_stage
from stages.data import Paths, read_vocab
from stages.params import architecture_kwargs, is_corpus, load_params
from stages.registry import load_model


def sample(
    model: keras.Model, vocab: list[str], prompt: str, chars: int, temperature: float, seed: int, context: int
) -> str:
    """`chars` characters continuing `prompt`; the model reads the last `context` characters, as in training."""
    index = {char: i for i, char in enumerate(vocab) if char}  # id 0 (never seen in train) is never produced
    unseen = sorted({char for char in prompt if char not in index})
    if not prompt or unseen:
        problem = f"characters never seen in training: {''.join(unseen)!r}" if unseen else "empty"
        raise UserError(f"--prompt: {problem}; use characters of the training text")
    ids, rng, generated = [index[char] for char in prompt], np.random.default_rng(seed), []
    for _ in range(chars):
        logits = np.asarray(model(np.array([ids[-context:]], dtype=np.int32), training=False))[0, -1]
        logits = logits.astype(np.float64)
        logits[0] = -np.inf
        if temperature == 0:
            next_id = int(logits.argmax())
        else:
            scaled = (logits - logits.max()) / temperature
            probabilities = np.exp(scaled) / np.exp(scaled).sum()
            next_id = int(rng.choice(len(vocab), p=probabilities))
        ids.append(next_id)
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
    print(prompt + sample(model, vocab, prompt, chars, temperature, seed, params.corpora[args.dataset].seq_len))


if __name__ == "__main__":
    run_stage(main)
