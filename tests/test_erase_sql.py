"""Erase SQL that does what it says (issue 14, item 5; docs/erase.md, "Placeholders by dialect").

Every statement here is executed, not just read: DuckDB runs the duckdb dialect's
statements with its own driver; sqlite3 runs the ``?``/``:name`` statements of the
sqlite dialect and Oracle's ``:1``/``:name`` ones (python-oracledb's bind syntax,
which SQLite shares); the ``%s``/``%(name)s`` statements of Postgres, Redshift and
ClickHouse are bound the way psycopg2 and clickhouse-driver bind them (Python's
``%`` operator on the SQL text with quoted literals) and the resulting SQL is run
in DuckDB. The stores are real, built from OpenLineage events whose column
lineage puts a plain copy and a masked (hash) copy of ``user_id`` in one table.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lineagectl.api import access, erase
from lineagectl.compliance.sqlgen import placeholder_names
from test_erase_rules import PG, dataset, steps_of, store_of


def md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


def literal(value: str | None) -> str:
    """A value as psycopg2 (and, for these plain values, clickhouse-driver) quotes it into the SQL text."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def pyformat(sql: str, params: list | dict) -> str:
    """What psycopg2 / clickhouse-driver send: the SQL text ``%``-formatted with quoted literals
    (a tuple for ``%s``, a mapping for ``%(name)s``), so ``%%`` becomes ``%``."""
    if isinstance(params, dict):
        return sql % {k: literal(v) for k, v in params.items()}
    return sql % tuple(literal(v) for v in params)


class Engine:
    """A real database holding the test tables, running a step's SQL the way its driver would."""

    def __init__(self, kind: str, bind: str) -> None:
        self.kind, self.bind = kind, bind
        if kind == "duckdb":
            self.con: Any = duckdb.connect()
            self.con.execute("CREATE SCHEMA app")
        else:
            self.con = sqlite3.connect(":memory:")
            self.con.execute("ATTACH ':memory:' AS app")

    def ddl(self, sql: str, rows: tuple | list = ()) -> None:
        self.con.execute(sql)
        table = sql.split("(")[0].removeprefix("CREATE TABLE ")
        for row in rows:
            self.con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", list(row))

    def run(self, sql: str, params: list | dict) -> list[tuple]:
        if self.bind == "pyformat":
            return self.con.execute(pyformat(sql, params)).fetchall()
        if self.bind == "numeric" and isinstance(params, list):  # Oracle's :1, :2 …, bound by position
            assert re.findall(r":(\d+)", sql) == [str(i) for i in range(1, len(params) + 1)], sql
            return self.con.execute(sql, {str(i): v for i, v in enumerate(params, 1)}).fetchall()
        return self.con.execute(sql, params).fetchall()

    def rows(self, table: str, column: str) -> list:
        return sorted(r[0] for r in self.con.execute(f"SELECT {column} FROM {table}").fetchall())


# dialect -> how its statements are run: (engine, binding), and the error binding too few parameters raises.
ENGINES: dict[str, tuple[str, str, type[BaseException]]] = {
    "duckdb": ("duckdb", "driver", duckdb.Error),
    "sqlite": ("sqlite", "driver", sqlite3.ProgrammingError),
    "postgres": ("duckdb", "pyformat", KeyError),
    "redshift": ("duckdb", "pyformat", KeyError),
    "clickhouse": ("duckdb", "pyformat", KeyError),
    "oracle": ("sqlite", "numeric", sqlite3.ProgrammingError),
}


@pytest.fixture
def mixed(tmp_path: Path) -> str:
    """app.events holds a plain copy of app.users.user_id and a masked one, MD5(user_id)."""
    return store_of(tmp_path, [
        ("track", ["app.users"], dataset("app.events", ["user_id", "uid_hash", "note"], {
            "user_id": [("app.users", "user_id", "IDENTITY", "", False)],
            "uid_hash": [("app.users", "user_id", "TRANSFORMATION", "MD5(user_id)", True)]})),
    ])


