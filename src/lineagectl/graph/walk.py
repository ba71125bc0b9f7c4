"""The one walk engine: breadth-first over dataset or column lineage, one SQL query per hop.

The frontier travels as a list parameter; only it and its neighbours are read,
so a query costs in proportion to its answer, not to the store, and a cycle
(real logs have them) ends the walk instead of looping: a node is expanded
once, at its smallest depth.

Aliases (symlinks, renames) are folded into the dataset they name, at both
levels and by the same SQL (``_FOLD``): an edge recorded on ``hive://meta
db.orders`` is an edge of ``s3://lake warehouse/orders`` when the one is a
symlink of the other.

With ``as_of``, edges are each job's latest run at that time, and a dataset
dropped by then (a ``lifecycleStateChange`` DROP not followed by a write or a
CREATE; ``store.lookups.dropped_at``) is gone with its edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from lineagectl.graph.edges import ColumnEdge, ColumnKey, DatasetEdge, column_key
from lineagectl.store.lookups import dropped_at

DIRECTIONS = ("downstream", "upstream")

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


def _fold(column: str, alias: str) -> tuple[str, str]:
    """The folded id expression of ``raw.column`` and the join that folds it (one alias table)."""
    return (f"coalesce({alias}.dataset_id, raw.{column})",
            f"LEFT JOIN dataset_aliases {alias} ON {alias}.alias_id = raw.{column}")


_DS, _DS_JOIN = _fold("dataset_id", "a")
_SRC, _SRC_JOIN = _fold("src_dataset_id", "s")
_EDGE_SETS = {
    # Dataset-level edges: (dataset_id, job_id, direction).
    "table": {"plain": "{name} AS ({source})",
              "folded": f"raw AS ({{source}}), {{name}} AS (SELECT {_DS} AS dataset_id, raw.job_id, "
                        f"raw.direction FROM raw {_DS_JOIN})"},
    # Column-level edges: (src_dataset_id, src_column, dataset_id, column_name, job_id, type, subtype, masking).
    "column": {"plain": "{name} AS ({source})",
               "folded": f"raw AS ({{source}}), {{name}} AS (SELECT {_SRC} AS src_dataset_id, raw.src_column, "
                         f"{_DS} AS dataset_id, raw.column_name, raw.job_id, raw.type, raw.subtype, raw.masking "
                         f"FROM raw {_SRC_JOIN} {_DS_JOIN})"},
}
# With --as-of, datasets dropped by then (``store.lookups.dropped_at``) are gone with their edges.
_LIVE = {
    "table": "e AS (SELECT * FROM every WHERE dataset_id NOT IN (SELECT unnest($gone::BIGINT[])))",
    "column": "e AS (SELECT * FROM every WHERE dataset_id NOT IN (SELECT unnest($gone::BIGINT[])) "
              "AND src_dataset_id NOT IN (SELECT unnest($gone::BIGINT[])))",
}
# The frontier of a hop: the walk's list of datasets, or every dataset (see WHOLE_GRAPH_ROOTS).
# A walk still going after this many hops reads every edge once and goes on in memory: on a
# 20,000-hop chain each hop's query took ~7 ms, the read of all 20,000 edges ~50 ms.
DEEP_WALK_HOPS = 8
_FRONTIER_LIST = "frontier AS (SELECT unnest($nodes::BIGINT[]) AS node)"
_FRONTIER_ALL = "frontier AS (SELECT DISTINCT dataset_id AS node FROM e)"
# From this many roots on (residency walks from every dataset of a region), reading all edges once
# beats a query per hop: on the 100k-dataset bench store the per-hop walk from 100k roots took
# 1.1 s, the one query of every hop's edges 0.1-0.15 s.
WHOLE_GRAPH_ROOTS = 5_000
# A job with nothing on the far side (a writer that reads nothing, a reader that writes nothing)
# comes back once with dst NULL: it is on the way, so it is listed, but it leads nowhere.
_TABLE_HOP = {
    "downstream": """
        SELECT DISTINCT f.node AS src, i.job_id, o.dataset_id AS dst
        FROM frontier f
        JOIN e i ON i.direction = 'in' AND i.dataset_id = f.node
        LEFT JOIN e o ON o.direction = 'out' AND o.job_id = i.job_id""",
    "upstream": """
        SELECT DISTINCT f.node AS src, o.job_id, i.dataset_id AS dst
        FROM frontier f
        JOIN e o ON o.direction = 'out' AND o.dataset_id = f.node
        LEFT JOIN e i ON i.direction = 'in' AND i.job_id = o.job_id""",
}
# {near}/{far} name the edge's columns on the frontier side and the other side.
_COLUMN_HOP = """
    SELECT f.node AS src, f.col AS src_col, e.job_id, e.{far}dataset_id AS dst, e.{far_col} AS dst_col,
           e.type, e.subtype, e.masking
    FROM frontier f JOIN e ON e.{near}dataset_id = f.node AND lower(e.{near_col}) = lower(f.col)
    WHERE NOT $direct_only OR e.type = 'DIRECT'"""
# Every column edge at once, near end first (the deep-walk form of ``_COLUMN_HOP``).
_COLUMN_EVERY = """
    SELECT e.{near}dataset_id AS src, e.{near_col} AS src_col, e.job_id, e.{far}dataset_id AS dst,
           e.{far_col} AS dst_col, e.type, e.subtype, e.masking
    FROM e WHERE NOT $direct_only OR e.type = 'DIRECT'"""
_COLUMN_SIDES = {
    "downstream": {"near": "src_", "near_col": "src_column", "far": "", "far_col": "column_name"},
    "upstream": {"near": "", "near_col": "column_name", "far": "src_", "far_col": "src_column"},
}


def _edge_sql(con: Any, level: str, as_of: datetime | None) -> tuple[str, dict[str, Any]]:
    """The ``e`` CTE of a walk's edges and its parameters."""
    has_aliases = con.execute("SELECT EXISTS (SELECT 1 FROM dataset_aliases)").fetchall()[0][0]
    sources = {"table": (_EDGES_NOW, _EDGES_AS_OF), "column": (_COLUMNS_NOW, _COLUMNS_AS_OF)}[level]
    # Most stores have no aliases; the plain form saves the joins on every hop.
    template = _EDGE_SETS[level]["folded" if has_aliases else "plain"]
    if as_of is None:
        return template.format(name="e", source=sources[0]), {}
    gone = sorted(dropped_at(con, None, as_of=as_of))
    if not gone:
        return template.format(name="e", source=sources[1]), {"as_of": as_of}
    sql = template.format(name="every", source=sources[1]) + ", " + _LIVE[level]
    return sql, {"as_of": as_of, "gone": gone}


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")


