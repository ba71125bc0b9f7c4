"""Where the command line finds its settings: options, ``LINEAGECTL_*`` variables, ``lineagectl.yaml``.

This is the only place that reads the environment or looks at the working
directory; the library gets every setting as a value. Precedence (CONTRACT.md):
a command's option, else the global option, else the variable, else the
nearest ``lineagectl.yaml`` from the working directory upwards, else a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lineagectl import api
from lineagectl.errors import InputError

CONFIG_FILE = "lineagectl.yaml"
DEFAULT_DB = "lineage.duckdb"


class Settings:
    """Global options, given before the command (command-level ones win)."""

    db: str | None = None
    policy: str | None = None
    quiet: bool = False
    debug: bool = False
    wait: float | None = None
    color: str = "auto"


settings = Settings()


def nearest_config(start: Path | None = None) -> Path | None:
    """The nearest ``lineagectl.yaml`` from ``start`` (the working directory) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def policy_path(option: str | None = None) -> str | None:
    """The policy file: ``--policy``, else ``$LINEAGECTL_POLICY``, else the nearest ``lineagectl.yaml``."""
    chosen = option or settings.policy or os.environ.get("LINEAGECTL_POLICY")
    if chosen:
        return chosen
    found = nearest_config()
    return str(found) if found else None


def db_path(option: str | None = None) -> str:
    """The store file: ``--db``, else ``$LINEAGECTL_DB``, else ``db:`` of the nearest
    ``lineagectl.yaml`` (relative to its folder), else ``./lineage.duckdb``."""
    chosen = option or settings.db or os.environ.get("LINEAGECTL_DB")
    if chosen:
        return chosen
    config = nearest_config()
    if config is not None:
        configured = api.load_policy(config).db
        if configured:
            return str(config.parent / Path(configured).expanduser())
    return DEFAULT_DB


def bearer_token(token_file: str | None = None) -> str | None:
    """The HTTP bearer token of ``serve`` and ``export --to``: the first line of ``--token-file``,
    else ``$LINEAGECTL_TOKEN``, else None. Never an option value: those show in ``ps``."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as file:
                return file.read().strip()
        except OSError as exc:
            raise InputError(f"cannot read the token file {token_file}: {exc.strerror}") from None
    return os.environ.get("LINEAGECTL_TOKEN") or None


def _wait() -> float:
    if settings.wait is not None:
        return max(0.0, settings.wait)
    text = os.environ.get("LINEAGECTL_WAIT")
    if not text:
        return 0.0
    try:
        return max(0.0, float(text))
    except ValueError:
        raise InputError(f"LINEAGECTL_WAIT must be a number of seconds, not {text!r}") from None


def store(option: str | None = None) -> Any:
    """An unopened store handle with every setting resolved; the library opens it as each call needs."""
    return api.open_store(db_path(option), wait=_wait(),
                          memory_limit=os.environ.get("LINEAGECTL_MEMORY_LIMIT") or None)


def explain(option_db: str | None = None) -> dict[str, Any]:
    """Where each setting comes from, for ``lineagectl doctor``: ``{"db": (path, source),
    "policy": (path or None, source), "variables": {name: value}}``."""
    if option_db or settings.db:
        db_source = "--db"
    elif os.environ.get("LINEAGECTL_DB"):
        db_source = "$LINEAGECTL_DB"
    else:
        config = nearest_config()
        configured = config is not None and api.load_policy(config).db
        db_source = f"db: in {config}" if configured else "the default"
    if settings.policy:
        policy_source = "--policy"
    elif os.environ.get("LINEAGECTL_POLICY"):
        policy_source = "$LINEAGECTL_POLICY"
    else:
        found = nearest_config()
        policy_source = f"the nearest {CONFIG_FILE}" if found else "none found"
    return {"db": (db_path(option_db), db_source), "policy": (policy_path(), policy_source),
            "variables": {k: v for k, v in sorted(os.environ.items()) if k.startswith("LINEAGECTL_")}}
