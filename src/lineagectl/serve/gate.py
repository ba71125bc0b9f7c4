"""The server's one rule for its store: many readers, or the ingester alone.

DuckDB refuses a second connection to a file from the same process with other
settings (read-only beside read-write), in both directions: a read request
arriving during an ingest would fail, and an ingest starting during a read would
be postponed. The gate orders them instead: reads run together, the ingester
waits for them to end and holds the store alone while its batch commits, and
reads that arrive meanwhile wait for it (a batch takes seconds). A waiting
ingester goes first, so a stream of reads cannot starve it. Other processes are
DuckDB's own business: a read meeting another writer is ``DatabaseLockedError``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lineagectl.errors import DatabaseLockedError


class StoreGate:
    """A readers-writer lock over the server's store, writer first."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self, timeout: float) -> Iterator[None]:
        """A read's turn; ``DatabaseLockedError`` if the ingester holds the store for ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: not self._writing and not self._writers_waiting, timeout):
                raise DatabaseLockedError("the store is being written by the server's ingest")
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The ingester's turn, once the reads under way have ended."""
        with self._changed:
            self._writers_waiting += 1
            try:
                self._changed.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()
