"""``import-marquez URL``: page through a running Marquez's event history, oldest first.

Marquez answers ``GET /api/v1/events/lineage?after=&before=&sortDirection=&limit=&offset=``
with ``{"events": [...], "totalCount": N}`` (``OpenLineageResource.getLineageEvents``):
run events with ``after <= event_time < before``, ordered by ``event_time`` alone
(``desc`` unless ``sortDirection=asc``), ``limit`` (default 100) from ``offset``;
``before`` defaults to 2030-01-01 and ``totalCount`` also counts dataset and job
events, so neither is relied on here: both bounds are always sent, and the end
is a page shorter than ``limit``.

Offsets are not used to move on: ties in ``event_time`` have no order, so an
offset into them may skip or repeat events between two requests, and new events
move every offset. Instead each page moves ``after`` to the last event time it
holds (inclusive: the events at that instant are fetched again and deduplicated
by the ingest); a page that holds a single instant is followed by one request for
that whole instant (``after=T, before=T+1µs``, a limit doubled until the instant
fits), then ``after`` moves past it.

``import_events`` stores the pages with the normal ingest, each page whole or not at all.
An ingest costs a fixed fraction of a second (its statements, the refresh of current
state, the commit) however few events it holds, so pages are kept in a scratch directory
and ingested together once they hold ``GROUP_EVENTS`` events (one ingest call, one
transaction per page or group of small pages), and before any failure is reported. The
``--since`` a failure names is the start of the first page not stored.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from lineagectl.common.http_client import RETRIES, Backend, GaveUp
from lineagectl.common.timeutil import option_time, parse_timestamp
from lineagectl.errors import InputError, LineageError
from lineagectl.sources.ingest import ingest

EVENTS = "/api/v1/events/lineage"
# Pages are ingested together once they hold this many events (one ingest's fixed cost amortised).
GROUP_EVENTS = 5_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
EPOCH = datetime(1970, 1, 1)
TICK = timedelta(microseconds=1)  # Marquez keeps event_time as timestamptz: microseconds


@dataclass(frozen=True)
class Page:
    """One answer of Marquez: its body as received, to be stored before the next page is fetched."""

    number: int
    body: bytes
    events: int
    after: datetime   # where this page starts (inclusive): the resume point until it is stored
    last: datetime | None  # its latest event time: where a later run continues from
    url: str          # the request, for messages


def cursor_text(value: datetime) -> str:
    """A cursor as Marquez's ``after``/``before`` and lineagectl's ``--since`` read it (µs, UTC)."""
    return value.isoformat(timespec="microseconds") + "Z"


def pages(url: str, *, since: str | None = None, until: str | None = None, token: str | None = None,
          page_size: int = DEFAULT_PAGE_SIZE, retries: int = RETRIES, timeout: float = 60.0,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[Page]:
    """The pages of Marquez's events from ``since`` (inclusive) to ``until`` (exclusive), oldest first.

    The caller stores each page before taking the next. ``InputError`` (the request's URL and
    status, and ``--since`` to resume with) for a refused connection, an HTTP error, an answer
    that is not a page, and a server that does not sort ascending.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"--page-size must be between 1 and {MAX_PAGE_SIZE}")
    after = option_time(since, "--since") or EPOCH
    before = option_time(until, "--until") or datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    if after >= before:
        raise InputError("--since must be before --until")
    backend = Backend(url, "import-marquez", token=token, timeout=timeout, retries=retries, sleep=sleep)
    number = received = 0
    try:
        while True:
            page, times = _fetch(backend, after, before, page_size, number, received)
            past, limit = None, page_size
            while len(times) == limit and times[0] == times[-1]:
                # A whole page at one instant: ask for that instant whole (doubling the limit
                # until it fits), then move past it.
                past, limit = times[0] + TICK, limit * 2
                page, times = _fetch(backend, times[0], past, limit, number, received)
            number += 1
            yield Page(number, page.body, len(times), after, times[-1] if times else None, page.url)
            received += len(times)
            if past is not None:
                after = past
            elif len(times) < page_size:
                return
            else:
                after = times[-1]
            if after >= before:
                return
    finally:
        backend.close()


@dataclass(frozen=True)
class _Answer:
    body: bytes
    url: str


