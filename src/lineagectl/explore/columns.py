"""The column lineage of a page: every column edge between two of its datasets, by column index.

A page's dataset node lists its columns; an edge names its ends as (node id,
index into that list), so no column name has to be an identifier in the page.
A column that lineage names but the dataset's schema does not is added to the
list (lineage is often richer than the schemas seen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lineagectl.explore.focus import dataset_key, job_key
from lineagectl.graph.walk import column_edges_among


def column_lineage(con: Any, columns: dict[int, list[str]], as_of: datetime | None = None) -> list[list]:
    """``[source node, source column index, target node, target column index, job node or None, type,
    subtype, masking]`` for every column edge among the datasets of ``columns`` (extended in place)."""
    index: dict[int, dict[str, int]] = {i: {c.lower(): n for n, c in enumerate(names)} for i, names in columns.items()}

    def position(dataset_id: int, column: str) -> int:
        known = index[dataset_id]
        if column.lower() not in known:
            known[column.lower()] = len(columns[dataset_id])
            columns[dataset_id].append(column)
        return known[column.lower()]

    return [[dataset_key(e.src), position(e.src, e.src_column), dataset_key(e.dst), position(e.dst, e.dst_column),
             job_key(e.job) if e.job is not None else None, e.type, e.subtype, bool(e.masking)]
            for e in column_edges_among(con, columns, as_of)]
