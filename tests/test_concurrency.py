"""One writer at a time: a second process gets exit 3 naming the holder, or waits with --wait."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import SAMPLE

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def lineagectl(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lineagectl", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


def hold(db, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_process_gets_exit_3_naming_the_holder_or_waits(tmp_path):
    db = tmp_path / "l.duckdb"
    assert lineagectl("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").returncode == 0
    holder = hold(db, 6)
    try:
        busy = lineagectl("--db", db, "stats")
        assert busy.returncode == 3
        assert f"PID {holder.pid}" in busy.stderr and "--wait" in busy.stderr and "Traceback" not in busy.stderr
        short = lineagectl("--db", db, "--wait", "0.3", "ingest", SAMPLE / "ecommerce.ndjson")
        assert short.returncode == 3 and "waited 0.3 s" in short.stderr
        started = time.monotonic()
        waited = lineagectl("--db", db, "--wait", "20", "-q", "ingest", SAMPLE / "ecommerce.ndjson")
        assert waited.returncode == 0, waited.stderr
        assert time.monotonic() - started > 1  # it did wait for the holder
    finally:
        holder.wait(timeout=30)
    # The store is whole: the waiting ingest found everything already there.
    assert '"events": 173' in lineagectl("--db", db, "stats", "-f", "json").stdout
