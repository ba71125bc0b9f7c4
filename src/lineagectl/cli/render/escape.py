"""The one sanitiser of untrusted text (names from events and manifests) for terminals and markup.

Control characters never reach a terminal (no escape sequences, no cursor
moves) nor a CI log or XML file (NUL and the C0/C1 controls XML 1.0 forbids),
and lone surrogates, which no encoder writes, are dropped too. On a terminal the
characters that change how text *looks* without being seen — bidi overrides
(U+202E turns ``exe.txt`` into ``txt.exe``), zero-width characters, line and
paragraph separators — are shown as U+FFFD as well. Line breaks are each
format's business: a table cell, a title or an error line is one line
(``one_line``: a newline in a name shows as ``⏎``, so it cannot forge a row or a
CI workflow command), CI formats escape them their own way.
"""

from __future__ import annotations

import re

# C0 controls but tab/LF/CR, DEL, C1 controls, lone surrogates, and the XML non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_VISIBLE = "\N{REPLACEMENT CHARACTER}"
# Invisible formatting: ALM, zero-width space/joiners/marks, LRE..RLO, word joiner and invisible
# operators, LRI..PDI, line/paragraph separators, BOM. Shown, never sent to a terminal.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u2028\u2029\ufeff]")
_NEWLINE = "\N{RETURN SYMBOL}"


def clean(value: object) -> str:
    """``value`` as text without control characters or invisible formatting (tab, newline and
    carriage return are kept): for CI logs, XML and markdown."""
    return _INVISIBLE.sub("", _CONTROL.sub("", "" if value is None else str(value)))


def terminal_text(value: object) -> str:
    """``value`` as text for a terminal: control characters, CR and invisible formatting shown as
    U+FFFD, never sent; newlines and tabs kept."""
    text = _CONTROL.sub(_VISIBLE, "" if value is None else str(value)).replace("\r", _VISIBLE)
    return _INVISIBLE.sub(_VISIBLE, text)


def one_line(value: object) -> str:
    """``terminal_text`` on one line: a newline shows as ⏎ and a tab as a space, so text from a
    store can neither start a line of its own (a forged row, a ``::error`` workflow command)
    nor break a table's columns."""
    return terminal_text(value).replace("\n", _NEWLINE).replace("\t", " ")


def bounded(text: str, limit: int, how_to_see_all: str = "") -> str:
    """``text`` cut to ``limit`` characters, saying how many more there were (and how to see
    them): ``abc… (1,234 more characters; --debug shows all)``."""
    if len(text) <= limit:
        return text
    more = f"{len(text) - limit:,} more characters" + (f"; {how_to_see_all}" if how_to_see_all else "")
    return f"{text[:limit]}… ({more})"
