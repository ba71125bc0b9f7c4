"""Shell completion of dataset and job names from the store, where it is cheap.

Click calls these while the shell waits (``_LINEAGECTL_COMPLETE``): the store named on the
line so far (``--db``, before or after the command), else the usual settings, is opened
read-only and asked for names by prefix, at most ``LIMIT``. Completion must never print an
error into the user's command line, so any failure (no store, a lock, an old schema) offers
nothing.
"""

from __future__ import annotations

from typing import Any

LIMIT = 50


def _names(ctx: Any, incomplete: str, jobs: bool) -> list[str]:
    try:
        from lineagectl import api
        from lineagectl.cli.environment import db_path

        given = ctx.params.get("db") or ctx.find_root().params.get("db")  # --db after or before the command
        return api.complete_names(incomplete, db_path(given), jobs=jobs, limit=LIMIT)
    except Exception:  # whatever went wrong, the shell gets no candidates rather than a traceback
        return []


def dataset_names(ctx: Any, incomplete: str) -> list[str]:
    """Completions of a dataset or model NAME argument."""
    return _names(ctx, incomplete, jobs=False)


def dataset_or_job_names(ctx: Any, incomplete: str) -> list[str]:
    """Completions of a NAME that may also be a job (``show``)."""
    return _names(ctx, incomplete, jobs=True)
