"""Shell-style globs, the one implementation: matched in Python and in DuckDB alike.

A glob means exactly what ``fnmatch.fnmatchcase(text.lower(), pattern.lower())``
means: ``*`` any run of characters (``/`` and ``.`` included), ``?`` one character,
``[abc]``/``[a-z]`` one character of the set, ``[!abc]`` one character not in it.
Nothing escapes: ``\\`` is an ordinary character. Inside brackets a ``]`` right
after ``[`` or ``[!`` is a member (``[]]``, ``[!]]``), ``-`` first or last is a
member (``[-a]``, ``[a-]``), ``^`` is an ordinary member (``[^b]`` is ``^`` or
``b``, *not* "not b": that is ``[!b]``) and so is ``[`` (``[[]``).

What fnmatch would silently read another way is refused (``GlobError``, a ``ValueError``): a ``[``
never closed (fnmatch matches it literally, so ``[]`` and ``[!]`` are a literal
``[]``/``[!]``), a ``]`` outside brackets (write ``[]]``), and a reversed range
such as ``[z-a]`` (fnmatch drops it: ``[z-a]`` never matches).

The pattern is parsed once into parts (a star, or the set of characters one
position accepts); the Python regex and the RE2 regex for DuckDB's
``regexp_full_match`` are both written from those parts, with the same character
sets, so the two cannot disagree. Case-insensitivity is built into the sets
(``a`` becomes ``[Aa]``, ``[0-_]`` leaves out ``A-Z`` because they lower-case to
``a-z``), not left to each engine's case folding, which differs from
``str.lower`` (RE2 folds ``ſ`` with ``s``, ``µ`` with ``μ``). Characters are
lower-cased one at a time, which is ``str.lower`` except for two letters: ``İ``
(U+0130, whose lower case is two characters) is kept as it is, and a word-final
``Σ`` becomes ``σ`` (``str.lower`` gives ``ς`` there).
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

_PYTHON, _RE2 = "python", "re2"
_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)  # no DuckDB text holds them
_NEVER = {_PYTHON: "(?!)", _RE2: "[^\\x00-\\x{10ffff}]"}  # RE2 has no lookahead
# No character above U+1FFFF changes when lower-cased (tests/test_globs.py checks).
_CASED_BELOW = 0x20000

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point ranges


class GlobError(ValueError):
    """An invalid glob; ``reason`` says what is wrong, without the pattern."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"invalid glob {pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason


@dataclass(frozen=True)
class _Chars:
    """One position of the pattern: the characters of the text it accepts (all but ``ranges`` if negated)."""

    ranges: Ranges
    negated: bool = False

    def accepts(self, char: str) -> bool:
        index = bisect_right(self.ranges, (ord(char), _LAST_CODE_POINT))
        inside = index > 0 and self.ranges[index - 1][0] <= ord(char) <= self.ranges[index - 1][1]
        return inside != self.negated


_STAR = None  # a part that is ``*``
_Part = _Chars | None


class Glob:
    """A shell-style glob; case-insensitive unless ``case_sensitive``. ``GlobError`` (a ``ValueError``) if invalid."""

    def __init__(self, pattern: str, *, case_sensitive: bool = False) -> None:
        self.pattern = pattern
        self.case_sensitive = case_sensitive
        self._parts = _parse(pattern, case_sensitive)

    @functools.cached_property
    def _python(self) -> re.Pattern[str]:
        # Compiled when first matched in Python: most globs of a policy only ever run in SQL.
        return re.compile(_regex(self._parts, _PYTHON))

    def match(self, text: str) -> bool:
        """Whether the whole of ``text`` matches (as ``fnmatch.fnmatchcase`` on lower-cased text)."""
        return self._python.fullmatch(text) is not None

    def sql_regex(self) -> str:
        """The glob for DuckDB's ``regexp_full_match(text, regex)``: true when ``match(text)`` is."""
        return _regex(self._parts, _RE2)

    def sql_name_regex(self) -> str:
        """For ``regexp_full_match(name, regex)``: the whole name or a suffix after a ``.`` or ``/`` matches."""
        return "(?s)(?:.*[./])?" + _body(self._parts, _RE2)

    def sql_last_part_regex(self) -> str:
        """A cheap pre-filter for ``name.column`` globs: a column must fully match this regex for
        ``name.column`` (or ``namespace/name.column``) to match the glob, whatever the name.

        The column is what follows some ``.`` of the text, so it matches the rest of the
        pattern from a star on, or after a part that accepts ``.``.
        """
        parts = self._parts
        alternatives: list[str] = []
        for k in range(len(parts) + 1):
            from_star = k < len(parts) and parts[k] is _STAR  # the "." is inside what the star matches
            before = parts[k - 1] if k > 0 else _Chars(())    # (an empty set accepts no ".")
            if from_star or before is _STAR or (before is not None and before.accepts(".")):
                alternative = _body(parts[k:], _RE2)
                if alternative == ".*":
                    return "(?s).*"  # nothing to filter
                if alternative not in alternatives:
                    alternatives.append(alternative)
        if not alternatives:
            return _NEVER[_RE2]  # no part can match the "." before a column: no column ever matches
        return "(?s)(?:" + "|".join(alternatives) + ")"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Glob) and other.pattern == self.pattern
                and other.case_sensitive == self.case_sensitive)

    def __hash__(self) -> int:
        return hash((self.pattern, self.case_sensitive))

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r}{', case_sensitive=True' if self.case_sensitive else ''})"


