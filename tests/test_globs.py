"""Globs: Python (Glob.match), DuckDB (regexp_full_match with Glob.sql_regex) and fnmatch agree."""

from __future__ import annotations

import fnmatch

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineagectl.common.globs import Glob, GlobError, sql_regex_any

# (pattern, text, whether it matches): the expected value is fnmatch.fnmatchcase(text.lower(), pattern.lower()).
CASES = [
    # star: any run, "/" and "." and newlines included; runs of stars are one
    ("*", "", True),
    ("*", "a/b.c", True),
    ("a*", "A", True),
    ("*.user_id", "shop.public.t.USER_ID", True),
    ("*.user_id", "user_id", False),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "acb", False),
    ("a**b", "ab", True),
    ("a*", "a\nb", True),
    # question mark: exactly one character
    ("x?z", "xyz", True),
    ("x?z", "xz", False),
    ("x?z", "x/z", True),
    ("?", "\n", True),
    ("??", "é", False),
    # brackets and ranges
    ("[abc]", "B", True),
    ("[abc]", "d", False),
    ("[a-c]x", "bx", True),
    ("[a-c]", "-", False),
    ("[%--]", "+", True),
    ("[0-9][0-9]", "42", True),
    # negation is "!", never "^"
    ("a[!b]c", "abc", False),
    ("a[!b]c", "aBc", False),
    ("a[!b]c", "axc", True),
    ("a[!b]c", "a\nc", True),
    ("a[^b]c", "abc", True),      # [^b] is "^" or "b"
    ("a[^b]c", "a^c", True),
    ("a[^b]c", "axc", False),
    ("[!^]", "^", False),
    # "]" right after "[" or "[!" is a member
    ("[]]", "]", True),
    ("[]a]", "A", True),
    ("[!]]", "]", False),
    ("[!]]", "x", True),
    ("[]-a]", "^", True),         # the range ] to a
    ("[]-a]", "A", True),         # lower-cased, A is a
    # "-" first or last is a member; after a range a "-" starts nothing
    ("[a-]", "-", True),
    ("[-a]", "-", True),
    ("[!-a]", "-", False),
    ("[a-c-e]", "-", True),
    ("[a-c-e]", "d", False),
    ("[a-c-e]", "e", True),
    ("[--/]", ".", True),
    # "[" is a member like any other
    ("[[]", "[", True),
    ("[a[]", "[", True),
    # regex metacharacters are plain characters
    ("a.b", "aXb", False),
    ("a.b", "a.b", True),
    ("a+b", "a+b", True),
    ("a+b", "aab", False),
    ("f(x)", "f(x)", True),
    ("f(x)", "fx", False),
    ("$x^", "$x^", True),
    ("a|b", "a", False),
    ("a|b", "a|b", True),
    ("x{2}", "xx", False),
    ("x{2}", "x{2}", True),
    ("[.]", "x", False),
    ("[$]", "$", True),
    ("[&&]", "&", True),
    ("[a||b]", "|", True),
    ("[~~]", "~", True),
    ("#", "#", True),
    ("a b", "A B", True),
    ("a\tb", "a\tb", True),
    ("a?b", "a\x00b", True),
    # backslash escapes nothing
    ("a\\b", "a\\b", True),
    ("a\\*", "a\\xyz", True),
    ("a\\*", "a*", False),
    ("\\d", "5", False),
    ("\\d", "\\d", True),
    ("[\\]", "\\", True),
    ("[\\d]", "5", False),
    ("[\\w]", "w", True),
    ("\\", "\\", True),
    # unicode, lower-cased character by character
    ("café*", "CAFÉ au lait", True),
    ("ü?", "Üx", True),
    ("[à-ÿ]", "É", True),
    ("[α-ω]", "Σ", True),
    ("数据*", "数据仓库", True),
    ("🙂?", "🙂x", True),
    ("k", "\u212a", True),        # KELVIN SIGN lower-cases to k
    ("\u212a", "K", True),
    ("s", "ſ", False),            # LONG S does not lower-case to s (RE2's (?i) would match it)
    ("µ", "μ", False),            # MICRO SIGN is not GREEK MU (RE2's (?i) would match it)
    ("ß", "ẞ", True),
    ("straße", "STRASSE", False),
    # case
    ("ABC", "abc", True),
    ("[A-Z]", "q", True),
    ("[a-z]", "Q", True),
    ("[0-_]", "A", False),        # A lower-cases to a, outside 0 to _ (RE2's (?i) would match it)
    ("[0-_]", "@", True),
    ("[!0-_]", "A", True),
    # empty segments, "/" and "." in names
    ("", "", True),
    ("", "a", False),
    ("a..b", "a..b", True),
    ("a..b", "a.b", False),
    ("*.", "a.", True),
    (".*", ".hidden", True),
    ("a//b", "a//b", True),
    ("a/*/c", "a//c", True),
    ("a/b", "a.b", False),
    ("s3://acme-eu-*", "S3://ACME-EU-raw/x.csv", True),
    ("bigquery/acme-eu.*", "bigquery/acme-eu.staging.orders", True),
]
# Refused: fnmatch would read these another way than they look.
INVALID = [
    ("[", "never closed"),
    ("s3://[x", "the '[' at character 6 is never closed"),
    ("[]", "never closed"),       # fnmatch: the literal text "[]"
    ("[!]", "never closed"),      # fnmatch: the literal text "[!]"
    ("[[]x]", "closes no '['"),
    ("a]", "closes no '['"),      # fnmatch: a literal "]"
    ("[a-]]", "closes no '['"),
    ("[\\]]", "closes no '['"),
    ("[z-a]", "the range 'z-a' is empty"),  # fnmatch: never matches
    ("[!z-a]", "is empty"),                 # fnmatch: any character
    ("[Z-a]", "ranges compare lower-cased"),
    ("x[b-a]y", "is empty"),
]


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def in_duckdb(con, text: str, regex: str) -> bool:
    return con.execute("SELECT regexp_full_match(?, ?)", [text, regex]).fetchone()[0]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("pattern, text, expected", CASES)
