"""Stable identifiers for datasets and jobs.

A dataset or job id is a 63-bit number derived from the MD5 of its namespace and
name, so every ingest computes the same id without asking the database,
whatever the order of events. It is computed in SQL by the ``lineagectl_id``
macro defined here (MD5 is stable across DuckDB versions, unlike ``hash()``).
"""

from __future__ import annotations

ID_MACRO = """CREATE OR REPLACE TEMP MACRO lineagectl_id(namespace, name) AS
    (md5_number_lower(namespace || chr(31) || name) >> 1)::BIGINT"""
