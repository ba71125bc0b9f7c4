"""Reading event records from files, directories, gzip and stdin, streaming.

Opening an input (gzip by its magic bytes, UTF-16/32 re-encoded, bytes counted for
progress) and handing its records on in chunks: a Marquez page as the file's start
is read by ``documents.py``, anything else as a log by ``ndjson.py``.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lineagectl.errors import InputError
from lineagectl.sources.ingest.documents import read_pages, starts_page
from lineagectl.sources.ingest.ndjson import Record, in_chunks, log_chunks
from lineagectl.sources.ingest.transcode import as_utf8

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

EVENT_SUFFIXES = (".ndjson", ".jsonl", ".json")
STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
# The largest line or document read: well above the largest real events (a few MiB for
# dbt or Spark events with wide schemas), small enough that one hostile line cannot
# exhaust memory. ``ingest(max_record_bytes=…)`` changes it.
MAX_RECORD_BYTES = 64 << 20


@dataclass(frozen=True)
class Source:
    """One input: a file path, or ``-`` for standard input."""

    path: str
    # Found by expanding a directory argument (a spool), not named by the user.
    in_directory: bool = False

    @property
    def label(self) -> str:
        return "<stdin>" if self.path == STDIN else self.path

    @cached_property
    def _stat(self) -> os.stat_result | None:
        return None if self.path == STDIN else os.stat(self.path)

    @property
    def size(self) -> int | None:
        return None if self._stat is None else self._stat.st_size

    @property
    def mtime_ns(self) -> int | None:
        return None if self._stat is None else self._stat.st_mtime_ns

    @property
    def inode(self) -> int | None:
        return None if self._stat is None else self._stat.st_ino

    @property
    def ctime_ns(self) -> int | None:
        return None if self._stat is None else self._stat.st_ctime_ns

    @cached_property
    def absolute(self) -> str:
        return os.path.abspath(self.path)

    @property
    def compressed(self) -> bool:
        """Whether the file is gzip (by its magic bytes, whatever its name)."""
        if self.path == STDIN:
            return False
        try:
            with open(self.path, "rb") as file:
                return file.read(2) == GZIP_MAGIC
        except OSError:
            return False  # reading it reports why


def _is_event_file(path: Path) -> bool:
    name = path.name.lower()
    name = name.removesuffix(".gz")
    return name.endswith(EVENT_SUFFIXES) and not path.name.startswith(".")


def expand_sources(paths: list[str]) -> list[Source]:
    """Expand directories (recursively, sorted) and check that every path exists."""
    sources: list[Source] = []
    for raw in paths:
        if raw == STDIN:
            sources.append(Source(STDIN))
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_event_file(p))
            if not found:
                raise InputError(
                    f"{raw}: directory holds no event files",
                    hint="lineagectl reads *.ndjson, *.jsonl and *.json files (optionally .gz)",
                )
            sources.extend(Source(str(p), in_directory=True) for p in found)
        elif path.is_file():
            sources.append(Source(str(path)))
        elif path.exists():
            raise InputError(f"{raw}: not a regular file")
        else:
            raise InputError(f"{raw}: no such file or directory")
    return sources


class _Counting(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read from it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        data = self._raw.read(len(view))
        n = len(data)
        view[:n] = data
        self.count += n
        return n


def _open(source: Source) -> tuple[BinaryIO, _Counting, BinaryIO]:
    # Not a with-block: the stream outlives this function; read_records closes it.
    raw_stream: BinaryIO = sys.stdin.buffer if source.path == STDIN else open(source.path, "rb")  # noqa: SIM115
    counter = _Counting(raw_stream)
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        unzipped = io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), buffer_size=1 << 20)
        return as_utf8(unzipped), counter, raw_stream
    return as_utf8(buffered), counter, raw_stream


def read_chunks(
    source: Source, progress: Callable[[int], None] | None = None, limit: int = MAX_RECORD_BYTES,
) -> Iterator[list[Record]]:
    """The records of ``source`` in chunks of about ``CHUNK_LINES`` lines or ``CHUNK_BYTES`` bytes.

    A record is ``(line_number, raw, other)``: ``raw`` the bytes of an NDJSON line
    (``other`` None), or ``other`` a ``Parsed`` value taken from a JSON document or
    a ``BadDocument`` saying why a record could not be read (a line or document
    over ``limit`` bytes, broken JSON spread over lines). A raw line may be a
    Marquez page on one line (``documents.page_records``): that costs a look
    through every line, so it is left to the lines the store does not hold.
    ``progress`` is called with the count of (compressed) bytes read so far.
    Unreadable input raises ``InputError``.
    """
    label = source.label
    try:
        stream, counter, raw_stream = _open(source)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        try:
            for chunk in _chunks(stream, limit):
                yield chunk
                if progress is not None:
                    progress(counter.count)
        except (EOFError, OSError, zlib.error) as exc:
            reason = "gzip stream is truncated" if isinstance(exc, EOFError) else str(exc)
            raise InputError(f"{label}: cannot read: {reason}") from None
        if progress is not None:
            progress(counter.count)
    finally:
        if raw_stream is not sys.stdin.buffer:
            raw_stream.close()


def _chunks(stream: BinaryIO, limit: int) -> Iterator[list[Record]]:
    if starts_page(stream.peek(4096)[:4096]):  # type: ignore[attr-defined]
        # A Marquez page, pretty or on one line: streamed element by element, whatever its size.
        return in_chunks(read_pages(stream, limit))
    return log_chunks(stream, limit)
