"""Machine formats whose lines are the data: ``ndjson`` and ``csv`` carry the items of the
result's main list exactly as ``-f json`` shows them (docs/formats.md).

``ndjson`` writes each item as one JSON line. ``csv`` writes the same items one row
each: nested objects flattened to dotted keys (``root.name``), lists of values
joined by ``;``, lists of objects written as compact JSON; columns in the order
keys first appear. Which list is "main" is said once per kind here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from lineagectl.errors import InputError
from lineagectl.results import Result

# The key of each kind's main list in its JSON payload; a kind not named here answers with one
# object (stats, show, ingest, prune) or a list (ls, prune-history), whose items are the data.
MAIN_LIST: dict[str, Callable[[dict], list]] = {
    "impact": lambda p: p["columns"] if p.get("columns") is not None else p["datasets"],
    "trace": lambda p: p["columns"] if p.get("columns") is not None else p["datasets"],
    "provenance": lambda p: p["steps"],
    "graph": lambda p: p["nodes"],
    "erase": lambda p: p["steps"],
    "access": lambda p: p["steps"],
    "residency-check": lambda p: p["violations"],
    "policy-check": lambda p: p["regions"],
    "pii": lambda p: p["columns"] + p["propagated"],
    "changes": lambda p: p["changes"],
    "quality": lambda p: p["datasets"],
    "sql": lambda p: p["statements"],
    "diff": lambda p: p["columns"],
}


def qualified(ref: dict) -> str:
    """``namespace/name[.column]``: a dataset's (or column's) fully qualified name, as policy globs
    and SARIF spell it."""
    return f"{ref['namespace']}/{ref['name']}" + (f".{ref['column']}" if ref.get("column") else "")


def _run(item: dict) -> str:
    return str(item["run_id"])


# ``-f name``: the one name each item of a kind's main list goes by. Kinds not named here have
# no natural name per item; their commands do not offer the format.
NAMES: dict[str, Callable[[Result], Callable[[dict], str]]] = {
    "ls": lambda r: _run if r.context.get("list") == "runs" else qualified,
    "select": lambda r: qualified,
    "impact": lambda r: qualified,
    "trace": lambda r: qualified,
    "provenance": lambda r: _run,
    "erase": lambda r: qualified,
    "access": lambda r: qualified,
    "pii": lambda r: qualified,
}


def names(result: Result) -> list[str]:
    """The lines of ``-f name``: each item of the main list by its qualified name (a run by its id)."""
    name_of = NAMES.get(result.kind)
    if name_of is None:  # the commands offer -f name only where their answers have names
        raise InputError(f"a {result.kind} answer has no names to list; -f name is for lists of datasets, "
                         "columns or runs")
    return [name_of(result)(item) for item in main_items(result)]


def main_items(result: Result) -> list[Any]:
    """The items ``ndjson`` and ``csv`` write: the main list of ``-f json``'s payload."""
    payload = result.payload
    pick = MAIN_LIST.get(result.kind)
    if pick is not None and isinstance(payload, dict):
        return list(pick(payload))
    return list(payload) if isinstance(payload, list) else [payload]


def flat(item: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, scalar) pairs of an item: nested objects flattened, lists joined."""
    import orjson

    if not isinstance(item, dict):
        yield prefix or "value", item
        return
    for key, value in item.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from flat(value, name)
        elif isinstance(value, list):
            if any(isinstance(v, (dict, list)) for v in value):
                yield name, orjson.dumps(value, default=str).decode()
            else:
                yield name, ";".join("" if v is None else str(v) for v in value)
        else:
            yield name, value


def write_csv(items: list[Any], stream: TextIO, cell: Callable[[Any], Any], header: list[str] | None = None) -> None:
    """``items`` as CSV rows under a header of every flattened key (``header`` first), each cell
    made safe by ``cell``."""
    rows = [dict(flat(item)) for item in items]
    columns: dict[str, None] = dict.fromkeys(header or [])
    for row in rows:
        columns.update(dict.fromkeys(row))
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
