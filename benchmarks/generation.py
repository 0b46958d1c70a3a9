"""Characters per second of text generation for each trained language model: the whole model re-read over
its last `seq_len` characters per character (the window path) beside one recurrent step per character
(`stages.sampling.stream`), in one run; and `python -m stages.generate --chars 300` end to end.

    python -m benchmarks.generation [--corpus shakespeare] [--chars 1000] [--window-chars 50] [--arch gru ...]

Run from the repository root after `dvc repro`; prints a Markdown table with the backend and the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

import keras
import numpy as np

from stages.data import read_vocab
from stages.params import load_params
from stages.registry import load_model
from stages.sampling import sample
from stages.task import task

END_TO_END_CHARS = 300


def window_sample(model: keras.Model, vocab: list[str], prompt: str, chars: int, context: int) -> str:
    """Greedy text the window way: every character is a whole forward pass over the last `context` ids."""
    ids = [vocab.index(char) for char in prompt]
    for _ in range(chars):
        logits = np.array(model(np.array([ids[-context:]], "int32"), training=False))[0, -1]
        logits[0] = -np.inf
        ids.append(int(logits.argmax()))
    return "".join(vocab[i] for i in ids[len(prompt) :])


def chars_per_second(generate: Callable[[int], str], chars: int) -> float:
    """Rate of `generate(chars)` once warm: a first short call compiles, the second is timed."""
    generate(2)
    started = time.perf_counter()
    generate(chars)
    return chars / (time.perf_counter() - started)


def end_to_end_seconds(corpus: str, arch: str) -> float:
    """Wall time of the generate command, process start-up and model loading included."""
    command = [sys.executable, "-m", "stages.generate", "--dataset", corpus, "--arch", arch]
    started = time.perf_counter()
    subprocess.run([*command, "--chars", str(END_TO_END_CHARS)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="shakespeare")
    parser.add_argument("--chars", type=int, default=1000, help="characters the stepping path generates")
    parser.add_argument("--window-chars", type=int, default=50, help="characters the window path generates")
    parser.add_argument("--arch", nargs="*", help="default: every entry of language_models")
    args = parser.parse_args(argv)
    params = load_params()
    kind, prompt = task(params, args.corpus), params.generate.prompt
    seq_len, vocab = params.corpora[args.corpus].seq_len, read_vocab(kind.paths.tokenized)
    print(
        f"{args.corpus}, backend {keras.backend.backend()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; greedy, prompt {prompt!r}\n"
    )
    print(f"| model | window chars/s | stepped chars/s | ratio | generate --chars {END_TO_END_CHARS} s |")
    print("| --- | --- | --- | --- | --- |")
    for arch in args.arch or list(params.language_models):
        model = load_model(kind.paths.models / f"{arch}.keras", kind.stage("train", arch))
        window = chars_per_second(partial(window_sample, model, vocab, prompt, context=seq_len), args.window_chars)
        stepped = chars_per_second(partial(sample, model, vocab, prompt, temperature=0, seed=0), args.chars)
        seconds = end_to_end_seconds(args.corpus, arch)
        print(f"| {arch} | {window:,.0f} | {stepped:,.0f} | {stepped / window:,.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
