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
result a ``dataQualityAssertions`` facet on the dataset (and column) it tests
(``run_results``).
Only the fields needed are read; unknown keys never matter.

Every field is read through ``an_object``/``a_list``/``a_text``, which check that it
has the shape dbt writes: a field of another shape is a ``Shape`` error, which
``manifest_events`` reports as an ``InputError`` naming the file. Nothing else is
caught: a bug in this reader surfaces as itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import orjson

from lineagectl.common.dialects import dialect_or_generic
from lineagectl.errors import InputError
from lineagectl.sources.dbt.artifacts import KNOWN_VERSIONS, manifest_version
from lineagectl.sources.dbt.envelope import PRODUCER, SCHEMA_URL, facet, ref
from lineagectl.sources.dbt.lineage import lineage_of_models, projection
from lineagectl.sources.dbt.node_meta import FACET, dependents, node_facet, test_tags
from lineagectl.sources.dbt.run_results import run_events
from lineagectl.sources.dbt.shapes import (
    Shape,
    a_text,
    an_object,
    compiled_sql,
    mapping,
    materialization,
    node_config,
    node_meta,
    node_parents,
    strings,
)
from lineagectl.sources.sql_names import schema_key, stored_name

DATASET_TYPES = ("model", "seed", "snapshot", "source")
_MATERIALIZED = {"table": "TABLE", "incremental": "TABLE", "view": "VIEW", "ephemeral": "EPHEMERAL",
                 "materialized_view": "VIEW", "snapshot": "TABLE", "seed": "TABLE"}

Warn = Callable[[str], None]


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "yes", "1"))


