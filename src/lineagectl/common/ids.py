"""Stable identifiers for datasets and jobs.

A dataset or job id is a 63-bit number derived from the MD5 of its namespace and
name (encoded so that no two pairs share a text), so every ingest computes the same id without asking the database,
whatever the order of events. It is computed in SQL by the ``lineagectl_id``
macro defined here (MD5 is stable across DuckDB versions, unlike ``hash()``).
"""

from __future__ import annotations

# ``namespace || US || name`` is unambiguous while the namespace holds no US (chr 31): its
# first US is the separator. A namespace holding one is hashed in a form with no US at
# all (hex, between RS marks), which no plain form can equal, so ids never collide and
# every other dataset keeps the id it always had.
ID_MACRO = """CREATE OR REPLACE TEMP MACRO lineagectl_id(namespace, name) AS
    (md5_number_lower(CASE WHEN contains(namespace, chr(31))
                           THEN chr(30) || hex(namespace) || chr(30) || hex(name)
                           ELSE namespace || chr(31) || name END) >> 1)::BIGINT"""
