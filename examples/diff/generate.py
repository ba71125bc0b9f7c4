"""Write the hand-made dbt manifest pair of ``lineagectl diff``'s examples (run from anywhere).

It lives outside ``sample_events/``, whose every JSON file the Quick start ingests.

A small shop project: source ``app.users`` -> ``stg_users`` -> ``customers`` ->
exposure ``weekly_dashboard``. The pull request (prod -> pr) drops ``country``
from ``stg_users`` (``customers`` still reads it: breaking), stops hashing the
PII column ``email`` (masking removed: breaking), and adds ``signup_date``.
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

if __name__ == "__main__":
    for folder, data in (("prod", BASE), ("pr", PR)):
        (HERE / folder).mkdir(exist_ok=True)
        (HERE / folder / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")
