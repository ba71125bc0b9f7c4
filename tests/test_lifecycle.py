"""Lifecycle is honoured everywhere (issue 13, item 3): a ``lifecycleStateChange`` DROP takes a
dataset out of ``--as-of`` answers from then on and marks it in current answers; a job whose
outputs were all dropped is retired (no cadence gap); a RENAME is followed by run provenance.

Every test ingests real OpenLineage events into a real store.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex

import pytest

from conftest import ROOT, run_event, write_ndjson
from lineagectl import api
from lineagectl.errors import NotFoundError

FACET = {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/schema"}
DROPPED_AT = "2026-11-21T09:30:00Z"


def _schema(*columns):
    return {**FACET, "fields": [{"name": c, "type": "int"} for c in columns]}


def _copy(source: str) -> dict:
    """Column lineage: ``id`` copied from ``pg source.id``."""
    return {**FACET, "fields": {"id": {"inputFields": [
        {"namespace": "pg", "name": source, "field": "id",
         "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]}]}}}


def _lifecycle(state: str, **extra) -> dict:
    return {"lifecycleStateChange": {**FACET, "lifecycleStateChange": state, **extra}}


def _run(number: int, job: str, time: str, inputs=(), outputs=()):
    return run_event(f"20000000-0000-0000-0000-{number:012d}", job=job, time=time, inputs=inputs, outputs=outputs)


@pytest.fixture
def store(tmp_path, db):
    """``load`` copies ``src`` into ``a`` hourly, ``build_b`` copies ``a`` into ``b``; ``a`` is dropped on
    the 21st. ``c`` is dropped and written again; ``e`` is dropped and created again."""
    src = ("pg", "src", {"schema": _schema("id")})
    events = [
        *(_run(n, "load", f"2026-11-20T0{n}:00:00Z", [src], [("pg", "a", {"schema": _schema("id"),
                                                                          "columnLineage": _copy("src")})])
          for n in (1, 2, 3)),
        _run(4, "build_b", "2026-11-20T04:00:00Z", [("pg", "a")],
             [("pg", "b", {"schema": _schema("id"), "columnLineage": _copy("a")})]),
        _run(5, "drop_a", DROPPED_AT, outputs=[("pg", "a", _lifecycle("DROP"))]),
        _run(6, "refresh_c", "2026-11-20T05:00:00Z", [src], [("pg", "c")]),
        _run(7, "drop_c", "2026-11-21T00:00:00Z", outputs=[("pg", "c", _lifecycle("DROP"))]),
        _run(8, "refresh_c", "2026-11-22T05:00:00Z", [src], [("pg", "c")]),
        _run(9, "make_e", "2026-11-20T06:00:00Z", [src], [("pg", "e")]),
        _run(10, "drop_e", "2026-11-21T00:00:00Z", outputs=[("pg", "e", _lifecycle("DROP"))]),
        _run(11, "create_e", "2026-11-22T00:00:00Z", outputs=[("pg", "e", _lifecycle("CREATE"))]),
        _run(12, "heartbeat", "2026-11-24T00:00:00Z", outputs=[("pg", "beat")]),
    ]
    api.ingest([write_ndjson(tmp_path / "events.ndjson", events)], db)
    return db


def _names(result, key="datasets"):
    return {d["name"] for d in result.payload[key]}


def test_as_of_leaves_out_a_dataset_dropped_before_then(store):
    before, after = "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z"
    assert "a" in _names(api.trace("b", store, as_of=before))
    assert _names(api.trace("b", store, as_of=after)) == set()
    assert "a" in _names(api.impact("src", store, as_of=before))
    assert "a" not in _names(api.impact("src", store, as_of=after))
    # Column lineage alike.
    assert {c["name"] for c in api.impact("src", store, column="id", as_of=before).payload["columns"]} == {"a", "b"}
    assert api.impact("src", store, column="id", as_of=after).payload["columns"] == []
    # The graph too.
    nodes = {n["name"] for n in api.graph("b", store, as_of=after).payload["nodes"] if n["kind"] != "job"}
    assert nodes == {"b"}  # with the job that wrote it, which read only a
    assert "a" in {n["name"] for n in api.graph("b", store, as_of=before).payload["nodes"]}


def test_as_of_a_dropped_root_is_not_found_then(store):
    with pytest.raises(NotFoundError, match=f"dropped at {DROPPED_AT}"):
        api.impact("a", store, as_of="2026-11-23T00:00:00Z")
    assert api.impact("a", store, as_of="2026-11-21T00:00:00Z").payload["root"]["name"] == "a"


def test_as_of_a_root_not_seen_yet_is_not_found_then(store):
    # b is first written by build_b at 04:00 on the 20th: before that there was nothing to answer about.
    with pytest.raises(NotFoundError, match="first seen at 2026-11-20T04:00:00Z, after --as-of 2026-11-20T03:00:00Z"):
        api.trace("b", store, as_of="2026-11-20T03:00:00Z")
    with pytest.raises(NotFoundError, match="first seen at"):
        api.graph("b", store, as_of="2026-11-20T03:00:00Z")
    assert _names(api.trace("b", store, as_of="2026-11-20T04:00:00Z")) == {"a", "src"}


def test_a_dataset_written_or_created_again_after_its_drop_is_back(store):
    dropped_then, back_now = "2026-11-21T12:00:00Z", "2026-11-23T00:00:00Z"
    # c: written again by a run on the 22nd; e: a CREATE on the 22nd.
    assert not {"c", "e"} & _names(api.impact("src", store, as_of=dropped_then))
    assert {"c", "e"} <= _names(api.impact("src", store, as_of=back_now))
    # Neither is dropped now.
    current = {d["name"]: d for d in api.impact("src", store).payload["datasets"]}
    assert "dropped" not in current["c"] and "dropped" not in current["e"]
    assert current["a"]["dropped"] is True


def test_current_answers_mark_a_dropped_dataset(store):
    down = {d["name"]: d for d in api.impact("src", store).payload["datasets"]}
    assert down["a"]["dropped"] is True and down["a"]["dropped_at"] == DROPPED_AT
    assert "dropped" not in down["b"]
    up = {d["name"]: d for d in api.trace("b", store).payload["datasets"]}
    assert up["a"]["dropped_at"] == DROPPED_AT and "dropped" not in up["src"]
    columns = {c["name"]: c for c in api.trace("b", store, column="id").payload["columns"]}
    assert columns["a"]["dropped"] is True and columns["a"]["dropped_at"] == DROPPED_AT
    assert "dropped" not in columns["src"]
    root = api.impact("a", store).payload["root"]
    assert root["dropped"] is True and root["dropped_at"] == DROPPED_AT
    assert "dropped" not in api.impact("src", store).payload["root"]
    shown = api.show("a", store).payload
    assert shown["dropped"] is True and shown["dropped_at"] == DROPPED_AT
    # Run provenance: the input build_b read is dropped since.
    read = api.trace("b", store, version="20000000-0000-0000-0000-000000000004").payload["steps"][0]["inputs"]
    assert [(i["name"], i.get("dropped_at")) for i in read] == [("a", DROPPED_AT)]
    # ls agrees: c was written again after its DROP (no CREATE sent), so it is not dropped.
    listed = {d["name"]: d["dropped"] for d in api.ls("datasets", store).payload}
    assert listed["a"] is True and listed["c"] is False and listed["e"] is False
    assert api.show("c", store).payload["dropped"] is False


def test_table_tree_csv_and_ndjson_show_the_mark(cli, store):
    tree = cli("--db", store, "trace", "b").stdout
    line = next(x for x in tree.splitlines() if " a" in x and "pg" in x)
    assert f"(dropped {DROPPED_AT})" in line
    columns = cli("--db", store, "trace", "b", "--column", "id").stdout
    assert f"(dropped {DROPPED_AT})" in next(x for x in columns.splitlines() if "pg a" in x)
    rows = list(csv.DictReader(io.StringIO(cli("--db", store, "trace", "b", "-f", "csv").stdout)))
    assert {r["name"]: r["dropped_at"] for r in rows} == {"a": DROPPED_AT, "src": ""}
    records = [json.loads(x) for x in cli("--db", store, "trace", "b", "-f", "ndjson").stdout.splitlines()]
    assert {r["name"]: r.get("dropped_at") for r in records} == {"a": DROPPED_AT, "src": None}
    # Without a dropped dataset the columns are what they always were.
    plain = cli("--db", store, "trace", "c", "-f", "csv").stdout.splitlines()[0]
    assert plain == "namespace,name,depth,type,owners"


def test_graph_draws_a_dropped_dataset_dashed_and_labelled(cli, store):
    nodes = {n["name"]: n for n in api.graph("b", store).payload["nodes"]}
    assert nodes["a"]["dropped"] is True and nodes["a"]["dropped_at"] == DROPPED_AT
    assert "dropped" in nodes["a"]["marks"] and "dropped" not in nodes["b"]
    dot = cli("--db", store, "graph", "b", "-f", "dot").stdout
    a_line = next(x for x in dot.splitlines() if '\\na (dropped)"' in x)
    assert "dashed" in a_line and "grey" in a_line
    b_line = next(x for x in dot.splitlines() if "\\nb (root)\"" in x)  # b is the root
    assert "dashed" not in b_line
    mermaid = cli("--db", store, "graph", "b", "-f", "mermaid").stdout
    node = next(x.split('["')[0].strip() for x in mermaid.splitlines() if "a (dropped)" in x)
    assert "classDef dropped" in mermaid
    assert any(x.strip().startswith("class ") and x.strip().endswith(" dropped") and node in x
               for x in mermaid.splitlines())
    drawn = list(csv.DictReader(io.StringIO(cli("--db", store, "graph", "b", "-f", "csv").stdout)))
    assert {r["dropped"] for r in drawn if r["name"] == "a"} == {"true"}


def test_a_job_whose_outputs_were_all_dropped_is_retired(store):
    found = api.changes("b", store, since="2026-11-19").payload["changes"]
    # load ran hourly, then its only output was dropped: no "no successful run" gap, but retired.
    assert not [c for c in found if c["kind"] == "gap"]
    retired = [c for c in found if c["kind"] == "retired"]
    assert [(c["name"], c["time"]) for c in retired] == [("load", DROPPED_AT)]
    assert retired[0]["summary"] == f"retired: every output dropped (pg a on {DROPPED_AT})"


def test_a_job_that_keeps_running_after_a_drop_is_not_retired(tmp_path, db):
    """Writing the table again re-creates it: the job's cadence gap is reported as ever."""
    events = [*(_run(n, "load", f"2026-11-20T0{n}:00:00Z", [("pg", "src")], [("pg", "a")]) for n in (1, 2, 3, 4)),
              _run(5, "drop_a", "2026-11-20T04:30:00Z", outputs=[("pg", "a", _lifecycle("DROP"))]),
              _run(6, "load", "2026-11-20T05:00:00Z", [("pg", "src")], [("pg", "a")]),
              _run(7, "heartbeat", "2026-11-24T00:00:00Z", outputs=[("pg", "beat")])]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    kinds = {(c["kind"], c["name"]) for c in api.changes("a", db, since="2026-11-19").payload["changes"]}
    assert ("gap", "load") in kinds and ("retired", "load") not in kinds
    assert "dropped" not in api.trace("a", db).payload["root"]


