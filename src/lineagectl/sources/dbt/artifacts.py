"""Which dbt artifact a file is: a manifest (and its schema version), a catalog, run results…

dbt writes ``metadata.dbt_schema_version`` first (``…/dbt/manifest/v12.json``), so
4 KB usually tell; some tools write keys sorted (``metadata`` after ``child_map``
and ``disabled``). A file that starts as one JSON object and is not an NDJSON log
is then scanned on, in 1 MB steps. Ingest asks once per input file, so this is
the one place that reads a file's head to tell.

The version string alone does not make an artifact: OpenLineage events can carry
it in a custom facet. A file whose first line is a whole JSON value followed by
more lines is an event log, and a match preceded by an event's own keys
(``eventTime``, ``runId``) or not directly inside a ``metadata`` object is not
dbt's.
"""

from __future__ import annotations

import re

_SCHEMA = re.compile(rb'"dbt_schema_version"\s*:\s*"[^"]*/([a-z-]+)/v(\d+)\.json"')
_NDJSON_START = re.compile(rb'}\s*\n\s*{')  # a second JSON document on a new line: an event log
_IN_METADATA = re.compile(rb'"metadata"\s*:\s*\{[^{}]*$')  # the match sits right inside "metadata": {
_EVENT_KEYS = re.compile(rb'"(?:eventTime|eventType|runId)"\s*:')
# The manifest schema versions the manifest reader was written against (dbt 1.0 to 1.12).
KNOWN_VERSIONS = (4, 12)


def artifact(path: str) -> tuple[str, int] | None:
    """(kind, schema version) when ``path`` is a dbt artifact — ``("manifest", 12)``,
    ``("catalog", 1)``, ``("run-results", 6)`` — else ``None``."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            match = _SCHEMA.search(head)
            if not match and head.lstrip().startswith(b"{") and not _NDJSON_START.search(head):
                tail = head[-256:]
                while not match and (chunk := f.read(1 << 20)):
                    match = _SCHEMA.search(tail + chunk)
                    tail = chunk[-256:]
    except OSError:
        return None
    if not match or _is_event_log(path, head):
        return None
    before = (head if match.string is head else match.string)[:match.start()]
    if _EVENT_KEYS.search(before) or not _IN_METADATA.search(before):
        return None
    return match.group(1).decode(), int(match.group(2))


def _is_event_log(path: str, head: bytes) -> bool:
    """Whether the file's first line is a whole JSON value with more lines after it (NDJSON)."""
    import orjson

    first, _, rest = head.partition(b"\n")
    if not rest.strip() and len(head) == 4096:
        with open(path, "rb") as f:  # a first line longer than the head: look up to 1 MiB
            first, _, rest = f.read(1 << 20).partition(b"\n")
    if not rest.strip():
        return False  # one line (a compact manifest) or a line too long to tell: not a log
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


def manifest_version(path: str) -> int | None:
    """The manifest schema version if ``path`` is a dbt manifest, else ``None``."""
    found = artifact(path)
    return found[1] if found and found[0] == "manifest" else None
