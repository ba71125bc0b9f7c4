"""Deciding, per event, whether it can be stored, and why not.

This is the only per-event Python work of an ingest besides the JSON parse:
everything else (hashing, unnesting, merging) happens set-based in DuckDB
(``unnest.py``, ``writer.py``). It walks the parts of the event that identify
it, checks every facet is an object, and applies the standard facet checks of
``facets.py``. What passes here is safe to hand to SQL.
"""

from __future__ import annotations

from datetime import datetime

from lineagectl.common.timeutil import parse_timestamp
from lineagectl.sources.ingest.facets import check_facet

RUN_STATES = frozenset(("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"))


class Reject(Exception):
    """An event that cannot be stored; ``str(exc)`` is the reason shown to the user."""


def _name_pair(obj: object, where: str) -> dict:
    """``obj``, checked to be an object with a namespace and a name."""
    if not isinstance(obj, dict):
        raise Reject(f"{where} must be an object")
    namespace, name = obj.get("namespace"), obj.get("name")
    if not isinstance(namespace, str) or not namespace:
        raise Reject(f"{where}.namespace is missing or not a string")
    if not isinstance(name, str) or not name:
        raise Reject(f"{where}.name is missing or not a string")
    return obj


def event_kind(event: dict) -> str:
    """``run``, ``dataset`` or ``job``: by the schemaURL fragment, else by structure."""
    url = event.get("schemaURL")
    if isinstance(url, str):
        fragment = url.rsplit("/", 1)[-1]
        if fragment == "RunEvent":
            return "run"
        if fragment == "DatasetEvent":
            return "dataset"
        if fragment == "JobEvent":
            return "job"
    if "run" in event:
        return "run"
    if "dataset" in event and "job" not in event:
        return "dataset"
    if "job" in event:
        return "job"
    raise Reject("not an OpenLineage event: no run, job or dataset")


def _facets(facets: object, where: str) -> None:
    if facets is None:
        return
    if not isinstance(facets, dict):
        raise Reject(f"{where} must be an object")
    for key, facet in facets.items():
        if facet is None:
            continue  # openlineage-python writes unset facets as null: absent, as the spec allows
        if not isinstance(facet, dict):
            raise Reject(f"{where}.{key} must be an object")
        if facet.get("_deleted") is True:
            continue
        problem = check_facet(key, facet)
        if problem:
            raise Reject(f"{where}.{key}: {problem}")


def _datasets(event: dict, field: str, extra: str) -> None:
    items = event.get(field)
    if items is None:
        return
    if not isinstance(items, list):
        raise Reject(f"{field} must be a list")
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        _name_pair(item, where)
        _facets(item.get("facets"), f"{where}.facets")
        _facets(item.get(extra), f"{where}.{extra}")


def _job(event: dict) -> None:
    job = _name_pair(event.get("job"), "job")
    _facets(job.get("facets"), "job.facets")


def validate(event: object) -> tuple[str, datetime, str | None]:
    """``(kind, eventTime in UTC, eventType)`` of a storable event; raises ``Reject`` otherwise.

    Lenient where producers are sloppy: no ``eventType`` (kept as NULL), an
    unknown one (kept as OTHER), non-UUID run ids, times without timezone.
    """
    if not isinstance(event, dict):
        raise Reject(f"not a JSON object but {type(event).__name__}")
    kind = event_kind(event)
    raw_time = event.get("eventTime")
    when = parse_timestamp(raw_time)
    if when is None:
        if raw_time is None:
            raise Reject("missing eventTime")
        raise Reject(f"eventTime {raw_time!r} is not an ISO 8601 timestamp")
    for key in ("producer", "schemaURL"):
        if event.get(key) is not None and not isinstance(event[key], str):
            raise Reject(f"{key} must be a string")
    event_type = None
    if kind == "run":
        run = event.get("run")
        if not isinstance(run, dict):
            raise Reject("RunEvent without a run object")
        run_id = run.get("runId")
        if not isinstance(run_id, str) or not run_id.strip():
            raise Reject("RunEvent without run.runId")
        event_type = event.get("eventType")
        if event_type is not None:
            if not isinstance(event_type, str):
                raise Reject("eventType must be a string")
            event_type = event_type.upper()
            if event_type not in RUN_STATES:
                event_type = "OTHER"
        _job(event)
        _facets(run.get("facets"), "run.facets")
    elif kind == "job":
        _job(event)
    else:
        dataset = event.get("dataset")
        if dataset is None:
            raise Reject("DatasetEvent without a dataset")
        _name_pair(dataset, "dataset")
        _facets(dataset.get("facets"), "dataset.facets")
        return kind, when, None
    _datasets(event, "inputs", "inputFacets")
    _datasets(event, "outputs", "outputFacets")
    return kind, when, event_type