@pytest.fixture
def renamed(tmp_path, db):
    """``make_t`` writes ``pg old_t``; ``train`` reads it and writes model version 1; then ``old_t`` is
    renamed ``new_t`` (Spark's ALTER TABLE RENAME event)."""
    version = {"version": {**FACET, "datasetVersion": "1"}}
    events = [_run(1, "make_t", "2026-11-20T01:00:00Z", [("pg", "raw")], [("pg", "old_t")]),
              _run(2, "train", "2026-11-20T02:00:00Z", [("pg", "old_t")], [("mlflow", "models/churn", version)]),
              _run(3, "rename_t", "2026-11-21T00:00:00Z", outputs=[("pg", "new_t", _lifecycle(
                  "RENAME", previousIdentifier={"namespace": "pg", "name": "old_t"}))])]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    return db


def test_provenance_follows_a_renamed_input_and_says_how_it_was_read(renamed):
    steps = api.trace("models/churn", renamed, version="1").payload["steps"]
    assert [s["job"]["name"] for s in steps] == ["train", "make_t"]
    read = steps[0]["inputs"]
    assert read == [{"namespace": "pg", "name": "new_t", "version": steps[1]["run_id"],
                     "produced_by_run": steps[1]["run_id"], "read_as": {"namespace": "pg", "name": "old_t"}}]
    assert steps[1]["outputs"] == [{"namespace": "pg", "name": "new_t", "version": steps[1]["run_id"],
                                    "written_as": {"namespace": "pg", "name": "old_t"}}]
    assert steps[1]["inputs"][0]["name"] == "raw" and "read_as" not in steps[1]["inputs"][0]


