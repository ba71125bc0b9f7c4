"""GDPR plans: ``erase`` (Art. 17, right to erasure) and ``access`` (Art. 15, subject access).

Seeds are the columns that identify the subject (``--column user_id`` everywhere,
in one dataset, or every column with a tag). Column lineage is followed
downstream from them along DIRECT and INDIRECT edges, and every dataset reached
gets the first action that holds (CONTRACT.md, ``erase``):

- ``delete``: a seed dataset, or one with a column reached from a seed through
  DIRECT, non-aggregating edges only (identity or per-row transformation). Its
  rows are deleted by that column; a masked carry (a hash of the identifier) is
  still personal data, deleted by the masked key and marked ``masked``.
- ``recompute``: the subject reaches it through aggregation (a reached column
  feeds one of its columns by DIRECT/AGGREGATION, or it groups by one);
  re-running its job after the upstream deletes removes the contribution.
- ``review``: only join/filter/sort/window/conditional influence, and no
  identifier column to delete by.
- ``retrain``: an ML model reached, or downstream at table level of any of the above.

Steps come upstream first, so no re-run re-creates rows already deleted.
Generated SQL quotes every identifier (sqlglot, in the dataset's dialect) and
binds the subject's value as a parameter; the value never enters the SQL text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from lineagectl.common.policy import Policy, load_policy
from lineagectl.common.timeutil import format_timestamp
from lineagectl.compliance.sqlgen import check_dialect, statement
from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.edges import ColumnEdge, ColumnKey
from lineagectl.graph.names import resolve
from lineagectl.graph.paths import column_path, reach, upstream_first
from lineagectl.graph.pii import tagged_columns
from lineagectl.graph.walk import walk_columns, walk_datasets
from lineagectl.results import Result, transformation_text
from lineagectl.store import open_store
from lineagectl.store.lookups import column_spellings, describe_datasets, dropped_at


@dataclass
class Step:
    """One dataset of the plan."""

    dataset_id: int
    action: str
    columns: list[str] = field(default_factory=list)
    reason: str = ""
    masked: bool = False
    aggregates: list[str] = field(default_factory=list)  # of a delete step: columns to recompute too


def _seeds(con: Any, column: str | None, name: str | None, namespace: str | None, tag: str | None,
           policy: Policy) -> dict[ColumnKey, str]:
    """The subject's identifier columns, (dataset id, lower column) → why it is a seed."""
    if tag is not None:
        if column is not None or name is not None:
            raise InputError("--tag seeds from tagged columns: do not combine it with --column or a NAME")
        found = tagged_columns(con, tag, policy)
        if not found:
            raise NotFoundError(f"no column is tagged {tag!r}",
                                hint="tags come from field-level tags facets, dbt meta/tags and policy pii globs")
        return {k: "tagged " + ", ".join(sorted(v)) for k, v in found.items()}
    if column is None:
        raise InputError("say which identifier to follow: --column COL (or --tag TAG)")
    if name is not None:
        entity = resolve(con, name, namespace=namespace, kind="dataset")
        rows = con.execute("SELECT column_name FROM columns WHERE dataset_id = ? AND lower(column_name) = lower(?)",
                           [entity.id, column]).fetchall()
        if not rows:
            raise NotFoundError(f"{entity.namespace} {entity.name} has no column {column!r}")
        return {(entity.id, column.lower()): f"holds {rows[0][0]}"}
    rows = con.execute(
        "SELECT c.dataset_id, c.column_name FROM columns c JOIN datasets d USING (dataset_id) "
        "WHERE lower(c.column_name) = lower($col) AND ($ns IS NULL OR d.namespace = $ns)",
        {"col": column, "ns": namespace}).fetchall()
    if not rows:
        known = [r[0] for r in con.execute("SELECT DISTINCT column_name FROM columns").fetchall()]
        close = difflib.get_close_matches(column, known, n=5, cutoff=0.6)
        raise NotFoundError(f"no dataset has a column {column!r}",
                            hint=("did you mean: " + ", ".join(close)) if close else None)
    return {(d, c.lower()): f"holds {c}" for d, c in rows}


def _is_direct_row(edge: ColumnEdge) -> bool:
    return edge.type == "DIRECT" and edge.subtype != "AGGREGATION"


def _is_aggregation(edge: ColumnEdge) -> bool:
    return (edge.type, edge.subtype) in (("DIRECT", "AGGREGATION"), ("INDIRECT", "GROUP_BY"))


