"""``export --to URL``: replay stored events to another OpenLineage backend over HTTP.

One ``POST {url}/api/v1/lineage`` per event, as the OpenLineage clients send them
(Marquez, DataHub and ``lineagectl serve`` all take it), on one keep-alive
connection (``http_client``: retries of 5xx/429 and dropped connections with
backoff). A 4xx answer is that event's rejection and the replay goes on. Events
go oldest first, so a replay stopped by an unreachable backend resumes with ``--since``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from lineagectl.common.http_client import RETRIES, Backend, GaveUp
from lineagectl.errors import InputError

LINEAGE = "/api/v1/lineage"
JSON = {"Content-Type": "application/json"}


def replay(events: Iterable[str], url: str, *, token: str | None = None, timeout: float = 30.0,
           retries: int = RETRIES, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """POST each event to ``url``; ``{"sent", "rejected", "rejects": [{"event", "status", "reason"}]}``.

    Raises ``InputError`` for a URL that is not http(s) or when a retriable failure outlasts
    the retries (saying how many events were sent, and the time to resume from).
    """
    backend = Backend(url, "--to", token=token, timeout=timeout, retries=retries, sleep=sleep)
    summary: dict[str, Any] = {"sent": 0, "rejected": 0, "rejects": []}
    try:
        for number, event in enumerate(events, 1):
            try:
                answer = backend.request("POST", LINEAGE, body=event.encode(), headers=JSON)
            except GaveUp as exc:
                raise InputError(f"--to: gave up after {exc.attempts} attempts ({exc.reason}); "
                                 f"{summary['sent']} events were sent",
                                 hint="rerun with --since the time of the last event sent to resume") from None
            if answer.status < 300:
                summary["sent"] += 1
            else:
                summary["rejected"] += 1
                if len(summary["rejects"]) < 20:
                    summary["rejects"].append({"event": number, "status": answer.status,
                                               "reason": answer.body[:4096].decode("utf-8", "replace")})
    finally:
        backend.close()
    return summary