def _fetch(backend: Backend, after: datetime, before: datetime, limit: int, done: int,
           received: int) -> tuple[_Answer, list[datetime]]:
    query = {"after": cursor_text(after), "before": cursor_text(before), "sortDirection": "asc",
             "limit": limit, "offset": 0}
    where = backend.address(EVENTS, query)

    def failed(reason: str, hint: str | None = None) -> InputError:
        resume = (f"{done} pages ({received} events) were stored; to resume: --since {cursor_text(after)}"
                  if done else "nothing was stored")
        return InputError(f"import-marquez: {where}: {reason}; {resume}", hint=hint)

    try:
        answer = backend.request("GET", EVENTS, query=query, headers={"Accept": "application/json"})
    except GaveUp as exc:
        raise failed(f"{exc.reason} (after {exc.attempts} attempts)") from None
    if answer.status != 200:
        detail = answer.body[:200].decode("utf-8", "replace").strip()
        hint = "give the token with --token-file or $LINEAGECTL_TOKEN" if answer.status in (401, 403) else None
        raise failed(f"HTTP {answer.status}" + (f": {detail}" if detail else ""), hint)
    try:
        value = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        kind = answer.content_type.split(";")[0] or "no content type"
        raise failed(f"the answer is not JSON ({kind}, {len(answer.body)} bytes): is this Marquez's API URL?") from None
    events = value.get("events") if isinstance(value, dict) else None
    if not isinstance(events, list):
        raise failed('the answer is not a page of events ({"events": [...], "totalCount": N})')
    times = [parse_timestamp(event.get("eventTime")) if isinstance(event, dict) else None for event in events]
    known = [t for t in times if t is not None]
    if len(known) < len(times):
        raise failed(f"event #{times.index(None) + 1} of the page has no readable eventTime to page by")
    if known != sorted(known):
        raise failed("the events are not in ascending time order: this server ignores sortDirection=asc "
                     "(a Marquez older than the parameter?)")
    return _Answer(answer.body, where), known


def import_events(url: str, db: Any, *, since: str | None = None, until: str | None = None,
                  token: str | None = None, page_size: int = DEFAULT_PAGE_SIZE, retries: int = RETRIES,
                  on_reject: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Store the pages of ``pages`` in the store ``db``: ``{"pages", "events_read", "events_new",
    "events_duplicate", "events_rejected", "next_since"}`` (``next_since``: where a later run
    continues). ``on_reject`` receives ``page N: event #M: reason``."""
    totals: dict[str, Any] = {"pages": 0, "events_read": 0, "events_new": 0, "events_duplicate": 0,
                              "events_rejected": 0, "next_since": None}
    with tempfile.TemporaryDirectory(prefix="lineagectl-marquez-") as scratch:
        waiting: list[Page] = []

        def store() -> None:
            """Ingest the waiting pages (each its own file: stored whole or not at all)."""
            if not waiting:
                return
            files = {str(Path(scratch) / f"page-{page.number:09d}.json"): page for page in waiting}
            place = re.compile(rf"^{re.escape(scratch)}/page-0*(\d+)\.json:\d+: ")

            def rejected(message: str) -> None:
                if on_reject is not None:
                    on_reject(place.sub(r"page \1: ", message))

            try:
                report = ingest(list(files), db, force=True, remember_files=False, on_reject=rejected)
            except LineageError as exc:
                exc.message += (f" (storing pages {waiting[0].number}-{waiting[-1].number} of {url}; "
                                f"{totals['pages']} pages were stored before; "
                                f"to resume: --since {cursor_text(waiting[0].after)})")
                raise
            if report.file_errors:  # a scratch file unreadable: the disk's trouble, said as is
                raise InputError(f"{report.file_errors[0]}; to resume: --since {cursor_text(waiting[0].after)}")
            totals["pages"] += len(waiting)
            for key in ("events_read", "events_new", "events_duplicate", "events_rejected"):
                totals[key] += getattr(report, key)
            last = [page.last for page in waiting if page.last is not None]
            if last:
                totals["next_since"] = cursor_text(last[-1])
            for name in files:
                Path(name).unlink(missing_ok=True)
            waiting.clear()

        try:
            for page in pages(url, since=since, until=until, token=token, page_size=page_size, retries=retries):
                Path(scratch, f"page-{page.number:09d}.json").write_bytes(page.body)
                waiting.append(page)
                if sum(p.events for p in waiting) >= GROUP_EVENTS:
                    store()
        except InputError:
            store()  # what was fetched is kept; the error's --since is where that leaves off
            raise
        store()
    return totals
