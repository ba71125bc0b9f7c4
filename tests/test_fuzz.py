"""Property tests (hypothesis): generated and mutated OpenLineage events, policies and manifests.

Profiles: the default is CI-sized; `LINEAGECTL_FUZZ=long` runs the long profile by
hand (>= 10,000 inputs for the validator properties; figures in docs/reliability.md).

Properties:
- a valid event is never rejected, and a store ingests any stream of them;
- no input, however mangled, gets anything but a documented error: the validator
  only raises ``Reject``, the ingest only ``LineageError``, the CLI never prints a traceback;
- a rejected line never changes the store;
- a shuffled, duplicated stream gives the same store as the clean one (stats and impact).
"""

from __future__ import annotations

import copy
import json
import os
import re
import string
from datetime import datetime

import duckdb
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import json_paths, table_counts, write_ndjson, write_spool
from lineagectl.api import impact, ingest, stats
from lineagectl.common.policy import PolicyError, parse_policy
from lineagectl.errors import LineageError
from lineagectl.sources.ingest.validate import Reject, validate

LONG = os.environ.get("LINEAGECTL_FUZZ") == "long"
# CI runs a fixed, derandomised sample (a red CI means a regression, not a lucky draw); the long
# profile draws fresh inputs every time.
FAST = settings(max_examples=10_000 if LONG else 200, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow])
STORE = settings(max_examples=300 if LONG else 6, deadline=None, derandomize=not LONG,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Names as producers send them, hostile ones included.
names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
plain = st.text(alphabet=string.ascii_lowercase + "._-/", min_size=1, max_size=20)
# Up to a past date: events dated beyond ingest's future window (a day ahead) are rejected by design
# (test_first_line.py::test_an_event_from_the_far_future_is_rejected_and_cannot_pin_current_state).
times = st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1),
                     max_value=__import__("datetime").datetime(2026, 1, 1)).map(
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
uuids = st.uuids().map(str)
schema_fields = st.lists(st.fixed_dictionaries({"name": names, "type": st.sampled_from(["INT", "VARCHAR", None])}),
                         max_size=4).map(lambda fs: [{k: v for k, v in f.items() if v is not None} for f in fs])


def _dataset(namespace, name, fields):
    out = {"namespace": namespace, "name": name}
    if fields:
        out["facets"] = {"schema": {"_producer": "p", "_schemaURL": "s", "fields": fields}}
    return out


datasets = st.builds(_dataset, names, names, schema_fields)


@st.composite
def run_events(draw):
    return {"eventType": draw(st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"])),
            "eventTime": draw(times),
            "run": {"runId": draw(uuids)},
            "job": {"namespace": draw(names), "name": draw(names)},
            "inputs": draw(st.lists(datasets, max_size=3)),
            "outputs": draw(st.lists(datasets, max_size=3)),
            "producer": "https://example.test/fuzz",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | names,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                           max_leaves=10)


@st.composite
def mutations(draw):
    """A valid event with one place replaced by anything, deleted, or nested deep: (event, path, how)."""
    event = copy.deepcopy(draw(run_events()))
    paths = [p for p in json_paths(event) if p]
    path = draw(st.sampled_from(paths))
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["replace", "delete", "deep"]))
    if how == "delete":
        del parent[path[-1]]
    elif how == "deep":
        deep = "x"
        for _ in range(draw(st.integers(min_value=50, max_value=400))):
            deep = [deep]
        parent[path[-1]] = deep
    else:
        parent[path[-1]] = draw(json_values)
    return event, path, how


def mutated_events():
    return mutations().map(lambda mutation: mutation[0])


MISSING = object()
# Written from the README ("Rejects", "Lenient") and the spec's types, not from validate.py: a line
# lacking what identifies an event is rejected; producers' sloppiness (no eventType or an unknown
# one, non-UUID run ids, no producer/schemaURL, no inputs/outputs) is not.
IDENTIFYING_STRINGS = {("run", "runId"), ("job", "namespace"), ("job", "name"), ("inputs", "#", "namespace"),
                       ("inputs", "#", "name"), ("outputs", "#", "namespace"), ("outputs", "#", "name")}
IDENTIFYING_OBJECTS = {("run",), ("job",), ("inputs", "#"), ("outputs", "#")}
OPTIONAL_STRINGS = {("eventType",), ("producer",), ("schemaURL",)}
OPTIONAL = {("inputs",), ("outputs",), ("inputs", "#", "facets"), ("outputs", "#", "facets")}


