"""Stable identifiers for datasets and jobs.

A dataset or job id is a 63-bit number derived from the MD5 of its namespace and
name (encoded so that no two pairs share a text), so every ingest computes the same id without asking the database,
whatever the order of events. It is computed in SQL by the ``lineagectl_id``
macro defined here (MD5 is stable across DuckDB versions, unlike ``hash()``).
"""

from __future__ import annotations

import re

# ``namespace || US || name`` is unambiguous while the namespace holds no US (chr 31): its
# first US is the separator. A namespace holding one is hashed in a form with no US at
# all (hex, between RS marks), which no plain form can equal, so ids never collide and
# every other dataset keeps the id it always had.
ID_MACRO = """CREATE OR REPLACE TEMP MACRO lineagectl_id(namespace, name) AS
    (md5_number_lower(CASE WHEN contains(namespace, chr(31))
                           THEN chr(30) || hex(namespace) || chr(30) || hex(name)
                           ELSE namespace || chr(31) || name END) >> 1)::BIGINT"""

# RFC 4122: a UUID's hex digits are case-insensitive on input, and Marquez parses runIds as
# UUIDs, so a START in lower case and a COMPLETE in upper case are one run. A runId that is a
# UUID is kept in lower case (the form RFC 4122 writes); any other run id is kept as sent.
# Only the derived run id: the stored raw event stays as received. The rule has two forms, the
# SQL macro the ingest applies and ``canonical_run_id`` for a run id typed by a user; both are
# built on the one pattern below (tests/test_run_ids.py checks they agree).
UUID_PATTERN = "[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"

RUN_ID_MACRO = f"""CREATE OR REPLACE TEMP MACRO lineagectl_run_id(run_id) AS
    CASE WHEN regexp_full_match(run_id, '{UUID_PATTERN}')
         THEN lower(run_id) ELSE run_id END"""

_UUID = re.compile(UUID_PATTERN)


def canonical_run_id(run_id: str) -> str:
    """``run_id`` as the store keeps it: a UUID in lower case, any other id as given."""
    return run_id.lower() if _UUID.fullmatch(run_id) else run_id