def test_fnmatch_python_and_duckdb_agree(con, pattern, text, expected):
    assert fnmatch.fnmatchcase(text.lower(), pattern.lower()) is expected
    glob = Glob(pattern)
    assert glob.match(text) is expected
    assert in_duckdb(con, text, glob.sql_regex()) is expected


@pytest.mark.parametrize("pattern, text, _", CASES)
def test_case_sensitive_globs_agree_with_fnmatchcase(con, pattern, text, _):
    expected = fnmatch.fnmatchcase(text, pattern)
    try:
        glob = Glob(pattern, case_sensitive=True)
    except GlobError:  # only a range reversed by case: [Z-a] is fine lower-cased, not as written
        assert pattern.lower() != pattern
        return
    assert glob.match(text) is expected
    assert in_duckdb(con, text, glob.sql_regex()) is expected


@pytest.mark.parametrize("pattern, message", INVALID)
def test_globs_fnmatch_would_misread_are_refused(pattern, message):
    with pytest.raises(GlobError, match="invalid glob") as err:
        Glob(pattern)
    assert message in str(err.value) and isinstance(err.value, ValueError)


def test_the_two_exceptions_to_str_lower():
    """Characters are lower-cased one by one: İ stays as it is, a word-final Σ is σ (not ς)."""
    con = duckdb.connect()
    assert fnmatch.fnmatchcase("İ".lower(), "i?")  # str.lower: "i" and a combining dot
    assert not Glob("i?").match("İ") and not in_duckdb(con, "İ", Glob("i?").sql_regex())
    assert Glob("İ").match("İ") and in_duckdb(con, "İ", Glob("İ").sql_regex())
    assert not fnmatch.fnmatchcase("ΟΔΟΣ".lower(), "οδοσ")  # str.lower: final ς
    assert Glob("οδοσ").match("ΟΔΟΣ") and in_duckdb(con, "ΟΔΟΣ", Glob("οδοσ").sql_regex())


def test_no_character_above_u1ffff_changes_case():
    """globs.py looks for upper-case letters below U+20000 only."""
    assert all(chr(c).lower() == chr(c) for c in range(0x20000, 0x110000))


def test_star_runs_do_not_backtrack_for_long():
    glob = Glob("*a*a*a*a*a*a*b")
    assert not glob.match("a" * 5000)
    assert glob.match("a" * 5000 + "b")


def test_equality_and_repr():
    assert Glob("a*") == Glob("a*") and hash(Glob("a*")) == hash(Glob("a*"))
    assert Glob("a*") != Glob("A*") and Glob("a") != Glob("a", case_sensitive=True)
    assert repr(Glob("a*")) == "Glob('a*')"


# -- properties over a small alphabet that has every special character --------------------------

PATTERN_CHARS = "*?[]!^-\\.aAbB/é"
TEXT_CHARS = "aAbB.-/^!\\[]é\nkK\u212aſµμ"


@st.composite
def bracket_globs(draw):
    """Mostly valid globs: pieces of text, stars, question marks and bracket expressions."""
    pieces = draw(st.lists(st.one_of(
        st.text("aAbB.-/^!\\é", min_size=1, max_size=2),
        st.sampled_from(["*", "?"]),
        st.builds(lambda neg, close, body: "[" + neg + close + body + "]",
                  st.sampled_from(["", "!"]), st.sampled_from(["", "]"]),
                  st.text("aAbBz-!^[\\.é", min_size=1, max_size=4))), max_size=5))
    return "".join(pieces)


