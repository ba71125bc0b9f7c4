"""Opening a lineagectl store: DuckDB settings, locking, schema version, migrations."""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from lineagectl.errors import DatabaseError, DatabaseLockedError, DatabaseMissingError
from lineagectl.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DEFAULT_DB = "lineage.duckdb"

# DuckDB otherwise caches up to 80 % of RAM and draws its own progress bar on stdout.
_SETTINGS = {
    "memory_limit": os.environ.get("LINEAGECTL_MEMORY_LIMIT", "400MB"),
}

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def resolve_db_path(path: str | os.PathLike[str] | None) -> Path:
    """The database path: the argument, else ``LINEAGECTL_DB``, else ``./lineage.duckdb``."""
    chosen = path or os.environ.get("LINEAGECTL_DB") or DEFAULT_DB
    return Path(chosen)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=dict(_SETTINGS))
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        # Row order of INSERT … SELECT never matters here, and keeping it costs memory.
        con.execute("SET preserve_insertion_order = false")
        return con
    except duckdb.IOException as exc:
        text = str(exc)
        holder = _LOCK_HOLDER.search(text)
        if holder or "lock" in text.lower():
            who = f" by {holder.group(1)} (PID {holder.group(2)})" if holder else ""
            raise DatabaseLockedError(
                f"database {path} is locked{who}",
                hint="DuckDB allows one writer at a time: retry when it is done, or pass --wait SECONDS "
                     "(LINEAGECTL_WAIT) to wait for it",
            ) from None
        if "not a valid DuckDB database" in text:
            raise DatabaseError(
                f"{path} is not a DuckDB database",
                hint="pass a lineagectl store with --db, or a new path to create one",
            ) from None
        raise DatabaseError(f"cannot open database {path}: {text}") from None
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from None


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return None
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else None


def _create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN")
    for ddl in TABLES.values():
        con.execute(ddl)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute("COMMIT")


def _migrate(con: duckdb.DuckDBPyConnection, version: int) -> None:
    con.execute("BEGIN")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS.get(target, []):
            con.execute(statement)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
    con.execute("COMMIT")


def _check_version(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    tables = con.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]
    version = _stored_version(con)
    if version is None:
        if tables and not read_only:
            raise DatabaseError(
                f"{path} is a DuckDB database but not a lineagectl store",
                hint="use a new file for --db",
            )
        if read_only:
            raise DatabaseError(f"{path} is not a lineagectl store")
        _create(con)
        return
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} has store schema version {version}, newer than this lineagectl "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade lineagectl",
        )
    if version < SCHEMA_VERSION:
        if read_only:
            raise DatabaseError(
                f"{path} has store schema version {version}; this lineagectl needs {SCHEMA_VERSION}",
                hint="run `lineagectl migrate` once to upgrade it",
            )
        _migrate(con, version)


@contextmanager
def open_store(
    path: str | os.PathLike[str] | None = None, *, write: bool = False, create: bool = True,
    wait: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store at ``path`` (see ``resolve_db_path``) and close it afterwards.

    Readers open the file read-only and never create it: a missing file raises
    ``DatabaseMissingError``. Writers create the file (unless ``create`` is false,
    for writers that only change what is there) and migrate older schemas.
    While another process holds the file, retry for up to ``wait`` seconds
    (default ``$LINEAGECTL_WAIT``, else 0) before ``DatabaseLockedError``.
    """
    db_path = resolve_db_path(path)
    if not (write and create) and not db_path.exists():
        raise DatabaseMissingError(
            f"database {db_path} does not exist",
            hint="create it with `lineagectl ingest FILE`, or point --db / LINEAGECTL_DB at a store",
        )
    if write and db_path.parent and not db_path.parent.exists():
        raise DatabaseError(f"directory {db_path.parent} does not exist (for --db {db_path})")
    con = _connect_waiting(db_path, not write, _wait_seconds(wait))
    try:
        _check_version(con, db_path, read_only=not write)
        yield con
    finally:
        con.close()


def write_failure(exc: Exception, what: str) -> DatabaseError:
    """A DuckDB I/O or commit failure as the user error it is (a full disk, say): nothing of the
    failed transaction was stored."""
    text = str(exc).split("\n")[0]
    hint = ("free disk space (or point --db at a larger disk) and run it again; nothing of it was stored"
            if "space left" in text.lower() else "nothing of it was stored; check the disk and run it again")
    return DatabaseError(f"{what} could not write the store: {text}", hint=hint)


def _wait_seconds(wait: float | None) -> float:
    if wait is not None:
        return max(0.0, wait)
    try:
        return max(0.0, float(os.environ.get("LINEAGECTL_WAIT") or 0))
    except ValueError:
        raise DatabaseError(f"LINEAGECTL_WAIT must be a number of seconds, not {os.environ['LINEAGECTL_WAIT']!r}")


def _connect_waiting(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """``_connect``, retried while the file is locked, for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return _connect(path, read_only)
        except DatabaseLockedError as exc:
            if time.monotonic() + delay > deadline:
                if wait:
                    exc.message += f" (waited {wait:g} s)"
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in an open store."""
    return _stored_version(con) or 0


def with_tables(con: duckdb.DuckDBPyConnection, sql: str, tables: dict, params: list | dict | None = None):
    """Run ``sql`` with in-memory Arrow ``tables`` readable by name; a relation for queries.

    DuckDB resolves unknown table names from the calling frame's variables
    (replacement scans); ``exec`` with ``tables`` as locals provides them
    without registering anything in the catalog, which an open transaction
    would retain until commit (measured: memory grew with every batch).
    """
    scope = dict(tables, _con=con, _sql=sql, _params=params)
    exec("_rel = _con.sql(_sql, params=_params)", {}, scope)  # noqa: S102 - fixed code, no user input
    return scope["_rel"]
