"""Lenient timestamp and duration parsing.

Real producers send ISO 8601 with ``Z``, with offsets, without any timezone
(Marquez accepts those as UTC) and with nanoseconds (Java producers). Everything
is normalised to a naive ``datetime`` in UTC, which is how the store keeps time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_FRACTION = re.compile(r"(\.\d{6})\d+")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_timestamp(value: object) -> datetime | None:
    """Parse an OpenLineage timestamp into naive UTC; ``None`` if it is not one.

    Accepts ``Z``/offsets, no timezone (taken as UTC), more than six fractional
    digits (truncated to microseconds) and a space instead of ``T``.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        # Python 3.11 reads the common forms (``Z``, offsets, up to 6 fractional digits)
        # itself; the lenient rewriting below costs twice as much and runs per event.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        lenient = _lenient(value)
        if lenient is None:
            return None
        parsed = lenient
    offset = parsed.utcoffset()
    if offset is None:
        return parsed
    if not offset:
        return parsed.replace(tzinfo=None)  # "Z", the usual case: no arithmetic (per event at ingest)
    try:
        return parsed.replace(tzinfo=None) - offset
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


def _lenient(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:
        text = _FRACTION.sub(r"\1", text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """Parse ``--since``: a duration back from now (``90m``, ``36h``, ``7d``, ``2w``) or a timestamp.

    Raises ``ValueError`` with a message fit for users.
    """
    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        now = now or datetime.now(UTC).replace(tzinfo=None)
        try:
            return now - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise ValueError(f"{value!r} reaches back before the year 1: use a shorter duration") from None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError(
            f"cannot read {value!r} as a time: use a duration like 7d, 36h, 90m "
            "or a timestamp like 2026-11-20T02:00:00Z"
        )
    return parsed


def parse_duration(value: str) -> timedelta:
    """A duration as users write it (``90m``, ``36h``, ``7d``, ``2w``); ``ValueError`` otherwise."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"cannot read {value!r} as a duration: use one like 90m, 36h, 7d or 2w")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise ValueError(f"{value!r} is longer than any date can be apart") from None


def option_time(value: str | None, option: str) -> datetime | None:
    """``parse_since`` for a command-line option: ``None`` passes, errors name the option."""
    if value is None:
        return None
    from lineagectl.errors import InputError

    try:
        return parse_since(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def format_timestamp(value: datetime | None) -> str | None:
    """Render a stored (naive UTC) time as ISO 8601 with ``Z``."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds") + "Z"