def expected_verdict(event, path, how) -> str | None:
    """``reject``, ``accept``, or None where the README does not decide, for a mutation of a valid event."""
    shape = tuple("#" if isinstance(key, int) else key for key in path)
    if how == "delete" and isinstance(path[-1], int):
        return "accept" if shape in IDENTIFYING_OBJECTS else None  # a dataset removed: the rest is valid
    value = event
    for key in path:
        value = MISSING if how == "delete" else value[key]
    if shape == ("eventTime",):
        return "reject" if not isinstance(value, str) else None
    if shape in IDENTIFYING_OBJECTS:
        return "reject" if not isinstance(value, dict) else None
    if shape in IDENTIFYING_STRINGS:
        if isinstance(value, str) and value.strip():
            return "accept"  # any name, any run id (UUID or not)
        return "reject" if shape == ("run", "runId") or not isinstance(value, str) or not value else None
    if shape in OPTIONAL_STRINGS:
        if value is MISSING or value is None:
            return "accept"
        if not isinstance(value, str):
            return "reject"
        # An unknown eventType is kept as OTHER; a schemaURL may name another kind of event.
        return "accept" if shape != ("schemaURL",) else None
    if shape in OPTIONAL:
        if value is MISSING or value is None:
            return "accept"
        if shape in (("inputs",), ("outputs",)) and not isinstance(value, list):
            return "reject"
    return None


