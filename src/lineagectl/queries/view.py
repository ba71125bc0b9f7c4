"""``graph``: the lineage neighbourhood of a dataset or column as nodes and edges (dot, mermaid, json).

Nodes say what they are (dataset, model, job, column); ``lineagectl.explore.text``
adds what the policy and the runs say of them (PII, regions, violations, failed
runs), by the same code as the HTML explorer.
"""

from __future__ import annotations

from typing import Any

from lineagectl.errors import InputError
from lineagectl.graph.names import resolve
from lineagectl.graph.selectors import requested
from lineagectl.graph.walk import DIRECTIONS, walk_columns, walk_datasets
from lineagectl.queries.lineage import check_depth, check_present, keep_selected, lifecycle, root_columns
from lineagectl.results import transformation_text
from lineagectl.store.lookups import describe_datasets, describe_jobs


def neighbourhood(con: Any, name: str, *, direction: str = "both", depth: int | None = 2,
                  column: str | None = None, namespace: str | None = None, kind: str | None = None,
                  select: str | None = None, exclude: str | None = None, when: Any = None) -> dict:
    """The lineage neighbourhood of ``name`` as nodes and edges (for dot / mermaid / json), on an open store.

    ``select``/``exclude`` (dbt-style selectors) keep only matching datasets besides the root;
    edges to the others are left out. ``when`` draws lineage as it stood then, as ``impact``/``trace``
    answer it. A dataset dropped now carries ``dropped``/``dropped_at`` and the mark ``dropped``.
    Returns ``{"root", "root_id", "columns", "nodes", "edges"}``; what the governance rules say of
    the nodes (PII, regions, violations) is added by ``lineagectl.explore.text``.
    """
    if direction not in (*DIRECTIONS, "both"):
        raise InputError("--direction must be upstream, downstream or both")
    check_depth(depth)
    directions = DIRECTIONS if direction == "both" else (direction,)
    root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
    check_present(con, root, when)
    columns = root_columns(con, root, column) if column else None
    walks: list[Any] = [walk_columns(con, [(root.id, c) for c in columns], d, depth, as_of=when) if columns
                        else walk_datasets(con, [root.id], d, depth, when) for d in directions]
    if requested(select, exclude):
        for walk in walks:
            kept = keep_selected(con, walk, select, exclude) | {root.id}
            walk.edges = {e for e in walk.edges if e.src in kept and e.dst in kept}
            if not columns:
                walk.ends = {(src, job) for src, job in walk.ends if src in kept}
    ids = sorted({root.id} | {i for w in walks for i in w.datasets})
    datasets = describe_datasets(con, ids)
    jobs = describe_jobs(con, {j for w in walks for j in w.jobs})
    nodes: dict[str, dict] = {}
    edges: list[dict] = []

    def dataset_node(i: int, col: str | None = None) -> str:
        d = datasets[i]
        key = f"d{i}" if col is None else f"c{i}:{col}"
        marks = (["model"] if d["type"] == "MODEL" else []) + (["dropped"] if d.get("dropped") else [])
        label = f"{d['namespace']}\n{d['name']}" + (f".{col}" if col else "")
        nodes.setdefault(key, {"id": key, "label": label, "kind": "model" if d["type"] == "MODEL" and not col
                               else ("column" if col else "dataset"), "marks": marks,
                               "namespace": d["namespace"], "name": d["name"], "column": col, "pii": False,
                               **lifecycle(d)})
        return key

    def job_node(job: int) -> str:
        key = f"j{job}"
        nodes.setdefault(key, {"id": key, "label": f"{jobs[job]['namespace']}\n{jobs[job]['name']}",
                               "kind": "job", "marks": [], "namespace": jobs[job]["namespace"],
                               "name": jobs[job]["name"], "column": None, "pii": False})
        return key

    for direction_walked, walk in zip(directions, walks, strict=True):
        if not columns:
            # A job that reads a dataset and writes nothing (or writes one and reads nothing) is
            # drawn too: Airflow's delete and download tasks, Spark's DROP and CREATE TABLE jobs.
            for src, job in sorted(walk.ends):
                a, j = dataset_node(src), job_node(job)
                edges.append({"source": a, "target": j, "label": ""} if direction_walked == "downstream"
                             else {"source": j, "target": a, "label": ""})
        for edge in sorted(walk.edges, key=lambda e: tuple(str(v) for v in e)):
            if columns:
                a, b = dataset_node(edge.src, edge.src_column), dataset_node(edge.dst, edge.dst_column)
                label = transformation_text(edge.transformation())
                pair = (a, b) if direction_walked == "downstream" else (b, a)
                edges.append({"source": pair[0], "target": pair[1], "label": label})
                continue
            src, job, dst = edge
            a, b, j = dataset_node(src), dataset_node(dst), job_node(job)
            first, second = (a, b) if direction_walked == "downstream" else (b, a)
            edges.extend([{"source": first, "target": j, "label": ""}, {"source": j, "target": second, "label": ""}])
    root_key = dataset_node(root.id, columns[0] if columns else None)
    unique_edges = sorted({(e["source"], e["target"], e["label"]) for e in edges})
    return {"root": {"namespace": root.namespace, "name": root.name, "column": columns[0] if columns else None},
            "root_key": root_key, "nodes": sorted(nodes.values(), key=lambda n: n["id"]),
            "edges": [{"source": s, "target": t, "label": lbl} for s, t, lbl in unique_edges]}
