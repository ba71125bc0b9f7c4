"""Deciding, per event, whether it can be stored, and why not.

``validate`` walks the parts of an event that identify it (kind, eventTime, run
id, job and dataset names) and checks that its facet maps are objects;
``FacetChecks`` judges each facet (an object, and the standard checks of
``facets.py``). Ingest asks it as ``skeleton.split`` meets each facet, so a
facet is serialised, hashed and checked in one walk (``prepare.py``); elsewhere
``validate`` runs it over every facet itself. What passes is safe to hand to SQL.

A malformed facet costs only that facet: it is listed with its reason, left
out of the facet rows and warned about, while the stored raw event
keeps it as sent. Strict validation (``ignored=None``: ``ingest --strict``)
rejects the event instead. What identifies an event (run id, job and dataset
names, eventTime) is never ignored: without it the event is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from lineagectl.common.timeutil import parse_timestamp
from lineagectl.sources.ingest.facets import CHECKS, check_facet
from lineagectl.store.skeleton import facet_maps, facet_place, is_deleted

RUN_STATES = frozenset(("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"))


class Reject(Exception):
    """An event that cannot be stored; ``str(exc)`` is the reason shown to the user."""


class FacetChecks:
    """Judges an event's facets one by one (a ``skeleton.FacetCheck``): a malformed one is appended
    to ``ignored`` as ``(reason, what)``, or, when ``ignored`` is None (strict), rejects the event."""

    __slots__ = ("ignored",)

    def __init__(self, ignored: list[tuple[str, str]] | None) -> None:
        self.ignored = ignored

    def __call__(self, code: str, position: int, map_key: str, name: str, value: object,
                 digest: str | None = None) -> bool:
        """Whether the facet ``name`` of the facet map at ``(code, position, map_key)`` (see
        ``skeleton.facet_maps``) is usable; ``digest`` (its store hash) keys the verdicts
        ``check_facet`` remembers."""
        if value is None:
            return True  # openlineage-python writes unset facets as null: absent, as the spec allows
        if isinstance(value, dict):
            if name not in CHECKS or is_deleted(value):
                return True  # nothing to check: a custom facet, or one that says it is gone
            problem = check_facet(name, value, digest)
            if problem is None:
                return True
            self.broken(f"{facet_place(code, position, map_key)}.{name}: {problem}")
        else:
            self.broken(f"{facet_place(code, position, map_key)}.{name} must be an object")
        return False

    def broken(self, reason: str, what: str = "facet") -> None:
        """Note a malformed facet (``what``: or ``facets``, a whole facets object that is not one)."""
        if self.ignored is None:
            raise Reject(reason)
        self.ignored.append((reason, what))


class IgnoredFacets:
    """Warns of each ignored facet with its place, the first ``SHOWN`` one by one, then a count:
    every run of a job repeats its facets, so one broken facet may come thousands of times."""

    SHOWN = 20

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.warn = warn
        self.count = 0

    def note(self, where: str, broken: list[tuple[str, str]]) -> None:
        """Warn that the ``broken`` facets (``(reason, what)``, see ``FacetChecks.broken``) of the event at
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


def _facet_map(holder: dict, field: str, where: str, checks: FacetChecks) -> None:
    facets = holder.get(field)
    if facets is not None and not isinstance(facets, dict):
        checks.broken(f"{where} must be an object", "facets")


def _datasets(event: dict, field: str, extra: str, checks: FacetChecks) -> None:
    items = event.get(field)
    if items is None:
        return
    if not isinstance(items, list):
        raise Reject(f"{field} must be a list")
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        _name_pair(item, where)
        _facet_map(item, "facets", f"{where}.facets", checks)
        _facet_map(item, extra, f"{where}.{extra}", checks)


def _job(event: dict, checks: FacetChecks) -> None:
    job = _name_pair(event.get("job"), "job")
    _facet_map(job, "facets", "job.facets", checks)


def check_facets(event: dict, checks: FacetChecks) -> None:
    """Judge every facet of ``event`` by ``checks``, in ``skeleton.facet_maps``' order (the
    order ``split`` meets them in, which ingest checks them by)."""
    for code, position, _, _, map_key, facets in facet_maps(event):
        for name, value in facets.items():
            checks(code, position, map_key, name, value)


def validate(event: object, *, ignored: list[tuple[str, str]] | None = None,
             facets: bool = True) -> tuple[str, datetime, str | None]:
    """``(kind, eventTime in UTC, eventType)`` of a storable event; raises ``Reject`` otherwise.

    Lenient where producers are sloppy: no ``eventType`` (kept as NULL), an
    unknown one (kept as OTHER), non-UUID run ids, times without timezone. A
    malformed facet rejects the event, unless ``ignored`` is a list: then
    ``(reason, what)`` is appended to it and the event is stored with the facet
    left out of its tables. ``facets=False`` checks that facet maps are objects but
    not the facets in them: ingest checks those as ``split`` meets them
    (``FacetChecks``), after the envelope.
    """
    checks = FacetChecks(ignored)
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
        _facet_map(run, "facets", "run.facets", checks)
    elif kind == "job":
        _job(event, checks)
    else:
        dataset = event.get("dataset")
        if dataset is None:
            raise Reject("DatasetEvent without a dataset")
        _name_pair(dataset, "dataset")
        _facet_map(dataset, "facets", "dataset.facets", checks)
    if kind != "dataset":
        _datasets(event, "inputs", "inputFacets", checks)
        _datasets(event, "outputs", "outputFacets", checks)
    if facets:
        check_facets(event, checks)
    return kind, when, event_type
