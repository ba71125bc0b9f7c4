"""dbt ``manifest.json`` (schema v4–v12) as OpenLineage events, for the ordinary ingest.

Each model, seed, snapshot and source becomes a dataset named as the
OpenLineage dbt integration names it (namespace from the adapter or
``--namespace``, name ``database.schema.alias``), so the same table from a
runtime event and from the manifest is one node. Each model and snapshot
becomes a JobEvent (design-time lineage: its parents in, itself out); an
exposure becomes a consumer, and an ``ml`` exposure a MODEL dataset. The dbt
``unique_id`` is kept as a symlink, so ``model.jaffle_shop.orders`` resolves.
With ``run_results.json``, each model/seed/snapshot execution becomes a run of
its job (START and COMPLETE or FAIL, at the execute timing) and each test
result a ``dataQualityAssertions`` facet on the dataset (and column) it tests.
Only the fields needed are read; unknown keys never matter.
"""

from __future__ import annotations

import re
import uuid
from functools import cached_property
from pathlib import Path
from typing import Iterator

import orjson

from lineagectl.sources.dbt.lineage import lineage_of_models, projection
from lineagectl.errors import InputError

PRODUCER = "https://github.com/lineagectl/lineagectl/dbt"
_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{}"
_MANIFEST = re.compile(rb'"dbt_schema_version"\s*:\s*"[^"]*/manifest/v(\d+)\.json"')
_NDJSON_START = re.compile(rb'}\s*\n\s*{')  # a second JSON document on a new line: an event log
DATASET_TYPES = ("model", "seed", "snapshot", "source")
# dbt adapter -> sqlglot dialect where the names differ.
_DIALECTS = {"sqlserver": "tsql", "databricks": "databricks", "spark": "spark", "postgres": "postgres",
             "redshift": "redshift", "snowflake": "snowflake", "bigquery": "bigquery", "duckdb": "duckdb",
             "trino": "trino", "athena": "athena", "clickhouse": "clickhouse", "mysql": "mysql",
             "oracle": "oracle", "teradata": "teradata", "fabric": "tsql", "synapse": "tsql"}
_MATERIALIZED = {"table": "TABLE", "incremental": "TABLE", "view": "VIEW", "ephemeral": "EPHEMERAL",
                 "materialized_view": "VIEW", "snapshot": "TABLE", "seed": "TABLE"}


