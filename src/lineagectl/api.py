"""The library API: every command of the CLI is one call here.

    from lineagectl import api
    report = api.ingest(["events.ndjson"], "lineage.duckdb")
    print(api.stats("lineage.duckdb").payload)

    with api.open_store("lineage.duckdb") as store:      # one open file for many questions
        print(api.impact("orders", store).payload)
        print(api.trace("orders", store, column="id").payload)

Each function takes the subject first (a name, paths), then ``db``: a store
file path or an open ``Store`` from ``open_store``; options are plain values.
Nothing here reads the environment or the working directory: callers (the
CLI) resolve ``LINEAGECTL_*`` and ``lineagectl.yaml`` and pass values. Functions
raise ``lineagectl.errors.LineageError`` subclasses for user errors and return
a ``Result`` (see ``results``) or an ``IngestReport``. Importing this module is
light: each function loads its part of the library on first call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lineagectl.errors import InputError
from lineagectl.results import Result

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lineagectl.common.policy import Policy
    from lineagectl.operations.migrate import MigrateReport
    from lineagectl.sources.ingest import IngestReport
    from lineagectl.store.db import Store

Db = Any
"""A store file path (str or PathLike), or an open ``Store``."""
PolicyArg = Any
"""A policy file path, a parsed ``Policy``, or None for no policy."""


def open_store(path: Any, *, write: bool = False, wait: float = 0.0,
               memory_limit: str | None = None) -> Store:
    """Open the store file at ``path`` (read-only unless ``write``), as a context manager.

    A reader never creates a file (a missing one is ``DatabaseMissingError``);
    a writer creates and migrates it. While another process holds the file,
    retry for up to ``wait`` seconds before ``DatabaseLockedError``.
    """
    from lineagectl.store.db import Store

    return Store(path, write=write, wait=wait, memory_limit=memory_limit)


def load_policy(path: Any = None, *, required: bool = False) -> Policy:
    """Read and validate a policy file once, to pass to many calls (``PolicyError`` names the key path)."""
    from lineagectl.common.policy import load_policy as load

    return load(path, required=required)


def ingest(paths: list[str], db: Db, **options: Any) -> IngestReport:
    """Ingest OpenLineage event files (NDJSON/JSON, .gz, directories, ``-``) or dbt manifests.

    Options: ``strict``, ``force``, ``namespace``/``catalog``/``run_results`` (dbt),
    ``on_reject(message)``, ``progress(done, total)``, ``max_record_bytes``, ``max_future``
    (a ``timedelta``, ``None`` for any date, or text such as ``"1d"``/``"none"``), ``sql_timeout``
    (CPU seconds one dbt model's or SQL statement's column lineage may take before it is skipped with a warning;
    None: 10, 0: no limit).
    """
    from lineagectl.sources.ingest import ingest as run

    if isinstance(options.get("max_future"), str):
        options["max_future"] = _duration(options["max_future"], "--max-future")
    return run(paths, db, **options)


def _duration(value: str, option: str) -> timedelta | None:
    """A duration as a user writes it (``1d``, ``36h``), or ``none`` for no limit."""
    from lineagectl.common.timeutil import parse_duration

    if value.strip().lower() == "none":
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def stats(db: Db) -> Result:
    """Counts of what the store holds."""
    from lineagectl.queries.catalog import stats as run

    return run(db)


def ls(kind: str, db: Db, *, select: str | None = None, exclude: str | None = None, **filters: Any) -> Result:
    """List ``datasets``, ``jobs`` or ``runs`` (filters: namespace, name glob, since, state), or the
    datasets a dbt-style ``select``/``exclude`` chooses."""
    from lineagectl.queries.catalog import ls as run

    return run(kind, db, select=select, exclude=exclude, **filters)


def select(expression: str, db: Db, *, exclude: str | None = None) -> Result:
    """Datasets chosen by a dbt-style selector (``ls --select``)."""
    from lineagectl.queries.catalog import select_datasets as run

    return run(expression, db, exclude=exclude)


def show(name: str, db: Db, **options: Any) -> Result:
    """Everything the store knows about one dataset or job (options: namespace, kind)."""
    from lineagectl.queries.show import show as run

    return run(name, db, **options)


def impact(name: str, db: Db, **options: Any) -> Result:
    """What is downstream of ``name`` (options: column, depth, direct_only, namespace, kind,
    include_jobs, as_of, select, exclude)."""
    from lineagectl.queries.lineage import impact as run

    return run(name, db, **options)


def trace(name: str | None, db: Db, *, run_id: str | None = None, version: str | None = None,
          **options: Any) -> Result:
    """What is upstream of ``name``; with ``run_id`` or ``version``, the runs and input versions
    behind that run or dataset version."""
    if run_id is not None or version is not None:
        return run_provenance(db, run_id=run_id, name=name, version=version,
                              namespace=options.get("namespace"), depth=options.get("depth"))
    from lineagectl.errors import InputError
    from lineagectl.queries.lineage import trace as run

    if name is None:
        raise InputError("trace needs a NAME (or --run RUN_ID)")
    return run(name, db, **options)


def run_provenance(db: Db, **options: Any) -> Result:
    """The runs, jobs, SQL and input versions behind a run (``run_id``) or dataset ``name``/``version``."""
    from lineagectl.queries.provenance import run_provenance as run

    return run(db, **options)


def graph(name: str, db: Db, **options: Any) -> Result:
    """The lineage around ``name`` as nodes and edges, marked as the HTML explorer marks them: root, PII,
    regions, violations, dropped, failed runs (options: direction, depth, column, namespace, kind, select,
    exclude, policy, as_of, datasets_only)."""
    from lineagectl.explore.text import graph as run

    return run(name, db, **options)


def graph_page(name: str | None, db: Db, **options: Any) -> Result:
    """The data of an offline HTML explorer page: ``name`` ± depth capped at ``max_nodes`` ("+N more"
    nodes hold the rest), or the whole store with ``whole=True`` (options: whole, direction, depth, max_nodes,
    namespace, kind, column, select, exclude, policy, as_of, datasets_only). ``graph_html`` writes the page."""
    from lineagectl.explore.build import graph_page as run

    return run(name, db, **options)


def graph_html(page: Result) -> str:
    """The self-contained HTML file (scripts inlined, no network) of a ``graph_page`` result."""
    from lineagectl.explore.page import html_page

    return html_page(page.payload)


def pii(db: Db, policy: PolicyArg = None) -> Result:
    """Personal-data columns and every column their values reach through DIRECT lineage."""
    from lineagectl.compliance.pii import pii as run

    return run(db, policy)


def erase(column: str | None, db: Db, **options: Any) -> Result:
    """A right-to-erasure plan for the subject identified by ``column`` (options: name, value,
    dialect, tag, namespace, policy)."""
    from lineagectl.compliance.erase import erase as run

    return run(column, db=db, **options)


def access(column: str | None, db: Db, **options: Any) -> Result:
    """A subject-access plan (same options as ``erase``)."""
    from lineagectl.compliance.erase import access as run

    return run(column, db=db, **options)


def residency_check(db: Db, policy: PolicyArg) -> Result:
    """Every residency and flow rule of ``policy`` over the store; ``exit_status`` 1 on violations."""
    from lineagectl.compliance.residency import check as run

    return run(db, policy)


def policy_check(policy: PolicyArg, db: Db | None = None) -> Result:
    """Validate a policy file and, when a store is given and exists, map its regions over the datasets."""
    from lineagectl.compliance.residency import policy_report as run

    return run(policy, db)


def prune(db: Db, **options: Any) -> Result:
    """Apply retention (options: detailed_days, summary_days, dry_run, policy)."""
    from lineagectl.operations.prune import as_result
    from lineagectl.operations.prune import prune as run

    return as_result(run(db, **options))


def prune_history(db: Db) -> Result:
    """Every prune run: when, with which cutoffs, and the rows removed per table."""
    from lineagectl.operations.prune import history as run

    return run(db)


def export(db: Db, *, since: str | None = None, namespace: str | None = None,
           job: str | None = None) -> Iterator[str]:
    """The stored OpenLineage events, each exactly as stored (one minified JSON text per event),
    oldest event time first, streamed; filters: ``since`` (``7d`` or a timestamp), ``namespace``, ``job``."""
    from lineagectl.queries.export import export_events

    return export_events(db, since=since, namespace=namespace, job=job)


def export_to(url: str, db: Db, *, token: str | None = None, since: str | None = None,
              namespace: str | None = None, job: str | None = None, batch_size: int = 100,
              resume: str | None = None, retries: int = 5) -> dict[str, Any]:
    """Replay ``export``'s events to the OpenLineage backend at ``url``: ``batch_size`` events per
    ``POST /api/v1/lineage/batch`` (one ``POST /api/v1/lineage`` each where the receiver has no batch
    endpoint, or with ``batch_size`` 1), 5xx/429 retried ``retries`` times with backoff. ``resume``: a
    checkpoint file recording the last event answered; a re-run with it continues after that event.
    Returns ``{"sent", "rejected", "rejects", "requests", "batch"}`` (``operations.replay``), and with
    ``resume`` the totals over every run of that checkpoint as ``sent_total``/``rejected_total``."""
    from pathlib import Path

    from lineagectl.operations.checkpoint import Checkpoint
    from lineagectl.operations.replay import replay
    from lineagectl.queries.export import export_keyed

    checkpoint = None
    if resume:
        checkpoint = Checkpoint(Path(resume), {"to": url, "since": since, "namespace": namespace, "job": job})
    events = export_keyed(db, since=since, namespace=namespace, job=job,
                          after=checkpoint.after if checkpoint is not None else None)
    try:
        summary = replay(events, url, token=token, retries=retries, batch_size=batch_size, checkpoint=checkpoint)
    finally:
        events.close()
    if checkpoint is not None:
        summary.update(sent_total=checkpoint.sent, rejected_total=checkpoint.rejected)
    return summary


def import_marquez(url: str, db: Db, *, since: str | None = None, until: str | None = None,
                   token: str | None = None, page_size: int = 100, retries: int = 5,
                   on_reject: Any = None) -> dict[str, Any]:
    """Ingest the events a running Marquez at ``url`` holds (``GET /api/v1/events/lineage``, oldest
    first, ``page_size`` a request) from ``since`` (inclusive) to ``until`` (exclusive), each page
    stored in one transaction before the next is fetched; re-running adds nothing twice.
    Returns ``{"pages", "events_read", "events_new", "events_duplicate", "events_rejected",
    "next_since"}`` (``next_since``: the ``since`` of a later run that continues where this one
    ended). A refused connection, an HTTP error or an answer that is no page raises ``InputError``
    naming the URL and status and the ``--since`` to resume from; the pages before it stay stored.
    ``on_reject(message)`` receives ``page N: event #M: reason`` for each event ingest rejects."""
    from lineagectl.sources.marquez_api import import_events

    return import_events(url, db, since=since, until=until, token=token, page_size=page_size, retries=retries,
                         on_reject=on_reject)


