"""Reading one JSON document — an event, an array of events, or a page of Marquez's
event export — in bounded memory.

A pretty-printed ``.json`` file holds one event or an array of them. An array is
read element by element (each decoded as soon as it is complete, with the line
it starts on), so a log of any length written as one array streams like an
NDJSON log; a single element, or a single event, may not exceed the record cap.
A Marquez page (``{"totalCount": N, "events": [...]}``, what ``GET
/api/v1/events/lineage`` answers) is read whole, within the record cap (Marquez
pages hold at most a few hundred events), and its events numbered like an array's.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import BinaryIO

import orjson

CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"


class BadDocument:
    """A record that could not be read (a broken document, an oversized line); ``value`` is the reason."""

    __slots__ = ("index", "value")

    def __init__(self, reason: str) -> None:
        self.value = reason
        self.index = None


class Parsed:
    """An event already decoded from a JSON document (no second parse needed)."""

    __slots__ = ("index", "value")

    def __init__(self, value: object, index: int | None) -> None:
        self.value = value
        self.index = index


def size_text(limit: int) -> str:
    """A byte count as users write it: ``64 MiB``, ``1000 bytes``."""
    return f"{limit / (1 << 20):g} MiB" if limit >= 1 << 20 else f"{limit} bytes"


def page_events(value: object) -> list[object] | None:
    """The events of a Marquez event-export page (``{"totalCount": N, "events": [...]}``), else None."""
    if isinstance(value, dict) and "totalCount" in value and isinstance(value.get("events"), list) \
            and "eventTime" not in value:
        return value["events"]
    return None


def page_records(line: bytes, line_no: int) -> list[tuple[int, Parsed]] | None:
    """The events of a Marquez page written on one line (as ``curl`` saves the API's answer),
    numbered like an array's elements; None for any other line (left to the event reader)."""
    if b'"totalCount"' not in line:  # a cheap test first: nearly every line is an event
        return None
    try:
        events = page_events(orjson.loads(line))
    except orjson.JSONDecodeError:
        return None
    return None if events is None else [(line_no, Parsed(item, index)) for index, item in enumerate(events)]


def read_object(head: bytes, stream: BinaryIO, first_line_no: int,
                limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """One JSON value spread over lines, starting with ``head`` (the lines already read)."""
    data = head + stream.read(max(0, limit + 1 - len(head)))
    if len(data) > limit:
        yield first_line_no, BadDocument(f"document larger than {size_text(limit)} (the record size cap)")
        return
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield first_line_no + exc.lineno - 1, BadDocument(f"invalid JSON: {exc.msg} (column {exc.colno})")
        return
    events = value if isinstance(value, list) else page_events(value)
    if events is not None:
        for index, item in enumerate(events):
            yield first_line_no, Parsed(item, index)
    else:
        yield first_line_no, Parsed(value, None)


class _Text:
    """Decoded text of a byte stream, pulled in chunks, with the line number of a position."""

    def __init__(self, head: bytes, stream: BinaryIO, first_line_no: int) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._stream = stream
        self.buffer = self._decoder.decode(head)
        self.pos = 0
        self.line = first_line_no
        self.eof = False

    def more(self) -> bool:
        """Append the next chunk (as long as what is pending, so a large element is re-parsed
        a logarithmic number of times); False at the end of the stream."""
        if self.eof:
            return False
        chunk = self._stream.read(max(CHUNK, len(self.buffer) - self.pos))
        if not chunk:
            self.eof = True
            self.buffer += self._decoder.decode(b"", final=True)
            return False
        self.buffer += self._decoder.decode(chunk)
        return True

    def advance(self, to: int) -> None:
        self.line += self.buffer.count("\n", self.pos, to)
        self.pos = to
        if self.pos > CHUNK:  # drop what was consumed, keeping the buffer small
            self.buffer = self.buffer[self.pos:]
            self.pos = 0

    def skip(self, characters: str) -> str:
        """Skip ``characters`` (pulling more text as needed); the next character, '' at the end."""
        while True:
            end = len(self.buffer)
            at = self.pos
            while at < end and self.buffer[at] in characters:
                at += 1
            self.advance(at)
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""


def read_array(head: bytes, stream: BinaryIO, first_line_no: int,
               limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """The elements of a JSON array starting with ``head``, one at a time, each with its first line."""
    decoder = json.JSONDecoder()
    try:
        text = _Text(head, stream, first_line_no)
        text.skip(_WHITESPACE)
        text.advance(text.pos + 1)  # the "["
        index = 0
        while True:
            following = text.skip(_WHITESPACE + ",")
            if following == "]":
                rest = text.buffer[text.pos + 1:]
                while not rest.strip() and text.more():
                    text.advance(len(text.buffer))
                    rest = text.buffer[text.pos:]
                if rest.strip(_WHITESPACE + "]"):
                    yield text.line, BadDocument("invalid JSON: text after the end of the array")
                return
            if following == "":
                yield text.line, BadDocument("invalid JSON: the array is not closed (a truncated file?)")
                return
            while True:
                try:
                    value, end = decoder.raw_decode(text.buffer, text.pos)
                    break
                except json.JSONDecodeError as exc:
                    if len(text.buffer) - text.pos > limit:
                        yield text.line, BadDocument(f"event #{index + 1} larger than {size_text(limit)} "
                                                     "(the record size cap)")
                        return
                    if not text.more():
                        line = text.line + text.buffer.count("\n", text.pos, exc.pos)
                        yield line, BadDocument(f"invalid JSON: {exc.msg} (event #{index + 1})")
                        return
            yield text.line, Parsed(value, index)
            index += 1
            text.advance(end)
    except UnicodeDecodeError as exc:
        yield first_line_no, BadDocument(f"invalid UTF-8: {exc.reason}")
    except RecursionError:
        yield first_line_no, BadDocument("invalid JSON: nested too deep")
