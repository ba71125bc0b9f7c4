"""``export --to URL``: replay stored events to another OpenLineage backend over HTTP.

One ``POST {url}/api/v1/lineage`` per event, as the OpenLineage clients send them
(Marquez, DataHub and ``lineagectl serve`` all take it), on one keep-alive
connection. 5xx and 429 answers and dropped connections are retried with
exponential backoff (honouring ``Retry-After``), a bounded number of times; a 4xx
answer is that event's rejection and the replay goes on. Events go oldest first,
so a replay stopped by an unreachable backend resumes with ``--since``.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from lineagectl.errors import InputError

ATTEMPTS = 6
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


def replay(events: Iterable[str], url: str, *, token: str | None = None, timeout: float = 30.0,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """POST each event to ``url``; ``{"sent", "rejected", "rejects": [{"event", "status", "reason"}]}``.

    Raises ``InputError`` for a URL that is not http(s) or when a retriable failure outlasts
    the retries (saying how many events were sent, and the time to resume from).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--to: {url!r} is not an http:// or https:// URL")
    path = parts.path.rstrip("/") + "/api/v1/lineage"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    summary: dict[str, Any] = {"sent": 0, "rejected": 0, "rejects": []}
    try:
        for number, event in enumerate(events, 1):
            status, reason = _post(connection, path, event.encode(), headers, sleep, summary["sent"])
            if status < 300:
                summary["sent"] += 1
            else:
                summary["rejected"] += 1
                if len(summary["rejects"]) < 20:
                    summary["rejects"].append({"event": number, "status": status, "reason": reason})
    finally:
        connection.close()
    return summary


def _post(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str],
          sleep: Callable[[float], None], sent: int) -> tuple[int, str]:
    backoff, last = FIRST_BACKOFF, ""
    for attempt in range(ATTEMPTS):
        try:
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            text = answer.read(4096).decode("utf-8", "replace")
            if answer.status < 500 and answer.status != 429:
                return answer.status, text
            last = f"HTTP {answer.status}"
            wait = _retry_after(answer.getheader("Retry-After"), backoff)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            last, wait = f"{type(exc).__name__}: {exc}", backoff
        if attempt + 1 < ATTEMPTS:
            sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF)
    raise InputError(f"--to: gave up after {ATTEMPTS} attempts ({last}); {sent} events were sent",
                     hint="rerun with --since the time of the last event sent to resume")


def _retry_after(value: str | None, default: float) -> float:
    try:
        return min(max(float(value), 0.0), MAX_BACKOFF) if value else default
    except ValueError:
        return default
