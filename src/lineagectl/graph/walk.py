"""Walking lineage in the store: breadth-first, one SQL query per hop.

The frontier travels as a list parameter; only it and its neighbours are read,
so a query costs in proportion to its answer, not to the store, and a cycle
(real logs have them) ends the walk instead of looping: a node is expanded
once, at its smallest depth.
Aliases (symlinks, renames) are folded into the dataset they name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable


# Where edges come from: the summary (every edge seen), or, with --as-of, each
# job's latest run at that time (detailed history) plus static JobEvent edges.
_EDGES_NOW = "SELECT dataset_id, job_id, direction FROM edges"
_EDGES_AS_OF = """
    SELECT dataset_id, job_id, direction FROM run_io
    WHERE event_time <= $as_of AND run_id IN (
        SELECT arg_max(run_id, event_time) FROM run_io WHERE event_time <= $as_of GROUP BY job_id)
    UNION SELECT dataset_id, job_id, direction FROM edges WHERE run_count = 0 AND first_seen <= $as_of"""
_COLUMNS_NOW = """SELECT src_dataset_id, src_column, dataset_id, column_name, job_id, type, subtype, masking
                  FROM column_edges"""
_COLUMNS_AS_OF = """
    SELECT c.src_dataset_id, c.src_column, c.dataset_id, c.column_name, l.job_id, c.type, c.subtype, c.masking
    FROM (SELECT dataset_id, job_id, facet_hash FROM cll_sets WHERE first_seen <= $as_of
          QUALIFY row_number() OVER (PARTITION BY dataset_id, job_id
                                     ORDER BY first_seen DESC, facet_hash DESC) = 1) l
    JOIN cll_fields c USING (dataset_id, facet_hash)"""

# Dataset-level hops: dataset -> job -> dataset, aliases folded into their dataset.
_EDGES = """WITH frontier AS (SELECT unnest($nodes::BIGINT[]) AS node),
    raw AS ({source}),
    e AS (SELECT coalesce(a.dataset_id, raw.dataset_id) AS dataset_id, raw.job_id, raw.direction
          FROM raw LEFT JOIN dataset_aliases a ON a.alias_id = raw.dataset_id)"""
# The same without alias folding, for the (common) stores that have no aliases.
_EDGES_PLAIN = """WITH frontier AS (SELECT unnest($nodes::BIGINT[]) AS node), e AS ({source})"""
_TABLE_HOP = {
    "downstream": """
        SELECT DISTINCT f.node AS src, i.job_id, o.dataset_id AS dst
        FROM frontier f
        JOIN e i ON i.direction = 'in' AND i.dataset_id = f.node
        JOIN e o ON o.direction = 'out' AND o.job_id = i.job_id""",
    "upstream": """
        SELECT DISTINCT f.node AS src, o.job_id, i.dataset_id AS dst
        FROM frontier f
        JOIN e o ON o.direction = 'out' AND o.dataset_id = f.node
        JOIN e i ON i.direction = 'in' AND i.job_id = o.job_id""",
}
# Column-level hops; {near}/{far} name the edge's columns on the frontier side and the other side.
_COLUMN_HOP = """WITH frontier AS (SELECT unnest($nodes::BIGINT[]) AS node, unnest($cols::VARCHAR[]) AS col),
    e AS ({source})
    SELECT f.node AS src, f.col AS src_col, e.job_id, e.{far}dataset_id AS dst, e.{far_col} AS dst_col,
           e.type, e.subtype, e.masking
    FROM frontier f JOIN e ON e.{near}dataset_id = f.node AND lower(e.{near_col}) = lower(f.col)
    WHERE NOT $direct_only OR e.type = 'DIRECT'"""
_COLUMN_SIDES = {
    "downstream": {"near": "src_", "near_col": "src_column", "far": "", "far_col": "column_name"},
    "upstream": {"near": "", "near_col": "column_name", "far": "src_", "far_col": "src_column"},
}


@dataclass
class Walk:
    """What a walk reached: depth per dataset (and column), depth per job, and the hops taken."""

    datasets: dict[int, int] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)
    columns: dict[tuple[int, str], int] = field(default_factory=dict)
    # For each reached column, the transformations along the first path found to it.
    paths: dict[tuple[int, str], list[dict]] = field(default_factory=dict)
    edges: set[tuple] = field(default_factory=set)


def walk_datasets(con, roots: Iterable[int], direction: str, max_depth: int | None = None,
                  as_of: datetime | None = None) -> Walk:
    """Datasets and jobs reachable from the ``roots`` (excluded), with their hop counts."""
    has_aliases = con.execute("SELECT EXISTS (SELECT 1 FROM dataset_aliases)").fetchall()[0][0]
    sql = ((_EDGES if has_aliases else _EDGES_PLAIN).format(source=_EDGES_AS_OF if as_of else _EDGES_NOW)
           + _TABLE_HOP[direction])
    params = {"as_of": as_of} if as_of else {}
    result = Walk()
    frontier = sorted(set(roots))
    seen = set(frontier)
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        rows = con.execute(sql, {**params, "nodes": frontier}).fetchall()
        frontier = []
        for src, job, dst in sorted(rows):
            result.jobs.setdefault(job, depth)
            result.edges.add((src, job, dst))
            if dst not in seen:
                seen.add(dst)
                result.datasets[dst] = depth
                frontier.append(dst)
    return result


def walk_columns(con, root: int, columns: list[str], direction: str, max_depth: int | None = None,
                 direct_only: bool = False, as_of: datetime | None = None) -> Walk:
    """Columns reachable from ``columns`` of dataset ``root`` through column lineage."""
    result = walk_column_set(con, [(root, c) for c in columns], direction, max_depth, direct_only, as_of)
    result.datasets.pop(root, None)
    return result


def walk_column_set(con, seeds: Iterable[tuple[int, str]], direction: str, max_depth: int | None = None,
                    direct_only: bool = False, as_of: datetime | None = None) -> Walk:
    """Columns reachable from the (dataset, column) ``seeds`` (excluded) through column lineage.

    ``Walk.edges`` holds every edge leaving a seed or a reached column, not only
    the first path to each, so callers can classify how a column was reached.
    """
    sql = _COLUMN_HOP.format(source=_COLUMNS_AS_OF if as_of else _COLUMNS_NOW, **_COLUMN_SIDES[direction])
    params = {"direct_only": direct_only} | ({"as_of": as_of} if as_of else {})
    result = Walk()
    frontier = sorted(set(seeds))
    seen = {(n, c.lower()) for n, c in frontier}
    paths: dict[tuple[int, str], list[dict]] = {seed: [] for seed in frontier}
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        rows = con.execute(sql, {**params, "nodes": [n for n, _ in frontier],
                                 "cols": [c for _, c in frontier]}).fetchall()
        frontier = []
        for src, src_col, job, dst, dst_col, kind, subtype, masking in sorted(rows, key=_row_key):
            result.edges.add((src, src_col, job, dst, dst_col, kind, subtype, masking))
            if job:
                result.jobs.setdefault(job, depth)
            key = (dst, dst_col.lower())
            if key in seen:
                continue
            seen.add(key)
            result.columns[(dst, dst_col)] = depth
            step = {"type": kind, "subtype": subtype, "masking": bool(masking)}
            paths[(dst, dst_col)] = paths.get((src, src_col), []) + [step]
            result.datasets.setdefault(dst, depth)
            frontier.append((dst, dst_col))
    result.paths = {k: v for k, v in paths.items() if k in result.columns}
    return result


def _row_key(row: tuple) -> tuple:
    return tuple("" if v is None else v for v in row)


ColumnKey = tuple[int, str]  # (dataset id, lower-cased column name)


def reach(seeds: Iterable[ColumnKey], edges: Iterable[tuple], keep=lambda edge: True) -> dict[ColumnKey, tuple | None]:
    """Breadth-first reach over column ``edges`` (as in ``Walk.edges``) that ``keep`` accepts.

    Returns each reached column (seeds included) with the edge it was first reached
    by (None for a seed), so ``column_path`` can rebuild one shortest path to it.
    """
    out: dict[ColumnKey, list[tuple]] = {}
    for edge in sorted(edges, key=_row_key):
        if keep(edge):
            out.setdefault((edge[0], edge[1].lower()), []).append(edge)
    parents: dict[ColumnKey, tuple | None] = {seed: None for seed in seeds}
    frontier = sorted(parents)
    while frontier:
        following = []
        for node in frontier:
            for edge in out.get(node, ()):
                target = (edge[3], edge[4].lower())
                if target not in parents:
                    parents[target] = edge
                    following.append(target)
        frontier = following
    return parents


def column_path(parents: dict[ColumnKey, tuple | None], node: ColumnKey) -> list[tuple]:
    """The edges from a seed to ``node``, in order, from the parents ``reach`` returned."""
    path = []
    edge = parents.get(node)
    while edge is not None:
        path.append(edge)
        edge = parents.get((edge[0], edge[1].lower()))
    return path[::-1]
