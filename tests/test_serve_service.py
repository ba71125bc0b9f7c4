"""The service files shipped in examples/serve/ start a working receiver: the systemd unit's ExecStart and
the Containerfile's ENTRYPOINT are run as written (their paths moved into a temp dir, the port made free),
an event is sent with the token, and the stop signal each file names drains it into the store."""

from __future__ import annotations

import configparser
import http.client
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from conftest import ROOT, run_event, table_counts
from serving import post

EXAMPLES = ROOT / "examples" / "serve"
TOKEN = "s3cret-token-for-the-service-test"


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(EXAMPLES / "lineagectl.service")
    return unit


def _containerfile() -> dict[str, str]:
    instructions: dict[str, str] = {}
    for line in (EXAMPLES / "Containerfile").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            word, _, rest = line.partition(" ")
            instructions[word] = rest
    return instructions


def _localise(argv: list[str], root: Path, moves: dict[str, Path]) -> list[str]:
    """The command as written, with its absolute paths under ``root`` and a free port."""
    assert Path(argv[0]).name == "lineagectl", argv
    out = [sys.executable, "-m", "lineagectl"]
    for arg in argv[1:]:
        for prefix, target in moves.items():
            if arg.startswith(prefix):
                arg = str(target) + arg[len(prefix):]
        out.append(arg)
    out[out.index("--port") + 1] = "0"
    return out


def _serve_then_stop(argv: list[str], signum: int) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_")}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env={**env, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stderr is not None
    stderr, deadline = "", time.monotonic() + 60
    while "listening on" not in stderr and time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stderr], [], [], 1.0)[0]:
            stderr += os.read(proc.stderr.fileno(), 65536).decode()
    found = re.search(r"listening on https?://[^:]+:(\d+)", stderr)
    assert found, stderr
    conn = http.client.HTTPConnection("127.0.0.1", int(found[1]), timeout=10)
    assert post(conn, orjson.dumps(run_event("r1")))[0] == 401  # the token is required
    conn = http.client.HTTPConnection("127.0.0.1", int(found[1]), timeout=10)
    assert post(conn, orjson.dumps(run_event("r1")), headers={"Authorization": f"Bearer {TOKEN}"})[0] == 201
    proc.send_signal(signum)
    _, rest = proc.communicate(timeout=120)
    return proc.returncode, stderr + rest.decode()


def test_the_systemd_unit_starts_a_receiver_that_drains_on_its_kill_signal(tmp_path):
    service = _unit()["Service"]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "token").write_text(TOKEN + "\n")
    (tmp_path / "state").mkdir()
    argv = _localise(shlex.split(service["ExecStart"]), tmp_path,
                     {"/var/lib/lineagectl": tmp_path / "state", "/etc/lineagectl": tmp_path / "etc"})
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # beyond loopback: the token is what guards it
    status, stderr = _serve_then_stop(argv, getattr(signal, service["KillSignal"]))
    assert status == 0, stderr
    assert table_counts(str(tmp_path / "state" / "lineage.duckdb"))["events"] == 1
    # The store's directory is the one the unit lets the service write, and stop waits for the drain.
    assert service["ReadWritePaths"] == service["WorkingDirectory"] == "/var/lib/lineagectl"
    assert int(service["TimeoutStopSec"]) >= 60


def test_the_container_entrypoint_starts_a_receiver_that_drains_on_its_stop_signal(tmp_path):
    instructions = _containerfile()
    entrypoint = json.loads(instructions["ENTRYPOINT"])
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "lineagectl_token").write_text(TOKEN)
    (tmp_path / "data").mkdir()
    argv = _localise(entrypoint, tmp_path, {"/data": tmp_path / "data", "/run/secrets": tmp_path / "secrets"})
    status, stderr = _serve_then_stop(argv, getattr(signal, instructions["STOPSIGNAL"]))
    assert status == 0, stderr
    assert table_counts(str(tmp_path / "data" / "lineage.duckdb"))["events"] == 1
    assert instructions["VOLUME"] == "/data" and instructions["EXPOSE"] == "5000"


@pytest.mark.parametrize("name", ["lineagectl.service", "Containerfile"])
def test_the_service_files_are_in_the_docs(name):
    assert f"examples/serve/{name}" in (ROOT / "docs" / "serve.md").read_text()
