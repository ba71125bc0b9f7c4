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
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if "pytest" in line and not line.startswith("#"))
    assert command.strip() in readme
