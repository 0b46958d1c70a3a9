"""The project's defaults against the reference notebooks' settings, side by side through the same pipeline.

    RNNLAB_DATA_MIRROR=../shared/data python -m benchmarks.notebooks [--docs 4000] [--repeats 3] [--first-seed 0]
        [--architectures lstm gru] [--results runs.jsonl] [--write docs/benchmarks.md]

Copies the project into a temporary git + DVC repository and limits IMDB to a fixed, stratified,
seeded subset (`split.train_docs` = `split.test_docs` = --docs; 0 = all 25,000 each). Each repeat
runs `dvc repro --no-run-cache` of the evaluate stages three times: every architecture with
params.yaml as it is, then the architectures each preset in presets/ configures, with that preset
applied. Accuracy is the test split's; `fit s` is `train_seconds` (the whole `fit`, validation
included) and `to final s` is `seconds_to_best`: the time until the kept weights existed. The
ratio divides the defaults' time to their final accuracy by the notebook's training time. Repeat r
runs with `seed: r` (its subset, split, initial weights and shuffling), because one seed's accuracy
says little on 4,000 reviews: a SimpleRNN scores anywhere from 0.51 to 0.80 across seeds. Every
figure is a median over the repeats; accuracy also shows the lowest and highest.
Prints a Markdown table; --write replaces (or appends) this backend's section in a Markdown file.
--results appends each finished run to a JSON-lines file, and --table renders such files again
(an interrupted benchmark keeps the pairs it finished). --first-seed splits the repeats across runs
(or machines): their --results files render as one table. A later file's run of the same seed,
configuration and architecture replaces an earlier one's, so a rerun of some rows updates a table
(one backend and one --docs per table); with --architectures it shows only those rows, so the seeds
one file adds to some architectures of another render as their own table.

Where neither DVC nor TensorFlow is installed (a GPU machine with JAX), run it in two halves: here,
`--export DIR` runs only the tokenize stage of every configuration and seed and packs each result
into DIR; there, `KERAS_BACKEND=jax python -m benchmarks.notebooks --tokenized DIR` trains and
evaluates in-process from those archives, with the same stage functions, one architecture at a
time (its defaults, then its notebook presets). On a TensorFlow CPU keep to the DVC route: in this
process TensorFlow runs without oneDNN, which the train stage turns on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from datetime import date
from pathlib import Path

import yaml

from stages.metrics import read_metrics
from stages.presets import PRESETS_DIR, apply_overrides, load_preset

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = (
    "stages",
    "presets",
    "params.yaml",
    "dvc.yaml",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvc/plots",
    ".dvcignore",
    ".gitignore",
)
DEFAULTS = "defaults"
# What each lever buys: the defaults with one of them set back to the notebooks' way.
LEVERS = {
    "no length bucketing": {"train.bucketing": False},
    "max_len 500 instead of 256": {"train.max_len": 500},
    "pre-padded, unmasked": {"datasets.imdb.tokenize.padding": "pre", "train.mask": False},
    "5 fixed epochs, last weights": {"train.early_stopping": False, "train.epochs": 5},
    "no embedding dropout": {"train.embedding_dropout": 0.0},
}


def make_project(dest: Path, versioned: bool = True) -> Path:
    """A copy of the project files (no data, no results), committed to git when `versioned` (for DVC), with a DVC
    cache of its own: a benchmark's results (on a subset, or on a test's fake mirror, whose files DVC does not
    hash into a stage's key) must never reach the user's cache, where `dvc repro` would take them for real."""
    for name in PROJECT_FILES:
        source = ROOT / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    if not versioned:
        return dest
    (dest / ".dvc" / "config.local").write_text("[cache]\n    dir = cache\n")  # .dvc/cache, which .dvc/.gitignore lists
    identity = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", *identity, "commit", "-q", "-m", "project"]):
        subprocess.run(command, cwd=dest, check=True)
    return dest


def absolute_mirror() -> None:
    """The stages run in a temporary copy of the project: a relative RNNLAB_DATA_MIRROR must not move with them."""
    if mirror := os.environ.get("RNNLAB_DATA_MIRROR"):
        os.environ["RNNLAB_DATA_MIRROR"] = str(Path(mirror).resolve())


def requested_architectures(base: dict, requested: list[str] | None) -> list[str]:
    """--architectures, or every one in params.yaml; an unknown name is refused in one line."""
    architectures = requested or list(base["architectures"])
    if unknown := sorted(set(architectures) - set(base["architectures"])):
        known = ", ".join(base["architectures"])
        raise SystemExit(f"error: --architectures {' '.join(unknown)}: not in params.yaml ({known})")
    return architectures


def preset_architectures() -> dict[str, list[str]]:
    """Each preset in presets/ and the architectures it configures (its `architectures.<name>.*` keys)."""
    return {
        path.stem: sorted({key.split(".")[1] for key in load_preset(path.stem) if key.startswith("architectures.")})
        for path in sorted(PRESETS_DIR.glob("notebook_*.yaml"))
    }


def write_params(project: Path, base: dict, overrides: dict) -> dict:
    """params.yaml of the copy: base + overrides."""
    params = apply_overrides(base, overrides)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def dvc_repro(project: Path, targets: list[str]) -> None:
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # venv's dvc
    result = subprocess.run(
        ["dvc", "repro", "--no-run-cache", *targets], cwd=project, capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise SystemExit(f"dvc repro {' '.join(targets)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def run_config(project: Path, base: dict, overrides: dict, architectures: list[str]) -> dict[str, dict]:
    """Write params (base + overrides), reproduce the architectures' evaluate stages, return their metrics."""
    write_params(project, base, overrides)
    dvc_repro(project, [f"evaluate@imdb-{arch}" for arch in architectures])
    return {arch: read_metrics(project / "metrics/imdb" / f"{arch}.json") for arch in architectures}


