"""The lock every lineagectl writer holds on a store file, and compaction holds across copy and swap.

DuckDB's own lock lives on the open file and ends when a connection closes, so
it cannot cover compaction, which copies the store and then moves the copy over
the file: a writer connecting between the two would commit into the file about
to be replaced, and lose its commit. Every writer therefore also takes an
exclusive ``flock`` on the store file for as long as it is connected, and
compaction takes the same lock before copying and releases it only after the
swap. ``flock`` and DuckDB's ``fcntl`` record locks are independent on Linux and
macOS, so the two never interfere.

A writer that waited for a compaction holds the lock of the *old* file when it
wakes; it notices that the path now names another file and locks that one
instead. On systems without ``fcntl`` (Windows) the lock is a no-op and
DuckDB's own lock is all there is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from lineagectl.errors import DatabaseLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """An exclusive lock on the file a store path resolves to, released by ``release``."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases the ``flock``)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _try_lock(path: Path) -> int | None:
    """A descriptor holding the lock on the file ``path`` names now, or None while another holds it."""
    while True:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        # Compaction swapped the file while we waited: the lock we hold is on the old one.
        os.close(fd)


def acquire(path: Path, wait: float) -> WriterLock:
    """The writer lock of the store at ``path``, retried for up to ``wait`` seconds.

    A path that does not exist yet needs no lock (nothing can be compacting it).
    ``DatabaseLockedError`` when another writer or a compaction still holds it.
    """
    if fcntl is None or not path.exists():
        return WriterLock(path, None)
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            fd = _try_lock(path)
        except FileNotFoundError:
            return WriterLock(path, None)
        if fd is not None:
            return WriterLock(path, fd)
        if time.monotonic() + delay > deadline:
            waited = f" (waited {wait:g} s)" if wait else ""
            raise DatabaseLockedError(
                f"database {path} is locked by another lineagectl writer or a compaction{waited}",
                hint="DuckDB allows one writer at a time: retry when it is done, or pass --wait SECONDS "
                     "(LINEAGECTL_WAIT) to wait for it")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
