"""Error types and the one exit-status table of lineagectl.

Every failure a user can cause is one of these classes; the CLI's single error
boundary (``lineagectl.cli.boundary``) turns them into ``Error: …`` / ``Hint: …``
on stderr and the ``ExitStatus`` each class carries. Library callers catch
``LineageError``. A successful command's status follows from its result
(``Result.exit_status``, ``IngestReport.exit_status``), never from the command.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """How a lineagectl command ends (as sqlfluff, ruff and httpie define theirs)."""

    OK = 0
    FINDINGS = 1      # a check found violations, a gate failed, an ingest rejected lines
    USAGE = 2         # usage, config or input error (unknown name, bad policy, missing database…)
    INPUT = 2         # the same status: bad input is a usage error of the command
    LOCKED = 3        # another process holds the store
    INTERNAL = 70     # a bug in lineagectl (sysexits EX_SOFTWARE); --debug shows the traceback
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class LineageError(Exception):
    """Base class of every error lineagectl reports to a user."""

    exit_status: ExitStatus = ExitStatus.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(LineageError):
    """An input file, option value or argument is not usable."""


class DatabaseMissingError(LineageError):
    """A query was run against a database file that does not exist."""


class DatabaseError(LineageError):
    """The database file cannot be opened or written, or has an unsupported schema."""


class DatabaseLockedError(LineageError):
    """Another process holds the write lock on the database file."""

    exit_status = ExitStatus.LOCKED


class NotFoundError(LineageError):
    """A named dataset or job is not in the store (or is ambiguous)."""



class PolicyError(LineageError):
    """The policy file is missing, unreadable or invalid."""
