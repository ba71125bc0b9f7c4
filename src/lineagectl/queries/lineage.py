"""``impact`` (downstream) and ``trace`` (upstream): who depends on X, where X comes from.

Answers follow CONTRACT.md's JSON shape: the root, the datasets reached with
their hop count, type and owners (whom to warn), the jobs on the way, and with
``--column`` the columns reached with the transformations along the path.
ML models (``datasetType`` MODEL) are also listed on their own.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from lineagectl.common.timeutil import format_timestamp, option_time
from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.edges import ColumnEdge, DatasetEdge
from lineagectl.graph.names import Entity, resolve
from lineagectl.graph.paths import bfs_parents, column_ends, dataset_ends
from lineagectl.graph.selectors import Catalog, requested
from lineagectl.graph.walk import DIRECTIONS, ColumnWalk, Walk, walk_columns, walk_datasets
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import dataset_columns, describe_datasets, describe_jobs, dropped_at, first_seen


def root_columns(con: Any, entity: Entity, column: str) -> list[str]:
    """Every spelling of ``column`` (case-insensitive) in the dataset; NotFoundError with close matches."""
    names = dataset_columns(con, entity.id)
    matches = [n for n in names if n.lower() == column.lower()]
    if not matches:
        close = difflib.get_close_matches(column, names, n=5, cutoff=0.5)
        hint = ("did you mean: " + ", ".join(close)) if close else (
            "columns: " + ", ".join(names[:20]) if names else "no columns are known for it")
        raise NotFoundError(f"{entity.namespace} {entity.name} has no column {column!r}", hint=hint)
    return matches


def keep_selected(con: Any, walk: Walk | ColumnWalk, select: str | None, exclude: str | None) -> set[int]:
    """Narrow a walk's datasets (and columns) to a dbt-style selection; returns the datasets kept."""
    keep = selected_datasets(con, select, exclude, set(walk.datasets))
    walk.datasets = {i: d for i, d in walk.datasets.items() if i in keep}
    if isinstance(walk, ColumnWalk):
        walk.columns = {k: d for k, d in walk.columns.items() if k[0] in keep}
    return keep


def selected_datasets(con: Any, select: str | None, exclude: str | None, among: set[int]) -> set[int]:
    """The datasets a dbt-style ``select`` matches (``among`` without one), less those ``exclude`` matches."""
    requested(select, exclude)
    catalog = Catalog(con)
    keep = catalog.expression(select) if select is not None else set(among)
    if exclude is not None:
        keep -= catalog.expression(exclude)
    return keep


def check_depth(depth: int | None) -> None:
    """``--depth`` must be a positive number of hops."""
    if depth is not None and depth < 1:
        raise InputError("--depth must be 1 or more")


def lineage(name: str, direction: str, db: str | None = None, *, column: str | None = None,
            depth: int | None = None, direct_only: bool = False, namespace: str | None = None,
            kind: str | None = None, include_jobs: bool = False, as_of: str | None = None,
            select: str | None = None, exclude: str | None = None) -> Result:
    """Everything downstream (``impact``) or upstream (``trace``) of dataset ``name``.

    ``as_of`` (a timestamp, or a duration back from now such as ``7d``) answers
    with lineage as it stood then: each job's latest run at that time.
    """
    when = option_time(as_of, "--as-of")
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}")
    check_depth(depth)
    if direct_only and column is None:
        raise InputError("--direct-only applies to column lineage: add --column")
    with open_store(db) as con:
        root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
        check_present(con, root, when)
        walk: Walk | ColumnWalk
        if column is None:
            walk = walk_datasets(con, [root.id], direction, depth, when)
            columns = None
        else:
            columns = root_columns(con, root, column)
            walk = walk_columns(con, [(root.id, c) for c in columns], direction, depth, direct_only, when)
            walk.datasets.pop(root.id, None)
        if requested(select, exclude):
            keep_selected(con, walk, select, exclude)
        datasets = describe_datasets(con, [*walk.datasets, root.id])
        jobs = describe_jobs(con, walk.jobs, owners=True)
    return _result(root, columns, direction, walk, datasets, jobs, include_jobs)


