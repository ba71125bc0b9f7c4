"""A SQL script's lineage as a whole: its statements composed through the tables it writes, then reads.

``compose(statements)`` takes the statement answers of ``sql_answer`` in script order and
answers what the script does end to end, as sqllineage reports a script: a table one statement
fills (CREATE … AS SELECT, CREATE VIEW, INSERT, SELECT INTO; temporary or not) and a later one
reads is the script's inside, read through: the later statement's columns are traced to where
the table's own columns came from (``test.c`` ← ``tmp.c`` ← ``src.a`` is ``test.c`` ← ``src.a``,
DIRECT only when both steps are, the stronger subtype, masked when either step masks), and the
influence (joins, filters …) that built the table carries over to what reads it. The script's
``targets`` are the tables it writes that none of its later statements reads; its ``sources``
the tables it reads before any of its statements writes them. An UPDATE or a MERGE changes a
table in place: what it writes is not read through.

``written_columns(statement)`` names the columns a statement writes to each of its targets, so
a later statement of the script can expand ``SELECT *`` over them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_FILLS = ("CREATE_TABLE_AS_SELECT", "CREATE_VIEW", "INSERT", "SELECT_INTO")
_RANK = {"IDENTITY": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}


def _key(table: str) -> str:
    return table.lower()


def written_columns(statement: dict, tree: Any) -> dict[str, list[str]]:
    """``{target: [column, …]}`` a statement that fills a table writes, in the query's order where it
    names them all (``tree``: its parsed statement), else in the order its column edges name them."""
    from sqlglot import exp

    if statement["kind"] not in _FILLS:
        return {}
    named: list[str] = []
    query = tree.expression if isinstance(tree, (exp.Create, exp.Insert)) else tree
    if isinstance(query, exp.Query) and not any(isinstance(s, exp.Star) or s.is_star for s in query.selects):
        named = [s.alias_or_name for s in query.selects]
    found: dict[str, list[str]] = {}
    for column in statement["columns"]:
        names = found.setdefault(column["target"], [])
        if column["column"] not in names:
            names.append(column["column"])
    if named and len(statement["targets"]) == 1 and not any(c.get("column") not in named for c in statement["columns"]):
        found[statement["targets"][0]] = named
    return found


def _through(edge: dict, upstream: dict) -> dict:
    """``edge`` (into a column, or dataset-wide) with its source replaced by ``upstream``'s."""
    composed = {**edge, "source": upstream["source"], "source_column": upstream["source_column"]}
    if edge["type"] == "DIRECT" and upstream["type"] == "DIRECT":
        composed["subtype"] = max(edge["subtype"], upstream["subtype"], key=lambda s: _RANK.get(s, 0))
        composed["masking"] = edge["masking"] or upstream["masking"]
    elif edge["type"] == "DIRECT":  # the value only decided by the upstream: its INDIRECT kind
        composed.update(type=upstream["type"], subtype=upstream["subtype"], masking=False)
    return composed


def compose(statements: list[dict], through: Callable[[dict], bool] | None = None) -> dict:
    """``{"targets", "sources", "columns", "dataset"}`` of the whole script (see the module's docstring).

    ``through`` narrows which filling statements' tables are read through (the ingest of a script
    reads through its temporary tables only: the others are datasets of their own)."""
    filled: dict[str, dict[str, list[dict]]] = {}  # table -> column -> its edges from the script's sources
    influence: dict[str, list[dict]] = {}  # table -> the dataset-wide edges that built it
    read_later: set[str] = set()
    sources: list[str] = []
    columns: list[dict] = []
    dataset: list[dict] = []
    for statement in statements:
        for source in statement["sources"]:
            if _key(source) in filled:
                read_later.add(_key(source))
            elif source not in sources:
                sources.append(source)
        for name in statement.get("through", []):
            read_later.add(_key(name))
        mine_columns: list[dict] = []
        mine_dataset: list[dict] = []
        for edge in statement["columns"]:
            upstream = filled.get(_key(edge["source"]), {}).get(edge["source_column"].lower())
            mine_columns += [_through(edge, u) for u in upstream] if upstream else [edge]
        for edge in statement["dataset"]:
            upstream = filled.get(_key(edge["source"]), {}).get(edge["source_column"].lower())
            mine_dataset += [_through(edge, u) for u in upstream] if upstream else [edge]
        for read in {_key(e["source"]) for e in statement["columns"] + statement["dataset"]} & set(influence):
            mine_dataset += [{**e, "target": statement["targets"][0] if statement["targets"] else e["target"]}
                             for e in influence[read]]
        if statement["kind"] in _FILLS and (through is None or through(statement)):
            for target in statement["targets"]:
                table = filled.setdefault(_key(target), {})
                for edge in mine_columns:
                    if edge["target"] == target:
                        table.setdefault(edge["column"].lower(), []).append(edge)
                influence.setdefault(_key(target), []).extend(e for e in mine_dataset if e["target"] == target)
        columns += [e for e in mine_columns if e not in columns]
        dataset += [e for e in mine_dataset if e not in dataset]
    targets = [t for s in statements for t in s["targets"] if _key(t) not in read_later]
    return {"targets": list(dict.fromkeys(targets)), "sources": sources,
            "columns": [e for e in columns if _key(e["target"] or "") not in read_later],
            "dataset": [e for e in dataset if _key(e["target"] or "") not in read_later]}
