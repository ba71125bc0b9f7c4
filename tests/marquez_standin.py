"""A stand-in for a running Marquez's event API, for import-marquez's tests: a real stdlib HTTP
server on 127.0.0.1 answering ``GET /api/v1/events/lineage`` as Marquez's
``OpenLineageResource.getLineageEvents`` and ``OpenLineageDao`` do (read from Marquez's source):

- ``after <= event_time < before`` (defaults 1970-01-01 and 2030-01-01), ordered by event_time
  alone, ``desc`` unless ``sortDirection=asc``; ``limit`` (default 100) from ``offset``;
- ``{"events": [...], "totalCount": N}``, events as stored, compact;
- events at the same instant come in a different order on every request (Postgres promises no
  order among ties), so a client paging by offset into ties would skip or repeat some.

It can ask for a bearer token, fail scripted requests (a status, or HTML instead of JSON), and
records every query it was sent. It is Marquez's HTTP API on test data, not a mock of lineagectl.
"""

from __future__ import annotations

import http.server
import random
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import orjson

PATH = "/api/v1/events/lineage"


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Marquez:
    """``Marquez(events)``: serving until ``close()``; ``url`` is its base URL."""

    def __init__(self, events: list[dict], token: str | None = None, seed: int = 7) -> None:
        self.events = [(_instant(e["eventTime"]), orjson.dumps(e)) for e in events]
        self.token = token
        self.queries: list[dict[str, str]] = []
        self.failures: dict[int, int | str] = {}  # request number (1-based) -> status, or "html"
        self.fail_from: tuple[int, int | str] | None = None  # every request from number on
        self.random = random.Random(seed)
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                standin.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.queries.append(query)
        number = len(self.queries)
        failure = self.failures.get(number)
        if self.fail_from is not None and number >= self.fail_from[0]:
            failure = self.fail_from[1]
        if parts.path != PATH:
            return self._send(handler, 404, b'{"code":404,"message":"HTTP 404 Not Found"}')
        if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(handler, 401, b'{"code":401,"message":"Unauthorized"}')
        if failure == "html":
            return self._send(handler, 200, b"<html><body>Marquez UI</body></html>", "text/html")
        if failure is not None:
            return self._send(handler, int(failure), b'{"code":500,"message":"There was an error"}')
        after = _instant(query.get("after", "1970-01-01T00:00:00+00:00"))
        before = _instant(query.get("before", "2030-01-01T00:00:00+00:00"))
        limit, offset = int(query.get("limit", 100)), int(query.get("offset", 0))
        chosen = [(t, self.random.random(), body) for t, body in self.events if after <= t < before]
        descending = query.get("sortDirection", "desc") == "desc"
        chosen.sort(key=lambda item: (item[0], item[1]), reverse=descending)
        page = [body for _, _, body in chosen[offset:offset + limit]]
        body = b'{"events":[' + b",".join(page) + b'],"totalCount":' + str(len(chosen)).encode() + b"}"
        self._send(handler, 200, body)

    @staticmethod
    def _send(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
              content_type: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
