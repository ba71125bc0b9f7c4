"""``lineagectl doctor`` (alias ``config``): where the store and policy come from, and whether they work."""

from __future__ import annotations

import sys
from importlib import metadata

from lineagectl import __version__, api
from lineagectl.cli import DbOption, FormatOption, OutputOption, command, finish
from lineagectl.cli.environment import explain, store
from lineagectl.errors import ExitStatus, LineageError
from lineagectl.results import Result

PACKAGES = ("duckdb", "sqlglot", "pyarrow", "orjson", "networkx", "pyyaml", "typer", "rich")


@command("doctor", "config")
def doctor(db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None) -> None:
    """Show the store and policy in use, where each came from, and whether they work."""
    found = explain(db)
    checks = []
    status = ExitStatus.OK
    path, source = found["db"]
    try:
        counts = api.stats(store(db)).payload
        checks.append({"check": "store", "value": path, "source": source,
                       "detail": f"schema {counts['schema_version']}: {counts['datasets']} datasets, "
                                 f"{counts['jobs']} jobs, {counts['runs']} runs, {counts['events']} events"})
    except LineageError as exc:
        status = ExitStatus.USAGE
        checks.append({"check": "store", "value": path, "source": source, "detail": f"unusable: {exc.message}"})
    policy, policy_source = found["policy"]
    if policy is None:
        checks.append({"check": "policy", "value": None, "source": policy_source, "detail": "none"})
    else:
        try:
            rules = api.load_policy(policy)
            checks.append({"check": "policy", "value": policy, "source": policy_source,
                           "detail": f"valid: {len(rules.regions)} regions, {len(rules.residency)} residency, "
                                     f"{len(rules.flows)} flow rules"})
        except LineageError as exc:
            status = ExitStatus.USAGE
            checks.append({"check": "policy", "value": policy, "source": policy_source,
                           "detail": f"unusable: {exc.message}"})
    for name, value in found["variables"].items():
        checks.append({"check": "variable", "value": f"{name}={value}", "source": "environment", "detail": ""})
    checks.append({"check": "lineagectl", "value": __version__, "source": sys.executable,
                   "detail": f"Python {sys.version.split()[0]}"})
    for package in PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version, status = "missing", ExitStatus.USAGE
        checks.append({"check": "package", "value": f"{package} {version}", "source": "", "detail": ""})
    finish(Result("doctor", checks, exit_status=status), fmt, output)