def test_provenance_of_a_version_written_under_the_old_name(renamed):
    run = api.trace("models/churn", renamed, version="1").payload["steps"][1]["run_id"]
    assert api.trace("new_t", renamed, version=run).payload["steps"][0]["job"]["name"] == "make_t"


def test_provenance_table_says_under_which_name_the_run_read(cli, renamed):
    table = cli("--db", renamed, "trace", "models/churn", "--version", "1").stdout
    line = next(x for x in table.splitlines() if "new_t" in x)
    assert "pg old_t" in line


# --- docs/lifecycle.md: its examples run on its events and print what it shows -------------------

DOC = ROOT / "docs" / "lifecycle.md"
DURATION = re.compile(r"\b\d+(?:\.\d+)?s\b")


def _doc_examples(text: str) -> list[tuple[str, list[str]]]:
    """(command, lines shown under it) of every ``$ lineagectl`` line of the doc's console blocks."""
    examples = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], []))
            elif examples:
                examples[-1][1].append(line)
    return [(c, shown) for c, shown in examples if c.startswith("lineagectl ")]


def test_the_lifecycle_doc_examples_print_what_it_shows(cli, tmp_path):
    text = DOC.read_text(encoding="utf-8")
    events = re.search(r"^```json\n(.*?)^```", text, re.S | re.M).group(1)
    (tmp_path / "lifecycle.ndjson").write_text(events, encoding="utf-8")
    env = {"LINEAGECTL_DB": str(tmp_path / "lifecycle.duckdb")}
    examples = _doc_examples(text)
    assert len(examples) >= 10
    for command, shown in examples:
        args = [str(tmp_path / a) if a == "lifecycle.ndjson" else a for a in shlex.split(command, comments=True)[1:]]
        result = cli(*args, env=env)
        said = re.search(r"# exit (\d+)", command)
        assert result.exit_code == (int(said[1]) if said else 0), f"{command}\n{result.stderr}"
        real = {DURATION.sub("…s", line.strip()) for line in (result.stdout + result.stderr).splitlines()}
        for line in shown:
            if line.strip() not in ("", "…"):
                assert DURATION.sub("…s", line.strip()) in real, f"{command}: {line!r}\n{result.stdout}"


def test_graph_as_of_on_the_command_line_leaves_out_what_was_dropped_by_then(store, cli):
    def nodes(when: str) -> set:
        result = cli("--db", store, "graph", "b", "--direction", "upstream", "--as-of", when, "-f", "json")
        assert result.exit_code == 0, result.stderr
        return {n["name"] for n in json.loads(result.stdout)["nodes"]}

    assert "a" in nodes("2026-11-21T00:00:00Z")
    assert "a" not in nodes("2026-11-22T00:00:00Z")
