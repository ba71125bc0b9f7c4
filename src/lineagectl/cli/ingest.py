"""The ingest-side commands: ``ingest`` (events, dbt artifacts, SQL scripts into the store) and ``sql``
(a script's lineage, no store). The reject printer is shared with ``import-marquez``."""

from __future__ import annotations

import sys
from typing import Annotated, Literal, get_args

import typer

from lineagectl import api
from lineagectl.cli import DbOption, OutputOption, QuietOption, Tabular, color, command, emit
from lineagectl.cli.boundary import stderr as _stderr
from lineagectl.cli.environment import settings, store
from lineagectl.errors import InputError
from lineagectl.results import Result

MAX_SHOWN_REJECTS = 1000


class RejectPrinter:
    """Prints ``file:line: reason`` lines to stderr, up to a limit."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        if self.count <= MAX_SHOWN_REJECTS:
            _stderr(message)


def _progress_bar():
    """A byte-sized progress bar on a terminal, else nothing."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress("ingesting", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True, no_color=not color(sys.stderr)),
                   transient=True)
    task = bar.add_task("ingest", total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


@command("ingest", panel="Ingest", examples=(
    "# A folder: files ingested before and unchanged are skipped",
    "lineagectl ingest sample_events/",
    "# One file, the report as JSON on stdout (an event seen before is a duplicate)",
    "lineagectl ingest sample_events/ecommerce.ndjson -f json",
    "# Standard input",
    "cat sample_events/ecommerce.ndjson | lineagectl ingest -"))
def ingest(
    paths: Annotated[list[str], typer.Argument(
        metavar="PATH...",
        help="NDJSON or JSON files (optionally .gz), directories (recursive), dbt manifest.json, *.sql "
             "scripts, or - for stdin.", show_default=False)],
    strict: Annotated[bool, typer.Option(
        "--strict", help="Store nothing from this invocation if any event is rejected "
                         "(a malformed facet rejects its event, instead of being left out).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Read every file of a directory, also those ingested before and unchanged since "
                        "(same path, size and modification time), which are skipped otherwise.")] = False,
    namespace: Annotated[str | None, typer.Option(
        "--namespace", metavar="NS",
        help="dbt manifests: dataset namespace (e.g. postgres://host:5432) to match runtime events.")] = None,
    catalog: Annotated[str | None, typer.Option(
        "--catalog", metavar="FILE", help="dbt manifests: catalog.json with column names and types.")] = None,
    run_results: Annotated[str | None, typer.Option(
        "--run-results", metavar="FILE",
        help="dbt manifests: run_results.json (model runs; test results as quality assertions).")] = None,
    dialect: Annotated[str | None, typer.Option(
        "--dialect", metavar="DIALECT",
        help="SQL scripts (*.sql): their dialect (postgres, snowflake, bigquery, ...).")] = None,
    job_namespace: Annotated[str | None, typer.Option(
        "--job-namespace", metavar="NS", help="SQL scripts: the namespace of their jobs (default: sql).")] = None,
    sql_timeout: Annotated[float, typer.Option(
        "--sql-timeout", metavar="SECONDS", min=0,
        help="dbt manifests and SQL scripts: skip a model's or statement's column lineage (with a warning, "
             "table lineage kept) past this many seconds of CPU; 0: no limit.")] = 10.0,
    max_future: Annotated[str, typer.Option(
        "--max-future", metavar="DURATION",
        help="Reject events dated further ahead than this (a producer's wrong clock); 'none' accepts any.")] = "1d",
    max_record_size: Annotated[int, typer.Option(
        "--max-record-size", metavar="MIB", min=1,
        help="Reject a line or JSON array element larger than this many MiB (skipped in bounded memory).")] = 64,
    db: DbOption = None,
    fmt: Annotated[Tabular | None, typer.Option(
        "--format", "-f", metavar="FORMAT", case_sensitive=False,
        help="json: print the ingest report on stdout (default: a summary on stderr).")] = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Ingest OpenLineage events, dbt artifacts or SQL.

    Each file is stored whole or not at all; ingesting the same events again changes nothing.
    """
    quiet = quiet or settings.quiet
    rejects = RejectPrinter()
    bar, progress = (None, None) if quiet else _progress_bar()
    if bar:
        bar.start()
    try:
        report = api.ingest(paths, store(db), strict=strict, on_reject=rejects, progress=progress,
                            namespace=namespace, catalog=catalog, run_results=run_results, force=force,
                            max_future=max_future, dialect=dialect, job_namespace=job_namespace,
                            max_record_bytes=max_record_size << 20, sql_timeout=sql_timeout)
    finally:
        if bar:
            bar.stop()
    if rejects.count > MAX_SHOWN_REJECTS:
        _stderr(f"... and {rejects.count - MAX_SHOWN_REJECTS} more rejected events")
    if not quiet:
        for warning in report.warnings:
            _stderr(f"Warning: {warning}")
    for problem in report.file_errors:
        _stderr(f"Error: {problem} (nothing from that file was stored)")
    result = Result("ingest", report.as_dict())
    if fmt:
        emit(result, fmt, output)
    if not quiet:
        from lineagectl.cli.render.views import view_of

        _stderr(view_of(result).summary or "")
    if report.rolled_back:
        _stderr("Error: events were rejected and --strict is set: nothing was stored")
    raise typer.Exit(report.exit_status)


SqlFormat = Literal["table", "json", "ndjson", "csv", "mermaid", "dot"]


@command("sql", panel="Ingest", examples=(
    "# Each statement's targets, sources and column edges",
    "echo 'INSERT INTO t SELECT upper(name) AS name FROM c' | lineagectl sql -",
    "echo 'CREATE TABLE a AS SELECT x FROM b' | lineagectl sql - -f json"))
def sql(file: Annotated[str, typer.Argument(
            metavar="FILE", help="A SQL script, or - for stdin.", show_default=False)],
        dialect: Annotated[str | None, typer.Option(
            "--dialect", metavar="D", help="SQL dialect: postgres, snowflake, bigquery, hive, tsql, …")] = None,
        schema: Annotated[str | None, typer.Option(
            "--schema", metavar="PATH",
            help="Table columns: a dbt catalog.json, or JSON/YAML {db.schema.table: {column: type}}.")] = None,
        fmt: Annotated[SqlFormat, typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False,
            help="table, json, ndjson, csv, or mermaid/dot (the tables, an edge per statement).")] = "table",
        sql_timeout: Annotated[float, typer.Option(
            "--sql-timeout", metavar="SECONDS", min=0,
            help="Skip a statement's column lineage (reported, its tables kept) past this many seconds of CPU; "
                 "0: no limit.")] = 10.0,
        output: OutputOption = None) -> None:
    """Lineage of a SQL script, without a store.

    For each statement: the tables it writes and reads, and its typed column edges.
    """
    if file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(file, encoding="utf-8") as stream:
                text = stream.read()
        except OSError as exc:
            raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise InputError(f"{file} is not UTF-8 text") from None
    emit(api.sql_lineage(text, dialect=dialect, schema=schema, timeout=sql_timeout), fmt, output,
         allowed=get_args(SqlFormat))
