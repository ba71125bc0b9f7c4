"""`lineagectl sql FILE|-`: each statement's tables and column edges, printed without a store."""

from __future__ import annotations

import json

SCRIPT = """-- nightly load
CREATE TEMP TABLE paid AS SELECT * FROM shop.orders WHERE status = 'paid';
INSERT INTO mart.revenue (customer_id, total)
SELECT p.customer_id, SUM(p.amount) FROM paid p GROUP BY p.customer_id;
UPDATE mart.customers c SET last_order = o.created FROM shop.orders o WHERE o.customer_id = c.id;
ALTER TABLE mart.revenue_old RENAME TO mart.revenue_2025;
"""


def test_table_output_names_every_statement(cli, tmp_path):
    path = tmp_path / "nightly.sql"
    path.write_text(SCRIPT, encoding="utf-8")
    result = cli("sql", path, "--dialect", "postgres")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "4 statements" in out
    for kind in ("CREATE_TABLE_AS_SELECT", "INSERT", "UPDATE", "ALTER_RENAME"):
        assert kind in out
    assert "mart.revenue" in out and "mart.revenue_2025" in out and "shop.orders" in out


def test_json_from_stdin_with_a_schema_file(cli, tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text("shop.orders:\n  customer_id: int\n  amount: numeric\n  status: text\n  created: date\n",
                      encoding="utf-8")
    result = cli("sql", "-", "--dialect", "postgres", "--schema", schema, "-f", "json", input=SCRIPT)
    assert result.exit_code == 0, result.stderr
    paid, insert, update, rename = json.loads(result.stdout)["statements"]
    assert paid.get("temporary") is True and paid["sources"] == ["shop.orders"]
    assert insert["targets"] == ["mart.revenue"] and insert["sources"] == ["shop.orders"]
    assert insert["through"] == ["paid"]
    assert update["targets"] == ["mart.customers"] and set(update["sources"]) == {"mart.customers", "shop.orders"}
    assert (rename["sources"], rename["targets"]) == (["mart.revenue_old"], ["mart.revenue_2025"])
    # The schema expands SELECT *; the INSERT's columns are named by its column list.
    assert {"target": "paid", "column": "status", "source": "shop.orders", "source_column": "status",
            "type": "DIRECT", "subtype": "IDENTITY", "masking": False} in paid["columns"]
    assert {(c["column"], c["source"], c["source_column"], c["subtype"]) for c in insert["columns"]} == {
        ("customer_id", "paid", "customer_id", "IDENTITY"), ("total", "paid", "amount", "AGGREGATION")}


def test_bad_inputs_exit_2(cli, tmp_path):
    missing = cli("sql", tmp_path / "missing.sql")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    dialect = cli("sql", "-", "--dialect", "klingon", input="SELECT 1")
    assert dialect.exit_code == 2 and "unknown SQL dialect" in dialect.stderr
    schema = cli("sql", "-", "--schema", tmp_path / "nope.json", input="SELECT 1")
    assert schema.exit_code == 2 and "cannot read schema file" in schema.stderr


def test_importing_the_command_line_loads_no_sqlglot():
    from conftest import modules_loaded_by

    assert modules_loaded_by("lineagectl.cli", ("sqlglot",)) == []


def test_mermaid_draws_the_tables_an_edge_per_statement(cli):
    result = cli("sql", "-", "--dialect", "postgres", "-f", "mermaid", input=SCRIPT + "DROP TABLE shop.old_orders;")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("flowchart LR")
    assert '"mart.revenue_old"' in out and '"mart.revenue_2025"' in out and "(dropped)" in out
    assert '|"INSERT"|' in out and '|"ALTER_RENAME"|' in out and '|"UPDATE"|' in out
