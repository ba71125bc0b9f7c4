#!/usr/bin/env python3
"""Deterministic generator for sample_events/ecommerce.ndjson.

Scenario: the "acme" e-commerce platform (EU + US stores), orchestrated by
Airflow (job namespace ``airflow://acme``), three daily schedules
2026-11-20 .. 2026-11-22 at 02:00Z.  See README.md for the story and for a
map of the deliberate special cases.

Usage (stdlib only, Python 3.11+):

    python sample_events/generate.py

Rewrites ``ecommerce.ndjson`` next to this script (one compact OpenLineage
2-0-2 RunEvent per line, ordered by eventTime), re-reads it, validates it and
prints a short summary plus the line numbers of the special cases.
Running it twice produces byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent / "ecommerce.ndjson"

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------
SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"

# Airflow OpenLineage provider emits every event except the Marquez-style job,
# which is emitted by hand with the openlineage-python client.
AIRFLOW_PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0"
CLIENT_PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.34.0/client/python"

# facet class -> spec version used in its _schemaURL
FACET_VERSIONS = {
    "SchemaDatasetFacet": "1-1-0",
    "ColumnLineageDatasetFacet": "1-2-0",
    "TagsDatasetFacet": "1-0-0",
    "OwnershipDatasetFacet": "1-0-1",
    "OwnershipJobFacet": "1-0-1",
    "DatasetTypeDatasetFacet": "1-0-1",
    "DatasetVersionDatasetFacet": "1-0-1",
    "DocumentationDatasetFacet": "1-1-0",
    "DocumentationJobFacet": "1-1-0",
    "SQLJobFacet": "1-1-0",
    "JobTypeJobFacet": "2-0-3",
    "NominalTimeRunFacet": "1-0-1",
    "ParentRunFacet": "1-2-0",
    "ErrorMessageRunFacet": "1-0-1",
    "DataQualityMetricsInputDatasetFacet": "1-0-2",
}

JOB_NS = "airflow://acme"
PG_EU = "postgres://db.eu.acme.internal:5432"
PG_US = "postgres://db.us.acme.internal:5432"
S3_EU_RAW = "s3://acme-eu-raw"
S3_US_EXPORTS = "s3://acme-us-exports"
BQ = "bigquery"
SNOWFLAKE_US = "snowflake://acme-us"
MLFLOW_EU = "mlflow://acme-eu"

FIRST_DAY = datetime(2026, 11, 20, 2, 0, 0, tzinfo=timezone.utc)
DAYS = 3
SCHEMA_CHANGE_DAY = 1  # 0-based: EU orders gains `discount` from day 2 on
FAILED_DAY = 1         # 0-based: analytics.daily_revenue fails once on day 2
TRAIN_DAYS = (0, 2)    # ml.train_churn_model runs on day 1 and day 3
RUNNING_DAY = 2        # ... and emits a RUNNING event on day 3

# Fixed namespace for uuid5 run ids (never change: run ids must stay stable).
RUN_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://acme.example/lineagectl/sample_events/ecommerce")

EU_COUNTRIES = "('AT','BE','DE','ES','FR','IE','IT','NL')"

# Hourly clickstream ingestion (operations scenario): runs at :05 from day 1 00:05 to day 3 03:05,
# except that on day 2 the 10:05 and 11:05 runs never happen and the next one starts late at
# 12:15, so there is no successful run for 3 h 10 min (the usual interval is 1 h).
INGEST_JOB = "ingest.clickstream"
KAFKA_EU = "kafka://kafka.eu.acme.internal:9092"
INGEST_FIRST = datetime(2026, 11, 20, 0, 5, 0, tzinfo=timezone.utc)
INGEST_LAST = datetime(2026, 11, 22, 3, 5, 0, tzinfo=timezone.utc)
INGEST_SKIPPED = (datetime(2026, 11, 21, 10, 5, tzinfo=timezone.utc), datetime(2026, 11, 21, 11, 5, tzinfo=timezone.utc))
INGEST_LATE = (datetime(2026, 11, 21, 12, 5, tzinfo=timezone.utc), datetime(2026, 11, 21, 12, 15, tzinfo=timezone.utc))
# Null fraction of clickstream.user_id as measured by ml.build_user_features on each day:
# day 3 breaks the policy's max_null_fraction (0.10).
CLICKSTREAM_NULLS = (0.008, 0.011, 0.15)
CLICKSTREAM_ROWS = (182_400, 190_112, 176_950)
# SQL change: on day 3 analytics.eu_order_amounts starts filtering out cancelled orders.
SQL_CHANGE_DAY = 2


# --------------------------------------------------------------------------
# Small builders
# --------------------------------------------------------------------------
def facet(cls: str, producer: str, **body) -> dict:
    ver = FACET_VERSIONS[cls]
    return {
        "_producer": producer,
        "_schemaURL": f"{SPEC}/facets/{ver}/{cls}.json#/$defs/{cls}",
        **body,
    }


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def run_id(job: str, day: int, attempt: int = 1) -> str:
    nominal = iso(FIRST_DAY + timedelta(days=day))
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{JOB_NS}/{job}/{nominal}/try{attempt}"))


def event_time(day: int, seconds: int, salt: str) -> datetime:
    """02:00Z + `seconds` on `day`, plus a small deterministic jitter (<1s)."""
    digest = hashlib.sha256(f"{salt}|{day}|{seconds}".encode()).digest()
    jitter_ms = int.from_bytes(digest[:2], "big") % 900 + 50
    # later days run a few seconds later (scheduler drift), still deterministic
    drift = day * 3
    return FIRST_DAY + timedelta(days=day, seconds=seconds + drift, milliseconds=jitter_ms)


def tr(type_: str, subtype: str, description: str = "", masking: bool = False) -> dict:
    return {"type": type_, "subtype": subtype, "description": description, "masking": masking}


def IDENTITY() -> dict:
    return tr("DIRECT", "IDENTITY")


def field_ref(ds: "Dataset", field: str, *transformations: dict) -> dict:
    assert field in ds.columns(), (ds.name, field)
    return {"namespace": ds.namespace, "name": ds.name, "field": field,
            "transformations": list(transformations)}


# --------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------
class Dataset:
    def __init__(self, namespace: str, name: str, fields: list[tuple[str, str]] | None = None,
                 descriptions: dict[str, str] | None = None):
        self.namespace = namespace
        self.name = name
        self._fields = fields or []
        self._descriptions = descriptions or {}

    def columns(self, day: int = DAYS - 1) -> list[str]:
        return [n for n, _ in self.fields(day)]

    def fields(self, day: int) -> list[tuple[str, str]]:
        return list(self._fields)

    def schema_facet(self, day: int, producer: str) -> dict:
        out = []
        for n, t in self.fields(day):
            f = {"name": n, "type": t}
            if n in self._descriptions:
                f["description"] = self._descriptions[n]
            out.append(f)
        return facet("SchemaDatasetFacet", producer, fields=out)


class EuOrders(Dataset):
    """EU orders: `discount` is added (ALTER TABLE ... ADD COLUMN) on day 2."""

    def fields(self, day: int) -> list[tuple[str, str]]:
        fields = list(self._fields)
        if day >= SCHEMA_CHANGE_DAY:
            fields.append(("discount", "DECIMAL(12,2)"))
        return fields


ORDERS_COLS = [("order_id", "BIGINT"), ("user_id", "BIGINT"), ("amount", "DECIMAL(12,2)"),
               ("currency", "CHAR(3)"), ("ordered_at", "TIMESTAMPTZ"), ("status", "VARCHAR(16)")]

USER_MASTER = Dataset(PG_EU, "shop.public.user_master",
                      [("user_id", "BIGINT"), ("email", "VARCHAR(320)"), ("full_name", "VARCHAR(200)"),
                       ("country", "CHAR(2)"), ("created_at", "TIMESTAMPTZ")],
                      {"email": "Customer e-mail address (PII)", "country": "ISO 3166-1 alpha-2"})
EU_ORDERS = EuOrders(PG_EU, "shop.public.orders", ORDERS_COLS,
                     {"discount": "Voucher discount applied to the order (added 2026-11-21)"})
US_ORDERS = Dataset(PG_US, "shop.public.orders", ORDERS_COLS)
CLICKSTREAM = Dataset(S3_EU_RAW, "events/clickstream",
                      [("user_id", "int64"), ("session_id", "string"), ("url", "string"),
                       ("event_ts", "timestamp")])
ORDERS_ENRICHED = Dataset(BQ, "acme-eu.staging.orders_enriched",
                          [("order_id", "INT64"), ("user_id", "INT64"), ("email_hash", "STRING"),
                           ("country", "STRING"), ("amount", "NUMERIC"), ("ordered_at", "TIMESTAMP")],
                          {"email_hash": "hex SHA-256 of user_master.email"})
DAILY_REVENUE = Dataset(BQ, "acme-eu.analytics_prod.daily_revenue_by_country",
                        [("country", "STRING"), ("order_day", "DATE"), ("revenue", "NUMERIC"),
                         ("order_count", "INT64")])
USER_FEATURES = Dataset(BQ, "acme-eu.analytics_prod.user_features",
                        [("user_id", "INT64"), ("order_count", "INT64"), ("total_spent", "NUMERIC"),
                         ("session_count", "INT64")])
EU_ORDER_AMOUNTS = Dataset(BQ, "acme-eu.analytics_prod.eu_order_amounts",
                           [("order_id", "INT64"), ("amount", "NUMERIC")])
CHURN_MODEL = Dataset(MLFLOW_EU, "models/churn_model",
                      [("order_count", "long"), ("total_spent", "double"), ("session_count", "long")],
                      {"order_count": "model input feature", "total_spent": "model input feature",
                       "session_count": "model input feature"})
US_SALES = Dataset(SNOWFLAKE_US, "ANALYTICS.PUBLIC.US_SALES",
                   [("order_id", "NUMBER(38,0)"), ("amount", "NUMBER(12,2)"), ("ordered_at", "TIMESTAMP_TZ")])
EU_USER_EXPORT = Dataset(SNOWFLAKE_US, "ANALYTICS.MARKETING.EU_USER_EXPORT",
                         [("user_id", "NUMBER(38,0)"), ("email", "VARCHAR(320)"), ("country", "VARCHAR(2)")])
CLICK_TOPIC = Dataset(KAFKA_EU, "clickstream.events",
                      [("user_id", "long"), ("session_id", "string"), ("url", "string"), ("event_ts", "long")])
AUDIENCE_CSV = Dataset(S3_US_EXPORTS, "marketing/audience.csv",
                       [("email", "string"), ("country", "string")])


def owners(*spec: tuple[str, str]) -> list[dict]:
    return [{"name": n, "type": t} for n, t in spec]


# Extra (non-schema) facets for datasets, by role.
def input_facets(ds: Dataset, day: int, producer: str) -> dict:
    facets = {"schema": ds.schema_facet(day, producer)}
    if ds is USER_MASTER:
        facets["tags"] = facet("TagsDatasetFacet", producer, tags=[
            {"key": "classification", "value": "PII", "source": "manual"},
            {"key": "pii", "value": "true", "source": "manual", "field": "user_id"},
            {"key": "pii", "value": "true", "source": "manual", "field": "email"},
        ])
        facets["ownership"] = facet("OwnershipDatasetFacet", producer,
                                    owners=owners(("team:crm", "MAINTAINER")))
    return facets


OUTPUT_OWNERS = {
    ORDERS_ENRICHED.name: owners(("team:data-platform", "MAINTAINER")),
    DAILY_REVENUE.name: owners(("team:analytics", "MAINTAINER")),
    EU_ORDER_AMOUNTS.name: owners(("user:alice@acme.example", "OWNER"), ("team:analytics", "MAINTAINER")),
    USER_FEATURES.name: owners(("team:ml", "MAINTAINER")),
    CHURN_MODEL.name: owners(("team:ml", "MAINTAINER"), ("user:bob@acme.example", "OWNER")),
    US_SALES.name: owners(("team:us-sales", "MAINTAINER")),
    EU_USER_EXPORT.name: owners(("team:marketing", "MAINTAINER")),
    # AUDIENCE_CSV deliberately has no owner.
}

OUTPUT_DOCS = {
    ORDERS_ENRICHED.name: "Orders joined with the CRM user master. The e-mail address is replaced "
                          "by its SHA-256 hash (`email_hash`); cancelled orders are excluded.",
    CHURN_MODEL.name: "Gradient-boosted churn classifier registered in MLflow. Trained on "
                      "`acme-eu.analytics_prod.user_features` (behavioural features only).",
}


# --------------------------------------------------------------------------
# Jobs: column lineage per output
# --------------------------------------------------------------------------
def cll(fields: dict[str, list[dict]], dataset: list[dict] | None = None) -> dict:
    body = {"fields": {k: {"inputFields": v} for k, v in fields.items()}}
    if dataset:
        body["dataset"] = dataset
    return body


def lineage_enrich_orders() -> dict:
    o, u = EU_ORDERS, USER_MASTER
    join = "ON o.user_id = u.user_id"
    return cll({
        "order_id": [field_ref(o, "order_id", IDENTITY())],
        "user_id": [field_ref(o, "user_id", IDENTITY())],
        "email_hash": [field_ref(u, "email", tr("DIRECT", "TRANSFORMATION", "SHA256(email)", masking=True))],
        "country": [field_ref(u, "country", IDENTITY())],
        "amount": [field_ref(o, "amount", IDENTITY())],
        "ordered_at": [field_ref(o, "ordered_at", IDENTITY())],
    }, [
        field_ref(o, "user_id", tr("INDIRECT", "JOIN", join)),
        field_ref(u, "user_id", tr("INDIRECT", "JOIN", join)),
        field_ref(o, "status", tr("INDIRECT", "FILTER", "o.status <> 'cancelled'")),
    ])


def lineage_load_us_sales() -> dict:
    o = US_ORDERS
    return cll({c: [field_ref(o, c, IDENTITY())] for c in ("order_id", "amount", "ordered_at")},
               [field_ref(o, "status", tr("INDIRECT", "FILTER", "status = 'paid'"))])


def lineage_daily_revenue() -> dict:
    e = ORDERS_ENRICHED
    return cll({
        "country": [field_ref(e, "country", IDENTITY())],
        "order_day": [field_ref(e, "ordered_at", tr("DIRECT", "TRANSFORMATION", "DATE(ordered_at)"))],
        "revenue": [field_ref(e, "amount", tr("DIRECT", "AGGREGATION", "SUM(amount)"))],
        "order_count": [field_ref(e, "order_id", tr("DIRECT", "AGGREGATION", "COUNT(order_id)"))],
    }, [
        field_ref(e, "country", tr("INDIRECT", "GROUP_BY", "GROUP BY country")),
        field_ref(e, "ordered_at", tr("INDIRECT", "GROUP_BY", "GROUP BY DATE(ordered_at)"),
                  tr("INDIRECT", "FILTER", "DATE(ordered_at) = DATE_SUB(@run_date, INTERVAL 1 DAY)")),
    ])


def lineage_eu_order_amounts() -> dict:
    o, u = EU_ORDERS, USER_MASTER
    join = "ON o.user_id = u.user_id"
    # JOIN-ONLY: no user_master column is carried into the output.
    return cll({
        "order_id": [field_ref(o, "order_id", IDENTITY())],
        "amount": [field_ref(o, "amount", IDENTITY())],
    }, [
        field_ref(o, "user_id", tr("INDIRECT", "JOIN", join)),
        field_ref(u, "user_id", tr("INDIRECT", "JOIN", join)),
        field_ref(u, "country", tr("INDIRECT", "FILTER", f"u.country IN {EU_COUNTRIES}")),
    ])


def lineage_user_features() -> dict:
    e, c = ORDERS_ENRICHED, CLICKSTREAM
    join = "orders_enriched.user_id = clickstream.user_id"
    return cll({
        "user_id": [field_ref(e, "user_id", IDENTITY()), field_ref(c, "user_id", IDENTITY())],
        "order_count": [field_ref(e, "order_id", tr("DIRECT", "AGGREGATION", "COUNT(DISTINCT order_id)"))],
        "total_spent": [field_ref(e, "amount", tr("DIRECT", "AGGREGATION", "SUM(amount)"))],
        "session_count": [field_ref(c, "session_id", tr("DIRECT", "AGGREGATION", "COUNT(DISTINCT session_id)"))],
    }, [
        field_ref(e, "user_id", tr("INDIRECT", "JOIN", join), tr("INDIRECT", "GROUP_BY", "GROUP BY user_id")),
        field_ref(c, "user_id", tr("INDIRECT", "JOIN", join), tr("INDIRECT", "GROUP_BY", "GROUP BY user_id")),
        field_ref(c, "event_ts", tr("INDIRECT", "FILTER", "event_ts >= run_date - 90 days")),
    ])


def lineage_churn_model() -> dict:
    f = USER_FEATURES
    return cll({c: [field_ref(f, c, IDENTITY())] for c in ("order_count", "total_spent", "session_count")})


def lineage_eu_user_export() -> dict:
    u = USER_MASTER
    # Raw PII copied verbatim (no masking) into a US store: residency violation.
    return cll({c: [field_ref(u, c, IDENTITY())] for c in ("user_id", "email", "country")},
               [field_ref(u, "country", tr("INDIRECT", "FILTER", f"country IN {EU_COUNTRIES}"))])


def lineage_audience_csv() -> dict:
    x = EU_USER_EXPORT
    return cll({c: [field_ref(x, c, IDENTITY())] for c in ("email", "country")})


class Job:
    def __init__(self, name: str, dag: str, inputs: list[Dataset], outputs: list[tuple[Dataset, callable]],
                 owners_: list[dict], sql: tuple[str, str] | None = None, doc: str | None = None):
        self.name = name
        self.dag = dag
        self.inputs = inputs
        self.outputs = outputs
        self.owners = owners_
        self.sql = sql
        self.doc = doc


JOBS = {j.name: j for j in [
    Job("etl_orders.enrich_orders", "etl_orders", [EU_ORDERS, USER_MASTER],
        [(ORDERS_ENRICHED, lineage_enrich_orders)], owners(("team:data-platform", "MAINTAINER")),
        sql=("postgres",
             "SELECT o.order_id, o.user_id, encode(sha256(convert_to(u.email, 'UTF8')), 'hex') AS email_hash, "
             "u.country, o.amount, o.ordered_at FROM shop.public.orders o "
             "JOIN shop.public.user_master u ON o.user_id = u.user_id WHERE o.status <> 'cancelled'")),
    Job("etl_orders.load_us_sales", "etl_orders", [US_ORDERS],
        [(US_SALES, lineage_load_us_sales)], owners(("team:data-platform", "MAINTAINER")),
        sql=("postgres", "SELECT order_id, amount, ordered_at FROM shop.public.orders WHERE status = 'paid'")),
    Job("analytics.daily_revenue", "analytics", [ORDERS_ENRICHED],
        [(DAILY_REVENUE, lineage_daily_revenue)], owners(("team:analytics", "MAINTAINER")),
        sql=("bigquery",
             "INSERT INTO `acme-eu.analytics_prod.daily_revenue_by_country` (country, order_day, revenue, order_count) "
             "SELECT country, DATE(ordered_at) AS order_day, SUM(amount) AS revenue, COUNT(order_id) AS order_count "
             "FROM `acme-eu.staging.orders_enriched` WHERE DATE(ordered_at) = DATE_SUB(@run_date, INTERVAL 1 DAY) "
             "GROUP BY country, order_day"),
        doc="Daily revenue and order count per customer country (previous calendar day)."),
    Job("analytics.eu_order_amounts", "analytics", [EU_ORDERS, USER_MASTER],
        [(EU_ORDER_AMOUNTS, lineage_eu_order_amounts)],
        owners(("user:alice@acme.example", "OWNER"), ("team:analytics", "MAINTAINER")),
        sql=("postgres",
             "SELECT o.order_id, o.amount FROM shop.public.orders o JOIN shop.public.user_master u "
             f"ON o.user_id = u.user_id WHERE u.country IN {EU_COUNTRIES}")),
    Job("ml.build_user_features", "ml", [ORDERS_ENRICHED, CLICKSTREAM],
        [(USER_FEATURES, lineage_user_features)], owners(("team:ml", "MAINTAINER"))),
    Job("ml.train_churn_model", "ml", [USER_FEATURES],
        [(CHURN_MODEL, lineage_churn_model)],
        owners(("team:ml", "MAINTAINER"), ("user:bob@acme.example", "OWNER")),
        doc="Trains the churn classifier on user_features and registers a new MLflow model version."),
    Job("marketing.export_eu_users", "marketing", [USER_MASTER],
        [(EU_USER_EXPORT, lineage_eu_user_export)],
        owners(("user:carol@acme.example", "OWNER"), ("team:marketing", "MAINTAINER")),
        sql=("postgres", f"SELECT user_id, email, country FROM shop.public.user_master WHERE country IN {EU_COUNTRIES}")),
    Job("marketing.publish_audience", "marketing", [EU_USER_EXPORT],
        [(AUDIENCE_CSV, lineage_audience_csv)], owners(("team:marketing", "MAINTAINER")),
        sql=("snowflake",
             "COPY INTO 's3://acme-us-exports/marketing/audience.csv' FROM "
             "(SELECT email, country FROM ANALYTICS.MARKETING.EU_USER_EXPORT) "
             "FILE_FORMAT = (TYPE = CSV) HEADER = TRUE SINGLE = TRUE")),
]}

DAG_OWNERS = {
    "etl_orders": owners(("team:data-platform", "MAINTAINER")),
    "analytics": owners(("team:analytics", "MAINTAINER")),
    "ml": owners(("team:ml", "MAINTAINER")),
    "marketing": owners(("team:marketing", "MAINTAINER")),
}


# --------------------------------------------------------------------------
# Event builders
# --------------------------------------------------------------------------
def nominal_time(day: int, producer: str) -> dict:
    start = FIRST_DAY + timedelta(days=day)
    return facet("NominalTimeRunFacet", producer, nominalStartTime=iso(start),
                 nominalEndTime=iso(start + timedelta(days=1)))


def job_type(kind: str, producer: str) -> dict:
    return facet("JobTypeJobFacet", producer, processingType="BATCH", integration="AIRFLOW", jobType=kind)


def base_event(event_type: str, when: datetime, rid: str, run_facets: dict | None, job_name: str,
               job_facets: dict | None, inputs, outputs, producer: str) -> dict:
    ev = {"eventType": event_type, "eventTime": iso(when)}
    ev["run"] = {"runId": rid} if run_facets is None else {"runId": rid, "facets": run_facets}
    ev["job"] = {"namespace": JOB_NS, "name": job_name}
    if job_facets is not None:
        ev["job"]["facets"] = job_facets
    if inputs is not None:
        ev["inputs"] = inputs
    if outputs is not None:
        ev["outputs"] = outputs
    ev["producer"] = producer
    ev["schemaURL"] = RUN_EVENT_SCHEMA_URL
    return ev


def dag_event(event_type: str, dag: str, day: int, seconds: int) -> tuple[datetime, dict]:
    p = AIRFLOW_PRODUCER
    when = event_time(day, seconds, f"{dag}/{event_type}")
    ev = base_event(event_type, when, run_id(dag, day), {"nominalTime": nominal_time(day, p)}, dag,
                    {"jobType": job_type("DAG", p),
                     "ownership": facet("OwnershipJobFacet", p, owners=DAG_OWNERS[dag])},
                    [], [], p)
    return when, ev


def task_run_facets(job: Job, day: int, producer: str) -> dict:
    return {
        "nominalTime": nominal_time(day, producer),
        "parent": facet("ParentRunFacet", producer,
                        run={"runId": run_id(job.dag, day)},
                        job={"namespace": JOB_NS, "name": job.dag}),
    }


SQL_CHANGES = {
    "analytics.eu_order_amounts": JOBS["analytics.eu_order_amounts"].sql[1] + " AND o.status <> 'cancelled'",
}


def full_job_facets(job: Job, producer: str, day: int = 0) -> dict:
    f = {"jobType": job_type("TASK", producer)}
    if job.sql:
        dialect, query = job.sql
        if day >= SQL_CHANGE_DAY and job.name in SQL_CHANGES:
            query = SQL_CHANGES[job.name]
        f["sql"] = facet("SQLJobFacet", producer, query=query, dialect=dialect)
    f["ownership"] = facet("OwnershipJobFacet", producer, owners=job.owners)
    if job.doc:
        f["documentation"] = facet("DocumentationJobFacet", producer, description=job.doc,
                                   contentType="text/markdown")
    return f


def dataset_inputs(job: Job, day: int, producer: str) -> list[dict]:
    inputs = [{"namespace": d.namespace, "name": d.name, "facets": input_facets(d, day, producer)}
              for d in job.inputs]
    for item, d in zip(inputs, job.inputs):
        if job.name == "ml.build_user_features" and d is CLICKSTREAM:
            rows = CLICKSTREAM_ROWS[day]
            item["inputFacets"] = {"dataQualityMetrics": facet(
                "DataQualityMetricsInputDatasetFacet", producer, rowCount=rows, bytes=rows * 212,
                columnMetrics={"user_id": {"nullCount": round(rows * CLICKSTREAM_NULLS[day]),
                                           "distinctCount": rows // 9},
                               "session_id": {"nullCount": 0, "distinctCount": rows // 3}})}
    return inputs


def dataset_outputs(job: Job, day: int, producer: str) -> list[dict]:
    outs = []
    for ds, lineage in job.outputs:
        facets = {"schema": ds.schema_facet(day, producer)}
        if ds is CHURN_MODEL:
            facets["datasetType"] = facet("DatasetTypeDatasetFacet", producer, datasetType="MODEL")
            facets["version"] = facet("DatasetVersionDatasetFacet", producer,
                                      datasetVersion=str(TRAIN_DAYS.index(day) + 1))
        facets["columnLineage"] = facet("ColumnLineageDatasetFacet", producer, **lineage())
        if ds.name in OUTPUT_OWNERS:
            facets["ownership"] = facet("OwnershipDatasetFacet", producer, owners=OUTPUT_OWNERS[ds.name])
        if ds.name in OUTPUT_DOCS:
            facets["documentation"] = facet("DocumentationDatasetFacet", producer,
                                            description=OUTPUT_DOCS[ds.name], contentType="text/markdown")
        outs.append({"namespace": ds.namespace, "name": ds.name, "facets": facets})
    return outs


def airflow_task(job_name: str, day: int, start_s: int, end_s: int, *, attempt: int = 1,
                 fail: dict | None = None, running_s: int | None = None) -> list[tuple[datetime, dict]]:
    """Airflow-style: START without datasets, terminal event with datasets + facets."""
    job, p = JOBS[job_name], AIRFLOW_PRODUCER
    rid = run_id(job_name, day, attempt)
    rf = task_run_facets(job, day, p)
    out = []
    t0 = event_time(day, start_s, f"{job_name}/START/{attempt}")
    out.append((t0, base_event("START", t0, rid, rf, job_name, {"jobType": job_type("TASK", p)}, [], [], p)))
    if running_s is not None:
        tr_ = event_time(day, running_s, f"{job_name}/RUNNING/{attempt}")
        # progress event: training data has been read, model not registered yet
        out.append((tr_, base_event("RUNNING", tr_, rid, rf, job_name, {"jobType": job_type("TASK", p)},
                                    dataset_inputs(job, day, p), [], p)))
    t1 = event_time(day, end_s, f"{job_name}/END/{attempt}")
    if fail is not None:
        rf_fail = dict(rf)
        rf_fail["errorMessage"] = facet("ErrorMessageRunFacet", p, **fail)
        out.append((t1, base_event("FAIL", t1, rid, rf_fail, job_name, full_job_facets(job, p, day), [], [], p)))
    else:
        out.append((t1, base_event("COMPLETE", t1, rid, rf, job_name, full_job_facets(job, p, day),
                                   dataset_inputs(job, day, p), dataset_outputs(job, day, p), p)))
    return out


def marquez_style_task(job_name: str, day: int, start_s: int, end_s: int) -> list[tuple[datetime, dict]]:
    """Marquez-style: START carries datasets + facets, COMPLETE is bare (no inputs/outputs keys)."""
    job, p = JOBS[job_name], CLIENT_PRODUCER
    rid = run_id(job_name, day)
    t0 = event_time(day, start_s, f"{job_name}/START")
    t1 = event_time(day, end_s, f"{job_name}/END")
    start = base_event("START", t0, rid, task_run_facets(job, day, p), job_name, full_job_facets(job, p, day),
                       dataset_inputs(job, day, p), dataset_outputs(job, day, p), p)
    complete = base_event("COMPLETE", t1, rid, None, job_name, None, None, None, p)
    return [(t0, start), (t1, complete)]


FAILURE = {
    "message": "403 Quota exceeded: Your project exceeded quota for concurrent queries. "
               "For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas",
    "programmingLanguage": "python",
    "stackTrace": (
        "Traceback (most recent call last):\n"
        '  File "/home/airflow/.local/lib/python3.11/site-packages/airflow/models/taskinstance.py", line 768, in _execute_task\n'
        "    result = _execute_callable(context=context, **execute_callable_kwargs)\n"
        '  File "/home/airflow/.local/lib/python3.11/site-packages/airflow/providers/google/cloud/operators/bigquery.py", line 2986, in execute\n'
        "    job.result(timeout=self.result_timeout, retry=self.result_retry)\n"
        '  File "/home/airflow/.local/lib/python3.11/site-packages/google/cloud/bigquery/job/query.py", line 1681, in result\n'
        "    raise self._exception\n"
        "google.api_core.exceptions.Forbidden: 403 Quota exceeded: Your project exceeded quota for concurrent queries."
    ),
}


# --------------------------------------------------------------------------
# Schedule (seconds after 02:00Z)
# --------------------------------------------------------------------------
def build_day(day: int) -> list[tuple[datetime, dict]]:
    ev: list[tuple[datetime, dict]] = []

    # DAG etl_orders
    ev.append(dag_event("START", "etl_orders", day, 4))
    ev += airflow_task("etl_orders.enrich_orders", day, 10, 221)
    ev += airflow_task("etl_orders.load_us_sales", day, 12, 175)
    ev.append(dag_event("COMPLETE", "etl_orders", day, 225))

    # DAG analytics (day 2: daily_revenue fails, retried one hour later)
    ev.append(dag_event("START", "analytics", day, 302))
    if day == FAILED_DAY:
        ev += airflow_task("analytics.daily_revenue", day, 310, 378, fail=FAILURE)
        ev += airflow_task("analytics.daily_revenue", day, 3980, 4120, attempt=2)
        analytics_end = 4125
    else:
        ev += airflow_task("analytics.daily_revenue", day, 310, 450)
        analytics_end = 455
    ev += airflow_task("analytics.eu_order_amounts", day, 311, 362)
    ev.append(dag_event("COMPLETE", "analytics", day, analytics_end))

    # DAG ml (model training only on day 1 and day 3)
    ev.append(dag_event("START", "ml", day, 600))
    ev += airflow_task("ml.build_user_features", day, 608, 860)
    ml_end = 865
    if day in TRAIN_DAYS:
        end = 2300 if day == 0 else 2670
        ev += airflow_task("ml.train_churn_model", day, 870, end,
                           running_s=1770 if day == RUNNING_DAY else None)
        ml_end = end + 5
    ev.append(dag_event("COMPLETE", "ml", day, ml_end))

    # DAG marketing (export_eu_users is the Marquez-style exception)
    ev.append(dag_event("START", "marketing", day, 1200))
    ev += marquez_style_task("marketing.export_eu_users", day, 1206, 1275)
    ev += airflow_task("marketing.publish_audience", day, 1285, 1325)
    ev.append(dag_event("COMPLETE", "marketing", day, 1330))
    return ev


def ingest_runs() -> list[tuple[datetime, dict]]:
    """The hourly clickstream ingestion: Kafka topic -> S3, one short run per hour."""
    p = CLIENT_PRODUCER
    out = []
    late = dict([INGEST_LATE])
    when = INGEST_FIRST
    while when <= INGEST_LAST:
        scheduled, when = when, when + timedelta(hours=1)
        if scheduled in INGEST_SKIPPED:
            continue
        start = late.get(scheduled, scheduled)
        rid = str(uuid.uuid5(RUN_ID_NAMESPACE, f"{JOB_NS}/{INGEST_JOB}/{iso(scheduled)}"))
        jobf = {"jobType": facet("JobTypeJobFacet", p, processingType="BATCH", integration="SPARK", jobType="JOB"),
                "ownership": facet("OwnershipJobFacet", p, owners=owners(("team:data-platform", "MAINTAINER")))}
        t0 = start + timedelta(milliseconds=int.from_bytes(hashlib.sha256(rid.encode()).digest()[:2], "big") % 900)
        t1 = t0 + timedelta(seconds=94)
        inputs = [{"namespace": KAFKA_EU, "name": CLICK_TOPIC.name,
                   "facets": {"schema": CLICK_TOPIC.schema_facet(0, p)}}]
        outputs = [{"namespace": S3_EU_RAW, "name": CLICKSTREAM.name, "facets": {
            "schema": CLICKSTREAM.schema_facet(0, p),
            "columnLineage": facet("ColumnLineageDatasetFacet", p, **cll(
                {c: [field_ref(CLICK_TOPIC, c, IDENTITY())] for c in ("user_id", "session_id", "url")}
                | {"event_ts": [field_ref(CLICK_TOPIC, "event_ts",
                                          tr("DIRECT", "TRANSFORMATION", "from_unixtime(event_ts / 1000)"))]})),
            "ownership": facet("OwnershipDatasetFacet", p, owners=owners(("team:data-platform", "MAINTAINER")))}}]
        out.append((t0, base_event("START", t0, rid, None, INGEST_JOB, jobf, [], [], p)))
        out.append((t1, base_event("COMPLETE", t1, rid, None, INGEST_JOB, jobf, inputs, outputs, p)))
    return out


def build_all() -> list[dict]:
    events = [e for day in range(DAYS) for e in build_day(day)] + ingest_runs()
    events.sort(key=lambda te: te[0])  # stable; all timestamps are distinct (checked below)
    times = [t for t, _ in events]
    assert len(set(times)) == len(times), "duplicate eventTime"
    return [e for _, e in events]


# --------------------------------------------------------------------------
# Validation + summary
# --------------------------------------------------------------------------
def validate(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]  # every line parses
    times = [e["eventTime"] for e in events]
    assert all(t.endswith("Z") for t in times)
    parsed = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ") for t in times]
    assert parsed == sorted(parsed), "eventTime not non-decreasing"

    terminal = Counter()
    starts = Counter()
    runs = set()
    for e in events:
        rid = e["run"]["runId"]
        runs.add(rid)
        assert str(uuid.UUID(rid)) == rid
        assert e["schemaURL"] == RUN_EVENT_SCHEMA_URL
        if e["eventType"] in ("COMPLETE", "FAIL", "ABORT"):
            terminal[rid] += 1
        if e["eventType"] == "START":
            starts[rid] += 1
        for section in (e["run"], e["job"]):
            for f in section.get("facets", {}).values():
                assert "_producer" in f and "_schemaURL" in f
        for ds in e.get("inputs", []) + e.get("outputs", []):
            for f in ds.get("facets", {}).values():
                assert "_producer" in f and "_schemaURL" in f
    bad = [r for r in runs if terminal[r] != 1 or starts[r] != 1]
    assert not bad, f"runs without exactly one START and one terminal event: {bad}"

    datasets = {(d["namespace"], d["name"]) for e in events for d in e.get("inputs", []) + e.get("outputs", [])}
    jobs = {(e["job"]["namespace"], e["job"]["name"]) for e in events}
    types = Counter(e["eventType"] for e in events)
    print(f"{path.name}: {len(events)} events, {len(runs)} runs, {len(datasets)} datasets, {len(jobs)} jobs")
    print("  event types: " + ", ".join(f"{k}={v}" for k, v in sorted(types.items())))

    # line-number landmarks (1-based) for README.md
    marks: dict[str, list[int]] = defaultdict(list)
    for n, e in enumerate(events, 1):
        name, et = e["job"]["name"], e["eventType"]
        rf = e["run"].get("facets", {})
        if "errorMessage" in rf:
            marks["FAIL with errorMessage (analytics.daily_revenue day 2)"].append(n)
        if name == "analytics.daily_revenue" and et in ("START", "COMPLETE") and e["eventTime"].startswith("2026-11-21"):
            marks["analytics.daily_revenue day 2 try1 START / retry START / retry COMPLETE"].append(n)
        if et == "RUNNING":
            marks["RUNNING (ml.train_churn_model day 3)"].append(n)
        if name == "marketing.export_eu_users":
            marks[f"Marquez-style export_eu_users {et}"].append(n)
        for d in e.get("outputs", []):
            f = d["facets"]
            if "version" in f:
                marks[f"churn_model version {f['version']['datasetVersion']}"].append(n)
        for d in e.get("inputs", []):
            if d["name"] == EU_ORDERS.name and d["namespace"] == PG_EU:
                cols = [x["name"] for x in d["facets"]["schema"]["fields"]]
                key = "EU orders schema WITH discount" if "discount" in cols else "EU orders schema without discount"
                marks[key].append(n)
        if name == "etl_orders.enrich_orders" and et == "COMPLETE":
            marks["enrich_orders COMPLETE (masking SHA256(email))"].append(n)
        if name == "analytics.eu_order_amounts" and et == "COMPLETE":
            marks["eu_order_amounts COMPLETE (join-only)"].append(n)
        if name == "analytics.daily_revenue" and et == "COMPLETE":
            marks["daily_revenue COMPLETE (AGGREGATION/GROUP_BY)"].append(n)
        if name == "marketing.publish_audience" and et == "COMPLETE":
            marks["publish_audience COMPLETE (unowned audience.csv)"].append(n)
        if name in DAG_OWNERS and et == "START":
            marks["DAG (parent) START"].append(n)
        if name == INGEST_JOB and et == "START" and e["eventTime"][:13] in ("2026-11-21T09", "2026-11-21T12"):
            marks["ingest.clickstream START around the 3 h 10 min gap (09:05, then 12:15)"].append(n)
        for d in e.get("inputs", []):
            metrics = d.get("inputFacets", {}).get("dataQualityMetrics")
            if metrics:
                nulls = metrics["columnMetrics"]["user_id"]["nullCount"] / metrics["rowCount"]
                marks[f"dataQualityMetrics on clickstream (user_id null fraction {nulls:.3f})"].append(n)
        query = e["job"].get("facets", {}).get("sql", {}).get("query", "")
        if name == "analytics.eu_order_amounts" and "cancelled" in query:
            marks["eu_order_amounts SQL with the new status filter"].append(n)
    print("  landmarks (line numbers):")
    for k, v in marks.items():
        print(f"    {k}: {', '.join(map(str, v))}")


def main() -> int:
    events = build_all()
    with OUT.open("w", encoding="utf-8", newline="\n") as fh:
        for e in events:
            fh.write(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n")
    validate(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
