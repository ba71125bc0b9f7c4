"""The one sanitiser of untrusted text (names from events and manifests) for terminals and markup.

Control characters never reach a terminal (no escape sequences, no cursor
moves) nor a CI log or XML file (NUL and the C0/C1 controls XML 1.0 forbids),
and lone surrogates, which no encoder writes, are dropped too. Line breaks are
each format's business: tables show CR as a visible mark, CI formats escape it.
"""

from __future__ import annotations

import re

# C0 controls but tab/LF/CR, DEL, C1 controls, lone surrogates, and the XML non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_VISIBLE = "\N{REPLACEMENT CHARACTER}"


def clean(value: object) -> str:
    """``value`` as text without control characters (tab, newline and carriage return are kept)."""
    return _CONTROL.sub("", "" if value is None else str(value))


def terminal_text(value: object) -> str:
    """``value`` as text for a terminal: control characters and CR shown as U+FFFD, never sent."""
    return _CONTROL.sub(_VISIBLE, "" if value is None else str(value)).replace("\r", _VISIBLE)
