"""Storage layer: the DuckDB schema, how a store is opened, and lookups by id."""

from lineagectl.store.db import DEFAULT_DB, Store, StoreLike, open_store, schema_version, store_path, with_tables

__all__ = ["DEFAULT_DB", "Store", "StoreLike", "open_store", "schema_version", "store_path", "with_tables"]