def events_engine(dialect: str) -> Engine:
    kind, bind, _ = ENGINES[dialect]
    engine = Engine(kind, bind)
    engine.ddl('CREATE TABLE "app"."users" (user_id VARCHAR, note VARCHAR)', [("42", "u42"), ("7", "u7")])
    engine.ddl('CREATE TABLE "app"."events" (user_id VARCHAR, uid_hash VARCHAR, note VARCHAR)', [
        ("42", md5("42"), "both"), (None, md5("42"), "hash only"), ("42", None, "plain only"),
        ("7", md5("7"), "other"), (None, "42", "the value where the hash goes")])
    return engine


@pytest.mark.parametrize("dialect", sorted(ENGINES))
def test_a_table_with_a_plain_and_a_masked_key_binds_the_value_to_the_plain_one(mixed, dialect):
    """The issue: `WHERE "user_id" = %s OR "uid_hash" = %s` with `[None, None]` deleted nothing and `access`
    read nothing. The subject's value goes to the plain key, the operator's hash to the masked one."""
    _, _, unbound = ENGINES[dialect]
    engine = events_engine(dialect)
    plan = steps_of(access("user_id", mixed, name="app.users", value="42", dialect=dialect))
    events = plan["app.events"]
    assert events["columns"] == ["user_id", "uid_hash"] and events["masked"]
    assert isinstance(events["params"], dict) and events["params"] == {"user_id": "42"}
    (compute,) = events["compute"]
    assert (compute["param"], compute["column"]) == ("uid_hash", "uid_hash")
    assert compute["transformations"][0]["description"] == "MD5(user_id)"
    with pytest.raises(unbound):  # the hash left unbound: an error, never a silent no-op
        engine.run(events["sql"], events["params"])
    bound = {**events["params"], compute["param"]: md5("42")}
    found = engine.run(events["sql"], bound)
    assert sorted(r[-1] for r in found) == ["both", "hash only", "plain only"]
    # The seed's own step binds the value alone.
    users = plan["app.users"]
    assert [r[-1] for r in engine.run(users["sql"], users["params"])] == ["u42"]

    plan = steps_of(erase("user_id", mixed, name="app.users", value="42", dialect=dialect))
    events, users = plan["app.events"], plan["app.users"]
    engine.run(events["sql"], {**events["params"], events["compute"][0]["param"]: md5("42")})
    engine.run(users["sql"], users["params"])
    assert engine.rows('"app"."events"', "note") == ["other", "the value where the hash goes"]
    assert engine.rows('"app"."users"', "note") == ["u7"]


@pytest.fixture
def percent(tmp_path: Path) -> str:
    """Identifiers holding `%`: a table `growth_%_yoy` whose keys are `user_id`, `a%%b` (plain copies)
    and `h%s` (a hash), next to `a%b`, which is no key; and `rates%`, keyed by a plain copy only."""
    return store_of(tmp_path, [
        ("growth", ["app.users"], dataset("app.growth_%_yoy", ["user_id", "a%%b", "a%b", "h%s"], {
            "user_id": [("app.users", "user_id", "IDENTITY", "", False)],
            "a%%b": [("app.users", "user_id", "IDENTITY", "", False)],
            "h%s": [("app.users", "user_id", "TRANSFORMATION", "MD5(user_id)", True)]})),
        ("rates", ["app.users"], dataset("app.rates%", ["user_id", "rate"], {
            "user_id": [("app.users", "user_id", "IDENTITY", "", False)]})),
    ])


