"""Sample text from a trained character-level language model, one character at a time.

    python -m stages.generate --dataset shakespeare --arch lstm --prompt "To be, or not to be," \
        --chars 300 --temperature 0.8 --seed 1

Prints the prompt, then its continuation as it is generated (at most MAX_CHARS characters). Temperature 0
is greedy (always the likeliest character); higher is more varied. A prompt character the model never saw in
training is a one-line error. From Python: `stages.sampling.stream(model, vocab, prompt, chars, temperature,
seed)` yields the characters; `sample(...)` returns them as one string.
"""

from __future__ import annotations

import argparse
import sys

from stages import UserError, require, run_stage
from stages.data import read_vocab
from stages.params import load_params
from stages.registry import architecture_kwargs, check_architectures, load_model
from stages.sampling import stream
from stages.task import task

MAX_CHARS = 100_000  # a bound on one request, so a typo cannot run for hours


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
    seed = settings.seed if args.seed is None else args.seed
    if not 1 <= chars <= MAX_CHARS or not 0 <= temperature < float("inf") or not 0 <= seed < 2**32:
        raise UserError(
            f"--chars {chars} --temperature {temperature} --seed {seed}: "
            f"need 1 <= chars <= {MAX_CHARS:,}, a temperature >= 0 and 0 <= seed < 2**32"
        )
    paths, stage = kind.paths, kind.stage("train", args.arch)
    model_path = paths.models / f"{args.arch}.keras"
    require({model_path: stage, paths.tokenized / "vocab.json": kind.stage("tokenize")})
    prompt = settings.prompt if args.prompt is None else args.prompt
    vocab, model = read_vocab(paths.tokenized), load_model(model_path, stage)
    characters = stream(model, vocab, prompt, chars, temperature, seed)
    sys.stdout.reconfigure(line_buffering=True)  # a long run shows each line as it is written, piped or not
    sys.stdout.write(prompt)
    for char in characters:
        sys.stdout.write(char)
    sys.stdout.write("\n")


if __name__ == "__main__":
    run_stage(main)