@dataclass
class Walk:
    """What a dataset-level walk reached: depth per dataset and per job, and every edge taken.

    ``rows`` holds the edges as the store returned them, (src, job, dst) triples in
    ``DatasetEdge``'s field order; ``edges`` makes them ``DatasetEdge``s on first use
    (a walk over a whole store takes 100k+ edges, and a caller scanning them all can
    read ``rows`` without the cost of building named tuples). ``ends`` holds the
    (dataset, job) hops to a job with nothing on the far side: a reader that writes
    nothing downstream, a writer that reads nothing upstream.
    """

    datasets: dict[int, int] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)
    rows: list[tuple[int, int, int]] = field(default_factory=list)
    ends: set[tuple[int, int]] = field(default_factory=set)

    @cached_property
    def edges(self) -> set[DatasetEdge]:
        """Every edge taken, typed."""
        return set(map(DatasetEdge._make, self.rows))


@dataclass
class ColumnWalk:
    """What a column-level walk reached: depth per column, dataset and job, and every edge taken.

    ``edges`` holds every edge leaving a seed or a reached column, not only the
    first path to each, so callers can classify how a column was reached.
    ``parents`` keeps one predecessor per reached column (the first, shortest path
    found to it): ``path`` rebuilds that path on demand, so a walk costs memory in
    proportion to what it reached, not to the sum of its paths' lengths.
    """

    datasets: dict[int, int] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)
    columns: dict[tuple[int, str], int] = field(default_factory=dict)
    parents: dict[tuple[int, str], tuple[tuple[int, str], ColumnEdge]] = field(default_factory=dict)
    edges: set[ColumnEdge] = field(default_factory=set)

    @cached_property
    def _pairs(self) -> dict[tuple[ColumnKey, int | None, ColumnKey], list[ColumnEdge]]:
        """The edges taken, grouped by (column walked from, job, column reached) in walk order;
        built on first use, once the walk is over."""
        pairs: dict[tuple[ColumnKey, int | None, ColumnKey], list[ColumnEdge]] = {}
        for edge in sorted(self.edges, key=ColumnEdge.walk_order):
            pairs.setdefault((edge.src_key, edge.job, edge.dst_key), []).append(edge)
        return pairs

    def hop(self, edge: ColumnEdge) -> dict:
        """``edge``'s transformation as a path shows it, with ``also``: the other transformations the
        same job records between the same two columns. Spark's integration sends several for one
        input column (``DIRECT/IDENTITY`` and the ``INDIRECT`` GROUP_BY, JOIN and FILTER that shaped
        it); a path takes one edge per hop, but every one of them is true of that hop."""
        shown = edge.transformation()
        others: list[dict] = []
        for other in self._pairs.get((edge.src_key, edge.job, edge.dst_key), ()):
            # Two spellings of a column (``Email``, ``email``) are one column: their edges may repeat one.
            if (found := other.transformation()) != shown and found not in others:
                others.append(found)
        if others:
            shown["also"] = others
        return shown

    def path(self, column: tuple[int, str]) -> list[dict]:
        """The transformations along the first path found to ``column``, from the seed on (``hop``)."""
        steps: list[dict] = []
        column = column_key(*column)
        while column in self.parents:
            column, edge = self.parents[column]
            steps.append(self.hop(edge))
        steps.reverse()
        return steps

    def shown_paths(self, limit: int) -> dict[tuple[int, str], tuple[list[dict], int]]:
        """For every reached column: its path's transformations with at most ``limit`` shown (the
        first and last halves of a longer one) and how many were left out between them.

        Costs O(columns x limit), not O(columns x depth): the first half of a path is its
        parent's when that is long enough (shared, not copied), the last half a short walk back.
        """
        half = max(1, limit // 2)
        heads: dict[tuple[int, str], list[dict]] = {}
        shown: dict[tuple[int, str], tuple[list[dict], int]] = {}
        for column, depth in sorted(self.columns.items(), key=lambda item: item[1]):
            key = column_key(*column)
            parent, edge = self.parents[key]
            head = heads.get(parent, [])
            heads[key] = head if len(head) >= half else [*head, self.hop(edge)]
            if depth <= limit:
                shown[column] = (self.path(column), 0)
                continue
            tail: list[dict] = []
            at = key
            while len(tail) < half:
                at, step = self.parents[at]
                tail.append(self.hop(step))
            tail.reverse()
            shown[column] = (heads[key] + tail, depth - len(heads[key]) - len(tail))
        return shown


def _per_hop_or_whole(query: Callable[[list], list], whole: Callable[[], list],
                      start_whole: bool) -> Callable[[list, int], list]:
    """A hop function: one query per hop while the walk is shallow, then one read of every edge.

    A walk that goes on past ``DEEP_WALK_HOPS`` is a long chain (or covers much of the
    store): reading all edges once, grouped by their near end, costs as much as a few
    hops, and the rest of the walk runs in memory however deep it goes.
    """
    adjacency: dict[Any, list] | None = None

    def hop(nodes: list, depth: int) -> list:
        nonlocal adjacency
        if adjacency is None and (start_whole or depth > DEEP_WALK_HOPS):
            adjacency = {}
            for row in whole():
                adjacency.setdefault(row[0], []).append(row)
        if adjacency is None:
            return query(nodes)
        return [row for node in nodes for row in adjacency.get(node, ())]

    return hop


def walk_datasets(con: Any, roots: Iterable[int], direction: str, max_depth: int | None = None,
                  as_of: datetime | None = None, through: Callable[[int], bool] | None = None) -> Walk:
    """Datasets and jobs reachable from the ``roots`` (excluded), with their hop counts.

    ``through`` limits the walk: a reached dataset for which it is false is
    recorded but not walked beyond (residency walks only through allowed regions).
    """
    _check_direction(direction)
    frontier = list(set(roots))
    edges, params = _edge_sql(con, "table", as_of)
    sql = f"WITH {edges}, {_FRONTIER_LIST} {_TABLE_HOP[direction]}"
    every = f"WITH {edges}, {_FRONTIER_ALL} {_TABLE_HOP[direction]}"
    # So many roots that the walk covers much of the store: one query reads the hops of
    # every dataset (the same SQL, every dataset as the frontier) from the start.
    hop = _per_hop_or_whole(lambda nodes: con.execute(sql, {**params, "nodes": nodes}).fetchall(),
                            lambda: con.execute(every, params).fetchall(),
                            start_whole=len(frontier) >= WHOLE_GRAPH_ROOTS)
    result = Walk()
    seen = set(frontier)
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        rows = hop(frontier, depth)
        frontier = []
        # Row order cannot change the answer (depths are per hop, edges a set): no sort needed.
        for job in {row[1] for row in rows}:
            result.jobs.setdefault(job, depth)
        if any(row[2] is None for row in rows):
            result.ends.update((row[0], row[1]) for row in rows if row[2] is None)
            rows = [row for row in rows if row[2] is not None]
        result.rows += rows
        for _src, _job, dst in rows:
            if dst not in seen:
                seen.add(dst)
                result.datasets[dst] = depth
                if through is None or through(dst):
                    frontier.append(dst)
    return result


def walk_columns(con: Any, seeds: Iterable[tuple[int, str]], direction: str, max_depth: int | None = None,
                 direct_only: bool = False, as_of: datetime | None = None) -> ColumnWalk:
    """Columns reachable from the (dataset, column) ``seeds`` (excluded) through column lineage.

    A seed's dataset is left out of ``datasets`` unless another of its columns is reached.
    """
    _check_direction(direction)
    edges, params = _edge_sql(con, "column", as_of)
    sides = _COLUMN_SIDES[direction]
    sql = (f"WITH {edges}, "
           "frontier AS (SELECT unnest($nodes::BIGINT[]) AS node, unnest($cols::VARCHAR[]) AS col) "
           + _COLUMN_HOP.format(**sides))
    every = f"WITH {edges} " + _COLUMN_EVERY.format(**sides)
    params["direct_only"] = direct_only

    def query(frontier: list[ColumnKey]) -> list:
        rows = con.execute(sql, {**params, "nodes": [n for n, _ in frontier],
                                 "cols": [c for _, c in frontier]}).fetchall()
        return [((row[0], row[1].lower()), *row) for row in rows]

    def whole() -> list:
        return [((row[0], row[1].lower()), *row) for row in con.execute(every, params).fetchall()]

    hop = _per_hop_or_whole(query, whole, start_whole=False)
    result = ColumnWalk()
    frontier = sorted({column_key(n, c) for n, c in seeds})
    seen = set(frontier)
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        rows = hop(frontier, depth)
        frontier = []
        for edge in sorted((ColumnEdge(*row[1:]) for row in rows), key=ColumnEdge.walk_order):
            result.edges.add(edge)
            if edge.job:
                result.jobs.setdefault(edge.job, depth)
            key: ColumnKey = edge.dst_key
            if key in seen:
                continue
            seen.add(key)
            reached = (edge.dst, edge.dst_column)
            result.columns[reached] = depth
            result.parents[key] = (edge.src_key, edge)
            result.datasets.setdefault(edge.dst, depth)
            frontier.append(key)
    return result


def every_edge(con: Any, as_of: datetime | None = None) -> list[tuple[int, int, str]]:
    """Every dataset-job edge of the store as (dataset id, job id, ``in``/``out``), aliases folded
    and, with ``as_of``, as it stood then (the whole-store picture of ``graph --all``)."""
    edges, params = _edge_sql(con, "table", as_of)
    return con.execute(f"WITH {edges} SELECT DISTINCT dataset_id, job_id, direction FROM e", params).fetchall()


def column_edges_among(con: Any, ids: Iterable[int], as_of: datetime | None = None) -> list[ColumnEdge]:
    """Every column edge between two of the datasets ``ids`` (aliases folded; with ``as_of``, as then)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    edges, params = _edge_sql(con, "column", as_of)
    rows = con.execute(f"""WITH {edges}
        SELECT DISTINCT src_dataset_id, src_column, job_id, dataset_id, column_name, type, subtype, masking FROM e
        WHERE src_dataset_id IN (SELECT unnest($ids::BIGINT[])) AND dataset_id IN (SELECT unnest($ids::BIGINT[]))""",
                       {**params, "ids": wanted}).fetchall()
    return sorted(map(ColumnEdge._make, rows), key=lambda e: tuple(map(str, e)))
