"""``lineagectl serve``: the OpenLineage HTTP receiver (options → ``api.serve`` → exit).

The token comes from ``--token-file`` or ``$LINEAGECTL_TOKEN`` (read here: the
library never reads the environment); SIGTERM stops the server as Ctrl-C does,
but ends with status 0 (a service manager's ordinary stop) instead of 130.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Literal

import typer

from lineagectl import api
from lineagectl.cli import DbOption, command
from lineagectl.cli.boundary import stderr as _stderr
from lineagectl.cli.environment import bearer_token, policy_path, settings, store


@command("serve", panel="Ingest", examples=(
    "# Receive events; here for 5 s, then SIGTERM drains the spool (exit 0)",
    "lineagectl serve --port 0 & sleep 5; kill $!; wait $!",
    "# Store every 5 s; with LINEAGECTL_TOKEN set, clients send it as Bearer",
    "lineagectl serve --port 0 --ingest-every 5s & sleep 5; kill $!; wait $!"))
def serve(
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Address to listen on; beyond loopback a token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535,
                                      help="Port to listen on (0: any free port).")] = 5000,
    spool: Annotated[str | None, typer.Option(
        "--spool", metavar="DIR", help="Spool directory (default: the store's path + .spool).",
        show_default=False)] = None,
    token_file: Annotated[str | None, typer.Option(
        "--token-file", metavar="FILE",
        help="File holding the bearer token clients must send (default: $LINEAGECTL_TOKEN; none: no auth).",
        show_default=False)] = None,
    ingest_every: Annotated[str, typer.Option(
        "--ingest-every", metavar="DURATION", help="How often the spool is ingested into the store.")] = "30s",
    max_body: Annotated[str, typer.Option(
        "--max-body", metavar="SIZE", help="Largest request body, before and after gzip.")] = "32MiB",
    spool_max_bytes: Annotated[str, typer.Option(
        "--spool-max-bytes", metavar="SIZE",
        help="A spool file this big is stored at once, before --ingest-every is up.")] = "64MiB",
    fsync: Annotated[Literal["always", "1s"], typer.Option(
        "--fsync", metavar="POLICY", case_sensitive=False,
        help="Flush the spool to disk before every answer (always) or within a second (1s).")] = "1s",
    certfile: Annotated[str | None, typer.Option(
        "--certfile", metavar="FILE", help="Serve HTTPS with this PEM certificate (chain).", show_default=False)
    ] = None,
    keyfile: Annotated[str | None, typer.Option(
        "--keyfile", metavar="FILE", help="The certificate's PEM private key (default: in --certfile).",
        show_default=False)] = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Listen beyond loopback without a token (anyone may send events).")] = False,
    drain: Annotated[bool, typer.Option(
        "--drain", help="Store what the spool holds (left by a crashed server) and exit without listening.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Receive OpenLineage events over HTTP, as Marquez.

    Events POSTed to /api/v1/lineage are spooled to disk before the answer and ingested
    into the store in batches, so queries keep working while producers send. GET / shows
    the HTML explorer of the store; GET /api/v1/... answers reads as Marquez does, and
    /lineagectl/v1/impact (trace, erase, residency-check) as the command's -f json.
    """
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    quiet = settings.quiet
    log = (lambda line: None) if quiet else _stderr

    def ready(bound_host: str, bound_port: int) -> None:
        scheme = "https" if certfile else "http"
        _stderr(f"lineagectl serve: listening on {scheme}://{bound_host}:{bound_port} (Ctrl-C stops)")

    try:
        counts = api.serve(store(db), host=host, port=port, spool=spool, token=bearer_token(token_file),
                           ingest_every=ingest_every, max_body=max_body, spool_max_bytes=spool_max_bytes,
                           certfile=certfile, keyfile=keyfile, fsync=fsync,
                           insecure_no_auth=insecure_no_auth, listen=not drain, stop=stop, ready=ready, log=log,
                           policy=policy_path(), access_log=None if quiet else log)
    finally:
        # Run in-process (tests, a library caller's CliRunner) the handler must not outlive the
        # command: a process forked later (a worker pool) would ignore the SIGTERM that stops it.
        signal.signal(signal.SIGTERM, previous)
    if not quiet:
        _stderr(f"lineagectl serve: stopped; {counts['events_spooled']} events received, "
                f"{counts['events_stored']} new events stored")
