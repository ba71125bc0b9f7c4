"""A real ``lineagectl serve`` on 127.0.0.1 (an ephemeral port) for the tests, and raw HTTP to it."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

import orjson

from lineagectl import api


class Running:
    """``api.serve`` on a thread; ``stop()`` drains the spool into the store and returns its counts."""

    def __init__(self, db: str, **options) -> None:
        self.db = db
        self.stop_event = threading.Event()
        self.address: tuple[str, int] | None = None
        self.listening = threading.Event()
        self.lines: list[str] = []
        self.counts: dict | None = None
        self.error: BaseException | None = None
        options.setdefault("ingest_every", "1h")
        self._thread = threading.Thread(target=self._run, args=(options,), daemon=True)
        self._thread.start()
        if not self.listening.wait(30):
            raise RuntimeError(f"the server did not start: {self.error!r}")

    def _run(self, options: dict) -> None:
        def ready(host: str, port: int) -> None:
            self.address = (host, port)
            self.listening.set()

        try:
            self.counts = api.serve(self.db, port=0, stop=self.stop_event, ready=ready, log=self.lines.append,
                                    access_log=self.lines.append, **options)
        except BaseException as exc:  # reported by the test that started it
            self.error = exc
            self.listening.set()

    @property
    def port(self) -> int:
        assert self.address is not None, self.error
        return self.address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> dict:
        self.stop_event.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "the server did not stop"
        if self.error is not None:
            raise self.error
        assert self.counts is not None
        return self.counts


def post(conn: http.client.HTTPConnection, body: bytes, path: str = "/api/v1/lineage",
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    """POST ``body`` on ``conn``; (status, headers, body) of the answer."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    conn.request("POST", path, body=body, headers=sent)
    answer = conn.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def wait_for(condition, seconds: float = 20.0) -> bool:
    """Poll ``condition`` for at most ``seconds``; whether it became true (a bounded loop)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def health(server: Running) -> dict:
    conn = server.connection()
    try:
        conn.request("GET", "/api/v1/health")
        return orjson.loads(conn.getresponse().read())
    finally:
        conn.close()


def event_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]