def check_present(con: Any, root: Entity, when: datetime | None) -> None:
    """An ``--as-of`` answer about a dataset not there yet, or dropped by then, is a NotFoundError
    saying when it came or went: an empty answer would read as "nothing depends on it"."""
    if when is None:
        return
    first = first_seen(con, root.id)
    if first is not None and first > when:
        raise NotFoundError(
            f"{root.namespace} {root.name} was first seen at {format_timestamp(first)}, "
            f"after --as-of {format_timestamp(when)}",
            hint="ask without --as-of, or as of a time after it was first seen")
    gone = dropped_at(con, [root.id], as_of=when)
    if root.id in gone:
        raise NotFoundError(
            f"{root.namespace} {root.name} was dropped at {format_timestamp(gone[root.id])}, "
            f"before --as-of {format_timestamp(when)}",
            hint="ask without --as-of, or as of a time before it was dropped")


def lifecycle(described: dict) -> dict:
    """The ``dropped``/``dropped_at`` keys of a described dataset, JSON-ready (empty unless dropped)."""
    if not described.get("dropped"):
        return {}
    return {"dropped": True, "dropped_at": format_timestamp(described["dropped_at"])}


def _result(root: Entity, columns: list[str] | None, direction: str, walk: Any, datasets: dict, jobs: dict,
            include_jobs: bool) -> Result:
    reached = sorted(
        ({**datasets[i], "depth": d} for i, d in walk.datasets.items() if i in datasets),
        key=lambda r: (r["depth"], r["namespace"], r["name"]))
    dataset_items = [{"namespace": r["namespace"], "name": r["name"], "depth": r["depth"],
                      "type": r["type"], "owners": r["owners"], **lifecycle(r)} for r in reached]
    job_items = sorted(({"namespace": jobs[j]["namespace"], "name": jobs[j]["name"], "depth": d,
                         "owners": jobs[j]["owners"]} for j, d in walk.jobs.items() if j in jobs),
                       key=lambda r: (r["depth"], r["namespace"], r["name"]))
    payload: dict[str, Any] = {
        "root": {"namespace": root.namespace, "name": root.name, "column": columns[0] if columns else None,
                 **lifecycle(datasets.get(root.id, {}))},
        "direction": direction,
        "datasets": dataset_items,
        "jobs": job_items,
        "models": [d for d in dataset_items if d["type"] == "MODEL"],
        # Whom to warn: the owners of the datasets reached and of the jobs on the way. Airflow
        # sends ownership on jobs only (OwnershipJobFacet), so on its events the jobs' owners are all there is.
        "owners": sorted({o for item in [*dataset_items, *job_items] for o in item["owners"]}),
    }
    if columns is not None:
        shown = walk.shown_paths(MAX_PATH_SHOWN)
        payload["columns"] = sorted(
            ({"namespace": datasets[i]["namespace"], "name": datasets[i]["name"], "column": c,
              "depth": d, **_transformations(*shown[(i, c)]), **lifecycle(datasets[i])}
             for (i, c), d in walk.columns.items() if i in datasets and i in walk.datasets),
            key=lambda r: (r["depth"], r["namespace"], r["name"], r["column"]))
    return Result("impact" if direction == "downstream" else "trace", payload,
                  context={"include_jobs": include_jobs},
                  tree=_tree(root, columns, walk, datasets, jobs, include_jobs))


# A column at the end of a long chain would carry its whole path: thousands of columns times
# thousands of hops. Past this many, the first and last half are kept and the rest counted.
MAX_PATH_SHOWN = 50


def _transformations(path: list[dict], omitted: int) -> dict:
    """The ``transformations`` of a column item; ``transformations_omitted`` counts the middle
    of a very long path left out."""
    return {"transformations": path, "transformations_omitted": omitted} if omitted else {"transformations": path}


