"""Every global option works before or after every command (CONTRACT.md), with one definition."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SAMPLE
from lineagectl import __version__
from lineagectl.cli import app
from lineagectl.cli.globals import GLOBAL_OPTIONS, hoist
from marquez_standin import Marquez

POLICY = SAMPLE / "lineagectl.yaml"
EMPTY_MARQUEZ = Marquez([])
# Each command with arguments that make it answer on the sample store.
COMMANDS = {
    "ingest": ["ingest", str(SAMPLE / "ecommerce.ndjson")],
    "stats": ["stats"],
    "ls": ["ls", "datasets"],
    "show": ["show", "user_master"],
    "migrate": ["migrate"],
    "impact": ["impact", "user_master"],
    "trace": ["trace", "churn_model"],
    "graph": ["graph", "user_master"],
    "pii": ["pii"],
    "erase": ["erase", "--column", "user_id", "--value", "42"],
    "access": ["access", "--column", "user_id", "--value", "42"],
    "residency-check": ["residency-check"],
    "prune": ["prune", "--dry-run"],
    "changes": ["changes", "daily_revenue_by_country", "--since", "3650d"],
    "quality": ["quality"],
    "export": ["export", "--job", "analytics.daily_revenue"],
    "policy": ["policy", "check"],
    "sql": ["sql", "-"],  # an empty script from stdin: no statements, no store
    "diff": ["diff", str(ROOT / "examples" / "diff" / "prod"), str(ROOT / "examples" / "diff" / "pr")],  # no store
    "doctor": ["doctor"],
    "help": ["help", "formats"],
    "serve": ["serve", "--drain"],  # without --drain it runs until stopped (tests/test_serve_cli.py)
    # A stand-in of Marquez's event API holding no events (tests/test_import_marquez.py imports real ones).
    "import-marquez": ["import-marquez", EMPTY_MARQUEZ.url],
}


def test_every_command_is_in_the_table():
    from typer.main import get_command

    visible = {name for name, command in get_command(app).commands.items()  # type: ignore[attr-defined]
               if not command.hidden}
    assert visible == set(COMMANDS)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from lineagectl.api import ingest

    db = tmp_path_factory.mktemp("g") / "g.duckdb"
    ingest([str(SAMPLE / "ecommerce.ndjson")], str(db))
    return db


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_global_options_after_every_command(cli, store, name):
    args = COMMANDS[name]
    after = cli(*args, "--db", store, "--policy", POLICY, "-q", "--wait", "2", "--color", "never", "--debug")
    before = cli("--db", store, "--policy", POLICY, "-q", "--wait", "2", "--color", "never", "--debug", *args)
    assert "No such option" not in after.stderr and after.exit_code in (0, 1), after.stderr
    assert (after.exit_code, timeless(after.stdout)) == (before.exit_code, timeless(before.stdout))
    assert after.stderr == before.stderr == ""  # -q silences the chatter in both places
    equals = cli(*args, f"--db={store}", f"--policy={POLICY}", "--color=never")
    assert (equals.exit_code, timeless(equals.stdout)) == (before.exit_code, timeless(before.stdout))


def timeless(text: str) -> str:
    """Output without the times a command computes from now (prune's cutoffs, --since)."""
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "T", text)


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_after_a_command(cli, flag):
    result = cli("stats", flag)
    assert result.exit_code == 0 and result.stdout.strip() == f"lineagectl {__version__}"


def test_a_bad_color_is_a_usage_error(cli, store):
    result = cli("stats", "--db", store, "--color", "sometimes")
    assert result.exit_code == 2 and "--color" in result.stderr


def test_hoisting_stops_at_a_double_dash_and_keeps_values():
    commands = {"impact", "ls"}
    assert hoist(["impact", "a", "-q", "--db", "x", "--", "--db", "y"], commands) == [
        "-q", "--db", "x", "impact", "a", "--", "--db", "y"]
    assert hoist(["--db", "impact", "ls", "--wait=3"], commands) == ["--db", "impact", "--wait=3", "ls"]
    assert hoist(["ls"], commands) == ["ls"]
    # An option the command declares itself stays with it: `trace --version V` is the model version.
    assert hoist(["impact", "--version", "2", "-V"], commands, lambda _: {"--version"}) == [
        "-V", "impact", "--version", "2"]
    assert set(GLOBAL_OPTIONS) >= {"--db", "--policy", "-q", "--quiet", "--wait", "--debug", "--color", "-V"}


def test_color_always_colours_a_pipe_and_never_does_not(cli, store):
    always = cli("--color", "always", "impact", "user_master", "--db", store)
    never = cli("impact", "user_master", "--db", store, "--color", "never")
    assert always.exit_code == never.exit_code == 0
    assert "\x1b[" not in never.stdout and "\x1b[" in always.stdout
