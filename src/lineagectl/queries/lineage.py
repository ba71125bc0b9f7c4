"""``impact`` (downstream) and ``trace`` (upstream): who depends on X, where X comes from.

Answers follow CONTRACT.md's JSON shape: the root, the datasets reached with
their hop count, type and owners (whom to warn), the jobs on the way, and with
``--column`` the columns reached with the transformations along the path.
ML models (``datasetType`` MODEL) are also listed on their own.
"""

from __future__ import annotations

import difflib

from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.walk import Walk, walk_columns, walk_datasets
from lineagectl.graph.names import Entity, job_names, resolve
from lineagectl.results import Result, counted
from lineagectl.store import open_store
from lineagectl.common.timeutil import option_time

DIRECTIONS = ("downstream", "upstream")


def _describe(con, ids: list[int]) -> dict[int, dict]:
    """namespace, name, type and owners of datasets."""
    if not ids:
        return {}
    rows = con.execute("""
        SELECT d.dataset_id, d.namespace, d.name, d.dataset_type,
               list(o.owner ORDER BY o.owner) FILTER (WHERE o.owner IS NOT NULL)
        FROM (SELECT unnest($ids::BIGINT[]) AS id) w JOIN datasets d ON d.dataset_id = w.id
        LEFT JOIN owners o ON o.entity_kind = 'dataset' AND o.entity_id = d.dataset_id
        GROUP BY ALL""", {"ids": ids}).fetchall()
    return {r[0]: {"namespace": r[1], "name": r[2], "type": r[3], "owners": r[4] or []} for r in rows}


def _root_columns(con, entity: Entity, column: str) -> list[str]:
    names = [r[0] for r in con.execute(
        "SELECT column_name FROM columns WHERE dataset_id = ? ORDER BY column_name", [entity.id]).fetchall()]
    matches = [n for n in names if n.lower() == column.lower()]
    if not matches:
        close = difflib.get_close_matches(column, names, n=5, cutoff=0.5)
        hint = ("did you mean: " + ", ".join(close)) if close else (
            "columns: " + ", ".join(names[:20]) if names else "no columns are known for it")
        raise NotFoundError(f"{entity.namespace} {entity.name} has no column {column!r}", hint=hint)
    return matches


def _filter(con, walk: Walk, select: str | None, exclude: str | None) -> None:
    from lineagectl.graph.selectors import Catalog

    catalog = Catalog(con)
    keep = catalog.expression(select) if select else set(walk.datasets)
    if exclude:
        keep -= catalog.expression(exclude)
    walk.datasets = {i: d for i, d in walk.datasets.items() if i in keep}
    walk.columns = {k: d for k, d in walk.columns.items() if k[0] in keep}


def _path_text(steps: list[dict]) -> str:
    return " > ".join(
        s["type"] + (f"/{s['subtype']}" if s["subtype"] else "") + (" (masked)" if s["masking"] else "")
        for s in steps)


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
    if depth is not None and depth < 1:
        raise InputError("--depth must be 1 or more")
    if direct_only and column is None:
        raise InputError("--direct-only applies to column lineage: add --column")
    with open_store(db) as con:
        root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
        if column is None:
            walk = walk_datasets(con, [root.id], direction, depth, when)
            columns = None
        else:
            columns = _root_columns(con, root, column)
            walk = walk_columns(con, root.id, columns, direction, depth, direct_only, when)
        if select or exclude:
            _filter(con, walk, select, exclude)
        datasets = _describe(con, list(walk.datasets))
        jobs = job_names(con, list(walk.jobs))
    return _result(root, columns, direction, walk, datasets, jobs, include_jobs)


