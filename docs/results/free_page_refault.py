"""What touching memory costs on this host: 4 GiB freshly allocated, again right after a free, and again
after the freed memory sat idle. On a VM whose kernel reports free pages to the hypervisor
(`page_reporting` in /proc/cmdline), idle free memory goes back to the host and must be faulted in
again; the ratio of the last column to the middle one is that cost.

    python docs/results/free_page_refault.py [--idle 15] [--gib 4] [--rounds 2]
"""

import argparse
import time

import numpy as np

PAGE = 4096


def touch(size: int) -> float:
    """Seconds to allocate `size` bytes and write one byte per page (the first touch faults each in)."""
    started = time.perf_counter()
    block = np.empty(size, dtype=np.uint8)
    block[::PAGE] = 1
    seconds = time.perf_counter() - started
    del block  # numpy frees it at once; glibc hands a block this size back to the kernel
    return seconds


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--idle", type=float, default=15.0, help="seconds the freed memory sits idle")
parser.add_argument("--gib", type=int, default=4)
parser.add_argument("--rounds", type=int, default=2)
args = parser.parse_args()
size = args.gib << 30
for round_ in range(args.rounds):
    first, again = touch(size), touch(size)
    time.sleep(args.idle)
    idle = touch(size)
    print(
        f"round {round_}: {args.gib} GiB first touch {first:.2f} s, right after a free {again:.2f} s, "
        f"after {args.idle:g} s idle {idle:.2f} s ({idle / again:.0f}x)",
        flush=True,
    )
