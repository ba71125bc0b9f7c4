"""Marquez's catalog objects over the store: namespaces, datasets, jobs with their latest runs, search.

The facts come from ``queries.objects`` (through ``Library.catalog``); here they
take the names and values of Marquez's API (``spec/openapi.yml``): ``id``
``{namespace, name}``, camelCase keys, run states ``RUNNING``/``COMPLETED``/
``FAILED``/``ABORTED``, dataset types ``DB_TABLE``/``STREAM`` and job types
``BATCH``/``STREAM`` (the values Marquez's clients deserialize; lineagectl's own
type stays in the ``datasetType``/``jobType`` facets). Lists page with
``limit`` (default 100) and ``offset`` and carry ``totalCount``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lineagectl.errors import DatabaseMissingError, NotFoundError
from lineagectl.serve.marquez import node_id

if TYPE_CHECKING:
    from lineagectl.serve.reads import Library, Query

# OpenLineage's event types as Marquez's run states (Marquez's OpenLineageDao: any other is RUNNING).
RUN_STATES = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
STREAM_TYPES = {"STREAM", "TOPIC"}
DEFAULT_LIMIT = 100
SEARCH_LIMIT = 10


def answer(library: Library, segments: tuple[str, ...], query: Query) -> dict | None:
    """``GET /api/v1/namespaces…`` and ``/api/v1/search``; None for other paths."""
    catalog = library.catalog
    if segments == ("search",):
        return _search(library, query)
    if not segments or segments[0] != "namespaces":
        return None
    if len(segments) == 1:
        query.allow("limit", "offset")
        page = _page(query)
        total, found = _or_nothing(lambda: catalog.namespaces(library.db, **page))
        return {"namespaces": [_namespace(n) for n in found], "totalCount": total}
    namespace, rest = segments[1], segments[2:]
    if not rest:
        query.allow()
        return _namespace(_known_namespace(library, namespace))
    if rest[0] not in ("datasets", "jobs"):
        return None
    shape = _dataset if rest[0] == "datasets" else _job
    lister = catalog.datasets if rest[0] == "datasets" else catalog.jobs
    if len(rest) == 1:
        query.allow("limit", "offset")
        _known_namespace(library, namespace)
        total, found = lister(library.db, namespace, **_page(query))
        return {rest[0]: [shape(item) for item in found], "totalCount": total}
    query.allow()
    name = "/".join(rest[1:])  # a client that left the name's '/' unencoded still names it
    _, found = lister(library.db, namespace, name=name, limit=1)
    if not found:
        raise NotFoundError(f"no {rest[0][:-1]} {name!r} in namespace {namespace!r}")
    return shape(found[0])


def _or_nothing(listing: Callable[[], tuple[int, list[dict]]]) -> tuple[int, list[dict]]:
    """A listing of the whole store, empty before the first event is stored (no store file yet)."""
    try:
        return listing()
    except DatabaseMissingError:
        return 0, []


def _page(query: Query) -> dict[str, int]:
    return {"limit": query.integer("limit", DEFAULT_LIMIT) or 0, "offset": query.integer("offset", 0) or 0}


def _known_namespace(library: Library, namespace: str) -> dict:
    _, found = library.catalog.namespaces(library.db, name=namespace, limit=1)
    if not found:
        raise NotFoundError(f"no namespace {namespace!r} in the store")
    return found[0]


def _namespace(found: dict) -> dict:
    return {"name": found["name"], "createdAt": found["first_seen"], "updatedAt": found["last_seen"],
            "ownerName": None, "description": None, "isHidden": False}


def _dataset(found: dict) -> dict:
    """Marquez's Dataset object."""
    source = found["facets"].get("dataSource")
    return {
        "id": {"namespace": found["namespace"], "name": found["name"]},
        "type": "STREAM" if str(found["type"]).upper() in STREAM_TYPES else "DB_TABLE",
        "name": found["name"], "physicalName": found["name"],
        "createdAt": found["first_seen"], "updatedAt": found["last_seen"],
        "namespace": found["namespace"],
        "sourceName": source["name"] if isinstance(source, dict) and source.get("name") else found["namespace"],
        "fields": found["fields"], "tags": found["tags"],
        "lastModifiedAt": found["last_modified"], "lastLifecycleState": found["lifecycle_state"],
        "description": found["description"], "facets": found["facets"],
        "currentVersion": found["current_version"], "deleted": found["dropped"],
    }


def _job(found: dict) -> dict:
    """Marquez's Job object, its latest runs newest first."""
    runs = [_run(run, found) for run in found["runs"]]
    parent = found["runs"][0]["parent_job_name"] if found["runs"] else None
    return {
        "id": {"namespace": found["namespace"], "name": found["name"]},
        "type": "STREAM" if str(found["processing_type"]).upper() == "STREAMING" else "BATCH",
        "name": found["name"], "simpleName": found["name"].rsplit(".", 1)[-1],
        "parentJobName": parent, "parentJobUuid": None,
        "createdAt": found["first_seen"], "updatedAt": found["last_seen"],
        "namespace": found["namespace"],
        "inputs": found["inputs"], "outputs": found["outputs"],
        "location": found["source_location"], "description": found["description"],
        "latestRun": runs[0] if runs else None, "latestRuns": runs,
        "facets": found["facets"], "currentVersion": None,
    }


def _run(run: dict, job: dict) -> dict:
    """Marquez's Run object (a run as Marquez reports it inside its job)."""
    duration = _milliseconds(run["started_at"], run["ended_at"])
    return {
        "id": run["id"], "createdAt": run["created_at"], "updatedAt": run["updated_at"],
        "nominalStartTime": run["nominal_start"], "nominalEndTime": run["nominal_end"],
        "state": RUN_STATES.get(run["state"], "RUNNING"),
        "startedAt": run["started_at"], "endedAt": run["ended_at"], "durationMs": duration,
        "args": {}, "jobVersion": None,
        "inputDatasetVersions": [_version(v) for v in run["inputs"]],
        "outputDatasetVersions": [_version(v) for v in run["outputs"]],
        "facets": run["facets"],
    }


def _version(dataset: dict) -> dict:
    return {"datasetVersionId": {"namespace": dataset["namespace"], "name": dataset["name"],
                                 "version": dataset["version"]}, "facets": {}}


def _milliseconds(start: str | None, end: str | None) -> int | None:
    from lineagectl.common.timeutil import parse_timestamp

    began, ended = parse_timestamp(start), parse_timestamp(end)
    if began is None or ended is None:
        return None
    return round((ended - began).total_seconds() * 1000)


def _search(library: Library, query: Query) -> dict:
    """Marquez's search: ``{"totalCount", "results": [{type, name, updatedAt, namespace, nodeId}]}``."""
    query.allow("q", "filter", "sort", "limit", "namespace", "before", "after")
    kind = query.choice("filter", ("dataset", "job"))
    sort = query.choice("sort", ("name", "updated_at", "update_at"))
    options = {"kind": kind, "namespace": query.text("namespace"), "limit": query.integer("limit", SEARCH_LIMIT) or 0,
               "sort": "updated_at" if sort in ("updated_at", "update_at") else "name",
               "before": query.text("before"), "after": query.text("after")}
    pattern = query.required("q", "the text names must hold")
    total, found = _or_nothing(lambda: library.catalog.search(library.db, pattern, **options))
    results: list[dict[str, Any]] = [
        {"type": item["kind"].upper(), "name": item["name"], "updatedAt": item["updated_at"],
         "namespace": item["namespace"], "nodeId": node_id(item["kind"], item["namespace"], item["name"])}
        for item in found]
    return {"totalCount": total, "results": results}
