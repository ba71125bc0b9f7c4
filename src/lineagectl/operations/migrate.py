"""Upgrading a store to the current schema, then giving back the space the upgrade freed.

Any write opens a store written by an older lineagectl by upgrading it in one
transaction (``store/db.py``). An upgrade that rewrites a table (schema 6 turns
every stored event into a skeleton) leaves the old rows' blocks as free space in
the file, which DuckDB reuses but does not return: a 1M-event store grew from
466 to 626 MB (docs/performance.md). ``migrate`` therefore compacts the file
after an upgrade, as ``prune`` does after removing rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineagectl.store import Store, StoreLike, store_path
from lineagectl.store.db import schema_version


@dataclass
class MigrateReport:
    """What ``migrate`` did: the schema the store is at, the one it was upgraded from (None when it
    was current, or new), the file's size before and after, and why it was not compacted (if so)."""

    version: int
    upgraded_from: int | None
    bytes_before: int
    bytes_after: int
    compact_error: str | None = None


def migrate(db: StoreLike = None, *, compact: bool = True) -> MigrateReport:
    """Open the store for writing, which upgrades an older schema (all of it or nothing); after an
    upgrade, with ``compact``, rewrite the file without the space the upgrade freed. A ``Store`` the
    caller holds open was upgraded when it was opened, and cannot be compacted while it is open."""
    path = store_path(db)
    before = path.stat().st_size if path.is_file() else 0
    if isinstance(db, Store) and db.con is not None:
        version, upgraded_from = schema_version(db.con), db.upgraded_from
    else:
        handle = (db if isinstance(db, Store) else Store(db)).reopened(write=True)
        with handle:
            assert handle.con is not None
            version = schema_version(handle.con)
        upgraded_from = handle.upgraded_from
    report = MigrateReport(version, upgraded_from, before, before)
    if upgraded_from is not None and compact:
        from lineagectl.store.compact import give_back_space

        report.compact_error = give_back_space(
            db, "the upgrade is committed; DuckDB reuses the space it freed for new data")
    report.bytes_after = path.stat().st_size if path.is_file() else 0
    return report
