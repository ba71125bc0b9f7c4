"""Renames and lifecycle-only outputs, in every arrival order and file grouping.

* Alias chains are flat: after A is renamed B and B renamed C, both A and B are
  aliases of C; renaming back (A to B, then B to A) leaves A the dataset, B its
  alias; the latest rename wins and a name that is current again is no alias.
* A run whose output only carries a RENAME or a DROP writes no version of it.

Every test ingests real OpenLineage events into a real store, in order, reversed,
one file per event (each its own ingest), shuffled and split across files, and as
a spool directory read in one transaction; every way must give the same store.
"""

from __future__ import annotations

import random
from collections import Counter

import duckdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import run_event, write_ndjson, write_spool
from lineagectl import api

FACET = {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/schema"}
RAW = ("pg", "raw")


def _rename(old: str, namespace: str = "pg") -> dict:
    return {"lifecycleStateChange": {**FACET, "lifecycleStateChange": "RENAME",
                                     "previousIdentifier": {"namespace": namespace, "name": old}}}


def _drop() -> dict:
    return {"lifecycleStateChange": {**FACET, "lifecycleStateChange": "DROP"}}


def _symlink(namespace: str, name: str) -> dict:
    return {"symlinks": {**FACET, "identifiers": [{"namespace": namespace, "name": name, "type": "TABLE"}]}}


def run_id(number: int) -> str:
    return f"30000000-0000-0000-0000-{number:012d}"


def _run(number: int, job: str, time: str, inputs=(), outputs=(), event_type="COMPLETE"):
    return run_event(run_id(number), job=job, time=time, inputs=inputs, outputs=outputs, event_type=event_type)


def _renaming(number: int, old: str, new: str, time: str):
    return _run(number, f"rename_{old}_{new}", time, outputs=[("pg", new, _rename(old))])


def _ways(events: list[dict]):
    """(label, list of ingests, each a list of files, each a list of events) for every way tried."""
    ways = [("one file", [[events]]), ("one file reversed", [[events[::-1]]]),
            ("one ingest per event, reversed", [[[e]] for e in events[::-1]])]
    for seed in range(2):
        rng = random.Random(seed)
        shuffled = events[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(shuffled)), min(2, len(shuffled) - 1)))
        parts = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
        if seed % 2:
            ways.append((f"shuffled {seed}, parts as files of one ingest", [parts]))
        else:
            ways.append((f"shuffled {seed}, one ingest per part", [[p] for p in parts]))
    return ways


def _fingerprint(db: str) -> dict:
    """What the tests compare: datasets (with version and dropped), aliases, versions."""
    con = duckdb.connect(db, read_only=True)
    try:
        def rows(sql):
            return sorted(con.execute(sql).fetchall(), key=repr)

        return {
            "datasets": rows("SELECT namespace, name, current_version, dropped FROM datasets"),
            "aliases": rows("""SELECT n.name, d.name, a.kind FROM dataset_aliases a
                               JOIN dataset_names n ON n.dataset_id = a.alias_id
                               JOIN dataset_names d ON d.dataset_id = a.dataset_id"""),
            "self_aliases": rows("SELECT * FROM dataset_aliases WHERE alias_id = dataset_id"),
            "alias_chains": rows("""SELECT a.alias_id FROM dataset_aliases a
                                    JOIN dataset_aliases b ON b.alias_id = a.dataset_id"""),
            "aliases_not_datasets": rows("""SELECT alias_id FROM dataset_aliases
                                            WHERE dataset_id NOT IN (SELECT dataset_id FROM datasets)"""),
            "versions": rows("""SELECT n.name, v.version, v.run_id FROM dataset_versions v
                                JOIN dataset_names n USING (dataset_id)"""),
        }
    finally:
        con.close()


