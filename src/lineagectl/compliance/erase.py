"""GDPR plans: ``erase`` (Art. 17, right to erasure) and ``access`` (Art. 15, subject access).

Seeds are the columns that identify the subject (``--column user_id`` everywhere,
in one dataset, or every column with a tag). ``compliance.keys`` says which
columns hold the identifier and how (plain keys: identity copies; masked keys:
a hash of one key; containers: a larger value it was extracted from). Column
lineage is followed downstream from the plain keys along DIRECT and INDIRECT
edges, and every dataset reached gets the first action that holds (CONTRACT.md,
``erase``; the rules with examples: docs/erase.md):

- ``delete``: a dataset holding a key. Its rows are deleted by its key columns
  only: the subject's value bound to plain keys, a named placeholder for each
  masked key with the transformation to compute (``compute``). A table grouped
  by the key itself needs nothing more; one aggregating the subject into other
  rows lists those columns (``recompute_columns``).
- ``review``: the identifier inside a larger value (a container upstream, a
  per-row transformation of a key downstream), named by the expression lineage
  recorded (``expressions``); or only join/filter/sort/window influence.
- ``recompute``: the subject reaches it through aggregation only; re-running its
  job after the upstream deletes removes the contribution.
- ``retrain``: an ML model reached, or downstream at table level of any of the above.

Views and ephemeral models hold no rows: their steps get no statement and say
where the rows are. Steps come upstream first, so no re-run re-creates rows
already deleted. Generated SQL quotes every identifier (sqlglot, in the
dataset's dialect) and binds values as parameters in the placeholders of the
dialect's driver; they never enter the SQL text. A dataset whose name no
statement can address (``sqlgen.Unaddressable``) keeps its step, without SQL,
and its reason says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineagectl.common.dialects import option_dialect
from lineagectl.common.policy import Policy, load_policy
from lineagectl.common.timeutil import format_timestamp
from lineagectl.compliance.keys import (
    Derivation,
    Downstream,
    Upstream,
    direct_inputs,
    downstream,
    is_identity,
    is_per_row,
    recorded,
    root_container,
    seeds_of,
    upstream,
)
from lineagectl.compliance.sqlgen import Unaddressable, bound_statement
from lineagectl.graph.edges import ColumnEdge, ColumnKey
from lineagectl.graph.paths import PathIndex, column_ends, reach, upstream_first
from lineagectl.graph.pii import means_pii
from lineagectl.graph.walk import walk_columns, walk_datasets
from lineagectl.results import Result, transformation_text
from lineagectl.store import open_store
from lineagectl.store.lookups import column_spellings, describe_datasets, describe_jobs, dropped_at


@dataclass
class Step:
    """One dataset of the plan."""

    dataset_id: int
    action: str
    columns: list[str] = field(default_factory=list)
    reason: str = ""
    masked: bool = False
    aggregates: list[str] = field(default_factory=list)  # of a delete step: columns to recompute too
    compute: list[dict] = field(default_factory=list)  # of a delete step: masked keys and how to compute them
    expressions: list[dict] = field(default_factory=list)  # the identifier inside a larger value, by what
    masked_keys: set[str] = field(default_factory=set)


def _is_aggregation(edge: ColumnEdge) -> bool:
    return (edge.type, edge.subtype) in (("DIRECT", "AGGREGATION"), ("INDIRECT", "GROUP_BY"))


def _edge_text(edge: ColumnEdge) -> str:
    return transformation_text(edge.transformation())


_WRITERS = """
    SELECT dataset_id, min(job_id) FROM edges
    WHERE direction = 'out' AND dataset_id IN (SELECT unnest($ids::BIGINT[]))
    GROUP BY dataset_id HAVING count(DISTINCT job_id) = 1"""


class _Namer:
    """How a plan's reasons and JSON name the columns it found."""

    def __init__(self, con: Any, columns: set[ColumnKey], jobs: set[int | None]) -> None:
        self.columns = column_spellings(con, columns)
        self.datasets = describe_datasets(con, {k[0] for k in columns})
        # Lineage recorded as a dataset facet (dbt) names no job: its dataset's one writer computes it.
        self.writers = dict(con.execute(_WRITERS, {"ids": sorted(self.datasets)}).fetchall())
        self.jobs = describe_jobs(con, set(jobs) | set(self.writers.values()))
        self._paths: dict[int, PathIndex] = {}

    def column(self, key: ColumnKey) -> str:
        return self.columns.get(key, key[1])

    def short(self, key: ColumnKey) -> str:
        return f"{self.datasets.get(key[0], {'name': '?'})['name']}.{self.column(key)}"

    def ref(self, key: ColumnKey) -> dict:
        info = self.datasets.get(key[0], {"namespace": "?", "name": "?"})
        return {"namespace": info["namespace"], "name": info["name"], "column": self.column(key)}

    def path(self, parents: dict, key: ColumnKey) -> str:
        """How ``key`` was reached, as text; the middle of a very long path is counted, not spelled."""
        index = self._paths.get(id(parents))
        if index is None or index.parents is not parents:
            index = self._paths[id(parents)] = PathIndex(parents, column_ends, keep=5)
        head, omitted, tail = index.shown(key)
        if not head:
            return self.short(key)
        text = self.short(head[0].src_key) + "".join(f" -{_edge_text(e)}-> {self.short(e.dst_key)}" for e in head)
        if omitted:
            text += f" … {omitted:,} more hops …" + "".join(
                f" -{_edge_text(e)}-> {self.short(e.dst_key)}" for e in tail)
        return text

    def job(self, derivation: Derivation) -> dict | None:
        """The job computing a derivation: the edge's, else the one job writing its target."""
        job = derivation.job if derivation.job in self.jobs else self.writers.get(derivation.target[0])
        return self.jobs.get(job) if job is not None else None

    def formula(self, derivation: Derivation) -> str:
        job = self.job(derivation)
        return (f"{self.short(derivation.target)} = {derivation.text()} of {self.short(derivation.source)}"
                + (f" in job {job['name']}" if job else ""))

    def expression(self, column: ColumnKey, derivation: Derivation) -> dict:
        """One entry of a step's ``expressions``: its ``column`` and the derivation that puts the
        identifier inside it (or, for a container, takes it out)."""
        out = {"column": self.column(column), "source": self.ref(derivation.source),
               "target": self.ref(derivation.target), "transformation": derivation.transformation()}
        job = self.job(derivation)
        if job is not None:
            out["job"] = job
        return out


