"""Owners and tags survive every later ingest (issue 13, item 1).

The end-of-file refresh recomputes the columns of the sources of the touched datasets' column
lineage too (columns known only from lineage live there). It once widened the touched set itself
for that, after the touched datasets' current facets were computed, and then rewrote tags and
owners for the wider set from the narrower facets: a source touched only through lineage (a later
file reading its downstream, or column lineage derived from a job's ``sql`` facet) lost its owners
and tags, and ``pii`` its columns. Whatever the arrival order and file grouping, owners, tags and
PII answers must equal those of one ingest of all events.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_event, write_ndjson, write_spool
from lineagectl.api import ingest, pii, show
from test_fuzz import STORE

TOPIC = ("kafka://broker:9092", "orders")
LAKE = "s3://lake"
OWNERS = ["team:payments"]


def _facet(**body) -> dict:
    return {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/schema", **body}


def _ownership(*names: str) -> dict:
    return _facet(owners=[{"name": n, "type": "TEAM"} for n in names])


def _schema(*columns: str) -> dict:
    return _facet(fields=[{"name": c, "type": "STRING"} for c in columns])


def _pii_tags(*fields: str) -> dict:
    return _facet(tags=[{"key": "pii", "value": "true", "field": f} for f in fields])


def _cll(source: tuple[str, str], *columns: str) -> dict:
    return _facet(fields={c: {"inputFields": [{"namespace": source[0], "name": source[1], "field": c}]}
                          for c in columns})


def _run(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# The topic, its owners and field tags, written by a producer.
TOPIC_META = run_event(_run(1), job="orders.producer", time="2026-11-20T01:00:00Z", outputs=[
    (*TOPIC, {"ownership": _ownership(*OWNERS), "tags": _pii_tags("email"), "schema": _schema("id", "email")})])
# A consumer reads the topic and writes lake.orders with column lineage from it.
CONSUMER = run_event(_run(2), job="orders.consumer", time="2026-11-20T02:00:00Z", inputs=[TOPIC],
                     outputs=[(LAKE, "orders", {"columnLineage": _cll(TOPIC, "id", "email")})])
# A report reads lake.orders: it touches lake.orders, whose lineage names the topic, not the topic.
REPORT = run_event(_run(3), job="orders.report", time="2026-11-20T03:00:00Z", inputs=[(LAKE, "orders")],
                   outputs=[(LAKE, "report")])
# A job that sends its SQL and no column lineage: lineagectl derives it, with the topic as source.
SQL_JOB = run_event(_run(4), job="orders.mart", time="2026-11-20T04:00:00Z",
                    job_facets={"sql": _facet(query="INSERT INTO mart SELECT id, email FROM orders")},
                    inputs=[TOPIC], outputs=[(LAKE, "mart")])


def metadata(db: str) -> dict:
    """Owners and tags of every dataset and job, and the PII answer, as plain comparable data."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        datasets = con.execute("SELECT namespace, name FROM datasets ORDER BY ALL").fetchall()
        jobs = con.execute("SELECT namespace, name FROM jobs ORDER BY ALL").fetchall()
    finally:
        con.close()
    found: dict = {}
    for namespace, name in datasets:
        payload = show(name, db, namespace=namespace, kind="dataset").payload
        found[("dataset", namespace, name)] = (payload["owners"], payload["tags"])
    for namespace, name in jobs:
        found[("job", namespace, name)] = show(name, db, namespace=namespace, kind="job").payload["owners"]
    answer = pii(db).payload
    found["pii"] = answer["columns"]
    found["propagated"] = answer["propagated"]
    return found


def _ingest_files(tmp_path, files: list[list[dict]], name: str) -> str:
    db = str(tmp_path / f"{name}.duckdb")
    for index, events in enumerate(files):
        report = ingest([write_ndjson(tmp_path / f"{name}-{index}.ndjson", events)], db)
        assert report.events_rejected == 0 and not report.file_errors
    return db


