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

from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.walk import column_path, reach, walk_column_set, walk_datasets
from lineagectl.graph.names import resolve
from lineagectl.compliance.pii import column_names, datasets_by_id, edge_text, tagged_columns
from lineagectl.common.policy import Policy, load_policy
from lineagectl.results import Result
from lineagectl.store import open_store

ColumnKey = tuple[int, str]
ACTIONS = ("delete", "recompute", "review", "retrain")


@dataclass
class Step:
    """One dataset of the plan."""

    dataset_id: int
    action: str
    columns: list[str] = field(default_factory=list)
    reason: str = ""
    masked: bool = False
    aggregates: list[str] = field(default_factory=list)  # of a delete step: columns to recompute too


def _seeds(con, column: str | None, name: str | None, namespace: str | None, tag: str | None,
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


def _is_direct_row(edge: tuple) -> bool:
    return edge[5] == "DIRECT" and edge[6] != "AGGREGATION"


def _is_aggregation(edge: tuple) -> bool:
    return (edge[5], edge[6]) in (("DIRECT", "AGGREGATION"), ("INDIRECT", "GROUP_BY"))


def with_sources(con, seeds: dict[ColumnKey, str]) -> dict[ColumnKey, str]:
    """The seeds plus the upstream columns they were copied from (DIRECT, non-aggregating).

    Those hold the same identifier; left in place, the next run of the job would
    re-create the rows just deleted downstream.
    """
    walk = walk_column_set(con, [(d, c) for d, c in seeds], "upstream", direct_only=True)
    # Walk edges run from the column walked from to the one reached, whichever the direction.
    sources = reach(seeds, walk.edges, keep=_is_direct_row)
    names = column_names(con, set(sources))
    found = dict(seeds)
    for key in sorted(set(sources) - set(seeds)):
        edge = sources[key]
        found[key] = f"source of {names.get((edge[0], edge[1].lower()), edge[1])} ({edge_text(edge)})"
    return found


def classify(con, seeds: dict[ColumnKey, str]) -> tuple[dict[int, Step], list[tuple[int, int]], dict]:
    """Every dataset the seeds reach, with its action; plus dataset-level edges for ordering."""
    walk = walk_column_set(con, [(d, c) for d, c in seeds], "downstream")
    anywhere = reach(seeds, walk.edges)
    carried = reach(seeds, walk.edges, keep=_is_direct_row)
    carried_plain = reach(seeds, walk.edges, keep=lambda e: _is_direct_row(e) and not e[7])
    names = column_names(con, set(anywhere))
    datasets = datasets_by_id(con, {k[0] for k in anywhere})

    def short(key: ColumnKey) -> str:
        return f"{datasets.get(key[0], ('', '?', ''))[1]}.{names.get(key, key[1])}"

    def path_text(parents: dict, key: ColumnKey) -> str:
        path = column_path(parents, key)
        if not path:
            return short(key)
        text = short((path[0][0], path[0][1].lower()))
        return text + "".join(f" -{edge_text(e)}-> {short((e[3], e[4].lower()))}" for e in path)

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
        if not _is_aggregation(edge) or (edge[0], edge[1].lower()) not in anywhere:
            continue
        source, target = (edge[0], edge[1].lower()), (edge[3], edge[4].lower())
        why = f"aggregates {path_text(anywhere, source)} -{edge_text(edge)}-> {short(target)}"
        if edge[3] not in steps:
            steps[edge[3]] = Step(edge[3], "recompute", reason=why)
        elif edge[3] in deleting and names.get(target, target[1]) not in steps[edge[3]].aggregates:
            # Deleting by key misses the subject inside aggregates of other rows (string_agg(email)…).
            steps[edge[3]].aggregates.append(names.get(target, target[1]))
            steps[edge[3]].reason += f"; then re-run its job: {why}"
    for key in sorted(set(anywhere) - set(seeds)):
        if key[0] not in steps:
            steps[key[0]] = Step(key[0], "review", reason="influenced by " + path_text(anywhere, key))
    reached_columns: dict[int, set[str]] = {}
    for key in anywhere:
        reached_columns.setdefault(key[0], set()).add(names.get(key, key[1]))
    for step in steps.values():
        if step.action in ("recompute", "review"):
            step.columns = sorted(reached_columns.get(step.dataset_id, ()), key=str.lower)
    for dataset_id, (_, _, kind) in datasets.items():
        if kind == "MODEL" and dataset_id in steps:
            reached = steps[dataset_id]
            steps[dataset_id] = Step(dataset_id, "retrain", reached.columns,
                                     f"trained on affected data ({reached.reason})")
    edges = {(e[0], e[3]) for e in walk.edges}
    table = walk_datasets(con, sorted(steps), "downstream")
    models = {i for i, (_, _, kind) in datasets_by_id(con, table.datasets).items() if kind == "MODEL"}
    for src, _job, dst in table.edges:
        edges.add((src, dst))
    for model in sorted(models - set(steps)):
        upstream = sorted(src for src, _job, dst in table.edges if dst == model)
        sources = datasets_by_id(con, upstream)
        steps[model] = Step(model, "retrain", reason="a model trained downstream (table level) of "
                            + ", ".join(sorted(sources[u][1] for u in upstream if u in sources)))
    depth = {}
    for key in anywhere:
        depth[key[0]] = min(depth.get(key[0], 1 << 30), len(column_path(anywhere, key)))
    for model in models:
        depth.setdefault(model, table.datasets[model] + max(depth.values(), default=0))
    return steps, sorted(edges), depth


def upstream_first(steps: dict[int, Step], edges: list[tuple[int, int]], label) -> list[int]:
    """Dataset ids in an order where every dataset comes after those it is derived from,
    ties broken by ``label`` (nearest to the seeds first, then by name).

    Cycles (real lineage has them) are collapsed into one block, ordered by label inside.
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(steps)
    graph.add_edges_from((a, b) for a, b in edges if a in steps and b in steps and a != b)
    blocks = nx.condensation(graph)
    members: dict[int, list[int]] = {}
    for node, block in blocks.graph["mapping"].items():
        members.setdefault(block, []).append(node)
    first = {block: min(map(label, nodes)) for block, nodes in members.items()}
    order = []
    for block in nx.lexicographical_topological_sort(blocks, key=lambda b: first[b]):
        order.extend(sorted(members[block], key=label))
    return order


# Namespace schemes (OpenLineage naming) whose datasets are SQL tables, and their sqlglot dialect.
_DIALECTS = {
    "postgres": "postgres", "postgresql": "postgres", "redshift": "redshift", "mysql": "mysql",
    "mariadb": "mysql", "bigquery": "bigquery", "snowflake": "snowflake", "trino": "trino",
    "presto": "presto", "awsathena": "athena", "athena": "athena", "hive": "hive", "spark": "spark",
    "databricks": "databricks", "sqlserver": "tsql", "mssql": "tsql", "azuresql": "tsql",
    "oracle": "oracle", "teradata": "teradata", "duckdb": "duckdb", "sqlite": "sqlite",
    "clickhouse": "clickhouse", "db2": "postgres", "dremio": "dremio", "doris": "doris",
}


def dialect_of(namespace: str) -> str | None:
    """The SQL dialect of a dataset namespace, None when its datasets are not SQL tables (s3, kafka…)."""
    scheme = namespace.split("://", 1)[0].lower() if "://" in namespace else namespace.lower()
    return _DIALECTS.get(scheme)


def _check_dialect(dialect: str | None) -> None:
    if dialect is None:
        return
    from sqlglot.dialects import Dialect

    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        raise InputError(f"unknown SQL dialect {dialect!r}",
                         hint="e.g. postgres, bigquery, snowflake, mysql, tsql, trino, databricks, duckdb") from None


def statement(verb: str, namespace: str, name: str, columns: list[str], dialect: str | None) -> str | None:
    """``DELETE``/``SELECT`` of the rows whose ``columns`` equal the subject's value, with ``?``-style
    placeholders in the dialect; None when the dataset is not a SQL table."""
    from sqlglot import exp

    dialect = dialect or dialect_of(namespace)
    if dialect is None or not columns or "/" in name or not name.strip("."):
        return None
    parts = [p for p in name.split(".") if p][-3:]
    table = exp.Table(this=exp.to_identifier(parts[-1], quoted=True),
                      db=exp.to_identifier(parts[-2], quoted=True) if len(parts) > 1 else None,
                      catalog=exp.to_identifier(parts[-3], quoted=True) if len(parts) > 2 else None)
    where = exp.or_(*(exp.column(exp.to_identifier(c, quoted=True)).eq(exp.Placeholder()) for c in columns))
    query = exp.delete(table, where=where) if verb == "delete" else exp.select("*").from_(table).where(where)
    return query.sql(dialect=dialect)


def _plan(db, column, name, value, dialect, tag, namespace, policy, verb: str) -> Result:
    _check_dialect(dialect)
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        seeds = with_sources(con, _seeds(con, column, name, namespace, tag, rules))
        steps, edges, depth = classify(con, seeds)
        info = {r[0]: r[1:] for r in con.execute("""
            SELECT d.dataset_id, d.namespace, d.name, d.dataset_type,
                   list(DISTINCT o.owner ORDER BY o.owner) FILTER (WHERE o.owner IS NOT NULL)
            FROM datasets d LEFT JOIN owners o ON o.entity_kind = 'dataset' AND o.entity_id = d.dataset_id
            WHERE d.dataset_id IN (SELECT unnest($ids::BIGINT[])) GROUP BY ALL""",
            {"ids": sorted(steps)}).fetchall()}
        seed_names = column_names(con, seeds)
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
        if step.action == "delete" and sql is None:
            reason += (f" (not a SQL table: {'delete' if verb == 'delete' else 'find'} the records whose "
                       f"{' or '.join(step.columns)} is the subject's in its files)")
        item = {"order": number, "namespace": namespace_, "name": name_, "columns": step.columns,
                "action": action, "reason": reason, "masked": step.masked, "owners": owners or [],
                "sql": sql}
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
    payload = {"subject": subject, "seeds": seeds_out, "steps": items}
    counts = {a: sum(1 for i in items if i["action"] == a) for a in (*ACTIONS, "select")}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    what = f"column {column}" if tag is None else f"tag {tag}"
    title = (f"{'erasure' if verb == 'delete' else 'access'} plan for {what}"
             + (f" = {value}" if value is not None else "") + f": {len(items)} steps ({summary or 'none'})")
    header = ["order", "action", "namespace", "name", "columns", "masked", "owners", "reason", "sql"]
    return Result(payload=payload, records=[{k: i[k] for k in header} for i in items], columns=header,
                  title=title)


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
