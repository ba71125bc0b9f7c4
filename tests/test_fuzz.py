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
import random
import string

import duckdb
from hypothesis import HealthCheck, given, settings, strategies as st

from lineagectl.api import impact, ingest, stats
from lineagectl.errors import LineageError
from lineagectl.sources.ingest.validate import Reject, validate
from lineagectl.common.policy import PolicyError, parse_policy

from conftest import table_counts, write_ndjson, write_spool

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
times = st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1),
                     max_value=__import__("datetime").datetime(2100, 1, 1)).map(
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


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


@st.composite
def mutated_events(draw):
    """A valid event with one place replaced by anything, deleted, or nested deep."""
    event = copy.deepcopy(draw(run_events()))
    paths = [p for p in _paths(event) if p]
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
    return event


@FAST
@given(run_events())
def test_valid_events_are_never_rejected(event):
    kind, when, _ = validate(event)
    assert kind == "run" and when is not None


@FAST
@given(mutated_events())
def test_the_validator_only_ever_rejects(event):
    try:
        validate(event)
    except Reject:
        pass  # the one documented way to say no


@STORE
@given(st.lists(run_events(), min_size=1, max_size=8), st.lists(mutated_events(), min_size=1, max_size=8))
def test_rejected_lines_never_change_the_store(tmp_path_factory, good, bad):
    tmp = tmp_path_factory.mktemp("fuzz")
    db = str(tmp / "f.duckdb")
    report = ingest([write_ndjson(tmp / "good.ndjson", good)], db)
    assert report.events_rejected == 0
    before = table_counts(db)
    rejected = []
    for event in bad:
        try:
            validate(event)
        except Reject:
            rejected.append(event)
    # Rejected events first (one per line), then lines that are not events at all.
    lines = [json.dumps(e) for e in rejected] + ['"just a string"', "[1, 2", "{not json", "\u00ff\u00fe"]
    report = ingest([write_ndjson(tmp / "bad.ndjson", lines)], db)
    assert report.events_rejected >= 1 and report.events_new == 0
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
    path = write_ndjson(tmp / "e.ndjson", [json.dumps(e) for e in events])
    result = CliRunner().invoke(app, ["--db", str(tmp / "c.duckdb"), "ingest", path])
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


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
    try:
        report = ingest([str(path)], str(tmp / "m.duckdb"))
    except LineageError:
        return
    assert report.file_errors or report.events_rejected >= 0


def test_profile_in_use_is_recorded():
    # Not a property: makes the profile visible in the test log.
    print(f"fuzz profile: {'long' if LONG else 'ci'}; validator examples {FAST.max_examples}, "
          f"store examples {STORE.max_examples}")
    assert random.Random(0).random() < 1
