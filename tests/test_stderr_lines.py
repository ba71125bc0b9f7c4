"""Warning:, Error: and reject lines on stderr are one line of bounded length (--debug: whole)."""

from __future__ import annotations

import pytest

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.cli.boundary import MESSAGE_LIMIT
from lineagectl.cli.render.escape import bounded


@pytest.fixture
def sample_db(cli, db):
    assert cli("--db", db, "ingest", SAMPLE).exit_code == 0
    return db


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def test_a_rejected_line_quoting_a_huge_value_is_cut_and_says_how_much(cli, db, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1", time="x" * 5000)])
    result = cli("--db", db, "ingest", path)
    assert result.exit_code == 1
    reject = next(line for line in _lines(result.stderr) if line.startswith(f"{path}:1: eventTime"))
    assert len(reject) < MESSAGE_LIMIT + 60
    assert reject.endswith("more characters; --debug shows all)")
    kept, said = reject.split("… (")
    left_out = int(said.split(" ")[0].replace(",", ""))
    whole = cli("--db", str(tmp_path / "other.duckdb"), "ingest", path, "--debug")
    full = next(line for line in _lines(whole.stderr) if line.startswith(f"{path}:1: eventTime"))
    assert full.startswith(kept) and len(kept) == MESSAGE_LIMIT and len(full) == MESSAGE_LIMIT + left_out
    assert "x" * 5000 in full


def test_an_error_naming_a_huge_name_is_cut_unless_debug(cli, sample_db):
    name = "y" * 3000
    result = cli("impact", name, "--db", sample_db)
    assert result.exit_code == 2
    error = _lines(result.stderr)[0]
    assert error.startswith("Error: no dataset named 'yyy") and len(error) < MESSAGE_LIMIT + 60
    assert "more characters; --debug shows all)" in error
    whole = cli("impact", name, "--db", sample_db, "--debug")
    assert whole.exit_code == 2
    assert name in _lines(whole.stderr)[0] and "more characters" not in whole.stderr


def test_a_cut_line_stays_one_line_of_escaped_text(cli, sample_db):
    name = "\x1b[31m" + "z\n" * 1000
    result = cli("impact", name, "--db", sample_db)
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr
    lines = _lines(result.stderr)
    assert lines[0].startswith("Error: ") and len(lines) == 2 and lines[1].startswith("Hint: ")


@pytest.mark.parametrize(("text", "expected"), [
    ("short", "short"),
    ("a" * 10, "a" * 10),
    ("a" * 11, "a" * 10 + "… (1 more characters)"),
    ("b" * 2010, "b" * 10 + "… (2,000 more characters)"),
])
def test_bounded(text, expected):
    assert bounded(text, 10) == expected