def sql_regex_any(globs: Iterable[Glob]) -> str:
    """One regex for ``regexp_full_match`` that is true when any of ``globs`` matches (RE2 takes it in one pass)."""
    return "(?s)(?:" + "|".join(_body(g._parts, _RE2) for g in globs) + ")"


# -- parsing -------------------------------------------------------------------------------------

def _lower(char: str) -> str:
    lower = char.lower()
    return lower if len(lower) == 1 else char


def _parse(pattern: str, case_sensitive: bool) -> list[_Part]:
    """The parts of ``pattern``, read as ``fnmatch.translate`` reads it; ``GlobError`` for what it would misread."""
    text = pattern if case_sensitive else "".join(map(_lower, pattern))  # same length: one character each
    parts: list[_Part] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "*":
            if not parts or parts[-1] is not _STAR:
                parts.append(_STAR)
        elif char == "?":
            parts.append(_Chars((), negated=True))
        elif char == "[":
            start = j = i + 1
            if j < n and text[j] == "!":
                j += 1
            if j < n and text[j] == "]":
                j += 1
            while j < n and text[j] != "]":
                j += 1
            if j >= n:
                raise GlobError(pattern, f"the '[' at character {i + 1} is never closed; "
                                         "a ']' right after '[' or '[!' is a member of the set, not its end")
            negated = text[start] == "!"
            members = _members(text[start + negated:j], pattern[start + negated:j], pattern)
            parts.append(_Chars(_case_fold(members, case_sensitive), negated))
            i = j
        elif char == "]":
            raise GlobError(pattern, f"the ']' at character {i + 1} closes no '['; write []] to match a ']'")
        else:
            parts.append(_literal(char, case_sensitive))
        i += 1
    return parts


@functools.lru_cache(maxsize=4096)
def _literal(char: str, case_sensitive: bool) -> _Chars:
    """The set one literal (already lower-cased) character of a pattern accepts."""
    return _Chars(_case_fold([(ord(char), ord(char))], case_sensitive))


def _members(body: str, written: str, pattern: str) -> list[tuple[int, int]]:
    """The ranges of a bracket's ``body``: ``a-c`` is a range unless its ``-`` is first or last;
    after a range a ``-`` starts nothing (``[a-c-e]`` is a to c, ``-`` and ``e``), as in fnmatch."""
    members, k = [], 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low > high:
                lowered = "" if body[k:k + 3] == written[k:k + 3] else "; ranges compare lower-cased characters"
                raise GlobError(pattern, f"the range {written[k:k + 3]!r} is empty{lowered}")
            members.append((ord(low), ord(high)))
            k += 3
        else:
            members.append((ord(body[k]), ord(body[k])))
            k += 1
    return members


# -- character sets ------------------------------------------------------------------------------