class _Manifest:
    def __init__(self, data: dict, namespace: str | None, catalog: dict | None, on_warning: Warn | None = None,
                 path: str = "manifest.json", sql_timeout: float | None = None) -> None:
        self.on_warning: Warn = on_warning or (lambda message: None)
        self.path = path
        self.sql_timeout = sql_timeout
        meta = mapping(data.get("metadata"))
        self.adapter_type = a_text(meta.get("adapter_type"), "metadata.adapter_type")
        self.adapter = self.adapter_type or "dbt"
        self.project = meta.get("project_name")
        self.time = meta.get("generated_at") or "1970-01-01T00:00:00Z"
        self.namespace = namespace
        # Only the shapes dbt writes count; anything else in a section is skipped, not fatal.
        sections = {**mapping(data.get("nodes")), **mapping(data.get("sources"))}
        self.nodes: dict[str, dict] = {uid: node for uid, node in sections.items() if isinstance(node, dict)}
        self.exposures = mapping(data.get("exposures"))
        self.unit_tests = mapping(data.get("unit_tests"))
        self.groups = mapping(data.get("groups"))
        catalog = mapping(catalog)
        self.catalog = {uid: entry for uid, entry in {**mapping(catalog.get("nodes")),
                                                       **mapping(catalog.get("sources"))}.items()
                        if isinstance(entry, dict)}

    def unique_id(self, node: dict) -> str | None:
        return a_text(node.get("unique_id"), f"{node.get('name') or 'a node'}: unique_id")

    def catalog_columns(self, uid: str | None) -> list[dict]:
        """The catalog's columns of ``uid`` in the warehouse's order (their ``index``; a column
        without one after those with, in the order written)."""
        entry = self.catalog.get(uid) if uid is not None else None
        columns = [an_object(spec, f"{uid}: columns.{key}", "catalog")
                   for key, spec in an_object((entry or {}).get("columns"), f"{uid}: columns", "catalog").items()]
        return sorted(columns, key=lambda c: (0, c["index"]) if _is_index(c.get("index")) else (1, 0))

    @cached_property
    def tests(self) -> dict[str, list[dict]]:
        """The dbt tests defined on each node as ``dbt_test`` tags, so ``show`` lists them; their
        results come from ``--run-results``."""
        # A tested column named as the warehouse stores it, as the dataset's columns are.
        return {target: [{**tag, "field": self.column_name(tag["field"])} if "field" in tag else tag for tag in tags]
                for target, tags in test_tags(self.nodes).items()}

    @cached_property
    def dependents(self) -> dict[str, list[dict]]:
        """The tests, unit tests and exposures reading each node, for its ``dbtNode`` facet."""
        return dependents(self.nodes, self.exposures, self.unit_tests)

    def job_namespace(self, node: dict) -> str:
        return f"dbt://{self.project or node.get('package_name') or 'project'}"

    def relation(self, node: dict) -> list[str | None]:
        """The node's relation as [database, schema, table] (parts may be missing)."""
        where = node.get("unique_id") or node.get("name")
        table_key = "identifier" if node.get("resource_type") == "source" else "alias"
        return [a_text(node.get("database"), f"{where}: database"), a_text(node.get("schema"), f"{where}: schema"),
                a_text(node.get(table_key), f"{where}: {table_key}") or a_text(node.get("name"), f"{where}: name")]

    def dataset_id(self, node: dict) -> tuple[str, str]:
        database, schema, table = self.relation(node)
        name = ".".join(part for part in (database, schema, table) if part)
        if self.namespace:
            return self.namespace, name
        if self.adapter == "bigquery":
            return "bigquery", name
        return f"{self.adapter}://{database or 'default'}", name

    def owners(self, uid: str, node: dict) -> list[str]:
        # ``meta`` is the project's own: an owner that is not a name (or names) is not read.
        config_meta = an_object(node_config(uid, node).get("meta"), f"{uid}: config.meta")
        owner = node_meta(uid, node).get("owner") or config_meta.get("owner")
        found = [owner] if isinstance(owner, str) else [o for o in owner if isinstance(o, str)] if isinstance(
            owner, list) else []
        if node.get("group"):
            group = an_object(self.groups.get(f"group.{node.get('package_name')}.{node.get('group')}"),
                            f"group of {uid}")
            contact = an_object(group.get("owner"), f"group of {uid}: owner")
            found += [v for v in (contact.get("email"), contact.get("name")) if isinstance(v, str)]
        return found

    def dataset(self, uid: str, node: dict) -> dict:
        """The dataset of a model, seed, snapshot or source (``uid``: its key in the manifest)."""
        namespace, name = self.dataset_id(node)
        node_id = self.unique_id(node)  # its unique_id field: the same as its key, as dbt writes it
        kind = node.get("resource_type")
        materialized = materialization(uid, node) or str(kind)
        columns = an_object(node.get("columns"), f"{uid}: columns")
        catalog_columns = self.catalog_columns(node_id)
        fields: list[dict] = []
        tags = [{"key": t, "value": "true", "source": "dbt"} for t in strings(node.get("tags"), f"{uid}: tags")]
        if _truthy(node_meta(uid, node).get("pii")):
            tags.append({"key": "pii", "value": "true", "source": "dbt"})
        specs = [an_object(spec, f"{uid}: columns.{key}") for key, spec in columns.items()]
        catalog_types = {str(c.get("name", "")).lower(): c.get("type") for c in catalog_columns}
        documented = {spec["name"].lower(): spec for spec in specs if isinstance(spec.get("name"), str)}
        seen, warehouse = set(), {id(c) for c in catalog_columns}
        # The warehouse's columns in its order, then documented ones it does not have, each named as the
        # warehouse stores it (one column, not Snowflake's ORDER_ID and a documented order_id side by
        # side); a documented column keeps its description and tags.
        for spec in [*catalog_columns, *specs]:
            column = spec.get("name")
            if not isinstance(column, str) or column.lower() in seen:
                continue
            seen.add(column.lower())
            if id(spec) not in warehouse:  # documented only: named as the warehouse stores the name written
                column = self.column_name(column, spec.get("quote") is True)
            spec = documented.get(column.lower(), spec)
            typed = catalog_types.get(column.lower()) or spec.get("data_type")
            field = {"name": column}
            if typed:
                field["type"] = str(typed)
            if spec.get("description"):
                field["description"] = spec["description"]
            fields.append(field)
            for tag in strings(spec.get("tags"), f"{uid}: columns.{column}.tags"):
                tags.append({"key": tag, "value": "true", "source": "dbt", "field": column})
            if _truthy(an_object(spec.get("meta"), f"{uid}: columns.{column}.meta").get("pii")):
                tags.append({"key": "pii", "value": "true", "source": "dbt", "field": column})
        facets = {
            "datasetType": facet({"datasetType": _MATERIALIZED.get(materialized, "TABLE")}),
            "symlinks": facet({"identifiers": [{"namespace": "dbt", "name": node_id, "type": "DBT"}]}),
            FACET: facet(node_facet(uid, node, self.dependents.get(uid, []))),
        }
        if fields:
            facets["schema"] = facet({"fields": fields})
        if node.get("description"):
            facets["documentation"] = facet({"description": node["description"]})
        tags += self.tests.get(node_id, []) if node_id else []
        if tags:
            facets["tags"] = facet({"tags": tags})
        owners = self.owners(uid, node)
        if owners:
            facets["ownership"] = facet({"owners": [{"name": o} for o in owners]})
        if kind in ("model", "snapshot"):
            lineage = self.lineage.get(node_id) if node_id else None
            if lineage:
                facets["columnLineage"] = facet(lineage)
        return {"namespace": namespace, "name": name, "facets": facets}

    @cached_property
    def sql_dialect(self) -> str | None:
        """sqlglot's dialect for the adapter's SQL (None: the generic one, with a warning if unknown)."""
        return dialect_or_generic(self.adapter_type, f"dbt manifest {self.path} (metadata.adapter_type)",
                                  self.on_warning)

    @cached_property
    def sql_schema(self) -> tuple[dict, dict, dict]:
        """sqlglot's schema mapping (catalog types, else manifest columns), relation -> dataset, and
        the ``__dbt__cte__`` name of each ephemeral model -> its relation parts."""
        schema: dict = {}
        relations: dict = {}
        ephemerals: dict = {}
        for uid, node in self.nodes.items():
            if node.get("resource_type") not in DATASET_TYPES:
                continue
            namespace, name = self.dataset_id(node)
            parts = self.relation(node)
            relations[".".join(p for p in parts if p).lower()] = (namespace, name)
            columns: dict[str, str] = {}
            for key, spec in an_object(node.get("columns"), f"{uid}: columns").items():
                spec = an_object(spec, f"{uid}: columns.{key}")
                if isinstance(spec.get("name"), str):
                    data_type = a_text(spec.get("data_type"), f"{uid}: columns.{key}.data_type")
                    columns[spec["name"]] = data_type or "VARCHAR"
            catalog_columns = self.catalog_columns(uid)
            if catalog_columns:  # the warehouse's own names win over the documented ones
                columns = {schema_key(c["name"], self.sql_dialect):
                           a_text(c.get("type"), f"{uid}: columns.{c['name']}.type", "catalog") or "VARCHAR"
                           for c in catalog_columns if isinstance(c.get("name"), str)}
            elif node.get("resource_type") in ("model", "snapshot"):
                # No catalog: a model's SQL names its columns (documentation often lists a few).
                projected = projection(compiled_sql(uid, node), self.sql_dialect)
                if projected:
                    columns = {name: columns.get(name, "VARCHAR") for name in projected}
            if materialization(uid, node) == "ephemeral" and all(parts):
                # Documented columns of an ephemeral are often a subset: only its SQL says them all.
                columns = projection(compiled_sql(uid, node), self.sql_dialect)
                if columns:  # read as a table only when its columns are known; else through its CTE
                    ephemerals[f"__dbt__cte__{node.get('name')}".lower()] = parts
            if columns and all(parts):
                schema.setdefault(parts[0], {}).setdefault(parts[1], {})[parts[2]] = columns
        return schema, relations, ephemerals

    @cached_property
    def stored_columns(self) -> tuple[dict[str, list[str]], dict[str, str]]:
        """The catalog's column names of each relation (``database.schema.table``, lower case), as the
        dataset lists them, and each node's relation by unique_id: lineage names columns so."""
        stored: dict[str, list[str]] = {}
        models: dict[str, str] = {}
        for uid, node in self.nodes.items():
            if node.get("resource_type") not in DATASET_TYPES:
                continue
            relation = ".".join(p for p in self.relation(node) if p).lower()
            models[uid] = relation
            names = [c["name"] for c in self.catalog_columns(uid) if isinstance(c.get("name"), str)]
            if names:
                stored[relation] = names
        return stored, models

    def column_name(self, name: str, quoted: bool = False) -> str:
        """A column the project names ``name`` (in its docs, tests, SQL) as the warehouse stores it."""
        return stored_name(name, self.sql_dialect, quoted)

    @cached_property
    def lineage(self) -> dict[str, dict | None]:
        """The columnLineage facet of every model and snapshot with compiled SQL, by unique_id."""
        work = []
        for uid, node in sorted(self.nodes.items()):
            if node.get("resource_type") in ("model", "snapshot"):
                sql = compiled_sql(uid, node)
                if sql:
                    work.append((uid, sql))
        schema, relations, ephemerals = self.sql_schema
        stored, models = self.stored_columns
        found = {}
        for uid, lineage, warning in lineage_of_models(work, self.sql_dialect, schema, relations, ephemerals,
                                                        self.sql_timeout, stored=stored, models=models):
            if warning:
                self.on_warning(f"{uid}: no column lineage (table lineage kept): {warning}")
            found[uid] = lineage
        return found

    def events(self) -> Iterator[dict]:
        datasets = {uid: self.dataset(uid, n) for uid, n in self.nodes.items()
                    if n.get("resource_type") in DATASET_TYPES and self.unique_id(n)}
        for _, dataset in sorted(datasets.items()):
            yield {"eventTime": self.time, "producer": PRODUCER, "schemaURL": SCHEMA_URL.format("DatasetEvent"),
                   "dataset": dataset}
        for uid, node in sorted(self.nodes.items()):
            if uid not in datasets or node.get("resource_type") not in ("model", "snapshot"):
                continue
            parents = sorted({p for p in node_parents(uid, node) if p in datasets})
            sql = compiled_sql(uid, node) or node.get("raw_code") or node.get("raw_sql")
            facets = {"jobType": facet({"processingType": "BATCH", "integration": "DBT",
                                         "jobType": node["resource_type"].upper()})}
            if sql:
                facets["sql"] = facet({"query": sql, "dialect": self.adapter})
            owners = self.owners(uid, node)
            if owners:
                facets["ownership"] = facet({"owners": [{"name": o} for o in owners]})
            yield self._job(node, uid, facets, [ref(datasets[p]) for p in parents], [ref(datasets[uid])])
        for uid, exposure in sorted(self.exposures.items()):
            if not isinstance(exposure, dict):
                continue
            consumed = [ref(datasets[p]) for p in sorted(set(node_parents(uid, exposure))) if p in datasets]
            owner = an_object(exposure.get("owner"), f"{uid}: owner")
            names = [v for v in (owner.get("email"), owner.get("name")) if isinstance(v, str)]
            outputs = []
            if exposure.get("type") == "ml":
                model = {"namespace": self.job_namespace(exposure), "name": exposure.get("name") or uid,
                         "facets": {"datasetType": facet({"datasetType": "MODEL"}),
                                    "symlinks": facet({"identifiers": [{"namespace": "dbt", "name": uid,
                                                                         "type": "DBT"}]}),
                                    FACET: facet(node_facet(uid, exposure, []))}}
                if names:
                    model["facets"]["ownership"] = facet({"owners": [{"name": n} for n in names]})
                outputs.append(model)
            facets = {"jobType": facet({"processingType": "BATCH", "integration": "DBT", "jobType": "EXPOSURE"})}
            if names:
                facets["ownership"] = facet({"owners": [{"name": n} for n in names]})
            yield self._job(exposure, uid, facets, consumed, outputs)

    def _job(self, node: dict, uid: str, facets: dict, inputs: list[dict], outputs: list[dict]) -> dict:
        return {"eventTime": self.time, "producer": PRODUCER, "schemaURL": SCHEMA_URL.format("JobEvent"),
                "job": {"namespace": self.job_namespace(node), "name": uid, "facets": facets},
                "inputs": inputs, "outputs": outputs}


