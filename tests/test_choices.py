"""Enumerated options take any case and reject an unknown value listing the choices (exit 2);
``-f name`` prints one qualified name per item where an answer has them, and is refused with the
formats a command takes elsewhere. Table-driven over the click command tree, so a new choice
option or format is covered without editing this file."""

from __future__ import annotations

import json

import pytest
from typer.main import get_command

from conftest import SAMPLE
from lineagectl.cli import app

POLICY = SAMPLE / "lineagectl.yaml"


def _walk(command, path=()):
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))
    yield path, command


COMMANDS = list(_walk(get_command(app)))
CHOICES = [(path, param) for path, command in COMMANDS for param in command.params
           if getattr(param.type, "name", None) == "choice"]
# Option names that are always enumerations, wherever a command declares them.
ENUMERATED = {"--format", "--direction", "--kind", "--color"}


def _label(item):
    path, param = item
    return " ".join(path) + ":" + param.name


def _required_arguments(command) -> list[str]:
    """A placeholder for each required argument, so the option under test is what click checks."""
    return ["x" for p in command.params if p.param_type_name == "argument" and p.required]


def _command(path):
    return dict(COMMANDS)[path]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from typer.testing import CliRunner

    db = str(tmp_path_factory.mktemp("choices") / "sample.duckdb")
    assert CliRunner().invoke(app, ["--db", db, "-q", "ingest", str(SAMPLE)]).exit_code == 0
    return db


def test_every_enumerated_option_is_a_checked_choice():
    for path, command in COMMANDS:
        for param in command.params:
            if set(param.opts) & ENUMERATED:
                assert getattr(param.type, "name", None) == "choice", (path, param.opts)
                assert not param.type.case_sensitive, (path, param.opts)
    assert len(CHOICES) >= 20


@pytest.mark.parametrize("item", CHOICES, ids=_label)
def test_an_unknown_value_is_refused_listing_the_choices(cli, item):
    path, param = item
    command = _command(path)
    if param.param_type_name == "argument":
        args = [*path, "bogus-value"]
    else:
        args = [*path, *_required_arguments(command), param.opts[0], "bogus-value"]
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "'bogus-value' is not one of" in result.stderr
    assert all(f"'{choice}'" in result.stderr for choice in param.type.choices)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("item", CHOICES, ids=_label)
def test_every_choice_is_taken_in_any_case(item):
    path, param = item
    context = _command(path).make_context("lineagectl", [], resilient_parsing=True)
    for choice in param.type.choices:
        for typed in (choice.upper(), choice.title(), choice):
            assert param.type.convert(typed, param, context) == choice


@pytest.mark.parametrize("args", [
    ["ls", "RUNS", "-f", "JSON"],
    ["ls", "Datasets", "-f", "Csv"],
    ["graph", "orders_enriched", "--direction", "UPSTREAM", "-f", "Mermaid"],
    ["show", "orders_enriched", "--kind", "Dataset", "-f", "JSON"],
    ["impact", "orders_enriched", "--kind", "DATASET", "-f", "NDJSON"],
    ["--color", "NEVER", "stats"],
    ["residency-check", "-f", "SARIF", "--policy", str(POLICY)],
    ["ls", "runs", "--state", "Complete", "-f", "json"],
    ["ls", "runs", "--state", "completed", "-f", "json"],
])
def test_any_case_runs_the_command(cli, sample, args):
    result = cli(*args, "--db", sample)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stdout


def test_an_unknown_state_lists_the_states(cli, sample):
    result = cli("ls", "runs", "--state", "sideways", "--db", sample)
    assert result.exit_code == 2 and "COMPLETE" in result.stderr and "FAIL" in result.stderr


# How to run each command that offers -f name over the sample (a command that adds the format
# must be listed here: test_every_command_offering_names_is_tested says so).
NAME_RUNS = {
    ("ls",): [["ls"], ["ls", "jobs"], ["ls", "runs"], ["ls", "-s", "tag:pii"]],
    ("list",): [["list", "datasets"]],
    ("impact",): [["impact", "orders_enriched"], ["impact", "orders_enriched", "--column", "user_id"]],
    ("trace",): [["trace", "user_features"], ["trace", "--run", "4582a4cc-3171-54c1-bb03-4c3b08f3f7c1"]],
    ("provenance",): [["provenance", "user_features", "--column", "user_id"]],
    ("erase",): [["erase", "--column", "user_id"]],
    ("access",): [["access", "--column", "email"]],
    ("pii",): [["pii"]],
}
FORMAT_OPTIONS = {path: param for path, param in CHOICES if param.name == "fmt"}


def _expected_name(item: dict) -> str:
    if "run_id" in item:  # a run, or a provenance step (one run)
        return item["run_id"]
    column = f".{item['column']}" if item.get("column") else ""
    return f"{item['namespace']}/{item['name']}{column}"


def test_every_command_offering_names_is_tested():
    offering = {path for path, param in FORMAT_OPTIONS.items() if "name" in param.type.choices}
    assert offering == set(NAME_RUNS)


@pytest.mark.parametrize("args", [args for runs in NAME_RUNS.values() for args in runs], ids=" ".join)
def test_name_prints_one_qualified_name_per_item_of_the_main_list(cli, sample, args):
    names = cli(*args, "--db", sample, "--policy", POLICY, "-f", "name")
    assert names.exit_code == 0, names.stderr
    items = [json.loads(line) for line in cli(*args, "--db", sample, "--policy", POLICY, "-f", "ndjson")
             .stdout.splitlines()]
    assert items, args
    assert names.stdout.splitlines() == [_expected_name(item) for item in items]


@pytest.mark.parametrize("path", sorted(p for p, param in FORMAT_OPTIONS.items() if "name" not in param.type.choices),
                         ids=" ".join)
def test_commands_without_names_refuse_name_listing_their_formats(cli, path):
    param = FORMAT_OPTIONS[path]
    result = cli(*path, *_required_arguments(_command(path)), "-f", "name")
    assert result.exit_code == 2
    assert "'name' is not one of" in result.stderr
    assert all(f"'{choice}'" in result.stderr for choice in param.type.choices)


def test_a_name_holding_a_newline_stays_on_its_line(cli, db, tmp_path):
    from conftest import run_event, write_ndjson

    event = run_event("r1", outputs=[("pg", "evil\nforged/line")])
    assert cli("--db", db, "ingest", write_ndjson(tmp_path / "e.ndjson", [event])).exit_code == 0
    out = cli("ls", "--db", db, "-f", "name").stdout
    assert out.splitlines() == ["pg/evil\N{RETURN SYMBOL}forged/line"]