def every_way(tmp_path, events, *, batch_size: int | None = None) -> str:
    """Ingest ``events`` every way and assert every store is the same (what the tests ask is
    answered from what ``_fingerprint`` compares); return the store of the events in order."""
    stores = {}
    for index, (label, ingests) in enumerate(_ways(events)):
        where = tmp_path / f"way{index}"
        where.mkdir()
        db = str(where / "lineage.duckdb")
        for number, files in enumerate(ingests):
            paths = [write_ndjson(where / f"i{number}-f{f}.ndjson", evs) for f, evs in enumerate(files)]
            api.ingest(paths, db, **({"batch_size": batch_size} if batch_size else {}))
        stores[label] = db
    spool = tmp_path / "spool"
    write_spool(spool, events)
    stores["spool"] = str(tmp_path / "spool.duckdb")
    api.ingest([str(spool)], stores["spool"], batch_size=1)
    first_label, first = next(iter(stores.items()))
    expected = _fingerprint(first)
    for label, db in stores.items():
        assert _fingerprint(db) == expected, f"{label} differs from {first_label}"
    return first


def _names(db: str) -> set[str]:
    return {d["name"] for d in api.ls("datasets", db).payload}


def _aliases(db: str) -> set[tuple[str, str, str]]:
    return set(_fingerprint(db)["aliases"])


def _sound(db: str) -> None:
    facts = _fingerprint(db)
    assert facts["self_aliases"] == [] and facts["alias_chains"] == [] and facts["aliases_not_datasets"] == []


# --- alias chains are flat --------------------------------------------------------------------------

CHAIN = [
    _run(1, "make_a", "2026-11-20T01:00:00Z", [RAW], [("pg", "a")]),
    _run(2, "train", "2026-11-20T02:00:00Z", [("pg", "a")],
         [("mlflow", "models/churn", {"version": {**FACET, "datasetVersion": "1"}})]),
    _renaming(3, "a", "b", "2026-11-21T00:00:00Z"),
    _renaming(4, "b", "c", "2026-11-22T00:00:00Z"),
    _run(5, "train", "2026-11-24T02:00:00Z", [("pg", "c")],
         [("mlflow", "models/churn", {"version": {**FACET, "datasetVersion": "2"}})]),
]


def test_a_chain_of_renames_folds_every_old_name_into_the_current_one(tmp_path):
    db = every_way(tmp_path, CHAIN)
    _sound(db)
    assert _aliases(db) == {("a", "c", "rename"), ("b", "c", "rename")}
    assert {"a", "b"}.isdisjoint(_names(db)) and "c" in _names(db)
    for old in ("a", "b"):
        assert api.impact(old, db).payload["root"]["name"] == "c"
    up = api.trace("models/churn", db).payload["datasets"]
    assert {d["name"] for d in up} == {"c", "raw"}


def test_provenance_of_a_run_that_read_the_first_name_follows_the_chain(tmp_path):
    db = every_way(tmp_path, CHAIN)
    steps = api.trace("models/churn", db, version="1").payload["steps"]
    assert [s["job"]["name"] for s in steps] == ["train", "make_a"]
    assert steps[0]["inputs"] == [{"namespace": "pg", "name": "c", "version": run_id(1),
                                   "produced_by_run": run_id(1), "read_as": {"namespace": "pg", "name": "a"}}]
    assert steps[1]["outputs"] == [{"namespace": "pg", "name": "c", "version": run_id(1),
                                    "written_as": {"namespace": "pg", "name": "a"}}]


def test_renaming_back_keeps_the_dataset_under_its_current_name(tmp_path):
    events = [_run(1, "make_a", "2026-11-20T01:00:00Z", [RAW], [("pg", "a")]),
              _renaming(2, "a", "b", "2026-11-21T00:00:00Z"),
              _renaming(3, "b", "a", "2026-11-22T00:00:00Z"),
              _run(4, "read_a", "2026-11-23T00:00:00Z", [("pg", "a")], [("pg", "out")])]
    db = every_way(tmp_path, events)
    _sound(db)
    assert _aliases(db) == {("b", "a", "rename")}
    assert "a" in _names(db) and "b" not in _names(db)
    assert api.impact("b", db).payload["root"]["name"] == "a"
    assert {d["name"] for d in api.trace("out", db).payload["datasets"]} == {"a", "raw"}


