"""Storage layer: the DuckDB schema and how a store is opened."""

from lineagectl.store.db import DEFAULT_DB, open_store, resolve_db_path, schema_version, with_tables

__all__ = ["DEFAULT_DB", "open_store", "resolve_db_path", "schema_version", "with_tables"]
