"""DVC's cache is only as right as each stage's `deps`: every module a stage's command imports is listed, the
settings that change results are where DVC sees them, and `./rnnlab check-results` finds what is stale."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from tests.conftest import ROOT, project_env, run

STAGE_COMMAND = re.compile(r"python -m (stages\.\w+)")


def module_file(module: str, root: Path = ROOT) -> Path:
    path = root / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def stages_imports(module: str, root: Path = ROOT) -> set[str]:
    """The project files `python -m <module>` loads: the module, the `stages` package, and every `stages`
    module they import, at the top or inside a function, followed transitively."""
    found, todo = set(), [module, "stages"]
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if str(path.relative_to(root)) in found:
            continue
        found.add(str(path.relative_to(root)))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names if alias.name.split(".")[0] == "stages"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stages":
                todo.append(node.module)
                if node.module == "stages":  # `from stages import optimizers` imports a module too
                    todo += [f"stages.{a.name}" for a in node.names if module_file(f"stages.{a.name}", root).exists()]
    return found


def stage_definitions() -> dict[str, dict]:
    """dvc.yaml's stage groups (foreach / matrix) as written, with `do:` bodies unwrapped."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: body.get("do", body) for name, body in stages.items()}


def dependency_path(entry: str | dict) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def test_every_stage_lists_exactly_the_modules_its_command_imports():
    for name, stage in stage_definitions().items():
        module = STAGE_COMMAND.search(stage["cmd"]).group(1)
        listed = {path for path in map(dependency_path, stage["deps"]) if path.startswith("stages/")}
        assert listed == stages_imports(module), name


def test_the_commands_that_import_keras_set_onednn_where_dvc_sees_it():
    """oneDNN changes the numbers: each command that loads Keras sets it in dvc.yaml (train on, evaluate off),
    so neither the user's shell nor the process decides it."""
    onednn = {"train": "1", "lm_train": "1", "evaluate": "0", "lm_evaluate": "0"}
    for name, stage in stage_definitions().items():
        setting = re.match(r"TF_ENABLE_ONEDNN_OPTS=(\d) python -m ", stage["cmd"])
        assert (setting.group(1) if setting else None) == onednn.get(name), name
        assert stage["cmd"].count("TF_ENABLE_ONEDNN_OPTS") == (name in onednn), name


@pytest.mark.parametrize("user", [None, "0"])
def test_determinism_is_on_whatever_the_shell_says_and_onednn_off_by_default(user: str | None):
    unset = ("TF_ENABLE_ONEDNN_OPTS", "TF_DETERMINISTIC_OPS")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env |= {"TF_DETERMINISTIC_OPS": user} if user else {}
    show = "import os, stages; print(os.environ['TF_ENABLE_ONEDNN_OPTS'], os.environ['TF_DETERMINISTIC_OPS'])"
    result = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["0", "1"]


HARMLESS_AND_NOT = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796631554.378450   28018 port.cc:153] oneDNN custom operations are on.\n"
    b"E0000 00:00:1796631561.412440   28018 node_def_util.cc:682] NodeDef mentions attribute use_unbounded_threadpool\n"
    b"E0000 00:00:1796631561.412440   28018 util.cc:131] oneDNN supports DT_BOOL only on platforms with AVX-512. "
    b"Falling back to the default Eigen-based implementation if present.\n"
    b"F0000 00:00:1796631561.412440   28018 tensor.cc:1] Check failed: a fatal error\n"
    b"E0000 00:00:1796631561.412440   28018 cuda_dnn.cc:1] a real error\n"
    b"downloading 10%\rdownloading 20%\r"
)


def test_a_command_drops_absl_notices_and_keeps_every_other_line():
    """`python -m stages.<module>` filters its stderr: TensorFlow's absl notices go; fatal and real errors, a
    progress bar's redraws and the last error line stay, in order."""
    command = f"import stages; os.write(2, {HARMLESS_AND_NOT!r}); sys.exit('error: x')"
    code = f"import os, sys; sys.argv[:1] = ['-m']; {command}"  # as under `python -m`
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=False)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "F0000 00:00:1796631561.412440   28018 tensor.cc:1] Check failed: a fatal error\n"
        "E0000 00:00:1796631561.412440   28018 cuda_dnn.cc:1] a real error\n"
        "downloading 10%\rdownloading 20%\rerror: x\n"
    )


def test_the_lock_has_an_entry_for_no_stage_that_dvc_yaml_lacks():
    stages = run(["dvc", "stage", "list", "--name-only"], ROOT, project_env(None)).stdout.split()
    assert set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]) <= set(stages)


def check_results(project: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "stages.check_results"], project, project_env(None), check=False)


def test_a_shared_module_edit_makes_exactly_its_importers_stale(tiny_copy: Path):
    fresh = check_results(tiny_copy)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert re.fullmatch(r"all \d+ stages match the committed code, params, commands and results\n", fresh.stdout)
    with Repo(tiny_copy) as repo:
        commands = {stage.name: stage.cmd for stage in repo.index.stages}
    importers = {
        name for name, cmd in commands.items() if "stages/text.py" in stages_imports(STAGE_COMMAND.search(cmd).group(1))
    }
    assert importers == {"tokenize@imdb", "baseline@imdb", "lm_tokenize@shakespeare"}
    with open(tiny_copy / "stages/text.py", "a") as f:
        f.write("# an edit\n")
    status = json.loads(run(["dvc", "status", "--json"], tiny_copy, project_env(None)).stdout)
    assert set(status) == importers
    result = check_results(tiny_copy)
    assert result.returncode == 1
    assert {line.split(":")[1].strip() for line in result.stdout.splitlines()} == importers
    assert result.stderr.strip().endswith("`./rnnlab repro` reruns them")


def test_a_hand_edited_result_is_stale(tiny_copy: Path):
    metrics = tiny_copy / "metrics/imdb/gru.json"
    metrics.write_text(metrics.read_text().replace('"accuracy": ', '"accuracy": 0.99, "was": ', 1))
    result = check_results(tiny_copy)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "stale: evaluate@imdb-gru: outs metrics/imdb/gru.json",
        "stale: report@imdb: deps metrics/imdb",  # the report read the file as it was
    ]
