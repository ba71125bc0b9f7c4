"""Bad inputs each get one clear error and change nothing: huge lines, non-manifests, read-only stores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import SAMPLE
from lineagectl.api import ingest, stats


@pytest.fixture
def sample_db(db):
    ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


def test_a_100_mb_line_is_rejected_with_its_place(cli, sample_db, tmp_path):
    path = tmp_path / "huge.ndjson"
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"eventType": "START", "run": {"runId": "x"}, "job": {"name": "' + "a" * 100_000_000 + "\n")
    before = stats(sample_db).payload
    result = cli("--db", sample_db, "ingest", path)
    assert result.exit_code == 1 and f"{path}:1: line longer than 64 MiB" in result.stderr
    assert "Traceback" not in result.stderr and stats(sample_db).payload == before


def test_a_json_file_that_is_not_a_manifest(cli, sample_db, tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
                                "sources": {}}))
    before = stats(sample_db).payload
    result = cli("--db", sample_db, "ingest", path)
    assert result.exit_code == 2 and "not a dbt manifest (no nodes)" in result.stderr
    assert stats(sample_db).payload == before


def test_a_binary_file_is_one_clear_error_not_a_reject_about_utf8(cli, sample_db, tmp_path):
    import gzip
    import sys

    good = (SAMPLE / "ecommerce.ndjson").read_bytes()
    binary = tmp_path / "model.parquet.ndjson"
    binary.write_bytes(b"PAR1\x15\x04\x15\x00" + good[:2000])
    zipped = tmp_path / "python.gz"
    zipped.write_bytes(gzip.compress(Path(sys.executable).resolve().read_bytes()[:100_000]))  # an ELF binary
    utf16 = tmp_path / "utf16-no-bom.ndjson"
    utf16.write_bytes(good.decode().encode("utf-16-le"))
    before = stats(sample_db).payload
    for path in (binary, zipped, utf16):
        result = cli("--db", sample_db, "ingest", path)
        assert result.exit_code == 2, result.stderr
        assert f"Error: {path}: cannot read: not a text file: NUL bytes" in result.stderr
        assert "UTF-16/32 without a byte-order mark" in result.stderr and "UTF-8: surrogates" not in result.stderr
    assert stats(sample_db).payload == before
    assert cli("--db", sample_db, "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0  # text still reads


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_store_is_a_clear_error(cli, sample_db):
    os.chmod(sample_db, 0o444)
    try:
        result = cli("--db", sample_db, "ingest", SAMPLE / "ecommerce.ndjson")
        assert result.exit_code == 2 and "Error: " in result.stderr and "Traceback" not in result.stderr
        assert cli("--db", sample_db, "stats").exit_code == 0  # reading still works
    finally:
        os.chmod(sample_db, 0o644)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB filesystem (tmpfs), where the machine lets the tests mount one."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_is_a_clear_error_and_changes_nothing(cli, small_disk, corpus):
    db = small_disk / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    before = stats(str(db)).payload
    result = cli("--db", db, "ingest", corpus / "dbt" / "fivetran_hubspot.v12.dbt1.11.manifest.json")
    assert result.exit_code == 2 and "No space left on device" in result.stderr, result.stderr
    assert "internal error" not in result.stderr and "Hint: free disk space" in result.stderr
    assert stats(str(db)).payload == before
