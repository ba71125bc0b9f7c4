"""A time budget for the column lineage of one SQL statement (or one dbt model).

sqlglot is pure Python, and some statements cost time exponential in their depth (a
CTE chain whose every column reads two of the previous level's). One such statement
must not stall an ingest: past its budget it is skipped with a ``StatementTimeout`` —
a ``SqlLineageError``, so callers report it as they report any statement whose columns
do not resolve, and keep its table-level lineage.

- ``time_budget(seconds)`` bounds the code in its block, in process, in seconds of the
  process's CPU time (an ``ITIMER_PROF`` interval timer, ``SIGPROF``): a statement's own
  work, not how busy the machine is (on a loaded two-core machine the wall time of the
  largest corpus model grew from 0.5 s to over 10 s). It applies on the main thread of a
  Unix process only; elsewhere (another thread, Windows) the block runs unbounded, as
  signals reach only the main thread. A profiling timer the caller armed is left alone
  (the block then runs unbounded). CPU time is the whole process's: threads busy beside
  the block spend its budget too.
- ``map_within(function, items, seconds, workers, …)`` maps over forked worker processes,
  each item under ``time_budget`` in its worker (tasks run on a worker's main thread). A
  worker that does not stop (stuck where Python cannot interrupt it, or waiting without
  using CPU) is killed by the parent once its item has taken ``HARD_FACTOR`` times the
  budget plus ``GRACE_SECONDS`` of wall time; that item is reported as timed out and the
  remaining items go to fresh workers. Without a budget nothing is killed: a worker that dies
  (a crash in native code) is replaced by the pool, but its chunk is never answered and
  the map waits.

Budgets are values passed by the caller (``DEFAULT_SECONDS`` unless said otherwise;
0 or None: no limit), never read from the environment.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from lineagectl.errors import InputError
from lineagectl.sources.sql_lineage import SqlLineageError

# The largest model of the corpus (Zendesk's int_zendesk__schedule_spine, 33.6k characters)
# takes 0.5 s; 10 s leaves a loaded two-core machine room while bounding a pathological one.
DEFAULT_SECONDS = 10.0
# Wall time an item may take, as HARD_FACTOR x its CPU budget + GRACE_SECONDS, before the parent
# kills its worker: generous, as two workers share a loaded machine with other processes.
HARD_FACTOR = 3.0
GRACE_SECONDS = 5.0


class StatementTimeout(SqlLineageError):
    """The column lineage of a statement took longer than its budget and was skipped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} s (--sql-timeout): skipped")
        self.seconds = seconds


_TIMER, _SIGNAL = (signal.ITIMER_PROF, signal.SIGPROF) if hasattr(signal, "setitimer") else (None, None)


class _Expired(BaseException):
    """Raised by the timer inside the budgeted code: a BaseException, so that no ``except
    Exception`` in sqlglot or in our lineage code can swallow it on its way out."""


def budget_seconds(seconds: float | None) -> float | None:
    """A budget as a caller gives it, as the functions here take it: None is the default
    (``DEFAULT_SECONDS``), 0 no limit (returned as None). ``InputError`` if negative."""
    if seconds is None:
        return DEFAULT_SECONDS
    if not seconds >= 0:  # also NaN
        raise InputError(f"the SQL time budget is 0 (no limit) or more seconds, not {seconds:g}",
                         hint="--sql-timeout SECONDS; 0 for no limit")
    return float(seconds) or None


def can_interrupt() -> bool:
    """Whether ``time_budget`` can bound code run here: the main thread of a process with
    ``setitimer`` (Unix) and no profiling timer armed by someone else."""
    return (_TIMER is not None and threading.current_thread() is threading.main_thread()
            and signal.getitimer(_TIMER) == (0.0, 0.0))


# Once the budget is spent the timer fires again this often until the block has left: Python
# ignores an exception raised where it cannot propagate (a gc callback, a __del__), and with
# sqlglot compiled (mypyc) the first Python code a signal finds is often such a callback.
_AGAIN_SECONDS = 0.05


