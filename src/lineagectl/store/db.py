"""Opening a lineagectl store: DuckDB settings, locking, schema version, migrations."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from lineagectl.common.versions import check as check_versions
from lineagectl.errors import DatabaseError, DatabaseLockedError, DatabaseMissingError, InputError
from lineagectl.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES
from lineagectl.store.writelock import WriterLock, acquire

DEFAULT_DB = "lineage.duckdb"
# DuckDB otherwise caches up to 80 % of RAM.
DEFAULT_MEMORY_LIMIT = "400MB"

def connection_config(memory_limit: str) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB settings for every connection lineagectl opens.

    Extensions are never installed or loaded behind the user's back: a SQLite
    file passed as ``--db`` would otherwise make DuckDB download its scanner.
    """
    return {"memory_limit": memory_limit, "autoinstall_known_extensions": False,
            "autoload_known_extensions": False}


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as head:
            return head.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _connect(path: Path, read_only: bool, memory_limit: str) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=connection_config(memory_limit))
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        # Row order of INSERT … SELECT never matters here, and keeping it costs memory.
        con.execute("SET preserve_insertion_order = false")
        return con
    except duckdb.IOException as exc:
        text = str(exc)
        holder = _LOCK_HOLDER.search(text)
        # Only DuckDB's own lock conflict: a path that merely contains "lock" is another error.
        if holder or "Could not set lock on file" in text:
            who = f" by {holder.group(1)} (PID {holder.group(2)})" if holder else ""
            raise DatabaseLockedError(
                f"database {path} is locked{who}",
                hint="DuckDB allows one writer at a time: retry when it is done, or pass --wait SECONDS "
                     "(LINEAGECTL_WAIT) to wait for it",
            ) from None
        if _is_sqlite(path):
            raise DatabaseError(f"{path} is a SQLite database, not a lineagectl store",
                                hint="pass a lineagectl store (a DuckDB file) with --db, or a new path to create one",
                                ) from None
        if "not a valid DuckDB database" in text:
            raise DatabaseError(
                f"{path} is not a DuckDB database",
                hint="pass a lineagectl store with --db, or a new path to create one",
            ) from None
        raise DatabaseError(f"cannot open database {path}: {text}") from None
    except duckdb.ParserException as exc:
        # The one setting parsed at connect time: say which, not "cannot open database".
        raise InputError(f"memory limit {memory_limit!r}: {str(exc).removeprefix('Parser Error: ')}",
                         hint="set LINEAGECTL_MEMORY_LIMIT to a size such as 400MB or 2GB") from None
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
    """Upgrade the store from ``version`` in one transaction: all of it, or nothing."""
    con.execute("BEGIN")
    try:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS.get(target, []):
                if callable(statement):
                    statement(con)  # a step SQL alone cannot do (migration 6 splits events in Python)
                else:
                    con.execute(statement)
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # DuckDB ended the transaction itself
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise DatabaseError(
                f"upgrading the store from schema {version} to {SCHEMA_VERSION} ran out of memory; it is "
                f"unchanged: {str(exc).splitlines()[0]}",
                hint="raise DuckDB's limit for this once, e.g. LINEAGECTL_MEMORY_LIMIT=2GB lineagectl migrate",
            ) from None
        if isinstance(exc, duckdb.IOException | duckdb.TransactionException):
            raise write_failure(exc, "the schema upgrade") from None
        raise