def _result(root: Entity, columns, direction: str, walk: Walk, datasets: dict, jobs: dict,
            include_jobs: bool) -> Result:
    reached = sorted(
        ({**datasets[i], "depth": d} for i, d in walk.datasets.items() if i in datasets),
        key=lambda r: (r["depth"], r["namespace"], r["name"]))
    dataset_items = [{"namespace": r["namespace"], "name": r["name"], "depth": r["depth"],
                      "type": r["type"], "owners": r["owners"]} for r in reached]
    job_items = sorted(({**jobs[j], "depth": d} for j, d in walk.jobs.items() if j in jobs),
                       key=lambda r: (r["depth"], r["namespace"], r["name"]))
    payload = {
        "root": {"namespace": root.namespace, "name": root.name, "column": columns[0] if columns else None},
        "direction": direction,
        "datasets": dataset_items,
        "jobs": job_items,
        "models": [d for d in dataset_items if d["type"] == "MODEL"],
        "owners": sorted({o for d in dataset_items for o in d["owners"]}),
    }
    if columns is not None:
        column_items = sorted(
            ({"namespace": datasets[i]["namespace"], "name": datasets[i]["name"], "column": c,
              "depth": d, "transformations": walk.paths.get((i, c), [])}
             for (i, c), d in walk.columns.items() if i in datasets),
            key=lambda r: (r["depth"], r["namespace"], r["name"], r["column"]))
        payload["columns"] = column_items
        records = [{"depth": c["depth"], "namespace": c["namespace"], "name": c["name"],
                    "column": c["column"], "path": _path_text(c["transformations"]),
                    "owners": next((d["owners"] for d in dataset_items
                                    if (d["namespace"], d["name"]) == (c["namespace"], c["name"])), [])}
                   for c in column_items]
        header = ["depth", "namespace", "name", "column", "path", "owners"]
    else:
        records = [{"depth": d["depth"], "kind": "model" if d["type"] == "MODEL" else "dataset",
                    "namespace": d["namespace"], "name": d["name"], "owners": d["owners"]}
                   for d in dataset_items]
        if include_jobs:
            records += [{"depth": j["depth"], "kind": "job", "namespace": j["namespace"],
                         "name": j["name"], "owners": []} for j in job_items]
            records.sort(key=lambda r: (r["depth"], r["kind"] == "job", r["namespace"], r["name"]))
        header = ["depth", "kind", "namespace", "name", "owners"]
    what = f"{root.namespace} {root.name}" + (f" column {columns[0]}" if columns else "")
    found = f"{counted(len(dataset_items), 'dataset')} ({counted(len(payload['models']), 'model')})"
    title = f"{direction} of {what}: {found}"
    tree = _tree(root, columns, walk, datasets, jobs, include_jobs)
    return Result(payload=payload, records=records, columns=header, title=title, tree=tree)


def _tree(root: Entity, columns, walk: Walk, datasets: dict, jobs: dict, include_jobs: bool) -> list[dict]:
    """Each reached node under the first node it was reached from (a breadth-first tree)."""
    def label(i: int, col: str | None = None) -> str:
        d = datasets.get(i, {"namespace": root.namespace, "name": root.name, "type": "", "owners": []})
        text = f"{d['namespace']} {d['name']}" + (f" .{col}" if col else "")
        if d.get("type") == "MODEL":
            text += " [model]"
        if d.get("owners"):
            text += "  owners: " + ", ".join(d["owners"])
        return text

    if columns:
        # Every spelling of the root column (matched case-insensitively) is one root node.
        nodes = [{"id": f"{root.id}:{columns[0].lower()}", "parent": None, "label": label(root.id, columns[0])}]
        placed = {nodes[0]["id"]}
        for src, src_col, _job, dst, dst_col, kind, subtype, masking in sorted(
                walk.edges, key=lambda e: (walk.columns.get((e[3], e[4]), 0), tuple(map(str, e)))):
            key, parent = f"{dst}:{dst_col.lower()}", f"{src}:{src_col.lower()}"
            if key in placed or parent not in placed or (dst, dst_col) not in walk.columns:
                continue
            placed.add(key)
            how = kind + (f"/{subtype}" if subtype else "") + (" masked" if masking else "")
            nodes.append({"id": key, "parent": parent, "label": f"{label(dst, dst_col)}  ({how})"})
        return nodes
    nodes = [{"id": str(root.id), "parent": None, "label": label(root.id)}]
    placed = {str(root.id)}
    for src, job, dst in sorted(walk.edges, key=lambda e: (walk.datasets.get(e[2], 0), tuple(map(str, e)))):
        if str(dst) in placed or str(src) not in placed or dst not in walk.datasets:
            continue
        placed.add(str(dst))
        via = f"  via {jobs[job]['name']}" if include_jobs and job in jobs else ""
        nodes.append({"id": str(dst), "parent": str(src), "label": label(dst) + via})
    # Datasets whose path runs through ones a selector left out hang from the root.
    for dst, depth in sorted(walk.datasets.items(), key=lambda kv: (kv[1], label(kv[0]))):
        if str(dst) not in placed:
            nodes.append({"id": str(dst), "parent": str(root.id), "label": f"{label(dst)}  (depth {depth})"})
    return nodes


def impact(name: str, db: str | None = None, **options) -> Result:
    """What is downstream of ``name``: what breaks if it changes, and whose owners to warn."""
    return lineage(name, "downstream", db, **options)


def trace(name: str, db: str | None = None, **options) -> Result:
    """What is upstream of ``name``: where its data comes from, through which jobs."""
    return lineage(name, "upstream", db, **options)


def _pii(con, ids: list[int]) -> set[tuple[int, str | None]]:
    """(dataset, column) pairs tagged as personal data; column None marks a whole dataset."""
    if not ids:
        return set()
    placeholders = ", ".join("?" * len(ids))
    rows = con.execute(f"""
        SELECT entity_id, field FROM tags
        WHERE entity_kind = 'dataset' AND entity_id IN ({placeholders})
          AND (lower(key) = 'pii' AND lower(coalesce(value, 'true')) IN ('true', 'yes', '1')
               OR lower(key) = 'classification' AND lower(value) = 'pii')""", ids).fetchall()
    return {(r[0], r[1]) for r in rows}


