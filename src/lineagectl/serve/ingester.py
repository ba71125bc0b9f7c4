"""The one writer of a server: every ``interval`` seconds (and at start and stop) it stores the spool,
and sooner when the spool filled a segment (``wake``).

It rotates the spool and hands the ready files to the normal ingest
(``lineagectl.sources.ingest``), which opens the store for writing only for
that call, so ``lineagectl impact`` and friends read the store in between. A
file is deleted only after the ingest that stored it committed; a crash before
the delete makes the next start ingest it again, which changes nothing
(events are deduplicated by hash). A file with rejected lines (a line torn by a
crash, which was never acknowledged) is moved to ``rejected/`` for inspection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lineagectl.errors import LineageError
from lineagectl.serve.gate import StoreGate
from lineagectl.serve.spool import REJECTED, Spool
from lineagectl.sources.ingest import ingest


class Ingester:
    """Moves the spool into the store ``db``; ``start`` runs it on a thread, ``stop`` drains it."""

    def __init__(self, spool: Spool, db: Any, interval: float, log: Callable[[str], None],
                 gate: StoreGate | None = None) -> None:
        self.spool = spool
        self.gate = gate or StoreGate()
        self.db = db
        self.interval = interval
        self.log = log
        self.stored = 0
        self.last_ingest: float | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="lineagectl-ingester", daemon=True)

    def start(self) -> None:
        """Run ``ingest_once`` every ``interval`` seconds on a background thread."""
        self._thread.start()

    def wake(self) -> None:
        """Store the spool now rather than at the next interval (a segment reached its size)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()  # a segment filled while this round runs wakes the next one at once
            if self._stop.is_set():
                return
            try:
                self.ingest_once()
            except Exception as exc:  # a server keeps receiving; the spool waits for the next round
                self.log(f"ingest failed, retried in {self.interval:g} s: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Stop the thread, then store what is left in the spool."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self.ingest_once()

    def ingest_once(self) -> bool:
        """Rotate the spool and store every ready file; False if the store could not take them now."""
        with self._lock:
            try:
                files = self.spool.rotate()
            except OSError as exc:
                self.log(f"the spool cannot be rotated: {exc.strerror or exc}")
                return False
            if not files:
                return True
            try:
                with self.gate.writing():  # the server's reads wait for the batch (serve/gate.py)
                    report = ingest([str(f) for f in files], self.db, force=True, max_future=None,
                                    remember_files=False,
                                    on_reject=lambda message: self.log(f"spool line rejected: {message}"))
            except LineageError as exc:  # a locked store, a full disk: the files wait for the next round
                self.log(f"ingest of {len(files)} spool file(s) postponed: {exc.message}")
                return False
            rejected = {reject["file"] for reject in report.rejects}
            for path in files:
                if str(path) in rejected or any(error.startswith(f"{path}:") for error in report.file_errors):
                    path.replace(path.parent / REJECTED / path.name)
                else:
                    path.unlink(missing_ok=True)
            for warning in report.warnings:  # e.g. a broken facet left out of a stored event
                self.log(f"warning: {warning}")
            self.stored += report.events_new
            self.last_ingest = time.time()
            self.log(f"ingested {report.events_read} events ({report.events_new} new, "
                     f"{report.events_duplicate} duplicate, {report.events_rejected} rejected) "
                     f"from {len(files)} spool file(s) in {report.seconds:.2f} s")
            return True


def pending_files(spool_dir: Path) -> int:
    """How many spool files wait to be ingested (for the health answer)."""
    return sum(1 for _ in spool_dir.glob("ready-*.ndjson"))
