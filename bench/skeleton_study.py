#!/usr/bin/env python3
"""Design study for issue 20, item 1: skeleton events with facets by reference.

Usage::

    python bench/skeleton_study.py [--events 20000] [--wide] [--batch 5000] [--profile]

On a generated bench log (bench/ingest.py's generator) this measures, in DuckDB directly:

(a) today's storage: the canonical payload (``orjson.dumps(event)``) in a zstd column;
(b) the skeleton: the same event with every object-valued facet replaced by a placeholder,
    the facet references in a list column, and only new facet blobs inserted.

for bytes stored, insert + checkpoint time and reconstruct time, and checks that every
event (of the log and of the OpenLineage corpus) is rebuilt byte for byte. It also times
the DuckDB work the docs name as the big costs: ``json_transform`` of new events (full
payload vs skeleton) and MD5 of facets (DuckDB vs Python). ``--profile`` adds
bench/profile_ingest.py's per-statement times on the same log. See docs/performance.md,
"Issue 20, item 1: skeleton events — design measured".
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from ingest import generate

REPO = Path(__file__).resolve().parent.parent
try:
    from lineagectl.sources.ingest.unnest import _EVENT
except ImportError:  # not installed: use the checkout
    sys.path.insert(0, str(REPO / "src"))
    from lineagectl.sources.ingest.unnest import _EVENT

# Where an event holds facet maps, in the order references are listed.
_OWNERS = ("run", "job", "dataset")
_LISTS = (("inputs", ("facets", "inputFacets")), ("outputs", ("facets", "outputFacets")))


def facet_hash(blob: bytes) -> str:
    """md5 hex of a facet's canonical JSON, as facet_blobs' facet_hash (DuckDB md5 of its JSON text)."""
    return hashlib.md5(blob).hexdigest()


def _facet_maps(event: dict) -> Iterator[tuple[dict, str, dict]]:
    """(holder, key, facet map) for every facet map of ``event``, in the fixed reference order."""
    for owner in _OWNERS:
        holder = event.get(owner)
        if isinstance(holder, dict) and isinstance(holder.get("facets"), dict):
            yield holder, "facets", holder["facets"]
    for list_key, map_keys in _LISTS:
        datasets = event.get(list_key)
        if isinstance(datasets, list):
            for dataset in datasets:
                if isinstance(dataset, dict):
                    for map_key in map_keys:
                        if isinstance(dataset.get(map_key), dict):
                            yield dataset, map_key, dataset[map_key]


def split(event: dict) -> tuple[bytes, list[str | None], dict[str, bytes]]:
    """The skeleton of a parsed event, its references (one per facet entry; None: kept inline) and blobs.

    ``event`` is modified in place (facet maps replaced): the caller parsed it for this.
    """
    refs: list[str | None] = []
    blobs: dict[str, bytes] = {}
    for holder, key, facets in _facet_maps(event):
        skeleton_map = {}
        for name, value in facets.items():
            if isinstance(value, dict):
                blob = orjson.dumps(value)
                digest = facet_hash(blob)
                blobs[digest] = blob
                refs.append(digest)
                skeleton_map[name] = 0
            else:
                refs.append(None)
                skeleton_map[name] = value
        holder[key] = skeleton_map
    return orjson.dumps(event), refs, blobs


def reconstruct(skeleton: bytes | str, refs: list[str | None], blobs: dict[str, bytes]) -> bytes:
    """The canonical payload from a skeleton, its references and the blob store (byte-exact)."""
    event = orjson.loads(skeleton)
    position = 0
    for _holder, _key, facets in _facet_maps(event):
        for name in facets:
            ref = refs[position]
            position += 1
            if ref is not None:
                facets[name] = orjson.Fragment(blobs[ref])
    return orjson.dumps(event)


# MD5 of every facet of the parsed events ``p`` (unnest.py's _HASH without the _deleted case).
_MD5_FACETS = """CREATE TEMP TABLE h AS
    SELECT md5(f.value) AS h FROM (SELECT unnest(map_entries(e.run.facets)) AS f FROM p)
    UNION ALL SELECT md5(f.value) FROM (SELECT unnest(map_entries(e.job.facets)) AS f FROM p)
    UNION ALL SELECT md5(f.value) FROM (SELECT unnest(map_entries(e.dataset.facets)) AS f FROM p)
    UNION ALL SELECT md5(f.value) FROM (
        SELECT unnest(map_entries(o.facets)) AS f FROM (SELECT unnest(e.outputs) AS o FROM p))
    UNION ALL SELECT md5(f.value) FROM (
        SELECT unnest(map_entries(o.outputFacets)) AS f FROM (SELECT unnest(e.outputs) AS o FROM p))
    UNION ALL SELECT md5(f.value) FROM (
        SELECT unnest(map_entries(i.facets)) AS f FROM (SELECT unnest(e.inputs) AS i FROM p))
    UNION ALL SELECT md5(f.value) FROM (
        SELECT unnest(map_entries(i.inputFacets)) AS f FROM (SELECT unnest(e.inputs) AS i FROM p))"""


def _join(refs: list[str | None]) -> str:
    return ",".join(ref or "-" for ref in refs)


def _unjoin(refs: str) -> list[str | None]:
    return [None if ref == "-" else ref for ref in refs.split(",")] if refs else []


def _db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}.wal")) if p.exists())


def _timed(label: str, results: dict, function, *args):
    started = time.perf_counter()
    value = function(*args)
    results[label] = round(time.perf_counter() - started, 3)
    return value


def _insert(con: duckdb.DuckDBPyConnection, r: dict, layout: str, work: list[tuple[str, dict]]) -> None:
    """Run the inserts in one transaction (ingest's is one per file), then commit and checkpoint."""
    con.begin()
    started = time.perf_counter()
    for statement, tables in work:
        for name, table in tables.items():
            con.register(name, table)
        con.execute(statement)
    r[f"{layout}_insert_s"] = round(time.perf_counter() - started, 3)
    _timed(f"{layout}_commit_s", r, con.commit)
    _timed(f"{layout}_checkpoint_s", r, con.execute, "CHECKPOINT")


def split_cached(event: dict, known: dict[bytes, str]) -> tuple[bytes, list[str | None]]:
    """``split`` with the blobs already seen looked up by their bytes instead of hashed again:
    how an ingest would run it (most facets repeat). New blobs are added to ``known``."""
    refs: list[str | None] = []
    for holder, key, facets in _facet_maps(event):
        skeleton_map = {}
        for name, value in facets.items():
            if isinstance(value, dict):
                blob = orjson.dumps(value)
                digest = known.get(blob)
                if digest is None:
                    digest = known[blob] = facet_hash(blob)
                refs.append(digest)
                skeleton_map[name] = 0
            else:
                refs.append(None)
                skeleton_map[name] = value
        holder[key] = skeleton_map
    return orjson.dumps(event), refs


def study_log(path: Path, batch: int, tmp: Path) -> dict:
    """Both layouts of the events of ``path`` in two DuckDB files; figures as a dict."""
    r: dict = {}
    gc.disable()  # millions of live objects: collections would dominate the Python timings
    lines = path.read_bytes().splitlines()
    events = _timed("parse_s", r, lambda: [orjson.loads(line) for line in lines])
    canonical = _timed("canonical_dumps_s", r, lambda: [orjson.dumps(e) for e in events])
    hashes = [hashlib.blake2b(p, digest_size=16).hexdigest() for p in canonical]
    known: dict[bytes, str] = {}
    again = [orjson.loads(line) for line in lines]
    _timed("split_cached_s", r, lambda: [split_cached(e, known) for e in again])
    parts = _timed("split_s", r, lambda: [split(e) for e in events])
    r["events"] = len(lines)
    r["payload_bytes"] = sum(map(len, canonical))
    r["skeleton_bytes"] = sum(len(s) for s, _, _ in parts)
    r["refs_per_event"] = round(sum(len([x for x in refs if x]) for _, refs, _ in parts) / len(parts), 2)
    distinct: dict[str, bytes] = {}
    for _, _, blobs in parts:
        distinct.update(blobs)
    r["distinct_blobs"] = len(distinct)
    r["distinct_blob_bytes"] = sum(map(len, distinct.values()))

    # (a) today's events.payload
    db_a = tmp / "a.duckdb"
    con = duckdb.connect(str(db_a))
    con.execute("CREATE TABLE ev (event_hash VARCHAR NOT NULL, payload VARCHAR NOT NULL USING COMPRESSION zstd)")
    stages = [pa.table({"event_hash": hashes[at:at + batch],
                        "payload": [p.decode() for p in canonical[at:at + batch]]})
              for at in range(0, len(lines), batch)]
    _insert(con, r, "a", [("INSERT INTO ev SELECT * FROM stage", {"stage": t}) for t in stages])
    # The other big DuckDB costs of a batch, on the same events.
    _timed("json_transform_payload_s", r, con.execute,
           f"CREATE TEMP TABLE p AS SELECT json_transform(payload, '{_EVENT}') AS e FROM ev")
    _timed("md5_facets_duckdb_s", r, con.execute, _MD5_FACETS)
    duck_hashes = {row[0] for row in con.execute("SELECT DISTINCT h FROM h").fetchall()}
    r["facet_hashes_duckdb"] = len(duck_hashes)
    r["facet_hashes_python_equal"] = len(duck_hashes & set(distinct))
    started = time.perf_counter()
    stored = [row[0] for row in con.execute("SELECT payload FROM ev ORDER BY rowid").fetchall()]
    r["a_read_s"] = round(time.perf_counter() - started, 3)
    r["a_equal"] = sum(s.encode() == c for s, c in zip(stored, canonical, strict=True))
    con.close()
    r["a_db_bytes"] = _db_bytes(db_a)

    # (b) skeleton + facet references + only-new blobs
    db_b = tmp / "b.duckdb"
    con = duckdb.connect(str(db_b))
    con.execute("""CREATE TABLE ev (event_hash VARCHAR NOT NULL,
                   skeleton VARCHAR NOT NULL USING COMPRESSION zstd,
                   refs VARCHAR NOT NULL USING COMPRESSION zstd)""")
    # refs: the facet hashes in reference order, comma-separated, "-" for a facet kept inline
    # (a VARCHAR[] column is not zstd-compressed: the 20k log's store was 2.37 MB with one, vs 2.11 MB
    # for today's payload column).
    con.execute("CREATE TABLE facet_blobs (facet_hash VARCHAR NOT NULL, payload VARCHAR NOT NULL)")
    work = []
    for at in range(0, len(lines), batch):
        chunk = parts[at:at + batch]
        batch_blobs: dict[str, bytes] = {}
        for _, _, blobs in chunk:
            batch_blobs.update(blobs)
        work.append(("INSERT INTO ev SELECT * FROM stage", {"stage": pa.table({
            "event_hash": hashes[at:at + batch], "skeleton": [s.decode() for s, _, _ in chunk],
            "refs": [_join(refs) for _, refs, _ in chunk]})}))
        work.append(("""INSERT INTO facet_blobs SELECT s.facet_hash, s.payload FROM stg_blobs s
                        ANTI JOIN facet_blobs b USING (facet_hash)""", {"stg_blobs": pa.table({
            "facet_hash": list(batch_blobs), "payload": [b.decode() for b in batch_blobs.values()]})}))
    _insert(con, r, "b", work)
    # Prune's reference rule: the blobs the remaining events still refer to.
    _timed("prune_refs_s", r, con.execute, """CREATE TEMP TABLE kept AS
           SELECT DISTINCT ref FROM (SELECT unnest(string_split(refs, ',')) AS ref FROM ev) WHERE ref <> '-'""")
    r["prune_refs_kept"] = con.execute("SELECT count(*) FROM kept").fetchone()[0]
    _timed("json_transform_skeleton_s", r, con.execute,
           f"CREATE TEMP TABLE p AS SELECT json_transform(skeleton, '{_EVENT}') AS e FROM ev")
    started = time.perf_counter()
    rows = con.execute("SELECT skeleton, refs FROM ev ORDER BY rowid").fetchall()
    blob_store = {h: p.encode() for h, p in con.execute("SELECT facet_hash, payload FROM facet_blobs").fetchall()}
    r["b_read_s"] = round(time.perf_counter() - started, 3)
    rebuilt = _timed("b_reconstruct_s", r, lambda: [reconstruct(s, _unjoin(refs), blob_store) for s, refs in rows])
    r["b_equal"] = sum(x == c for x, c in zip(rebuilt, canonical, strict=True))
    con.close()
    r["b_db_bytes"] = _db_bytes(db_b)
    gc.enable()
    return r


def _corpus_root() -> Path:
    return Path(os.environ.get("LINEAGECTL_CORPUS", REPO.parent / "shared" / "corpus")) / "openlineage"


def _corpus_events(root: Path) -> Iterator[tuple[str, bytes, object, object]]:
    """(where, raw text, parsed value, the parsed value of that raw text) of every JSON value of
    the corpus: an NDJSON line or a .json file of one event is its own text; an item of a .json
    array is compared through its whole file."""
    for path in sorted(root.rglob("*")):
        if path.suffix == ".ndjson":
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                if line.strip():
                    value = orjson.loads(line)
                    yield f"{path.relative_to(root)}:{number}", line, value, value
        elif path.suffix == ".json":
            try:
                value = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                continue
            for item in value if isinstance(value, list) else [value]:
                yield str(path.relative_to(root)), path.read_bytes(), item, value


def _raw_differences(raw: bytes, canonical: bytes) -> str:
    """Why a raw event text is not the canonical payload byte for byte (informational: the store
    keeps the canonical form, never the raw text)."""
    if raw.rstrip(b"\r\n") == canonical:
        return "identical"
    reasons = []
    duplicates = False
    numbers: list[str] = []

    def pairs(items: list) -> dict:
        nonlocal duplicates
        duplicates = duplicates or len({k for k, _ in items}) != len(items)
        return dict(items)

    def number(text: str) -> float:
        numbers.append(text)
        return float(text)

    json.loads(raw, object_pairs_hook=pairs, parse_float=number)
    if duplicates:
        reasons.append("duplicate keys (last kept)")
    if any(repr(float(n)) != n for n in numbers):
        reasons.append("number formatting (e.g. 1e3, 1.50)")
    if re.search(rb"\\u(?!00[01][0-9a-fA-F])", raw):  # escapes of control characters stay
        reasons.append("\\u escapes written as UTF-8")
    if re.search(rb"[ \t\r\n]", re.sub(rb'"(?:[^"\\]|\\.)*"', b"", raw.strip())):
        reasons.append("whitespace")
    return ", ".join(reasons) or "other"


# Texts a producer could send that the bench log and the corpus do not hold.
_EDGE_CASES = [
    b'{"eventTime":"2024-01-01T00:00:00Z","run":{"runId":"r","facets":{"a":null,"b":"text","c":1.5e3,'
    b'"d":[1,{"x":1}],"e":{},"f":{"_deleted":true}}},"job":{"namespace":"n","name":"j","facets":{}}}',
    b'{"eventTime":"t","job":{"facets":{"sql":{"query":"\u00e9 \ud83d\ude00","q":1,"q":2}}},'
    b'"inputs":"not a list","outputs":[1,null,{"name":"o","facets":{"s":{"n":18446744073709551615}},'
    b'"outputFacets":{"x":{"y":-0.0}}}],"dataset":{"facets":{"a":{"b":{"c":{"d":[]}}}}}}',
    b'{"eventTime":"t","run":{"facets":{"same":{"v":1},"again":{"v":1}}},"job":"not an object"}',
    b'{"eventTime":"t","run":{"facets":{"big":{"v":1.2345678901234567e+29,"w":1e-7,"x":-0.0}}}}',
]


def edge_cases() -> tuple[int, list[str]]:
    """How many of _EDGE_CASES rebuild byte for byte (all should), and the facets DuckDB renders
    otherwise than orjson (so that its md5 is not Python's)."""
    equal = 0
    payloads = []
    all_blobs: dict[str, bytes] = {}
    for text in _EDGE_CASES:
        canonical = orjson.dumps(orjson.loads(text))
        payloads.append(canonical.decode())
        skeleton, refs, blobs = split(orjson.loads(canonical))
        all_blobs.update(blobs)
        equal += reconstruct(skeleton, refs, blobs) == canonical
    con = duckdb.connect()
    con.register("events", pa.table({"payload": payloads}))
    con.execute(f"CREATE TEMP TABLE p AS SELECT json_transform(payload, '{_EVENT}') AS e FROM events")
    con.execute(_MD5_FACETS)
    duck = {row[0] for row in con.execute("SELECT DISTINCT h FROM h").fetchall()}
    return equal, sorted(blob.decode() for digest, blob in all_blobs.items() if digest not in duck)


def study_corpus(root: Path) -> dict:
    """Round-trip every corpus event: canonical -> skeleton + blobs -> canonical."""
    r: dict = {"events": 0, "round_trip_equal": 0, "failures": [], "raw_vs_canonical": Counter()}
    blobs: dict[str, bytes] = {}
    payloads: list[str] = []
    for where, raw, value, whole in _corpus_events(root):
        if not (isinstance(value, dict) and "eventTime" in value):
            continue  # not an event (schema, expectation, other document)
        r["events"] += 1
        canonical = orjson.dumps(value)
        skeleton, refs, event_blobs = split(orjson.loads(canonical))
        blobs.update(event_blobs)
        if reconstruct(skeleton, refs, blobs) == canonical:
            r["round_trip_equal"] += 1
        else:
            r["failures"].append(where)
        r["raw_vs_canonical"][_raw_differences(raw, orjson.dumps(whole))] += 1
        payloads.append(canonical.decode())
    r["raw_vs_canonical"] = dict(r["raw_vs_canonical"])
    r["distinct_blobs"] = len(blobs)
    # Does DuckDB's md5 of a facet (how facet_blobs is keyed today) equal md5 of orjson's bytes?
    con = duckdb.connect()
    con.register("events", pa.table({"payload": payloads}))
    con.execute(f"CREATE TEMP TABLE p AS SELECT json_transform(payload, '{_EVENT}') AS e FROM events")
    con.execute(_MD5_FACETS)
    duck = {row[0] for row in con.execute("SELECT DISTINCT h FROM h").fetchall()}
    r["facet_hashes_duckdb"] = len(duck)
    r["facet_hashes_python_equal"] = len(duck & set(blobs))
    r["facet_blobs_rendered_differently"] = sorted(
        blob.decode()[:120] for digest, blob in blobs.items() if digest not in duck)[:8]
    return r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=5000, help="events per insert (default 5000)")
    parser.add_argument("--wide", action="store_true", help="bench/ingest.py --wide schemas")
    parser.add_argument("--profile", action="store_true", help="also run bench/profile_ingest.py on the log")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lineagectl-skeleton-") as name:
        tmp = Path(name)
        log = tmp / "events.ndjson"
        generate(log, args.events, args.seed, wide=args.wide)
        figures: dict[str, Any] = {"log": study_log(log, args.batch, tmp)}
        if args.profile:
            env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
            figures["profile"] = subprocess.run(
                [sys.executable, str(REPO / "bench" / "profile_ingest.py"), str(log), "--top", "12"],
                capture_output=True, text=True, env=env, timeout=1800).stdout
    root = _corpus_root()
    equal, rendered = edge_cases()
    figures["edge_cases"] = {"rebuilt": f"{equal}/{len(_EDGE_CASES)}", "duckdb_md5_differs": rendered}
    figures["corpus"] = study_corpus(root) if root.is_dir() else {"skipped": f"no corpus at {root}"}
    profile = figures.pop("profile", None)
    print(json.dumps(figures, indent=1))
    if profile:
        print(profile)
    log_ok = figures["log"]["b_equal"] == figures["log"]["events"]
    corpus = figures["corpus"]
    edges_ok = equal == len(_EDGE_CASES)
    return 0 if log_ok and edges_ok and not corpus.get("failures") else 1


if __name__ == "__main__":
    sys.exit(main())
