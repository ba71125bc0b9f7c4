"""Column lineage around a dataset's fields, as a graph of fields and the edges between them.

The answer behind ``serve``'s ``GET /api/v1/column-lineage`` (Marquez's shape is
made in ``serve/marquez_columns.py``): the one column walk (``graph.walk``)
upstream from the seed fields, and downstream too when asked, every edge turned
the way the data flows (from the input field to the field it feeds), with each
field's stored spelling and type and each edge's transformation and description.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineagectl.errors import NotFoundError
from lineagectl.graph.edges import ColumnEdge
from lineagectl.graph.names import Entity, resolve
from lineagectl.graph.walk import walk_columns
from lineagectl.queries.lineage import check_depth, root_columns
from lineagectl.store import open_store
from lineagectl.store.lookups import dataset_columns, describe_datasets, describe_jobs

_IDS = "IN (SELECT unnest($ids::BIGINT[]))"


def field_lineage(db: Any, readings: Iterable[tuple[str, str, str | None]], *, depth: int | None = None,
                  downstream: bool = False) -> dict:
    """The column lineage of the first of ``readings`` — (namespace, dataset name, field, or None for
    every field of it) — that names a dataset and field of the store, all tried in one open store:
    ``{"root": {namespace, name, fields}, "fields": [{namespace, name, column, type}], "edges": [{source,
    target ({namespace, name, column}), job ({namespace, name} or None), type, subtype, masking,
    description}]}``; fields and edges sorted. ``NotFoundError`` (the last reading's) when none does."""
    check_depth(depth)
    with open_store(db) as con:
        root, seeds = _first_found(con, readings)
        flows: set[tuple] = set()
        for direction in ("upstream", "downstream") if downstream else ("upstream",):
            walk = walk_columns(con, [(root.id, c) for c in seeds], direction, depth)
            flows |= {_flowing(edge, direction) for edge in walk.edges}
        ids = sorted({key for flow in flows for key in (flow[0], flow[2])})
        datasets = describe_datasets(con, ids, owners=False)
        jobs = describe_jobs(con, [flow[4] for flow in flows])
        stored = {(d, c.lower()): (c, t) for d, c, t in con.execute(
            f"SELECT dataset_id, column_name, type FROM columns WHERE dataset_id {_IDS}", {"ids": ids}).fetchall()}
        described = {tuple(row[:6]): row[6] for row in con.execute(f"""
            SELECT src_dataset_id, lower(src_column), dataset_id, lower(column_name), type, subtype, max(description)
            FROM column_edges WHERE src_dataset_id {_IDS} AND dataset_id {_IDS} GROUP BY ALL""",
                                                                    {"ids": ids}).fetchall()}

    def ref(dataset_id: int, column: str) -> dict:
        spelled = stored.get((dataset_id, column.lower()), (column, None))[0]
        return {"namespace": datasets[dataset_id]["namespace"], "name": datasets[dataset_id]["name"],
                "column": spelled}

    edges, fields, taken = [], {}, set()
    for src, src_col, dst, dst_col, job, kind, subtype, masking in flows:
        source, target = (ref(src, src_col), ref(dst, dst_col)) if src in datasets and dst in datasets else ({}, {})
        once = (tuple(source.values()), tuple(target.values()), job, kind, subtype, bool(masking))
        if not source or once in taken:  # a column spelled two ways is one field
            continue
        taken.add(once)
        for dataset_id, column, found in ((src, src_col, source), (dst, dst_col, target)):
            fields[tuple(found.values())] = {**found, "type": stored.get((dataset_id, column.lower()), (None, None))[1]}
        description = described.get((src, src_col.lower(), dst, dst_col.lower(), kind, subtype))
        edges.append({"source": source, "target": target, "job": jobs.get(job), "type": kind, "subtype": subtype,
                      "masking": bool(masking), "description": description or None})
    edges.sort(key=lambda e: (*e["target"].values(), *e["source"].values(), str(e["job"]), e["type"]))
    return {"root": {"namespace": root.namespace, "name": root.name, "fields": seeds},
            "fields": [fields[key] for key in sorted(fields)], "edges": edges}


def _first_found(con: Any, readings: Iterable[tuple[str, str, str | None]]) -> tuple[Entity, list[str]]:
    missing = NotFoundError("no reading of the node names a dataset of the store")
    for namespace, name, field in readings:
        try:
            root = resolve(con, name, namespace=namespace, kind="dataset")
            return root, root_columns(con, root, field) if field is not None else dataset_columns(con, root.id)
        except NotFoundError as exc:
            missing = exc
    raise missing


def _flowing(edge: ColumnEdge, direction: str) -> tuple:
    """A walked edge as (input dataset, input column, output dataset, output column, job, type, subtype,
    masking): a walk records the side it came from first, so an upstream walk's edges are turned."""
    if direction == "downstream":
        return (edge.src, edge.src_column, edge.dst, edge.dst_column, edge.job, edge.type, edge.subtype,
                edge.masking)
    return (edge.dst, edge.dst_column, edge.src, edge.src_column, edge.job, edge.type, edge.subtype, edge.masking)
