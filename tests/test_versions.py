"""Libraries older than the floors the suite passed with are refused before any answer."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest

from conftest import ROOT
from lineagectl.common import versions


def test_the_floors_are_the_ones_pyproject_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for package, floor in versions.FLOORS.items():
        (spec,) = [d for d in declared if re.match(rf"{package}\b", d)]
        assert versions._parts(spec.split(">=")[1].split(",")[0]) == floor


def test_the_installed_versions_meet_the_floors():
    versions.check()  # what the suite runs with is what the floors promise


def test_an_older_library_is_refused_with_the_reason(monkeypatch, cli, tmp_path):
    real = metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda p: "1.5.6" if p == "duckdb" else real(p))
    versions.check.cache_clear()  # the check runs once per process; this one sees the older version
    with pytest.raises(versions.DependencyError, match=r"duckdb 1.5.6 is older than lineagectl supports \(2.0.1"):
        versions.check()
    result = cli("--db", tmp_path / "x.duckdb", "stats")
    assert result.exit_code == 2 and "duckdb 1.5.6 is older" in result.stderr and "pip install -U" in result.stderr


@pytest.mark.parametrize("text, parts", [("2.0.1", (2, 0, 1)), ("2.0.0rc1", (2, 0, 0)), ("30.31.0.dev3", (30, 31, 0)),
                                         ("25.34", (25, 34, 0)), ("1", (1, 0, 0))])
def test_versions_are_read_as_their_release_numbers(text, parts):
    assert versions._parts(text) == parts
