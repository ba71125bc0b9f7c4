"""``lineagectl serve`` as a process: signals and exit statuses, tokens from the environment or a
file, refusing to listen openly, and SIGKILL at any moment losing no acknowledged event."""

from __future__ import annotations

import http.client
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

import duckdb
import orjson
import pytest

from conftest import ROOT, run_event, table_counts
from serving import post


class Process:
    """``lineagectl --db DB serve --port 0 ARGS`` started and waited for until it listens."""

    def __init__(self, db: str, *args: str, env: dict | None = None) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_")}
        full_env = {**inherited, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
        # SIGINT as at a terminal: a test run started in the background by a shell without job
        # control (`nohup … &`) inherits SIGINT ignored, and Python then leaves it ignored.
        self.proc = subprocess.Popen([sys.executable, "-m", "lineagectl", "--db", db, "serve", "--port", "0", *args],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=full_env,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.stderr = ""
        deadline = time.monotonic() + 60
        while "listening on" not in self.stderr and time.monotonic() < deadline and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stderr], [], [], 1.0)
            if ready:
                self.stderr += os.read(self.proc.stderr.fileno(), 65536).decode()
        found = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", self.stderr)
        self.port = int(found[1]) if found else None

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def end(self, signum: int | None = signal.SIGTERM) -> tuple[int, str]:
        if signum is not None:
            self.proc.send_signal(signum)
        _, rest = self.proc.communicate(timeout=120)
        return self.proc.returncode, self.stderr + rest.decode()


def test_sigterm_drains_the_spool_and_exits_0(db):
    server = Process(db)
    assert post(server.connection(), orjson.dumps(run_event("r1")))[0] == 201
    status, stderr = server.end(signal.SIGTERM)
    assert status == 0, stderr
    assert "1 events received, 1 new events stored" in stderr
    assert table_counts(db)["events"] == 1


def test_sigint_drains_the_spool_and_exits_130(db):
    server = Process(db)
    assert post(server.connection(), orjson.dumps(run_event("r1")))[0] == 201
    status, stderr = server.end(signal.SIGINT)
    assert status == 130 and "Interrupted." in stderr and "Traceback" not in stderr
    assert table_counts(db)["events"] == 1


def test_a_non_loopback_host_without_a_token_refuses_to_start(db):
    server = Process(db, "--host", "0.0.0.0")
    status, stderr = server.end(None)
    assert status == 2 and server.port is None
    assert "Error: --host 0.0.0.0 listens beyond this machine, and no token is set" in stderr
    assert "--insecure-no-auth" in stderr and "Traceback" not in stderr


def test_the_token_comes_from_the_environment_or_a_file(db, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-the-file\n")
    ways = [((), {"LINEAGECTL_TOKEN": "from-the-env"}, "from-the-env"),
            (("--token-file", str(token_file)), None, "from-the-file")]
    for args, env, token in ways:
        server = Process(db, *args, env=env)
        event = orjson.dumps(run_event(f"r-{token}"))
        assert post(server.connection(), event)[0] == 401
        assert post(server.connection(), event, headers={"Authorization": f"Bearer {token}"})[0] == 201
        assert server.end()[0] == 0
    assert table_counts(db)["events"] == 2


def _produce(server: Process, prefix: str, acknowledged: list[str], stop: threading.Event) -> None:
    """Send events until the server dies, recording the run id of every one answered 201."""
    for i in range(100_000):
        if stop.is_set():
            return
        run_id = f"{prefix}-{i}"
        try:
            conn = server.connection()
            if post(conn, orjson.dumps(run_event(run_id)))[0] == 201:
                acknowledged.append(run_id)
            conn.close()
        except (OSError, http.client.HTTPException):
            return


@pytest.mark.parametrize("rotation", [
    ("--ingest-every", "1s"),  # kills before, around and during the 1 s ingests
    # Only size rotates: a 2 KiB segment (~7 events) is closed and stored many times a second, so
    # kills land mid-rotation, mid-ingest and between an ingest's commit and its delete.
    ("--ingest-every", "1h", "--spool-max-bytes", "2KiB"),
], ids=["by-time", "by-size"])
def test_sigkill_at_any_moment_loses_no_acknowledged_event_and_duplicates_none(db, rotation):
    acknowledged: list[str] = []
    for round_no, delay in enumerate((0.3, 1.1, 2.05)):
        server = Process(db, *rotation)
        stop = threading.Event()
        producers = [threading.Thread(target=_produce, args=(server, f"k{round_no}p{p}", acknowledged, stop))
                     for p in range(4)]
        for producer in producers:
            producer.start()
        time.sleep(delay)
        server.proc.kill()
        server.proc.wait(30)
        stop.set()
        for producer in producers:
            producer.join(30)
    assert len(acknowledged) > 50
    final = Process(db)  # the restart stores what the killed servers acknowledged
    assert final.end()[0] == 0
    con = duckdb.connect(db, read_only=True)
    stored = [row[0] for row in con.execute("SELECT run_id FROM events").fetchall()]
    con.close()
    assert set(acknowledged) <= set(stored)
    assert len(stored) == len(set(stored))  # one event per run id: nothing stored twice


def test_drain_stores_a_left_spool_and_exits_without_listening(db, tmp_path):
    spool = tmp_path / "lineage.duckdb.spool"
    spool.mkdir()
    (spool / "active.ndjson").write_bytes(orjson.dumps(run_event("r1")) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_")}
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "serve", "--drain"], capture_output=True,
                          text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0 and "listening" not in done.stderr, done.stderr
    assert "1 new events stored" in done.stderr
    assert table_counts(db)["events"] == 1 and not (spool / "active.ndjson").exists()
