#!/usr/bin/env python3
"""Ingest benchmark for lineagectl.

Generates a deterministic synthetic OpenLineage (spec 2-0-2) NDJSON log, then
measures, each in a fresh child process:

  * bare parse: read the file line by line and ``orjson.loads`` every line;
  * ingest: ``python -m lineagectl --db <tmp>/bench.duckdb ingest --quiet FILE``;
  * re-ingest (``--reingest``): the same command again on the same database.

Usage::

    python bench/ingest.py --events 100000
    python bench/ingest.py --events 1000000 --reingest --json > figures.json

Only the standard library and orjson are used.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import orjson

# --------------------------------------------------------------------------
# Shape of the synthetic log
# --------------------------------------------------------------------------

FULL_EVENTS = 1_000_000  # at and above this many events, the full topology
FULL_DATASETS = 10_000
FULL_JOBS = 3_000
MIN_JOBS = 12
MIN_RUNS_PER_JOB = 4  # below this, fewer jobs are used
MAX_JOB_LAYERS = 5
FAIL_RATE = 0.02
SCHEMA_CHANGE_RATE = 0.003  # per output dataset per successful run
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

OL_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/{}.json#/$defs/{}"
SCHEMA_FACET_URL = FACET_URL.format("1-1-1/SchemaDatasetFacet", "SchemaDatasetFacet")
COLLIN_FACET_URL = FACET_URL.format(
    "1-2-0/ColumnLineageDatasetFacet", "ColumnLineageDatasetFacet"
)
SQL_FACET_URL = FACET_URL.format("1-1-0/SQLJobFacet", "SQLJobFacet")
JOBTYPE_FACET_URL = FACET_URL.format("2-0-3/JobTypeJobFacet", "JobTypeJobFacet")
NOMINAL_FACET_URL = FACET_URL.format("1-0-1/NominalTimeRunFacet", "NominalTimeRunFacet")
PARENT_FACET_URL = FACET_URL.format("1-1-0/ParentRunFacet", "ParentRunFacet")
ERROR_FACET_URL = FACET_URL.format("1-0-1/ErrorMessageRunFacet", "ErrorMessageRunFacet")

# integration -> (producer, job namespace, jobType.jobType)
INTEGRATIONS = {
    "SPARK": (
        "https://github.com/OpenLineage/OpenLineage/tree/1.22.0/integration/spark",
        "spark-ingest-prod",
        "JOB",
    ),
    "DBT": (
        "https://github.com/OpenLineage/OpenLineage/tree/1.22.0/integration/dbt",
        "dbt://acme/analytics",
        "MODEL",
    ),
    "AIRFLOW": (
        "https://github.com/apache/airflow/tree/providers-openlineage/1.12.0",
        "airflow-prod",
        "TASK",
    ),
}
SCHEDULER_NAMESPACE = "airflow-prod"
SOURCE_NAMESPACES = (
    "postgres://orders-db.prod.internal:5432",
    "postgres://crm-db.prod.internal:5432",
    "mysql://billing-db.prod.internal:3306",
    "s3://acme-landing-zone",
)
WAREHOUSE_NAMESPACE = "snowflake://acme-prod.eu-west-1"
LAYER_SCHEMAS = ("raw", "stg", "int", "core", "mart", "rpt")
DOMAINS = (
    "sales", "finance", "marketing", "product", "ops", "hr", "support",
    "logistics", "billing", "growth", "risk", "partners",
)
ENTITIES = (
    "orders", "customers", "invoices", "sessions", "events", "payments",
    "shipments", "tickets", "accounts", "subscriptions", "products",
    "campaigns", "leads", "refunds", "inventory", "contracts", "users",
)
COLUMNS = (
    ("id", "BIGINT"), ("customer_id", "BIGINT"), ("order_id", "BIGINT"),
    ("account_id", "BIGINT"), ("product_id", "BIGINT"), ("session_id", "VARCHAR"),
    ("campaign_id", "BIGINT"), ("invoice_id", "BIGINT"), ("user_id", "BIGINT"),
    ("created_at", "TIMESTAMP"), ("updated_at", "TIMESTAMP"), ("deleted_at", "TIMESTAMP"),
    ("event_ts", "TIMESTAMP"), ("load_date", "DATE"), ("order_date", "DATE"),
    ("amount", "DECIMAL(18,2)"), ("currency", "VARCHAR"), ("status", "VARCHAR"),
    ("country", "VARCHAR"), ("region", "VARCHAR"), ("city", "VARCHAR"),
    ("email_hash", "VARCHAR"), ("phone_hash", "VARCHAR"), ("quantity", "INTEGER"),
    ("unit_price", "DECIMAL(18,4)"), ("discount", "DECIMAL(18,4)"), ("tax", "DECIMAL(18,2)"),
    ("channel", "VARCHAR"), ("device", "VARCHAR"), ("browser", "VARCHAR"),
    ("is_active", "BOOLEAN"), ("is_deleted", "BOOLEAN"), ("score", "DOUBLE"),
    ("segment", "VARCHAR"), ("revenue", "DECIMAL(18,2)"), ("cost", "DECIMAL(18,2)"),
    ("margin", "DOUBLE"), ("plan", "VARCHAR"), ("tier", "VARCHAR"),
    ("sku", "VARCHAR"), ("category", "VARCHAR"), ("brand", "VARCHAR"),
    ("warehouse_id", "INTEGER"), ("carrier", "VARCHAR"), ("tracking_no", "VARCHAR"),
    ("priority", "SMALLINT"), ("agent_id", "BIGINT"), ("resolution", "VARCHAR"),
    ("mrr", "DECIMAL(18,2)"), ("arr", "DECIMAL(18,2)"), ("churn_flag", "BOOLEAN"),
    ("utm_source", "VARCHAR"), ("utm_medium", "VARCHAR"), ("utm_campaign", "VARCHAR"),
    ("page_views", "INTEGER"), ("duration_s", "INTEGER"), ("ip_country", "VARCHAR"),
    ("payload", "VARIANT"), ("batch_id", "VARCHAR"), ("source_system", "VARCHAR"),
)
ERRORS = (  # (message, programmingLanguage, stackTrace)
    ("Query execution failed: division by zero", "PYTHON",
     "Traceback (most recent call last):\n"
     '  File "/opt/airflow/dags/common/sql.py", line 88, in run\n'
     "    cursor.execute(query)\nsnowflake.connector.errors.ProgrammingError: "
     "100051 (22012): Division by zero"),
    ("Job aborted due to stage failure: java.lang.OutOfMemoryError: Java heap space", "JAVA",
     "org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 7.0 "
     "failed 4 times\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
     "(DAGScheduler.scala:2672)\nCaused by: java.lang.OutOfMemoryError: Java heap space"),
    ("Connection reset by peer while reading source table", "PYTHON",
     "Traceback (most recent call last):\n"
     '  File "/usr/lib/python3.11/ssl.py", line 1134, in read\n'
     "    return self._sslobj.read(len, buffer)\nConnectionResetError: "
     "[Errno 104] Connection reset by peer"),
    ("dbt test failure: unique_id is not unique", "PYTHON",
     "Traceback (most recent call last):\n"
     '  File "/usr/local/lib/python3.11/site-packages/dbt/task/run.py", line 412, in run\n'
     "    raise DbtRuntimeError(msg)\ndbt.exceptions.DbtRuntimeError: "
     "Got 12 results, configured to fail if != 0"),
)
IDENTITY = [{"type": "DIRECT", "subtype": "IDENTITY"}]


def plan_sizes(n_events: int) -> tuple[int, int, int]:
    """Return (jobs, datasets, job layers) for a log of ``n_events`` events.

    The full topology (3,000 jobs, 10,000 datasets) is used from 1M events on;
    below that both scale proportionally to N (so every job keeps about the
    same number of daily runs, ~167), with a floor of MIN_JOBS jobs, and with
    at most runs/MIN_RUNS_PER_JOB jobs so that every job runs several times.
    """
    runs = n_events // 2
    scale = min(1.0, n_events / FULL_EVENTS)
    jobs = max(MIN_JOBS, round(FULL_JOBS * scale))
    jobs = max(1, min(jobs, runs // MIN_RUNS_PER_JOB))
    datasets = max(2, round(jobs * FULL_DATASETS / FULL_JOBS))
    layers = MAX_JOB_LAYERS if jobs >= 50 else max(1, min(MAX_JOB_LAYERS, jobs // 4))
    return jobs, datasets, layers


# ``--wide``: 5x wider schemas (75-150 columns, like real Spark and dbt events), names from a
# pool of every column above in five variants.
WIDE_COLUMNS = COLUMNS + tuple((f"{c}_{k}", t) for k in range(2, 6) for c, t in COLUMNS)


def _skewed_width(rng: random.Random, wide: bool = False) -> int:
    """Number of schema fields: 5..30; most tables narrow, a few wide (mean ~7.5).

    ``wide``: 75..150, uniformly.
    """
    if wide:
        return rng.randint(75, 150)
    if rng.random() < 0.06:
        return rng.randint(15, 30)
    return min(30, 5 + int(rng.expovariate(1 / 2.0)))


class Dataset:
    __slots__ = ("extra", "facets", "fields", "name", "namespace", "ref")

    def __init__(self, namespace: str, name: str, fields: list) -> None:
        self.namespace = namespace
        self.name = name
        self.fields = fields  # [(name, type)]
        self.facets = None  # output facets (schema + columnLineage), writers only
        self.ref = {"namespace": namespace, "name": name}  # as an input
        self.extra = 0  # columns added by schema evolution


class Job:
    __slots__ = (
        "dag",
        "dur_ms",
        "input_refs",
        "inputs",
        "integration",
        "layer",
        "name",
        "namespace",
        "obj",
        "offset_ms",
        "output_refs",
        "outputs",
        "producer",
    )


class Topology:
    """A layered DAG: job layer k reads dataset layer k-1 and writes layer k."""

    def __init__(self, rng: random.Random, n_jobs: int, n_datasets: int, n_layers: int, wide: bool = False):
        self.rng = rng
        self.wide = wide
        self.columns = WIDE_COLUMNS if wide else COLUMNS
        self.datasets: list[Dataset] = []
        self.jobs: list[Job] = []
        self._counter = 0
        layer_of = [1 + (i * n_layers) // n_jobs for i in range(n_jobs)]
        n_out = [rng.choices((1, 2, 3), (55, 35, 10))[0] for _ in range(n_jobs)]
        n_in = [rng.choices((1, 2, 3, 4), (10, 25, 35, 30))[0] for _ in range(n_jobs)]
        jobs_in_layer = [[] for _ in range(n_layers + 1)]
        for i, k in enumerate(layer_of):
            jobs_in_layer[k].append(i)
        # reading capacity of pool k (dataset layer k) = inputs of job layer k+1
        cap = [sum(n_in[i] for i in jobs_in_layer[k + 1]) for k in range(n_layers)]
        sources = self._allocate_sources(n_datasets - sum(n_out), cap)

        pool: list[Dataset] = []  # datasets written by the previous job layer
        dag_seq = 0
        for k in range(1, n_layers + 1):
            srcs = [self._new_source(k - 1) for _ in range(sources[k - 1])]
            written = pool
            members = jobs_in_layer[k]
            # input slots: every source of the pool is read at least once
            slots = [i for i in members for _ in range(n_in[i])]
            rng.shuffle(slots)
            inputs: dict[int, list[Dataset]] = {i: [] for i in members}
            for s, ds in zip(slots, srcs, strict=False):  # slots outnumber sources: each source fills one
                inputs[s].append(ds)
            choose_from = written or srcs
            for s in slots[len(srcs):]:
                cur = inputs[s]
                for _ in range(10):
                    ds = rng.choice(choose_from)
                    if ds not in cur:
                        cur.append(ds)
                        break
            integration = "SPARK" if k == 1 else ("AIRFLOW" if k == n_layers > 2 else "DBT")
            producer, job_ns, _ = INTEGRATIONS[integration]
            new_pool: list[Dataset] = []
            # group ~15 jobs per Airflow DAG (the parent run)
            for pos, i in enumerate(members):
                if pos % 15 == 0:
                    dag_seq += 1
                    dag = f"{rng.choice(DOMAINS)}_{LAYER_SCHEMAS[min(k, 5)]}_dag_{dag_seq:04d}"
                job = Job()
                job.layer = k
                job.integration = integration
                job.producer = producer
                job.namespace = job_ns
                job.dag = dag
                job.inputs = inputs[i]
                job.outputs = [self._new_output(k, job.inputs) for _ in range(n_out[i])]
                new_pool.extend(job.outputs)
                first = job.outputs[0].name.rsplit(".", 1)[1]
                job.name = f"{dag}.build_{first}"
                job.offset_ms = rng.randrange(0, 90 * 60_000)
                job.dur_ms = int(min(7_200_000, rng.lognormvariate(12.6, 1.0)))  # ~5 min
                for ds in job.outputs:
                    self.refresh_output(job, ds)
                self._build_job_obj(job)
                self.jobs.append(job)
            pool = new_pool
        self.jobs.sort(key=lambda j: (j.layer, j.offset_ms))

    # -- construction helpers ------------------------------------------------
    def _allocate_sources(self, n_sources: int, cap: list[int]) -> list[int]:
        n_layers = len(cap)
        n_sources = max(n_sources, n_layers)
        alloc = [0] * n_layers
        alloc[0] = min(n_sources, max(1, int(cap[0] * 0.75)))
        rest = n_sources - alloc[0]
        later = sum(cap[1:])
        for k in range(1, n_layers):
            alloc[k] = min(int(cap[k] * 0.9), max(1, round(rest * cap[k] / later)))
        short = n_sources - sum(alloc)
        for k in range(n_layers):  # put leftovers wherever there is capacity
            if short <= 0:
                break
            add = min(short, cap[k] - alloc[k])
            alloc[k] += add
            short -= add
        return alloc

    def _next_table(self) -> str:
        self._counter += 1
        return f"{self.rng.choice(DOMAINS)}_{self.rng.choice(ENTITIES)}_{self._counter:05d}"

    def _new_source(self, layer: int) -> Dataset:
        rng = self.rng
        if layer == 0:  # operational databases and a landing bucket
            ns = rng.choice(SOURCE_NAMESPACES)
            scheme, host = ns.split("://", 1)
            db = host.split("-", 1)[0]
            if scheme == "s3":
                name = f"landing/{self._next_table()}"
            elif scheme == "mysql":
                name = f"{db}.{self._next_table()}"
            else:
                name = f"{db}.public.{self._next_table()}"
        else:  # reference/seed data landing straight into the warehouse
            ns = WAREHOUSE_NAMESPACE
            name = f"analytics.seeds.{self._next_table()}"
        fields = rng.sample(self.columns, _skewed_width(rng, self.wide))
        ds = Dataset(ns, name, fields)
        self.datasets.append(ds)
        return ds

    def _new_output(self, layer: int, inputs: list[Dataset]) -> Dataset:
        rng = self.rng
        seen: dict[str, str] = {}
        for ds in inputs:
            for col, typ in ds.fields:
                seen.setdefault(col, typ)
        want = _skewed_width(rng, self.wide)
        names = list(seen)
        # ~65% of the columns pass through from an input (they get column
        # lineage); the rest are derived/new (no columnLineage entry)
        picked = rng.sample(names, min(max(1, round(want * 0.65)), len(names)))
        fields = [(c, seen[c]) for c in picked]
        if len(fields) < want:
            spare = [c for c in self.columns if c[0] not in seen]
            fields += rng.sample(spare, min(want - len(fields), len(spare)))
        name = f"analytics.{LAYER_SCHEMAS[min(layer, 5)]}.{self._next_table()}"
        ds = Dataset(WAREHOUSE_NAMESPACE, name, fields)
        self.datasets.append(ds)
        return ds

    def refresh_output(self, job: Job, ds: Dataset) -> None:
        """(Re)build the schema and columnLineage facets of an output dataset."""
        by_col: dict[str, list[Dataset]] = {}
        for src in job.inputs:
            for col, _ in src.fields:
                by_col.setdefault(col, []).append(src)
        lineage = {}
        for col, _ in ds.fields:
            srcs = by_col.get(col)
            if not srcs:
                continue  # derived column: no column lineage
            src, field = srcs[0], col
            entries = [{"namespace": src.namespace, "name": src.name,
                        "field": field, "transformations": IDENTITY}]
            # ~10% of the columns shared by two inputs are coalesce(a.x, b.x);
            # decided by a stable hash so that a schema change keeps the rest
            if len(srcs) > 1 and zlib.crc32(f"{ds.name}.{col}".encode()) % 10 == 0:
                other = srcs[1]
                entries.append({"namespace": other.namespace, "name": other.name,
                                "field": col, "transformations": IDENTITY})
            lineage[col] = {"inputFields": entries}
        producer = job.producer
        ds.facets = {
            "schema": {
                "_producer": producer,
                "_schemaURL": SCHEMA_FACET_URL,
                "fields": [{"name": c, "type": t} for c, t in ds.fields],
            },
            "columnLineage": {
                "_producer": producer,
                "_schemaURL": COLLIN_FACET_URL,
                "fields": lineage,
            },
        }

    def _build_job_obj(self, job: Job) -> None:
        """Job object and dataset lists as they appear in events (shared by runs)."""
        job.input_refs = [ds.ref for ds in job.inputs]
        job.output_refs = [{"namespace": ds.namespace, "name": ds.name, "facets": ds.facets}
                           for ds in job.outputs]
        producer, _, job_type = INTEGRATIONS[job.integration]
        first = job.inputs[0]
        first_cols = {c for c, _ in first.fields}
        joins = []
        for n, d in enumerate(job.inputs[1:], 1):
            common = [c for c, _ in d.fields if c in first_cols]
            ids = [c for c in common if c == "id" or c.endswith("_id")]
            key = (ids or common or [d.fields[0][0]])[0]
            joins.append(f" JOIN {d.name} t{n} USING ({key})")
        out = job.outputs[0]  # one statement, as SQL facets usually carry
        cols = ", ".join(c for c, _ in out.fields[:4]) + (", ..." if len(out.fields) > 4 else "")
        query = (f"INSERT INTO {out.name} SELECT {cols} FROM {first.name} t0"
                 f"{''.join(joins)} WHERE load_date = '{{{{ ds }}}}'")
        job.obj = {
            "namespace": job.namespace,
            "name": job.name,
            "facets": {
                "jobType": {
                    "_producer": producer,
                    "_schemaURL": JOBTYPE_FACET_URL,
                    "processingType": "BATCH",
                    "integration": job.integration,
                    "jobType": job_type,
                },
                "sql": {
                    "_producer": producer,
                    "_schemaURL": SQL_FACET_URL,
                    "query": query,
                },
            },
        }

    def evolve(self, job: Job, ds: Dataset) -> None:
        """Schema change: a column is appended to an output dataset.

        It is taken from an input when one has a column the output lacks (so
        the column lineage grows too), else it is a new derived column.
        """
        ds.extra += 1
        have = {c for c, _ in ds.fields}
        spare = [(c, t) for src in job.inputs for c, t in src.fields if c not in have]
        if spare:
            col, typ = self.rng.choice(spare)
        else:
            col, typ = self.rng.choice(self.columns)
            col = f"{col}_v{ds.extra + 1}"
        ds.fields = ds.fields + [(col, typ)]
        self.refresh_output(job, ds)
        self._build_job_obj(job)


# --------------------------------------------------------------------------
# Event generation
# --------------------------------------------------------------------------


def _uuid7(rng: random.Random, unix_ms: int) -> str:
    hi = (unix_ms << 16) | 0x7000 | rng.getrandbits(12)
    lo = (0b10 << 62) | rng.getrandbits(62)
    h = f"{hi:016x}{lo:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ts(day: str, ms: int) -> str:
    s, milli = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def generate(path: Path, n_events: int, seed: int, datasets: int | None = None, wide: bool = False) -> dict:
    """Write ``n_events`` OpenLineage events to ``path``; return statistics.

    ``datasets`` overrides the topology size (jobs scale with it), e.g. for the
    query benchmark's 100k-dataset store.
    """
    t0 = time.perf_counter()
    rng = random.Random(seed)
    n_jobs, n_datasets, n_layers = plan_sizes(n_events)
    if datasets is not None:
        n_datasets = datasets
        n_jobs = max(1, min(n_events // 2, round(datasets * FULL_JOBS / FULL_DATASETS)))
        n_layers = MAX_JOB_LAYERS
    topo = Topology(rng, n_jobs, n_datasets, n_layers, wide)
    t_topo = time.perf_counter() - t0
    jobs = topo.jobs
    runs_total = n_events // 2
    dangling_start = n_events % 2  # odd N: one last run only STARTs

    sizes = {"START": array.array("I"), "COMPLETE": array.array("I"), "FAIL": array.array("I")}
    seen_jobs: set[int] = set()
    seen_datasets: set[int] = set()
    dumps = orjson.dumps
    opt = orjson.OPT_APPEND_NEWLINE
    epoch_ms = int(EPOCH.timestamp() * 1000)
    empty: list = []
    runs = fails = schema_changes = 0
    day = 0
    total_bytes = 0
    with open(path, "wb", buffering=1 << 20) as fh:
        while runs < runs_total or dangling_start:
            date = (EPOCH + dt.timedelta(days=day)).date()
            day_str = date.isoformat()
            day_ms = epoch_ms + day * 86_400_000
            nominal = {}
            parents = {}
            for integ, (producer, _, _) in INTEGRATIONS.items():
                nominal[integ] = {
                    "_producer": producer,
                    "_schemaURL": NOMINAL_FACET_URL,
                    "nominalStartTime": f"{day_str}T00:00:00.000Z",
                    "nominalEndTime": f"{(date + dt.timedelta(days=1)).isoformat()}T00:00:00.000Z",
                }
            buf = []
            seq = 0
            for job in jobs:
                only_start = False
                if runs >= runs_total:
                    if not dangling_start:
                        break
                    only_start = True
                    dangling_start = 0
                start_ms = (3_600_000 + (job.layer - 1) * 7_200_000 + job.offset_ms
                            + rng.randrange(120_000))
                failed = rng.random() < FAIL_RATE
                dur = int(job.dur_ms * rng.uniform(0.7, 1.4) * (0.3 if failed else 1.0)) + 1
                end_ms = start_ms + dur
                producer = job.producer
                parent = parents.get(job.dag)
                if parent is None:
                    parent = parents[job.dag] = {
                        "_producer": producer,
                        "_schemaURL": PARENT_FACET_URL,
                        "job": {"namespace": SCHEDULER_NAMESPACE, "name": job.dag},
                        "run": {"runId": _uuid7(rng, day_ms + 3_600_000)},
                    }
                run_id = _uuid7(rng, day_ms + start_ms)
                run_facets = {"nominalTime": nominal[job.integration], "parent": parent}
                ev = {
                    "eventType": "START",
                    "eventTime": _ts(day_str, start_ms),
                    "producer": producer,
                    "schemaURL": OL_SCHEMA_URL,
                    "run": {"runId": run_id, "facets": run_facets},
                    "job": job.obj,
                    "inputs": empty,
                    "outputs": empty,
                }
                line = dumps(ev, option=opt)
                sizes["START"].append(len(line))
                buf.append((start_ms, seq, line))
                seq += 1
                if only_start:
                    break
                if failed:
                    code = "FAIL"
                    if job.integration == "SPARK":
                        msg, lang, trace = ERRORS[1]
                    else:
                        msg, lang, trace = ERRORS[rng.choice((0, 2, 3))]
                    run_facets = dict(run_facets)
                    run_facets["errorMessage"] = {
                        "_producer": producer,
                        "_schemaURL": ERROR_FACET_URL,
                        "message": msg,
                        "programmingLanguage": lang,
                        "stackTrace": trace,
                    }
                    fails += 1
                else:
                    code = "COMPLETE"
                ev = {
                    "eventType": code,
                    "eventTime": _ts(day_str, end_ms),
                    "producer": producer,
                    "schemaURL": OL_SCHEMA_URL,
                    "run": {"runId": run_id, "facets": run_facets},
                    "job": job.obj,
                    "inputs": job.input_refs,
                    "outputs": job.output_refs,
                }
                line = dumps(ev, option=opt)
                sizes[code].append(len(line))
                buf.append((end_ms, seq, line))
                seq += 1
                runs += 1
                jid = id(job)
                if jid not in seen_jobs:
                    seen_jobs.add(jid)
                    seen_datasets.update(id(d) for d in job.inputs)
                    seen_datasets.update(id(d) for d in job.outputs)
                if not failed:
                    for ds in job.outputs:
                        if rng.random() < SCHEMA_CHANGE_RATE and len(ds.fields) < 30:
                            topo.evolve(job, ds)
                            schema_changes += 1
            buf.sort(key=lambda item: (item[0], item[1]))
            for _, _, line in buf:
                total_bytes += len(line)
            fh.writelines(line for _, _, line in buf)
            day += 1
    elapsed = time.perf_counter() - t0
    all_sizes = sorted(s for arr in sizes.values() for s in arr)

    def pct(vals, p):
        return vals[min(len(vals) - 1, int(p * len(vals)))] if vals else 0

    by_type = {}
    for code, arr in sizes.items():
        vals = sorted(arr)
        by_type[code] = {
            "count": len(vals),
            "mean_bytes": round(sum(vals) / len(vals)) if vals else 0,
            "p50_bytes": pct(vals, 0.5),
            "max_bytes": vals[-1] if vals else 0,
        }
    return {
        "seconds": round(elapsed, 3),
        "topology_seconds": round(t_topo, 3),
        "events_per_s": round(n_events / elapsed) if elapsed else None,
        "events": len(all_sizes),
        "bytes": total_bytes,
        "runs": runs,
        "failed_runs": fails,
        "days": day,
        "schema_changes": schema_changes,
        "jobs_planned": n_jobs,
        "datasets_planned": len(topo.datasets),
        "job_layers": n_layers,
        "distinct_jobs": len(seen_jobs),
        "distinct_datasets": len(seen_datasets),
        "event_bytes": {
            "mean": round(total_bytes / len(all_sizes)) if all_sizes else 0,
            "min": all_sizes[0] if all_sizes else 0,
            "p50": pct(all_sizes, 0.5),
            "p95": pct(all_sizes, 0.95),
            "p99": pct(all_sizes, 0.99),
            "max": all_sizes[-1] if all_sizes else 0,
            "by_type": by_type,
        },
    }


# --------------------------------------------------------------------------
# Measurements (each in a fresh child process)
# --------------------------------------------------------------------------

PARSE_CHILD = r"""
import sys, time
import orjson
loads = orjson.loads
n = 0
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    for line in f:
        loads(line)
        n += 1