def rejected_as_line(line: str) -> bool:
    """Whether the ingest must reject this NDJSON line: not JSON as it is read (orjson), not a valid
    event, or nested deeper than orjson can write back (docs/reliability.md)."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return True
    try:
        validate(event, ignored=[])  # a broken facet is left out with a warning: the event is stored
    except Reject:
        return True
    try:
        orjson.dumps(event)
    except TypeError:
        return True
    return False


@FAST
@given(run_events())
def test_valid_events_are_never_rejected(event):
    kind, when, event_type = validate(event)
    assert kind == "run"
    # Read independently: the generator writes UTC with microseconds and a Z.
    assert when == datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert event_type == event["eventType"]


@FAST
@given(mutations())
def test_the_validator_only_ever_rejects(mutation):
    event, path, how = mutation
    expected = expected_verdict(event, path, how)
    try:
        kind, when, _ = validate(event)
    except Reject as exc:  # the one documented way to say no; any other exception fails here
        assert str(exc), "a reject without a reason"
        assert expected != "accept", f"{how} {path}: rejected: {exc}"
    else:
        assert expected != "reject", f"{how} {path}: accepted"
        assert kind in ("run", "job", "dataset") and isinstance(when, datetime)


@STORE
@given(st.lists(run_events(), min_size=1, max_size=8), st.lists(mutated_events(), min_size=1, max_size=8))
def test_rejected_lines_never_change_the_store(tmp_path_factory, good, bad):
    tmp = tmp_path_factory.mktemp("fuzz")
    db = str(tmp / "f.duckdb")
    report = ingest([write_ndjson(tmp / "good.ndjson", good)], db)
    distinct = {json.dumps(e) for e in good}
    assert (report.events_read, report.events_new, report.events_rejected) == (len(good), len(distinct), 0)
    before = table_counts(db)
    assert before["events"] == len(distinct)
    # Mutated events that must be rejected (one per line), then lines that are not events at all.
    lines = [line for line in map(json.dumps, bad) if rejected_as_line(line)]
    lines += ['"just a string"', "[1, 2", "{not json", "\u00ff\u00fe"]
    assert all(map(rejected_as_line, lines))
    reasons = []
    report = ingest([write_ndjson(tmp / "bad.ndjson", lines)], db, on_reject=reasons.append)
    assert (report.events_read, report.events_rejected, report.events_new, report.events_duplicate) == (
        len(lines), len(lines), 0, 0)
    # One reason per line, naming the line.
    assert sorted(int(r.split(":")[1]) for r in reasons if r.startswith(str(tmp / "bad.ndjson") + ":")) == list(
        range(1, len(lines) + 1))
    assert table_counts(db) == before


@STORE
@given(st.lists(run_events(), min_size=2, max_size=10), st.randoms(use_true_random=False))
def test_shuffled_and_duplicated_streams_give_the_same_store(tmp_path_factory, events, rng):
    tmp = tmp_path_factory.mktemp("order")
    clean, messy = str(tmp / "clean.duckdb"), str(tmp / "messy.duckdb")
    ingest([write_ndjson(tmp / "clean.ndjson", events)], clean)
    shuffled = events + [rng.choice(events) for _ in range(len(events))]
    rng.shuffle(shuffled)
    half = len(shuffled) // 2
    ingest([write_ndjson(tmp / "a.ndjson", shuffled[:half])], messy)
    # The other half one event per file: small files are committed together.
    ingest([write_spool(tmp / "spool", shuffled[half:])], messy)
    ingest([write_ndjson(tmp / "a.ndjson", shuffled[:half])], messy)  # at least once: again
    first, second = stats(clean).payload, stats(messy).payload
    assert {k: first[k] for k in ("datasets", "jobs", "runs", "events", "columns", "dataset_edges")} == {
        k: second[k] for k in ("datasets", "jobs", "runs", "events", "columns", "dataset_edges")}
    # And both hold what the events say, counted here without lineagectl.
    io = [(d["namespace"], d["name"]) for e in events for d in e["inputs"] + e["outputs"]]
    assert (first["events"], first["runs"], first["jobs"], first["datasets"]) == (
        len({json.dumps(e) for e in events}), len({e["run"]["runId"] for e in events}),
        len({(e["job"]["namespace"], e["job"]["name"]) for e in events}), len(set(io)))
    con = duckdb.connect(clean, read_only=True)
    roots = con.execute("SELECT namespace, name FROM datasets ORDER BY 1, 2 LIMIT 3").fetchall()
    state = con.execute("SELECT run_id, state FROM runs ORDER BY 1").fetchall()
    con.close()
    con = duckdb.connect(messy, read_only=True)
    assert con.execute("SELECT run_id, state FROM runs ORDER BY 1").fetchall() == state
    con.close()
    for namespace, name in roots:
        assert impact(name, clean, namespace=namespace).payload == impact(name, messy, namespace=namespace).payload


@STORE
@given(st.lists(mutated_events() | run_events(), min_size=1, max_size=6))
def test_the_cli_never_shows_a_traceback(tmp_path_factory, events):
    from typer.testing import CliRunner

    from lineagectl.cli import app

    tmp = tmp_path_factory.mktemp("cli")
    lines = [json.dumps(e) for e in events]
    path = write_ndjson(tmp / "e.ndjson", lines)
    result = CliRunner().invoke(app, ["--db", str(tmp / "c.duckdb"), "ingest", path, "-f", "json"])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    rejected = [i for i, line in enumerate(lines, 1) if rejected_as_line(line)]
    # Exit 1 exactly when a line was rejected, each reported on stderr as file:line: reason.
    assert result.exit_code == (1 if rejected else 0), result.stderr
    report = json.loads(result.stdout)
    assert (report["events_read"], report["events_rejected"]) == (len(lines), len(rejected))
    assert report["events_new"] == len({line for i, line in enumerate(lines, 1) if i not in rejected})
    shown = [int(m[1]) for m in re.finditer(rf"^{re.escape(path)}:(\d+): ", result.stderr, re.M)]
    assert shown == rejected


policy_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | plain,
                             lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain, inner, max_size=3),
                             max_leaves=12)
policy_keys = st.sampled_from(["regions", "residency", "pii", "flows", "retention", "quality", "other"])


@FAST
@given(st.dictionaries(policy_keys, policy_values, max_size=4))
def test_any_policy_is_valid_or_a_policy_error(document):
    import yaml

    try:
        parse_policy(yaml.safe_dump(document), "fuzz.yaml")
    except PolicyError as exc:
        assert exc.message.startswith("fuzz.yaml")


@STORE
@given(st.dictionaries(st.sampled_from(["metadata", "nodes", "sources", "exposures", "groups", "parent_map"]),
                       json_values, max_size=5))
def test_any_manifest_shape_is_stored_or_a_clear_error(tmp_path_factory, document):
    tmp = tmp_path_factory.mktemp("dbt")
    document = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                             "generated_at": "2026-01-01T00:00:00Z"}, **document}
    document["metadata"] = document["metadata"] if isinstance(document["metadata"], dict) else {}
    document["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v12.json"
    path = tmp / "manifest.json"
    path.write_text(json.dumps(document))
    db = str(tmp / "m.duckdb")
    try:
        report = ingest([str(path)], db)
    except LineageError as exc:
        assert exc.message
        return
    events = stats(db).payload["events"]
    if report.file_errors:
        # A clear error names the file, and nothing of it was stored.
        assert all(str(path) in problem for problem in report.file_errors), report.file_errors
        assert (events, report.events_read, report.events_new) == (0, 0, 0)
    else:
        # Stored: every event the manifest became is valid and in the store (once).
        assert report.events_rejected == 0 and report.events_new == events
        assert report.events_read == report.events_new + report.events_duplicate


def test_profile_in_use_is_recorded():
    # Not a property: makes the profile visible in the test log, and checks every property runs it.
    print(f"fuzz profile: {'long' if LONG else 'ci'}; validator examples {FAST.max_examples}, "
          f"store examples {STORE.max_examples}")
    properties = {name: fn for name, fn in globals().items() if name.startswith("test_") and hasattr(fn, "hypothesis")}
    # The properties that build stores take a tmp_path_factory and run the STORE profile.
    stores = {name for name, fn in properties.items()
              if "tmp_path_factory" in fn.hypothesis.inner_test.__code__.co_varnames}
    assert len(properties) == 7 and len(stores) == 4
    for name, fn in properties.items():
        used = fn._hypothesis_internal_use_settings
        profile = STORE if name in stores else FAST
        # CI draws a fixed sample; the long profile fresh inputs.
        assert (used.max_examples, used.derandomize) == (profile.max_examples, not LONG), name
    if LONG:  # docs/reliability.md's figures
        assert FAST.max_examples >= 10_000 and STORE.max_examples >= 300
