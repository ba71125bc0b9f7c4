"""The one error boundary: every failure becomes ``Error: …`` / ``Hint: …`` and an ``ExitStatus``.

User errors (``LineageError``) exit with the status their class carries;
Ctrl-C exits 130; a closed pipe (``| head``) is not an error; anything else is
a bug in lineagectl: exit 70, with the traceback under ``--debug``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from lineagectl.errors import ExitStatus, LineageError

# A stderr line longer than this is cut (a parser message can embed a whole select list, a
# rejected line a 5,000-character value); --debug prints it whole.
MESSAGE_LIMIT = 500


def stderr(message: str) -> None:
    """Print a line on stderr (errors, warnings, progress: never data). Messages quote names,
    file names and reject reasons from events, so control characters are shown, never sent,
    and a newline in them cannot start a line of its own (``escape.one_line``); a line longer
    than ``MESSAGE_LIMIT`` characters is cut, saying how much was left out, unless ``--debug``."""
    from lineagectl.cli.environment import settings
    from lineagectl.cli.render.escape import bounded, one_line

    text = one_line(message)
    if not settings.debug:
        text = bounded(text, MESSAGE_LIMIT, "--debug shows all")
    print(text, file=sys.stderr)


def _silence_stdout() -> None:
    # A closed pipe (| head) is not an error; silence the flush at exit too.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _interrupted_query(exc: Exception) -> bool:
    # Ctrl-C while DuckDB runs a query surfaces as its InterruptException, not KeyboardInterrupt
    # (named, not imported: the boundary stays free of duckdb's import time).
    return type(exc).__name__ == "InterruptException" and type(exc).__module__.split(".")[0].lstrip("_") == "duckdb"


def handled(fn: Callable[..., Any], debug: Callable[[], bool]) -> Callable[..., Any]:
    """``fn`` behind the boundary; ``debug()`` says whether internal errors show their traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LineageError as exc:
            stderr(f"Error: {exc.message}")
            if exc.hint:
                stderr(f"Hint: {exc.hint}")
            raise typer.Exit(exc.exit_status) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            stderr("Interrupted.")
            raise typer.Exit(ExitStatus.INTERRUPTED) from None
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(ExitStatus.OK) from None
        except Exception as exc:
            if _interrupted_query(exc):
                stderr("Interrupted.")
                raise typer.Exit(ExitStatus.INTERRUPTED) from None
            if debug():
                raise
            stderr(f"Error: internal error: {type(exc).__name__}: {exc}")
            stderr("Hint: this is a bug in lineagectl; rerun with --debug for the traceback and report it")
            raise typer.Exit(ExitStatus.INTERNAL) from None

    return wrapper


def run(app: Callable[[], Any]) -> None:
    """Run the typer ``app`` and end the process with its exit status."""
    code = int(ExitStatus.OK)
    for stream in (sys.stdout, sys.stderr):
        # A name the terminal's encoding cannot show (cp1252, ascii) is written escaped
        # (\u30b8, also valid inside JSON strings) rather than failing the command.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        app()
    except KeyboardInterrupt:
        stderr("Interrupted.")
        code = ExitStatus.INTERRUPTED
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            stderr(str(exc.code))
            code = ExitStatus.FINDINGS
    # Every store connection and output file is closed by now (context managers); skipping the
    # interpreter's teardown of duckdb, pyarrow and friends saves tens of milliseconds a command.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _silence_stdout()
    os._exit(int(code))
