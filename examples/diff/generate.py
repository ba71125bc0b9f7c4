"""Write the hand-made dbt manifest pair of ``lineagectl diff``'s examples (run from anywhere).

It lives outside ``sample_events/``, whose every JSON file the Quick start ingests.

A small shop project: source ``app.users`` -> ``stg_users`` -> ``customers`` ->
exposure ``weekly_dashboard``. The pull request (prod -> pr) drops ``country``
from ``stg_users`` (``customers`` still reads it: breaking), stops hashing the
PII column ``email`` (masking removed: breaking), and adds ``signup_date``.

``runtime.ndjson``: what reads the project's tables at run time, as OpenLineage
events (for ``diff --db``, once ingested with the production manifest): an
export of ``customers.country`` (column lineage), an export of
``customers.email``, an ML model trained on ``stg_users`` (no column lineage),
and a dashboard's refresh that reads ``customers`` and writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def model(name: str, sql: str, parents: list[str], columns: dict[str, dict], owner: str) -> dict:
    uid = f"model.shop.{name}"
    return {"unique_id": uid, "resource_type": "model", "name": name, "package_name": "shop",
            "fqn": ["shop", name], "original_file_path": f"models/{name}.sql", "database": "warehouse", "schema": "analytics", "alias": name,
            "raw_code": sql, "compiled_code": sql, "depends_on": {"nodes": parents, "macros": []},
            "config": {"materialized": "table", "meta": {"owner": owner}},
            "unrendered_config": {"materialized": "table"}, "meta": {"owner": owner},
            "contract": {"enforced": False, "checksum": None},
            "columns": {c: {"name": c, **spec} for c, spec in columns.items()}}


def manifest(stg_sql: str, stg_columns: dict[str, dict]) -> dict:
    source = {"unique_id": "source.shop.app.users", "resource_type": "source", "name": "users",
              "source_name": "app", "package_name": "shop", "fqn": ["shop", "app", "users"],
              "database": "warehouse", "schema": "raw", "identifier": "users",
              "freshness": None, "loaded_at_field": None, "quoting": {}, "external": None,
              "unrendered_config": {},
              "columns": {"id": {"name": "id"}, "email": {"name": "email", "meta": {"pii": True}},
                          "country": {"name": "country"}, "created_at": {"name": "created_at"}}}
    stg = model("stg_users", stg_sql, [source["unique_id"]], stg_columns, "@data-platform")
    customers = model("customers", "select id, email, country from warehouse.analytics.stg_users",
                      ["model.shop.stg_users"], {"id": {}, "email": {}, "country": {}}, "@growth-team")
    exposure = {"unique_id": "exposure.shop.weekly_dashboard", "resource_type": "exposure",
                "name": "weekly_dashboard", "type": "dashboard", "package_name": "shop",
                "owner": {"name": "BI team", "email": "bi@example.com"},
                "depends_on": {"nodes": ["model.shop.customers"], "macros": []}}
    return {"metadata": {"dbt_schema_version": SCHEMA, "dbt_version": "1.9.0", "adapter_type": "postgres",
                         "project_name": "shop", "generated_at": "2026-01-05T09:00:00Z"},
            "nodes": {stg["unique_id"]: stg, customers["unique_id"]: customers},
            "sources": {source["unique_id"]: source}, "macros": {},
            "exposures": {exposure["unique_id"]: exposure}}


BASE = manifest("select id, md5(email) as email, country from warehouse.raw.users",
                {"id": {}, "email": {"meta": {"pii": True}}, "country": {}})
PR = manifest("select id, email, cast(created_at as date) as signup_date from warehouse.raw.users",
              {"id": {}, "email": {"meta": {"pii": True}}, "signup_date": {}})

WAREHOUSE = "postgres://warehouse"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def facet(**payload: object) -> dict:
    return {"_producer": "https://example.com/runtime", **payload}


def runtime_run(job: str, run_id: str, inputs: list[str], outputs: list[dict], owner: str | None = None) -> list[dict]:
    """A run of ``job`` ("namespace name") reading the warehouse tables ``inputs``: START and COMPLETE."""
    namespace, name = job.split(" ")
    base = {"producer": "https://example.com/runtime", "schemaURL": RUN_EVENT, "run": {"runId": run_id},
            "job": {"namespace": namespace, "name": name,
                    "facets": {"ownership": facet(owners=[{"name": owner}])} if owner else {}},
            "inputs": [{"namespace": WAREHOUSE, "name": f"warehouse.analytics.{table}"} for table in inputs],
            "outputs": outputs}
    return [{**base, "eventType": "START", "eventTime": "2026-01-06T10:00:00Z"},
            {**base, "eventType": "COMPLETE", "eventTime": "2026-01-06T10:05:00Z"}]


def output(namespace: str, name: str, owner: str, reads: dict[str, tuple[str, str]] | None = None,
           kind: str | None = None) -> dict:
    """A dataset a runtime job writes; ``reads``: its columns' inputs (table, column) in the warehouse."""
    facets = {"ownership": facet(owners=[{"name": owner}])}
    if reads:
        facets["columnLineage"] = facet(fields={column: {"inputFields": [
            {"namespace": WAREHOUSE, "name": f"warehouse.analytics.{table}", "field": field}]}
            for column, (table, field) in reads.items()})
    if kind:
        facets["datasetType"] = facet(datasetType=kind)
    return {"namespace": namespace, "name": name, "facets": facets}


RUNTIME = [
    *runtime_run("airflow://reporting export_customers", "0b8f6a4e-1c2d-4e5f-8a9b-000000000001", ["customers"],
                 [output("s3://exports", "customers.csv", "@crm-team", {"country": ("customers", "country")})],
                 owner="exports-oncall"),
    *runtime_run("airflow://reporting export_emails", "0b8f6a4e-1c2d-4e5f-8a9b-000000000002", ["customers"],
                 [output("s3://exports", "emails.csv", "@mail-team", {"email": ("customers", "email")})]),
    *runtime_run("mlflow://models train_churn", "0b8f6a4e-1c2d-4e5f-8a9b-000000000003", ["stg_users"],
                 [output("mlflow://models", "churn", "@ml-team", kind="MODEL")]),
    *runtime_run("superset://bi refresh_country_board", "0b8f6a4e-1c2d-4e5f-8a9b-000000000004", ["customers"], [],
                 owner="@bi-oncall"),
]

if __name__ == "__main__":
    for folder, data in (("prod", BASE), ("pr", PR)):
        (HERE / folder).mkdir(exist_ok=True)
        (HERE / folder / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")
    (HERE / "runtime.ndjson").write_text("".join(json.dumps(event) + "\n" for event in RUNTIME))
