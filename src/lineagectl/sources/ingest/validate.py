"""Deciding, per event, whether it can be stored, and why not.

This is the only per-event Python work of an ingest besides the JSON parse:
everything else (hashing, unnesting, merging) happens set-based in DuckDB
(``unnest.py``, ``writer.py``). It walks the parts of the event that identify
it, checks every facet is an object, and applies the standard facet checks of
``facets.py``. What passes here is safe to hand to SQL.

A malformed facet costs only that facet: it is listed as a ``BrokenFacet``, left
out of what SQL reads (``without``) and warned about, while the stored raw event
keeps it as sent. Strict validation (``ignored=None``: ``ingest --strict``)
rejects the event instead. What identifies an event (run id, job and dataset
names, eventTime) is never ignored: without it the event is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lineagectl.common.timeutil import parse_timestamp
from lineagectl.sources.ingest.facets import ContentKey, check_facet
from lineagectl.store.skeleton import is_deleted

RUN_STATES = frozenset(("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"))


class Reject(Exception):
    """An event that cannot be stored; ``str(exc)`` is the reason shown to the user."""


@dataclass(frozen=True, eq=False)
class BrokenFacet:
    """A malformed facet (or facets object) of an event: ``holder[key]``, and why (``reason``)."""

    reason: str
    holder: dict
    key: str
    what: str = "facet"  # or "facets": a whole facets object that is not one


class _Checks:
    """How one event's facets are checked: ``ignored`` (None: a broken facet rejects the event) and
    ``content_key`` (see ``check_facet``)."""

    __slots__ = ("content_key", "ignored")

    def __init__(self, ignored: list[BrokenFacet] | None, content_key: ContentKey | None) -> None:
        self.ignored = ignored
        self.content_key = content_key


def _broken(checks: _Checks, reason: str, holder: dict, key: str, what: str = "facet") -> None:
    if checks.ignored is None:
        raise Reject(reason)
    checks.ignored.append(BrokenFacet(reason, holder, key, what))


class IgnoredFacets:
    """Warns of each ignored facet with its place, the first ``SHOWN`` one by one, then a count:
    every run of a job repeats its facets, so one broken facet may come thousands of times."""

    SHOWN = 20

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.warn = warn
        self.count = 0

    def note(self, where: str, broken: list[tuple[str, str]]) -> None:
        """Warn that the ``broken`` facets (``(reason, what)``, see ``BrokenFacet``) of the event at
        ``where`` (``file:line``) were ignored."""
        for reason, what in broken:
            self.count += 1
            if self.count <= self.SHOWN:
                self.warn(f"{where}: {reason}: {what} ignored")

    def close(self) -> None:
        """Warn of the ignored facets not named one by one."""
        if self.count > self.SHOWN:
            self.warn(f"… and {self.count - self.SHOWN} more broken facets ignored ({self.count} in all): "
                      "--strict rejects their events")


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


def _facets(holder: dict, field: str, where: str, checks: _Checks) -> None:
    facets = holder.get(field)
    if facets is None:
        return
    if not isinstance(facets, dict):
        _broken(checks, f"{where} must be an object", holder, field, "facets")
        return
    for key, facet in facets.items():
        if facet is None:
            continue  # openlineage-python writes unset facets as null: absent, as the spec allows
        if not isinstance(facet, dict):
            _broken(checks, f"{where}.{key} must be an object", facets, key)
            continue
        if is_deleted(facet):
            continue  # nothing to check: it says the facet is gone
        problem = check_facet(key, facet, checks.content_key)
        if problem:
            _broken(checks, f"{where}.{key}: {problem}", facets, key)


def _datasets(event: dict, field: str, extra: str, checks: _Checks) -> None:
    items = event.get(field)
    if items is None:
        return
    if not isinstance(items, list):
        raise Reject(f"{field} must be a list")
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        _name_pair(item, where)
        _facets(item, "facets", f"{where}.facets", checks)
        _facets(item, extra, f"{where}.{extra}", checks)


def _job(event: dict, checks: _Checks) -> None:
    job = _name_pair(event.get("job"), "job")
    _facets(job, "facets", "job.facets", checks)


def validate(event: object, *, ignored: list[BrokenFacet] | None = None,
             content_key: ContentKey | None = None) -> tuple[str, datetime, str | None]:
    """``(kind, eventTime in UTC, eventType)`` of a storable event; raises ``Reject`` otherwise.

    Lenient where producers are sloppy: no ``eventType`` (kept as NULL), an
    unknown one (kept as OTHER), non-UUID run ids, times without timezone. A
    malformed facet rejects the event, unless ``ignored`` is a list: then the
    facet is appended to it and the event is stored with the facet left out of its
    tables. ``content_key`` is passed on to ``check_facet``.
    """
    checks = _Checks(ignored, content_key)
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
        _job(event, checks)
        _facets(run, "facets", "run.facets", checks)
    elif kind == "job":
        _job(event, checks)
    else:
        dataset = event.get("dataset")
        if dataset is None:
            raise Reject("DatasetEvent without a dataset")
        _name_pair(dataset, "dataset")
        _facets(dataset, "facets", "dataset.facets", checks)
        return kind, when, None
    _datasets(event, "inputs", "inputFacets", checks)
    _datasets(event, "outputs", "outputFacets", checks)
    return kind, when, event_type
