"""Reading event records from files, directories, gzip and stdin, streaming.

A file is read as NDJSON (one event per line) unless its first line is not a
JSON value on its own and the next is not a record either, in which case it is
one JSON document: an event or an array of events (pretty-printed ``.json``
files, read element by element by ``documents.py``). A broken first line
followed by records (a torn write, a file cut mid-line, a header) is one bad
line of a log. A byte-order mark is skipped; a line over the record size cap is
reported and skipped without being held in memory.

Further down a log, a line holding only ``{`` opens an event pretty-printed over
several lines (``jq . event.json >> log.ndjson``): it is read up to the ``}`` that
closes it at the opening brace's indentation, as one event; one that is broken or
cut off is one reject at the line it starts on (``_spread_object``). Any other
line is a record of its own, so a torn line costs only itself.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import orjson

from lineagectl.errors import InputError
from lineagectl.sources.ingest.documents import (
    BadDocument,
    Parsed,
    page_events,
    page_records,
    read_array,
    read_object,
    read_pages,
    size_text,
    starts_page,
)
from lineagectl.sources.ingest.transcode import as_utf8

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

EVENT_SUFFIXES = (".ndjson", ".jsonl", ".json")
STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# The largest line or document read: well above the largest real events (a few MiB for
# dbt or Spark events with wide schemas), small enough that one hostile line cannot
# exhaust memory. ``ingest(max_record_bytes=…)`` changes it.
MAX_RECORD_BYTES = 64 << 20
CHUNK_SKIP = 1 << 20
_BLANK = frozenset(b" \t\r\n\f\v")


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


def _is_record(line: bytes) -> bool:
    """Whether ``line`` is a complete JSON object or array on its own (an NDJSON record)."""
    if (line[:1], line[-1:]) not in ((b"{", b"}"), (b"[", b"]")):
        return False
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _starts_document(first_line: bytes) -> bool:
    """Whether a file whose first non-blank line is ``first_line`` may be one JSON document.

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


class _Lines:
    """An iterator over lines that can be given back one, to be read again."""

    def __init__(self, lines: Iterator[bytes | None]) -> None:
        self._lines = lines
        self._back: list[bytes | None] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> bytes | None:
        return self._back.pop() if self._back else next(self._lines)

    def give_back(self, line: bytes | None) -> None:
        self._back.append(line)


_ONE_PER_LINE = "write one event per line (`jq -c .` does)"


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip())


def _spread_object(opener: bytes, lines: _Lines, line_no: int, limit: int,
                   ) -> Generator[tuple[int, Parsed | BadDocument], None, int]:
    """The object whose ``{`` stands alone on line ``line_no`` of a log, read up to the ``}``
    at its indentation; returns the count of lines read after the opener.

    A broken object is one ``BadDocument``: one that does not parse (at the line of the error),
    or that stops before it is closed (at ``line_no``: a line at its indentation opening another
    record, a line over the cap, the end of the file; that line is given back to be read as
    what it is).
    """
    indent = _indent(opener)
    parts: list[bytes] | None = [opener]  # None: over the cap, read to its end without keeping it
    size, read = len(opener), 0
    while True:
        line = next(lines, b"")
        at_indent = line is not None and _indent(line) <= indent
        first = b"" if line is None else line.lstrip()[:1]
        if line is None or not line or (at_indent and first in (b"{", b"[")):
            if line != b"":
                lines.give_back(line)  # a line over the cap, or the next record: read as what it is
            yield line_no, BadDocument(f"invalid JSON: an object spread over lines {line_no}-{line_no + read} "
                                       f"is not complete (cut off by a crash?); {_ONE_PER_LINE}")
            return read
        read += 1
        size += len(line)
        if parts is not None:
            parts.append(line)
            if size > limit:
                parts = None
        if not (at_indent and first == b"}"):
            continue
        if parts is None:
            yield line_no, BadDocument(f"an object spread over lines {line_no}-{line_no + read} is larger than "
                                       f"{size_text(limit)} (the record size cap); skipped")
            return read
        try:
            value = orjson.loads(b"".join(parts))
        except orjson.JSONDecodeError as exc:
            if exc.msg == "unexpected end of data":
                continue  # a nested object closed at this indentation (a printer that does not indent)
            yield line_no + exc.lineno - 1, BadDocument(
                f"invalid JSON: {exc.msg} (column {exc.colno}) in the object spread over lines "
                f"{line_no}-{line_no + read}; {_ONE_PER_LINE}")
            return read
        events = page_events(value)
        if events is None:
            yield line_no, Parsed(value, None)
        else:
            for index, item in enumerate(events):
                yield line_no, Parsed(item, index)
        return read


