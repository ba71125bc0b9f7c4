"""Reading one JSON document — an event, an array of events, or a page of Marquez's
event export — in bounded memory.

A pretty-printed ``.json`` file holds one event or an array of them. An array is
read element by element (each decoded as soon as it is complete, with the line
it starts on), so a log of any length written as one array streams like an
NDJSON log; a single element, or a single event, may not exceed the record cap.
A Marquez page (``{"events": [...], "totalCount": N}``, what ``GET
/api/v1/events/lineage`` answers, pretty or on one line as ``curl`` saves it)
that a file starts with is read the same way (``read_pages``): its ``events``
array element by element, numbered like an array's, so a page of any size streams;
several pages one after the other (``curl >> pages.json``) too. An object whose
``events`` array comes before any ``eventTime`` is a page (``totalCount`` may come
after it, or not at all). A page further down an NDJSON file (after event lines)
is read whole, within the record cap (``page_records``).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson

CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"
# A stream that starts as a Marquez page does: its first key ``events`` or ``totalCount``.
# orjson's reason for a complete document followed by more text.
_CONCATENATED = "unexpected content after document"
_PAGE_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*"(?:events|totalCount)"\s*:')


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


def may_be_page(line: bytes) -> bool:
    """Whether a raw line may hold a Marquez page (a cheap test: nearly every line is an event)."""
    return b'"totalCount"' in line


def page_records(line: bytes, line_no: int) -> list[tuple[int, Parsed]] | None:
    """The events of a Marquez page written on one line (as ``curl`` saves the API's answer),
    numbered like an array's elements; None for any other line (left to the event reader)."""
    if not may_be_page(line):
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
    if len(data) > limit:  # one document over the cap, or documents one after the other
        yield from read_values(data, stream, first_line_no, limit)
        return
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if exc.msg == _CONCATENATED:  # `jq . log.ndjson`: documents one after the other
            yield from read_values(data, stream, first_line_no, limit)
        else:
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


class _Broken(Exception):
    """Reading stopped at ``line``: ``reason`` is the one bad record reported for the rest."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _decode(text: _Text, decoder: json.JSONDecoder, limit: int, what: str) -> object:
    """The JSON value at ``text``'s position (pulling more text until it is complete), past it."""
    while True:
        try:
            value, end = decoder.raw_decode(text.buffer, text.pos)
        except json.JSONDecodeError as exc:
            if len(text.buffer) - text.pos > limit:
                raise _Broken(text.line, f"{what} larger than {size_text(limit)} (the record size cap)") from None
            if not text.more():
                line = text.line + text.buffer.count("\n", text.pos, exc.pos)
                raise _Broken(line, f"invalid JSON: {exc.msg} ({what})") from None
            continue
        if end == len(text.buffer) and text.more():
            continue  # a number may go on in the next chunk: decode it again, whole
        text.advance(end)
        return value


def _elements(text: _Text, decoder: json.JSONDecoder, limit: int) -> Iterator[tuple[int, Parsed]]:
    """The elements of the array whose ``[`` ``text`` was just past, each with its first line; ends past ``]``."""
    index = 0
    while True:
        following = text.skip(_WHITESPACE + ",")
        if following == "]":
            text.advance(text.pos + 1)
            return
        if following == "":
            raise _Broken(text.line, "invalid JSON: the array is not closed (a truncated file?)")
        line = text.line
        yield line, Parsed(_decode(text, decoder, limit, f"event #{index + 1}"), index)
        index += 1


def read_array(head: bytes, stream: BinaryIO, first_line_no: int,
               limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """The elements of a JSON array starting with ``head``, one at a time, each with its first line."""
    try:
        text = _Text(head, stream, first_line_no)
        text.skip(_WHITESPACE)
        text.advance(text.pos + 1)  # the "["
        yield from _elements(text, json.JSONDecoder(), limit)
        if text.skip(_WHITESPACE + "]"):
            yield text.line, BadDocument("invalid JSON: text after the end of the array")
    except _Broken as exc:
        yield exc.line, BadDocument(exc.reason)
    except UnicodeDecodeError as exc:
        yield first_line_no, BadDocument(f"invalid UTF-8: {exc.reason}")
    except RecursionError:
        yield first_line_no, BadDocument("invalid JSON: nested too deep")


def read_values(head: bytes, stream: BinaryIO, first_line_no: int,
                limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """JSON documents one after the other (``jq . events.ndjson`` writes events pretty-printed,
    one after the other; compact lines may be mixed in), each with the line it starts on.

    Each document is decoded as soon as it is complete, within the record cap; reading stops
    at the first broken one (a torn write), reported once, the documents before it kept.
    """
    text = _Text(head, stream, first_line_no)
    yield from _reported(text, _values(text, json.JSONDecoder(), limit))


def _values(text: _Text, decoder: json.JSONDecoder, limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    while True:
        if text.skip(_WHITESPACE + "\ufeff") == "":
            return
        line = text.line
        value = _decode(text, decoder, limit, "document")
        events = value if isinstance(value, list) else page_events(value)
        if events is None:
            yield line, Parsed(value, None)
        else:
            for index, item in enumerate(events):
                yield line, Parsed(item, index)


def _reported(text: _Text, documents: Iterator[tuple[int, Parsed | BadDocument]],
              ) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """``documents``, then a broken, undecodable or too deeply nested one as one ``BadDocument`` at its line."""
    try:
        yield from documents
    except _Broken as exc:
        yield exc.line, BadDocument(exc.reason)
    except UnicodeDecodeError as exc:
        yield text.line, BadDocument(f"invalid UTF-8: {exc.reason}")
    except RecursionError:
        yield text.line, BadDocument("invalid JSON: nested too deep")


def starts_page(head: bytes) -> bool:
    """Whether a stream whose first bytes are ``head`` starts as a Marquez page does."""
    return _PAGE_HEAD.match(head) is not None


def read_pages(stream: BinaryIO, limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """The events of the Marquez pages ``stream`` holds, one after the other, each with its line."""
    text = _Text(b"", stream, 1)
    yield from _reported(text, _pages(text, json.JSONDecoder(), limit))


def _pages(text: _Text, decoder: json.JSONDecoder, limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    while True:
        following = text.skip(_WHITESPACE + "\ufeff")
        if following == "":
            return
        if following != "{":
            raise _Broken(text.line, "invalid JSON: expected another page ({) after the previous one")
        yield from _page(text, decoder, limit)


def _page(text: _Text, decoder: json.JSONDecoder, limit: int) -> Iterator[tuple[int, Parsed | BadDocument]]:
    """One object at ``text``: its ``events`` array streamed; any other member decoded whole."""
    first_line = text.line
    text.advance(text.pos + 1)  # the "{"
    members: dict[str, object] = {}
    streamed = False
    while True:
        following = text.skip(_WHITESPACE + ",")
        if following == "}":
            text.advance(text.pos + 1)
            break
        if following != '"':
            raise _Broken(text.line, "invalid JSON: expected a member name in the page")
        key = _decode(text, decoder, limit, "a member name")
        if text.skip(_WHITESPACE) != ":":
            raise _Broken(text.line, f"invalid JSON: expected ':' after {key!r}")
        text.advance(text.pos + 1)
        following = text.skip(_WHITESPACE)
        if key == "events" and following == "[" and "eventTime" not in members:
            text.advance(text.pos + 1)
            yield from _elements(text, decoder, limit)
            streamed = True
        else:
            members[str(key)] = _decode(text, decoder, limit, f"the page's {key!r}")
    if not streamed:  # no events array: one object, to be checked as an event (and refused)
        yield first_line, Parsed(members, None)
    elif "eventTime" in members:
        yield first_line, BadDocument("an object with an events array and an eventTime: neither a page nor an event")