t1 = time.perf_counter()
sys.stdout.write('{"events": %d, "loop_s": %.6f}\n' % (n, t1 - t0))
"""

PROBE_CHILD = r"""
import importlib.util, sys, traceback
try:
    spec = importlib.util.find_spec("lineagectl")
except Exception:
    print("IMPORT-ERROR"); traceback.print_exc(); sys.exit(0)
if spec is None:
    print("MISSING"); sys.exit(0)
try:
    main = importlib.util.find_spec("lineagectl.__main__")
except Exception:
    print("IMPORT-ERROR"); traceback.print_exc(); sys.exit(0)
print("OK" if main is not None else "NO-MAIN")
print(spec.origin or (list(spec.submodule_search_locations or []) or ["?"])[0])
"""

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000


# Peak RSS is taken from the rusage of the measured process (os.wait4).  On
# Linux a process's ru_maxrss also covers the memory image it had *before*
# exec(), i.e. its parent's resident set at fork/vfork time, so a child
# spawned straight from this (large) benchmark process would report at least
# our own peak.  Every measured command is therefore started by a tiny wrapper
# interpreter (python -I -S, ~8 MB) which spawns it, waits for it with
# os.wait4 and writes its exit code, wall time (excluding the wrapper's own
# start-up), CPU time and ru_maxrss to a report file.
WRAPPER_CHILD = r"""
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
t1 = time.perf_counter()
with open(report, "w") as f:
    f.write("%d %.6f %.6f %d\n" % (os.waitstatus_to_exitcode(status), t1 - t0,
                                    ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
"""


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


# An ingest may run children of its own (ingest's line-hashing and preparing children): ru_maxrss
# gives the largest process, not their sum. The sum of the measured process tree's RSS is sampled
# every TREE_SAMPLE seconds (Linux /proc; shared pages count once per process, so it errs high).
TREE_SAMPLE = 0.05


def run_child(cmd: list[str], *, cwd: str, env: dict | None = None) -> dict:
    """Run ``cmd`` (argv[0] an absolute path) to completion via the wrapper.

    Returns its exit code, wall and CPU seconds, peak RSS (the largest process's, and the sampled
    peak of the process tree's sum where /proc allows) and captured output.
    """
    with tempfile.TemporaryDirectory(prefix="lineagectl-bench-run-") as td, \
            tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report = Path(td) / "rusage"
        wrapper = [sys.executable, "-I", "-S", "-c", WRAPPER_CHILD, str(report)]
        proc = subprocess.Popen(wrapper + cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, cwd=cwd, env=env)
        tree_kib = 0
        while proc.poll() is None:
            tree_kib = max(tree_kib, sum(_rss_kib(pid) for pid in _descendants(proc.pid)))
            time.sleep(TREE_SAMPLE)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(f"measurement wrapper failed (exit {proc.returncode}) "
                               f"running {cmd[:3]}...:\n{stderr}")
        rc, wall, cpu, maxrss = report.read_text().split()
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return {
        "rc": int(rc),
        "seconds": float(wall),
        "cpu_seconds": float(cpu),
        # The larger of the two: the tree's sampled sum can miss a short peak of one process.
        "maxrss_bytes": max(int(maxrss) * scale, tree_kib * 1024),
        "process_maxrss_bytes": int(maxrss) * scale,
        "stdout": stdout,
        "stderr": stderr,
    }


def _rates(n_events: int, n_bytes: int, seconds: float) -> dict:
    return {
        "seconds": round(seconds, 3),
        "events_per_s": round(n_events / seconds) if seconds > 0 else None,
        "mb_per_s": round(n_bytes / MB / seconds, 1) if seconds > 0 else None,
    }


def measure_parse(path: Path, n_events: int, n_bytes: int, cwd: str) -> dict:
    res = run_child([sys.executable, "-c", PARSE_CHILD, str(path)], cwd=cwd)
    if res["rc"] != 0:
        raise SystemExit(f"bare-parse child failed (exit {res['rc']}):\n{res['stderr']}")
    info = orjson.loads(res["stdout"].strip().splitlines()[-1])
    if info["events"] != n_events:
        print(f"warning: bare parse saw {info['events']} lines, expected {n_events}",
              file=sys.stderr)
    out = _rates(n_events, n_bytes, res["seconds"])
    out["loop_seconds"] = round(info["loop_s"], 3)
    out["cpu_seconds"] = round(res["cpu_seconds"], 3)
    out["peak_rss_mb"] = round(res["maxrss_bytes"] / MB, 1)
    return out


def locate_lineagectl(cwd: str) -> tuple[dict | None, str, str]:
    """Find how to run ``python -m lineagectl``.

    Returns (env or None if unusable, origin or error message, how).
    """
    attempts = [("installed", None)]
    src = REPO_ROOT / "src"
    if (src / "lineagectl").is_dir():
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(src), os.environ.get("PYTHONPATH", "")) if p)
        attempts.append((f"PYTHONPATH={src}", env))
    problems = []
    for how, env in attempts:
        res = run_child([sys.executable, "-c", PROBE_CHILD], cwd=cwd, env=env)
        lines = res["stdout"].split("\n")
        state = lines[0].strip() if lines else ""
        if state == "OK":
            return (env if env is not None else dict(os.environ)), lines[1].strip(), how
        if state == "MISSING":
            problems.append(f"[{how}] no module named 'lineagectl'")
        elif state == "NO-MAIN":
            problems.append(f"[{how}] lineagectl has no __main__ module "
                            "(`python -m lineagectl` is not runnable)")
        else:
            tail = (res["stderr"].strip().splitlines() or ["?"])[-1]
            problems.append(f"[{how}] importing lineagectl failed: {tail}")
    msg = (f"lineagectl is not runnable with {sys.executable}: " + "; ".join(problems)
           + ". Install it (e.g. `pip install -e .` at the repository root) "
           "and run the benchmark again.")
    return None, msg, ""


def _db_size(db: Path) -> int:
    total = 0
    for p in (db, db.with_name(db.name + ".wal")):
        if p.exists():
            total += p.stat().st_size
    return total


def measure_ingest(path: Path, db: Path, n_events: int, n_bytes: int, cwd: str,
                   env: dict) -> dict:
    cmd = [sys.executable, "-m", "lineagectl", "--db", str(db), "ingest", "--quiet", str(path)]
    before = _db_size(db)
    res = run_child(cmd, cwd=cwd, env=env)
    out = _rates(n_events, n_bytes, res["seconds"])
    out.update({
        "rc": res["rc"],
        "cpu_seconds": round(res["cpu_seconds"], 3),
        "peak_rss_mb": round(res["maxrss_bytes"] / MB, 1),
        "largest_process_rss_mb": round(res["process_maxrss_bytes"] / MB, 1),
        "db_bytes": _db_size(db),
        "db_growth_bytes": _db_size(db) - before,
    })
    if res["rc"] != 0:
        out["stderr"] = res["stderr"][-4000:]
    elif res["stderr"].strip():
        out["stderr"] = res["stderr"][-2000:]
    return out


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _fmt_int(n) -> str:
    return "-" if n is None else f"{n:,}"


def print_report(fig: dict, out) -> None:
    g = fig["generation"]
    eb = g["event_bytes"]
    w = lambda *a: print(*a, file=out)  # noqa: E731
    w()
    w(f"lineagectl ingest benchmark  (python {fig['python']}, orjson {fig['orjson']}, "
      f"{fig['cpus']} CPUs, {fig['platform']})")
    w(f"events file   {fig['events_file']}")
    w(f"  events      {_fmt_int(fig['events'])}  ({_fmt_int(g['runs'])} runs over "
      f"{g['days']} days, {_fmt_int(g['failed_runs'])} failed, "
      f"{g['schema_changes']} schema changes, seed {fig['seed']})")
    w(f"  topology    {_fmt_int(g['distinct_jobs'])} jobs, {_fmt_int(g['distinct_datasets'])} "
      f"datasets in events ({g['job_layers']} job layers)")
    w(f"  size        {fig['file_bytes'] / MB:,.1f} MB; per event mean {_fmt_int(eb['mean'])} B, "
      f"p50 {_fmt_int(eb['p50'])}, p95 {_fmt_int(eb['p95'])}, max {_fmt_int(eb['max'])}")
    bt = eb["by_type"]
    w("              " + ", ".join(
        f"{k} {_fmt_int(v['count'])} x {_fmt_int(v['mean_bytes'])} B" for k, v in bt.items()))
    w(f"  generated   in {g['seconds']:.2f} s ({_fmt_int(g['events_per_s'])} events/s)")
    p = fig["parse"]
    w()
    w(f"{'':14}{'seconds':>9}{'events/s':>12}{'MB/s':>9}{'vs parse':>10}{'peak RSS':>11}"
      f"{'DB size':>11}")
    w(f"{'bare parse':14}{p['seconds']:>9.2f}{_fmt_int(p['events_per_s']):>12}"
      f"{p['mb_per_s']:>9.1f}{'1.00x':>10}{p['peak_rss_mb']:>8.1f} MB{'':>11}")
    for key, label in (("ingest", "ingest"), ("reingest", "re-ingest")):
        r = fig.get(key)
        if not r:
            continue
        if r["rc"] != 0:
            w(f"{label:14}FAILED (exit {r['rc']}) after {r['seconds']:.2f} s")
            continue
        w(f"{label:14}{r['seconds']:>9.2f}{_fmt_int(r['events_per_s']):>12}"
          f"{r['mb_per_s']:>9.1f}{r['ratio_to_parse']:>9.2f}x{r['peak_rss_mb']:>8.1f} MB"
          f"{r['db_bytes'] / MB:>8.1f} MB")
    ing = fig.get("ingest")
    if ing and ing["rc"] == 0:
        w()
        w(f"ingest runs at {ing['ratio_to_parse']:.2f}x bare-parse throughput "
          f"({1 / ing['ratio_to_parse']:.1f}x slower); "
          f"database {ing['db_bytes'] / MB:.1f} MB = {ing['db_bytes'] / fig['file_bytes']:.2f}x "
          f"the NDJSON size; lineagectl from {fig['lineagectl']}")
        re = fig.get("reingest")
        if re and re["rc"] == 0:
            w(f"re-ingest: {re['seconds']:.2f} s, database grew by "
              f"{_fmt_int(re['db_growth_bytes'])} bytes")
    for key in ("ingest", "reingest"):
        r = fig.get(key)
        if r and r.get("stderr"):
            w()
            w(f"--- {key} stderr (exit {r['rc']}) ---")
            w(r["stderr"].rstrip())
    if fig.get("ingest_error"):
        w()
        w(f"ingest not measured: {fig['ingest_error']}")
    w()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Benchmark `lineagectl ingest` against bare orjson parsing "
                    "on a synthetic OpenLineage NDJSON log.")
    ap.add_argument("--events", type=int, default=100_000, metavar="N",
                    help="number of events to generate (default: 100000)")
    ap.add_argument("--keep", type=Path, metavar="PATH",
                    help="write the NDJSON log to PATH (a file, or a directory to put "
                         "events-N-seedS.ndjson in) and keep it; default: a temp dir "
                         "removed at the end")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    ap.add_argument("--wide", action="store_true",
                    help="5x wider schemas: 75-150 columns per dataset, with column lineage "
                         "(~19 KB per event instead of ~3.3 KB)")
    ap.add_argument("--reingest", action="store_true",
                    help="ingest the same file a second time into the same database")
    ap.add_argument("--json", action="store_true",
                    help="print the figures as one JSON line on stdout "
                         "(the readable report then goes to stderr)")
    args = ap.parse_args(argv)
    if args.events < 2:
        ap.error("--events must be at least 2")
    human = sys.stderr if args.json else sys.stdout

    workdir = Path(tempfile.mkdtemp(prefix="lineagectl-bench-"))
    try:
        if args.keep is None:
            events_path = workdir / "events.ndjson"
        elif args.keep.is_dir():
            wide = "-wide" if args.wide else ""
            events_path = (args.keep / f"events-{args.events}-seed{args.seed}{wide}.ndjson").resolve()
        else:
            events_path = args.keep.resolve()
        events_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.events:,} events (seed {args.seed}) -> {events_path}",
              file=human, flush=True)
        gen = generate(events_path, args.events, args.seed, wide=args.wide)
        file_bytes = events_path.stat().st_size
        fig = {
            "benchmark": "lineagectl-ingest",
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "orjson": orjson.__version__,
            "platform": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
            "events": args.events,
            "seed": args.seed,
            "wide": args.wide,
            "events_file": str(events_path),
            "file_bytes": file_bytes,
            "generation": gen,
        }
        cwd = str(workdir)  # neutral cwd: `python -m` must find the installed package
        print("measuring bare parse ...", file=human, flush=True)
        fig["parse"] = parse = measure_parse(events_path, args.events, file_bytes, cwd)

        env, origin, how = locate_lineagectl(cwd)
        rc = 0
        if env is None:
            fig["ingest"] = None
            fig["ingest_error"] = origin
            rc = 2
        else:
            fig["lineagectl"] = origin + ("" if how == "installed" else f" (via {how})")
            db = workdir / "bench.duckdb"
            print("measuring ingest ...", file=human, flush=True)
            for key in ("ingest", "reingest") if args.reingest else ("ingest",):
                if key == "reingest":
                    print("measuring re-ingest ...", file=human, flush=True)
                res = measure_ingest(events_path, db, args.events, file_bytes, cwd, env)
                if res["rc"] == 0 and res["events_per_s"] and parse["events_per_s"]:
                    res["ratio_to_parse"] = round(res["events_per_s"] / parse["events_per_s"], 3)
                else:
                    res["ratio_to_parse"] = None
                fig[key] = res
                if res["rc"] != 0:
                    rc = 1
                    if "ModuleNotFoundError" in res.get("stderr", ""):
                        fig["ingest_error"] = (
                            f"lineagectl was found ({fig['lineagectl']}) but a module it "
                            f"needs is missing for {sys.executable}; run the benchmark "
                            "with the project's environment (`pip install -e .`).")
                    break
        print_report(fig, human)
        if args.json:
            sys.stdout.write(orjson.dumps(fig).decode() + "\n")
        return rc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
