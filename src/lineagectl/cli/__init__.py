"""The command line: parse options, call one library function, render, exit.

This module imports only typer and lineagectl's light modules at import time,
so ``lineagectl --help`` stays fast; each command imports the library lazily.
Errors are turned into messages and exit codes in one place: ``_handled``.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated, Callable, Optional

import typer

from lineagectl import __version__
from lineagectl.errors import EXIT_OK, LineageError

EXIT_INTERNAL = 70  # a bug in lineagectl, not a user error (sysexits EX_SOFTWARE)

app = typer.Typer(
    name="lineagectl",
    help="Data lineage from the terminal: OpenLineage events and dbt manifests in one DuckDB file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Settings:
    """Global options, given before the command (command-level ones win)."""

    db: Optional[str] = None
    policy: Optional[str] = None
    quiet: bool = False
    debug: bool = False


settings = Settings()

DbOption = Annotated[Optional[str], typer.Option(
    "--db", metavar="PATH",
    help="Store file (default: $LINEAGECTL_DB, else ./lineage.duckdb).", show_default=False)]
FormatOption = Annotated[str, typer.Option(
    "--format", "-f", metavar="FORMAT", help="Output format: table, json, ndjson or csv.")]
OutputOption = Annotated[Optional[str], typer.Option(
    "--output", "-o", metavar="FILE", help="Write results to FILE instead of stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
NamespaceOption = Annotated[Optional[str], typer.Option(
    "--namespace", metavar="NS", help="Only this namespace.")]

TABULAR = ("table", "json", "ndjson", "csv")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _handled(fn: Callable) -> Callable:
    """The error boundary: user errors become ``Error: …``/``Hint: …`` and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LineageError as exc:
            _stderr(f"Error: {exc.message}")
            if exc.hint:
                _stderr(f"Hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            _stderr("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # A closed pipe (| head) is not an error; silence the flush at exit too.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_OK) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if settings.debug:
                raise
            _stderr(f"Error: internal error: {type(exc).__name__}: {exc}")
            _stderr("Hint: this is a bug in lineagectl; rerun with --debug for the traceback and report it")
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def command(*names: str, **kwargs) -> Callable:
    """Register a command (first name; more names are hidden aliases) behind the error boundary."""

    def register(fn: Callable) -> Callable:
        wrapped = _handled(fn)
        app.command(names[0], **kwargs)(wrapped)
        for alias in names[1:]:
            app.command(alias, hidden=True, **kwargs)(wrapped)
        return wrapped

    return register


def emit(result, fmt: Optional[str], output: Optional[str], allowed: tuple[str, ...] = TABULAR) -> None:
    """Render a library ``Result`` to stdout or ``--output``."""
    from lineagectl.cli.render import render

    fmt = fmt or "table"
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as stream:
                render(result, fmt, stream, color=False, allowed=allowed)
        except OSError as exc:
            from lineagectl.errors import InputError

            raise InputError(f"cannot write {output}: {exc.strerror}") from None
    else:
        render(result, fmt, sys.stdout, color=_color(sys.stdout), allowed=allowed)


def db_of(db: Optional[str]) -> Optional[str]:
    """The store path from the command's --db, else the global one (env/default later)."""
    return db or settings.db


def _version(value: bool) -> None:
    if value:
        print(f"lineagectl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: DbOption = None,
    policy: Annotated[Optional[str], typer.Option(
        "--policy", metavar="PATH",
        help="Policy file (default: $LINEAGECTL_POLICY, else ./lineagectl.yaml).")] = None,
    quiet: QuietOption = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    wait: Annotated[Optional[float], typer.Option(
        "--wait", metavar="SECONDS",
        help="If another process holds the store, retry for up to SECONDS (default: $LINEAGECTL_WAIT, else 0).",
        show_default=False)] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    settings.db, settings.policy, settings.quiet, settings.debug = db, policy, quiet, debug
    if wait is not None:
        # The store reads it when it opens the file, whichever command does.
        os.environ["LINEAGECTL_WAIT"] = str(wait)


def main() -> None:
    """Console-script entry point."""
    code = 0
    try:
        app()
    except KeyboardInterrupt:
        _stderr("Interrupted.")
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            _stderr(str(exc.code))
    # Every store connection and output file is closed by now (context managers); skipping the
    # interpreter's teardown of duckdb, pyarrow and friends saves tens of milliseconds a command.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    os._exit(code)


# Commands register themselves on import; keep these imports light.
from . import commands, compliance, operations  # noqa: E402,F401

__all__ = ["app", "main"]
