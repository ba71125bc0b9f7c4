"""A log's lines into records, a block of lines at a time.

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

Lines are read in blocks; a block of nothing but such plain lines (the usual
case) is handed on whole, without a look at each line beyond its first byte and
length. The first lines are read one at a time, so that a document's reader
takes the stream from where they end.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from itertools import repeat
from typing import BinaryIO

import orjson

from lineagectl.sources.ingest.documents import (
    BadDocument,
    Parsed,
    page_events,
    read_array,
    read_object,
    size_text,
)

BOM = b"\xef\xbb\xbf"
CHUNK_SKIP = 1 << 20
# Records are handed on in chunks (the lines of a chunk are looked up in the store together,
# known.py; a chunk's lines are held until it is processed).
CHUNK_LINES = 4096
CHUNK_BYTES = 16 << 20
_BLANK = frozenset(b" \t\r\n\f\v")
_BLANK_FIRST = frozenset(bytes([byte]) for byte in _BLANK)
# First bytes of a line that needs a closer look: blank (maybe blank, maybe an object spread
# over lines) or a byte-order mark.
_SPECIAL = _BLANK | {BOM[0]}

# (line number, raw NDJSON line or None, what else was read there or None)
Record = tuple[int, bytes | None, Parsed | BadDocument | None]


def in_chunks(records: Iterable[tuple[int, Parsed | BadDocument]]) -> Iterator[list[Record]]:
    """Records already read from a document (``line, record``) as chunks of ``CHUNK_LINES``."""
    chunk: list[Record] = []
    for line, record in records:
        chunk.append((line, None, record))
        if len(chunk) >= CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
    """The lines of a stream, block by block or one at a time; the last line taken can be given back."""

    def __init__(self, blocks: Iterator[list[bytes | None]]) -> None:
        self._blocks = blocks
        self._block: list[bytes | None] = []
        self._at = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> bytes | None:
        while self._at >= len(self._block):
            self._block = next(self._blocks)
            self._at = 0
        line = self._block[self._at]
        self._at += 1
        return line

    def give_back(self) -> None:
        """Read the line last taken again next."""
        self._at -= 1

    def blocks(self) -> Iterator[list[bytes | None]]:
        """The lines not yet taken, a block at a time (the rest of the current block first)."""
        while True:
            if self._at < len(self._block):
                block = self._block if self._at == 0 else self._block[self._at:]
            else:
                following = next(self._blocks, None)
                if following is None:
                    return
                if not following:
                    continue
                block = following
            self._block, self._at = block, len(block)
            yield block

    def left(self) -> list[bytes | None]:
        """The lines of the current block not yet taken (the line given back, say)."""
        return self._block[self._at:]

    def redo_block(self) -> None:
        """Take the lines of the block just given by ``blocks`` one at a time."""
        self._at = 0

    def in_block(self) -> bool:
        """Whether lines of the current block are left to take."""
        return self._at < len(self._block)


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
                lines.give_back()  # a line over the cap, or the next record: read as what it is
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


def _line_blocks(stream: BinaryIO, limit: int, max_lines: int, start: list[bytes | None] | None = None,
                 ) -> Iterator[list[bytes | None]]:
    """Every line of ``stream`` (after the lines ``start``, already read), in lists of up to
    ``max_lines`` lines or about ``CHUNK_BYTES``; None for a line longer than ``limit``, skipped
    up to its newline. Nothing is read ahead of the block last given.

    Lines are read in pieces of at most ``CHUNK_SKIP`` bytes (one piece for any real event),
    so an oversized line costs at most ``limit`` bytes of memory before it is dropped.
    """
    readline = stream.readline
    piece = min(CHUNK_SKIP, limit + 2)  # a piece that holds a whole line holds it within the limit
    block = start or []
    size = sum(len(line) for line in block if line is not None)
    while True:
        if len(block) >= max_lines or size >= CHUNK_BYTES:
            yield block
            block, size = [], 0
        line = readline(piece)
        if not line:
            break
        if line[-1:] == b"\n" or len(line) < piece:
            block.append(line)
            size += len(line)
            continue
        pieces, size_of_line, ended = [line], len(line), False
        while size_of_line <= limit + 1:
            more = readline(piece)
            if not more:
                break
            pieces.append(more)
            size_of_line += len(more)
            if more[-1:] == b"\n":
                ended = True
                break
        if size_of_line - ended <= limit:
            block.append(b"".join(pieces))
            size += size_of_line
            continue
        del pieces
        while not ended:
            rest = readline(CHUNK_SKIP)
            ended = not rest or rest[-1:] == b"\n"
        block.append(None)
    if block:
        yield block


def log_chunks(stream: BinaryIO, limit: int) -> Iterator[list[Record]]:
    """The records of an NDJSON log (or of the one JSON document the file turns out to be) in chunks
    of about ``CHUNK_LINES`` lines or ``CHUNK_BYTES`` bytes; lines over ``limit`` bytes are skipped."""
    # The first lines are read one at a time: if they open a JSON document, its reader
    # takes the stream from there.
    first_lines = _Lines(_line_blocks(stream, limit, 1))
    head: list[tuple[int, bytes | Parsed | BadDocument]] = []
    line_no = yield from _head(first_lines, stream, limit, head)
    if line_no is None:
        return  # one JSON document, read whole
    lines = _Lines(_line_blocks(stream, limit, CHUNK_LINES, first_lines.left()))
    chunk: list[Record] = [(line, record, None) if isinstance(record, bytes) else (line, None, record)
                           for line, record in head]
    for block in lines.blocks():
        if None not in block and not [0 for line in block if line[0] in _SPECIAL or len(line) < 8]:  # type: ignore[index,arg-type]
            # Nothing but lines that are records of their own, the usual case: taken as they are.
            first = line_no + 1
            line_no += len(block)
            chunk.extend(zip(range(first, line_no + 1), block, repeat(None)))
        else:
            lines.redo_block()
            while lines.in_block():
                line_no += 1
                line_no = _one_line(next(lines), line_no, lines, limit, chunk)
        if chunk:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _one_line(line: bytes | None, line_no: int, lines: _Lines, limit: int, chunk: list[Record]) -> int:
    """Add the record(s) at ``line`` to ``chunk``: an oversized line, a blank one (none), an object
    spread over lines (read to its end), else the line itself. Returns the last line number read."""
    if line is None:
        chunk.append((line_no, None, _too_long(limit)))
        return line_no
    if line[:3] == BOM:  # also where files with a byte-order mark were concatenated
        line = line[3:]
    if line[:1] in _BLANK_FIRST or len(line) < 8:  # cheap tests first: strip copies the line
        body = line.strip()
        if not body:
            return line_no
        if body == b"{":
            spread = _spread_object(line, lines, line_no, limit)
            while True:
                try:
                    at, record = next(spread)
                except StopIteration as stop:
                    return line_no + stop.value
                chunk.append((at, None, record))
    chunk.append((line_no, line, None))
    return line_no


def _too_long(limit: int) -> BadDocument:
    return BadDocument(f"line longer than {size_text(limit)} (the record size cap); skipped")


def _head(lines: _Lines, stream: BinaryIO, limit: int, head: list[tuple[int, bytes | Parsed | BadDocument]],
          ) -> Generator[list[Record], None, int | None]:
    """Read up to the first non-blank line, which says whether the file is a log or one JSON document.

    A log's records read here are added to ``head``; its next line is left to be read (the count
    of lines read is returned). A document is read whole, in chunks (None is returned).
    """
    line_no = 0
    for line in lines:
        line_no += 1
        if line is None:
            head.append((line_no, _too_long(limit)))
            continue
        if line[:3] == BOM:
            line = line[3:]
        stripped = line.strip()
        if not stripped:
            continue
        if not _starts_document(stripped):
            lines.give_back()
            return line_no - 1
        # A broken first line (a torn write, a file cut mid-line, a header) followed by
        # NDJSON records is a log: only that line is rejected.
        opening = [line]
        for following in lines:
            if following is None or following.strip():
                break_line = following
                break
            opening.append(following)
        else:
            break_line = b""
        if break_line is not None and not _is_record(break_line.strip()):
            data = b"".join(opening) + (break_line or b"")
            reader = read_array if stripped[:1] == b"[" else read_object
            yield from in_chunks(reader(data, stream, line_no, limit))
            return None
        head.append((line_no, line))
        line_no += len(opening)
        head.append((line_no, _too_long(limit) if break_line is None else break_line))
        return line_no
    return line_no