def _tree(root: Entity, columns: list[str] | None, walk: Any, datasets: dict, jobs: dict,
          include_jobs: bool = False) -> list[dict]:
    """Each reached node under the first node it was reached from (a breadth-first tree), as data;
    with ``include_jobs``, each job the tree does not already show as a hop is a leaf of its own."""
    # The root's node names what was asked, without type or owners.
    asked = {"namespace": root.namespace, "name": root.name, **datasets.get(root.id, {}), "type": None, "owners": []}

    def node(i: int, col: str | None = None) -> dict:
        d = datasets[i] if i != root.id and i in datasets else asked
        return {"kind": "dataset", "namespace": d["namespace"], "name": d["name"], "column": col, "type": d["type"],
                "owners": d["owners"], "depth": None, "job": None, "transformation": None, "detached": False,
                "dropped_at": lifecycle(d).get("dropped_at")}

    if columns:
        # Every spelling of the root column (matched case-insensitively) is one root node.
        reached = {(i, c.lower()) for i, c in walk.columns}
        edges: list[ColumnEdge] = [e for e in walk.edges if e.dst_key in reached]
        parents = bfs_parents([(root.id, columns[0].lower())], edges, column_ends,
                              order=ColumnEdge.walk_order)
        nodes = [{"id": f"{root.id}:{columns[0].lower()}", "parent": None, **node(root.id, columns[0])}]
        for key, edge in parents.items():
            if edge is not None:
                nodes.append({"id": f"{key[0]}:{key[1]}", "parent": f"{edge.src}:{edge.src_column.lower()}",
                              **node(edge.dst, edge.dst_column), "transformation": walk.hop(edge)})
        return nodes
    kept: list[DatasetEdge] = [e for e in walk.edges if e.dst in walk.datasets]
    tree = bfs_parents([root.id], kept, dataset_ends, order=lambda e: tuple(map(str, e)))
    nodes = [{"id": str(root.id), "parent": None, **node(root.id), "depth": 0}]
    placed = {str(root.id)}
    for dst, hop in tree.items():
        if hop is None:
            continue
        placed.add(str(dst))
        nodes.append({"id": str(dst), "parent": str(hop.src), **node(dst), "depth": walk.datasets.get(dst),
                      "job": jobs.get(hop.job)})
    # Datasets whose path runs through ones a selector left out hang from the root.
    for dst, depth in sorted(walk.datasets.items(), key=lambda kv: (kv[1], kv[0])):
        if str(dst) not in placed:
            nodes.append({"id": str(dst), "parent": str(root.id), **node(dst), "depth": depth, "detached": True})
    if include_jobs:
        shown = {hop.job for hop in tree.values() if hop is not None}
        nodes += _job_leaves(root, walk, {j: d for j, d in jobs.items() if j not in shown}, placed)
    return nodes


def _job_leaves(root: Entity, walk: Any, jobs: dict, placed: set[str]) -> list[dict]:
    """A leaf per job of ``jobs`` (the walk's jobs no tree hop names: a reader that writes
    nothing downstream, a writer that reads nothing upstream, a job whose datasets were first
    reached through another) under the nearest dataset it was reached from; one whose datasets
    a selector left out hangs from the root, as a detached dataset does."""
    def nearness(src: int) -> tuple:
        return (str(src) not in placed, 0 if src == root.id else walk.datasets.get(src, 0), src)

    came_from: dict[int, int] = {}
    for src, job in [*walk.ends, *((src, job) for src, job, _dst in walk.rows)]:
        if job in jobs and (job not in came_from or nearness(src) < nearness(came_from[job])):
            came_from[job] = src
    leaves = []
    for job, src in sorted(came_from.items(), key=lambda kv: (walk.jobs[kv[0]], jobs[kv[0]]["namespace"],
                                                               jobs[kv[0]]["name"], kv[0])):
        detached = str(src) not in placed
        described = jobs[job]
        leaves.append({"id": f"job:{job}", "parent": str(root.id) if detached else str(src), "kind": "job",
                       "namespace": described["namespace"], "name": described["name"], "column": None,
                       "type": None, "owners": described["owners"], "depth": walk.jobs[job], "job": None,
                       "transformation": None, "detached": detached, "dropped_at": None})
    return leaves


def impact(name: str, db: Any = None, **options: Any) -> Result:
    """What is downstream of ``name``: what breaks if it changes, and whose owners to warn."""
    return lineage(name, "downstream", db, **options)


def trace(name: str, db: Any = None, **options: Any) -> Result:
    """What is upstream of ``name``: where its data comes from, through which jobs."""
    return lineage(name, "upstream", db, **options)