def archive_name(config: str, seed: int) -> str:
    return f"{config}-seed{seed}.tar.xz"


def tokenized_by(params: dict) -> str:
    """What the tokenized arrays depend on: the dataset's params and the seed."""
    return json.dumps({"seed": params["seed"], "imdb": params["datasets"]["imdb"]}, sort_keys=True)


PAX_KEY = "rnnlab.tokenized_by"  # the archive's global header: read without unpacking it


def export_tokenized(project: Path, base: dict, overrides: dict, archive: Path) -> None:
    """Reproduce tokenize@imdb with these params and pack its arrays, labelled with what they depend on."""
    params = write_params(project, base, overrides)
    dvc_repro(project, ["tokenize@imdb"])
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:xz", format=tarfile.PAX_FORMAT, pax_headers={PAX_KEY: tokenized_by(params)}) as tar:
        tar.add(project / "data/imdb/tokenized", arcname="tokenized")
    partial.replace(archive)


def check_archive(archive: Path, params: dict) -> None:
    """Refuse, in one line, an archive that is missing or was tokenized with other params."""
    if not archive.is_file():
        raise SystemExit(f"error: {archive}: no such archive; make it with --export and the same arguments")
    try:
        with tarfile.open(archive) as tar:
            labelled = tar.pax_headers.get(PAX_KEY)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SystemExit(f"error: {archive}: unreadable ({exc}); make it again with --export") from None
    if labelled != tokenized_by(params):
        raise SystemExit(f"error: {archive}: tokenized with other params; run --export again")


def unpack(project: Path, archive: Path) -> Path:
    """An --export archive's arrays as the copy's data/imdb/tokenized, in place of the previous configuration's."""
    unpacked = project / "data/imdb/tokenized"
    shutil.rmtree(unpacked, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked.parent, filter="data")
    return unpacked


def run_in_process(project: Path, archive: Path, base: dict, overrides: dict, arch: str) -> dict:
    """Train and evaluate one architecture from an --export archive, without DVC: the stage
    functions that `dvc repro evaluate@imdb-<arch>` runs, in this process."""
    from stages.data import read_lines
    from stages.metrics import classification_metrics
    from stages.params import validate
    from stages.registry import check_architectures
    from stages.scoring import classifier_test_scores
    from stages.train import train_classifier

    params = write_params(project, base, overrides)
    unpacked = unpack(project, archive)
    cwd = Path.cwd()
    os.chdir(project)  # the stage functions read data/ relative to the project
    try:
        validated = check_architectures(validate(params))
        model, summary = train_classifier(validated, "imdb", arch, [])
        settings = validated.datasets["imdb"].tokenize
        labels, probabilities = classifier_test_scores(model, unpacked, summary["max_len"], settings)
        return classification_metrics(labels, probabilities, read_lines(unpacked / "classes.txt")) | summary
    finally:
        os.chdir(cwd)