def manifest_version(path: str) -> int | None:
    """The manifest schema version if ``path`` is a dbt manifest, else ``None``.

    dbt writes ``metadata`` first, so 4 KB usually tell; some tools write keys sorted
    (``metadata`` after ``child_map`` and ``disabled``). A file that starts as one JSON
    object and is not an NDJSON log is then scanned on, in 1 MB steps.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            match = _MANIFEST.search(head)
            if match:
                return int(match.group(1))
            if not head.lstrip().startswith(b"{") or _NDJSON_START.search(head):
                return None
            tail = head[-256:]
            while chunk := f.read(1 << 20):
                match = _MANIFEST.search(tail + chunk)
                if match:
                    return int(match.group(1))
                tail = chunk[-256:]
    except OSError:
        return None
    return None


def _facet(payload: dict) -> dict:
    return {"_producer": PRODUCER, **payload}


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "yes", "1"))


class _Manifest:
    def __init__(self, data: dict, namespace: str | None, catalog: dict | None, on_warning=None) -> None:
        self.on_warning = on_warning or (lambda message: None)
        meta = _mapping(data.get("metadata"))
        self.adapter = meta.get("adapter_type") or "dbt"
        self.project = meta.get("project_name")
        self.time = meta.get("generated_at") or "1970-01-01T00:00:00Z"
        self.namespace = namespace
        # Only the shapes dbt writes count; anything else in a section is skipped, not fatal.
        sections = {**_mapping(data.get("nodes")), **_mapping(data.get("sources"))}
        self.nodes = {uid: node for uid, node in sections.items() if isinstance(node, dict)}
        self.exposures = _mapping(data.get("exposures"))
        self.groups = _mapping(data.get("groups"))
        catalog = _mapping(catalog)
        self.catalog = {uid: entry for uid, entry in {**_mapping(catalog.get("nodes")),
                                                       **_mapping(catalog.get("sources"))}.items()
                        if isinstance(entry, dict)}

    @cached_property
    def tests(self) -> dict[str, list[dict]]:
        """The dbt tests defined on each node, as tags (``dbt_test`` = test name, on the column if
        one), so ``show`` lists them and ``ls -s tag:dbt_test`` finds tested datasets; their
        results come from ``--run-results``."""
        found: dict[str, list[dict]] = {}
        for uid, node in sorted(self.nodes.items()):
            if not isinstance(node, dict) or node.get("resource_type") != "test":
                continue
            target = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []), None)
            if target not in self.nodes:
                continue
            test = (node.get("test_metadata") or {}).get("name") or node.get("name") or uid
            tag = {"key": "dbt_test", "value": str(test), "source": "dbt"}
            column = node.get("column_name") or ((node.get("test_metadata") or {}).get("kwargs") or {}).get(
                "column_name")
            if isinstance(column, str) and column:
                tag["field"] = column
            if tag not in found.setdefault(target, []):
                found[target].append(tag)
        return found

    def job_namespace(self, node: dict) -> str:
        return f"dbt://{self.project or node.get('package_name') or 'project'}"

    def dataset_id(self, node: dict) -> tuple[str, str]:
        database, schema = node.get("database"), node.get("schema")
        table = node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")
        name = ".".join(part for part in (database, schema, table or node.get("name")) if part)
        if self.namespace:
            return self.namespace, name
        if self.adapter == "bigquery":
            return "bigquery", name
        return f"{self.adapter}://{database or 'default'}", name

    def owners(self, node: dict) -> list[str]:
        owners = (node.get("meta") or {}).get("owner") or (node.get("config") or {}).get("meta", {}).get("owner")
        found = [owners] if isinstance(owners, str) else [o for o in owners or [] if isinstance(o, str)]
        group = self.groups.get(f"group.{node.get('package_name')}.{node.get('group')}") if node.get("group") else None
        if group:
            owner = group.get("owner") or {}
            found += [v for v in (owner.get("email"), owner.get("name")) if isinstance(v, str)]
        return found

    def dataset(self, node: dict) -> dict:
        namespace, name = self.dataset_id(node)
        kind = node.get("resource_type")
        materialized = (node.get("config") or {}).get("materialized") or kind
        columns = node.get("columns") or {}
        catalog_columns = (self.catalog.get(node.get("unique_id")) or {}).get("columns") or {}
        fields, tags = [], [{"key": t, "value": "true", "source": "dbt"} for t in node.get("tags") or []
                            if isinstance(t, str)]
        if _truthy((node.get("meta") or {}).get("pii")):
            tags.append({"key": "pii", "value": "true", "source": "dbt"})
        catalog_types = {str(c.get("name", "")).lower(): c.get("type") for c in catalog_columns.values()}
        seen = set()
        for spec in [*columns.values(), *catalog_columns.values()]:
            column = spec.get("name")
            if not isinstance(column, str) or column.lower() in seen:
                continue
            seen.add(column.lower())
            typed = catalog_types.get(column.lower()) or spec.get("data_type")
            field = {"name": column}
            if typed:
                field["type"] = str(typed)
            if spec.get("description"):
                field["description"] = spec["description"]
            fields.append(field)
            for tag in spec.get("tags") or []:
                if isinstance(tag, str):
                    tags.append({"key": tag, "value": "true", "source": "dbt", "field": column})
            if _truthy((spec.get("meta") or {}).get("pii")):
                tags.append({"key": "pii", "value": "true", "source": "dbt", "field": column})
        facets = {
            "datasetType": _facet({"datasetType": _MATERIALIZED.get(materialized, "TABLE")}),
            "symlinks": _facet({"identifiers": [{"namespace": "dbt", "name": node["unique_id"], "type": "DBT"}]}),
        }
        if fields:
            facets["schema"] = _facet({"fields": fields})
        if node.get("description"):
            facets["documentation"] = _facet({"description": node["description"]})
        tags += self.tests.get(node.get("unique_id"), [])
        if tags:
            facets["tags"] = _facet({"tags": tags})
        owners = self.owners(node)
        if owners:
            facets["ownership"] = _facet({"owners": [{"name": o} for o in owners]})
        if kind in ("model", "snapshot"):
            lineage = self.column_lineage(node)
            if lineage:
                facets["columnLineage"] = _facet(lineage)
        return {"namespace": namespace, "name": name, "facets": facets}

    @cached_property
    def sql_schema(self) -> tuple[dict, dict, dict]:
        """sqlglot's schema mapping (catalog types, else manifest columns), relation -> dataset, and
        the ``__dbt__cte__`` name of each ephemeral model -> its relation parts."""
        schema: dict = {}
        relations: dict = {}
        ephemerals: dict = {}
        for uid, node in self.nodes.items():
            if not isinstance(node, dict) or node.get("resource_type") not in DATASET_TYPES:
                continue
            namespace, name = self.dataset_id(node)
            table = node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")
            parts = [node.get("database"), node.get("schema"), table or node.get("name")]
            relations[".".join(p for p in parts if p).lower()] = (namespace, name)
            columns = {c.get("name"): c.get("data_type") or "VARCHAR"
                       for c in (node.get("columns") or {}).values() if isinstance(c.get("name"), str)}
            catalog_columns = ((self.catalog.get(uid) or {}).get("columns") or {}).values()
            if catalog_columns:  # the warehouse's own names win over the documented ones
                columns = {self._stored_name(c["name"]): c.get("type") or "VARCHAR"
                           for c in catalog_columns if isinstance(c.get("name"), str)}
            elif node.get("resource_type") in ("model", "snapshot"):
                # No catalog: a model's SQL names its columns (documentation often lists a few).
                projected = projection(node.get("compiled_code") or node.get("compiled_sql"),
                                        _DIALECTS.get(self.adapter, self.adapter))
                if projected:
                    columns = {name: columns.get(name, "VARCHAR") for name in projected}
            if (node.get("config") or {}).get("materialized") == "ephemeral" and all(parts):
                # Documented columns of an ephemeral are often a subset: only its SQL says them all.
                columns = projection(node.get("compiled_code") or node.get("compiled_sql"),
                                      _DIALECTS.get(self.adapter, self.adapter))
                if columns:  # read as a table only when its columns are known; else through its CTE
                    ephemerals[f"__dbt__cte__{node.get('name')}".lower()] = parts
            if columns and all(parts):
                schema.setdefault(parts[0], {}).setdefault(parts[1], {})[parts[2]] = columns
        return schema, relations, ephemerals

    @cached_property
    def _dialect(self):
        from sqlglot.dialects import Dialect

        try:
            return Dialect.get_or_raise(_DIALECTS.get(self.adapter, self.adapter))
        except ValueError:
            return None

    def _stored_name(self, name: str) -> str:
        """A catalog column name as sqlglot's schema must see it: quoted when the warehouse stores
        it in a case its unquoted form would not fold to (Postgres "BillingMonth"), so it keeps
        its case; case-insensitive dialects fold quoted names too, so nothing changes there."""
        from sqlglot import exp

        dialect = self._dialect
        if dialect is None:
            return name
        identifier = exp.to_identifier(name)
        if dialect.normalize_identifier(identifier.copy()).name == name:
            return name
        return exp.to_identifier(name, quoted=True).sql(dialect=dialect)

    @cached_property
    def lineage(self) -> dict[str, dict | None]:
        """The columnLineage facet of every model and snapshot with compiled SQL, by unique_id."""
        work = [(uid, node.get("compiled_code") or node.get("compiled_sql")) for uid, node in sorted(self.nodes.items())
                if isinstance(node, dict) and node.get("resource_type") in ("model", "snapshot")
                and (node.get("compiled_code") or node.get("compiled_sql"))]
        schema, relations, ephemerals = self.sql_schema
        dialect = _DIALECTS.get(self.adapter, self.adapter)
        found = {}
        for uid, facet, warning in lineage_of_models(work, dialect, schema, relations, ephemerals):
            if warning:
                self.on_warning(f"{uid}: no column lineage (table lineage kept): {warning}")
            found[uid] = facet
        return found

    def column_lineage(self, node: dict) -> dict | None:
        """The columnLineage facet of a model, from its compiled SQL; None when there is none."""
        return self.lineage.get(node.get("unique_id"))

    def events(self) -> Iterator[dict]:
        datasets = {uid: self.dataset(n) for uid, n in self.nodes.items()
                    if isinstance(n, dict) and n.get("resource_type") in DATASET_TYPES and n.get("unique_id")}
        for uid, dataset in sorted(datasets.items()):
            yield {"eventTime": self.time, "producer": PRODUCER, "schemaURL": _SCHEMA_URL.format("DatasetEvent"),
                   "dataset": dataset}
        for uid, node in sorted(self.nodes.items()):
            if uid not in datasets or node.get("resource_type") not in ("model", "snapshot"):
                continue
            parents = sorted({p for p in (node.get("depends_on") or {}).get("nodes") or [] if p in datasets})
            sql = node.get("compiled_code") or node.get("compiled_sql") or node.get("raw_code") or node.get("raw_sql")
            facets = {"jobType": _facet({"processingType": "BATCH", "integration": "DBT",
                                         "jobType": node["resource_type"].upper()})}
            if sql:
                facets["sql"] = _facet({"query": sql, "dialect": self.adapter})
            owners = self.owners(node)
            if owners:
                facets["ownership"] = _facet({"owners": [{"name": o} for o in owners]})
            yield self._job(node, uid, facets, [_ref(datasets[p]) for p in parents], [_ref(datasets[uid])])
        for uid, exposure in sorted(self.exposures.items()):
            if not isinstance(exposure, dict):
                continue
            parents = [_ref(datasets[p]) for p in sorted(set((exposure.get("depends_on") or {}).get("nodes") or []))
                       if p in datasets]
            owner = exposure.get("owner") or {}
            names = [v for v in (owner.get("email"), owner.get("name")) if isinstance(v, str)]
            outputs = []
            if exposure.get("type") == "ml":
                model = {"namespace": self.job_namespace(exposure), "name": exposure.get("name") or uid,
                         "facets": {"datasetType": _facet({"datasetType": "MODEL"}),
                                    "symlinks": _facet({"identifiers": [{"namespace": "dbt", "name": uid,
                                                                         "type": "DBT"}]})}}
                if names:
                    model["facets"]["ownership"] = _facet({"owners": [{"name": n} for n in names]})
                outputs.append(model)
            facets = {"jobType": _facet({"processingType": "BATCH", "integration": "DBT", "jobType": "EXPOSURE"})}
            if names:
                facets["ownership"] = _facet({"owners": [{"name": n} for n in names]})
            yield self._job(exposure, uid, facets, parents, outputs)

    def run_events(self, results: dict) -> Iterator[dict]:
        """Runs of models, seeds and snapshots, and test results as assertions, from ``run_results.json``."""
        meta = results.get("metadata") or {}
        invocation = str(meta.get("invocation_id") or meta.get("generated_at") or "dbt")
        when = meta.get("generated_at") or self.time
        assertions: dict[str, list[dict]] = {}
        for result in results.get("results") or []:
            if not isinstance(result, dict) or not isinstance(result.get("unique_id"), str):
                continue
            uid, status = result["unique_id"], str(result.get("status") or "").lower()
            node = self.nodes.get(uid)
            if not isinstance(node, dict):
                continue
            if node.get("resource_type") == "test":
                target = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []),
                                                            None)
                if target in self.nodes:
                    test = (node.get("test_metadata") or {}).get("name") or node.get("name") or uid
                    column = node.get("column_name") or ((node.get("test_metadata") or {}).get("kwargs") or {}).get(
                        "column_name")
                    assertion = {"assertion": test, "success": status in ("pass", "success")}
                    if isinstance(column, str):
                        assertion["column"] = column
                    assertions.setdefault(target, []).append(assertion)
            elif node.get("resource_type") in ("model", "seed", "snapshot"):
                yield from self._run(node, uid, result, status, invocation, when)
        for target, found in sorted(assertions.items()):
            namespace, name = self.dataset_id(self.nodes[target])
            yield {"eventTime": when, "producer": PRODUCER, "schemaURL": _SCHEMA_URL.format("DatasetEvent"),
                   "dataset": {"namespace": namespace, "name": name,
                               "facets": {"dataQualityAssertions": _facet({"assertions": found})}}}

    def _run(self, node: dict, uid: str, result: dict, status: str, invocation: str, when: str) -> Iterator[dict]:
        timing = {t.get("name"): t for t in result.get("timing") or [] if isinstance(t, dict)}
        execute = timing.get("execute") or {}
        started, ended = execute.get("started_at") or when, execute.get("completed_at") or when
        if status == "skipped":
            return
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbt://{invocation}/{uid}"))
        namespace, name = self.dataset_id(node)
        job = {"namespace": self.job_namespace(node), "name": uid}
        run: dict = {"runId": run_id}
        terminal = "COMPLETE" if status in ("success", "pass") else "FAIL"
        if terminal == "FAIL" and result.get("message"):
            run = {"runId": run_id, "facets": {"errorMessage": _facet(
                {"message": str(result["message"]), "programmingLanguage": "sql"})}}
        for event_type, at, current in (("START", started, {"runId": run_id}), (terminal, ended, run)):
            yield {"eventType": event_type, "eventTime": at, "producer": PRODUCER,
                   "schemaURL": _SCHEMA_URL.format("RunEvent"), "run": current, "job": job,
                   "inputs": [], "outputs": [{"namespace": namespace, "name": name}]}

    def _job(self, node: dict, uid: str, facets: dict, inputs: list[dict], outputs: list[dict]) -> dict:
        return {"eventTime": self.time, "producer": PRODUCER, "schemaURL": _SCHEMA_URL.format("JobEvent"),
                "job": {"namespace": self.job_namespace(node), "name": uid, "facets": facets},
                "inputs": inputs, "outputs": outputs}


def _ref(dataset: dict) -> dict:
    """A dataset as a JobEvent names it; its facets were sent once, in its DatasetEvent."""
    return {"namespace": dataset["namespace"], "name": dataset["name"]}


def _read(path: str) -> dict:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read dbt artifact: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a dbt artifact (not a JSON object)")
    return data


def manifest_events(path: str, namespace: str | None = None, catalog: str | None = None,
                    on_warning=None, run_results: str | None = None) -> Iterator[dict]:
    """The OpenLineage events that describe the dbt project of manifest ``path`` (and its last run)."""
    data = _read(path)
    if not isinstance(data.get("nodes"), dict):
        raise InputError(f"{path}: not a dbt manifest (no nodes)")
    catalog_data = _read(catalog) if catalog else None
    results = _read(run_results) if run_results else None
    if results is not None and not isinstance(results.get("results"), list):
        raise InputError(f"{run_results}: not a dbt run_results.json (no results)")
    manifest = _Manifest(data, namespace, catalog_data, on_warning)
    if results is None:
        return _guarded(path, manifest.events())
    return _guarded(path, _chain(manifest.events(), manifest.run_events(results)))


def _guarded(path: str, events: Iterator[dict]) -> Iterator[dict]:
    """The events, or one clear error naming the file when its content is not shaped as dbt writes it."""
    try:
        yield from events
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a usable dbt manifest ({type(exc).__name__}: {exc})") from None


def _chain(*parts: Iterator[dict]) -> Iterator[dict]:
    for part in parts:
        yield from part
