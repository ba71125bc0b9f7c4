"""``lineagectl doctor`` says which store and policy are used, from where, and whether they work."""

from __future__ import annotations

import json

from conftest import SAMPLE


def checks(result) -> dict:
    return {c["check"]: c for c in json.loads(result.stdout)}


def test_doctor_names_each_setting_and_its_source(cli, tmp_path, monkeypatch):
    db = tmp_path / "d.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    monkeypatch.setenv("LINEAGECTL_DB", str(db))
    monkeypatch.setenv("LINEAGECTL_POLICY", str(SAMPLE / "lineagectl.yaml"))
    result = cli("doctor", "-f", "json")
    assert result.exit_code == 0, result.stderr
    found = checks(result)
    assert (found["store"]["value"], found["store"]["source"]) == (str(db), "$LINEAGECTL_DB")
    assert "13 datasets" in found["store"]["detail"]
    assert found["policy"]["source"] == "$LINEAGECTL_POLICY" and found["policy"]["detail"].startswith("valid")
    variables = [c["value"] for c in json.loads(result.stdout) if c["check"] == "variable"]
    assert f"LINEAGECTL_DB={db}" in variables
    assert any(c["value"].startswith("duckdb ") for c in json.loads(result.stdout) if c["check"] == "package")


def test_doctor_exits_2_naming_what_is_unusable(cli, tmp_path):
    broken = tmp_path / "bad.yaml"
    broken.write_text("regions: [oops\n", encoding="utf-8")
    result = cli("--db", tmp_path / "missing.duckdb", "--policy", broken, "config", "-f", "json")
    assert result.exit_code == 2
    found = checks(result)
    assert found["store"]["detail"].startswith("unusable: database") and "does not exist" in found["store"]["detail"]
    assert found["policy"]["detail"].startswith("unusable:")


def test_doctor_finds_the_nearest_config_and_its_db(cli, tmp_path, monkeypatch):
    db = tmp_path / "project" / "lineage-store.duckdb"
    db.parent.mkdir()
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    (tmp_path / "project" / "lineagectl.yaml").write_text("db: lineage-store.duckdb\n", encoding="utf-8")
    (tmp_path / "project" / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "project" / "deep" / "er")
    monkeypatch.delenv("LINEAGECTL_DB", raising=False)
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    found = checks(cli("doctor", "-f", "json"))
    assert found["store"]["value"] == str(db) and found["store"]["source"].startswith("db: in ")
    assert found["policy"]["source"] == "the nearest lineagectl.yaml"
