"""The commands. Each: options → one library call → render → exit code.

Each command imports only the library module it needs, so a query never pays
for the ingest machinery (pyarrow, orjson) at start-up.
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal, get_args

import typer

from lineagectl import api
from lineagectl.cli import (
    LISTING,
    DbOption,
    FormatOption,
    ListFormatOption,
    NamespaceOption,
    OutputOption,
    PolicyOption,
    command,
    emit,
)
from lineagectl.cli.boundary import stderr as _stderr
from lineagectl.cli.completion import dataset_names, dataset_or_job_names
from lineagectl.cli.environment import policy_path, settings, store
from lineagectl.errors import InputError

# As gh: a terminal shows a page, a pipe or file gets everything.
DEFAULT_PAGE = 50


@command("stats", panel="Query", examples=(
    "lineagectl stats",
    "lineagectl stats -f json"))
def stats(db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None) -> None:
    """Count what the store holds.

    Datasets, jobs, runs, events, columns, dataset and column edges, namespaces, models.
    """
    emit(api.stats(store(db)), fmt, output)


@command("ls", "list", panel="Query", examples=(
    "lineagectl ls datasets --namespace bigquery",
    "lineagectl ls runs --state FAIL",
    "# churn_model and everything upstream, as dbt ls selects",
    "lineagectl ls --select +churn_model",
    "lineagectl ls jobs --since 2026-11-22 -f csv"))
def ls(
    kind: Annotated[Literal["datasets", "jobs", "runs", "dataset", "job", "run"], typer.Argument(
        metavar="KIND", help="datasets, jobs or runs (singular too).", case_sensitive=False)] = "datasets",
    select: Annotated[str | None, typer.Option(
        "--select", "-s", metavar="EXPR",
        help="dbt-style selection of datasets: 'name+', '+name', '2+name', '@name', 'tag:pii', "
             "'namespace:s3://*', 'owner:team:*', 'type:model'; space = union, comma = intersection.")] = None,
    exclude: Annotated[str | None, typer.Option(
        "--exclude", metavar="EXPR", help="Leave out datasets matching this selector.")] = None,
    namespace: NamespaceOption = None,
    name: Annotated[str | None, typer.Option(
        "--name", metavar="GLOB", help="Only names matching this glob (e.g. 'analytics_prod.*').")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", help="Only those seen since: 7d, 36h, 90m or a timestamp.")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", metavar="STATE", help="Runs in this state (COMPLETE, FAIL, ...).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", metavar="N",
        help="Show the first N (0: all). Default: 50 in a terminal's table, all otherwise.")] = None,
    db: DbOption = None,
    fmt: ListFormatOption = "table",
    output: OutputOption = None,
) -> None:
    """List datasets, jobs or runs (dbt-style --select).

    Datasets can be selected the way dbt selects nodes: lineagectl help selectors.
    """
    if limit is None and fmt.lower() == "table" and not output and sys.stdout.isatty():
        limit = DEFAULT_PAGE
    filters = {"limit": limit} if limit and select is None and exclude is None else {}
    result = api.ls(kind, store(db), select=select, exclude=exclude, namespace=namespace, name=name, since=since,
                    state=state, **filters)
    emit(result, fmt, output, allowed=LISTING)
    total = result.context.get("total")
    if total is not None and total > len(result.payload) and not settings.quiet:
        _stderr(f"… {total - len(result.payload):,} more (of {total:,}): --limit 0 shows all")


@command("show", panel="Query", examples=(
    "# A dataset: schema, versions, owners, tags, neighbours, writes",
    "lineagectl show user_master",
    "# A job: SQL, inputs and outputs, last runs",
    "lineagectl show analytics.daily_revenue --kind job",
    "lineagectl show churn_model -f json"))
def show(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="A dataset or job: full name, unique suffix (user_master) or alias.",
        show_default=False, autocompletion=dataset_or_job_names)],
    namespace: NamespaceOption = None,
    kind: Annotated[Literal["dataset", "model", "job"] | None, typer.Option(
        "--kind", metavar="KIND", case_sensitive=False, help="dataset, model or job, when a name is both.")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None,
) -> None:
    """Show one dataset or job in detail.

    A dataset: schema, versions, owners, tags, neighbours, writes. A job: SQL, inputs and
    outputs, last runs.
    """
    emit(api.show(name, store(db), namespace=namespace, kind=kind), fmt, output)


@command("migrate", panel="Operations", examples=(
    "lineagectl migrate",
    "lineagectl --db lineage.duckdb migrate"))
def migrate(db: DbOption = None) -> None:
    """Upgrade a store to the current schema.

    Write commands upgrade a store written by an older lineagectl on their own; read commands
    never write and ask for this. After an upgrade the file is compacted, giving back the space
    the old tables held.
    """
    report = api.migrate(store(db))
    if report.compact_error:
        _stderr(f"Warning: upgraded, but the file could not be compacted: {report.compact_error}")
    if settings.quiet:
        return
    if report.upgraded_from is None:
        _stderr(f"store schema is at version {report.version}")
    else:
        _stderr(f"store upgraded from schema {report.upgraded_from} to {report.version}; "
                f"store file: {report.bytes_before:,} -> {report.bytes_after:,} bytes")


def _lineage(direction: str, name: str, column, depth, direct_only, include_jobs, namespace, kind,
             as_of, select, exclude, db, fmt, output) -> None:
    run = api.impact if direction == "downstream" else api.trace
    emit(run(name, store(db), column=column, depth=depth, direct_only=direct_only, namespace=namespace,
             kind=kind, include_jobs=include_jobs, as_of=as_of, select=select, exclude=exclude), fmt, output,
         allowed=LISTING)


ColumnOption = Annotated[str | None, typer.Option(
    "--column", metavar="COL", help="Follow this column (case-insensitive) through column lineage.")]
DepthOption = Annotated[int | None, typer.Option("--depth", metavar="N", help="At most N dataset hops.")]
DirectOption = Annotated[bool, typer.Option(
    "--direct-only", help="With --column: only DIRECT edges (no join/filter/group-by influence).")]
JobsOption = Annotated[bool, typer.Option("--include-jobs", help="List the jobs on the way too.")]
KindOption = Annotated[Literal["dataset", "model"] | None, typer.Option(
    "--kind", metavar="KIND", case_sensitive=False, help="dataset or model, when a name is both.")]
SelectOption = Annotated[str | None, typer.Option(
    "--select", "-s", metavar="EXPR", help="Keep only datasets matching this dbt-style selector (e.g. type:model).")]
ExcludeOption = Annotated[str | None, typer.Option(
    "--exclude", metavar="EXPR", help="Leave out datasets matching this selector.")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", metavar="WHEN",
    help="Lineage as it stood then (each job's latest run): a timestamp or 7d, 36h, 90m ago.")]
_NAME = typer.Argument(metavar="NAME", help="A dataset or model: full name, unique suffix (user_master) or alias.",
                       show_default=False, autocompletion=dataset_names)
NameArgument = Annotated[str, _NAME]
OptionalNameArgument = Annotated[str | None, _NAME]  # trace --run, graph --all


@command("impact", panel="Query", examples=(
    "# Everything downstream, with the owners to warn",
    "lineagectl impact user_master",
    "lineagectl impact user_master --column email --direct-only",
    "# Only the ML models to retrain, as JSON",
    "lineagectl impact user_master -s type:model -f json",
    "lineagectl impact orders_enriched --as-of 2026-11-21T00:00:00Z"))
def impact(name: NameArgument, column: ColumnOption = None, depth: DepthOption = None,
           direct_only: DirectOption = False, include_jobs: JobsOption = False,
           namespace: NamespaceOption = None, kind: KindOption = None, as_of: AsOfOption = None,
           select: SelectOption = None, exclude: ExcludeOption = None,
           db: DbOption = None, fmt: ListFormatOption = "table", output: OutputOption = None) -> None:
    """What depends on NAME: what breaks if it changes.

    Every dataset and model downstream, with its hop count, type and owners to warn;
    --column follows column lineage.
    """
    _lineage("downstream", name, column, depth, direct_only, include_jobs, namespace, kind, as_of,
             select, exclude, db, fmt, output)


@command("trace", "provenance", panel="Query", examples=(
    "# Where a model comes from",
    "lineagectl trace churn_model",
    "lineagectl trace audience.csv --column email --direct-only",
    "# The runs, SQL and input versions behind version 2 of the model",
    "lineagectl trace churn_model --version 2"))
def trace(name: OptionalNameArgument = None,
          column: ColumnOption = None, depth: DepthOption = None,
          direct_only: DirectOption = False, include_jobs: JobsOption = False,
          namespace: NamespaceOption = None, kind: KindOption = None, as_of: AsOfOption = None,
          select: SelectOption = None, exclude: ExcludeOption = None,
          run: Annotated[str | None, typer.Option(
              "--run", metavar="RUN_ID", help="The runs and input versions that produced this run.")] = None,
          version: Annotated[str | None, typer.Option(
              "--version", metavar="V", help="The runs and input versions that produced version V of NAME.")] = None,
          db: DbOption = None, fmt: ListFormatOption = "table", output: OutputOption = None) -> None:
    """Where NAME comes from: everything upstream.

    Every upstream dataset and the jobs in between (alias: provenance). With --run or
    --version: the exact runs, jobs, SQL and input dataset versions behind it.
    """
    if run is not None or version is not None:
        emit(api.trace(name, store(db), run_id=run, version=version, namespace=namespace, depth=depth),
             fmt, output, allowed=LISTING)
        return
    if name is None:
        raise InputError("trace needs a NAME (or --run RUN_ID)")
    _lineage("upstream", name, column, depth, direct_only, include_jobs, namespace, kind, as_of,
             select, exclude, db, fmt, output)


GraphFormat = Literal["dot", "mermaid", "html", "json", "ndjson", "csv", "table"]


@command("graph", panel="Query", examples=(
    "# Mermaid (the default): paste into GitHub markdown",
    "lineagectl graph user_master > lineage.mmd",
    "# Column lineage, one row per edge",
    "lineagectl graph user_master --column email -f table",
    "# An offline page to explore (no network): the neighbourhood, the whole store",
    "lineagectl graph user_master -f html -o lineage.html",
    "lineagectl graph --all -f html -o all.html"))
def graph(name: OptionalNameArgument = None,
          direction: Annotated[Literal["upstream", "downstream", "both"], typer.Option(
              "--direction", metavar="DIR", case_sensitive=False, help="upstream, downstream or both.")] = "both",
          depth: Annotated[int, typer.Option("--depth", metavar="N", help="Hops each way.")] = 2,
          column: ColumnOption = None, namespace: NamespaceOption = None, kind: KindOption = None,
          select: SelectOption = None, exclude: ExcludeOption = None, policy: PolicyOption = None,
          as_of: AsOfOption = None, db: DbOption = None,
          fmt: Annotated[GraphFormat, typer.Option(
              "--format", "-f", metavar="FORMAT", case_sensitive=False,
              help="dot, mermaid, html (an offline page to explore), json, ndjson, csv or table.")] = "mermaid",
          whole: Annotated[bool, typer.Option(
              "--all", help="With -f html: every dataset and job of the store, laid out in layers.")] = False,
          max_nodes: Annotated[int, typer.Option(
              "--max-nodes", metavar="N",
              help="With -f html: draw at most N nodes; the rest wait in \"+N more\" nodes.")] = 300,
          datasets_only: Annotated[bool, typer.Option(
              "--datasets-only", help="Leave the jobs out: an edge from each input of a job to each output.")] = False,
          output: OutputOption = None) -> None:
    """Draw the lineage around NAME (Mermaid, dot, HTML).

    Datasets, jobs and models are styled apart; personal data is marked (PII).
    With -f html, one file to open in a browser, no network: owners, regions,
    violations, runs and quality on the nodes; --all draws the whole store.
    """
    if fmt.lower() == "html":
        emit(api.graph_page(name, store(db), whole=whole, direction=direction, depth=depth, max_nodes=max_nodes,
                            namespace=namespace, kind=kind, column=column, select=select, exclude=exclude,
                            policy=policy_path(policy), as_of=as_of, datasets_only=datasets_only),
             "html", output, allowed=("html",))
        return
    if whole or name is None:
        raise InputError("--all draws the whole store as an HTML page: add -f html" if whole
                         else "graph needs a NAME (or --all -f html for the whole store)")
    result = api.graph(name, store(db), direction=direction, depth=depth, column=column, namespace=namespace,
                       kind=kind, select=select, exclude=exclude, policy=policy_path(policy), as_of=as_of,
                       datasets_only=datasets_only)
    from lineagectl.cli.render.graphviz import LARGE_GRAPH_NODES

    drawn = len(result.graph["nodes"]) if result.graph else 0
    if fmt.lower() in ("dot", "mermaid") and drawn > LARGE_GRAPH_NODES:
        _stderr(f"Warning: {drawn:,} nodes are hard to read as one picture: narrow it with --depth, --select, "
                "--datasets-only or --direction, or explore it with -f html")
    emit(result, fmt, output, allowed=tuple(f for f in get_args(GraphFormat) if f != "html"))
