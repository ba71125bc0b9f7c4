"""The architecture's rules that no linter checks (docs/architecture.md).

import-linter (in .ci/run) holds the layers; these hold the rest: the core
never reads the environment or the working directory, every command has its
``lineagectl.api`` function, and importing the API stays light.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lineagectl
from conftest import HEAVY_MODULES, modules_loaded_by

PACKAGE = Path(lineagectl.__file__).parent
# Reading the process's environment or working directory: only the CLI may.
_AMBIENT = {("os", "environ"), ("os", "getenv"), ("os", "getcwd"), ("os", "putenv"), ("Path", "cwd"),
            ("os", "chdir")}


def _ambient_uses(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in _AMBIENT):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path.relative_to(root)}:{node.lineno}: from os import {a.name}"
                      for a in node.names if a.name in ("environ", "getenv", "getcwd")]
    return found


def test_the_core_never_reads_the_environment_or_working_directory():
    core = [p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts]
    assert len(core) > 30  # the walk found the package
    offenders = [use for path in core for use in _ambient_uses(path)]
    assert offenders == []


def test_the_ambient_check_sees_what_it_looks_for(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text("import os\nfrom pathlib import Path\nx = os.environ.get('A')\ny = Path.cwd()\n"
                      "from os import getenv\n")
    assert sorted(u.split(": ")[1] for u in _ambient_uses(sample, tmp_path)) == [
        "Path.cwd", "from os import getenv", "os.environ"]


def _commands() -> list[str]:
    from lineagectl.cli import app

    names = []
    for info in app.registered_commands:
        if not info.hidden:
            names.append(info.name or info.callback.__name__)
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


CLI_ONLY = {"help"}


def test_every_command_has_its_api_function():
    from lineagectl import api

    commands = _commands()
    assert {"ingest", "impact", "trace", "erase", "residency-check", "policy check", "prune"} <= set(commands)
    # `help` prints the command line's own reference: there is no library call behind it.
    commands = [c for c in commands if c not in CLI_ONLY]
    missing = [c for c in commands if not callable(getattr(api, c.replace("-", "_").replace(" ", "_"), None))]
    assert missing == []
    assert set(api.__all__) >= {c.replace("-", "_").replace(" ", "_") for c in commands}


def test_importing_the_api_loads_no_heavy_module():
    assert modules_loaded_by("lineagectl.api", (*HEAVY_MODULES, "typer", "rich", "click")) == []
    assert modules_loaded_by("lineagectl.api", ("lineagectl.results",)) == ["lineagectl.results"]  # the probe sees
