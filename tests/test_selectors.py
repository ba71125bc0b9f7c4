"""dbt-style selectors, checked against impact/trace answers and the sample's facts."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLE
from lineagectl.api import impact, ingest, select, trace
from lineagectl.errors import InputError
from lineagectl.graph.selectors import parse_atom


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("sel") / "s.duckdb")
    ingest([str(SAMPLE)], path)
    return path


def names(result) -> set[str]:
    return {r["name"] for r in result.payload}


def reached(result, max_depth=None) -> set[str]:
    return {d["name"] for d in result.payload["datasets"] if max_depth is None or d["depth"] <= max_depth}


@pytest.mark.parametrize("text, up, down, at", [
    ("x", False, False, False), ("+x", None, False, False), ("2+x", 2, False, False),
    ("x+", False, None, False), ("x+1", False, 1, False), ("3+x+", 3, None, False), ("@x", False, False, True),
])
def test_atom_grammar(text, up, down, at):
    atom = parse_atom(text)
    assert (atom.core, atom.up, atom.down, atom.at) == ("x", up, down, at)


def test_graph_operators_match_impact_and_trace(db):
    assert names(select("+churn_model", db)) == reached(trace("churn_model", db)) | {"models/churn_model"}
    assert names(select("user_master+", db)) == reached(impact("user_master", db)) | {"shop.public.user_master"}
    assert names(select("user_master+1", db)) == reached(impact("user_master", db), 1) | {"shop.public.user_master"}
    at = names(select("@orders_enriched", db))
    down = reached(impact("orders_enriched", db)) | {"acme-eu.staging.orders_enriched"}
    assert down <= at and "shop.public.user_master" in at  # ancestors of descendants too


def test_methods_union_intersection_and_exclude(db):
    assert names(select("tag:pii", db)) == {"shop.public.user_master"}
    assert names(select("type:model", db)) == {"models/churn_model"}
    assert names(select("owner:team:ml", db)) == {"acme-eu.analytics_prod.user_features", "models/churn_model"}
    bigquery = names(select("namespace:bigquery", db))
    assert len(bigquery) == 4
    assert names(select("namespace:bigquery type:model", db)) == bigquery | {"models/churn_model"}
    assert names(select("user_master+,namespace:bigquery", db)) == bigquery & names(select("user_master+", db))
    assert "acme-eu.analytics_prod.eu_order_amounts" not in names(
        select("namespace:bigquery", db, exclude="*eu_order*"))


def test_errors(db):
    with pytest.raises(InputError, match="unknown method 'tags'"):
        select("tags:pii", db)
    with pytest.raises(InputError, match="matches no dataset"):
        select("no_such_table+", db)
    with pytest.raises(InputError, match="@ cannot be combined"):
        select("@x+", db)
    # a comma alone selected nothing and exited 0, where any other empty answer is an error
    with pytest.raises(InputError, match="names nothing between its commas"):
        select(",", db)


def test_cli_ls_select_json_is_dbt_like(cli, db):
    data = json.loads(cli("--db", db, "ls", "--select", "+churn_model", "-f", "json").stdout)
    assert {"name", "resource_type", "unique_id", "tags"} <= set(data[0])
    assert {d["resource_type"] for d in data} == {"dataset", "model"}
    result = cli("--db", db, "ls", "jobs", "--select", "x")
    assert result.exit_code == 2 and "choose datasets" in result.stderr


def test_select_and_exclude_filter_impact_answers(db, cli):
    chosen = impact("user_master", db, select="type:model owner:team:marketing").payload
    assert {d["name"] for d in chosen["datasets"]} == {"models/churn_model", "ANALYTICS.MARKETING.EU_USER_EXPORT"}
    assert chosen["datasets"][-1]["depth"] == 3  # depths are those of the full walk
    rest = trace("churn_model", db, exclude="namespace:postgres*").payload["datasets"]
    assert rest and not any(d["namespace"].startswith("postgres") for d in rest)
    table = cli("--db", db, "impact", "user_master", "-s", "type:model").stdout
    assert "models/churn_model" in table and "(depth 3)" in table