def _read(path: str) -> dict:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read dbt artifact: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a dbt artifact (not a JSON object)")
    return data


def manifest_events(path: str, namespace: str | None = None, catalog: str | None = None,
                    on_warning: Warn | None = None, run_results: str | None = None,
                    sql_timeout: float | None = None) -> Iterator[dict]:
    """The OpenLineage events that describe the dbt project of manifest ``path`` (and its last run).

    The column lineage of a model taking longer than ``sql_timeout`` seconds (None or 0: no
    limit; ``sql_budget``) is skipped with a warning; its table lineage is kept.

    A file that is not shaped as dbt writes it is an ``InputError`` naming it, raised here or
    while the events are read.
    """
    data = _read(path)
    if not isinstance(data.get("nodes"), dict):
        raise InputError(f"{path}: not a dbt manifest (no nodes)")
    version = manifest_version(path)
    if version is not None and not KNOWN_VERSIONS[0] <= version <= KNOWN_VERSIONS[1] and on_warning:
        on_warning(f"{path}: manifest schema v{version} is not one lineagectl knows "
                   f"(v{KNOWN_VERSIONS[0]}-v{KNOWN_VERSIONS[1]}): read as far as it is shaped like those")
    catalog_data = _read(catalog) if catalog else None
    results = _read(run_results) if run_results else None
    if results is not None and not isinstance(results.get("results"), list):
        raise InputError(f"{run_results}: not a dbt run_results.json (no results)")
    paths = {"manifest": path, "catalog": catalog or "", "run_results": run_results or ""}
    try:
        manifest = _Manifest(data, namespace, catalog_data, on_warning, path, sql_timeout)
    except Shape as exc:
        raise _input_error(paths, exc) from None
    if results is None:
        return _guarded(paths, manifest.events())
    return _guarded(paths, _chain(manifest.events(), run_events(manifest, results)))


def _input_error(paths: dict[str, str], exc: Shape) -> InputError:
    kind = {"run_results": "run_results.json"}.get(exc.artifact, exc.artifact)
    return InputError(f"{paths[exc.artifact]}: not a usable dbt {kind} ({exc})")


def _guarded(paths: dict[str, str], events: Iterator[dict]) -> Iterator[dict]:
    """The events, or one clear error naming the file when a field is not shaped as dbt writes it.
    Only ``Shape`` is caught: any other exception is a bug, and surfaces as itself."""
    try:
        yield from events
    except Shape as exc:
        raise _input_error(paths, exc) from None


def _chain(*parts: Iterator[dict]) -> Iterator[dict]:
    for part in parts:
        yield from part
