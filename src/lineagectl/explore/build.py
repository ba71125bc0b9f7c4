"""``graph -f html``: the data of an explorer page, from the store (``page.html_page`` writes the page).

A focus page is NAME ± ``depth``, at most ``max_nodes`` drawn and the rest in
"+N more" nodes (``focus``); the browser lays it out (dagre). The whole-store page
(``whole``) draws every dataset and job at positions computed here (``layout``).
Each node carries what the side panel shows; edges carry the rules they violate.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from lineagectl.common.policy import Policy, load_policy
from lineagectl.common.timeutil import format_timestamp, option_time
from lineagectl.errors import InputError
from lineagectl.explore.columns import column_lineage
from lineagectl.explore.facts import dataset_columns, dataset_writes, describe_jobs_fully
from lineagectl.explore.focus import Shape, dataset_key, focus_shape, job_key
from lineagectl.explore.governance import Marks, Violation, governance_marks, violated_edges
from lineagectl.explore.layout import layered_positions
from lineagectl.graph.names import resolve
from lineagectl.graph.selectors import requested
from lineagectl.graph.walk import DIRECTIONS, every_edge, walk_columns, walk_datasets
from lineagectl.queries.lineage import check_depth, check_present, root_columns, selected_datasets
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import describe_datasets, describe_jobs

DEFAULT_MAX_NODES = 300


def graph_page(name: str | None, db: Any = None, *, whole: bool = False, direction: str = "both",
               depth: int | None = 2, max_nodes: int = DEFAULT_MAX_NODES, namespace: str | None = None,
               kind: str | None = None, column: str | None = None, select: str | None = None,
               exclude: str | None = None, policy: str | Policy | None = None, as_of: str | None = None,
               datasets_only: bool = False) -> Result:
    """The explorer page's data around dataset ``name`` (``direction``: upstream, downstream or both),
    or of the whole store with ``whole``.

    Payload: ``{"mode", "root", "nodes", "edges", "groups", "policy"}``; each node ``{"id", "kind",
    "namespace", "name", …marks}``, each edge ``{"source", "target", "rules"}``, each group (a
    "+N more" node) ``{"id", "parent", "side", "members"}``; ``"column_edges"`` the column lineage
    among the page's datasets (``columns.column_lineage``). With ``column``, ``"column"`` names the
    nodes and columns on that column's lineage (the page opens with that path lit). ``select``/``exclude``
    (dbt-style selectors) keep only the matching datasets (and the root), as for dot and mermaid;
    ``datasets_only`` leaves the jobs out (an edge from each input of a job to each of its outputs).
    """
    if column is not None and whole:
        raise InputError("--column follows one dataset's column: give a NAME, not --all")
    if whole == (name is not None):
        raise InputError("give a NAME or --all (the whole store), not both" if whole else "graph needs a NAME or --all")
    check_depth(depth)
    if direction not in (*DIRECTIONS, "both"):
        raise InputError("--direction must be upstream, downstream or both")
    if max_nodes < 1:
        raise InputError("--max-nodes must be 1 or more")
    when = option_time(as_of, "--as-of")
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        root, path = None, None
        if whole:
            shape = _whole_shape(every_edge(con, when), con, _selection(con, select, exclude), datasets_only)
        else:
            assert name is not None
            root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
            check_present(con, root, when)
            walks = {d: walk_datasets(con, [root.id], d, depth, when) for d in DIRECTIONS if direction in (d, "both")}
            kept = _selection(con, select, exclude)
            if kept is not None:
                kept.add(root.id)
                for walk in walks.values():
                    walk.rows = [r for r in walk.rows if r[0] in kept and r[2] in kept]
                    walk.ends = {(src, job) for src, job in walk.ends if src in kept}
            shape = focus_shape(root.id, walks, max_nodes, _sort_key(con, root.id, walks), datasets_only)
            path = _column_path(con, root, column, list(walks), depth, when) if column else None
        dataset_ids = sorted(int(k[1:]) for k in shape.order if k[0] == "d")
        job_ids = sorted(int(k[1:]) for k in shape.order if k[0] == "j")
        datasets = describe_datasets(con, dataset_ids)
        jobs = describe_jobs_fully(con, job_ids)
        columns = dataset_columns(con, dataset_ids)
        columns |= {i: [] for i in dataset_ids if i not in columns}
        column_edges = column_lineage(con, columns, when)
        writes = dataset_writes(con, dataset_ids)
        marks = governance_marks(con, rules, dataset_ids)
        named = describe_datasets(con, {r["source"] for r in marks.at_risk.values()}
                                  | {i for v in marks.violations for i in (v.source, v.target)}, owners=False)
    touching: dict[int, list[Violation]] = {}
    for v in marks.violations:
        for end in {v.source, v.target}:
            touching.setdefault(end, []).append(v)
    nodes = [_dataset_node(i, datasets[i], columns.get(i, []), writes.get(i, []), marks, named, touching.get(i, []))
             for i in dataset_ids if i in datasets]
    nodes += [_job_node(j, jobs[j]) for j in job_ids if j in jobs]
    edges = _edges(shape, marks)
    if whole:
        positions = layered_positions(shape.order, sorted(shape.edges))
        for node in nodes:
            node["x"], node["y"] = positions[node["id"]]
    else:
        for node in nodes:
            node["distance"] = shape.distance[node["id"]]
            if node["id"] not in shape.shown:
                node["hidden"] = True
    if root is not None:
        next(n for n in nodes if n["id"] == dataset_key(root.id))["root"] = True
    groups = [{"id": g, **group} for g, group in sorted(shape.groups.items())]
    payload = {"mode": "all" if whole else "focus", "depth": depth, "max_nodes": max_nodes,
               "datasets_only": datasets_only,
               "as_of": format_timestamp(when), "policy": rules.path,
               "root": dataset_key(root.id) if root else None,
               "nodes": nodes, "edges": edges, "groups": groups, "column": path, "column_edges": column_edges}
    return Result("graph-page", payload)


def _sort_key(con: Any, root: int, walks: dict[str, Any]) -> Callable[[str], tuple]:
    """Nodes at the same distance from the root sort by kind, namespace and name."""
    datasets = describe_datasets(con, {root} | {i for w in walks.values() for i in w.datasets}, owners=False)
    jobs = describe_jobs(con, {j for w in walks.values() for j in w.jobs})
    names = {dataset_key(i): d for i, d in datasets.items()} | {job_key(j): d for j, d in jobs.items()}
    missing = {"namespace": "", "name": ""}
    return lambda key: (key[0], names.get(key, missing)["namespace"], names.get(key, missing)["name"])


def _column_path(con: Any, root: Any, column: str, directions: list[str], depth: int | None,
                 when: Any) -> dict:
    """The nodes (datasets, jobs) and columns on ``column``'s lineage from ``root``, both walks of the page."""
    spellings = root_columns(con, root, column)
    columns: dict[str, set[str]] = {dataset_key(root.id): set(spellings)}
    jobs: set[int] = set()
    for direction in directions:
        walk = walk_columns(con, [(root.id, c) for c in spellings], direction, depth, as_of=when)
        for dataset_id, name in walk.columns:
            columns.setdefault(dataset_key(dataset_id), set()).add(name)
        jobs |= set(walk.jobs)
    return {"name": spellings[0], "nodes": sorted([*columns, *(job_key(j) for j in jobs)]),
            "columns": {key: sorted(names) for key, names in sorted(columns.items())}}