def test_the_latest_rename_wins(tmp_path):
    """a to b, back to a, to b again: b is the dataset; the same RENAME payload seen twice counts twice."""
    events = [_run(1, "make_a", "2026-11-20T01:00:00Z", [RAW], [("pg", "a")]),
              _renaming(2, "a", "b", "2026-11-21T00:00:00Z"),
              _renaming(3, "b", "a", "2026-11-22T00:00:00Z"),
              _renaming(4, "a", "b", "2026-11-23T00:00:00Z")]
    db = every_way(tmp_path, events)
    _sound(db)
    assert _aliases(db) == {("a", "b", "rename")}
    assert "b" in _names(db) and "a" not in _names(db)


def test_a_swap_leaves_the_old_table_under_its_new_name_and_the_new_one_under_the_name(tmp_path):
    """orders to orders_old, then orders_new to orders (an atomic table swap)."""
    events = [_run(1, "load", "2026-11-20T01:00:00Z", [RAW], [("pg", "orders")]),
              _run(2, "stage", "2026-11-20T02:00:00Z", [RAW], [("pg", "orders_new")]),
              _renaming(3, "orders", "orders_old", "2026-11-21T00:00:00Z"),
              _renaming(4, "orders_new", "orders", "2026-11-21T00:00:01Z")]
    db = every_way(tmp_path, events)
    _sound(db)
    assert _aliases(db) == {("orders_new", "orders", "rename")}
    assert {"orders", "orders_old"} <= _names(db) and "orders_new" not in _names(db)


def test_a_symlink_of_a_renamed_dataset_names_its_current_name(tmp_path):
    events = [_run(1, "make_a", "2026-11-20T01:00:00Z", [RAW], [("pg", "a", _symlink("hive", "db.a"))]),
              _run(2, "read_hive", "2026-11-20T02:00:00Z", [("hive", "db.a")], [("pg", "out")]),
              _renaming(3, "a", "b", "2026-11-21T00:00:00Z"),
              _renaming(4, "b", "c", "2026-11-22T00:00:00Z")]
    db = every_way(tmp_path, events)
    _sound(db)
    assert _aliases(db) == {("a", "c", "rename"), ("b", "c", "rename"), ("db.a", "c", "symlink")}
    assert {d["name"] for d in api.trace("out", db).payload["datasets"]} == {"c", "raw"}


def replay(renames: list[tuple[str, str]]) -> dict[str, str]:
    """The aliases renames leave, replayed one by one: a rename points its old name, and every name
    pointing there, at the new name; the new name is current again."""
    points: dict[str, str] = {}
    for old, new in renames:
        points = {name: new if target == old else target for name, target in points.items()}
        points[old], points[new] = new, new
    return {name: target for name, target in points.items() if name != target}


# Each rename at most twice: the store keeps a payload's first and last sighting.
rename_lists = st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")).filter(lambda r: r[0] != r[1]),
                        min_size=1, max_size=7).filter(lambda rs: max(Counter(rs).values()) <= 2)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rename_lists, st.randoms(use_true_random=False))
# a is renamed twice (it was made again between): its latest rename wins.
@example([("a", "b"), ("b", "c"), ("a", "d")], random.Random(0))
def test_any_renames_in_any_order_leave_the_aliases_a_replay_leaves(tmp_path_factory, renames, rng):
    tmp = tmp_path_factory.mktemp("renames")
    names = sorted({n for r in renames for n in r})
    events = [_run(100 + i, f"write_{n}", "2026-11-01T00:00:00Z", [RAW], [("pg", n)]) for i, n in enumerate(names)]
    events += [_renaming(i + 1, old, new, f"2026-11-{i + 2:02d}T00:00:00Z") for i, (old, new) in enumerate(renames)]
    rng.shuffle(events)
    half = len(events) // 2
    db = str(tmp / "lineage.duckdb")
    api.ingest([write_ndjson(tmp / "first.ndjson", events[:half])], db)
    api.ingest([write_ndjson(tmp / "second.ndjson", events[half:])], db)
    expected = replay(renames)
    _sound(db)
    assert _aliases(db) == {(name, target, "rename") for name, target in expected.items()}
    assert {n for n in _names(db) if n != "raw"} == set(names) - set(expected)


