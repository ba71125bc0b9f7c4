"""Plain SQL scripts ingest as jobs with the table and column lineage of their statements."""

from __future__ import annotations

import pytest

from lineagectl import api
from lineagectl.errors import InputError

STAGE = """-- stage the users changed today
CREATE TEMP TABLE fresh AS SELECT id, email, country FROM raw.users WHERE updated_at > now() - interval '1 day';
INSERT INTO staging.users SELECT id, lower(email) AS email, country FROM fresh;
"""
MART = """CREATE TABLE mart.users_by_country AS
SELECT country, count(*) AS users, md5(string_agg(email, ',')) AS emails_digest
FROM staging.users GROUP BY country;
"""


@pytest.fixture
def scripts(tmp_path):
    (tmp_path / "etl").mkdir()
    paths = []
    for name, text in (("01_stage.sql", STAGE), ("02_mart.sql", MART)):
        path = tmp_path / "etl" / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


def test_scripts_become_jobs_with_table_and_column_lineage(scripts, db):
    report = api.ingest(scripts, db, dialect="postgres", namespace="postgres://db:5432")
    assert (report.events_new, report.events_rejected, report.warnings) == (2, 0, [])
    down = api.impact("raw.users", db).payload
    assert [d["name"] for d in down["datasets"]] == ["staging.users", "mart.users_by_country"]
    assert {j["name"] for j in down["jobs"]} == set(scripts)
    # The temporary table is not a dataset: lineage is composed through it.
    assert "fresh" not in {d["name"] for d in api.ls("datasets", db).payload}
    columns = api.impact("raw.users", db, column="email").payload["columns"]
    assert [(c["name"], c["column"], [t["subtype"] for t in c["transformations"]]) for c in columns] == [
        ("staging.users", "email", ["TRANSFORMATION"]),
        ("mart.users_by_country", "emails_digest", ["TRANSFORMATION", "AGGREGATION"])]
    assert columns[1]["transformations"][1]["masking"] is True
    job = api.show(scripts[1], db, kind="job").payload
    assert "string_agg" in (job.get("sql") or "")


def test_the_same_scripts_again_change_nothing(scripts, db):
    api.ingest(scripts, db, dialect="postgres")
    again = api.ingest(scripts, db, dialect="postgres")
    assert (again.events_new, again.events_duplicate) == (0, 2)


def test_templated_sql_is_refused_with_its_line_and_a_hint(tmp_path, db, cli):
    path = tmp_path / "model.sql"
    path.write_text("-- a dbt model\nselect * from {{ ref('orders') }}\n", encoding="utf-8")
    result = cli("--db", db, "ingest", path)
    assert result.exit_code == 2
    assert f"{path}:2: templated SQL" in result.stderr and "manifest.json" in result.stderr


def test_a_statement_that_cannot_be_read_is_warned_about_and_the_rest_still_answer(tmp_path, db):
    path = tmp_path / "mixed.sql"
    path.write_text("INSERT INTO a.t SELECT x FROM a.s;\nTHIS IS NOT SQL AT ALL;\n"
                    "INSERT INTO a.u SELECT y FROM a.t;\n", encoding="utf-8")
    report = api.ingest([str(path)], db, dialect="postgres")
    assert report.events_new == 1 and any("statement 2" in w for w in report.warnings)
    assert [d["name"] for d in api.impact("a.s", db).payload["datasets"]] == ["a.t", "a.u"]


def test_an_unknown_dialect_is_a_usage_error(scripts, db):
    with pytest.raises(InputError, match="unknown SQL dialect"):
        api.ingest(scripts, db, dialect="cobol")


def test_composition_through_a_temporary_table_keeps_indirect_kinds(tmp_path, db):
    """A value the temporary table only decided (a CASE condition) stays INDIRECT CONDITIONAL when
    composed, never an INDIRECT IDENTITY; the temporary table is no dataset, a persistent one is."""
    from conftest import edges_into

    path = tmp_path / "refunds.sql"
    path.write_text("""CREATE TEMP TABLE picked AS
    SELECT id, CASE WHEN refunded THEN amount END AS refund FROM pay.charges;
    INSERT INTO fin.refunds SELECT id, refund FROM picked;
    CREATE TABLE fin.refund_totals AS SELECT sum(refund) AS total FROM fin.refunds;
    """, encoding="utf-8")
    api.ingest([str(path)], db, dialect="postgres")
    assert edges_into(db, "fin.refunds", "refund") == {("pay.charges", "amount", "DIRECT/IDENTITY"),
                                                       ("pay.charges", "refunded", "INDIRECT/CONDITIONAL")}
    names = {d["name"] for d in api.ls("datasets", db).payload}
    assert "picked" not in names and {"fin.refunds", "fin.refund_totals", "pay.charges"} <= names
    assert edges_into(db, "fin.refund_totals", "total") == {("fin.refunds", "refund", "DIRECT/AGGREGATION")}
