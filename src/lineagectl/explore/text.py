"""``graph -f dot|mermaid|json``: the neighbourhood with what the explorer page shows on it.

The nodes and edges come from ``queries.view.neighbourhood``; the marks from the
code the HTML page uses (``governance.governance_marks``: PII as ``lineagectl pii``
finds it, propagated and policy-aware; regions and residency/flow violations as
``residency-check`` reports them; quality at risk as ``quality`` says), and the
last run of each node (``facts.last_states``). Node marks, in this order:
``root``, ``model``, ``PII``, ``masked``, ``dropped``, ``failed``, ``at risk``;
each node carries its policy ``region`` and its last run's ``state`` (or None), each edge the
``rules`` it violates.
"""

from __future__ import annotations

from typing import Any

from lineagectl.common.policy import Policy, load_policy
from lineagectl.common.timeutil import option_time
from lineagectl.explore.facts import FAILED_STATES, last_states
from lineagectl.explore.governance import Marks, governance_marks, violated_edges
from lineagectl.queries.view import neighbourhood
from lineagectl.results import Result
from lineagectl.store import open_store


def graph(name: str, db: Any = None, *, direction: str = "both", depth: int | None = 2,
          column: str | None = None, namespace: str | None = None, kind: str | None = None,
          select: str | None = None, exclude: str | None = None, policy: str | Policy | None = None,
          as_of: str | None = None, datasets_only: bool = False) -> Result:
    """The lineage neighbourhood of ``name`` as marked nodes and edges (for dot / mermaid / json).

    ``select``/``exclude`` (dbt-style selectors) keep only matching datasets besides the root.
    ``policy`` supplies the PII globs, regions and rules the marks follow (none without one).
    ``datasets_only`` leaves the jobs out: an edge runs from each input of a job to each of its
    outputs. ``as_of`` draws lineage as it stood then, as ``impact``/``trace`` answer it.
    """
    when = option_time(as_of, "--as-of")
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        found = neighbourhood(con, name, direction=direction, depth=depth, column=column, namespace=namespace,
                              kind=kind, select=select, exclude=exclude, when=when)
        nodes, edges = found["nodes"], found["edges"]
        dataset_ids = sorted({_dataset_id(n["id"]) for n in nodes if n["kind"] != "job"})
        marks = governance_marks(con, rules, dataset_ids)
        states = last_states(con, dataset_ids, sorted(int(n["id"][1:]) for n in nodes if n["kind"] == "job"))
    for node in nodes:
        _mark(node, node["id"] == found["root_key"], marks, states)
    if datasets_only and not column:
        nodes, edges = without_jobs(nodes, edges)
    _mark_edges(edges, marks, bool(column))
    graph_data = {"nodes": nodes, "edges": edges}
    payload = {"root": found["root"], "direction": direction, "policy": rules.path, **graph_data}
    return Result("graph", payload, graph=graph_data)


def _dataset_id(key: str) -> int:
    """The dataset of a node key: ``d<id>`` or ``c<id>:<column>``."""
    return int(key[1:].split(":", 1)[0])


def _mark(node: dict, root: bool, marks: Marks, states: dict[str, str]) -> None:
    if node["kind"] == "job":
        state = states.get(node["id"])
        node["region"] = None
        flags = {"failed": state in FAILED_STATES}
    else:
        i, column = _dataset_id(node["id"]), node["column"]
        state = states.get(f"d{i}")
        if column is None:
            pii, masked = i in marks.pii_datasets, False
        else:
            pii = column.lower() in {c.lower() for c in marks.pii.get(i, {})}
            masked = column.lower() in {c.lower() for c in marks.masked.get(i, [])}
        node["pii"] = pii
        node["region"] = marks.regions.get(i)
        flags = {"PII": pii, "masked": masked, "dropped": "dropped" in node["marks"],
                 "failed": state in FAILED_STATES, "at risk": i in marks.at_risk}
    node["state"] = state
    node["root"] = root
    node["marks"] = (["root"] if root else []) + [m for m in node["marks"] if m == "model"] + [
        mark for mark, on in flags.items() if on]


def without_jobs(nodes: list[dict], edges: list[dict]) -> tuple[list[dict], list[dict]]:
    """The graph with its jobs left out: an edge from each input of a job to each of its outputs."""
    inputs: dict[str, set[str]] = {}
    outputs: dict[str, set[str]] = {}
    jobs = {n["id"] for n in nodes if n["kind"] == "job"}
    for edge in edges:
        if edge["target"] in jobs:
            inputs.setdefault(edge["target"], set()).add(edge["source"])
        if edge["source"] in jobs:
            outputs.setdefault(edge["source"], set()).add(edge["target"])
    pairs = {(a, b) for job in jobs for a in inputs.get(job, ()) for b in outputs.get(job, ())}
    pairs |= {(e["source"], e["target"]) for e in edges if not {e["source"], e["target"]} & jobs}
    return ([n for n in nodes if n["id"] not in jobs],
            [{"source": a, "target": b, "label": ""} for a, b in sorted(pairs)])


def _mark_edges(edges: list[dict], marks: Marks, columns: bool) -> None:
    """Each edge's ``rules``; a violated edge is labelled with them (before a column edge's transformation)."""
    broken = violated_edges(marks.violations)
    by_column: dict[tuple[str, str], set[str]] = {}
    if columns:
        for v in marks.violations:
            if v.columns is None:
                continue  # a residency crossing: every column edge between the two datasets
            source, target = (f"c{v.source}:{v.columns[0]}".lower(), f"c{v.target}:{v.columns[1]}".lower())
            by_column.setdefault((source, target), set()).add(v.rule)
    for edge in edges:
        source, target = edge["source"], edge["target"]
        if columns:
            datasets = (f"d{_dataset_id(source)}", f"d{_dataset_id(target)}")
            residency = {r for r in broken.get(datasets, ()) if not _is_flow(marks, r)}
            rules = residency | by_column.get((source.lower(), target.lower()), set())
        else:
            rules = broken.get((source, target), set())
        edge["rules"] = sorted(rules)
        if rules:
            edge["label"] = ", ".join(edge["rules"]) + (f": {edge['label']}" if edge["label"] else "")


def _is_flow(marks: Marks, rule: str) -> bool:
    return any(v.rule == rule and v.columns is not None for v in marks.violations)