def _selection(con: Any, select: str | None, exclude: str | None) -> set[int] | None:
    """The datasets a selection keeps (None: no selection, all of them)."""
    if not requested(select, exclude):
        return None
    every = {r[0] for r in con.execute("SELECT dataset_id FROM datasets").fetchall()}
    return selected_datasets(con, select, exclude, every)


def _whole_shape(rows: list[tuple[int, int, str]], con: Any, kept: set[int] | None = None,
                 datasets_only: bool = False) -> Shape:
    """Every dataset (of ``kept``, when given) and job, every edge (dataset → job for inputs, job → dataset
    for outputs; with ``datasets_only`` from each input of a job to each of its outputs)."""
    shape = Shape()
    nodes = {dataset_key(r[0]) for r in con.execute("SELECT dataset_id FROM datasets").fetchall()
             if kept is None or r[0] in kept}
    aliases = {dataset_key(r[0]) for r in con.execute("SELECT alias_id FROM dataset_aliases").fetchall()}
    nodes -= aliases  # an alias is drawn as the dataset it names
    ends: dict[str, dict[str, set[str]]] = {}
    for dataset_id, job_id, direction in rows:
        if kept is not None and dataset_id not in kept:
            continue
        d, j = dataset_key(dataset_id), job_key(job_id)
        ends.setdefault(j, {"in": set(), "out": set()})[direction].add(d)
        nodes.add(d)
        if not datasets_only:
            nodes.add(j)
            shape.edges.add((d, j) if direction == "in" else (j, d))
    if datasets_only:
        shape.edges = {(a, b) for found in ends.values() for a in found["in"] for b in found["out"]}
    shape.order = sorted(nodes)
    shape.shown = nodes
    return shape


