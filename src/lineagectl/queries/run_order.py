"""Which run of a job is its latest: one ordering for every answer that shows "the last run".

Runs of one job can start, or send their last event, at the same instant (marquez-tests'
``myjob.mytask``: a run that only STARTed and one that COMPLETEd, all at 19:51:01.641).
Ordered by time alone the pick was arbitrary, so ``ls jobs`` said START for a job that had
completed; ties now go to the run that got furthest (a terminal COMPLETE/FAIL/ABORT, then
RUNNING, then START, then anything else), then to the run id, so every read agrees.
"""

from __future__ import annotations


def run_progress(alias: str = "") -> str:
    """SQL ranking a run by how far it got (3 terminal, 2 RUNNING, 1 START, 0 other); ``alias``
    is the runs table's alias in the query, if any."""
    state = f"{alias}.state" if alias else "state"
    return (f"CASE {state} WHEN 'COMPLETE' THEN 3 WHEN 'FAIL' THEN 3 WHEN 'ABORT' THEN 3 "
            f"WHEN 'RUNNING' THEN 2 WHEN 'START' THEN 1 ELSE 0 END")


def newest_runs_first(alias: str = "") -> str:
    """An ORDER BY list putting a job's runs newest first: by start (unknown last), then last
    event, then how far each got, then run id (see the module's docstring)."""
    a = f"{alias}." if alias else ""
    return (f"{a}started_at DESC NULLS LAST, {a}last_event_time DESC, {run_progress(alias)} DESC, "
            f"{a}run_id")


def last_run_state(alias: str = "r") -> str:
    """SQL aggregate: the state of the run whose last event is latest, ties broken as above
    (``ls jobs``' ``last_state``)."""
    return (f"arg_max({alias}.state, row({alias}.last_event_time, {run_progress(alias)}, "
            f"{alias}.run_id))")
