"""Libraries outside the ranges the suite passed with are refused before any answer, the
ranges read from their one home (pyproject.toml / the installed metadata)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from conftest import ROOT
from lineagectl.common import versions

DECLARED = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def test_every_runtime_dependency_is_checked_with_the_range_pyproject_declares():
    checked = {r.package: r.specifier for r in versions.requirements()}
    assert set(checked) == {"typer", "rich", "duckdb", "orjson", "pyarrow", "networkx", "sqlglot", "pyyaml"}
    for requirement in DECLARED:
        name = requirement.split(">=")[0].strip().lower()
        assert checked[name] == requirement[len(name):].replace(" ", "")
        assert checked[name].startswith(">=")  # every dependency has a floor


def test_the_floors_are_the_ones_the_ci_floors_profile_installs():
    pins = subprocess.run([sys.executable, ROOT / ".ci" / "floors.py"], capture_output=True, text=True, check=True)
    assert sorted(pins.stdout.split()) == sorted(f"{r.package}=={r.floor}" for r in versions.requirements())


def test_an_installed_lineagectl_reads_its_ranges_from_its_metadata(monkeypatch, tmp_path):
    checkout = {r.package for r in versions.requirements()}
    monkeypatch.setattr(versions, "__file__", str(tmp_path / "site-packages" / "lineagectl" / "common" / "versions.py"))
    versions.requirements.cache_clear()
    try:
        installed = {r.package: r for r in versions.requirements()}
    finally:
        versions.requirements.cache_clear()
    assert installed.keys() == checkout  # what metadata.requires gave
    assert installed["typer"].admits("0.28.0") and not installed["typer"].admits("0.29.0")


def test_the_installed_versions_are_in_the_supported_ranges():
    versions.check()  # what the suite runs with is what the ranges promise


@pytest.mark.parametrize("requirement, package, specifier, floor", [
    ("typer>=0.26,<0.29", "typer", ">=0.26,<0.29", "0.26"),
    ("typer<0.29,>=0.26", "typer", "<0.29,>=0.26", "0.26"),  # Requires-Dist orders them so
    ("PyYAML>=6.0", "pyyaml", ">=6.0", "6.0"),
    ("duckdb (>=2.0.0)", "duckdb", ">=2.0.0", "2.0.0"),
    ("rich", "rich", "", None),
])
def test_requirements_are_read_as_metadata_writes_them(requirement, package, specifier, floor):
    parsed = versions.parse(requirement)
    assert (parsed.package, parsed.specifier, parsed.floor) == (package, specifier, floor)


def test_an_extras_requirement_is_not_a_runtime_one():
    assert versions.parse('pytest>=8; extra == "test"') is None
    with pytest.raises(ValueError, match="unreadable version specifier"):
        versions.parse("duckdb>=two")


@pytest.mark.parametrize("version, problem", [
    ("0.25.1", "typer 0.25.1 is older than lineagectl supports (>=0.26,<0.29)"),
    ("0.26.0", None), ("0.28.9", None),
    ("0.29.0", "typer 0.29.0 is newer than lineagectl supports (>=0.26,<0.29)"),
])
def test_both_ends_of_a_range_are_enforced(version, problem):
    assert versions.problem(versions.parse("typer>=0.26,<0.29"), version) == problem


def test_an_older_library_is_refused_at_store_open_with_the_reason(monkeypatch, cli, tmp_path):
    duckdb = next(r for r in versions.requirements() if r.package == "duckdb")
    real = metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda p: "1.5.6" if p == "duckdb" else real(p))
    versions.check.cache_clear()  # the check runs once per process; this one sees the older version
    try:
        with pytest.raises(versions.DependencyError,
                           match=rf"duckdb 1.5.6 is older than lineagectl supports \({duckdb.specifier}\)"):
            versions.check()
        result = cli("--db", tmp_path / "x.duckdb", "stats")
    finally:
        versions.check.cache_clear()
    assert result.exit_code == 2 and "duckdb 1.5.6 is older" in result.stderr
    assert f"pip install 'duckdb{duckdb.specifier}'" in result.stderr and "Traceback" not in result.stderr


def test_doctor_shows_each_range_and_names_a_version_outside_it(monkeypatch, cli, tmp_path):
    real = metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda p: "25.34" if p == "sqlglot" else real(p))
    versions.check.cache_clear()
    try:
        result = cli("--db", tmp_path / "d.duckdb", "doctor", "-f", "json")
    finally:
        versions.check.cache_clear()
    assert result.exit_code == 2
    packages = {c["value"].split()[0]: c["detail"] for c in json.loads(result.stdout) if c["check"] == "package"}
    assert set(packages) == {r.package for r in versions.requirements()}
    assert packages["sqlglot"].startswith("sqlglot 25.34 is older than lineagectl supports (>=")
    assert packages["duckdb"].startswith("supported: >=")


def test_the_check_waits_for_a_store_so_help_stays_light():
    code = ("import sys; from typer.testing import CliRunner; from lineagectl.cli import app\n"
            "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
            "print('lineagectl.common.versions' in sys.modules, 'tomllib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("text, parts", [("2.0.1", (2, 0, 1)), ("2.0.0rc1", (2, 0, 0)), ("30.31.0.dev3", (30, 31, 0)),
                                         ("25.34", (25, 34, 0)), ("1", (1, 0, 0))])
def test_versions_are_read_as_their_release_numbers(text, parts):
    assert versions._parts(text) == parts


def test_the_package_metadata_is_complete_and_pep_639():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"  # an SPDX expression, not the deprecated table
    assert all((ROOT / f).is_file() for f in project["license-files"])
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639: the expression says it
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert {"Homepage", "Issues"} <= set(project["urls"]) and project["keywords"]


def test_doctor_says_which_sqlglot_build_runs(cli, tmp_path):
    from sqlglot.tokens import SQLGLOTC_INSTALLED

    result = cli("--db", tmp_path / "d.duckdb", "doctor", "-f", "json")
    detail = next(c["detail"] for c in json.loads(result.stdout) if c["check"] == "package" and c["value"].startswith("sqlglot "))
    assert detail.endswith("compiled (sqlglotc)" if SQLGLOTC_INSTALLED else "'lineagectl[fast]': compiled)")
