"""Docs checked by tests: every store table documented, every command in the README."""

from __future__ import annotations

import re

from conftest import ROOT
from lineagectl.store.schema import TABLES


def test_every_table_is_documented():
    doc = (ROOT / "docs" / "store.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", doc, flags=re.M))
    assert documented == set(TABLES)


def test_every_command_is_in_the_readme():
    from lineagectl.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        if not command.hidden:
            assert f"### `{command.name}" in readme, command.name


def test_ci_runs_the_readme_test_command():
    """CI runs the README's test command, step by step in the same order (the guardrails may
    come between its install and its pytest)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if line.startswith("python3 -m venv") and "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
    steps = [step.strip() for step in command.split("&&")]
    assert len(steps) == 3
    where = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert where == sorted(where)
