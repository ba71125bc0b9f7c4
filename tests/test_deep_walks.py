"""Walks cost in proportion to depth: long chains answer whole, with bounded output per item.

Speed is measured by ``bench/chain.py`` (100,000 hops); these tests check the answers of a
chain longer than the per-hop phase of a walk, and that the in-memory phase agrees with
the per-hop queries on branching graphs.
"""

from __future__ import annotations

import json
import random
import sys

import pytest

from conftest import ROOT, run_event, write_ndjson
from lineagectl import api
from lineagectl.graph import walk as walk_module

sys.path.insert(0, str(ROOT / "bench"))
from chain import write_chain  # bench/chain.py: the benchmark's own generator

HOPS = 300


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    write_chain(folder / "chain.ndjson", HOPS)
    db = str(folder / "chain.duckdb")
    api.ingest([str(folder / "chain.ndjson")], db)
    return db


def test_a_long_chain_is_walked_to_its_end(chain):
    down = api.impact("t0", chain).payload
    assert [d["name"] for d in down["datasets"]] == [f"t{i}" for i in range(1, HOPS + 1)]
    assert [d["depth"] for d in down["datasets"]] == list(range(1, HOPS + 1))
    assert [j["depth"] for j in down["jobs"]] == list(range(1, HOPS + 1))
    up = api.trace(f"t{HOPS}", chain).payload
    assert len(up["datasets"]) == HOPS and up["datasets"][-1] == {**up["datasets"][-1], "name": "t0", "depth": HOPS}


def test_column_paths_of_a_long_chain_show_their_ends_and_count_the_middle(chain):
    columns = api.impact("t0", chain, column="id").payload["columns"]
    assert [c["depth"] for c in columns] == list(range(1, HOPS + 1))
    limit = 50
    for item in columns:
        shown, omitted = item["transformations"], item.get("transformations_omitted", 0)
        assert len(shown) == min(item["depth"], limit)
        assert len(shown) + omitted == item["depth"]
        assert all(t["subtype"] == "IDENTITY" for t in shown)


def test_a_deep_tree_prints_one_line_per_node_of_bounded_width(cli, chain):
    result = cli("--db", chain, "impact", "t0")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == HOPS + 2  # the title, the root, one line per dataset
    assert max(map(len, lines)) < 160
    assert lines[-1].endswith(f"(depth {HOPS}) pg t{HOPS}")


@pytest.mark.parametrize("seed", range(2))
def test_the_in_memory_phase_answers_as_the_per_hop_queries_do(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    events = []
    for i in range(120):
        inputs = [("pg", f"d{rng.randrange(40)}") for _ in range(rng.randrange(1, 3))]
        fields = {"v": {"inputFields": [{"namespace": ns, "name": n, "field": "v"} for ns, n in inputs]}}
        lineage = {"columnLineage": {"_producer": "t", "_schemaURL": "t", "fields": fields}}
        events.append(run_event(f"r{i}", job=f"j{i % 30}", inputs=inputs,
                                outputs=[("pg", f"d{rng.randrange(40)}", lineage)]))
    db = str(tmp_path / "g.duckdb")
    api.ingest([write_ndjson(tmp_path / "g.ndjson", events)], db)

    def answers() -> list[str]:
        return [json.dumps(api.impact(f"d{i}", db, **extra).payload, sort_keys=True)
                for i in range(0, 40, 3) for extra in ({}, {"column": "v"}) if _has(db, f"d{i}")]

    monkeypatch.setattr(walk_module, "DEEP_WALK_HOPS", 10_000)
    per_hop = answers()
    monkeypatch.setattr(walk_module, "DEEP_WALK_HOPS", 0)
    assert answers() == per_hop and per_hop


def _has(db: str, name: str) -> bool:
    return any(d["name"] == name for d in api.ls("datasets", db).payload)


def test_erase_and_pii_on_a_long_chain_say_each_path_in_bounded_text(chain, tmp_path):
    steps = api.erase("id", chain, name="t0", value="1").payload["steps"]
    assert len(steps) == HOPS + 1
    last = next(s for s in steps if s["name"] == f"t{HOPS}")
    assert f"… {HOPS - 10:,} more hops …" in last["reason"] and len(last["reason"]) < 1500
    assert last["reason"].startswith("carries t0.id -DIRECT/IDENTITY-> t1.id")
    assert f"-> t{HOPS}.id" in last["reason"]
    policy = tmp_path / "pii.yaml"
    policy.write_text('pii:\n  columns: ["t0.id"]\n', encoding="utf-8")
    propagated = api.pii(chain, str(policy)).payload["propagated"]
    assert [p["depth"] for p in propagated] == list(range(1, HOPS + 1))
    for item in propagated:
        assert item["origin"]["name"] == "t0"
        assert len(item["transformations"]) + item.get("transformations_omitted", 0) == item["depth"]
        assert len(item["transformations"]) <= 50
