"""``export``: the stored OpenLineage events, each exactly as stored, oldest first.

The ``events`` table keeps every distinct event as received (minified JSON, see
docs/store.md): run events from logs and from ``serve``, and the events ``ingest``
derived from dbt manifests and SQL scripts. Export streams them in batches
(never the whole list in memory), ordered by event time, so that ``export`` then
``ingest`` into a fresh store rebuilds the same lineage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lineagectl.common.timeutil import option_time
from lineagectl.store import open_store

BATCH = 1000

# An event belongs to a namespace through its job (run and job events) or its dataset
# (dataset events); job_names/dataset_names keep every name ever seen, current or not.
_EVENTS = """
    SELECT e.payload FROM events e
    LEFT JOIN job_names j ON j.job_id = e.job_id
    LEFT JOIN dataset_names d ON d.dataset_id = e.dataset_id
    WHERE ($since IS NULL OR e.event_time >= $since)
      AND ($namespace IS NULL OR coalesce(j.namespace, d.namespace) = $namespace)
      AND ($job IS NULL OR j.name = $job)
    ORDER BY e.event_time, e.event_hash"""


def export_events(db: Any, *, since: str | None = None, namespace: str | None = None,
                  job: str | None = None) -> Iterator[str]:
    """Each stored event (one line of minified JSON, no newline) in event-time order.

    ``since``: a duration back from now (``7d``) or a timestamp; ``namespace``: events of
    jobs or datasets in it; ``job``: events of the job of this name. The store stays open
    until the iterator is exhausted or closed. A bad ``since`` raises here, before any event.
    """
    return _stream(db, {"since": option_time(since, "--since"), "namespace": namespace, "job": job})


def _stream(db: Any, parameters: dict[str, Any]) -> Iterator[str]:
    with open_store(db) as con:
        cursor = con.execute(_EVENTS, parameters)
        while rows := cursor.fetchmany(BATCH):
            for (payload,) in rows:
                yield payload
