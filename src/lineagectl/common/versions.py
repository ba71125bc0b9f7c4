"""The versions of the libraries lineagectl supports, checked before a store opens.

A library outside the range the test suite passed with does not always fail loudly: it
can give wrong answers (DuckDB 1.5.6 ended the sample's ingest in an internal error and
then let ``residency-check`` say "ok"; sqlglot 25.34 found 0 column edges in jaffle_shop
instead of 87). So a version outside the range is refused with the reason, before any
answer.

The ranges have one home, ``[project].dependencies`` in pyproject.toml (docs/dependencies.md
says how each floor was found). Installed, they are the distribution's ``Requires-Dist``;
run from a source checkout (``PYTHONPATH=src``), the checkout's own pyproject.toml, since
the installed distribution may then be another checkout's.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lineagectl.errors import LineageError

DISTRIBUTION = "lineagectl"

_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
    "!=": operator.ne, "~=": operator.ge,  # ~= also caps the next release; no floor here uses it
}
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(?:;(.*))?$")
_SPECIFIER = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*([0-9][^,\s]*)\s*$")


class DependencyError(LineageError):
    """An installed library is outside the versions lineagectl supports."""


def _parts(version: str) -> tuple[int, ...]:
    """The release numbers of a version string: ``2.0.0rc1`` is (2, 0, 0)."""
    found = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    return tuple(int(part or 0) for part in found.groups()) if found else (0,)


@dataclass(frozen=True)
class Requirement:
    """One runtime dependency and the versions of it lineagectl supports."""

    package: str
    specifier: str  # as declared, e.g. ">=0.26,<0.29"
    bounds: tuple[tuple[str, str], ...]  # (operator, version), e.g. (">=", "0.26")

    @property
    def floor(self) -> str | None:
        """The oldest supported version (the ``>=`` bound), if one is declared."""
        return next((version for op, version in self.bounds if op in (">=", "==", "~=")), None)

    def admits(self, version: str) -> bool:
        """Whether ``version`` is in the supported range (compared by release numbers)."""
        found = _parts(version)
        return all(_COMPARE[op](found, _parts(bound)) for op, bound in self.bounds)


def parse(requirement: str) -> Requirement | None:
    """A ``Requires-Dist`` / PEP 508 string read as a :class:`Requirement`; ``None`` for an
    optional extra's requirement (``pytest>=8; extra == "test"``), which is not checked."""
    found = _REQUIREMENT.match(requirement)
    if found is None:
        raise ValueError(f"unreadable requirement {requirement!r}")
    name, specifier, marker = found.groups()
    if marker and "extra" in marker:
        return None
    bounds = []
    for part in filter(None, (p.strip() for p in specifier.split(","))):
        spec = _SPECIFIER.match(part)
        if spec is None:
            raise ValueError(f"unreadable version specifier {part!r} in {requirement!r}")
        bounds.append((spec.group(1), spec.group(2)))
    ordered = ",".join(p.strip() for p in specifier.split(",") if p.strip())
    return Requirement(name.lower().replace("_", "-"), ordered, tuple(bounds))


def _declared() -> Iterable[str]:
    """The runtime requirement strings: the source checkout's pyproject.toml, else the
    installed distribution's metadata, else none (nothing to check)."""
    parents = Path(__file__).resolve().parents  # a checkout: src/lineagectl/common/versions.py
    pyproject = parents[3] / "pyproject.toml" if len(parents) > 3 else None
    if pyproject is not None and pyproject.is_file():
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == DISTRIBUTION:
            return project.get("dependencies", [])
    try:
        return metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []


@functools.cache
def requirements() -> tuple[Requirement, ...]:
    """Every runtime dependency with its supported range, as declared (see the module)."""
    return tuple(r for r in map(parse, _declared()) if r is not None)


def problem(requirement: Requirement, version: str) -> str | None:
    """Why ``version`` of the requirement's package is unsupported, or ``None`` if it is fine."""
    if requirement.admits(version):
        return None
    floor = requirement.floor
    side = "older" if floor is not None and _parts(version) < _parts(floor) else "newer"
    return f"{requirement.package} {version} is {side} than lineagectl supports ({requirement.specifier})"


@functools.cache
def check() -> None:
    """``DependencyError`` naming the first dependency installed outside its supported range
    (once per process: every store open asks, and the installed versions do not change under it)."""
    for requirement in requirements():
        try:
            found = metadata.version(requirement.package)
        except metadata.PackageNotFoundError:
            continue  # an import of it will say so
        reason = problem(requirement, found)
        if reason is not None:
            raise DependencyError(reason,
                                  hint=f"pip install '{requirement.package}{requirement.specifier}'")
