"""Hostile names through every command and format: nothing reaches a terminal, a CI log, a
spreadsheet or a rendered page as anything but text.

A dataset, job, owner and column are named with an escape sequence that clears the
screen, a newline followed by a GitHub Actions workflow command, a bidi override, a
spreadsheet formula after a ``;``, an @mention and bare links.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import run_event, write_ndjson

EVIL = "x\x1b[2J\n::error file=x.py::pwned\u202e;=HYPERLINK(1) @octocat http://evil.example www.evil.example"
POLICY = """
regions:
  eu: ["eu*"]
  us: ["us*"]
residency:
  - name: eu-stays-in-eu
    from: eu
    allowed: [eu]
"""


def schema(*columns: str) -> dict:
    return {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": c, "type": "STRING"} for c in columns]}}


def owners(*names: str) -> dict:
    return {"ownership": {"_producer": "t", "_schemaURL": "t", "owners": [{"name": n} for n in names]}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from lineagectl.api import ingest

    folder = tmp_path_factory.mktemp("hostile")
    src = {**schema("email", EVIL), **owners(EVIL)}
    cll = {"columnLineage": {"_producer": "t", "_schemaURL": "t", "fields": {
        EVIL: {"inputFields": [{"namespace": "eu-pg", "name": EVIL, "field": "email"}]}}}}
    events = [run_event("r1", job=EVIL, inputs=[("eu-pg", EVIL, src)],
                        outputs=[("us-bq", "out." + EVIL, {**schema(EVIL), **cll})]),
              run_event("r2", job="export", event_type="FAIL", inputs=[("us-bq", "out." + EVIL)],
                        outputs=[("us-bq", "final")])]
    db = str(folder / "h.duckdb")
    ingest([write_ndjson(folder / "h.ndjson", events)], db)
    policy = folder / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return db, str(policy)


COMMANDS = [
    ["ls", "datasets"], ["ls", "jobs"], ["ls", "runs"], ["show", "final"], ["trace", "final"],
    ["impact", "out." + EVIL], ["impact", EVIL, "--column", "email"], ["graph", "final"],
    ["erase", "--column", "email", "--value", "v"], ["access", "--column", "email", "--value", "v"],
    ["changes", "final", "--since", "3650d"], ["quality"], ["pii"], ["stats"],
]
FORMATS = ["table", "csv", "markdown", "ndjson", "json"]


def run(cli, store, args, fmt):
    db, policy = store
    result = cli("--db", db, "--policy", policy, *args, "-f", fmt)
    if f"'{fmt}' is not one of" in result.stderr or "No such option" in result.stderr:
        pytest.skip(f"{args[0]} has no {fmt} format")
    return result


def human_checks(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), f"a forged line: {line!r}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_hostile_names_stay_text_in_every_format(cli, store, args, fmt):
    result = run(cli, store, args, fmt)
    assert result.exit_code in (0, 1), result.stderr
    human_checks(result.stderr)
    out = result.stdout
    if fmt in ("json", "ndjson"):
        records = [json.loads(out)] if fmt == "json" else [json.loads(line) for line in out.splitlines()]
        assert records is not None  # exact data: names keep every character (checked elsewhere)
        return
    human_checks(out)
    if fmt == "csv":
        for row in csv.reader(io.StringIO(out)):
            for cell in row:
                for piece in cell.replace("\t", ";").split(";"):
                    assert not piece.lstrip().startswith(("=", "+", "@")), f"a formula cell: {cell!r}"
    if fmt == "markdown":
        assert "@octocat" not in out.replace("\\@octocat", "")
        assert "http://evil" not in out and "www.evil" not in out


@pytest.mark.parametrize("fmt", ["table", "github", "junit", "sarif", "markdown"])
def test_hostile_names_stay_text_in_ci_formats(cli, store, fmt):
    result = run(cli, store, ["residency-check"], fmt)
    assert result.exit_code == 1, result.stderr
    human_checks(result.stderr)
    if fmt == "github":
        lines = result.stdout.splitlines()
        assert all(line.startswith("::") for line in lines)  # only the annotations it writes
        assert all("\n" not in line and "\x1b" not in line for line in lines)
    elif fmt != "sarif":
        human_checks(result.stdout)


def test_error_messages_and_reject_reasons_cannot_forge_lines(cli, store, tmp_path):
    db, _ = store
    missing = cli("--db", db, "show", "nope" + EVIL)
    assert missing.exit_code == 2
    human_checks(missing.stderr)
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps({"eventTime": EVIL}) + "\n", encoding="utf-8")
    rejected = cli("--db", db, "ingest", bad)
    human_checks(rejected.stderr)
    assert "⏎" in rejected.stderr or "\\n" in rejected.stderr or "pwned" not in rejected.stderr