def _expire(signum: int, frame: Any) -> None:
    assert _TIMER is not None
    signal.setitimer(_TIMER, _AGAIN_SECONDS)
    raise _Expired


def _disarm(previous: Any) -> bool:
    """Stop the timer and put the caller's handler back; True if the budget ran out meanwhile."""
    assert _TIMER is not None and _SIGNAL is not None
    expired = False
    while True:
        try:
            signal.setitimer(_TIMER, 0)
            signal.signal(_SIGNAL, previous)
            return expired
        except _Expired:  # fired just as the block ended: the budget was spent; disarm again
            expired = True


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block for at most ``seconds`` of CPU time (None or 0: no limit), then raise
    ``StatementTimeout``. Only on the main thread (see the module's docstring); elsewhere the
    block runs unbounded.
    """
    if not seconds or not can_interrupt():
        yield
        return
    assert _TIMER is not None and _SIGNAL is not None  # can_interrupt() said so
    previous = signal.signal(_SIGNAL, _expire)
    expired = False
    try:
        signal.setitimer(_TIMER, seconds)
        yield
    except _Expired:
        expired = True
    finally:
        expired = _disarm(previous) or expired
    if expired:
        raise StatementTimeout(seconds) from None


def call_within(seconds: float | None, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` under ``time_budget(seconds)``."""
    with time_budget(seconds):
        return function(*args, **kwargs)


# In a worker process: the function to map and its budget, set by _start_worker.
_TASK: dict[str, Any] = {}


def _start_worker(function: Callable[[Any], Any], seconds: float | None,
                  initializer: Callable[..., None] | None, initargs: tuple) -> None:
    import signal

    # Pool.terminate() stops workers with SIGTERM: a handler the parent had installed (and the
    # fork copied) must not keep a worker alive, or terminate() waits for it forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _TASK.update(function=function, seconds=seconds)
    if initializer is not None:
        initializer(*initargs)


def _run_chunk(items: list) -> list[tuple[bool, Any]]:
    """(True, result) or (False, budget) for each item, in a worker."""
    done: list[tuple[bool, Any]] = []
    for item in items:
        try:
            done.append((True, call_within(_TASK["seconds"], _TASK["function"], item)))
        except StatementTimeout as exc:
            done.append((False, exc.seconds))
    return done


def map_within(function: Callable[[Any], Any], items: Iterable[Any], seconds: float | None, workers: int,
               initializer: Callable[..., None] | None = None, initargs: tuple = (),
               grace: float = GRACE_SECONDS) -> Iterator[Any]:
    """``function(item)`` for each item, in order, over ``workers`` forked processes; an item
    whose budget ran out gives a ``StatementTimeout`` instance instead of its result.

    ``function`` and ``initializer`` (run once per worker) are inherited by fork, not pickled;
    items and results are pickled. Forking is safe only while the caller has a single thread.
    Items go to the workers in chunks; after a stall, one by one.
    """
    import multiprocessing

    todo = list(items)
    context = multiprocessing.get_context("fork")
    chunk = max(1, len(todo) // (workers * 8))
    start = 0
    while start < len(todo):
        pool = context.Pool(workers, initializer=_start_worker,
                            initargs=(function, seconds, initializer, initargs))
        try:
            chunks = [todo[at:at + chunk] for at in range(start, len(todo), chunk)]
            results = pool.imap(_run_chunk, chunks)
            for items in chunks:
                try:
                    # Chunks start in order and every earlier one is done, so this one is running:
                    # waiting this long means a worker cannot stop one of its items.
                    wait = len(items) * seconds * HARD_FACTOR + grace if seconds else None
                    found = results.next(timeout=wait)
                except multiprocessing.TimeoutError:
                    if len(items) == 1:
                        start += 1
                        yield StatementTimeout(seconds or 0)
                    chunk = 1  # a new pool goes through the stalled chunk item by item to find it
                    break
                start += len(items)
                yield from (value if done else StatementTimeout(value) for done, value in found)
        finally:
            pool.terminate()
            pool.join()
