"""Opening stores: creation, schema versions and migration, foreign files."""

from __future__ import annotations

import os
import re

import duckdb
import pytest

from conftest import events_as_in_version_5, run_event, stored_events, write_ndjson
from lineagectl.api import export, ingest, migrate, stats
from lineagectl.errors import DatabaseError, DatabaseMissingError
from lineagectl.store import Store, open_store
from lineagectl.store import skeleton as skeleton_module
from lineagectl.store.schema import SCHEMA_VERSION


def _set_version(db, version):
    con = duckdb.connect(db)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
    con.close()


def test_readers_never_create_a_store(tmp_path):
    with pytest.raises(DatabaseMissingError):
        stats(str(tmp_path / "none.duckdb"))
    assert not (tmp_path / "none.duckdb").exists()


def test_a_directory_given_as_the_store_says_so(tmp_path, cli):
    # Was "cannot open database DIR: IO Error: Could not read from file …: Is a directory", no hint.
    for args in (("stats",), ("ingest", write_ndjson(tmp_path / "e.ndjson", [run_event("r1")]))):
        done = cli("--db", tmp_path, *args)
        assert done.exit_code == 2
        assert f"{tmp_path} is a directory, not a store file" in done.stderr
        assert f"--db {tmp_path / 'lineage.duckdb'}" in done.stderr
    with pytest.raises(DatabaseError, match="is a directory"):
        stats(str(tmp_path))


def test_newer_schema_is_refused_by_readers_and_writers(db):
    migrate(db)
    _set_version(db, SCHEMA_VERSION + 1)
    with pytest.raises(DatabaseError, match="newer than this lineagectl"):
        stats(db)
    with pytest.raises(DatabaseError) as info, open_store(db, write=True):
        pass
    assert info.value.hint == "upgrade lineagectl"


def test_older_schema_asks_readers_to_migrate_and_writers_upgrade_it(db):
    migrate(db)
    events_as_in_version_5(db)  # SCHEMA_VERSION - 1's shape
    with pytest.raises(DatabaseError) as info:
        stats(db)
    assert "lineagectl migrate" in info.value.hint
    assert migrate(db).version == SCHEMA_VERSION
    assert stats(db).payload["schema_version"] == SCHEMA_VERSION


def _compression(con, column="payload"):
    return {row[0] for row in con.execute(
        "SELECT compression FROM pragma_storage_info('events') WHERE column_name = ?"
        " AND compression <> 'Constant'", [column]).fetchall()}


def test_a_version_2_store_keeps_its_events_when_migrated_to_zstd_payloads(tmp_path, db, monkeypatch):
    # Migration 6 in parts of 7 events, over rows migration 3 rewrote in the same transaction
    # (rowids from 2^62 up).
    monkeypatch.setattr(skeleton_module, "MIGRATION_CHUNK", 7)
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event(f"r{i}", outputs=[("ns", f"t{i}")]) for i in range(50)])], db)
    events_as_in_version_5(db)
    con = duckdb.connect(db)
    # Version 2 stored payloads with DuckDB's default string compression.
    con.execute("CREATE TABLE old AS SELECT * FROM events")
    con.execute("DROP TABLE events")
    con.execute("ALTER TABLE old RENAME TO events")
    con.execute("CHECKPOINT")
    assert _compression(con) != {"ZSTD"}
    before = con.execute("SELECT event_hash, payload FROM events ORDER BY event_hash").fetchall()
    con.close()
    _set_version(db, 2)
    assert migrate(db).version == SCHEMA_VERSION
    assert sorted(stored_events(db)) == before
    con = duckdb.connect(db)
    con.execute("CHECKPOINT")
    assert _compression(con, "skeleton") == _compression(con, "facet_refs") == {"ZSTD"}
    con.close()


def test_a_foreign_duckdb_file_is_not_touched(tmp_path):
    path = str(tmp_path / "other.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE mine (x INT)")
    con.close()
    with pytest.raises(DatabaseError, match="not a lineagectl store"), open_store(path, write=True):
        pass
    con = duckdb.connect(path, read_only=True)
    assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("mine",)]
    con.close()


def test_a_version_3_store_gains_the_file_ledger_when_migrated(tmp_path, db):
    (tmp_path / "spool").mkdir()
    write_ndjson(tmp_path / "spool" / "e.ndjson", [run_event("r1")])
    path = str(tmp_path / "spool")
    ingest([path], db)
    events_as_in_version_5(db)
    con = duckdb.connect(db)
    con.execute("DROP TABLE ingested_files")  # as version 3 had it
    con.close()
    _set_version(db, 3)
    assert migrate(db).version == SCHEMA_VERSION
    assert ingest([path], db).events_duplicate == 1  # no record from before: read again
    assert ingest([path], db).files_skipped == 1


