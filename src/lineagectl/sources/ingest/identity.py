"""An event's identity: the hash the store keys events by, and the hash of a raw line.

An event is identified by the 128-bit BLAKE2b hash of its compact JSON
(``orjson.dumps`` of the parsed event: no insignificant whitespace, keys in the
order sent), which is also what export gives back (the store keeps it as a skeleton
with its facets by reference, ``store/skeleton.py``, rebuilt byte for byte). So the same event
pretty-printed or compact, from any file, has one hash. A line already in that form
hashes to the event's hash as it is (``known.py`` recognises stored lines so).
The form depends on how orjson renders numbers and strings; ``tests/test_dedup.py``
pins it, so an orjson that renders them otherwise fails CI rather than storing
events a second time.

Standard library only: preparing events (``prepare.py``) needs these and nothing of the store.
"""

from __future__ import annotations

from hashlib import blake2b


def event_hash(payload: bytes | memoryview) -> str:
    """The identity of an event given as its compact JSON (the stored payload)."""
    return blake2b(payload, digest_size=16).hexdigest()


def line_hash(line: bytes) -> str:
    """The hash of a raw NDJSON line without its line ending: the event's if the line is canonical."""
    if line[-1:] != b"\n":
        return event_hash(line)
    end = len(line) - (2 if line[-2:-1] == b"\r" else 1)
    return event_hash(memoryview(line)[:end])


def is_line_of(payload: bytes, line: bytes) -> bool:
    """Whether the raw ``line`` is ``payload`` followed by nothing but its line ending."""
    return line.startswith(payload) and line[len(payload):] in (b"", b"\n", b"\r\n")