@functools.cache
def _lower_cases() -> tuple[tuple[int, int], ...]:
    """(character, its lower case) for every character that lower-cases to another single one, by character."""
    pairs = []
    for code in range(_CASED_BELOW):
        lower = _lower(chr(code))
        if lower != chr(code):
            pairs.append((code, ord(lower)))
    return tuple(pairs)


def _normal(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted, merged ranges."""
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


@functools.cache
def _uppers() -> dict[int, tuple[int, ...]]:
    """Lower case -> the characters that lower-case to it (the inverse of ``_lower_cases``)."""
    found: dict[int, list[int]] = {}
    for code, lower in _lower_cases():
        found.setdefault(lower, []).append(code)
    return {lower: tuple(codes) for lower, codes in found.items()}


# A set this small is folded member by member; larger ones (ranges such as [a-z]) by scanning.
_FOLD_BY_MEMBER = 256


def _case_fold(members: list[tuple[int, int]], case_sensitive: bool) -> Ranges:
    """The characters of the text whose lower case is in ``members`` (the members themselves if case-sensitive)."""
    ranges = _normal(members)
    if case_sensitive:
        return ranges
    if sum(high - low + 1 for low, high in ranges) <= _FOLD_BY_MEMBER:
        # The same set as the scan below, found from the members: a character is kept when its
        # lower case is a member, and every character whose lower case is a member is added.
        codes = {c for low, high in ranges for c in range(low, high + 1)}
        uppers = _uppers()
        chosen = {c for c in codes if ord(_lower(chr(c))) in codes}
        chosen.update(u for c in codes for u in uppers.get(c, ()))
        return _normal((c, c) for c in chosen)
    probe = _Chars(ranges)
    kept: list[tuple[int, int]] = []
    removed = sorted(c for c, _ in _lower_cases() if probe.accepts(chr(c)))  # members that are upper case
    for low, high in ranges:
        for code in removed:
            if low <= code <= high:
                if low < code:
                    kept.append((low, code - 1))
                low = code + 1
        if low <= high:
            kept.append((low, high))
    added = [(c, c) for c, lower in _lower_cases() if probe.accepts(chr(lower))]
    return _normal(kept + added)


# -- regexes -------------------------------------------------------------------------------------

def _regex(parts: list[_Part], engine: str) -> str:
    return "(?s)" + _body(parts, engine)


def _body(parts: list[_Part], engine: str) -> str:
    """The parts as a regex for ``engine``, without flags. For Python, each run of fixed parts
    between stars is found lazily in an atomic group (as ``fnmatch.translate`` does), so that
    ``*a*b*c`` cannot backtrack for long; RE2 never backtracks."""
    runs: list[str] = [""]  # fixed runs, one more than there are stars
    for part in parts:
        if part is _STAR:
            runs.append("")
        else:
            runs[-1] += _atom(part, engine)
    if len(runs) == 1:
        return runs[0]
    if engine == _RE2:
        return ".*".join(runs)
    middle = "".join(f"(?>.*?{run})" for run in runs[1:-1])
    return runs[0] + middle + ".*" + runs[-1]


def _atom(part: _Chars, engine: str) -> str:
    ranges = part.ranges
    if engine == _RE2:
        ranges = _normal((low, high) for low, high in _without(ranges, _SURROGATES))
    if not ranges:
        return "." if part.negated else _NEVER[engine]
    if not part.negated and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0], engine)
    members = "".join(_char(low, engine) + ("" if low == high else "-" + _char(high, engine))
                      for low, high in ranges)
    return f"[{'^' if part.negated else ''}{members}]"


def _without(ranges: Ranges, gap: tuple[int, int]) -> Iterable[tuple[int, int]]:
    for low, high in ranges:
        if low < gap[0]:
            yield low, min(high, gap[0] - 1)
        if high > gap[1]:
            yield max(low, gap[1] + 1), high


def _char(code: int, engine: str) -> str:
    """One character, written so that both engines read it as itself, in or out of brackets."""
    char = chr(code)
    if char.isascii():
        if char.isalnum() or char == "_":
            return char
        return "\\" + char if 0x20 < code < 0x7F else f"\\x{code:02x}"
    if char.isprintable():
        return char
    if engine == _RE2:
        return f"\\x{{{code:x}}}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