def _key_steps(found: Downstream, up: Upstream, names: _Namer) -> dict[int, Step]:
    """A ``delete`` step for every dataset holding a key: seeds and sources, copies, masked keys."""
    steps: dict[int, Step] = {}
    carried = sorted(set(found.plain) - set(up.keys))
    for key in [*sorted(up.keys), *carried, *sorted(found.masked)]:
        if key in up.keys:
            why = "seed: " + up.keys[key]
        elif key in found.masked:
            why = "carries a masked form of the identifier: " + names.path(found.parents, key)
        else:
            why = "carries " + names.path(found.plain, key)
        step = steps.setdefault(key[0], Step(key[0], "delete", reason=why))
        column = names.column(key)
        if column in step.columns:
            continue
        step.columns.append(column)
        if key in found.masked:
            step.masked = True
            step.masked_keys.add(column)
            step.compute.append({"column": column, "from": names.ref(found.masked_from[key]),
                                 "transformations": [d.transformation() for d in found.masked[key]]})
            step.reason += (f"; bind {column} to the subject's {names.column(found.masked_from[key])} through "
                            + " then ".join(d.text() for d in found.masked[key]))
    return steps


def _aggregate_steps(steps: dict[int, Step], walk_edges: set[ColumnEdge], anywhere: dict, keyed: set[ColumnKey],
                     names: _Namer) -> None:
    """``recompute`` for datasets the subject reaches through aggregation; a delete step aggregating
    it into other rows lists those columns, unless the table is grouped by the key itself."""
    deleting = {i for i, s in steps.items() if s.action == "delete"}
    grouped: dict[int, ColumnEdge] = {}
    for edge in sorted(walk_edges, key=ColumnEdge.walk_order):
        if (edge.type, edge.subtype) == ("INDIRECT", "GROUP_BY") and edge.src_key in keyed and edge.dst in deleting:
            grouped.setdefault(edge.dst, edge)
    for dataset_id, edge in grouped.items():
        steps[dataset_id].reason += (f"; grouped by {names.short(edge.src_key)}, the subject's key: one row per "
                                     "subject, so the delete removes its aggregates with it")
    for edge in sorted(walk_edges, key=ColumnEdge.walk_order):
        if not _is_aggregation(edge) or edge.src_key not in anywhere or edge.dst in grouped:
            continue
        why = f"aggregates {names.path(anywhere, edge.src_key)} -{_edge_text(edge)}-> {names.short(edge.dst_key)}"
        if edge.dst not in steps:
            steps[edge.dst] = Step(edge.dst, "recompute", reason=why)
        elif edge.dst in deleting and names.column(edge.dst_key) not in steps[edge.dst].aggregates:
            # Deleting by key misses the subject inside aggregates of other rows (string_agg(email)…).
            step = steps[edge.dst]
            if not step.aggregates:
                step.reason += f"; then re-run its job: {why}"
            step.aggregates.append(names.column(edge.dst_key))


