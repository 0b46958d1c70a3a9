"""Sample text from a trained character-level language model, one character at a time.

    python -m stages.generate --dataset shakespeare --arch lstm --prompt "To be, or not to be," \
        --chars 300 --temperature 0.8 --seed 1

Prints the prompt and its continuation. Temperature 0 is greedy (always the likeliest character);
higher is more varied. A prompt character the model never saw in training is a one-line error.
From Python: `stages.sampling.sample(model, vocab, prompt, chars, temperature, seed)`.
"""

from __future__ import annotations

import argparse

from stages import UserError, require, run_stage
from stages.data import read_vocab
from stages.params import load_params
from stages.registry import architecture_kwargs, check_architectures, load_model
from stages.sampling import sample
from stages.task import task


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="a corpus name from params.yaml (corpora)")
    parser.add_argument("--arch", required=True, help="a language model name from params.yaml (language_models)")
    parser.add_argument("--prompt", help="text to continue (default: generate.prompt)")
    parser.add_argument("--chars", type=int, help="characters to generate (default: generate.chars)")
    parser.add_argument("--temperature", type=float, help="0 = greedy (default: the last of generate.temperatures)")
    parser.add_argument("--seed", type=int, help="sampling seed (default: generate.seed)")
    args = parser.parse_args(argv)
    params = check_architectures(load_params())
    kind = task(params, args.dataset)
    if not kind.language_model:
        raise UserError(f"--dataset {args.dataset}: a classification dataset; generate needs one of the corpora")
    architecture_kwargs(params, args.arch, "language_models")
    settings = params.generate
    chars = settings.chars if args.chars is None else args.chars
    temperature = settings.temperatures[-1] if args.temperature is None else args.temperature
    if chars < 1 or not 0 <= temperature < float("inf"):
        raise UserError(f"--chars {chars} --temperature {temperature}: need chars >= 1 and a temperature >= 0")
    paths, stage = kind.paths, kind.stage("train", args.arch)
    model_path = paths.models / f"{args.arch}.keras"
    require({model_path: stage, paths.tokenized / "vocab.json": kind.stage("tokenize")})
    prompt = settings.prompt if args.prompt is None else args.prompt
    vocab, model = read_vocab(paths.tokenized), load_model(model_path, stage)
    seed = settings.seed if args.seed is None else args.seed
    print(prompt + sample(model, vocab, prompt, chars, temperature, seed))


if __name__ == "__main__":
    run_stage(main)