def check_agreement(con, pattern: str, text: str) -> None:
    try:
        glob = Glob(pattern)
    except GlobError:
        assert "[" in pattern or "]" in pattern
        return
    expected = fnmatch.fnmatchcase(text.lower(), pattern.lower())
    assert glob.match(text) is expected, (pattern, text, glob.sql_regex())
    assert in_duckdb(con, text, glob.sql_regex()) is expected, (pattern, text, glob.sql_regex())


@pytest.mark.filterwarnings("error")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.one_of(st.text(PATTERN_CHARS, max_size=8), bracket_globs()),
       text=st.text(TEXT_CHARS, max_size=8))
def test_random_globs_agree_with_fnmatch_in_python_and_duckdb(con, pattern, text):
    check_agreement(con, pattern, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=bracket_globs(), data=st.data())
def test_random_globs_agree_on_texts_they_match(con, pattern, data):
    """Random texts rarely match; texts drawn from the pattern's own characters often do."""
    text = data.draw(st.text(pattern.replace("*", "").replace("?", "") + "a.", max_size=8))
    check_agreement(con, pattern, text)


# -- names: the whole name or a suffix after "." or "/" ------------------------------------------

def name_matches(glob: Glob, name: str) -> bool:
    """The reference: the whole name, or what follows any "." or "/" of it."""
    return glob.match(name) or any(glob.match(name[i + 1:]) for i, ch in enumerate(name) if ch in "./")


@pytest.mark.parametrize("pattern, name, expected", [
    ("analytics_prod.*", "acme-eu.analytics_prod.orders", True),
    ("analytics_prod.*", "xanalytics_prod.orders", False),
    ("a/b", "s3/a/b", True),
    ("*rpt*", "db.mart.sales_rpt", True),
    ("orders", "orders_v2", False),
    ("orders", "db.ORDERS", True),
    ("", "db.", True),
    ("b", "a.b/", False),
    ("[!.]x", "a.x", False),
    ("[!.]x", "a.bx", True),
])
def test_name_globs_match_suffixes_alike_in_python_and_in_duckdb(con, pattern, name, expected):
    glob = Glob(pattern)
    assert name_matches(glob, name) is expected
    assert in_duckdb(con, name, glob.sql_name_regex()) is expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.one_of(st.text("ab*?./", max_size=5), bracket_globs()), name=st.text("aAb./", max_size=8))
def test_random_name_globs(con, pattern, name):
    try:
        glob = Glob(pattern)
    except GlobError:
        return
    assert in_duckdb(con, name, glob.sql_name_regex()) is name_matches(glob, name)


# -- the column pre-filter of name.column globs ----------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=st.one_of(st.text("ab*?./", max_size=6), bracket_globs()),
       name=st.text("aAb./", min_size=1, max_size=5), column=st.text("aAb.", max_size=4))
def test_the_column_pre_filter_never_drops_a_match(con, pattern, name, column):
    try:
        glob = Glob(pattern)
    except GlobError:
        return
    if glob.match(f"{name}.{column}") or glob.match(f"ns/{name}.{column}"):
        assert in_duckdb(con, column, glob.sql_last_part_regex()), (pattern, name, column)


@pytest.mark.parametrize("pattern, column, passes", [
    ("*.user_id", "USER_ID", True),
    ("*.user_id", "a.user_id", True),    # a column with a dot in its name
    ("*.user_id", "email", False),
    ("*.email", "user_id", False),
    ("crm.customers.e?ail", "EMAIL", True),
    ("crm.customers.e?ail", "name", False),
    ("crm.customers.e*", "name", True),  # crm.customers.ex.name matches: the star takes "x.name"
    ("a.b*", "d", True),                 # a.bc.d: the star takes "c.d"
    ("*[.]email", "email", True),
    ("email", "email", False),           # no "." to put before a column: nothing matches
    ("*email*", "x", True),              # emails.x matches: nothing to filter
])
def test_the_column_pre_filter_keeps_what_can_match(con, pattern, column, passes):
    assert in_duckdb(con, column, Glob(pattern).sql_last_part_regex()) is passes


def test_any_of_several_globs_in_one_regex(con):
    globs = [Glob("s3://acme-eu-*"), Glob("[!a]x"), Glob("bigquery/acme-eu.*")]
    for text in ["S3://ACME-EU-raw", "bx", "ax", "bigquery/acme-eu.t", "bigquery/acme-us.t", ""]:
        assert in_duckdb(con, text, sql_regex_any(globs)) is any(g.match(text) for g in globs)