def _expression_steps(con: Any, steps: dict[int, Step], walk_edges: set[ColumnEdge], keyed: set[ColumnKey],
                      up: Upstream, names: _Namer) -> None:
    """``review`` for datasets holding the identifier inside a larger value: computed from a key
    downstream (no key of their own), or a container it was computed from upstream."""
    derived = [e for e in sorted(walk_edges, key=ColumnEdge.walk_order)
               if e.src_key in keyed and is_per_row(e) and not is_identity(e) and e.dst_key not in keyed
               and e.dst not in steps]
    inputs = direct_inputs(con, {e.dst_key for e in derived})
    for edge in derived:
        derivation = recorded(inputs, edge, edge.src_key, edge.dst_key)
        step = steps.setdefault(edge.dst, Step(edge.dst, "review", reason=(
            f"holds the identifier inside a computed value: {names.formula(derivation)}; find the subject's "
            "rows by that expression (its value is not the subject's: no statement)")))
        step.expressions.append(names.expression(edge.dst_key, derivation))
    for key in sorted(up.containers):
        root = root_container(up.containers, key)
        derivations = up.containers[root].derivations
        copy = "" if root == key else f", a copy of {names.short(root)},"
        text = (f"{names.column(key)}{copy} holds the identifier inside a larger value "
                f"({'; '.join(names.formula(d) for d in derivations)}): find the subject's records by that "
                "expression, never by the raw value")
        if key[0] not in steps:
            steps[key[0]] = Step(key[0], "review", reason="source: " + text)
        else:
            step = steps[key[0]]
            step.reason += f"; also {text}" + (" (in rows the delete does not reach)" if step.action == "delete"
                                               else "")
        step = steps[key[0]]
        if step.action == "review" and names.column(key) not in step.columns:
            step.columns.append(names.column(key))
        step.expressions += [names.expression(key, d) for d in derivations]