def run_header(module: str, argv: list[str] | None) -> str:
    """The lines above a benchmark's table: the machine, the date and the command that printed it."""
    command = " ".join(["python -m", module, *(sys.argv[1:] if argv is None else argv)])
    return f"\n{hardware()}; {date.today().isoformat()}.\nCommand: `{command}`\n"


def hardware(backend: bool = True) -> str:
    """CPU model and cores, plus the GPU when the backend sees one; the Keras backend unless `backend` is False."""
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and (match := re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())):
        cpu = match.group(1).strip()
    import keras

    name = keras.backend.backend()
    gpus = []
    if name == "jax":
        import jax

        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    elif name == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    device = f"{len(gpus)} x {gpus[0]}" if gpus else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {device}; Keras {keras.__version__}" + (f" on {name}" if backend else "")


Runs = list[dict[str, dict[str, dict]]]  # per repeat: configuration -> architecture -> metrics


def measured(runs: Runs, config: str, arch: str) -> list[dict]:
    """The metrics of every repeat that ran `arch` in `config`."""
    return [run[config][arch] for run in runs if arch in run.get(config, {})]


def median_of(runs: Runs, config: str, arch: str, key: str) -> float:
    """A metric's median over the repeats that ran `arch` in `config`."""
    return statistics.median(metrics[key] for metrics in measured(runs, config, arch))


