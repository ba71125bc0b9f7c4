"""The resume checkpoint of ``export --to URL --resume FILE``: the last event the backend acknowledged.

Events are replayed in one total order (event time, then event hash), so one place in it
says what is done: every event up to it was answered (stored, or refused for good and
reported). A re-run with the same file continues right after it. The file also records the
URL and filters it was made for; another replay refuses it rather than skip events that were
never sent. It is rewritten (to a temporary file, then renamed: never half-written) after
each answer, at most every ``INTERVAL`` seconds, and when the replay ends or fails; a replay
killed in between resends at most that interval's events, which a receiver that deduplicates
(``lineagectl serve``) stores once.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from lineagectl.errors import InputError

INTERVAL = 0.2
VERSION = 1


class Checkpoint:
    """The checkpoint file ``path`` of a replay described by ``identity`` (URL and filters)."""

    def __init__(self, path: Path, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity
        self.after: tuple[datetime, str] | None = None
        self.sent = 0
        self.rejected = 0
        self._written = 0.0
        self._pending = False
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            saved = orjson.loads(self.path.read_bytes())
            if saved.get("version") != VERSION:
                raise ValueError("unknown version")
            identity, place = saved["replay"], saved["after"]
            self.sent, self.rejected = int(saved["sent"]), int(saved["rejected"])
            after = None if place is None else (datetime.fromisoformat(place["event_time"]), str(place["event_hash"]))
        except OSError as exc:
            raise InputError(f"--resume {self.path}: cannot read: {exc.strerror}") from None
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"--resume {self.path}: not a checkpoint of export --to",
                             hint="give a new file name, or delete this one to start over") from None
        if identity != self.identity:
            keys = {*identity, *self.identity}
            different = ", ".join(sorted(k for k in keys if identity.get(k) != self.identity.get(k)))
            raise InputError(f"--resume {self.path}: made for another replay (a different {different})",
                             hint="use the same --to and filters as the first run, or another checkpoint file")
        self.after = after

    def advance(self, place: tuple[datetime, str], sent: int, rejected: int) -> None:
        """Every event up to ``place`` was answered; ``sent``/``rejected`` of them since the last call."""
        self.after = place
        self.sent += sent
        self.rejected += rejected
        self._pending = True
        if time.monotonic() - self._written >= INTERVAL:
            self.save()

    def save(self) -> None:
        """Write the checkpoint now (atomically), if it changed since it was last written."""
        if not self._pending and self.path.exists():
            return
        place = None if self.after is None else {"event_time": self.after[0].isoformat(timespec="microseconds"),
                                                 "event_hash": self.after[1]}
        text = orjson.dumps({"version": VERSION, "replay": self.identity, "after": place,
                             "sent": self.sent, "rejected": self.rejected}, option=orjson.OPT_INDENT_2)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            temporary.write_bytes(text + b"\n")
            os.replace(temporary, self.path)
        except OSError as exc:
            raise InputError(f"--resume {self.path}: cannot write: {exc.strerror}") from None
        self._written = time.monotonic()
        self._pending = False