def classify(con: Any, up: Upstream) -> tuple[dict[int, Step], list[tuple[int, int]], dict]:
    """Every dataset the seeds reach or were computed from, with its action; plus dataset-level
    edges and depths for ordering."""
    walk = walk_columns(con, list(up.keys), "downstream")
    anywhere = reach(up.keys, walk.edges)
    found = downstream(con, up.keys, walk.edges)
    keyed = set(found.plain) | set(found.masked)
    mentioned = set(anywhere) | set(up.containers) | {d.source for c in up.containers.values()
                                                        for d in c.derivations}
    jobs = {e.job for e in walk.edges} | {d.job for c in up.containers.values() for d in c.derivations}
    names = _Namer(con, mentioned | set(found.masked_from.values()), jobs)
    steps = _key_steps(found, up, names)
    _expression_steps(con, steps, walk.edges, keyed, up, names)
    _aggregate_steps(steps, walk.edges, anywhere, keyed, names)
    for key in sorted(set(anywhere) - set(up.keys)):
        if key[0] not in steps:
            steps[key[0]] = Step(key[0], "review", reason="influenced by " + names.path(anywhere, key))
    reached_columns: dict[int, set[str]] = {}
    for key in anywhere:
        reached_columns.setdefault(key[0], set()).add(names.column(key))
    for step in steps.values():
        if step.action in ("recompute", "review"):
            step.columns = sorted(reached_columns.get(step.dataset_id, set()) | set(step.columns), key=str.lower)
    datasets = names.datasets
    for dataset_id, info in datasets.items():
        if info["type"] == "MODEL" and dataset_id in steps:
            reached = steps[dataset_id]
            steps[dataset_id] = Step(dataset_id, "retrain", reached.columns,
                                     f"trained on affected data ({reached.reason})")
    edges = {(e.src, e.dst) for e in walk.edges} | up.edges
    table = walk_datasets(con, sorted(steps), "downstream")
    described = describe_datasets(con, set(table.datasets) | {e.src for e in table.edges})
    models = {i for i in table.datasets if described.get(i, {}).get("type") == "MODEL"}
    for e in table.edges:
        edges.add((e.src, e.dst))
    for model in sorted(models - set(steps)):
        upstream_ids = sorted(e.src for e in table.edges if e.dst == model)
        steps[model] = Step(model, "retrain", reason="a model trained downstream (table level) of "
                            + ", ".join(sorted(described[u]["name"] for u in upstream_ids if u in described)))
    depth: dict[int, int] = dict.fromkeys((k[0] for k in up.containers), 0)
    lengths = PathIndex(anywhere, column_ends)
    for key in anywhere:
        depth[key[0]] = min(depth.get(key[0], 1 << 30), lengths.length(key))
    for model in models:
        depth.setdefault(model, table.datasets[model] + max(depth.values(), default=0))
    return steps, sorted(edges), depth


# Datasets that hold no rows of their own (OpenLineage datasetType; dbt materialization).
NO_ROWS = {"VIEW": "a view", "MATERIALIZED_VIEW": "a materialized view", "EPHEMERAL": "an ephemeral model"}


def _no_rows_note(kind: str, action: str, verb: str, feeders: list[str]) -> str:
    """Why a view or ephemeral model gets no statement, and where the work is."""
    what = NO_ROWS[kind]
    where = ", ".join(feeders) if feeders else "the tables it reads (not in the lineage: find them)"
    if action == "recompute":
        return (f"; {what} is computed when read: nothing to re-run here, the tables built from it have "
                "their own steps")
    if action == "review":
        return f"; {what} holds no rows: review {where} and the tables built from it instead"
    return (f"; {what} holds no rows: no {verb.upper()} here, the rows are in {where} and the tables "
            "built from it have their own steps")


def _statement(step: Step, verb: str, namespace: str, name: str, dialect: str | None,
               value: str | None) -> tuple[str | None, list | dict | None]:
    """The step's statement and its parameters (``sqlgen.bound_statement``); the masked keys' entries
    of ``compute`` name their placeholders."""
    bound = bound_statement(verb, namespace, name, step.columns, step.masked_keys, dialect, value)
    if bound is None:
        return None, None
    if bound.names:
        step.compute[:] = [{"param": bound.names[entry["column"]], **entry} for entry in step.compute]
    return bound.sql, bound.params