# --- a RENAME or DROP is no write -------------------------------------------------------------------

def test_a_run_that_only_drops_or_renames_writes_no_version(tmp_path):
    events = [_run(1, "load", "2026-11-20T01:00:00Z", [RAW], [("pg", "t")]),
              _run(2, "drop_t", "2026-11-21T00:00:00Z", outputs=[("pg", "t", _drop())]),
              _run(3, "make_u", "2026-11-20T01:00:00Z", [RAW], [("pg", "u")]),
              _renaming(4, "u", "v", "2026-11-21T00:00:00Z"),
              _run(5, "read_v", "2026-11-24T00:00:00Z", [("pg", "v")], [("pg", "out")])]
    db = every_way(tmp_path, events)
    assert set(_fingerprint(db)["versions"]) == {("t", run_id(1), run_id(1)), ("u", run_id(3), run_id(3)),
                                                 ("out", run_id(5), run_id(5))}
    listed = {d["name"]: d for d in api.ls("datasets", db).payload}
    assert listed["t"]["version"] == run_id(1) and listed["t"]["dropped"] is True
    assert listed["v"]["version"] == run_id(3)
    # The run that read v after the rename read the version make_u wrote: provenance goes on to it.
    steps = api.trace("out", db, version=run_id(5)).payload["steps"]
    assert [s["job"]["name"] for s in steps] == ["read_v", "make_u"]
    assert steps[0]["inputs"][0]["produced_by_run"] == run_id(3)


def test_a_drop_sent_only_by_a_runs_complete_event_still_writes_no_version(tmp_path):
    """START names the output without the facet, COMPLETE carries the DROP: in whatever file or order."""
    events = [_run(1, "load", "2026-11-20T01:00:00Z", [RAW], [("pg", "t")]),
              _run(2, "drop_t", "2026-11-21T00:00:00Z", outputs=[("pg", "t")], event_type="START"),
              _run(2, "drop_t", "2026-11-21T00:00:05Z", outputs=[("pg", "t", _drop())])]
    db = every_way(tmp_path, events, batch_size=1)
    assert set(_fingerprint(db)["versions"]) == {("t", run_id(1), run_id(1))}


def test_the_dropped_column_follows_the_rule_answers_apply(tmp_path):
    """``datasets.dropped``: dropped when the latest lifecycle mark is a DROP (a write or another state
    after it brings the dataset back); a DROP sent under an old name drops the dataset it names now."""
    events = [_run(1, "load", "2026-11-20T01:00:00Z", [RAW], [("pg", "t"), ("pg", "w")]),
              _run(2, "drop", "2026-11-21T00:00:00Z", outputs=[("pg", "t", _drop()), ("pg", "w", _drop())]),
              _run(3, "load", "2026-11-22T00:00:00Z", [RAW], [("pg", "w")]),
              _run(4, "make_u", "2026-11-20T01:00:00Z", [RAW], [("pg", "u")]),
              _renaming(5, "u", "v", "2026-11-21T00:00:00Z"),
              _run(6, "drop_u", "2026-11-22T00:00:00Z", outputs=[("pg", "u", _drop())])]
    db = every_way(tmp_path, events)
    con = duckdb.connect(db, read_only=True)
    try:
        dropped = dict(con.execute("SELECT name, dropped FROM datasets WHERE namespace = 'pg'").fetchall())
    finally:
        con.close()
    assert dropped == {"raw": False, "t": True, "w": False, "v": True}
    listed = {d["name"]: d["dropped"] for d in api.ls("datasets", db).payload}
    assert {name: listed[name] for name in dropped} == dropped
