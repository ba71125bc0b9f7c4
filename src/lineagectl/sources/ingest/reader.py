"""Reading event records from files, directories, gzip and stdin, streaming.

A file is read as NDJSON (one event per line) unless its first line is not a
JSON value on its own, in which case it is one JSON document: an event or an
array of events (pretty-printed ``.json`` files). Only such documents are held
in memory whole; NDJSON logs of any size stream line by line.
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

import orjson

from lineagectl.errors import InputError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

EVENT_SUFFIXES = (".ndjson", ".jsonl", ".json")
STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"


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


class Parsed:
    """An event already decoded from a JSON document (no second parse needed)."""

    __slots__ = ("index", "value")

    def __init__(self, value: object, index: int | None) -> None:
        self.value = value
        self.index = index


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
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), buffer_size=1 << 20), counter, raw_stream
    return buffered, counter, raw_stream


def _starts_document(first_line: bytes) -> bool:
    """Whether a file whose first non-blank line is ``first_line`` is one JSON document.

    An array, or an object spread over several lines. A one-line object, even
    a broken one, starts an NDJSON log (so its errors are reported per line).
    """
    if first_line[:1] == b"[":
        return True
    if first_line[:1] == b"{" and first_line[-1:] == b"}":
        return False
    try:
        orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return True
    return False


def read_records(
    source: Source, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, bytes | Parsed]]:
    """Yield ``(line_number, record)`` for every non-blank record of ``source``.

    ``record`` is the raw bytes of an NDJSON line, or a ``Parsed`` value taken
    from a whole JSON document. ``progress`` is called with the count of
    (compressed) bytes read so far. Unreadable input raises ``InputError``.
    """
    label = source.label
    try:
        stream, counter, raw_stream = _open(source)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        try:
            yield from _records(stream, counter, label, progress)
        except (EOFError, OSError, zlib.error) as exc:
            reason = "gzip stream is truncated" if isinstance(exc, EOFError) else str(exc)
            raise InputError(f"{label}: cannot read: {reason}") from None
    finally:
        if raw_stream is not sys.stdin.buffer:
            raw_stream.close()


def _records(
    stream: BinaryIO, counter: _Counting, label: str, progress: Callable[[int], None] | None
) -> Iterator[tuple[int, bytes | Parsed]]:
    line_no = 0
    first = True
    for line in stream:
        line_no += 1
        if first:
            stripped = line.strip()
            if not stripped:
                continue
            first = False
            if _starts_document(stripped):
                yield from _document(line + stream.read(), line_no)
                return
        if not line.strip():
            continue
        yield line_no, line
        if progress is not None and not line_no & 0x3FF:
            progress(counter.count)
    if progress is not None:
        progress(counter.count)


def _document(data: bytes, first_line_no: int) -> Iterator[tuple[int, bytes | Parsed]]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        lines = data.splitlines()
        try:
            orjson.loads(lines[0])
        except orjson.JSONDecodeError:
            lineno = first_line_no + exc.lineno - 1
            yield lineno, BadDocument(f"invalid JSON: {exc.msg} (column {exc.colno})")
            return
        # Not one document but a log whose lines are arrays or values: read it line by line.
        for offset, line in enumerate(lines):
            if line.strip():
                yield first_line_no + offset, line
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield first_line_no, Parsed(item, index)
    else:
        yield first_line_no, Parsed(value, None)


class BadDocument(Parsed):
    """A whole document that failed to parse; ``value`` is the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, None)