@pytest.mark.parametrize("dialect", ["postgres", "redshift", "clickhouse", "duckdb", "sqlite", "oracle"])
def test_percent_in_identifiers_addresses_the_same_columns_once_bound(percent, dialect):
    """`growth_%_yoy` made psycopg2 fail (`%_` is no conversion) and `a%%b` became `a%b`, another column:
    under `%s` placeholders a `%` in an identifier is written `%%`; elsewhere it is left as it is."""
    kind, bind, _ = ENGINES[dialect]
    engine = Engine(kind, bind)
    engine.ddl('CREATE TABLE "app"."growth_%_yoy" (user_id VARCHAR, "a%%b" VARCHAR, "a%b" VARCHAR, "h%s" VARCHAR, '
               "n INTEGER)", [("42", "1", "1", md5("1"), 1), ("1", "42", "1", md5("1"), 2),
                              ("1", "1", "42", md5("1"), 3), ("1", "1", "1", md5("42"), 4),
                              ("1", "1", "1", md5("1"), 5)])
    engine.ddl('CREATE TABLE "app"."rates%" (user_id VARCHAR, rate INTEGER)', [("42", 1), ("7", 2)])
    steps = steps_of(erase("user_id", percent, name="app.users", value="42", dialect=dialect))
    growth, rates = steps["app.growth_%_yoy"], steps["app.rates%"]
    assert set(growth["columns"]) == {"user_id", "a%%b", "h%s"}  # a%b is no key
    assert ("growth_%%_yoy" in growth["sql"]) == (bind == "pyformat")
    engine.run(growth["sql"], {**growth["params"], growth["compute"][0]["param"]: md5("42")})
    assert engine.rows('"app"."growth_%_yoy"', "n") == [3, 5]  # the subject in a%b is no key's: kept
    assert isinstance(rates["params"], dict if dialect == "clickhouse" else list)
    engine.run(rates["sql"], rates["params"])
    assert engine.rows('"app"."rates%"', "rate") == [2]


def test_pyformat_statements_carry_no_conversion_but_their_placeholders():
    """Whatever an identifier holds, the only `%` conversions of a `%s`-style statement are its placeholders."""
    from lineagectl.compliance.sqlgen import statement

    hostile = ["%(user_id)s", "%s", "a%", "%%", "100%_done"]
    for dialect, marker in (("postgres", r"%s"), ("clickhouse", r"%\(\w+\)s")):
        named = placeholder_names(hostile) if dialect == "clickhouse" else None
        sql = statement("delete", PG, "sch.t%(x)s", hostile, dialect, named)
        assert sql is not None
        conversions = re.findall(r"%(?:\(\w+\))?.", sql.replace("%%", ""))
        assert len(conversions) == len(hostile) and all(re.fullmatch(marker, c) for c in conversions), sql
        values = [f"v{i}" for i in range(len(hostile))]
        params = dict(zip(named.values(), values, strict=True)) if named else values
        bound = pyformat(sql, params)
        # Formatted, every identifier is back as lineage recorded it and every value is bound once.
        assert all(f'"{c}" = {literal(v)}' in bound for c, v in zip(hostile, values, strict=True)), bound
        assert bound.startswith('DELETE FROM "sch"."t%(x)s" WHERE ')


def test_clickhouse_binds_by_name_and_oracle_by_its_own_markers(mixed):
    """clickhouse-driver binds a dict only (`%(name)s`): every ClickHouse statement is named. python-oracledb
    binds `:1` by position and `:name` by name; `?` is neither."""
    ch = steps_of(erase("user_id", mixed, name="app.users", value="42", dialect="clickhouse"))
    assert ch["app.users"]["sql"] == 'DELETE FROM "app"."users" WHERE "user_id" = %(user_id)s'
    assert ch["app.users"]["params"] == {"user_id": "42"}
    assert ch["app.events"]["sql"].endswith('WHERE "user_id" = %(user_id)s OR "uid_hash" = %(uid_hash)s')
    ora = steps_of(erase("user_id", mixed, name="app.users", value="42", dialect="oracle"))
    assert ora["app.users"]["sql"] == 'DELETE FROM "app"."users" WHERE "user_id" = :1'
    assert ora["app.users"]["params"] == ["42"]
    assert ora["app.events"]["sql"].endswith('WHERE "user_id" = :user_id OR "uid_hash" = :uid_hash')


