"""Recognising the events a store holds from their raw lines alone.

Most logs are written compact by their producer, so a line usually *is* the
stored payload, byte for byte: hashing the raw line (without its newline) gives
the event's hash (``identity.py``) without parsing or re-encoding it. ``KnownLines`` asks the
store which of a chunk of lines it already holds by that hash; those lines are
duplicates and are skipped before ``orjson.loads``. A line that is not in
canonical form (pretty-printed on one line, other escapes) simply misses here
and takes the full road (parse, validate, re-encode, hash), where the store's
duplicate check still recognises it. A hit needs the exact bytes of a stored
event, which was validated when it was stored, so skipping it is always safe.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow as pa

from lineagectl.store import with_tables

# A chunk's lines are usually a few days of a time-ordered log: the store's hashes of those days
# are fetched (filtering on event_time is cheap) and compared in Python. Binding the chunk's
# hashes as a list parameter and matching them in SQL took 4x longer (80 vs 18 ms per 4,096
# lines over 100k stored events). Beyond WINDOW_ROWS stored events in the window (a dense
# store), or when a line's day is unknown, the chunk's hashes are matched in SQL instead.
WINDOW_ROWS = 50_000
_WINDOW = "SELECT event_hash FROM events WHERE event_time >= $lo AND event_time < $hi LIMIT $limit"
_MATCH = "SELECT h FROM chunk SEMI JOIN events ON event_hash = h"
_EVENT_TIME = b'"eventTime":"'


def event_day(raw: bytes) -> bytes:
    """The ``YYYY-MM-DD`` an NDJSON line's eventTime starts with, found without parsing (b"" if none).

    Only narrows a lookup: a wrong or missing day makes a known line miss, never a new one hit.
    """
    at = raw.find(_EVENT_TIME)
    return b"" if at < 0 else raw[at + 13:at + 23]


def _days(first: bytes, last: bytes) -> tuple[date, date] | None:
    """The UTC days that may hold events stamped from ``first`` to ``last`` (local days, any offset)."""
    try:
        lo, hi = date.fromisoformat(first.decode()), date.fromisoformat(last.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    try:
        return lo - timedelta(days=1), hi + timedelta(days=2)
    except OverflowError:
        return None


class KnownLines:
    """Which raw lines the store already holds, asked of its committed state.

    Uses its own cursor (a second connection to the same database): the ingest's
    connection is busy writing on another thread. Events stored by the current,
    uncommitted file are not seen here; the writer's own check catches those.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cursor = con.cursor()

    def known(self, hashes: list[str], first_day: bytes = b"", last_day: bytes = b"") -> set[str]:
        """The subset of ``hashes`` that are stored events (dated ``first_day`` to ``last_day``, if given:
        see ``event_day``)."""
        if not hashes:
            return set()
        days = _days(first_day, last_day) if first_day else None
        if days is not None:
            rows = self.cursor.execute(_WINDOW, {"lo": days[0], "hi": days[1], "limit": WINDOW_ROWS + 1}).fetchall()
            if len(rows) <= WINDOW_ROWS:
                stored = {row[0] for row in rows}
                return {h for h in hashes if h in stored}
        chunk = pa.table({"h": pa.array(hashes, pa.string())})
        return {row[0] for row in with_tables(self.cursor, _MATCH, {"chunk": chunk}).fetchall()}

    def close(self) -> None:
        self.cursor.close()
