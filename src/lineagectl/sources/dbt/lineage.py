"""Column lineage of dbt models from their compiled SQL: in worker processes, ephemerals as nodes.

``lineage_of_models`` runs ``lineagectl.sql_lineage`` over every model, spread
over forked processes when a project is large (sqlglot is pure Python), with
sqlglot's schema built once per process. A ``__dbt__cte__X`` CTE that dbt
inlined for ephemeral model X is read as X's relation, so lineage points at the
ephemeral model (a node of its own) rather than through it. A model whose column
lineage outlasts its time budget (``sql_budget``) is skipped with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

# Column lineage of many models is spread over processes: sqlglot is pure Python and
# single-threaded, and a 1,000-model project takes ~17 ms a model.
PARALLEL_MIN_MODELS = 64
_WORKER: dict = {}


def lineage_of_models(work: list[tuple[str, str]], dialect: str | None, schema: dict, relations: dict,
                      ephemerals: dict, seconds: float | None = None, workers: int | None = None,
                      stored: dict[str, list[str]] | None = None,
                      models: dict[str, str] | None = None) -> Iterator[tuple[str, dict | None, str | None]]:
    """(unique_id, columnLineage facet or None, warning or None) for each (unique_id, sql), in order.

    ``dialect`` is sqlglot's (None: its generic dialect); ``relations`` maps each relation
    (``database.schema.table``, lower case) to its dataset (namespace, name). A model whose
    column lineage takes longer than ``seconds`` (None or 0: no limit) is skipped with a warning
    (``sql_budget``). ``workers`` overrides the number of processes chosen from the work's size.
    ``stored`` lists the columns of each relation as the warehouse (the catalog) spells them and
    ``models`` gives each unique_id's relation: columns, the model's own and those it reads, are named
    so (``sql_names.spellings``), not as sqlglot folds them in a case-insensitive dialect."""
    import multiprocessing
    import threading

    from lineagectl.sources.sql_budget import StatementTimeout, map_within, time_budget

    if workers is None:
        workers = min(os.cpu_count() or 1, 8, len(work) // (PARALLEL_MIN_MODELS // 2) or 1)
        workers = workers if len(work) >= PARALLEL_MIN_MODELS else 1
    # Forked workers need no guarded __main__ (spawn would re-import the caller's script), and
    # forking is safe only while this is the process's one thread: the ingest reads manifests
    # before it opens the store (DuckDB starts threads) or starts its writer. Native threads of a
    # library caller's own DuckDB connection are not counted; the workers never call into them.
    if workers < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        _init_worker(dialect, schema, relations, ephemerals, False, stored, models)
        for item in work:
            try:
                with time_budget(seconds):
                    found = _model_lineage(item)
            except StatementTimeout as exc:
                found = (item[0], None, str(exc))
            yield found
        return
    results = map_within(_model_lineage, work, seconds, workers, initializer=_init_worker,
                         initargs=(dialect, schema, relations, ephemerals, True, stored, models))
    for (uid, _), found in zip(work, results, strict=True):
        yield (uid, None, str(found)) if isinstance(found, StatementTimeout) else found


def _init_worker(dialect: str | None, schema: dict, relations: dict, ephemerals: dict, forked: bool = False,
                 stored: dict[str, list[str]] | None = None, models: dict[str, str] | None = None) -> None:
    from sqlglot.schema import MappingSchema

    from lineagectl.sources.sql_names import spellings

    if forked:
        _die_with_parent()

    # Built, and its identifiers normalised, once per process: sqlglot would redo it per model.
    respelled = {relation.lower(): found for relation, names in (stored or {}).items()
                 if (found := spellings(names, dialect))}
    _WORKER.update(dialect=dialect, relations=relations, ephemerals=ephemerals,
                   schema=MappingSchema(schema, dialect=dialect) if schema else None,
                   spellings=respelled, models=models or {})


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the ingest that forked it dies (SIGKILL included):
    orphaned workers would otherwise wait on their queue forever."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _model_lineage(item: tuple[str, str]) -> tuple[str, dict | None, str | None]:
    from lineagectl.sources.sql_lineage import (
        SqlLineageError,
        column_lineage,
        column_lineage_facet,
    )

    uid, sql = item
    if "__dbt__cte__" in sql and _WORKER["ephemerals"]:
        sql = _attribute_ephemerals(sql, _WORKER["dialect"], _WORKER["ephemerals"])
    try:
        edges = column_lineage(sql, _WORKER["dialect"], _WORKER["schema"])
    except SqlLineageError as exc:
        return uid, None, str(exc)
    if _WORKER["spellings"]:
        edges = _as_stored(edges, _WORKER["spellings"], _WORKER["models"].get(uid))
    relations = _WORKER["relations"]
    return uid, column_lineage_facet(edges, lambda table: relations.get(table.lower())), None


def _as_stored(edges: list, spelled: dict[str, dict[str, str]], relation: str | None) -> list:
    """The edges with each column, the model's (its ``relation``) and its sources', named as the
    warehouse stores it (``spelled``: relation -> sqlglot's name -> stored name), so that a
    case-insensitive warehouse's ``TAX_PAID_CENTS`` stays one column, not two spellings."""
    from dataclasses import replace

    own = spelled.get(relation.lower(), {}) if relation else {}
    found = []
    for edge in edges:
        column = own.get(edge.column, edge.column) if edge.column is not None else None
        source = spelled.get(edge.source.table.lower(), {}).get(edge.source.column)
        if column != edge.column or source is not None:
            edge = replace(edge, column=column,
                           source=replace(edge.source, column=source) if source is not None else edge.source)
        found.append(edge)
    return found


def projection(sql: str | None, dialect: str | None) -> dict[str, str]:
    """Output columns of a model's SQL, typed VARCHAR, when it names them all: a ``select *`` from a
    CTE or subquery (dbt's ``… select * from final``) is expanded from the columns that one lists."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql or "", dialect=dialect)
    except sqlglot.errors.SqlglotError:  # ParseError, TokenError…: the SQL is not readable
        return {}
    if not isinstance(tree, exp.Query):
        return {}
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    names = _outputs(tree, ctes, set())
    return dict.fromkeys(names, "VARCHAR") if names else {}


def _outputs(query, ctes: dict, seen: set) -> list[str] | None:
    """The output names of ``query``, stars expanded from the CTEs/subqueries they read; None when a
    star reads a table (its columns are not in the SQL) or a name is missing."""
    from sqlglot import exp

    names: list[str] = []
    for item in query.selects:
        star = isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star))
        if not star:
            if not item.alias_or_name:
                return None
            names.append(item.alias_or_name)
            continue
        star_node = item if isinstance(item, exp.Star) else item.this
        if not isinstance(query, exp.Select) or any(star_node.args.get(k) for k in ("except", "replace", "rename")):
            return None
        wanted = item.table.lower() if isinstance(item, exp.Column) else None
        found = False
        for source in _from_sources(query):
            if wanted is not None and source.alias_or_name.lower() != wanted:
                continue
            found = True
            if isinstance(source, exp.Subquery):
                inner = _outputs(source.this, ctes, seen)
            elif isinstance(source, exp.Table) and not source.db and source.name.lower() in ctes \
                    and source.name.lower() not in seen:
                inner = _outputs(ctes[source.name.lower()], ctes, seen | {source.name.lower()})
            else:
                return None
            if inner is None:
                return None
            names += inner
        if not found:
            return None
    return names


def _from_sources(select) -> list:
    from_ = select.args.get("from_") or select.args.get("from")
    sources = [from_.this] if from_ is not None else []
    return sources + [join.this for join in select.args.get("joins") or []]


def _attribute_ephemerals(sql: str, dialect: str | None, ephemerals: dict) -> str:
    """The SQL with each ``__dbt__cte__X`` CTE dropped and read as ephemeral model X's relation,
    so column lineage points at the ephemeral model (a node of its own) rather than through it.
    Unchanged when an ephemeral's columns are unknown or the SQL does not parse."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except sqlglot.errors.SqlglotError:  # ParseError, TokenError…: the SQL is not readable
        return sql
    with_ = tree.args.get("with_")
    if with_ is None:
        return sql
    inlined = {cte.alias.lower() for cte in with_.expressions if cte.alias.lower() in ephemerals}
    if not inlined:
        return sql
    for cte in list(with_.expressions):
        if cte.alias.lower() in inlined:
            cte.pop()
    if not with_.expressions:
        with_.pop()
    for table in list(tree.find_all(exp.Table)):
        if not table.args.get("db") and table.name.lower() in inlined:
            database, schema, name = ephemerals[table.name.lower()]
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
            table.replace(exp.Table(this=exp.to_identifier(name), db=exp.to_identifier(schema),
                                    catalog=exp.to_identifier(database), alias=alias))
    return tree.sql(dialect=dialect)
