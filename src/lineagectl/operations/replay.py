"""``export --to URL``: replay stored events to another OpenLineage backend over HTTP.

Batches of ``batch_size`` events go to the spec's ``POST {url}/api/v1/lineage/batch``
(a JSON array; the answer's ``failed_events`` name each refused element, ``retriable``
or not). A receiver without that endpoint (404 or 405: Marquez, older servers) gets
one ``POST {url}/api/v1/lineage`` per event instead, as the OpenLineage clients send
them, for the rest of the replay. A batch refused whole (400 from an all-or-nothing
receiver, 413, 401…) is sent again one event per request, so each event gets its own
answer. All on one keep-alive connection (``common.http_client``: 5xx, 429 and lost
connections retried with backoff). A 4xx answer to one event is that event's
rejection and the replay goes on; elements a batch answer calls retriable are sent
again, with backoff, as many times as requests are retried.

Events go oldest first (event time, then event hash: one total order), so a replay
stopped by an unreachable backend resumes from a ``checkpoint`` (``--resume FILE``),
or with ``--since``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import orjson

from lineagectl.common.http_client import RETRIES, Answer, Backend, GaveUp
from lineagectl.errors import InputError
from lineagectl.operations.checkpoint import Checkpoint

LINEAGE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"
JSON = {"Content-Type": "application/json"}
NO_BATCH_ENDPOINT = (404, 405)
SHOWN_REJECTS = 20

Item = tuple[Any, str]
"""An event to send: its place in the replay's order (for the checkpoint; None: untracked) and its JSON."""


class _Replay:
    def __init__(self, backend: Backend, checkpoint: Checkpoint | None, sleep: Callable[[float], None],
                 retries: int) -> None:
        self.backend = backend
        self.checkpoint = checkpoint
        self.sleep = sleep
        self.retries = retries
        self.summary: dict[str, Any] = {"sent": 0, "rejected": 0, "rejects": [], "requests": 0, "batch": None}
        self.number = 0  # events handled so far in this run (rejects are numbered by it)

    def post(self, path: str, body: bytes) -> Answer:
        self.summary["requests"] += 1
        try:
            return self.backend.request("POST", path, body=body, headers=JSON)
        except GaveUp as exc:
            where = (f"rerun with --resume {self.checkpoint.path} to continue" if self.checkpoint is not None
                     else "rerun with --since the time of the last event sent to resume")
            raise InputError(f"--to: gave up after {exc.attempts} attempts ({exc.reason}); "
                             f"{self.summary['sent']} events were sent", hint=where) from None

    def reject(self, number: int, status: int | None, reason: str) -> None:
        self.summary["rejected"] += 1
        if len(self.summary["rejects"]) < SHOWN_REJECTS:
            self.summary["rejects"].append({"event": number, "status": status, "reason": reason[:4096]})

    def done(self, items: list[Item], sent: int, rejected: int) -> None:
        """``items`` were all answered: count them and move the checkpoint past them."""
        self.summary["sent"] += sent
        self.number += len(items)
        if self.checkpoint is not None and items and items[-1][0] is not None:
            self.checkpoint.advance(items[-1][0], sent, rejected)

    def one_by_one(self, items: list[Item]) -> None:
        for place, event in items:
            answer = self.post(LINEAGE, event.encode())
            if answer.status < 300:
                self.done([(place, event)], 1, 0)
            else:
                self.reject(self.number + 1, answer.status, answer.body[:4096].decode("utf-8", "replace"))
                self.done([(place, event)], 0, 1)

    def batch(self, items: list[Item]) -> bool:
        """Send ``items`` to the batch endpoint; False if the receiver has none (nothing was sent)."""
        pending = list(range(len(items)))  # indexes into items still to be accepted
        refused: dict[int, str] = {}
        backoff = 0.5
        for attempt in range(self.retries + 1):
            body = b"[" + b",".join(items[i][1].encode() for i in pending) + b"]"
            answer = self.post(BATCH, body)
            if answer.status in NO_BATCH_ENDPOINT and self.summary["batch"] is None:
                self.summary["batch"] = False
                return False
            if answer.status >= 300:  # refused whole: each event gets its own answer
                self.one_by_one([items[i] for i in pending])
                return True
            self.summary["batch"] = True
            retriable = []
            for failure in _failed_events(answer.body, len(pending)):
                index = pending[failure["index"]]
                if failure["retriable"]:
                    retriable.append(index)
                else:
                    refused[index] = failure["reason"]
            if not retriable:
                break
            if attempt == self.retries:
                raise InputError(f"--to: {len(retriable)} events of a batch were still refused as retriable after "
                                 f"{self.retries + 1} attempts ({_reason(answer.body, retriable, pending)}); "
                                 f"{self.summary['sent']} events were sent",
                                 hint=f"rerun with --resume {self.checkpoint.path} to continue"
                                 if self.checkpoint is not None else "rerun with --since to resume")
            pending = retriable
            self.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
        for index in sorted(refused):
            self.reject(self.number + index + 1, None, refused[index])
        self.done(items, len(items) - len(refused), len(refused))
        return True


def _failed_events(body: bytes, count: int) -> list[dict[str, Any]]:
    """The ``failed_events`` of a batch answer, checked; an answer without them accepted all."""
    try:
        answer = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        return []
    failed = answer.get("failed_events") if isinstance(answer, dict) else None
    found = []
    for failure in failed if isinstance(failed, list) else []:
        index = failure.get("index") if isinstance(failure, dict) else None
        if isinstance(index, int) and 0 <= index < count:
            found.append({"index": index, "reason": str(failure.get("reason") or "refused"),
                          "retriable": bool(failure.get("retriable"))})
    return found


def _reason(body: bytes, retriable: list[int], pending: list[int]) -> str:
    for failure in _failed_events(body, len(pending)):
        if pending[failure["index"]] in retriable:
            return str(failure["reason"])[:200]
    return "retriable"


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def replay(events: Iterable[Item], url: str, *, token: str | None = None, timeout: float = 30.0,
           retries: int = RETRIES, batch_size: int = 1, checkpoint: Checkpoint | None = None,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Send ``events`` (``(place, json)`` pairs, oldest first) to the backend at ``url``.

    Returns ``{"sent", "rejected", "rejects": [{"event", "status", "reason"}], "requests",
    "batch"}`` (``batch``: True if the batch endpoint took them, False if the receiver has
    none, None if not tried); ``status`` is None for an element a batch answer refused.
    Raises ``InputError`` for a URL that is not http(s) or when a retriable failure outlasts
    the retries (saying how many events were sent, and how to resume). ``checkpoint``
    follows every answer and is saved however the replay ends.
    """
    if batch_size < 1:
        raise InputError("--batch-size must be 1 or more")
    backend = Backend(url, "--to", token=token, timeout=timeout, retries=retries, sleep=sleep)
    run = _Replay(backend, checkpoint, sleep, retries)
    batching = batch_size > 1
    try:
        for chunk in _chunks(events, batch_size):
            if not (batching and run.batch(chunk)):
                batching = False
                run.one_by_one(chunk)
    finally:
        backend.close()
        if checkpoint is not None:
            checkpoint.save()
    return run.summary