def _topic_metadata(db: str) -> tuple:
    payload = show(TOPIC[1], db, namespace=TOPIC[0]).payload
    tags = {(t["field"], t["key"], t["value"]) for t in payload["tags"]}
    columns = {(c["name"], c["column"]) for c in pii(db).payload["columns"]}
    return payload["owners"], tags, columns


@pytest.mark.parametrize("second", [[REPORT], [SQL_JOB]], ids=["reads-the-topics-downstream", "sql-facet"])
def test_owners_and_tags_survive_a_second_file(tmp_path, second):
    first = [TOPIC_META, CONSUMER]
    two = _ingest_files(tmp_path, [first, second], "two")
    one = _ingest_files(tmp_path, [first + second], "one")
    assert _topic_metadata(two) == (OWNERS, {("email", "pii", "true")}, {("orders", "email")})
    assert metadata(two) == metadata(one)


def test_sources_of_lineage_derived_from_sql_keep_their_owners(tmp_path):
    db = _ingest_files(tmp_path, [[TOPIC_META, SQL_JOB]], "sql")
    # The lineage was derived (the topic's email reaches mart.email) ...
    reached = {(c["name"], c["column"]) for c in pii(db).payload["propagated"]}
    assert ("mart", "email") in reached
    # ... and its source kept its owners and tags.
    assert _topic_metadata(db) == (OWNERS, {("email", "pii", "true")}, {("orders", "email")})
    assert show("mart", db, namespace=LAKE).payload["owners"] == []


# The events of the property: owners and tags (changed later, and on a job), readers, writers,
# column lineage sent and derived from SQL.
POOL = [
    TOPIC_META,
    CONSUMER,
    REPORT,
    SQL_JOB,
    # The topic's owners change later; its tags stay.
    run_event(_run(5), job="orders.producer", time="2026-11-21T01:00:00Z", outputs=[
        (*TOPIC, {"ownership": _ownership("team:orders", "alice")})]),
    # lake.orders gets owners and a tag of its own; a reader of lake.report.
    run_event(_run(6), job="orders.consumer", time="2026-11-21T02:00:00Z", inputs=[TOPIC], outputs=[
        (LAKE, "orders", {"ownership": _ownership("team:lake"), "tags": _pii_tags("id"),
                          "columnLineage": _cll(TOPIC, "id", "email")})]),
    run_event(_run(7), job="orders.export", time="2026-11-21T05:00:00Z", inputs=[(LAKE, "report")],
              outputs=[("sftp://partner", "export.csv")],
              job_facets={"ownership": _ownership("bob")}),
    # A START without facets of the topic's producer.
    run_event(_run(8), job="orders.producer", event_type="START", time="2026-11-22T00:59:00Z", outputs=[TOPIC]),
]


@st.composite
def arrivals(draw):
    """A subset of POOL in some order, split into consecutive files, each a file or a spool directory."""
    chosen = draw(st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=len(POOL), unique=True))
    events = draw(st.permutations(chosen))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(events) - 1)), max_size=3)) - {len(events)})
    bounds = [0, *cuts, len(events)]
    groups = [events[a:b] for a, b in pairwise(bounds) if a < b]
    spools = draw(st.lists(st.booleans(), min_size=len(groups), max_size=len(groups)))
    return sorted(chosen), list(zip(groups, spools, strict=True))


@STORE
@given(arrivals())
def test_owners_tags_and_pii_are_the_same_in_every_arrival_order(tmp_path_factory, arrival):
    chosen, files = arrival
    tmp = tmp_path_factory.mktemp("arrival")
    once = _ingest_files(tmp, [[POOL[i] for i in chosen]], "once")
    db = str(tmp / "pieces.duckdb")
    for index, (group, spool) in enumerate(files):
        events = [POOL[i] for i in group]
        path = write_spool(tmp / f"spool-{index}", events) if spool else write_ndjson(tmp / f"{index}.ndjson", events)
        report = ingest([path], db)
        assert report.events_rejected == 0 and not report.file_errors
    assert metadata(db) == metadata(once)
