"""``lineagectl doctor`` (alias ``config``): where the store and policy come from, and whether they work."""

from __future__ import annotations

import sys

from lineagectl import api
from lineagectl.cli import DbOption, FormatOption, OutputOption, command, finish
from lineagectl.cli.environment import explain, store
from lineagectl.results import Result


@command("doctor", "config", panel="Operations", examples=(
    "lineagectl doctor",
    "lineagectl doctor -f json"))
def doctor(db: DbOption = None, fmt: FormatOption = "table", output: OutputOption = None) -> None:
    """Show the store and policy in use, and from where.

    The store and policy, where each came from, whether they work, every LINEAGECTL_*
    variable and the versions of the libraries; exit 2 when something is unusable.
    """
    found = explain(db)
    policy, policy_source = found["policy"]
    result = api.doctor(store(db), policy)
    sources = {"store": found["db"][1], "policy": policy_source, "lineagectl": sys.executable}
    checks = [{**c, "source": sources.get(c["check"], "")} for c in result.payload]
    checks[2:2] = [{"check": "variable", "value": f"{name}={value}", "detail": "", "source": "environment"}
                   for name, value in found["variables"].items()]
    finish(Result("doctor", [{k: c[k] for k in ("check", "value", "source", "detail")} for c in checks],
                  exit_status=result.exit_status), fmt, output)