def changes(name: str, db: Db, **options: Any) -> Result:
    """What changed upstream of ``name`` (options: since, namespace, kind, depth, policy)."""
    from lineagectl.operations.changes import changes as run

    return run(name, db, **options)


def quality(db: Db, policy: PolicyArg = None, **options: Any) -> Result:
    """Latest quality metrics, broken rules and what is at risk downstream (options: gate, namespace)."""
    from lineagectl.operations.quality import quality as run

    return run(db, policy, **options)


def sql_lineage(sql: str, dialect: str | None = None, schema: Any = None, timeout: float | None = None) -> Result:
    """Lineage of a SQL script, no store: payload ``{"statements": [{index, kind, targets, sources,
    columns, dataset, errors}]}``. ``schema``: ``{"db.schema.table": {"column": "type"}}`` (any depth),
    or the path of a JSON/YAML file of it or of a dbt ``catalog.json``. ``timeout``: CPU seconds one
    statement's column lineage may take before it is skipped (None: 10, 0: no limit)."""
    from lineagectl.sources.sql_answer import answer, table_graph

    payload = answer(sql, dialect, schema, timeout)
    return Result(kind="sql", payload=payload, context={"dialect": dialect}, graph=table_graph(payload))


def diff(old: str, new: str, old_catalog: str | None = None, new_catalog: str | None = None,
         policy: PolicyArg = None, fail_on: str = "breaking", db: Db = None) -> Result:
    """What a dbt change does, before it ships: the nodes dbt's ``state:modified`` rules call changed
    from manifest ``old`` to ``new`` (added, removed, modified with reasons), their column changes
    classified breaking/partial/non-breaking, and the columns, owners and exposures each reaches in
    ``new``; with ``policy``, the residency and flow violations ``new`` introduces or resolves. No
    store needed; with ``db`` (opened read-only), each breaking or partial change also reaches the
    consumers outside dbt in the store's runtime lineage, with their owners (``"via": "store"``).
    ``exit_status`` 1 when a change is breaking or a violation new (``fail_on``: ``partial``
    also on a partial change, ``violation`` only on a new violation, ``never``)."""
    from lineagectl.diff.report import diff as run

    return run(old, new, old_catalog, new_catalog, policy, fail_on, db)