def _edge_text(edge: ColumnEdge) -> str:
    return transformation_text(edge.transformation())


def with_sources(con: Any, seeds: dict[ColumnKey, str]) -> dict[ColumnKey, str]:
    """The seeds plus the upstream columns they were copied from (DIRECT, non-aggregating).

    Those hold the same identifier; left in place, the next run of the job would
    re-create the rows just deleted downstream.
    """
    walk = walk_columns(con, list(seeds), "upstream", direct_only=True)
    # Walk edges run from the column walked from to the one reached, whichever the direction.
    sources = reach(seeds, walk.edges, keep=_is_direct_row)
    names = column_spellings(con, set(sources))
    found = dict(seeds)
    for key in sorted(set(sources) - set(seeds)):
        edge = sources[key]
        assert edge is not None  # only seeds have no edge
        found[key] = f"source of {names.get(edge.src_key, edge.src_column)} ({_edge_text(edge)})"
    return found


def classify(con: Any, seeds: dict[ColumnKey, str]) -> tuple[dict[int, Step], list[tuple[int, int]], dict]:
    """Every dataset the seeds reach, with its action; plus dataset-level edges for ordering."""
    walk = walk_columns(con, list(seeds), "downstream")
    anywhere = reach(seeds, walk.edges)
    carried = reach(seeds, walk.edges, keep=_is_direct_row)
    carried_plain = reach(seeds, walk.edges, keep=lambda e: _is_direct_row(e) and not e.masking)
    names = column_spellings(con, set(anywhere))
    datasets = describe_datasets(con, {k[0] for k in anywhere})

    def short(key: ColumnKey) -> str:
        return f"{datasets.get(key[0], {'name': '?'})['name']}.{names.get(key, key[1])}"

    def path_text(parents: dict, key: ColumnKey) -> str:
        path = column_path(parents, key)
        if not path:
            return short(key)
        return short(path[0].src_key) + "".join(f" -{_edge_text(e)}-> {short(e.dst_key)}" for e in path)

    steps: dict[int, Step] = {}
    for key in sorted(seeds):
        step = steps.setdefault(key[0], Step(key[0], "delete", reason="seed: " + seeds[key]))
        step.columns.append(names.get(key, key[1]))
    for key in sorted(set(carried) - set(seeds)):
        step = steps.setdefault(key[0], Step(key[0], "delete", reason="carries " + path_text(carried, key)))
        if step.action == "delete" and names.get(key, key[1]) not in step.columns:
            step.columns.append(names.get(key, key[1]))
            step.masked = step.masked or key not in carried_plain
    deleting = set(steps)
    for edge in sorted(walk.edges, key=lambda e: tuple(map(str, e))):
        if not _is_aggregation(edge) or edge.src_key not in anywhere:
            continue
        source, target = edge.src_key, edge.dst_key
        why = f"aggregates {path_text(anywhere, source)} -{_edge_text(edge)}-> {short(target)}"
        if edge.dst not in steps:
            steps[edge.dst] = Step(edge.dst, "recompute", reason=why)
        elif edge.dst in deleting and names.get(target, target[1]) not in steps[edge.dst].aggregates:
            # Deleting by key misses the subject inside aggregates of other rows (string_agg(email)…).
            steps[edge.dst].aggregates.append(names.get(target, target[1]))
            steps[edge.dst].reason += f"; then re-run its job: {why}"
    for key in sorted(set(anywhere) - set(seeds)):
        if key[0] not in steps:
            steps[key[0]] = Step(key[0], "review", reason="influenced by " + path_text(anywhere, key))
    reached_columns: dict[int, set[str]] = {}
    for key in anywhere:
        reached_columns.setdefault(key[0], set()).add(names.get(key, key[1]))
    for step in steps.values():
        if step.action in ("recompute", "review"):
            step.columns = sorted(reached_columns.get(step.dataset_id, ()), key=str.lower)
    for dataset_id, info in datasets.items():
        if info["type"] == "MODEL" and dataset_id in steps:
            reached = steps[dataset_id]
            steps[dataset_id] = Step(dataset_id, "retrain", reached.columns,
                                     f"trained on affected data ({reached.reason})")
    edges = {(e.src, e.dst) for e in walk.edges}
    table = walk_datasets(con, sorted(steps), "downstream")
    described = describe_datasets(con, set(table.datasets) | {e.src for e in table.edges})
    models = {i for i in table.datasets if described.get(i, {}).get("type") == "MODEL"}
    for e in table.edges:
        edges.add((e.src, e.dst))
    for model in sorted(models - set(steps)):
        upstream = sorted(e.src for e in table.edges if e.dst == model)
        steps[model] = Step(model, "retrain", reason="a model trained downstream (table level) of "
                            + ", ".join(sorted(described[u]["name"] for u in upstream if u in described)))
    depth: dict[int, int] = {}
    for key in anywhere:
        depth[key[0]] = min(depth.get(key[0], 1 << 30), len(column_path(anywhere, key)))
    for model in models:
        depth.setdefault(model, table.datasets[model] + max(depth.values(), default=0))
    return steps, sorted(edges), depth


