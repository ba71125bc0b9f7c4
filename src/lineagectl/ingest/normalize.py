"""Turning one OpenLineage event into rows for the store's history tables.

``Normalizer.add`` validates an event completely before it appends anything to
the batch, so a rejected event leaves no trace. Facets are replaced in the
stored event by the hash of their canonical JSON; the payload itself is
appended once per process (``facet_blobs``). Rows derived from a facet's
content (schema fields, column lineage) are produced only the first time that
content is seen, which keeps the cost of repeated runs low.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from ..ids import content_hash, entity_id
from ..timeutil import parse_timestamp
from .facets import check_facet

RUN_STATES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
DELETED = "deleted"
_SORTED = orjson.OPT_SORT_KEYS

# Table name -> column names of the staged rows (see writer.STAGE_TYPES).
STAGED = {
    "events": ("event_hash", "kind", "event_type", "event_time", "run_id", "job_id", "dataset_id",
               "producer", "schema_url", "payload", "source"),
    "run_states": ("run_id", "job_id", "event_type", "event_time", "event_hash"),
    "run_io": ("run_id", "job_id", "dataset_id", "direction", "version", "event_time", "event_hash"),
    "static_edges": ("dataset_id", "job_id", "direction", "event_time", "event_hash"),
    "dataset_names": ("dataset_id", "namespace", "name", "event_time", "event_hash"),
    "job_names": ("job_id", "namespace", "name", "event_time", "event_hash"),
    "dataset_facets": ("dataset_id", "facet_key", "facet_hash", "event_time", "event_hash"),
    "job_facets": ("job_id", "facet_key", "facet_hash", "event_time", "event_hash"),
    "run_facets": ("run_id", "facet_key", "facet_hash", "event_time", "event_hash"),
    "io_facets": ("run_id", "dataset_id", "direction", "facet_key", "facet_hash", "event_time", "event_hash"),
    "dataset_versions": ("dataset_id", "version", "run_id", "schema_hash", "event_time", "event_hash"),
    "cll_sets": ("dataset_id", "job_id", "facet_hash", "event_time", "event_hash"),
    "aliases": ("alias_id", "alias_namespace", "alias_name", "dataset_id", "kind", "alias_type",
                "event_time", "event_hash"),
    "facet_blobs": ("facet_hash", "payload"),
    "schema_fields": ("schema_hash", "ordinal", "name", "type", "description"),
    "cll_fields": ("dataset_id", "facet_hash", "column_name", "src_dataset_id", "src_column", "type",
                   "subtype", "masking", "description", "legacy_type"),
}


class Reject(Exception):
    """An event that cannot be stored; ``str(exc)`` is the reason shown to the user."""


def _name_pair(obj: object, where: str) -> tuple[str, str]:
    if not isinstance(obj, dict):
        raise Reject(f"{where} must be an object")
    namespace, name = obj.get("namespace"), obj.get("name")
    if not isinstance(namespace, str) or not namespace:
        raise Reject(f"{where}.namespace is missing or not a string")
    if not isinstance(name, str) or not name:
        raise Reject(f"{where}.name is missing or not a string")
    return namespace, name


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


class _Pending:
    """Rows of one event, appended to the batch only once the event is accepted."""

    __slots__ = ("rows", "blobs", "content", "claimed")

    def __init__(self) -> None:
        self.rows: list[tuple[str, tuple]] = []
        self.blobs: list[tuple[str, bytes]] = []
        self.content: list[tuple[str, tuple]] = []
        self.claimed: list[tuple[set, object]] = []


class Normalizer:
    """Accumulates the staged rows of a batch of events (see ``STAGED``)."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple]] = {name: [] for name in STAGED}
        self.event_hashes: set[str] = set()
        # Content already turned into rows by this process: facet payloads,
        # schema fields, column-lineage fields. The writer's anti-joins make
        # repeats across processes harmless; these sets just save the work.
        self._blobs_seen: set[str] = set()
        self._schemas_seen: set[str] = set()
        self._cll_seen: set[tuple[int, str]] = set()

    def clear(self) -> None:
        """Start a new batch (the content caches are kept)."""
        for rows in self.tables.values():
            rows.clear()
        self.event_hashes.clear()

    def __len__(self) -> int:
        return len(self.event_hashes)

    # ---- facets -------------------------------------------------------------

    def _facets(self, facets: object, where: str, pending: _Pending) -> list[tuple[str, str, dict]]:
        """Check, hash and stage the facets found at ``where`` (e.g. ``inputs[0].inputFacets``)."""
        if facets is None:
            return []
        if not isinstance(facets, dict):
            raise Reject(f"{where} must be an object")
        out = []
        for key, facet in facets.items():
            if not isinstance(facet, dict):
                raise Reject(f"{where}.{key} must be an object")
            if facet.get("_deleted") is True:
                out.append((key, DELETED, facet))
                continue
            data = orjson.dumps(facet, option=_SORTED)
            digest = content_hash(data)
            # Content seen before was checked then: real logs repeat most facets.
            if digest not in self._blobs_seen:
                problem = check_facet(key, facet)
                if problem:
                    raise Reject(f"{where}.{key}: {problem}")
                pending.blobs.append((digest, data))
            out.append((key, digest, facet))
        return out

    @staticmethod
    def _replace_facets(owner: dict, field: str, refs: list[tuple[str, str, dict]]) -> None:
        if refs:
            owner[field] = {key: digest for key, digest, _ in refs}

    # ---- events -------------------------------------------------------------

    def add(self, event: object, source: str) -> bool:
        """Validate ``event`` and stage its rows; ``False`` if it repeats one in this batch.

        Raises ``Reject`` with the reason when the event cannot be stored.
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
        pending = _Pending()
        if kind == "run":
            run_id, job_id, dataset_id, event_type = self._run_event(event, when, pending)
        elif kind == "job":
            run_id, dataset_id, event_type = None, None, None
            job_id = self._job_event(event, when, pending)
        else:
            run_id, job_id, event_type = None, None, None
            dataset_id = self._dataset_event(event, when, pending)
        for key in ("producer", "schemaURL"):
            if event.get(key) is not None and not isinstance(event[key], str):
                raise Reject(f"{key} must be a string")
        try:
            payload = orjson.dumps(event, option=_SORTED)
        except TypeError as exc:  # e.g. an integer beyond 64 bits
            raise Reject(f"cannot store event: {exc}") from None
        event_hash = content_hash(payload)
        if event_hash in self.event_hashes:
            return False
        self.event_hashes.add(event_hash)
        tables = self.tables
        for digest, data in pending.blobs:
            if digest not in self._blobs_seen:
                self._blobs_seen.add(digest)
                tables["facet_blobs"].append((digest, data.decode()))
        for cache, key in pending.claimed:
            cache.add(key)
        for table, row in pending.content:
            tables[table].append(row)
        for table, row in pending.rows:
            tables[table].append(row + (event_hash,))
        tables["events"].append((
            event_hash, kind, event_type, when, run_id, job_id, dataset_id,
            event.get("producer"), event.get("schemaURL"), payload.decode(), source,
        ))
        return True

    def _job(self, event: dict, when: datetime, pending: _Pending) -> int:
        job = event.get("job")
        namespace, name = _name_pair(job, "job")
        job_id = entity_id(namespace, name)
        pending.rows.append(("job_names", (job_id, namespace, name, when)))
        refs = self._facets(job.get("facets"), "job.facets", pending)
        for key, digest, _ in refs:
            pending.rows.append(("job_facets", (job_id, key, digest, when)))
        self._replace_facets(job, "facets", refs)
        return job_id

    def _run_event(self, event: dict, when: datetime, pending: _Pending):
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
        job_id = self._job(event, when, pending)
        pending.rows.append(("run_states", (run_id, job_id, event_type, when)))
        refs = self._facets(run.get("facets"), "run.facets", pending)
        for key, digest, _ in refs:
            pending.rows.append(("run_facets", (run_id, key, digest, when)))
        self._replace_facets(run, "facets", refs)
        for direction, field in (("in", "inputs"), ("out", "outputs")):
            self._io(event, field, direction, run_id, job_id, when, pending)
        return run_id, job_id, None, event_type

    def _job_event(self, event: dict, when: datetime, pending: _Pending) -> int:
        job_id = self._job(event, when, pending)
        for direction, field in (("in", "inputs"), ("out", "outputs")):
            self._io(event, field, direction, None, job_id, when, pending)
        return job_id

    def _dataset_event(self, event: dict, when: datetime, pending: _Pending) -> int:
        dataset = event.get("dataset")
        if dataset is None:
            raise Reject("DatasetEvent without a dataset")
        return self._dataset(dataset, "dataset", None, 0, when, pending)[0]

    def _io(self, event, field, direction, run_id, job_id, when, pending) -> None:
        items = event.get(field)
        if items is None:
            return
        if not isinstance(items, list):
            raise Reject(f"{field} must be a list")
        for index, item in enumerate(items):
            where = f"{field}[{index}]"
            dataset_id, refs = self._dataset(item, where, run_id, job_id, when, pending)
            extra_key = "inputFacets" if direction == "in" else "outputFacets"
            io_refs = self._facets(item.get(extra_key), f"{where}.{extra_key}", pending)
            self._replace_facets(item, extra_key, io_refs)
            facets = {key: facet for key, digest, facet in refs if digest != DELETED}
            version = facets.get("version", {}).get("datasetVersion")
            if run_id is None:
                pending.rows.append(("static_edges", (dataset_id, job_id, direction, when)))
                continue
            for key, digest, _ in io_refs:
                pending.rows.append(("io_facets", (run_id, dataset_id, direction, key, digest, when)))
            if direction == "out":
                schema_hash = next((d for k, d, _ in refs if k == "schema" and d != DELETED), None)
                pending.rows.append(("dataset_versions", (
                    dataset_id, version or run_id, run_id, schema_hash, when)))
            pending.rows.append(("run_io", (run_id, job_id, dataset_id, direction, version, when)))

    def _dataset(self, item, where, run_id, job_id, when, pending):
        namespace, name = _name_pair(item, where)
        dataset_id = entity_id(namespace, name)
        pending.rows.append(("dataset_names", (dataset_id, namespace, name, when)))
        refs = self._facets(item.get("facets"), f"{where}.facets", pending)
        for key, digest, facet in refs:
            pending.rows.append(("dataset_facets", (dataset_id, key, digest, when)))
            if digest == DELETED:
                continue
            if key == "schema":
                self._schema_fields(digest, facet, pending)
            elif key == "columnLineage":
                self._column_lineage(dataset_id, job_id, digest, facet, refs, when, pending)
            elif key == "symlinks":
                for ident in facet.get("identifiers") or []:
                    self._alias(ident, dataset_id, "symlink", ident.get("type"), when, pending)
            elif key == "lifecycleStateChange" and facet.get("lifecycleStateChange") == "RENAME":
                previous = facet.get("previousIdentifier")
                if isinstance(previous, dict) and isinstance(previous.get("name"), str):
                    self._alias(previous, dataset_id, "rename", None, when, pending)
        self._replace_facets(item, "facets", refs)
        return dataset_id, refs

    def _alias(self, ident: dict, dataset_id: int, kind: str, alias_type, when, pending) -> None:
        namespace, name = ident.get("namespace"), ident.get("name")
        if not isinstance(namespace, str) or not isinstance(name, str):
            return
        alias_id = entity_id(namespace, name)
        if alias_id != dataset_id:
            pending.rows.append(("aliases", (
                alias_id, namespace, name, dataset_id, kind,
                alias_type if isinstance(alias_type, str) else None, when)))

    @staticmethod
    def _claim(cache: set, key: object, pending: _Pending) -> bool:
        """True the first time ``key`` is seen by this process and event."""
        if key in cache or any(c is cache and k == key for c, k in pending.claimed):
            return False
        pending.claimed.append((cache, key))
        return True

    def _schema_fields(self, digest: str, facet: dict, pending: _Pending) -> None:
        if not self._claim(self._schemas_seen, digest, pending):
            return
        content = pending.content
        ordinal = 0

        def walk(fields: list, prefix: str) -> None:
            nonlocal ordinal
            for field in fields:
                if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                    continue
                name = prefix + field["name"]
                kind, doc = field.get("type"), field.get("description")
                content.append(("schema_fields", (digest, ordinal, name,
                                kind if isinstance(kind, str) else None,
                                doc if isinstance(doc, str) else None)))
                ordinal += 1
                if isinstance(field.get("fields"), list):
                    walk(field["fields"], name + ".")

        walk(facet.get("fields") or [], "")

    def _column_lineage(self, dataset_id, job_id, digest, facet, refs, when, pending) -> None:
        pending.rows.append(("cll_sets", (dataset_id, job_id or 0, digest, when)))
        if not self._claim(self._cll_seen, (dataset_id, digest), pending):
            return
        content = pending.content
        fields = facet.get("fields") or {}
        # Sources named only in column lineage are datasets too.
        sources = {(s["namespace"], s["name"]) for spec in fields.values()
                   for s in spec.get("inputFields") or []}
        sources.update((s["namespace"], s["name"]) for s in facet.get("dataset") or [])
        for namespace, name in sorted(sources):
            pending.rows.append(("dataset_names", (entity_id(namespace, name), namespace, name, when)))
        for column, spec in fields.items():
            legacy_type = spec.get("transformationType")
            legacy_desc = spec.get("transformationDescription")
            for source in spec.get("inputFields") or []:
                for kind, subtype, masking, desc in _transformations(source, legacy_type, legacy_desc):
                    content.append(("cll_fields", (
                        dataset_id, digest, column, entity_id(source["namespace"], source["name"]),
                        source["field"], kind, subtype, masking, desc, legacy_type)))
        # 1-2-0: dataset-level dependencies (e.g. a filter) influence every output column.
        dataset_deps = facet.get("dataset") or []
        if dataset_deps:
            columns = set(fields)
            schema = next((f for k, d, f in refs if k == "schema" and d != DELETED), None)
            for field in (schema or {}).get("fields") or []:
                if isinstance(field, dict) and isinstance(field.get("name"), str):
                    columns.add(field["name"])
            for source in dataset_deps:
                src_id = entity_id(source["namespace"], source["name"])
                for kind, subtype, masking, desc in _transformations(source, None, None):
                    for column in sorted(columns):
                        content.append(("cll_fields", (dataset_id, digest, column, src_id,
                                                       source["field"], kind, subtype, masking,
                                                       desc, None)))


def _transformations(source: dict, legacy_type, legacy_desc):
    """(type, subtype, masking, description) of one input field; legacy format mapped."""
    found = []
    for item in source.get("transformations") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        kind = kind.upper() if isinstance(kind, str) and kind else "DIRECT"
        subtype = item.get("subtype")
        subtype = subtype.upper() if isinstance(subtype, str) and subtype else None
        desc = item.get("description")
        found.append((kind, subtype, item.get("masking") is True, desc if isinstance(desc, str) else None))
    if found:
        return found
    # Legacy (pre 1-2-0) facets: one transformationType per output field.
    if isinstance(legacy_type, str) and legacy_type:
        subtype = "IDENTITY" if legacy_type.upper() == "IDENTITY" else "TRANSFORMATION"
        return [("DIRECT", subtype, False, legacy_desc if isinstance(legacy_desc, str) else None)]
    return [("DIRECT", None, False, None)]
