"""Which dbt artifact a file is: a manifest (and its schema version), a catalog, run results…

dbt writes ``metadata.dbt_schema_version`` first (``…/dbt/manifest/v12.json``), so
4 KB usually tell; some tools write keys sorted (``metadata`` after ``child_map``
and ``disabled``). A file that starts as one JSON object and is not an NDJSON log
is then scanned on, in 1 MB steps. Ingest asks once per input file, so this is
the one place that reads a file's head to tell.
"""

from __future__ import annotations

import re

_SCHEMA = re.compile(rb'"dbt_schema_version"\s*:\s*"[^"]*/([a-z-]+)/v(\d+)\.json"')
_NDJSON_START = re.compile(rb'}\s*\n\s*{')  # a second JSON document on a new line: an event log
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
    return (match.group(1).decode(), int(match.group(2))) if match else None


def manifest_version(path: str) -> int | None:
    """The manifest schema version if ``path`` is a dbt manifest, else ``None``."""
    found = artifact(path)
    return found[1] if found and found[0] == "manifest" else None
