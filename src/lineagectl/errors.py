"""Error types and the one exit-code table of lineagectl.

Every failure a user can cause is one of these classes; the CLI's single error
boundary (``lineagectl.cli.main``) turns them into ``Error: …`` / ``Hint: …`` on
stderr and the exit code below. Library callers catch ``LineageError``.

| code | meaning                                                        |
|------|----------------------------------------------------------------|
| 0    | ok                                                             |
| 1    | a check found violations, or an ingest rejected lines          |
| 2    | usage, config or input error (unknown name, missing database…) |
| 3    | the database is locked by another process                      |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


class LineageError(Exception):
    """Base class of every error lineagectl reports to a user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(LineageError):
    """An input file, option value or argument is not usable."""


class DatabaseMissingError(LineageError):
    """A query was run against a database file that does not exist."""


class DatabaseError(LineageError):
    """The database file cannot be opened or has an unsupported schema."""


class DatabaseLockedError(LineageError):
    """Another process holds the write lock on the database file."""

    exit_code = EXIT_LOCKED


class NotFoundError(LineageError):
    """A named dataset or job is not in the store (or is ambiguous)."""


class RejectedInputError(LineageError):
    """Some input records were rejected; the rest was stored."""

    exit_code = EXIT_FAILED
