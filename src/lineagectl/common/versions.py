"""The oldest versions of the libraries lineagectl needs, checked where they are first used.

An older DuckDB or sqlglot than the test suite passed with does not fail loudly: it
gives wrong answers (DuckDB 1.5.6 ended the sample's ingest in an internal error and
then let ``residency-check`` say "ok"; sqlglot 25.34 found 0 column edges in
jaffle_shop instead of 87). So a version below the floor is refused with the reason,
before any answer. The floors here and in pyproject.toml are the same numbers.
"""

from __future__ import annotations

import functools
import re
from importlib import metadata

from lineagectl.errors import LineageError

# package -> the oldest version the whole test suite passed with (pyproject.toml says the same).
FLOORS = {"duckdb": (2, 0, 1), "sqlglot": (30, 31, 0)}


class DependencyError(LineageError):
    """An installed library is older than lineagectl supports."""


def _parts(version: str) -> tuple[int, ...]:
    """The release numbers of a version string: ``2.0.0rc1`` is (2, 0, 0)."""
    found = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    return tuple(int(part or 0) for part in found.groups()) if found else (0,)


@functools.cache
def check(packages: tuple[str, ...] = tuple(FLOORS)) -> None:
    """``DependencyError`` naming the first of ``packages`` installed below its floor (once per
    process: every store open asks, and the installed versions do not change under it)."""
    for package in packages:
        try:
            found = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue  # an import of it will say so
        if _parts(found) < FLOORS[package]:
            floor = ".".join(map(str, FLOORS[package]))
            raise DependencyError(f"{package} {found} is older than lineagectl supports ({floor} or newer)",
                                  hint=f"pip install -U '{package}>={floor}'")
