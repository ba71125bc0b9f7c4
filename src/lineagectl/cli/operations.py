"""Operations commands: prune (retention), changes (root cause), quality (metrics, risk, gates),
export (the stored events as NDJSON).

Like every command: options → one library call → render → exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Annotated, Any, TextIO

import typer

from lineagectl import api
from lineagectl.cli import (
    DbOption,
    FormatOption,
    NamespaceOption,
    OutputOption,
    PolicyOption,
    command,
    emit,
    finish,
    output_file,
)
from lineagectl.cli.boundary import stderr as _stderr
from lineagectl.cli.commands import KindOption, NameArgument
from lineagectl.cli.environment import bearer_token, policy_path, settings, store
from lineagectl.errors import InputError


@command("prune", panel="Operations", examples=(
    "# Exactly what would go, per table; nothing changes",
    "lineagectl prune --dry-run",
    "lineagectl prune --detailed-days 90 --summary-days 365",
    "# What every earlier prune removed",
    "lineagectl prune --history"))
def prune(
    detailed_days: Annotated[int | None, typer.Option(
        "--detailed-days", metavar="N", help="Keep run-level detail this many days (default: policy, else 90).",
        show_default=False)] = None,
    summary_days: Annotated[int | None, typer.Option(
        "--summary-days", metavar="N", help="Keep summary lineage this many days (default: policy, else 365).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Count exactly what would go, per table, and change nothing.")] = False,
    show_history: Annotated[bool, typer.Option("--history", help="List what earlier prunes removed.")] = False,
    db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None,
) -> None:
    """Apply retention: drop old run detail and lineage.

    Drops run-level detail after --detailed-days and lineage unseen for --summary-days.
    """
    if show_history:
        emit(api.prune_history(store(db)), fmt, output)
        return
    result = api.prune(store(db), detailed_days=detailed_days, summary_days=summary_days, dry_run=dry_run,
                       policy=policy_path())
    emit(result, fmt, output)
    report = result.payload
    if report["compact_error"]:
        _stderr(f"Warning: pruned, but the file could not be compacted: {report['compact_error']}")
    if not settings.quiet and not dry_run:
        _stderr(f"store file: {report['bytes_before']:,} -> {report['bytes_after']:,} bytes")


@command("changes", panel="Operations", examples=(
    "# Why did user_features change? Newest first",
    "lineagectl changes user_features --since 2026-11-19",
    "lineagectl changes eu_order_amounts --since 2026-11-19 -f json"))
def changes(name: NameArgument,
            since: Annotated[str, typer.Option(
                "--since", metavar="WHEN", help="Window: 7d, 36h, 90m ago, or a timestamp.")] = "7d",
            depth: Annotated[int | None, typer.Option(
                "--depth", metavar="N", help="Look at most N dataset hops upstream (0: NAME only).")] = None,
            namespace: NamespaceOption = None, kind: KindOption = None,
            db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None) -> None:
    """What changed upstream of NAME, and when.

    Schema and SQL changes, failed runs and gaps in a job's cadence, for NAME and everything
    upstream of it.
    """
    emit(api.changes(name, store(db), since=since, namespace=namespace, kind=kind, depth=depth,
                     policy=policy_path()), fmt, output)


@command("quality", panel="Operations", examples=(
    "# Latest metrics, broken rules, what is at risk downstream",
    "lineagectl quality",
    "# Exit 1 if churn_model is at risk: run it before training",
    "lineagectl quality --gate churn_model"))
def quality(
    gate: Annotated[str | None, typer.Option(
        "--gate", metavar="NAME", help="Exit 1 if NAME breaks a quality rule or is downstream of one that does.",
        show_default=False)] = None,
    namespace: NamespaceOption = None,
    policy: PolicyOption = None,
    db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None,
) -> None:
    """Quality metrics, broken rules, what is at risk.

    The latest data-quality metrics and failed assertions, and the datasets at risk downstream
    of a broken rule.
    """
    finish(api.quality(store(db), policy_path(policy), gate=gate, namespace=namespace), fmt, output)


@command("export", panel="Operations", examples=(
    "# Every stored event, oldest first, as an OpenLineage NDJSON log",
    "lineagectl export -o events.ndjson",
    "# One job's events since a day, to replay elsewhere",
    "lineagectl export --job analytics.daily_revenue --since 2026-11-21"))
def export(
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", help="Only events from then on: 7d, 36h, 90m ago, or a timestamp.",
        show_default=False)] = None,
    namespace: Annotated[str | None, typer.Option(
        "--namespace", metavar="NS",
        help="Only events whose job (for dataset events: dataset) is in this namespace.")] = None,
    job: Annotated[str | None, typer.Option(
        "--job", metavar="NAME", help="Only the events of the job of this name.", show_default=False)] = None,
    to: Annotated[str | None, typer.Option(
        "--to", metavar="URL", help="Replay the events to this OpenLineage backend (POST URL/api/v1/lineage).",
        show_default=False)] = None,
    token_file: Annotated[str | None, typer.Option(
        "--token-file", metavar="FILE",
        help="With --to: file holding the bearer token to send (default: $LINEAGECTL_TOKEN).",
        show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", metavar="N", min=1,
        help="With --to: events per POST /api/v1/lineage/batch (1: one POST /api/v1/lineage each).")] = 100,
    resume: Annotated[str | None, typer.Option(
        "--resume", metavar="FILE",
        help="With --to: checkpoint file of the last event answered; a re-run with it continues there.",
        show_default=False)] = None,
    retries: Annotated[int, typer.Option(
        "--retries", metavar="N", min=0, help="With --to: tries again after a 5xx, 429 or lost connection.")] = 5,
    db: DbOption = None, output: OutputOption = None,
) -> None:
    """Write the stored OpenLineage events as NDJSON.

    Each distinct event exactly as stored, one per line, in event-time order: the events of logs
    and of serve, and those ingest derived from dbt manifests and SQL scripts. Ingesting the
    file into a fresh store rebuilds the same lineage. --to replays them to another backend
    (Marquez, DataHub, lineagectl serve) in batches, retrying 5xx/429; exit 1 if it rejected any.
    """
    if to:
        _replay(to, bearer_token(token_file), store(db), since=since, namespace=namespace, job=job,
                batch_size=batch_size, resume=resume, retries=retries)
        return
    if resume:
        raise InputError("--resume is a checkpoint of --to: give --to URL too")
    events = api.export(store(db), since=since, namespace=namespace, job=job)
    if not output:
        _write_lines(events, sys.stdout)
        return
    with output_file(output) as stream:
        _write_lines(events, stream)


def _write_lines(events: Iterable[str], stream: TextIO) -> None:
    for event in events:
        stream.write(event)
        stream.write("\n")


def _replay(url: str, token: str | None, db: object, **options: Any) -> None:
    summary = api.export_to(url, db, token=token, **options)
    for reject in summary["rejects"]:
        status = f"HTTP {reject['status']}" if reject["status"] is not None else "refused in its batch"
        _stderr(f"event #{reject['event']}: {status}: {reject['reason'][:200]}")
    if not settings.quiet:
        how = {True: "in batches", False: "one per request (the receiver has no /api/v1/lineage/batch)",
               None: "one per request"}[summary["batch"]]
        _stderr(f"sent {summary['sent']:,} events to {url} {how}, {summary['rejected']:,} rejected "
                f"({summary['requests']:,} requests)")
        if "sent_total" in summary:
            _stderr(f"checkpoint {options['resume']}: {summary['sent_total']:,} sent and "
                    f"{summary['rejected_total']:,} rejected over every run")
    if summary["rejected"]:
        raise typer.Exit(1)
