"""The compiled sqlglot extension (``pip install 'lineagectl[fast]'``, i.e. ``sqlglot[c]``) is
optional and changes no answer: in a venv that has it, the same lineage is computed twice, by the
compiled modules and by sqlglot's own ``.py`` files (bench/sqlglot_build.py's finder), and must be
identical — the dbt column-lineage facets of real projects in five dialects and every SQL golden's
scored answer. Without the extension the tests skip, except where CI's floors profile installs it
and says so (``LINEAGECTL_EXPECT_SQLGLOTC=1``): there a missing extension fails."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

BENCH = ROOT / "bench"


@pytest.fixture(autouse=True)
def _compiled_sqlglot() -> None:
    from sqlglot.tokens import SQLGLOTC_INSTALLED

    if not SQLGLOTC_INSTALLED:
        if os.environ.get("LINEAGECTL_EXPECT_SQLGLOTC") == "1":
            pytest.fail("LINEAGECTL_EXPECT_SQLGLOTC=1 but sqlglot runs pure Python: sqlglot[c] did not install")
        pytest.skip("sqlglotc (pip install 'lineagectl[fast]') is not installed")


def _bench(script: str, *args: str, corpus) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINEAGECTL_CORPUS": str(corpus), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_pure_python_finder_really_loads_the_source_files():
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); from sqlglot_build import use_pure_python, describe; "
            "use_pure_python(); import sqlglot.parser as p; print(describe()); print(p.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pure Python" in out and out.strip().endswith("parser.py")
    import sqlglot.parser

    assert not sqlglot.parser.__file__.endswith(".py")  # this process runs the compiled module


def test_dbt_facets_are_the_same_compiled_and_pure(corpus, tmp_path):
    facets = tmp_path / "compiled.json"
    only = ["--only", "colibri_jaffle", "--only", "fivetran_hubspot"]  # bigquery … sqlserver, 154 models
    compiled = _bench("dbt_edges.py", *only, "--write", str(facets), corpus=corpus)
    assert compiled.returncode == 0, compiled.stderr
    assert "compiled" in compiled.stdout.splitlines()[0]
    assert "fivetran_hubspot" in compiled.stdout and facets.stat().st_size > 100_000
    pure = _bench("dbt_edges.py", *only, "--pure-python", "--compare", str(facets), corpus=corpus)
    assert "pure Python" in pure.stdout.splitlines()[0]
    assert pure.returncode == 0 and "identical (6 projects)" in pure.stdout, pure.stdout + pure.stderr


def test_sql_goldens_answers_are_the_same_compiled_and_pure(corpus):
    args = ("--corpus", str(corpus), "--failures")
    compiled = _bench("sql_goldens.py", *args, corpus=corpus)
    pure = _bench("sql_goldens.py", *args, "--pure-python", corpus=corpus)
    assert compiled.returncode == pure.returncode == 0, compiled.stderr + pure.stderr
    assert "compiled" in compiled.stderr and "pure Python" in pure.stderr
    assert "| hive | 22 |" in compiled.stdout
    assert compiled.stdout == pure.stdout  # every score and every failing case's answer, line for line
