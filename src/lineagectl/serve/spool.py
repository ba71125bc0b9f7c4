"""The spool: an append-only NDJSON file every accepted event is written to before it is acknowledged.

One ``os.write`` of whole lines per request (under a lock, so requests never
interleave inside a line) on a file opened ``O_APPEND``. Once ``write`` returns
the bytes are in the kernel's page cache: a crash or ``kill -9`` of the server
loses nothing acknowledged. Only a crash of the machine itself can lose what was
not yet on the disk, which the fsync policy bounds: ``always`` syncs before
every answer (one disk flush per request), ``1s`` (the default) syncs at most a
second later from a background thread (at most the last second of answers on a
power loss, at a fraction of the cost).

``rotate`` closes the active file and renames it ``ready-<ns>.ndjson``; the
ingester stores ready files and deletes them. The ingester rotates on its timer;
an append that brings the active file to ``max_bytes`` rotates it at once (the
rename happens under the append lock, after the answer's bytes were written and
before any later request's are) and calls ``on_full`` so the ingester stores the
segment without waiting for its timer. A file left active by a crash is
made ready at the next start, so it is ingested then; a line torn by the crash
was never acknowledged and is reported by ingest as one bad line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

ACTIVE = "active.ndjson"
READY_PREFIX = "ready-"
REJECTED = "rejected"
FSYNC_POLICIES = ("always", "1s")


class SpoolError(OSError):
    """The spool cannot be written (a full disk, a removed directory): answer 503."""


class Spool:
    """The spool directory: appends from request threads, rotations from the ingester."""

    def __init__(self, directory: Path, fsync: str = "1s", max_bytes: int | None = None,
                 on_full: Callable[[], None] | None = None) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.directory = directory
        self.fsync = fsync
        self.max_bytes = max_bytes
        self.on_full = on_full
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self._dirty = False
        self._last_name = 0
        self.appended = 0

    def open(self) -> None:
        """Create the directory and make a file left active by an earlier process ready."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / REJECTED).mkdir(exist_ok=True)
        with self._lock:
            self._rotate_locked()

    def _active_fd(self) -> int:
        if self._fd is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.directory / ACTIVE, flags, 0o600)
            self._size = os.fstat(self._fd).st_size
        return self._fd

    def append(self, lines: list[bytes]) -> None:
        """Append ``lines`` (each one compact JSON event, no newline) in one write; ``SpoolError`` if it fails."""
        data = b"".join(line + b"\n" for line in lines)
        with self._lock:
            try:
                fd = self._active_fd()
                view = memoryview(data)
                while view:  # a regular file takes it whole; a short write is retried, not lost
                    written = os.write(fd, view)
                    view = view[written:]
                if self.fsync == "always":
                    os.fsync(fd)
                else:
                    self._dirty = True
            except OSError as exc:
                self._close_locked()  # a half-written line ends this file; the next write starts a new one
                raise SpoolError(exc.errno, exc.strerror) from None
            self.appended += len(lines)
            self._size += len(data)
            full = self.max_bytes is not None and self._size >= self.max_bytes
            if full:
                try:
                    self._rotate_locked()
                except OSError:
                    full = False  # acknowledged all the same: the bytes are written; the timer rotates later
        if full and self.on_full is not None:
            self.on_full()

    def sync(self) -> None:
        """Flush appended events to the disk if any are pending (the ``1s`` policy calls this each second)."""
        with self._lock:
            if self._dirty and self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    return  # the next append reports the disk's trouble to its client
                self._dirty = False

    def rotate(self) -> list[Path]:
        """Close the active file, make it ready, and return every ready file, oldest first."""
        with self._lock:
            self._rotate_locked()
        return self.ready()

    def ready(self) -> list[Path]:
        """The files waiting to be ingested, oldest first."""
        return sorted(self.directory.glob(f"{READY_PREFIX}*.ndjson"))

    def _rotate_locked(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)  # what the ingester reads is on the disk before the file is renamed
        self._close_locked()
        active = self.directory / ACTIVE
        try:
            if active.stat().st_size == 0:
                return
        except FileNotFoundError:
            return
        os.replace(active, self._ready_name())
        _sync_directory(self.directory)

    def _ready_name(self) -> Path:
        """A new ready file's name, after every earlier one (rotations may follow within a clock tick)."""
        stamp = max(time.time_ns(), self._last_name + 1)
        while (path := self.directory / f"{READY_PREFIX}{stamp:020d}.ndjson").exists():
            stamp += 1
        self._last_name = stamp
        return path

    def _close_locked(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            self._dirty = False
            self._size = 0
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        """Sync and close the active file (it stays active until the next rotation)."""
        with self._lock:
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
            self._close_locked()


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
