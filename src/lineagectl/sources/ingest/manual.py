"""Hand-written lineage logs: one ETL step per line, read as the OpenLineage run it describes.

Where no OpenLineage integration exists, teams log each step themselves, often as

    {"timestamp": "2026-11-20T02:00:00Z", "source": "postgres://db:5432/shop.orders",
     "destination": "warehouse.daily_sales", "transformation": "SQL", "query_hash": "9f1c…",
     "sql": "INSERT INTO warehouse.daily_sales SELECT …", "job": "daily_sales"}

``source`` may also be a list (``sources`` is accepted too), ``destination`` too.
A name with a scheme (``postgres://db:5432/shop.orders``) is that namespace and
the rest as the name; a bare name (``warehouse.daily_sales``) lives in the
``manual`` namespace. Each line becomes a COMPLETE run of its job (``job``, else
the destination's name) with the sources as inputs and the destinations as
outputs; ``sql`` becomes the job's ``sql`` facet, from which ingest derives
column lineage as for any producer; the line itself is kept as a run facet. The
run id is derived from the line's content, so the same line ingested twice is
one run.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeGuard

import orjson

MANUAL_NAMESPACE = "manual"
PRODUCER = "https://github.com/lineagectl/lineagectl/manual-log"
_RUN_IDS = uuid.UUID("8a3c1f2e-5b7d-4e9a-9c1b-2d4f6a8b0c1e")  # the uuid5 namespace of manual runs
_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACET = {"_producer": PRODUCER, "_schemaURL": PRODUCER}


class ManualLogError(ValueError):
    """A manual lineage line that says too little or says it in the wrong shape."""


def is_manual(record: object) -> TypeGuard[dict[str, Any]]:
    """Whether ``record`` is a hand-written lineage line rather than an OpenLineage event."""
    return (isinstance(record, dict) and "destination" in record
            and ("source" in record or "sources" in record)
            and not any(key in record for key in ("eventTime", "run", "dataset")))


def dataset(reference: str) -> dict[str, str]:
    """An OpenLineage dataset from a name as people write it (``scheme://authority/name`` or a bare name)."""
    if "://" in reference:
        scheme, rest = reference.split("://", 1)
        authority, _, name = rest.partition("/")
        if name:
            return {"namespace": f"{scheme}://{authority}", "name": name}
    return {"namespace": MANUAL_NAMESPACE, "name": reference}


def _names(record: dict, *keys: str) -> list[str]:
    for key in keys:
        if key in record:
            value = record[key]
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) and v.strip() for v in values):
                raise ManualLogError(f"manual lineage line: {key!r} must be a name or a list of names")
            return [v.strip() for v in values]
    return []


def to_event(record: dict[str, Any]) -> dict[str, Any]:
    """The OpenLineage RunEvent a manual lineage line describes; ``ManualLogError`` if it cannot."""
    when = record.get("timestamp", record.get("time"))
    if not isinstance(when, str) or not when.strip():
        raise ManualLogError("manual lineage line: 'timestamp' is missing (an ISO 8601 time)")
    sources, destinations = _names(record, "source", "sources"), _names(record, "destination")
    job = record.get("job")
    if job is not None and (not isinstance(job, str) or not job.strip()):
        raise ManualLogError("manual lineage line: 'job' must be a name")
    sql = record.get("sql")
    if sql is not None and not isinstance(sql, str):
        raise ManualLogError("manual lineage line: 'sql' must be text")
    run_id = uuid.uuid5(_RUN_IDS, orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode())
    job_facets: dict[str, Any] = {}
    if sql:
        job_facets["sql"] = {**_FACET, "query": sql}
    return {
        "eventType": "COMPLETE",
        "eventTime": when,
        "run": {"runId": str(run_id), "facets": {"manualLineage": {**_FACET, "line": record}}},
        "job": {"namespace": MANUAL_NAMESPACE, "name": (job or dataset(destinations[0])["name"]).strip(),
                "facets": job_facets},
        "inputs": [dataset(s) for s in sources],
        "outputs": [dataset(d) for d in destinations],
        "producer": PRODUCER,
        "schemaURL": _SCHEMA_URL,
    }
