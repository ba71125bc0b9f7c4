"""Running the receiver: recover the spool, listen, ingest periodically, stop gracefully.

Start: a spool left by an earlier process (a crash, a power loss) is ingested
before the first request is answered. Stop (``stop`` set, or Ctrl-C): the
listener closes first, so nothing is acknowledged after the final ingest
begins; then the spool is drained into the store.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineagectl.errors import InputError
from lineagectl.serve.app import Limits, Receiver
from lineagectl.serve.gate import StoreGate
from lineagectl.serve.ingester import Ingester, pending_files
from lineagectl.serve.reads import Library
from lineagectl.serve.spool import Spool
from lineagectl.serve.tls import TLSReceiver, server_context

# How long a stop waits for requests under way before the final ingest (each is one spool append).
QUIESCE_SECONDS = 10.0


@dataclass(frozen=True)
class ServeOptions:
    """Every setting of a server, as values (the command line resolves them)."""

    host: str = "127.0.0.1"
    port: int = 5000
    spool_dir: Path = Path("lineage.duckdb.spool")
    token: str | None = None
    ingest_every: float = 30.0
    max_body: int = 32 << 20
    # A spool segment this big is rotated and stored at once, before ``ingest_every`` is up.
    spool_max_bytes: int = 64 << 20
    fsync: str = "1s"
    socket_timeout: float = 30.0
    insecure_no_auth: bool = False
    # HTTPS with this certificate chain (PEM) and its private key (None: the key is in certfile).
    certfile: Path | None = None
    keyfile: Path | None = None
    # False: store what the spool holds (left by a stopped or crashed server) and return, without listening.
    listen: bool = True


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """``InputError`` for settings that would expose an open receiver or cannot work."""
    if not is_loopback(options.host) and not options.token and not options.insecure_no_auth:
        raise InputError(
            f"--host {options.host} listens beyond this machine, and no token is set",
            hint="set LINEAGECTL_TOKEN or --token-file, or pass --insecure-no-auth to accept anyone's events")
    if options.token is not None and not options.token.strip():
        raise InputError("the token is empty", hint="put a long random string in the token file")
    if options.ingest_every <= 0:
        raise InputError("--ingest-every must be more than 0 seconds")
    if options.max_body < 1024:
        raise InputError("--max-body must be at least 1 KiB")
    if options.keyfile is not None and options.certfile is None:
        raise InputError("--keyfile needs --certfile (the certificate the key belongs to)")
    if options.spool_max_bytes < 1024:
        raise InputError("--spool-max-bytes must be at least 1 KiB")


def serve(db: Any, options: ServeOptions, *, stop: threading.Event | None = None,
          ready: Callable[[str, int], None] | None = None, log: Callable[[str], None] = lambda _: None,
          access_log: Callable[[str], None] | None = None, index_page: Callable[[], str] | None = None,
          library: Library | None = None) -> dict:
    """Receive events until ``stop`` is set (or Ctrl-C, re-raised after the drain); returns counts.

    ``ready(host, port)`` is called once the socket listens (``port`` 0 picks a free one);
    ``log`` receives the ingester's lines, ``access_log`` one line per request; ``index_page``, if
    given, makes the HTML it returns the answer to ``GET /``; ``library`` answers the read endpoints
    (``serve.reads``).
    """
    check_options(options)
    context = server_context(options.certfile, options.keyfile) if options.certfile is not None else None
    stop = stop or threading.Event()
    spool = Spool(options.spool_dir, options.fsync, max_bytes=options.spool_max_bytes)
    try:
        spool.open()
    except OSError as exc:
        raise InputError(f"cannot use the spool directory {options.spool_dir}: {exc.strerror}") from None
    gate = StoreGate()  # reads and the ingester take turns on the store
    ingester = Ingester(spool, db, options.ingest_every, log, gate)
    spool.on_full = ingester.wake
    if spool.ready():
        log(f"ingesting {len(spool.ready())} spool file(s) left by an earlier run")
        ingester.ingest_once()
    if not options.listen:
        return {"events_spooled": 0, "events_stored": ingester.stored}
    started = time.time()

    def health() -> dict:
        return {"status": "ok", "uptime_seconds": round(time.time() - started, 1),
                "events_spooled": spool.appended, "events_stored": ingester.stored,
                "spool_files_waiting": pending_files(options.spool_dir),
                "last_ingest": ingester.last_ingest}

    try:
        server = (Receiver if context is None else TLSReceiver)(
            (options.host, options.port), spool, options.token, Limits(options.max_body, options.socket_timeout),
            access_log, health, index_page, library, gate)
    except OSError as exc:
        raise InputError(f"cannot listen on {options.host}:{options.port}: {exc.strerror}") from None
    if isinstance(server, TLSReceiver) and context is not None:
        server.context = context
    listener = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                name="lineagectl-http", daemon=True)
    syncer = threading.Thread(target=_sync_every_second, args=(spool, stop), name="lineagectl-fsync", daemon=True)
    listener.start()
    syncer.start()
    ingester.start()
    host, port = server.server_address[:2]
    interrupted = False
    try:
        # Inside the try: a Ctrl-C arriving while ``ready`` announces the address (a client may
        # already have been answered) still drains the spool.
        if ready is not None:
            ready(str(host), int(port))
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        server.shutdown()      # no new connection is accepted from here on
        if not server.quiesce(QUIESCE_SECONDS):
            log("stopping while requests are still under way; what they spool is stored at the next start")
        server.server_close()
        spool.close()
        ingester.stop()        # the drain: everything acknowledged is stored
    if interrupted:
        raise KeyboardInterrupt
    return {"events_spooled": spool.appended, "events_stored": ingester.stored}


def _sync_every_second(spool: Spool, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        spool.sync()


_SIZE = re.compile(r"^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$", re.IGNORECASE)
_FACTORS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(value: str, option: str) -> int:
    """A byte count as users write it (``32MiB``, ``512k``, ``1048576``); ``InputError`` otherwise.
    Binary units throughout: ``MB`` is read as ``MiB``, as most servers' body limits do."""
    match = _SIZE.match(value)
    if not match:
        raise InputError(f"{option}: cannot read {value!r} as a size: use one like 32MiB, 512KiB or 1048576")
    unit = (match.group(2) or "b")[0].lower()
    return int(match.group(1)) * _FACTORS[unit]
