"""One record to what a batch stores: parse, validate, hash and split an event.

The per-event Python work of an ingest, in one function that touches no store
(so it could run in a second process: issue 20, item 3, measured in
docs/performance.md). Its answer is plain data: a ``Prepared`` event, or the
reason the record is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import orjson

from lineagectl.common.timeutil import format_timestamp
from lineagectl.sources.ingest.identity import event_hash, is_line_of
from lineagectl.sources.ingest.manual import ManualLogError, is_manual
from lineagectl.sources.ingest.manual import to_event as manual_event
from lineagectl.sources.ingest.validate import FacetChecks, Reject, validate
from lineagectl.store.skeleton import FacetHasher, FacetRow, split


@dataclass(frozen=True)
class Rules:
    """What an ingest accepts: ``strict`` rejects an event with a malformed facet (else the facet
    is ignored); an event dated after ``horizon`` (naive UTC; None: any date) is rejected."""

    strict: bool = False
    horizon: datetime | None = None


class Prepared(NamedTuple):
    """A validated event as a batch stores it (``writer.Batch.add``)."""

    digest: str  # the event hash
    kind: str
    event_type: str | None
    when: datetime
    skeleton: bytes
    refs: str
    blobs: dict[str, bytes]
    rows: list[FacetRow]
    # The malformed facets left out of its tables, as (reason, what) for the warning.
    ignored: list[tuple[str, str]]


def prepare(raw: bytes | None, event: object, digest: str | None, rules: Rules,
            hasher: FacetHasher) -> Prepared | str:
    """The event of an NDJSON line ``raw`` (or of an already parsed ``event`` when ``raw`` is None),
    ready to store, or why it is rejected. ``digest`` is the hash of the line without its line
    ending: the event's hash when the line is in canonical form."""
    if raw is not None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return f"invalid JSON: {exc}"
    if is_manual(event):
        try:
            event = manual_event(event)
        except ManualLogError as exc:
            return str(exc)
    ignored: list[tuple[str, str]] | None = None if rules.strict else []
    try:
        kind, when, event_type = validate(event, ignored=ignored, facets=False)
    except Reject as exc:
        return str(exc)
    if rules.horizon is not None and when > rules.horizon:
        # Stored, the latest facets would be this event's until that date: its schema,
        # owners and last_seen would be "current" for years. A producer's clock is wrong.
        return (f"eventTime {format_timestamp(when)} is beyond the accepted future "
                f"({format_timestamp(rules.horizon)}): a producer's clock? (--max-future widens the window)")
    # Compact re-serialisation makes a pretty-printed copy of an event equal to
    # its NDJSON line, so the hash deduplicates across files.
    try:
        payload = orjson.dumps(event)
    except TypeError:
        return "nested more than 255 levels deep"  # orjson reads 1024 levels but writes only 255
    if digest is None or raw is None or not is_line_of(payload, raw):
        digest = event_hash(payload)  # the line was not in canonical form
    assert isinstance(event, dict)  # validate() accepts objects only
    # Stored as sent, facets by reference; its tables are made without the malformed facets,
    # which are checked as the split meets them (one walk: serialise, hash, check).
    rows: list[FacetRow] = []
    try:
        skeleton, refs, blobs = split(event, hasher, rows, FacetChecks(ignored))
    except Reject as exc:
        return str(exc)
    return Prepared(digest, kind, event_type, when, skeleton, refs, blobs, rows, ignored or [])
