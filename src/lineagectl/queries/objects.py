"""The store's datasets and jobs as whole objects, a page at a time: what a catalog API returns.

``serve``'s Marquez endpoints shape these (``serve/marquez_objects.py``); here
are the facts, named as the store names them. Each page costs a fixed number
of queries whatever its length (fields, tags, facets, runs are read for the
page's ids at once). Facets are each key's latest payload, parsed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from lineagectl.errors import InputError
from lineagectl.queries.run_order import newest_runs_first
from lineagectl.queries.show import FIELD_ORDINAL
from lineagectl.results import jsonable, records_from_rows
from lineagectl.store import open_store
from lineagectl.store.lookups import dropped_at

LATEST_RUNS = 10  # per job, as Marquez's latestRuns

_IDS = "IN (SELECT unnest($ids::BIGINT[]))"


MAX_PAGE = 1 << 62  # DuckDB's LIMIT and OFFSET are 64-bit


def _page(limit: int, offset: int) -> str:
    if not (0 <= limit <= MAX_PAGE and 0 <= offset <= MAX_PAGE):
        raise InputError(f"limit and offset must be from 0 to {MAX_PAGE}, not {limit} and {offset}")
    return f"LIMIT {int(limit)} OFFSET {int(offset)}"


def _facets(con: Any, table: str, key: str, ids: list) -> dict[Any, dict]:
    """``{id: {facet key: latest payload}}`` of ``dataset_facets``/``job_facets``/``run_facets``."""
    seen = "event_time" if table == "run_facets" else "last_seen"
    kind = "VARCHAR" if table == "run_facets" else "BIGINT"
    rows = con.execute(f"""
        SELECT f.{key}, f.facet_key, arg_max(b.payload, f.{seen})
        FROM {table} f JOIN facet_blobs b USING (facet_hash)
        WHERE f.{key} IN (SELECT unnest($ids::{kind}[])) GROUP BY ALL ORDER BY 1, 2""", {"ids": ids}).fetchall()
    found: dict[Any, dict] = {}
    for entity, facet, payload in rows:
        found.setdefault(entity, {})[facet] = orjson.loads(payload)
    return found


def namespaces(db: Any, *, name: str | None = None, limit: int = 100, offset: int = 0) -> tuple[int, list[dict]]:
    """Every namespace of a dataset or job (only ``name`` when given), by name:
    ``(total, [{"name", "first_seen", "last_seen"}])``."""
    sql = """SELECT namespace, min(first_seen), max(last_seen) FROM (
                 SELECT namespace, first_seen, last_seen FROM datasets
                 UNION ALL SELECT namespace, first_seen, last_seen FROM jobs)
             WHERE $name IS NULL OR namespace = $name GROUP BY namespace ORDER BY namespace"""
    page = _page(limit, offset)
    with open_store(db) as con:
        total = con.execute(f"SELECT count(*) FROM ({sql})", {"name": name}).fetchall()[0][0]
        rows = con.execute(f"{sql} {page}", {"name": name}).fetchall()
    return total, records_from_rows(["name", "first_seen", "last_seen"], rows)


def datasets(db: Any, namespace: str, *, name: str | None = None, limit: int = 100,
             offset: int = 0) -> tuple[int, list[dict]]:
    """The datasets of ``namespace`` (only ``name``, or a dataset ``name`` is an alias of, when given),
    by name: ``(total, [dataset])``; each dataset holds its row, ``fields`` (name, type, description,
    tags), ``tags``, ``facets``, ``last_modified`` (the end of its last complete write) and ``dropped``."""
    where = "d.namespace = $ns AND ($name IS NULL OR d.name = $name)"
    if name is not None:  # or the dataset that ns/name is an alias (symlink) of, as Marquez resolves it
        where = (f"({where}) OR d.dataset_id IN (SELECT a.dataset_id FROM dataset_aliases a JOIN dataset_names n "
                 "ON n.dataset_id = a.alias_id WHERE n.namespace = $ns AND n.name = $name)")
    params = {"ns": namespace, "name": name}
    columns = ["id", "namespace", "name", "type", "description", "current_version", "lifecycle_state",
               "first_seen", "last_seen"]
    page = _page(limit, offset)
    with open_store(db) as con:
        total = con.execute(f"SELECT count(*) FROM datasets d WHERE {where}", params).fetchall()[0][0]
        rows = con.execute(f"""SELECT dataset_id, namespace, name, dataset_type, description, current_version,
                                      lifecycle_state, first_seen, last_seen
                               FROM datasets d WHERE {where} ORDER BY name {page}""",
                           params).fetchall()
        found = records_from_rows(columns, rows)
        ids = [d["id"] for d in found]
        if not ids:
            return total, []
        fields = con.execute(f"""
            SELECT c.dataset_id, c.column_name, c.type, c.description FROM columns c
            JOIN datasets d USING (dataset_id)
            WHERE c.dataset_id {_IDS} ORDER BY c.dataset_id, {FIELD_ORDINAL} NULLS LAST, c.column_name""",
                             {"ids": ids}).fetchall()
        tags = con.execute(f"""SELECT entity_id, field, key, value FROM tags
                               WHERE entity_kind = 'dataset' AND entity_id {_IDS}
                               ORDER BY entity_id, field NULLS FIRST, key, value""", {"ids": ids}).fetchall()
        modified = dict(con.execute(f"""
            SELECT io.dataset_id, max(r.ended_at) FROM run_io io JOIN runs r USING (run_id)
            WHERE io.direction = 'out' AND r.state = 'COMPLETE' AND io.dataset_id {_IDS} GROUP BY 1""",
                                    {"ids": ids}).fetchall())
        facets = _facets(con, "dataset_facets", "dataset_id", ids)
        gone = dropped_at(con, ids)
    field_tags: dict[tuple[int, str], list[str]] = {}
    own_tags: dict[int, list[str]] = {}
    for entity, field, key, value in tags:
        label = key if value in (None, "", "true") else f"{key}:{value}"
        (own_tags.setdefault(entity, []) if field is None else field_tags.setdefault((entity, field), [])).append(label)
    by_id = {d["id"]: d for d in found}
    for d in found:
        d.update(fields=[], tags=own_tags.get(d["id"], []), facets=facets.get(d["id"], {}),
                 last_modified=jsonable(modified.get(d["id"])),
                 dropped=d["id"] in gone)
    for dataset_id, column, kind, description in fields:
        by_id[dataset_id]["fields"].append({"name": column, "type": kind, "description": description,
                                            "tags": field_tags.get((dataset_id, column), [])})
    return total, found


_RUNS = f"""
    SELECT job_id, run_id, state, started_at, ended_at, nominal_start, nominal_end, first_event_time,
           last_event_time, parent_job_namespace, parent_job_name, error_message
    FROM runs WHERE job_id {_IDS}
    QUALIFY row_number() OVER (PARTITION BY job_id ORDER BY {newest_runs_first()}) <= {LATEST_RUNS}
    ORDER BY job_id, {newest_runs_first()}"""
_RUN_COLUMNS = ["job_id", "id", "state", "started_at", "ended_at", "nominal_start", "nominal_end", "created_at",
                "updated_at", "parent_job_namespace", "parent_job_name", "error"]


def jobs(db: Any, namespace: str, *, name: str | None = None, limit: int = 100,
         offset: int = 0) -> tuple[int, list[dict]]:
    """The jobs of ``namespace`` (only ``name`` when given), by name: ``(total, [job])``; each job holds
    its row, ``inputs``/``outputs`` ({namespace, name}), ``facets`` and its latest ``runs`` (newest
    first, each with its ``facets`` and the dataset versions it read and wrote)."""
    where = "namespace = $ns AND ($name IS NULL OR name = $name)"
    params = {"ns": namespace, "name": name}
    columns = ["id", "namespace", "name", "type", "processing_type", "integration", "description",
               "source_location", "sql", "first_seen", "last_seen"]
    page = _page(limit, offset)
    with open_store(db) as con:
        total = con.execute(f"SELECT count(*) FROM jobs WHERE {where}", params).fetchall()[0][0]
        rows = con.execute(f"""SELECT job_id, namespace, name, job_type, processing_type, integration, description,
                                      source_location, sql, first_seen, last_seen
                               FROM jobs WHERE {where} ORDER BY name {page}""",
                           params).fetchall()
        found = records_from_rows(columns, rows)
        ids = [j["id"] for j in found]
        if not ids:
            return total, []
        edges = con.execute(f"""SELECT e.job_id, e.direction, d.namespace, d.name FROM edges e
                                JOIN datasets d USING (dataset_id) WHERE e.job_id {_IDS}
                                ORDER BY e.job_id, d.namespace, d.name""", {"ids": ids}).fetchall()
        runs = records_from_rows(_RUN_COLUMNS, con.execute(_RUNS, {"ids": ids}).fetchall())
        run_ids = [r["id"] for r in runs]
        io = con.execute("""SELECT io.run_id, io.direction, d.namespace, d.name, io.version FROM run_io io
                            JOIN datasets d USING (dataset_id) WHERE io.run_id IN (SELECT unnest($runs::VARCHAR[]))
                            GROUP BY ALL ORDER BY 1, 2, 3, 4, 5""", {"runs": run_ids}).fetchall()
        facets = _facets(con, "job_facets", "job_id", ids)
        run_facets = _facets(con, "run_facets", "run_id", run_ids)
    by_id = {j["id"]: j for j in found}
    for j in found:
        j.update(inputs=[], outputs=[], facets=facets.get(j["id"], {}), runs=[])
    for job_id, direction, ds_namespace, ds_name in edges:
        by_id[job_id]["inputs" if direction == "in" else "outputs"].append({"namespace": ds_namespace,
                                                                              "name": ds_name})
    versions: dict[str, dict[str, list[dict]]] = {}
    for run_id, direction, ds_namespace, ds_name, version in io:
        versions.setdefault(run_id, {"in": [], "out": []})[direction].append(
            {"namespace": ds_namespace, "name": ds_name, "version": version})
    for run in runs:
        read_written = versions.get(run["id"], {})
        run.update(facets=run_facets.get(run["id"], {}), inputs=read_written.get("in", []),
                   outputs=read_written.get("out", []))
        by_id[run.pop("job_id")]["runs"].append(run)
    return total, found


SEARCH_KINDS = ("dataset", "job")
SEARCH_SORTS = ("name", "updated_at")


def search(db: Any, pattern: str, *, kind: str | None = None, namespace: str | None = None,
           sort: str = "name", limit: int = 10, before: str | None = None,
           after: str | None = None) -> tuple[int, list[dict]]:
    """Datasets and jobs whose name holds ``pattern`` (case-insensitive; ``%`` and ``_`` are LIKE's
    wildcards, as Marquez's search reads them): ``(how many match, the first limit)``; each
    ``{"kind", "namespace", "name", "updated_at"}``. ``before``/``after`` bound the last update (dates)."""
    if kind is not None and kind not in SEARCH_KINDS:
        raise InputError(f"filter must be dataset or job, not {kind!r}")
    if sort not in SEARCH_SORTS:
        raise InputError(f"sort must be name or updated_at, not {sort!r}")
    sql = """SELECT * FROM (
                 SELECT 'dataset' AS kind, namespace, name, last_seen FROM datasets
                 UNION ALL SELECT 'job', namespace, name, last_seen FROM jobs)
             WHERE name ILIKE '%' || $q || '%' AND ($kind IS NULL OR kind = $kind)
               AND ($ns IS NULL OR namespace = $ns)
               AND ($before IS NULL OR last_seen < CAST($before AS DATE))
               AND ($after IS NULL OR last_seen > CAST($after AS DATE))"""
    for bound, value in (("before", before), ("after", after)):
        if value is not None and not _is_date(value):
            raise InputError(f"{bound} must be a date as YYYY-MM-DD, not {value!r}")
    order = "name, namespace, kind" if sort == "name" else "last_seen DESC, name, namespace, kind"
    params = {"q": pattern, "kind": kind, "ns": namespace, "before": before, "after": after}
    page = _page(limit, 0)
    with open_store(db) as con:
        total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
        rows = con.execute(f"{sql} ORDER BY {order} {page}", params).fetchall()
    return total, records_from_rows(["kind", "namespace", "name", "updated_at"], rows)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
