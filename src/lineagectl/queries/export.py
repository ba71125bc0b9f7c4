"""``export``: the stored OpenLineage events, each exactly as stored, oldest first.

The ``events`` table keeps every distinct event as received (minified JSON, see
docs/store.md): run events from logs and from ``serve``, and the events ``ingest``
derived from dbt manifests and SQL scripts. Each is stored as a skeleton with its
facets by reference and rebuilt byte for byte (``store/skeleton.py``). Export streams them in batches
(never the whole list in memory), ordered by event time, so that ``export`` then
``ingest`` into a fresh store rebuilds the same lineage.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

from lineagectl.common.timeutil import option_time
from lineagectl.store import open_store
from lineagectl.store.skeleton import BlobReader

BATCH = 1000

# An event belongs to a namespace through its job (run and job events) or its dataset
# (dataset events); job_names/dataset_names keep every name ever seen, current or not.
_EVENTS = """
    SELECT e.event_time, e.event_hash, e.skeleton, e.facet_refs FROM events e
    LEFT JOIN job_names j ON j.job_id = e.job_id
    LEFT JOIN dataset_names d ON d.dataset_id = e.dataset_id
    WHERE ($since IS NULL OR e.event_time >= $since)
      AND ($namespace IS NULL OR coalesce(j.namespace, d.namespace) = $namespace)
      AND ($job IS NULL OR j.name = $job)
      AND ($after_time IS NULL OR e.event_time > $after_time
           OR (e.event_time = $after_time AND e.event_hash > $after_hash))
    ORDER BY e.event_time, e.event_hash"""


def export_events(db: Any, *, since: str | None = None, namespace: str | None = None,
                  job: str | None = None) -> Iterator[str]:
    """Each stored event (one line of minified JSON, no newline) in event-time order.

    ``since``: a duration back from now (``7d``) or a timestamp; ``namespace``: events of
    jobs or datasets in it; ``job``: events of the job of this name. The store stays open
    until the iterator is exhausted or closed. A bad ``since`` raises here, before any event.
    """
    return _payloads(export_keyed(db, since=since, namespace=namespace, job=job))


def _payloads(keyed: Generator[tuple[tuple[datetime, str], str], None, None]) -> Iterator[str]:
    try:
        for _, payload in keyed:
            yield payload
    finally:
        keyed.close()  # closing the export closes the store at once


def export_keyed(db: Any, *, since: str | None = None, namespace: str | None = None, job: str | None = None,
                 after: tuple[datetime, str] | None = None) -> Generator[tuple[tuple[datetime, str], str], None, None]:
    """``export_events`` with each event's place in the order, ``(event_time, event_hash)``, which is
    unique: ``after`` such a place continues right after it (a replay's resume checkpoint)."""
    parameters = {"since": option_time(since, "--since"), "namespace": namespace, "job": job,
                  "after_time": after[0] if after else None, "after_hash": after[1] if after else None}
    return _stream(db, parameters)


def _stream(db: Any, parameters: dict[str, Any]) -> Generator[tuple[tuple[datetime, str], str], None, None]:
    with open_store(db) as con:
        # The blobs come through a second cursor: a query on ``con`` would end the events' stream.
        blobs = con.cursor()
        try:
            reader = BlobReader(blobs)
            cursor = con.execute(_EVENTS, parameters)
            while rows := cursor.fetchmany(BATCH):
                payloads = reader.rebuild_all((skeleton, refs) for _, _, skeleton, refs in rows)
                for (when, digest, _, _), payload in zip(rows, payloads, strict=True):
                    yield (when, digest), payload.decode()
        finally:
            blobs.close()
