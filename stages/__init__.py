"""rnnlab's stages: one module per DVC stage, the modules they share, and tools over the results (predict,
generate, best_experiment, check_results). This package sets what changes results before Keras loads."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

# Settings that change results, in one place: read by TensorFlow when a stage first imports Keras, so set here,
# before any stage module loads. Every stage lists this file as a dependency, so DVC reruns them when it changes.
os.environ["TF_DETERMINISTIC_OPS"] = "1"  # the same metrics from the same params and seed, whatever the shell says
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no C++ info logs between Keras' progress lines
# oneDNN's CPU kernels train seq_cnn twice as fast but change the numbers: the commands in dvc.yaml that import
# Keras set it, where DVC records it (train on, evaluate off); a stage or tool run by hand gets it off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# On KERAS_BACKEND=jax, compiled programs persist between runs: a rerun or `dvc exp run` of the same shapes
# loads them instead of compiling for seconds per batch width in its first epoch. TensorFlow ignores it.
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnnlab", "jax"),
)


# TensorFlow's C++ code logs through absl before it reads any log level. These lines look like errors and are not:
# the notice that it does so, info lines (`I0000 ... port.cc:153] oneDNN custom operations are on`), an error
# line about a tf.data attribute its Keras does not know, and one that oneDNN falls back to Eigen for boolean masks
# on a CPU without AVX-512. Every other line, fatal and real errors included, passes.
HARMLESS_LOG = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|I\d{4} [\d:.]+ +\d+ \S+:\d+\] "
    rb"|E\d{4} [\d:.]+ +\d+ node_def_util\.cc:\d+\] NodeDef mentions attribute use_unbounded_threadpool"
    rb"|E\d{4} [\d:.]+ +\d+ util\.cc:\d+\] oneDNN supports DT_BOOL only on platforms with AVX-512"
)


def hide_harmless_logs() -> None:
    """Route this process's stderr (fd 2, which C++ writes to as well) through a thread that drops HARMLESS_LOG
    lines and passes every other byte on in order, a progress bar's `\r` redraws at once; at exit it drains the
    pipe, so a last `error:` line is never lost."""
    read, write = os.pipe()
    stderr = os.dup(2)
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        pending = b""
        while chunk := os.read(read, 1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not HARMLESS_LOG.match(line))
            redrawn, carriage_return, pending = pending.rpartition(b"\r")  # a progress bar's frames so far
            os.write(stderr, kept + redrawn + carriage_return)
        os.write(stderr, pending)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()

    def drain() -> None:
        sys.stderr.flush()
        os.dup2(stderr, 2)  # closes the pipe's last write end: the pump reads to its end, then stops
        thread.join(timeout=10)

    atexit.register(drain)


SHELLS = {"sh", "dash", "bash", "zsh", "ksh", "fish"}  # dvc runs a stage's command through $SHELL or /bin/sh


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])  # after the command name, which may hold spaces: state, ppid


def die_with_dvc() -> None:
    """Under dvc (which sets DVC_STAGE), end this process when dvc ends, even by SIGKILL: an orphaned stage would
    go on writing outputs that no dvc.lock records. dvc's shell may stay between them (dash does not exec the
    command), so watch the nearest ancestor that is not a shell. A run by hand (under nohup, say) is left alone."""
    if not sys.platform.startswith("linux") or "DVC_STAGE" not in os.environ:
        return
    dvc = os.getppid()
    while dvc > 1 and Path(f"/proc/{dvc}/comm").read_text().strip() in SHELLS:
        dvc = parent_of(dvc)
    try:
        watched = os.pidfd_open(dvc)  # readable once that process has ended
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        select.select([watched], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def interrupted_line() -> str:
    """What Ctrl-C leaves: every output is written aside and renamed, so none was touched."""
    return f"error: interrupted: {shlex.join(['python', *sys.orig_argv[1:]])} stopped; nothing was written"


def report_interrupt(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    """Ctrl-C gets one line, not a traceback."""
    if not issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    print(interrupted_line(), file=sys.stderr)


COMMAND = sys.argv[:1] == ["-m"]  # Python's value while `python -m stages.<module>` imports this package
if COMMAND:
    hide_harmless_logs()
    die_with_dvc()
    sys.excepthook = report_interrupt


@contextlib.contextmanager
def ctrl_c_exits_at_once() -> Iterator[None]:
    """In a command, Ctrl-C inside this block ends the process from a thread of its own, with the one line and the
    shell's status for Ctrl-C (130): a KeyboardInterrupt raised in the middle of a TensorFlow training step can
    leave that step waiting forever. Called in-process (tests), Ctrl-C stays Python's."""
    if not COMMAND:
        yield
        return
    received, wakeup = socket.socketpair()
    wakeup.setblocking(False)
    previous_fd = signal.set_wakeup_fd(wakeup.fileno(), warn_on_full_buffer=False)
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # the watcher acts, the main thread goes on

    def watch() -> None:
        while signums := received.recv(64):  # Python writes each caught signal's number here, from any thread
            if signal.SIGINT in signums:
                print(interrupted_line(), file=sys.stderr)
                sys.stdout.flush()
                atexit._run_exitfuncs()  # the log filter's drain among them
                os._exit(128 + signal.SIGINT)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        wakeup.close()  # the watcher reads the end of its socket and stops
        watcher.join()
        received.close()


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line, no traceback."""


def require(inputs: dict[Path, str]) -> None:
    """Stop at the first missing input file, naming the stage that writes it: a stage or tool run by hand
    (or after `dvc pull` of one stage's outputs) gets one line, not a traceback halfway through its work."""
    for path, stage in inputs.items():
        if not path.is_file():
            raise UserError(f"{path}: missing; run `dvc repro {stage}` first")


def run_stage(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a stage's main: a UserError becomes `error: ...` on stderr and exit status 2. As a command (no argv)
    it then exits without Python's teardown of TensorFlow's objects, a second or two per process that changes
    nothing: every output is written and closed by then, and the exit handlers still run."""
    try:
        main(argv)
        code = 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    if argv is not None:  # called in-process, by a test
        if code:
            raise SystemExit(code)
        return
    sys.stdout.flush()
    atexit._run_exitfuncs()  # the log filter's drain among them
    os._exit(code)
