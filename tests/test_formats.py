"""Machine output is the data: for every command, ``-f ndjson`` lines are the items of the main
list of ``-f json`` and ``-f csv`` has one row per item (docs/formats.md)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from lineagectl.cli.render.machine import MAIN_LIST, flat
from test_global_options import COMMANDS, POLICY

EXTRA = {  # more answers of the same commands, with other main lists
    "impact-column": ["impact", "user_master", "--column", "email"],
    "ls-runs": ["ls", "runs"],
    "ls-jobs": ["ls", "jobs"],
    "trace-run": ["trace", "churn_model", "--version", "2"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from conftest import SAMPLE
    from lineagectl.api import ingest

    db = tmp_path_factory.mktemp("f") / "f.duckdb"
    ingest([str(SAMPLE / "ecommerce.ndjson")], str(db))
    return db


def answer(cli, store, args, fmt):
    result = cli("--db", store, "--policy", POLICY, "-q", *args, "-f", fmt)
    if "unknown format" in result.stderr or "No such option" in result.stderr:
        return None
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


CASES = {**{k: v for k, v in COMMANDS.items() if k not in ("migrate", "ingest", "prune")}, **EXTRA}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ndjson_and_csv_carry_the_json_items(cli, store, name):
    args = CASES[name]
    as_json = answer(cli, store, args, "json")
    if as_json is None:
        pytest.skip(f"{name} has no json")
    payload = json.loads(as_json)
    kind = {"ls": None, "trace-run": "provenance", "impact-column": "impact", "policy": "policy-check"}.get(
        name.split("-")[0] if name.startswith("ls") else name, name)
    pick = MAIN_LIST.get(kind or "")
    items = pick(payload) if pick and isinstance(payload, dict) else payload if isinstance(payload, list) else [payload]
    as_ndjson = answer(cli, store, args, "ndjson")
    if as_ndjson is not None:
        assert [json.loads(line) for line in as_ndjson.splitlines()] == items
    as_csv = answer(cli, store, args, "csv")
    if as_csv is not None:
        rows = list(csv.DictReader(io.StringIO(as_csv)))
        assert len(rows) == len(items)
        for row, item in zip(rows, items, strict=True):
            for key, value in flat(item):
                if isinstance(value, str) and not value.startswith(("=", "+", "-", "@")) and value.isprintable():
                    assert row[key] == value, (key, row[key], value)


def test_owners_is_a_list_in_every_answer(cli, store):
    for args in (["ls", "datasets"], ["impact", "user_master"], ["show", "user_master"]):
        payload = json.loads(answer(cli, store, args, "json"))
        items = payload if isinstance(payload, list) else payload.get("datasets", [payload])
        assert items and all(isinstance(item["owners"], list) for item in items), args