def _check_version(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> int | None:
    """Create a new store's schema or upgrade an older one; returns the version upgraded from."""
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
        return None
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
        return version
    return None


class Store:
    """A handle on one store file: its path and how to open it (settings as values).

    Created unopened (``Store(path, wait=5)``); ``with store:`` opens it
    (read-only unless ``write``) and closes it afterwards. Library functions take
    a path or a ``Store``: an open one is used as it is, an unopened one is opened
    for the call with the access the call needs, so a command that reads input
    first (dbt manifests) opens the file only when it writes.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, write: bool = False,
                 create: bool = True, wait: float = 0.0, memory_limit: str | None = None) -> None:
        self.path = Path(path) if path is not None else Path(DEFAULT_DB)
        self.write = write
        self.create = create
        self.wait = max(0.0, wait)
        self.memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock: WriterLock | None = None
        # The schema version the last open upgraded the store from (None: no upgrade).
        self.upgraded_from: int | None = None

    def __repr__(self) -> str:
        state = "open" if self.con is not None else "closed"
        return f"Store({str(self.path)!r}, write={self.write}, {state})"

    def open(self) -> Store:
        """Connect (see the class); ``DatabaseMissingError`` for a reader of a missing file."""
        if self.con is not None:
            return self
        check_versions()
        if not (self.write and self.create) and not self.path.exists():
            raise DatabaseMissingError(
                f"database {self.path} does not exist",
                hint="create it with `lineagectl ingest FILE`, or point --db / LINEAGECTL_DB at a store",
            )
        if self.path.is_dir():
            raise DatabaseError(f"{self.path} is a directory, not a store file",
                                hint=f"name the store file itself, e.g. --db {self.path / DEFAULT_DB}")
        if self.write and self.path.parent and not self.path.parent.exists():
            raise DatabaseError(f"directory {self.path.parent} does not exist (for --db {self.path})")
        started = time.monotonic()
        lock = acquire(self.path, self.wait) if self.write else None
        try:
            con = _connect_waiting(self.path, not self.write, self.wait, self.memory_limit, started)
            try:
                self.upgraded_from = _check_version(con, self.path, read_only=not self.write)
            except BaseException:
                con.close()
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.con, self._lock = con, lock
        return self

    def close(self) -> None:
        """Close the connection (a no-op when closed)."""
        if self.con is not None:
            self.con.close()
            self.con = None
        if self._lock is not None:
            # After the connection: DuckDB has checkpointed by now, so a compaction
            # waiting for this lock copies everything this writer committed.
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reopened(self, write: bool) -> Store:
        """An unopened handle on the same file with the same settings, for ``write`` or reading."""
        return Store(self.path, write=write, create=self.create, wait=self.wait, memory_limit=self.memory_limit)


StoreLike = str | os.PathLike[str] | Store | None


def store_path(db: StoreLike) -> Path:
    """The file a path or handle names."""
    return db.path if isinstance(db, Store) else Store(db).path


@contextmanager
def open_store(
    db: StoreLike = None, *, write: bool = False, create: bool = True, wait: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The connection of a store given as a path or a ``Store``, for the length of a ``with`` block.

    An open ``Store`` is used as it is (it must be writable if ``write``); a path
    or an unopened ``Store`` is opened for the block — read-only unless
    ``write``; readers never create a file — and closed after it.
    """
    if isinstance(db, Store) and db.con is not None:
        if write and not db.write:
            raise DatabaseError(f"the store {db.path} was opened read-only; this needs it opened with write=True")
        yield db.con
        return
    base = db if isinstance(db, Store) else Store(db)
    store = base.reopened(write)
    store.create = create
    if wait is not None:
        store.wait = max(0.0, wait)
    with store:
        assert store.con is not None
        yield store.con


def write_failure(exc: Exception, what: str) -> DatabaseError:
    """A DuckDB I/O or commit failure as the user error it is (a full disk, say): nothing of the
    failed transaction was stored."""
    text = str(exc).split("\n")[0]
    hint = ("free disk space (or point --db at a larger disk) and run it again; nothing of it was stored"
            if "space left" in text.lower() else "nothing of it was stored; check the disk and run it again")
    return DatabaseError(f"{what} could not write the store: {text}", hint=hint)


def _connect_waiting(path: Path, read_only: bool, wait: float, memory_limit: str,
                     started: float) -> duckdb.DuckDBPyConnection:
    """``_connect``, retried while the file is locked, until ``wait`` seconds after ``started``."""
    deadline = started + wait
    delay = 0.05
    while True:
        try:
            return _connect(path, read_only, memory_limit)
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
    exec("_rel = _con.sql(_sql, params=_params)", {}, scope)
    return scope["_rel"]