def test_a_version_4_store_gains_the_ledgers_inode_and_ctime(tmp_path, db):
    (tmp_path / "spool").mkdir()
    write_ndjson(tmp_path / "spool" / "e.ndjson", [run_event("r1")])
    path = str(tmp_path / "spool")
    ingest([path], db)
    events_as_in_version_5(db)
    con = duckdb.connect(db)
    con.execute("ALTER TABLE ingested_files DROP COLUMN inode")  # as version 4 had it
    con.execute("ALTER TABLE ingested_files DROP COLUMN ctime_ns")
    con.close()
    _set_version(db, 4)
    assert migrate(db).version == SCHEMA_VERSION
    assert ingest([path], db).events_duplicate == 1  # recorded without an inode: read once more
    assert ingest([path], db).files_skipped == 1


def test_names_holding_the_id_separator_never_share_an_id(tmp_path, db):
    pairs = [("a\x1fb", "c"), ("a", "b\x1fc"), ("a\x1fb\x1fc", ""), ("x", "y")]
    events = [run_event(f"r{i}", job=f"j\x1f{i}", job_ns=ns, outputs=[(ns, name)]) for i, (ns, name) in enumerate(pairs)]
    ingest([write_ndjson(tmp_path / "sep.ndjson", events)], db)
    con = duckdb.connect(db, read_only=True)
    stored = con.execute("SELECT namespace, name, dataset_id FROM datasets").fetchall()
    con.close()
    assert sorted((ns, name) for ns, name, _ in stored) == sorted(p for p in pairs if p[1])
    assert len({i for _, _, i in stored}) == len(stored)
    # A dataset without the separator keeps the id every earlier version gave it.
    plain = duckdb.connect()
    expected = plain.execute("SELECT (md5_number_lower('x' || chr(31) || 'y') >> 1)::BIGINT").fetchall()[0][0]
    assert ("x", "y", expected) in stored


def _schema_5_store(tmp_path, db: str, count: int = 400) -> list[str]:
    """A store of ``count`` events with ~2 KB facets, in schema 5's shape; returns their export."""
    notes = "x" * 2_000
    events = [run_event(f"r{i}", run_facets={"notes": {"_producer": "t", "_schemaURL": "t", "text": f"{i}{notes}"}})
              for i in range(count)]
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    exported = sorted(export(db))
    events_as_in_version_5(db)
    return exported


def test_migrate_compacts_the_file_the_upgrade_left_with_free_space(tmp_path):
    # Schema 6 rewrites every stored event as a skeleton: the old rows' blocks stay in the file
    # as free space unless it is compacted.
    compacted, kept = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")
    exported = _schema_5_store(tmp_path, compacted)
    _schema_5_store(tmp_path, kept)
    report = migrate(compacted)
    plain = migrate(kept, compact=False)
    assert (report.version, report.upgraded_from, report.compact_error) == (SCHEMA_VERSION, 5, None)
    assert (plain.upgraded_from, plain.bytes_after) == (5, os.path.getsize(kept))
    assert report.bytes_after == os.path.getsize(compacted) < plain.bytes_after
    assert sorted(export(compacted)) == exported  # nothing lost in the copy
    # A store already current is neither upgraded nor rewritten.
    again = migrate(compacted)
    assert (again.upgraded_from, again.bytes_before, again.bytes_after) == (None, report.bytes_after,
                                                                            report.bytes_after)


def test_migrate_on_a_store_the_caller_holds_open_says_it_was_not_compacted(tmp_path, db):
    _schema_5_store(tmp_path, db, count=20)
    with Store(db, write=True) as handle:
        report = migrate(handle)
        assert (report.upgraded_from, report.version) == (5, SCHEMA_VERSION)
        assert report.compact_error == "the store is held open by the caller, so its file was not compacted"


def test_the_migrate_command_says_what_it_upgraded_and_the_sizes(tmp_path, db, cli):
    _schema_5_store(tmp_path, db, count=50)
    size = os.path.getsize(db)
    done = cli("--db", db, "migrate")
    assert done.exit_code == 0, done.stderr
    found = re.search(r"store upgraded from schema 5 to (\d+); store file: ([\d,]+) -> ([\d,]+) bytes", done.stderr)
    assert found is not None, done.stderr
    version, before, after = (int(group.replace(",", "")) for group in found.groups())
    assert (version, before, after) == (SCHEMA_VERSION, size, os.path.getsize(db))
    assert done.stdout == ""
    done = cli("--db", db, "migrate")
    assert done.stderr.strip() == f"store schema is at version {SCHEMA_VERSION}"
