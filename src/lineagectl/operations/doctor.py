"""``doctor``: whether a setup is usable — the store, the policy, and the installed versions of
lineagectl's dependencies against the bounds it supports (``common.versions``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

from lineagectl import __version__
from lineagectl.common import versions
from lineagectl.errors import ExitStatus, LineageError
from lineagectl.results import Result


def setup_checks(db: Any, policy: Any, *, counts: Callable[[], dict], load: Callable[[Any], Any]) -> Result:
    """One ``{"check", "value", "detail"}`` per part of the setup; ``exit_status`` USAGE when a part is
    unusable. ``counts()`` reads the store's counts (``stats``), ``load(policy)`` parses the policy;
    both raise ``LineageError`` when what they read is unusable."""
    checks: list[dict] = []
    status = ExitStatus.OK
    try:
        found = counts()
        checks.append({"check": "store", "value": str(getattr(db, "path", db)),
                       "detail": f"schema {found['schema_version']}: {found['datasets']} datasets, "
                                 f"{found['jobs']} jobs, {found['runs']} runs, {found['events']} events"})
    except LineageError as exc:
        status = ExitStatus.USAGE
        checks.append({"check": "store", "value": str(getattr(db, "path", db)), "detail": f"unusable: {exc.message}"})
    if policy is None:
        checks.append({"check": "policy", "value": None, "detail": "none"})
    else:
        try:
            rules = load(policy)
            checks.append({"check": "policy", "value": str(policy),
                           "detail": f"valid: {len(rules.regions)} regions, {len(rules.residency)} residency, "
                                     f"{len(rules.flows)} flow rules"})
        except LineageError as exc:
            status = ExitStatus.USAGE
            checks.append({"check": "policy", "value": str(policy), "detail": f"unusable: {exc.message}"})
    checks.append({"check": "lineagectl", "value": __version__, "detail": f"Python {sys.version.split()[0]}"})
    for requirement in versions.requirements():
        try:
            version = metadata.version(requirement.package)
            problem = versions.problem(requirement, version)
        except metadata.PackageNotFoundError:
            version, problem = "missing", f"{requirement.package} is not installed"
        if problem is not None:
            status = ExitStatus.USAGE
        detail = problem or f"supported: {requirement.specifier}"
        if requirement.package == "sqlglot" and problem is None:
            detail += f"; {_sqlglot_build()}"
        checks.append({"check": "package", "value": f"{requirement.package} {version}", "detail": detail})
    return Result("doctor", checks, exit_status=status)


def _sqlglot_build() -> str:
    """Whether sqlglot runs its compiled modules (the ``fast`` extra) or its Python source."""
    from sqlglot.tokens import SQLGLOTC_INSTALLED

    return "compiled (sqlglotc)" if SQLGLOTC_INSTALLED else "pure Python (pip install 'lineagectl[fast]': compiled)"