def impact_command(namespace: str, name: str) -> str:
    """The command that lists what depends on a dataset, quoted for a POSIX shell."""
    return f"lineagectl impact {shlex.quote(name)} --namespace {shlex.quote(namespace)}"


def _name(datasets: dict[int, dict], i: int) -> str:
    found = datasets.get(i)
    return f"{found['namespace']} {found['name']}" if found else f"dataset {i}"


def _dataset_node(i: int, d: dict, columns: list[str], writes: list[dict], marks: Marks,
                  named: dict[int, dict], violations: list[Violation]) -> dict:
    node: dict[str, Any] = {"id": dataset_key(i), "kind": "model" if d["type"] == "MODEL" else "dataset",
                            "namespace": d["namespace"], "name": d["name"], "type": d["type"],
                            "owners": d["owners"], "columns": columns, "runs": writes,
                            "cli": impact_command(d["namespace"], d["name"])}
    pii = marks.pii.get(i, {})
    if i in marks.pii_datasets:
        node["pii"] = sorted(pii)
        node["pii_why"] = {c: pii[c] for c in sorted(pii)}
    if i in marks.masked:
        node["masked"] = sorted(marks.masked[i])
    if i in marks.regions:
        node["region"] = marks.regions[i]
    if d.get("dropped"):
        node["dropped"] = format_timestamp(d["dropped_at"])
    if writes:
        node["state"] = writes[0]["state"]
    if i in marks.broken:
        node["broken"] = [{k: v for k, v in b.items() if k != "time"} for b in marks.broken[i]]
    if i in marks.at_risk:
        risk = marks.at_risk[i]
        node["at_risk"] = {"source": _name(named, risk["source"]), "depth": risk["depth"],
                           "rule": risk["broken"][0]["rule"], "column": risk["broken"][0]["column"]}
    if violations:
        node["violations"] = [{"rule": v.rule, "source": _name(named, v.source), "target": _name(named, v.target),
                               **({"columns": list(v.columns)} if v.columns else {})} for v in violations]
    return node


def _job_node(j: int, job: dict) -> dict:
    node = {"id": job_key(j), "kind": "job", **job,
            "cli": f"lineagectl show {shlex.quote(job['name'])} --namespace {shlex.quote(job['namespace'])} --kind job"}
    if job["runs"]:
        node["state"] = job["runs"][0]["state"]
    return node


def _edges(shape: Shape, marks: Marks) -> list[dict]:
    """The edges between drawn nodes, each with the rules its data crossing violates."""
    broken = violated_edges(marks.violations)
    return [{"id": f"e{index}", "source": a, "target": b, "rules": sorted(broken.get((a, b), ()))}
            for index, (a, b) in enumerate(sorted(shape.edges))]
