"""``--help`` reads as gh's: commands grouped under headings with whole one-line summaries at
80 columns, usage lines naming what to type (``NAME``, ``PATH...``), and help topics."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

MAX_SUMMARY = 50
PANELS = ("Ingest", "Query", "Compliance", "Operations")


def visible_commands() -> dict[str, object]:
    """Every command a user sees in ``--help``, by its command line (``policy check`` too)."""
    from typer.main import get_command

    from lineagectl.cli import app

    group = get_command(app)
    found: dict[str, object] = {}

    def walk(prefix: tuple[str, ...], command) -> None:
        for name, sub in command.commands.items():
            if sub.hidden:
                continue
            found[" ".join((*prefix, name))] = sub
            if getattr(sub, "commands", None):
                walk((*prefix, name), sub)

    walk((), group)
    return found


COMMANDS = visible_commands()


def lineagectl(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "lineagectl", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_the_walk_sees_every_command():
    assert {"ingest", "impact", "trace", "residency-check", "policy", "policy check", "help", "doctor"} <= set(COMMANDS)
    assert "check" not in COMMANDS and "provenance" not in COMMANDS  # hidden aliases


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_summary_is_one_short_line(name):
    summary = COMMANDS[name].get_short_help_str(limit=1_000)
    assert summary and "\n" not in summary
    assert len(summary) <= MAX_SUMMARY, f"{name}: {len(summary)} characters: {summary!r}"


def test_top_level_help_groups_commands_and_never_cuts_a_summary_at_80_columns():
    result = lineagectl("--help")
    assert result.returncode == 0
    text = result.stdout
    assert all(len(line) <= 80 for line in text.splitlines())
    headings = [line[:-len(" commands:")] for line in text.splitlines() if line.endswith(" commands:")]
    assert headings == list(PANELS)
    top = {name: command for name, command in COMMANDS.items() if " " not in name}
    for name, command in top.items():
        summary = command.get_short_help_str(limit=1_000)
        # the summary whole, on the command's own line, under one of the headings
        assert re.search(rf"^  {re.escape(name)} +{re.escape(summary)}$", text, re.M), (name, summary)
    assert "..." not in text.split("commands:", 1)[1].split("Examples:")[0]


@pytest.mark.parametrize("panel, members", [("Ingest", {"ingest"}), ("Query", {"impact", "trace", "ls", "show"}),
                                            ("Compliance", {"erase", "residency-check", "policy"}),
                                            ("Operations", {"prune", "changes", "quality"})])
def test_commands_sit_under_their_heading(panel, members):
    text = lineagectl("--help").stdout
    section = text.split(f"{panel} commands:\n", 1)[1].split("\n\n", 1)[0]
    names = {line.split()[0] for line in section.splitlines()}
    assert members <= names


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_names_what_to_type(cli, name):
    result = cli(*name.split(), "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    text = result.stdout
    # click's and typer's generic metavars say nothing: {name}, TEXT, INTEGER, paths...
    assert not re.search(r"\{\w+\}|\bTEXT\b|\bINTEGER\b|\bFLOAT\b|\b[a-z_]+\.\.\.", text), text
    assert all(len(line) <= 80 for line in text.splitlines()), text  # examples too: they are never wrapped


@pytest.mark.parametrize("name, usage", [
    ("ingest", "ingest [OPTIONS] PATH..."), ("impact", "impact [OPTIONS] NAME"), ("trace", "trace [OPTIONS] [NAME]"),
    ("show", "show [OPTIONS] NAME"), ("graph", "graph [OPTIONS] NAME"), ("changes", "changes [OPTIONS] NAME"),
    ("sql", "sql [OPTIONS] FILE"), ("ls", "ls [OPTIONS] [KIND]"), ("policy check", "check [OPTIONS] [FILE]")])
def test_usage_lines(cli, name, usage):
    first = cli(*name.split(), "--help").stdout.splitlines()[0]
    assert first.endswith(usage), first


@pytest.mark.parametrize("option, metavar", [("--column", "COL"), ("--wait", "SECONDS"), ("--output", "FILE"),
                                             ("--db", "PATH")])
def test_option_metavars(cli, option, metavar):
    text = cli("impact", "--help").stdout + cli("--help").stdout
    assert re.search(rf"{option} {metavar}\b", text), option


def test_the_help_topics_of_the_issue_exist(cli):
    listing = cli("help").stdout
    for topic in ("exit-codes", "environment", "formats", "selectors"):
        assert f"  {topic}" in listing
        assert cli("help", topic).exit_code == 0