def test_oracle_bind_names_are_never_reserved_words_nor_longer_than_30(tmp_path):
    """`:uid` and `:date` are ORA-01745 (a reserved word is no bind variable name), and a name of more than
    30 characters is ORA-00972: Oracle's names get a suffix or are cut, still unique."""
    long = "customer_identifier_from_the_crm_system"
    db = store_of(tmp_path, [
        ("track", ["app.users"], dataset("app.events", ["uid", "Date", long, f"{long}_2", "uid_hash"], {
            "uid": [("app.users", "uid", "IDENTITY", "", False)],
            "Date": [("app.users", "uid", "IDENTITY", "", False)],
            long: [("app.users", "uid", "IDENTITY", "", False)],
            f"{long}_2": [("app.users", "uid", "IDENTITY", "", False)],
            "uid_hash": [("app.users", "uid", "TRANSFORMATION", "MD5(uid)", True)]})),
    ])
    events = steps_of(erase("uid", db, name="app.users", value="42", dialect="oracle"))["app.events"]
    names = re.findall(r":(\w+)", events["sql"])
    assert len(names) == len(set(names)) == 5
    assert all(len(n) <= 30 and n.upper() not in ("UID", "DATE") and n[0].isalpha() for n in names), names
    assert set(events["params"]) == set(names) - {events["compute"][0]["param"]}
    # Elsewhere the names stay the columns' own.
    pg = steps_of(erase("uid", db, name="app.users", value="42"))["app.events"]
    assert set(pg["params"]) == {"uid", "date", long, f"{long}_2"}


UNADDRESSABLE = {
    "cat.shop.public.users": "4 parts",
    "shop..users": "an empty part",
    ".users": "an empty part",
    "shop.users.": "an empty part",
}


@pytest.mark.parametrize("plan", [erase, access])
def test_a_name_no_statement_can_address_gets_a_reason_and_no_sql(tmp_path, plan):
    """`cat.shop.public.users` was cut to `shop.public.users`, another table's name (here one in the plan too),
    `shop..users` to `shop.users`: the step keeps its action and says why it has no statement; the plan goes on."""
    db = store_of(tmp_path, [
        (f"copy_{i}", ["shop.public.users"], dataset(name, ["user_id"], {
            "user_id": [("shop.public.users", "user_id", "IDENTITY", "", False)]}))
        for i, name in enumerate(UNADDRESSABLE)])
    steps = steps_of(plan("user_id", db, name="shop.public.users", value="42", dialect="postgres"))
    assert steps["shop.public.users"]["sql"] == (
        f'{"DELETE" if plan is erase else "SELECT *"} FROM "shop"."public"."users" WHERE "user_id" = %s')
    for name, why in UNADDRESSABLE.items():
        step = steps[name]
        assert step["action"] == ("delete" if plan is erase else "select"), name
        assert step["sql"] is None and "params" not in step, name
        assert f"no statement: the name {name!r} has {why}" in step["reason"], step["reason"]
        assert "not a SQL table" not in step["reason"]


def test_masked_steps_without_a_statement_compute_without_a_param(tmp_path):
    """`compute[].param` names a placeholder: a step with no statement (an unaddressable name, a view) has none."""
    lineage = {"uid_hash": [("app.users", "user_id", "TRANSFORMATION", "MD5(user_id)", True)]}
    db = store_of(tmp_path, [("track", ["app.users"], dataset("a.b.c.d", ["uid_hash"], lineage)),
                             ("view", ["app.users"], dataset("app.v", ["uid_hash"], lineage, dataset_type="VIEW"))])
    steps = steps_of(erase("user_id", db, name="app.users", value="42"))
    assert "has 4 parts" in steps["a.b.c.d"]["reason"]
    for step in (steps["a.b.c.d"], steps["app.v"]):
        assert step["sql"] is None and "params" not in step and step["masked"]
        assert [set(c) for c in step["compute"]] == [{"column", "from", "transformations"}]

