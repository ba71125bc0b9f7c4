"""Give a store file's free space back to the file system.

DuckDB reuses the blocks that deletes free but rarely shrinks the file, so after
a prune the store is copied into a new file, which is then moved over the old
one. The move is atomic: a crash leaves either the old store or the new one,
never a mix. Compaction holds the writer lock (``store/writelock.py``) from
before the copy until after the move, so no writer can commit into the file
being replaced. The store stays where it is: a symlinked path keeps its link
(the file it points to is replaced), and the new file gets the old one's mode
and owner. A store with several hard links is not compacted, since replacing it
would split the links into two stores.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lineagectl.store.writelock import acquire

if TYPE_CHECKING:
    from lineagectl.store.db import StoreLike


class NotCompacted(Exception):
    """Compaction was not done, for the reason given; the store is unchanged."""


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _leftovers(target: Path) -> list[Path]:
    return [target, target.with_name(target.name + ".wal")]


def _remove(paths: list[Path]) -> None:
    for stray in paths:
        stray.unlink(missing_ok=True)


def _copy(source: Path, target: Path, memory_limit: str, spill: Path) -> None:
    import duckdb

    # The copy runs in an in-memory session: cap it like every store session, and give it
    # somewhere to spill (in-memory sessions have no temp directory of their own).
    from lineagectl.store.db import connection_config

    config = connection_config(memory_limit) | {"temp_directory": str(spill)}
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET preserve_insertion_order = false")
        # Attached writable so that a WAL left by a crashed writer is replayed into the copy.
        con.execute(f"ATTACH {_quoted(source)} AS src")
        con.execute(f"ATTACH {_quoted(target)} AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
        con.execute("DETACH src")
    finally:
        con.close()


def _keep_identity(target: Path, before: os.stat_result) -> None:
    os.chmod(target, before.st_mode & 0o7777)
    if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(target, before.st_uid, before.st_gid)
        except PermissionError:
            pass  # only root may give a file away; the mode still says who may read it


def compact_file(path: Path, memory_limit: str, *, wait: float = 0.0,
                 before_swap: Callable[[], None] | None = None) -> None:
    """Rewrite the (closed) store at ``path`` without its free blocks, in place.

    Waits up to ``wait`` seconds for writers to finish (``DatabaseLockedError``
    after that); ``NotCompacted`` for a hard-linked store. ``before_swap`` runs
    between the copy and the move (tests slow the swap down with it). Nothing is
    left behind on failure or interruption.
    """
    real = Path(os.path.realpath(path))
    lock = acquire(real, wait)
    target = real.with_name(real.name + ".compact")
    spill = real.with_name(real.name + ".compact.tmp")
    spill_existed = spill.exists()
    try:
        before = os.stat(real)
        if before.st_nlink > 1:
            raise NotCompacted(f"{path} has {before.st_nlink} hard links; replacing the file would split "
                               "them into separate stores, so its free space was not given back")
        _remove(_leftovers(target))
        _copy(real, target, memory_limit, spill)
        with open(target, "rb+") as handle:
            os.fsync(handle.fileno())
        _keep_identity(target, before)
        if before_swap is not None:
            before_swap()
        os.replace(target, real)
        directory = os.open(real.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        _remove(_leftovers(target))
        raise
    finally:
        if not spill_existed:
            shutil.rmtree(spill, ignore_errors=True)
        lock.release()


def give_back_space(db: StoreLike, committed: str) -> str | None:
    """Compact the store ``db`` names after a committed change freed space in it (a prune, a schema
    upgrade): None once done, else why it was not — the change stands either way. ``committed``
    ends the message when a writer held the store too long (``"the prune is committed, …"``)."""
    import duckdb

    from lineagectl.errors import DatabaseLockedError
    from lineagectl.store.db import Store

    if isinstance(db, Store) and db.con is not None:
        return "the store is held open by the caller, so its file was not compacted"
    handle = db if isinstance(db, Store) else Store(db)
    try:
        compact_file(handle.path, handle.memory_limit, wait=handle.wait)
    except DatabaseLockedError as exc:
        return f"{exc.message}; {committed}"
    except (duckdb.Error, OSError, NotCompacted) as exc:  # e.g. no room for the copy
        return str(exc).split("\n")[0]
    return None
