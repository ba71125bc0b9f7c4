"""The command line: parse options, make one ``lineagectl.api`` call, render, exit.

Layers (docs/architecture.md): this package imports only ``lineagectl.api``,
``lineagectl.errors`` and ``lineagectl.results`` of the library, plus typer and
rich; it resolves every setting (``environment``), calls the API, hands the
``Result`` to ``render`` and exits with the result's ``ExitStatus``. Errors
become messages and exit statuses in one place (``boundary``). Importing it
stays light so ``lineagectl --help`` is instant; rich loads when a table is drawn.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TextIO, get_args

import typer

from lineagectl import __version__
from lineagectl.cli import boundary
from lineagectl.cli.environment import settings
from lineagectl.cli.helpformat import Command, Group
from lineagectl.cli.helpformat import examples as examples_epilog
from lineagectl.errors import InputError
from lineagectl.results import Result

app = typer.Typer(
    cls=Group,
    name="lineagectl",
    help="Data lineage from the terminal: OpenLineage events and dbt manifests in one DuckDB file.",
    epilog=examples_epilog("# Ingest the bundled sample, then ask what depends on user_master",
                           "lineagectl ingest sample_events/",
                           "lineagectl impact user_master",
                           "# Which store and policy are used, and where they came from",
                           "lineagectl doctor"),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion; names complete from the store (completion.py)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Every enumerated option is a Literal, so click checks it (any case) and lists the choices (exit 2).
Tabular = Literal["table", "json", "ndjson", "csv"]
# Answers that are lists of named things also print one qualified name per line (-f name).
Listing = Literal["table", "json", "ndjson", "csv", "name"]
TABULAR: tuple[str, ...] = get_args(Tabular)
LISTING: tuple[str, ...] = get_args(Listing)

DbOption = Annotated[str | None, typer.Option(
    "--db", metavar="PATH",
    help="Store file (default: $LINEAGECTL_DB, else db: of the nearest lineagectl.yaml, else ./lineage.duckdb).",
    show_default=False)]
FormatOption = Annotated[Tabular, typer.Option(
    "--format", "-f", metavar="FORMAT", case_sensitive=False, help="Output format: table, json, ndjson or csv.")]
ListFormatOption = Annotated[Listing, typer.Option(
    "--format", "-f", metavar="FORMAT", case_sensitive=False,
    help="Output format: table, json, ndjson, csv or name (one namespace/name per line).")]
OutputOption = Annotated[str | None, typer.Option(
    "--output", "-o", metavar="FILE", help="Write results to FILE instead of stdout.")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress, summaries, notes or warnings on stderr; errors stay.")]
NamespaceOption = Annotated[str | None, typer.Option(
    "--namespace", metavar="NS", help="Only this namespace.")]
PolicyOption = Annotated[str | None, typer.Option(
    "--policy", metavar="PATH",
    help="Policy file (default: $LINEAGECTL_POLICY, else the nearest lineagectl.yaml).")]


def color(stream: Any) -> bool:
    """Whether to colour ``stream``: ``--color always|never``, else ``NO_COLOR`` (off),
    ``FORCE_COLOR`` (on), else a terminal whose ``TERM`` is not dumb."""
    if settings.color in ("always", "never"):
        return settings.color == "always"
    if "NO_COLOR" in os.environ:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"


def command(*names: str, panel: str, examples: tuple[str, ...], **kwargs: Any
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command (first name; more names are hidden aliases) behind the error boundary,
    listed under heading ``panel`` of ``--help`` and ending its own help with ``examples``
    (``helpformat.examples``; each one is run by tests/test_help_examples.py)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = boundary.handled(fn, debug=lambda: settings.debug)
        kwargs.update(cls=Command, rich_help_panel=panel, epilog=examples_epilog(*examples))
        app.command(names[0], **kwargs)(wrapped)
        for alias in names[1:]:
            app.command(alias, hidden=True, **kwargs)(wrapped)
        return wrapped

    return register


def emit(result: Result, fmt: str | None, output: str | None, allowed: tuple[str, ...] = TABULAR) -> None:
    """Render a library ``Result`` to stdout or ``--output``."""
    from lineagectl.cli.render import render

    fmt = (fmt or "table").lower()
    if output and output.lower() in _format_names() and not settings.quiet:
        # dbt's -o is its output format; here it is a file: say so rather than write a file named "json".
        boundary.stderr(f"Warning: writing the {fmt} output to a file named {output!r}; "
                        f"for the {output} format use -f {output}")
    if output:
        with output_file(output) as stream:
            render(result, fmt, stream, color=False, allowed=allowed)
    else:
        render(result, fmt, sys.stdout, color=color(sys.stdout), allowed=allowed)


# Bytes 8-11 of every DuckDB database file (its main header's magic).
_DUCKDB_MAGIC = b"DUCK"


@contextmanager
def output_file(output: str) -> Iterator[TextIO]:
    """``-o FILE`` open for writing, a failure to write it an input error. Never a DuckDB
    database: ``-o lineage.duckdb`` (for ``--db``, or a store named by mistake) would truncate
    the store before a byte of the answer is written, and ``export -o`` lose every event."""
    try:
        with open(output, "rb") as existing:
            header = existing.read(12)
    except OSError:
        header = b""
    if header[8:12] == _DUCKDB_MAGIC:
        raise InputError(f"-o {output}: that file is a DuckDB database (a lineagectl store?); writing "
                         "the output there would destroy it", hint="give -o a new file name; --db names the store")
    try:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            yield stream
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}") from None


def _format_names() -> set[str]:
    from lineagectl.cli.render import RENDERERS

    return set(RENDERERS)


def finish(result: Result, fmt: str | None, output: str | None, allowed: tuple[str, ...] = TABULAR,
           no_fail: bool = False) -> None:
    """Render ``result`` and exit with its status (``no_fail`` turns findings into 0)."""
    emit(result, fmt, output, allowed)
    status = int(result.exit_status)
    if status and not (no_fail and status == 1):
        raise typer.Exit(status)


def _version(value: bool) -> None:
    if value:
        print(f"lineagectl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: DbOption = None,
    policy: PolicyOption = None,
    quiet: QuietOption = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    wait: Annotated[float | None, typer.Option(
        "--wait", metavar="SECONDS",
        help="If another process holds the store, retry for up to SECONDS (default: $LINEAGECTL_WAIT, else 0).",
        show_default=False)] = None,
    color_when: Annotated[Literal["auto", "always", "never"], typer.Option(
        "--color", metavar="WHEN", case_sensitive=False,
        help="Colour output: auto (a terminal, unless NO_COLOR), always or never.")] = "auto",
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Global options go before or after the command (one definition: ``cli/globals.py``)."""
    settings.db, settings.policy, settings.quiet, settings.debug = db, policy, quiet, debug
    settings.wait, settings.color = wait, color_when


def main() -> None:
    """Console-script entry point (also ``python -m lineagectl``: one name in usage lines and one
    completion variable, ``_LINEAGECTL_COMPLETE``, however it was started)."""
    boundary.run(lambda: app(prog_name="lineagectl"))


# Commands register themselves on import, in this order within a help panel (ingest heads Ingest);
# keep these imports light.
from lineagectl.cli import ingest, commands, compliance, diff, doctor, help_topics, marquez, operations, serve  # noqa: E402, F401, I001

__all__ = ["app", "main"]
