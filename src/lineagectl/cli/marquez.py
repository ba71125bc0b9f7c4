"""``lineagectl import-marquez URL``: a running Marquez's event history into the store
(options → ``api.import_marquez`` → summary → exit).

The token is read from ``--token-file`` only: ``$LINEAGECTL_TOKEN`` is lineagectl's own
server's, and is not sent to another host.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from lineagectl import api
from lineagectl.cli import DbOption, OutputOption, command, emit
from lineagectl.cli.boundary import stderr as _stderr
from lineagectl.cli.environment import bearer_token, settings, store
from lineagectl.cli.ingest import MAX_SHOWN_REJECTS, RejectPrinter
from lineagectl.results import Result


@command("import-marquez", panel="Ingest", examples=(
    "# Every event a Marquez holds, oldest first (its API on localhost:5000)",
    "lineagectl import-marquez http://localhost:5000",
    "# The last 30 days, with the API key in ./key",
    "lineagectl import-marquez http://localhost:5000 --since 30d --token-file key"))
def import_marquez(
    url: Annotated[str, typer.Argument(
        metavar="URL", help="Marquez's API (http(s)://host:port, as its clients are given).", show_default=False)],
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", help="Only events from then on (inclusive): 7d, 36h, or a timestamp.",
        show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="WHEN", help="Only events before then: 7d, 36h, or a timestamp.",
        show_default=False)] = None,
    token_file: Annotated[str | None, typer.Option(
        "--token-file", metavar="FILE", help="File holding the bearer token Marquez expects (default: none).",
        show_default=False)] = None,
    page_size: Annotated[int, typer.Option(
        "--page-size", metavar="N", min=1, max=10_000, help="Events asked for per request.")] = 100,
    retries: Annotated[int, typer.Option(
        "--retries", metavar="N", min=0,
        help="Tries again after a 5xx, 429 or lost connection, with backoff.")] = 5,
    db: DbOption = None,
    fmt: Annotated[Literal["json", "ndjson", "csv"] | None, typer.Option(
        "--format", "-f", metavar="FORMAT", case_sensitive=False,
        help="json, ndjson or csv: print the import report on stdout (default: a summary on stderr).")] = None,
    output: OutputOption = None,
) -> None:
    """Import the event history of a running Marquez.

    Pages through GET URL/api/v1/events/lineage oldest first, storing each page before the
    next (re-running adds nothing twice). On a failure the pages before it stay stored and the
    error says which --since resumes. Exit 1 if events were rejected.
    """
    rejects = RejectPrinter()
    token = bearer_token(token_file) if token_file else None
    done = api.import_marquez(url, store(db), since=since, until=until, token=token, page_size=page_size,
                              retries=retries, on_reject=rejects)
    if fmt:
        emit(Result("import-marquez", done), fmt, output, allowed=("json", "ndjson", "csv"))
    if rejects.count > MAX_SHOWN_REJECTS:
        _stderr(f"... and {rejects.count - MAX_SHOWN_REJECTS} more rejected events")
    if not settings.quiet:
        resume = f"; to continue later: --since {done['next_since']}" if done["next_since"] else ""
        _stderr(f"imported {done['pages']:,} pages from {url}: {done['events_read']:,} events read, "
                f"{done['events_new']:,} new, {done['events_duplicate']:,} duplicate, "
                f"{done['events_rejected']:,} rejected{resume}")
    if done["events_rejected"]:
        raise typer.Exit(1)