def _plan(db, column, name, value, dialect, tag, namespace, policy, verb: str) -> Result:
    check_dialect(dialect)
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        seeds = with_sources(con, _seeds(con, column, name, namespace, tag, rules))
        steps, edges, depth = classify(con, seeds)
        info = {i: (d["namespace"], d["name"], d["type"], d["owners"])
                for i, d in describe_datasets(con, steps).items()}
        dropped = dropped_at(con, steps)
        seed_names = column_spellings(con, seeds)
    steps = {i: s for i, s in steps.items() if i in info}
    if verb == "select":
        steps = {i: s for i, s in steps.items() if s.action in ("delete", "review")}
    order = upstream_first(steps, edges, label=lambda i: (depth.get(i, 0), info[i][0], info[i][1]))
    items = []
    for number, dataset_id in enumerate(order, 1):
        step = steps[dataset_id]
        namespace_, name_, _, owners = info[dataset_id]
        action = "select" if verb == "select" and step.action == "delete" else step.action
        sql = statement(verb, namespace_, name_, step.columns, dialect) if step.action == "delete" else None
        reason = step.reason
        if dataset_id in dropped:
            # The table is gone: nothing to delete or read there; what it fed is in the plan too.
            sql = None
            reason += (f"; dropped on {format_timestamp(dropped[dataset_id])}: nothing to "
                       f"{'delete' if verb == 'delete' else 'read'} there (its data may live on downstream, "
                       "which this plan covers)")
        elif step.action == "delete" and sql is None:
            reason += (f" (not a SQL table: {'delete' if verb == 'delete' else 'find'} the records whose "
                       f"{' or '.join(step.columns)} is the subject's in its files)")
        item = {"order": number, "namespace": namespace_, "name": name_, "columns": step.columns,
                "action": action, "reason": reason, "masked": step.masked, "owners": owners or [],
                "sql": sql}
        if dataset_id in dropped:
            item["dropped"], item["dropped_at"] = True, format_timestamp(dropped[dataset_id])
        if step.aggregates:
            item["recompute_columns"] = step.aggregates
        if sql is not None:
            # One value per placeholder; a masked key needs the masked form of the value.
            item["params"] = [None if step.masked else value] * len(step.columns)
        items.append(item)
    subject = {"column": column if tag is None else None, "value": value}
    if tag is not None:
        subject["tag"] = tag
    seeds_out = sorted(({"namespace": info[d][0], "name": info[d][1], "column": seed_names[(d, c)]}
                        for d, c in seeds if d in info),
                       key=lambda s: (s["namespace"], s["name"], s["column"].lower()))
    return Result("erase" if verb == "delete" else "access",
                  {"subject": subject, "seeds": seeds_out, "steps": items})


def erase(column: str | None = None, name: str | None = None, db: str | None = None, *,
          value: str | None = None, dialect: str | None = None, tag: str | None = None,
          namespace: str | None = None, policy: str | Policy | None = None) -> Result:
    """A right-to-erasure plan: every dataset and model derived from the subject's identifier, what to do
    with each (delete, recompute, review, retrain), upstream first, with parameterised SQL."""
    return _plan(db, column, name, value, dialect, tag, namespace, policy, "delete")


def access(column: str | None = None, name: str | None = None, db: str | None = None, *,
           value: str | None = None, dialect: str | None = None, tag: str | None = None,
           namespace: str | None = None, policy: str | Policy | None = None) -> Result:
    """A subject-access plan: every dataset holding the subject's records, with a parameterised
    ``SELECT`` for those keyed by an identifier and the ``review`` ones to inspect by hand."""
    return _plan(db, column, name, value, dialect, tag, namespace, policy, "select")
