"""Shared fixtures: a real store file per test, event builders, the CLI runner, the corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_events"


def corpus_dir() -> Path | None:
    """The shared corpus: $LINEAGECTL_CORPUS, else ../shared/corpus beside the checkout."""
    env = os.environ.get("LINEAGECTL_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


CORPUS_MISSING = "shared corpus not found: set LINEAGECTL_CORPUS or check out ../shared/corpus"


def require_corpus() -> Path:
    """The shared corpus, else skip the calling test saying why; in CI (``$CI`` set, as CI
    services set it: ``CI=true``) fail instead, so a missing corpus cannot turn CI green by
    skipping every test that reads it. Every test that needs the corpus comes through here."""
    path = corpus_dir()
    if path is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(CORPUS_MISSING, pytrace=False)
        pytest.skip(CORPUS_MISSING)
    return path


@pytest.fixture(scope="session", autouse=True)
def _away_from_the_checkout(tmp_path_factory):
    """Every test starts in an empty folder with no ``LINEAGECTL_*`` setting of the user's: the
    README's Quick start leaves a ``lineagectl.yaml`` and a store in the checkout (and a user may
    export ``LINEAGECTL_DB``), which config discovery would otherwise hand to tests run from there."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("cwd"))
        for name in ("LINEAGECTL_DB", "LINEAGECTL_POLICY", "LINEAGECTL_WAIT"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture
def corpus() -> Path:
    return require_corpus()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> str:
    """A store holding the bundled sample, shared by a module's tests that only read it."""
    from lineagectl import api

    db = str(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "lineage.duckdb")


def run_event(run_id, job="etl.job", event_type="COMPLETE", time="2026-11-20T02:00:00Z",
              inputs=(), outputs=(), run_facets=None, job_facets=None, job_ns="airflow://acme"):
    """A RunEvent as producers send it; datasets given as (namespace, name[, facets])."""

    def ds(spec):
        out = {"namespace": spec[0], "name": spec[1]}
        if len(spec) > 2:
            out["facets"] = spec[2]
        return out

    event = {
        "eventType": event_type, "eventTime": time,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": job_ns, "name": job, "facets": job_facets or {}},
        "inputs": [ds(i) for i in inputs], "outputs": [ds(o) for o in outputs],
        "producer": "https://example.test/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    if event_type is None:
        del event["eventType"]
    return event


def table_counts(db: str) -> dict:
    """Row count of every table of a store: for checks that nothing changed."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
    finally:
        con.close()


def stored_events(db: str, where: str = "true") -> list[tuple[str, str]]:
    """(event_hash, payload) of the store's events matching ``where``, oldest first: each payload
    rebuilt from its skeleton and facet blobs as every reader of events does (store/skeleton.py)."""
    import duckdb

    from lineagectl.store.skeleton import BlobReader

    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute(f"SELECT event_hash, skeleton, facet_refs FROM events WHERE {where} "
                           "ORDER BY event_time, event_hash").fetchall()
        payloads = BlobReader(con).rebuild_all((skeleton, refs) for _, skeleton, refs in rows)
    return [(digest, payload.decode()) for (digest, _, _), payload in zip(rows, payloads, strict=True)]


def events_as_in_version_5(db: str, payloads: dict[str, str] | None = None) -> None:
    """Give a store's ``events`` the shape schema versions 3-5 had (whole payloads, no skeleton),
    to test the migrations from them: ``payloads`` by event hash, else each event rebuilt."""
    import duckdb
    import pyarrow as pa

    from lineagectl.store.schema import _EVENTS_V5

    payloads = dict(stored_events(db)) if payloads is None else payloads
    stored = pa.table({"event_hash": list(payloads), "payload": list(payloads.values())})
    with duckdb.connect(db) as con:
        con.register("stored", stored)
        con.execute(_EVENTS_V5.format(table="events_v5"))
        con.execute("""INSERT INTO events_v5
            SELECT e.event_hash, e.kind, e.event_type, e.event_time, e.run_id, e.job_id, e.dataset_id,
                   e.producer, e.schema_url, s.payload, e.source, e.ingested_at
            FROM events e JOIN stored s USING (event_hash)""")
        con.execute("DROP TABLE events")
        con.execute("ALTER TABLE events_v5 RENAME TO events")
        con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def write_ndjson(path: Path, events) -> str:
    with open(path, "w", encoding="utf-8") as out:
        for event in events:
            out.write((event if isinstance(event, str) else json.dumps(event)) + "\n")
    return str(path)


def write_spool(directory: Path, events) -> str:
    """One event per file in a new ``directory``, as OpenLineage's file transport writes them
    with append off; events as in ``write_ndjson``."""
    directory.mkdir()
    for i, event in enumerate(events):
        write_ndjson(directory / f"event-{i:05d}.json", [event])
    return str(directory)


@pytest.fixture
def cli():
    """Invoke the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    from lineagectl.cli import app

    runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


def json_paths(value, prefix=()):
    """Every path into a JSON value (keys and list indexes), the root ``()`` first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


def edges_into(db: str, name: str, column: str) -> set:
    """(source dataset name, column, TYPE/SUBTYPE) of every current column edge into ``name.column``."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        return set(con.execute("""
            SELECT s.name, e.src_column, e.type || coalesce('/' || e.subtype, '')
            FROM column_edges e JOIN dataset_names s ON s.dataset_id = e.src_dataset_id
            JOIN dataset_names d ON d.dataset_id = e.dataset_id
            WHERE d.name = ? AND e.column_name = ?""", [name, column]).fetchall())
    finally:
        con.close()


HEAVY_MODULES = ("duckdb", "networkx", "sqlglot", "yaml", "orjson", "pyarrow")


def modules_loaded_by(module: str, candidates=HEAVY_MODULES) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has loaded after importing ``module``."""
    import subprocess
    import sys

    code = f"import sys, {module}; print(','.join(m for m in {tuple(candidates)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def living_children(parent: int) -> set[int]:
    """The pids of the living (not zombie) child processes of ``parent`` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != b"Z":
                found.add(int(entry))
    return found
