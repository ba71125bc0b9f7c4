"""What an ingest did: counts, rejects with their place, warnings; and the exit status they make."""

from __future__ import annotations

from dataclasses import dataclass, field

from lineagectl.errors import ExitStatus

# An ingest report lists this many rejected events with their place and reason (a log of
# a million bad lines would otherwise make a report of hundreds of megabytes).
REPORTED_REJECTS = 10_000


@dataclass
class IngestReport:
    """What an ingest did."""

    files: int = 0
    files_skipped: int = 0
    events_read: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    events_rejected: int = 0
    datasets_added: int = 0
    jobs_added: int = 0
    runs_added: int = 0
    seconds: float = 0.0
    rolled_back: bool = False
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The first REPORTED_REJECTS rejected events: {"file", "line", "reason"} (events_rejected counts all).
    rejects: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as plain JSON-able data."""
        return dict(self.__dict__)

    @property
    def exit_status(self) -> ExitStatus:
        """USAGE when a file could not be read, FINDINGS when lines were rejected, else OK."""
        if self.file_errors:
            return ExitStatus.USAGE
        return ExitStatus.FINDINGS if self.events_rejected else ExitStatus.OK
