"""Unit tests of event parsing: timestamps, event kinds, facet checks, rejects."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from conftest import run_event
from lineagectl.common.timeutil import parse_since, parse_timestamp
from lineagectl.sources.ingest.facets import check_facet
from lineagectl.sources.ingest.validate import Reject, event_kind, validate


@pytest.mark.parametrize("text, expected", [
    ("2020-12-28T19:51:01.641Z", datetime(2020, 12, 28, 19, 51, 1, 641000)),
    ("2020-12-28T19:51:01.641499", datetime(2020, 12, 28, 19, 51, 1, 641499)),  # no timezone: UTC
    ("2020-12-28T19:51:01.641499123Z", datetime(2020, 12, 28, 19, 51, 1, 641499)),  # nanoseconds
    ("2020-12-28T19:52:00.001+10:00", datetime(2020, 12, 28, 9, 52, 0, 1000)),  # offset to UTC
    ("2020-12-28 19:51:01", datetime(2020, 12, 28, 19, 51, 1)),
    (" 2020-12-28T19:51:01.641Z ", datetime(2020, 12, 28, 19, 51, 1, 641000)),  # stray spaces
    ("2020-12-28T19:51:01.641z", datetime(2020, 12, 28, 19, 51, 1, 641000)),  # lower-case z
    ("2020-12-28T19:51:01.641499123-05:30", datetime(2020, 12, 29, 1, 21, 1, 641499)),
])
def test_lenient_timestamps(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("bad", ["", "yesterday", "2020-13-45T00:00:00Z", 1234, None,
                                 "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])  # not in UTC's range
def test_not_timestamps(bad):
    assert parse_timestamp(bad) is None


def test_since_durations_and_errors():
    now = datetime(2026, 11, 25, 12, 0)
    assert parse_since("7d", now) == datetime(2026, 11, 18, 12, 0)
    assert parse_since("90m", now) == datetime(2026, 11, 25, 10, 30)
    assert parse_since("2026-11-20T00:00:00Z", now) == datetime(2026, 11, 20)
    with pytest.raises(ValueError, match="duration like 7d"):
        parse_since("last week", now)


@pytest.mark.parametrize("event, kind", [
    ({"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent", "run": {}}, "dataset"),
    ({"schemaURL": "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/JobEvent"}, "job"),
    ({"run": {"runId": "x"}, "job": {}}, "run"),
    ({"dataset": {}}, "dataset"),
    ({"job": {}}, "job"),
])
def test_event_kind_by_schema_url_then_structure(event, kind):
    assert event_kind(event) == kind


def _reject_reason(event) -> str:
    with pytest.raises(Reject) as info:
        validate(event)
    return str(info.value)


@pytest.mark.parametrize("mutate, reason", [
    (lambda e: e["run"].pop("runId"), "RunEvent without run.runId"),
    (lambda e: e["job"].pop("name"), "job.name is missing"),
    (lambda e: e["job"].update(namespace=7), "job.namespace is missing or not a string"),
    (lambda e: e.pop("eventTime"), "missing eventTime"),
    (lambda e: e.update(eventTime="soon"), "is not an ISO 8601 timestamp"),
    (lambda e: e.update(inputs={"a": 1}), "inputs must be a list"),
    (lambda e: e.update(outputs=[{"namespace": "ns"}]), "outputs[0].name is missing"),
    (lambda e: e["run"].update(facets={"parent": {"run": {}, "job": {"namespace": "a", "name": "b"}}}),
     "run.facets.parent: needs run.runId"),
    (lambda e: e["job"].update(facets={"sql": "SELECT 1"}), "job.facets.sql must be an object"),
])
def test_rejects_name_the_problem(mutate, reason):
    event = run_event("r1", outputs=[("ns", "t")])
    mutate(event)
    assert reason in _reject_reason(event)


def test_not_an_object_is_rejected():
    with pytest.raises(Reject, match="not a JSON object"):
        validate([1, 2])


def test_lenient_where_producers_are_sloppy():
    event = run_event("not-a-uuid", event_type=None, time="2020-12-28T19:51:01.641499123")
    del event["producer"], event["schemaURL"]
    event["job"]["facets"] = {"sql": {"query": "SELECT 1"}}  # no _producer/_schemaURL
    kind, when, event_type = validate(event)
    assert (kind, event_type) == ("run", None)
    assert when == datetime(2020, 12, 28, 19, 51, 1, 641499)
    event["eventType"] = "finished"  # unknown types are kept as OTHER
    assert validate(event)[2] == "OTHER"


@pytest.mark.parametrize("key, facet, ok", [
    ("ownership", {"owners": [{"name": "team:a"}]}, True),
    ("ownership", {"owners": [{"no-name": "x"}]}, False),
    ("outputStatistics", {"rowCount": 10, "size": 5}, True),
    ("outputStatistics", {"rowCount": "wrong"}, False),
    ("outputStatistics", {"rowCount": True}, False),
    ("dataQualityMetrics", {"rowCount": 1000, "bytes": 1}, True),
    ("dataQualityMetrics", {"noRowCount": 1000}, False),
    ("parent", {"job": {"namespace": "a", "name": "b"}}, True),  # Spark sends no run
    ("columnLineage", {"fields": {"a": {"inputFields": [{"namespace": "n", "name": "t"}]}}}, False),
    ("customFacet", {"anything": [1, 2]}, True),
])
def test_facet_checks(key, facet, ok):
    assert (check_facet(key, facet) is None) is ok




def test_remembered_verdicts_belong_to_the_content_and_the_facet_key():
    good = {"fields": [{"name": "id", "type": "INT"}]}
    bad = {"fields": [{"name": 1}]}
    # Each asked twice: the second answer comes from what the first check remembered.
    for _ in range(2):
        assert check_facet("schema", good) is None
        assert check_facet("schema", bad) == "fields[0] needs a string 'name'"
    # The same content under another key is checked as that facet.
    assert check_facet("columnLineage", good) == "'fields' must be an object"
    nested = "x"
    for _ in range(300):
        nested = [nested]
    assert check_facet("schema", {"fields": nested}) == "fields[0] needs a string 'name'"


def test_ingest_remembers_a_verdict_by_the_store_hash_it_gives():
    from lineagectl.store.skeleton import facet_hash

    # Ingest passes each facet's store hash (digest), so a facet is serialised and hashed once.
    good, bad = {"fields": [{"name": "id"}]}, {"fields": [{"name": 2}]}
    assert check_facet("schema", bad, facet_hash(orjson.dumps(bad))) == "fields[0] needs a string 'name'"
    assert check_facet("schema", good, facet_hash(orjson.dumps(good))) is None
    # The digest stands for the content: one that says "equal" for different contents gets the verdict
    # remembered for the first (which is why ingest uses a content hash).
    assert check_facet("schema", good, "same") is None
    assert check_facet("schema", bad, "same") is None
    # Without one, the content is digested here: the bad facet gets its own verdict.
    assert check_facet("schema", bad) == "fields[0] needs a string 'name'"