sql = sql_lineage  # the `lineagectl sql` command's function, by the command's name


def doctor(db: Db, policy: Any = None) -> Result:
    """Checks of a setup: the store (schema, counts) and the policy (valid?) given, and the versions
    of lineagectl, Python and the libraries; ``exit_status`` USAGE when something is unusable.
    Payload: ``[{"check", "value", "detail"}]``."""
    from lineagectl.operations.doctor import setup_checks

    return setup_checks(db, policy, counts=lambda: stats(db).payload, load=load_policy)


def complete_names(prefix: str, db: Db, *, jobs: bool = False, limit: int = 50) -> list[str]:
    """Dataset names (and job names with ``jobs``) that a name argument starting with ``prefix``
    may be completed to: full names and the suffixes at a ``.``/``/`` boundary that resolve, at
    most ``limit``. Opens the store read-only; for shell completion."""
    from lineagectl.graph.names import names_starting
    from lineagectl.store.db import open_store as opened

    with opened(db) as con:
        return names_starting(con, prefix, jobs=jobs, limit=limit)


def serve(db: Db, *, spool: str | None = None, ingest_every: str = "30s", max_body: str = "32MiB",
          spool_max_bytes: str = "64MiB", certfile: str | None = None, keyfile: str | None = None,
          stop: Any = None, ready: Any = None, log: Any = None, access_log: Any = None, explorer: bool = True,
          policy: PolicyArg = None, **options: Any) -> dict:
    """Run the OpenLineage HTTP receiver on the store ``db`` until ``stop`` (a ``threading.Event``) is set.

    Options are those of ``serve.server.ServeOptions`` (``host``, ``port``, ``token``, ``fsync``,
    ``insecure_no_auth``, ``socket_timeout``); ``spool`` defaults to ``<db>.spool``; ``ingest_every``
    is a duration (``30s``), ``max_body`` and ``spool_max_bytes`` (a spool segment that size is stored
    at once, before ``ingest_every`` is up) sizes (``32MiB``). ``certfile``/``keyfile`` (PEM): HTTPS.
    Ctrl-C drains the spool and is re-raised.
    ``ready(host, port)`` is called once listening; ``log``/``access_log`` receive lines to show.
    With ``explorer``, ``GET /`` answers the HTML explorer of the whole store (``graph --all -f html``,
    marks from ``policy``); the read endpoints (``serve.reads``: Marquez's ``/api/v1`` shapes and
    ``/lineagectl/v1`` answers as ``-f json``, with ``policy``) answer from the functions here.
    Returns ``{"events_spooled", "events_stored"}``.
    """
    from pathlib import Path

    from lineagectl.serve.server import ServeOptions, parse_size
    from lineagectl.serve.server import serve as run
    from lineagectl.store.db import Store

    every = _duration(ingest_every, "--ingest-every")
    if every is None:
        raise InputError("--ingest-every must be a duration such as 30s")
    path = db.path if isinstance(db, Store) else Path(db or "lineage.duckdb")
    settings = ServeOptions(spool_dir=Path(spool) if spool else Path(f"{path}.spool"),
                            ingest_every=every.total_seconds(), max_body=parse_size(max_body, "--max-body"),
                            spool_max_bytes=parse_size(spool_max_bytes, "--spool-max-bytes"),
                            certfile=Path(certfile) if certfile else None, keyfile=Path(keyfile) if keyfile else None,
                            **options)
    def index_page() -> str:
        return graph_html(graph_page(None, db, whole=True, policy=policy))

    from lineagectl.queries import objects
    from lineagectl.queries.field_lineage import field_lineage
    from lineagectl.serve.reads import Library

    library = Library(db=db, policy=policy, graph=graph, impact=impact, trace=trace, erase=erase,
                      residency_check=residency_check, catalog=objects, field_lineage=field_lineage)
    return run(db, settings, stop=stop, ready=ready, log=log or (lambda _: None), access_log=access_log,
               index_page=index_page if explorer else None, library=library)


def migrate(db: Db, *, compact: bool = True) -> MigrateReport:
    """Upgrade an older store to the current schema (opening it for writing does it, in one
    transaction), then compact the file the upgrade left with free space (``compact``)."""
    from lineagectl.operations.migrate import migrate as run

    return run(db, compact=compact)


__all__ = ["Result", "access", "changes", "complete_names", "diff", "doctor", "erase", "export", "export_to",
           "graph", "graph_html", "graph_page", "impact", "import_marquez", "ingest", "load_policy", "ls",
           "migrate", "open_store", "pii", "policy_check", "prune", "prune_history", "quality",
           "residency_check", "run_provenance", "select", "serve", "show", "sql", "sql_lineage", "stats",
           "trace"]