def graph(name: str, db: str | None = None, *, direction: str = "both", depth: int | None = 2,
          column: str | None = None, namespace: str | None = None, kind: str | None = None,
          select: str | None = None, exclude: str | None = None) -> Result:
    """The lineage neighbourhood of ``name`` as nodes and edges (for dot / mermaid / json).

    ``select``/``exclude`` (dbt-style selectors) keep only matching datasets besides the root;
    edges to the others are dropped.
    """
    if direction not in (*DIRECTIONS, "both"):
        raise InputError("--direction must be upstream, downstream or both")
    if depth is not None and depth < 1:
        raise InputError("--depth must be 1 or more")
    directions = DIRECTIONS if direction == "both" else (direction,)
    with open_store(db) as con:
        root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
        columns = _root_columns(con, root, column) if column else None
        walks = [walk_columns(con, root.id, columns, d, depth) if columns else
                 walk_datasets(con, [root.id], d, depth) for d in directions]
        if select or exclude:
            for walk in walks:
                _filter(con, walk, select, exclude)
                kept = set(walk.datasets) | {root.id}
                ends = (0, 3) if columns else (0, 2)
                walk.edges = {e for e in walk.edges if e[ends[0]] in kept and e[ends[1]] in kept}
        ids = sorted({root.id} | {i for w in walks for i in w.datasets})
        datasets = _describe(con, ids)
        jobs = job_names(con, sorted({j for w in walks for j in w.jobs}))
        pii = _pii(con, ids)
    nodes: dict[str, dict] = {}
    edges: list[dict] = []

    def dataset_node(i: int, col: str | None = None) -> str:
        d = datasets[i]
        key = f"d{i}" if col is None else f"c{i}:{col}"
        is_pii = (i, col) in pii if col else any(p[0] == i for p in pii)
        marks = (["model"] if d["type"] == "MODEL" else []) + (["PII"] if is_pii else [])
        label = f"{d['namespace']}\n{d['name']}" + (f".{col}" if col else "")
        nodes.setdefault(key, {"id": key, "label": label, "kind": "model" if d["type"] == "MODEL" and not col
                               else ("column" if col else "dataset"), "marks": marks,
                               "namespace": d["namespace"], "name": d["name"], "column": col})
        return key

    for direction_walked, walk in zip(directions, walks):
        for edge in sorted(walk.edges, key=lambda e: tuple(str(v) for v in e)):
            if columns:
                src, src_col, job, dst, dst_col, kind_, subtype, masking = edge
                a, b = dataset_node(src, src_col), dataset_node(dst, dst_col)
                label = kind_ + (f"/{subtype}" if subtype else "") + (" masked" if masking else "")
                pair = (a, b) if direction_walked == "downstream" else (b, a)
                edges.append({"source": pair[0], "target": pair[1], "label": label})
                continue
            src, job, dst = edge
            a, b = dataset_node(src), dataset_node(dst)
            j = f"j{job}"
            nodes.setdefault(j, {"id": j, "label": f"{jobs[job]['namespace']}\n{jobs[job]['name']}",
                                 "kind": "job", "marks": [], "namespace": jobs[job]["namespace"],
                                 "name": jobs[job]["name"], "column": None})
            first, second = (a, b) if direction_walked == "downstream" else (b, a)
            edges.extend([{"source": first, "target": j, "label": ""}, {"source": j, "target": second, "label": ""}])
    dataset_node(root.id, columns[0] if columns else None)
    unique_edges = sorted({(e["source"], e["target"], e["label"]) for e in edges})
    graph_data = {"nodes": sorted(nodes.values(), key=lambda n: n["id"]),
                  "edges": [{"source": s, "target": t, "label": lbl} for s, t, lbl in unique_edges]}
    by_id = {n["id"]: n for n in graph_data["nodes"]}
    records = [{"from_kind": by_id[e["source"]]["kind"], "from_namespace": by_id[e["source"]]["namespace"],
                "from_name": by_id[e["source"]]["name"], "from_column": by_id[e["source"]]["column"],
                "to_kind": by_id[e["target"]]["kind"], "to_namespace": by_id[e["target"]]["namespace"],
                "to_name": by_id[e["target"]]["name"], "to_column": by_id[e["target"]]["column"],
                "label": e["label"]} for e in graph_data["edges"]]
    payload = {"root": {"namespace": root.namespace, "name": root.name,
                        "column": columns[0] if columns else None},
               "direction": direction, **graph_data}
    return Result(payload=payload, records=records, columns=list(records[0]) if records else [
        "from_kind", "from_namespace", "from_name", "from_column", "to_kind", "to_namespace", "to_name",
        "to_column", "label"], title=f"lineage around {root.namespace} {root.name}", graph=graph_data)