def table(runs: Runs, presets: dict[str, list[str]]) -> list[str]:
    """One row per architecture: its defaults against its notebook preset (medians over the repeats)."""

    def median(config: str, arch: str, key: str) -> float:
        return median_of(runs, config, arch, key)

    def accuracy(config: str, arch: str) -> str:
        scores = [metrics["accuracy"] for metrics in measured(runs, config, arch)]
        spread = f" ({min(scores):.3f}-{max(scores):.3f})" if len(scores) > 1 else ""
        return f"{statistics.median(scores):.4f}{spread}"

    rows = [
        "| architecture | notebook preset | notebook accuracy (lowest-highest) | notebook fit s | rnnlab accuracy "
        "(lowest-highest) | rnnlab to final s (fit s) | time ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arch in runs[0][DEFAULTS]:
        ours = f"{accuracy(DEFAULTS, arch)} | {median(DEFAULTS, arch, 'seconds_to_best'):.1f} " + (
            f"({median(DEFAULTS, arch, 'train_seconds'):.1f})"
        )
        # presets that ran this architecture (an interrupted --results file may lack some)
        matched = [preset for preset, architectures in presets.items() if arch in architectures]
        matched = [preset for preset in matched if measured(runs, preset, arch)]
        if not matched:
            rows.append(f"| {arch} | none | | | {ours} | |")
        for preset in matched:
            theirs = median(preset, arch, "train_seconds")
            ratio = median(DEFAULTS, arch, "seconds_to_best") / theirs
            rows.append(f"| {arch} | {preset} | {accuracy(preset, arch)} | {theirs:.1f} | {ours} | {ratio:.2f} |")
    return rows


def lever_table(runs: Runs) -> list[str]:
    """One row per lever: the defaults with it reverted, against the defaults, over every architecture
    (medians over the repeats that ran the lever)."""
    rows = [
        "| reverted to the notebooks' way | test accuracy change: median (lowest, highest) | "
        "time to final accuracy x | fit time x |",
        "| --- | --- | --- | --- |",
    ]
    architectures = list(runs[0][DEFAULTS])
    for lever in (name for name in runs[0] if name in LEVERS):
        measured = [run for run in runs if lever in run]  # the defaults of the same repeats

        def median(config: str, arch: str, key: str, measured: Runs = measured) -> float:
            return median_of(measured, config, arch, key)

        change = {a: median(lever, a, "accuracy") - median(DEFAULTS, a, "accuracy") for a in architectures}
        lowest, highest = min(change, key=change.get), max(change, key=change.get)
        to_final, fit = (
            statistics.median(median(lever, a, key) / median(DEFAULTS, a, key) for a in architectures)
            for key in ("seconds_to_best", "train_seconds")
        )
        rows.append(
            f"| {lever} | {statistics.median(change.values()):+.4f} ({lowest} {change[lowest]:+.4f}, {highest} "
            f"{change[highest]:+.4f}) | {to_final:.2f} | {fit:.2f} |"
        )
    return rows


def write_section(path: Path, label: str, lines: list[str]) -> None:
    """Replace the section between this label's markers, or append it."""
    begin, end = f"<!-- benchmarks.notebooks {label} -->", f"<!-- /benchmarks.notebooks {label} -->"
    block = "\n".join([begin, *lines, end])
    text = path.read_text() if path.is_file() else ""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000, help="train and test documents (0 = all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="repeat r runs with seed first-seed + r")
    parser.add_argument("--levers", type=int, default=0, help="in this many repeats, also run each lever reverted")
    parser.add_argument(
        "--architectures", nargs="+", help="only these (default: every one in params.yaml; with --table, every one run)"
    )
    parser.add_argument("--results", type=Path, help="JSON-lines file: one line per finished run")
    parser.add_argument("--write", type=Path, help="Markdown file whose section for this backend is replaced")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--export", type=Path, metavar="DIR", help="only tokenize; pack each configuration into DIR")
    mode.add_argument("--tokenized", type=Path, metavar="DIR", help="train from DIR's packs, without DVC")
    mode.add_argument(
        "--table",
        type=Path,
        nargs="+",
        metavar="RESULTS",
        help="render --results files (a later run replaces); run nothing",
    )
    args = parser.parse_args(argv)
    if args.docs < 0 or args.repeats < 1 or not 0 <= args.levers <= args.repeats or args.first_seed < 0:
        raise SystemExit(
            f"error: --docs {args.docs} --repeats {args.repeats} --levers {args.levers} --first-seed "
            f"{args.first_seed}: need docs >= 0 (0 = all), repeats >= 1, 0 <= levers <= repeats, first-seed >= 0"
        )
    for name in ("results", "write", "export", "tokenized"):  # the runs chdir into a copy
        if getattr(args, name):
            setattr(args, name, getattr(args, name).resolve())
    return args


def render(records: list[dict]) -> list[str]:
    """The Markdown section of a list of --results records: the header line, the table, the levers.
    Of two runs of one seed, configuration and architecture the later is kept (a rerun updates a row)."""
    records = list({(record["seed"], record["config"], record["arch"]): record for record in records}.values())
    seeds = sorted({record["seed"] for record in records})
    runs: Runs = [{} for _ in seeds]
    for record in records:
        runs[seeds.index(record["seed"])].setdefault(record["config"], {})[record["arch"]] = record["metrics"]
    presets: dict[str, list[str]] = {}
    for record in records:
        if record["config"] not in (DEFAULTS, *LEVERS):
            presets.setdefault(record["config"], []).append(record["arch"])
    first = records[0]
    docs = f"{first['docs']:,} train and {first['docs']:,} test documents" if first["docs"] else "full IMDB"
    repeated = f"medians of {len(seeds)} runs (seeds {seeds[0]}-{seeds[-1]})" if len(seeds) > 1 else "one run"
    return [
        f"{' / '.join(dict.fromkeys(record['hardware'] for record in records))}; {docs}; {repeated}; "
        f"{', '.join(sorted({record['date'] for record in records}))}.",
        "Command: " + "; ".join(f"`{command}`" for command in dict.fromkeys(r["command"] for r in records)),
        "",
        *table(runs, presets),
        *(
            ["", "What each lever buys (ratios above 1: reverting it costs time):", "", *lever_table(runs)]
            if any(config in LEVERS for config in runs[0])
            else []
        ),
    ]


RECORD_KEYS = {"hardware", "backend", "docs", "date", "command", "seed", "config", "arch", "metrics"}


def read_results(path: Path) -> list[dict]:
    """The records of a --results file, refused in one line unless it holds runs of the defaults."""
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {path}: not a --results file ({exc})") from None
    if not all(isinstance(record, dict) and record.keys() >= RECORD_KEYS for record in records):
        raise SystemExit(f"error: {path}: not a --results file (each line needs {', '.join(sorted(RECORD_KEYS))})")
    if not any(record["config"] == DEFAULTS for record in records):
        raise SystemExit(f"error: {path}: no runs of the defaults in it; nothing to compare")
    return records


def only_architectures(records: list[dict], requested: list[str]) -> list[dict]:
    """The records of these architectures; a name with no runs of the defaults is refused in one line."""
    run = list(dict.fromkeys(record["arch"] for record in records if record["config"] == DEFAULTS))
    if unknown := [arch for arch in requested if arch not in run]:
        raise SystemExit(
            f"error: --architectures {' '.join(unknown)}: no runs of the defaults in --table ({', '.join(run)})"
        )
    return [record for record in records if record["arch"] in requested]


def publish(lines: list[str], write: Path | None, backend: str) -> None:
    print("\n".join(lines))
    if write:
        write_section(write, backend, lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.table:
        records: list[dict] = []
        for path in args.table:
            for record in read_results(path):
                first = records[0] if records else record
                if (record["backend"], record["docs"]) != (first["backend"], first["docs"]):
                    raise SystemExit(
                        f"error: {path}: runs on {record['backend']} with --docs {record['docs']} after runs on "
                        f"{first['backend']} with --docs {first['docs']}: one table holds one backend and one --docs"
                    )
                records.append(record)
        if args.architectures:
            records = only_architectures(records, args.architectures)
        publish(render(records), args.write, records[0]["backend"])
        return
    absolute_mirror()
    subset = {"datasets.imdb.split.train_docs": args.docs, "datasets.imdb.split.test_docs": args.docs}
    command = f"python -m benchmarks.notebooks --docs {args.docs} --repeats {args.repeats}"
    command += f" --first-seed {args.first_seed}" * bool(args.first_seed)
    command += f" --levers {args.levers}" * bool(args.levers) + " --tokenized DIR" * bool(args.tokenized)
    command += " --architectures " * bool(args.architectures) + " ".join(args.architectures or [])
    with tempfile.TemporaryDirectory(prefix="rnnlab-notebooks-") as tmp:
        project = make_project(Path(tmp), versioned=not args.tokenized)
        os.chdir(project)  # presets and params are read from the copy
        base = yaml.safe_load(Path("params.yaml").read_text())
        architectures = requested_architectures(base, args.architectures)
        configs = {DEFAULTS: ({}, architectures)} | {  # configuration -> (overrides, architectures it runs)
            name: (load_preset(name), [arch for arch in configured if arch in architectures])
            for name, configured in preset_architectures().items()
            if set(configured) & set(architectures)
        }
        levers = {name: (overrides, architectures) for name, overrides in LEVERS.items()}
        plans = {  # seed -> its configurations; repeat r runs seed first_seed + r
            args.first_seed + repeat: configs | (levers if repeat < args.levers else {})
            for repeat in range(args.repeats)
        }
        overrides = {  # per seed: configuration -> its params overrides
            seed: {config: subset | {"seed": seed} | settings for config, (settings, _) in plan.items()}
            for seed, plan in plans.items()
        }
        for seed, plan in plans.items() if args.tokenized else ():  # every archive checked before any work
            for config in plan:
                check_archive(
                    args.tokenized / archive_name(config, seed), apply_overrides(base, overrides[seed][config])
                )
        import keras

        context = {"hardware": hardware(), "backend": keras.backend.backend(), "docs": args.docs}
        context |= {"date": str(date.today()), "command": command}
        if args.results:
            args.results.write_text("")
        records = []

        def record(seed: int, config: str, arch: str, metrics: dict) -> None:
            records.append(context | {"seed": seed, "config": config, "arch": arch, "metrics": metrics})
            if args.results:
                with args.results.open("a") as f:
                    f.write(json.dumps(records[-1]) + "\n")

        for seed, plan in plans.items():
            if args.tokenized:  # one architecture's configurations after another, so pairs finish together
                for arch in architectures:
                    for config in (config for config, (_, configured) in plan.items() if arch in configured):
                        print(f"seed {seed}: {arch} with {config}", file=sys.stderr)
                        archive = args.tokenized / archive_name(config, seed)
                        record(
                            seed, config, arch, run_in_process(project, archive, base, overrides[seed][config], arch)
                        )
                continue
            for config, (_, configured) in plan.items():
                print(f"seed {seed}: {config} ({', '.join(configured)})", file=sys.stderr)
                if args.export:
                    export_tokenized(project, base, overrides[seed][config], args.export / archive_name(config, seed))
                else:
                    for arch, metrics in run_config(project, base, overrides[seed][config], configured).items():
                        record(seed, config, arch, metrics)
        os.chdir(ROOT)
    if args.export:
        for seed, plan in plans.items():
            for archive in (args.export / archive_name(config, seed) for config in plan):
                print(f"{archive}: {archive.stat().st_size / 2**20:.1f} MiB")
        return
    publish(render(records), args.write, context["backend"])


if __name__ == "__main__":
    main()
