"""``import-marquez URL`` against a stand-in of Marquez's event API (``marquez_standin``: a real
HTTP server answering as Marquez's code does, ties in random order) serving real logs: Marquez's
own seed (26 events, 13 of them at one instant) and the sample (173). The store ends as ingesting
the log directly leaves it; a re-run adds nothing; a failure keeps the pages stored before it and
names the URL, the status and the ``--since`` that resumes."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import pytest

from conftest import SAMPLE, require_corpus
from lineagectl import api
from marquez_standin import Marquez


def _events(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _stats(db: str) -> dict:
    return {k: v for k, v in api.stats(db).payload.items() if k != "db_bytes"}


def _reference(tmp_path: Path, log: Path) -> dict:
    db = str(tmp_path / "reference.duckdb")
    api.ingest([str(log)], db)
    return _stats(db)


@pytest.fixture
def seed_log() -> Path:
    return require_corpus() / "openlineage" / "marquez-seed" / "metadata.ndjson"


def test_marquezs_seed_in_small_pages_with_ties_lands_whole_and_a_rerun_adds_nothing(tmp_path, seed_log):
    marquez = Marquez(_events(seed_log))
    db = str(tmp_path / "imported.duckdb")
    try:
        done = api.import_marquez(marquez.url, db, page_size=5)
        assert _stats(db) == _reference(tmp_path, seed_log)
        assert done["events_new"] == 26 and done["events_rejected"] == 0
        assert done["next_since"] == "2020-02-22T22:58:02.000000Z"  # the latest event time
        # Every request as Marquez reads it: both bounds, ascending, no offsets into ties.
        assert all(q["sortDirection"] == "asc" and q["offset"] == "0" and "before" in q and "after" in q
                   for q in marquez.queries)
        # The 13 events at 22:42:42 fill whole pages: that instant is fetched whole, then passed.
        instant = [q for q in marquez.queries if q["before"] == "2020-02-22T22:42:42.000001Z"]
        assert [q["limit"] for q in instant] == ["10", "20"]
        again = api.import_marquez(marquez.url, db, page_size=5)
        assert again["events_new"] == 0 and again["events_duplicate"] == again["events_read"] >= 26
        assert _stats(db) == _reference(tmp_path, seed_log)
    finally:
        marquez.close()


def test_an_until_right_after_a_crowded_instant_ends_there(tmp_path, seed_log):
    marquez = Marquez(_events(seed_log))
    try:
        done = api.import_marquez(marquez.url, str(tmp_path / "x.duckdb"), page_size=5,
                                  until="2020-02-22T22:42:42.000001Z")
    finally:
        marquez.close()
    assert (done["pages"], done["events_new"]) == (1, 13)  # the 13 events of that instant, nothing after
    assert len(marquez.queries) == 3  # a page of 5, the instant with limits 10 and 20: then done


def test_the_sample_through_the_cli_with_since_and_until_in_two_runs(cli, tmp_path):
    log = SAMPLE / "ecommerce.ndjson"
    events = _events(log)
    times = sorted(e["eventTime"] for e in events)
    middle = times[len(times) // 2]
    marquez = Marquez(events)
    db = str(tmp_path / "imported.duckdb")
    try:
        first = cli("--db", db, "import-marquez", marquez.url, "--until", middle, "--page-size", "7")
        assert first.exit_code == 0, first.stderr
        assert _stats(db)["events"] == sum(t < middle for t in times)
        second = cli("--db", db, "import-marquez", marquez.url, "--since", middle, "--page-size", "7", "-f", "json")
        assert second.exit_code == 0, second.stderr
        report = json.loads(second.stdout)
        assert report["events_new"] == sum(t >= middle for t in times) and report["events_rejected"] == 0
    finally:
        marquez.close()
    assert _stats(db) == _reference(tmp_path, log)
    assert f"{sum(t >= middle for t in times)} new" in second.stderr
    latest = datetime.fromisoformat(times[-1].replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert second.stderr.rstrip().endswith(f"to continue later: --since {latest}")


def test_a_failure_mid_way_keeps_the_pages_stored_and_says_where_to_resume(cli, tmp_path, seed_log):
    marquez = Marquez(_events(seed_log))
    marquez.fail_from = (4, 500)  # Marquez breaks down after three requests
    db = str(tmp_path / "imported.duckdb")
    try:
        broken = cli("--db", db, "import-marquez", marquez.url, "--page-size", "5", "--retries", "1")
        assert broken.exit_code == 2 and "Traceback" not in broken.stderr
        assert f"Error: import-marquez: {marquez.url}/api/v1/events/lineage?after=" in broken.stderr
        assert "HTTP 500 (after 2 attempts)" in broken.stderr
        assert len(marquez.queries) == 5  # 3 answered, then the failing request twice
        stored = _stats(db)["events"]
        resume = broken.stderr.split("to resume: --since ")[1].split()[0]
        assert stored >= 5 and "pages (" in broken.stderr
        marquez.fail_from = None
        resumed = cli("--db", db, "import-marquez", marquez.url, "--page-size", "5", "--since", resume)
        assert resumed.exit_code == 0, resumed.stderr
    finally:
        marquez.close()
    assert _stats(db) == _reference(tmp_path, seed_log)


def test_refused_connections_http_errors_and_non_json_are_exit_2_naming_url_and_status(cli, tmp_path, seed_log):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    db = str(tmp_path / "imported.duckdb")
    refused = cli("--db", db, "import-marquez", f"http://127.0.0.1:{closed}", "--retries", "0")
    assert refused.exit_code == 2 and f"http://127.0.0.1:{closed}/api/v1/events/lineage?" in refused.stderr
    assert "ConnectionRefusedError" in refused.stderr and "nothing was stored" in refused.stderr

    marquez = Marquez(_events(seed_log), token="marquez-key")
    try:
        no_token = cli("--db", db, "import-marquez", marquez.url)
        assert no_token.exit_code == 2 and "HTTP 401" in no_token.stderr and "--token-file" in no_token.stderr
        wrong_path = cli("--db", db, "import-marquez", marquez.url + "/marquez")
        assert wrong_path.exit_code == 2 and f"{marquez.url}/marquez/api/v1/events/lineage?" in wrong_path.stderr
        assert "HTTP 404" in wrong_path.stderr
        key = tmp_path / "marquez.token"
        key.write_text("marquez-key\n", encoding="utf-8")
        marquez.failures = {len(marquez.queries) + 1: "html"}
        html = cli("--db", db, "import-marquez", marquez.url, "--token-file", str(key))
        assert html.exit_code == 2 and "the answer is not JSON (text/html" in html.stderr
        assert not Path(db).exists()  # nothing was stored by any of these
        ok = cli("--db", db, "import-marquez", marquez.url, "--token-file", str(key))
        assert ok.exit_code == 0, ok.stderr
    finally:
        marquez.close()
    assert _stats(db)["events"] == 26


def test_a_rejected_event_is_named_by_page_and_number_and_exits_1(cli, tmp_path, seed_log):
    events = _events(seed_log)
    events.insert(0, {**events[0], "run": {}})  # no runId: ingest rejects it
    marquez = Marquez(events)
    db = str(tmp_path / "imported.duckdb")
    try:
        done = cli("--db", db, "import-marquez", marquez.url, "--page-size", "100")
    finally:
        marquez.close()
    assert done.exit_code == 1
    assert "page 1: event #" in done.stderr and "runId" in done.stderr
    assert "1 rejected" in done.stderr and _stats(db)["events"] == 26


def test_the_help_examples_run_against_the_stand_in(tmp_path, seed_log):
    """The examples ``import-marquez --help`` shows (left out of test_help_examples, which has no
    Marquez), each run with its URL pointing at the stand-in and its token file present."""
    import re

    from example_runner import run, shim
    from test_help_examples import help_examples

    marquez = Marquez(_events(seed_log))
    (tmp_path / "key").write_text("marquez-key\n", encoding="utf-8")
    try:
        examples = help_examples(["import-marquez"])
        assert len(examples) == 2
        for example, _ in examples:
            line = re.sub(r"http://localhost:5000", marquez.url, example)
            ran = run(line, tmp_path, shim(tmp_path))
            assert ran.exit_code == 0, f"{line}\n{ran.stderr}"
    finally:
        marquez.close()
    assert _stats(str(tmp_path / "lineage.duckdb"))["events"] == 26