def _plan(db, column, name, value, dialect, tag, namespace, policy, verb: str) -> Result:
    option_dialect(dialect)
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        seeds = seeds_of(con, column, name, namespace, tag, rules)
        up = upstream(con, seeds)
        steps, edges, depth = classify(con, up)
        info = {i: (d["namespace"], d["name"], d["type"], d["owners"])
                for i, d in describe_datasets(con, steps).items()}
        dropped = dropped_at(con, steps)
        seed_names = column_spellings(con, up.keys)
    steps = {i: s for i, s in steps.items() if i in info}
    if verb == "select":
        steps = {i: s for i, s in steps.items() if s.action in ("delete", "review")}
    order = upstream_first(steps, edges, label=lambda i: (depth.get(i, 0), info[i][0], info[i][1]))
    items = []
    for number, dataset_id in enumerate(order, 1):
        step = steps[dataset_id]
        namespace_, name_, kind, owners = info[dataset_id]
        action = "select" if verb == "select" and step.action == "delete" else step.action
        reason, unaddressable = step.reason, None
        has_rows = step.action == "delete" and dataset_id not in dropped and kind not in NO_ROWS
        try:
            sql, params = _statement(step, verb, namespace_, name_, dialect, value) if has_rows else (None, None)
        except Unaddressable as err:
            sql, params, unaddressable = None, None, str(err)
        if dataset_id in dropped:
            # The table is gone: nothing to delete or read there; what it fed is in the plan too.
            sql = params = None
            reason += (f"; dropped on {format_timestamp(dropped[dataset_id])}: nothing to "
                       f"{'delete' if verb == 'delete' else 'read'} there (its data may live on downstream, "
                       "which this plan covers)")
        elif kind in NO_ROWS:
            sql = params = None
            feeders = sorted(info[a][1] for a, b in edges if b == dataset_id and a in steps and a != dataset_id)
            reason += _no_rows_note(kind, step.action, verb, feeders)
        elif unaddressable is not None:
            reason += (f"; no statement: {unaddressable}: find the table it stands for and "
                       f"{'delete' if verb == 'delete' else 'read'} the rows whose {' or '.join(step.columns)} "
                       "is the subject's by hand")
        elif step.action == "delete" and sql is None and "/" in name_:
            reason += (f" (not a SQL table: {'delete' if verb == 'delete' else 'find'} the records whose "
                       f"{' or '.join(step.columns)} is the subject's in its files)")
        elif step.action == "delete" and sql is None:
            # A bare namespace (Marquez's "food_delivery") names no engine: the dataset may well be a
            # table, so never tell the operator to look for files.
            reason += (f" (no statement: namespace {namespace_!r} names no SQL engine lineagectl knows; for a "
                       f"table pass --dialect, else {'delete' if verb == 'delete' else 'find'} the records "
                       f"whose {' or '.join(step.columns)} is the subject's by hand)")
        item = {"order": number, "namespace": namespace_, "name": name_, "columns": step.columns,
                "action": action, "reason": reason, "masked": step.masked, "owners": owners or [],
                "sql": sql, "type": kind}
        if dataset_id in dropped:
            item["dropped"], item["dropped_at"] = True, format_timestamp(dropped[dataset_id])
        if step.aggregates:
            item["recompute_columns"] = step.aggregates
        if params is not None:
            item["params"] = params
        if step.compute:
            item["compute"] = step.compute
        if step.expressions:
            item["expressions"] = step.expressions
        items.append(item)
    subject = {"column": column if tag is None else None, "value": value}
    if tag is not None:
        subject["tag"] = tag
    seeds_out = sorted(({"namespace": info[d][0], "name": info[d][1], "column": seed_names[(d, c)]}
                        for d, c in up.keys if d in info),
                       key=lambda s: (s["namespace"], s["name"], s["column"].lower()))
    # As pii's: the policy read (None: none), and whether its PII rules chose the seeds.
    context = {"policy": rules.path, "pii_rules": tag is not None and means_pii(tag)}
    return Result("erase" if verb == "delete" else "access",
                  {"subject": subject, "seeds": seeds_out, "steps": items}, context=context)


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