def read_records(
    source: Source, progress: Callable[[int], None] | None = None, limit: int = MAX_RECORD_BYTES,
) -> Iterator[tuple[int, bytes | Parsed | BadDocument]]:
    """Yield ``(line_number, record)`` for every non-blank record of ``source``.

    ``record`` is the raw bytes of an NDJSON line, or a ``Parsed`` value taken
    from a whole JSON document, or a ``BadDocument`` saying why a record could
    not be read (a line or document over ``limit`` bytes, broken JSON spread
    over lines). ``progress`` is called with the count of
    (compressed) bytes read so far. Unreadable input raises ``InputError``.
    """
    label = source.label
    try:
        stream, counter, raw_stream = _open(source)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        try:
            yield from _records(stream, counter, label, progress, limit)
        except (EOFError, OSError, zlib.error) as exc:
            reason = "gzip stream is truncated" if isinstance(exc, EOFError) else str(exc)
            raise InputError(f"{label}: cannot read: {reason}") from None
    finally:
        if raw_stream is not sys.stdin.buffer:
            raw_stream.close()


def _lines(stream: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Every line of ``stream``; None for a line longer than ``limit``, skipped up to its newline.

    Lines are read in pieces of at most ``CHUNK_SKIP`` bytes (one piece for any real event),
    so an oversized line costs at most ``limit`` bytes of memory before it is dropped.
    """
    readline = stream.readline
    piece = min(CHUNK_SKIP, limit + 2)  # a piece that holds a whole line holds it within the limit
    while True:
        line = readline(piece)
        if not line:
            return
        if line[-1:] == b"\n" or len(line) < piece:
            yield line
            continue
        pieces, size, ended = [line], len(line), False
        while size <= limit + 1:
            more = readline(piece)
            if not more:
                break
            pieces.append(more)
            size += len(more)
            if more[-1:] == b"\n":
                ended = True
                break
        if size - ended <= limit:
            yield b"".join(pieces)
            continue
        del pieces
        while not ended:
            rest = readline(CHUNK_SKIP)
            ended = not rest or rest[-1:] == b"\n"
        yield None


def _records(
    stream: BinaryIO, counter: _Counting, label: str, progress: Callable[[int], None] | None, limit: int,
) -> Iterator[tuple[int, bytes | Parsed | BadDocument]]:
    if starts_page(stream.peek(4096)[:4096]):  # type: ignore[attr-defined]
        # A Marquez page, pretty or on one line: streamed element by element, whatever its size.
        for count, record in enumerate(read_pages(stream, limit), 1):
            yield record
            if progress is not None and not count & 0x3FF:
                progress(counter.count)
        if progress is not None:
            progress(counter.count)
        return
    lines = _Lines(_lines(stream, limit))
    too_long = BadDocument(f"line longer than {size_text(limit)} (the record size cap); skipped")
    line_no = 0
    first = True
    for line in lines:
        line_no += 1
        if line is None:
            yield line_no, too_long
            continue
        if line[:3] == BOM:  # also where files with a byte-order mark were concatenated
            line = line[3:]
        if first:
            stripped = line.strip()
            if not stripped:
                continue
            first = False
            if _starts_document(stripped):
                # A broken first line (a torn write, a file cut mid-line, a header) followed by
                # NDJSON records is a log: only that line is rejected.
                head = [line]
                for following in lines:
                    if following is None or following.strip():
                        break_line = following
                        break
                    head.append(following)
                else:
                    break_line = b""
                if break_line is not None and not _is_record(break_line.strip()):
                    data = b"".join(head) + (break_line or b"")
                    reader = read_array if stripped[:1] == b"[" else read_object
                    yield from reader(data, stream, line_no, limit)
                    return
                yield line_no, line
                line_no += len(head)
                if break_line is None:
                    yield line_no, too_long
                else:
                    yield line_no, break_line
                continue
        if line[0] in _BLANK or len(line) < 8:  # cheap tests first: strip copies the line
            body = line.strip()
            if not body:
                continue
            if body == b"{":
                line_no += yield from _spread_object(line, lines, line_no, limit)
                continue
        page = page_records(line, line_no)
        if page is None:
            yield line_no, line
        else:
            yield from page
        if progress is not None and not line_no & 0x3FF:
            progress(counter.count)
    if progress is not None:
        progress(counter.count)
