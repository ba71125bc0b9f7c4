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
    # a method without its value ("tag:$TAG" with TAG unset) said "matches no dataset"
    for blank in ("tag:", "config.materialized:", "+namespace: "):
        with pytest.raises(InputError, match=r": needs a value"):
            select(blank, db)


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


def _commands_taking_selectors():
    """(path, option) for every command of the click tree with --select or --exclude."""
    from typer.main import get_command

    from lineagectl.cli import app

    def walk(command, path=()):
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*path, name))
        yield path, command

    return [(path, command, opt) for path, command in walk(get_command(app)) for param in command.params
            for opt in param.opts if opt in ("--select", "--exclude")]


SELECTOR_OPTIONS = _commands_taking_selectors()


def test_the_commands_users_select_with_take_selectors():
    assert {path for path, _, _ in SELECTOR_OPTIONS} >= {("ls",), ("impact",), ("trace",), ("graph",)}


@pytest.mark.parametrize("item", SELECTOR_OPTIONS, ids=lambda i: f"{' '.join(i[0])} {i[2]}")
@pytest.mark.parametrize("blank", ["", " ", "\t"], ids=["empty", "space", "tab"])
def test_an_empty_or_blank_selector_is_a_usage_error(cli, db, item, blank):
    """``--select "$SEL"`` with SEL unset must not quietly select (or leave out) everything."""
    path, command, option = item
    arguments = ["orders_enriched" for p in command.params
                 if p.param_type_name == "argument" and (p.required or p.name == "name")]
    result = cli(*path, *arguments, option, blank, "--db", db)
    assert result.exit_code == 2, (path, option, result.stdout, result.stderr)
    assert "the selector is empty" in result.stderr
    assert not result.stdout


@pytest.mark.parametrize("blank", ["", "  "])
def test_the_library_refuses_an_empty_selector_too(db, blank):
    for call in (lambda: select(blank, db), lambda: impact("user_master", db, select=blank),
                 lambda: impact("user_master", db, exclude=blank)):
        with pytest.raises(InputError, match="the selector is empty"):
            call()
