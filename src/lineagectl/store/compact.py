"""Give a store file's free space back to the file system.

DuckDB reuses the blocks that deletes free but rarely shrinks the file, so after
a prune the store is copied into a new file, which is then moved over the old
one. The move is atomic: a crash leaves either the old store or the new one,
never a mix (a stray ``*.compact`` file is removed by the next run).
"""

from __future__ import annotations

import os
from pathlib import Path


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def compact_file(path: Path, memory_limit: str) -> None:
    """Rewrite the (closed, checkpointed) store at ``path`` without its free blocks."""
    import duckdb

    target = path.with_name(path.name + ".compact")
    target.unlink(missing_ok=True)
    # The copy runs in an in-memory session: cap it like every store session, and give it
    # somewhere to spill (in-memory sessions have no temp directory of their own).
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit, "temp_directory": str(path) + ".tmp"})
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(f"ATTACH {_quoted(path)} AS src (READ_ONLY)")
        con.execute(f"ATTACH {_quoted(target)} AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
        con.execute("DETACH src")
    except BaseException:
        con.close()
        target.unlink(missing_ok=True)
        raise
    con.close()
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(target, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
