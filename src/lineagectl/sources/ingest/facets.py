"""Checks for the standard OpenLineage facets lineagectl interprets.

Only what the store relies on is checked (the spec's required keys and their
types), so that a broken facet is left out (or, under ``--strict``, its event
rejected) with a reason instead of being stored half-understood. Unknown and custom facets pass untouched, and so do
the spec's optional ``_producer`` / ``_schemaURL``.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b

import orjson

Check = Callable[[dict], str | None]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string(key: str, required: bool = True) -> Check:
    def check(facet: dict) -> str | None:
        if key not in facet or facet[key] is None:
            return f"missing '{key}'" if required else None
        if not isinstance(facet[key], str):
            return f"'{key}' must be a string, not {type(facet[key]).__name__}"
        return None

    return check


def _integers(*keys: str) -> Check:
    def check(facet: dict) -> str | None:
        for key in keys:
            value = facet.get(key)
            if value is not None and not _is_int(value):
                return f"'{key}' must be an integer, not {value!r}"
        return None

    return check


def _list_of_objects(key: str, item_keys: tuple[str, ...], required: bool = False) -> Check:
    def check(facet: dict) -> str | None:
        items = facet.get(key)
        if items is None:
            return f"missing '{key}'" if required else None
        if not isinstance(items, list):
            return f"'{key}' must be a list"
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return f"'{key}[{index}]' must be an object"
            for item_key in item_keys:
                if not isinstance(item.get(item_key), str):
                    return f"'{key}[{index}]' needs a string '{item_key}'"
        return None

    return check


def _all(*checks: Check) -> Check:
    def check(facet: dict) -> str | None:
        for each in checks:
            problem = each(facet)
            if problem:
                return problem
        return None

    return check


def _object(key: str, required: bool = True) -> Check:
    def check(facet: dict) -> str | None:
        if facet.get(key) is None:
            return f"missing '{key}'" if required else None
        if not isinstance(facet[key], dict):
            return f"'{key}' must be an object"
        return None

    return check


def _parent(facet: dict) -> str | None:
    run, job = facet.get("run"), facet.get("job")
    # Spark sends a parent with only job and root; a run without runId is broken.
    if run is not None and (not isinstance(run, dict) or not isinstance(run.get("runId"), str)):
        return "needs run.runId"
    if not isinstance(job, dict) or not all(isinstance(job.get(k), str) for k in ("namespace", "name")):
        return "needs job.namespace and job.name"
    return None


def _quality_metrics(facet: dict) -> str | None:
    # The spec requires columnMetrics, but Marquez and real producers send rowCount alone.
    if facet.get("columnMetrics") is None and facet.get("rowCount") is None:
        return "needs columnMetrics or rowCount"
    return _object("columnMetrics", required=False)(facet)


def _column_lineage(facet: dict) -> str | None:
    fields = facet.get("fields")
    if not isinstance(fields, dict):
        return "'fields' must be an object"
    for name, spec in fields.items():
        if not isinstance(spec, dict):
            return f"fields.{name} must be an object"
        inputs = spec.get("inputFields", [])
        if not isinstance(inputs, list):
            return f"fields.{name}.inputFields must be a list"
        for index, item in enumerate(inputs):
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) for k in ("namespace", "name", "field")
            ):
                return f"fields.{name}.inputFields[{index}] needs namespace, name and field"
    dataset = facet.get("dataset")
    if dataset is not None and not isinstance(dataset, list):
        return "'dataset' must be a list"
    for index, item in enumerate(dataset or []):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("namespace", "name", "field")
        ):
            return f"dataset[{index}] needs namespace, name and field"
    return None


def _tags(facet: dict) -> str | None:
    tags = facet.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list):
        return "'tags' must be a list"
    for index, tag in enumerate(tags):
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
            return f"tags[{index}] needs a string 'key'"
    return None


def _schema(facet: dict) -> str | None:
    fields = facet.get("fields")
    if fields is None:
        return None
    if not isinstance(fields, list):
        return "'fields' must be a list"
    for index, field in enumerate(fields):
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            return f"fields[{index}] needs a string 'name'"
    return None


CHECKS: dict[str, Check] = {
    "ownership": _list_of_objects("owners", ("name",)),
    "parent": _parent,
    "outputStatistics": _integers("rowCount", "size", "fileCount"),
    "inputStatistics": _integers("rowCount", "size", "fileCount"),
    "dataQualityMetrics": _all(_quality_metrics, _integers("rowCount", "bytes", "fileCount")),
    "errorMessage": _string("message"),
    "nominalTime": _string("nominalStartTime"),
    "sql": _string("query"),
    "schema": _schema,
    "columnLineage": _column_lineage,
    "symlinks": _list_of_objects("identifiers", ("namespace", "name")),
    "lifecycleStateChange": _string("lifecycleStateChange"),
    "datasetType": _string("datasetType"),
    "version": _string("datasetVersion"),
    "tags": _tags,
    "documentation": _string("description"),
}


# Checks that walk a facet's whole content. Every run of a job repeats the same schema and
# column lineage, so their verdicts are remembered by a digest of the content: serialising
# and hashing a facet costs ~2 µs, checking a wide column-lineage facet in Python ~15 µs.
# Digests, not contents, keep the memory small (~150 bytes an entry).
_BY_CONTENT = frozenset(("schema", "columnLineage", "symlinks", "ownership", "tags"))
_REMEMBERED = 200_000
_verdicts: dict[tuple[str, bytes | str], str | None] = {}

def _content_digest(facet: dict) -> bytes | None:
    try:
        return blake2b(orjson.dumps(facet), digest_size=16).digest()
    except TypeError:  # nested too deep to serialise
        return None


def check_facet(key: str, facet: dict, digest: bytes | str | None = None) -> str | None:
    """Why ``facet`` is not a valid ``key`` facet, or ``None`` if it is usable.

    ``digest`` is what the verdict of a content-checked facet is remembered by; ingest passes the
    facet's store hash, which it has made anyway, so a facet is serialised and hashed once. It must
    be equal only for equal contents; without it one is made here.
    """
    check = CHECKS.get(key)
    if check is None:
        return None
    if key not in _BY_CONTENT:
        return check(facet)
    if digest is None:
        digest = _content_digest(facet)
        if digest is None:
            return check(facet)
    try:
        return _verdicts[key, digest]
    except KeyError:
        pass
    verdict = check(facet)
    if len(_verdicts) >= _REMEMBERED:
        _verdicts.clear()
    _verdicts[key, digest] = verdict
    return verdict
