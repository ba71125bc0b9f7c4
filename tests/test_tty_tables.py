"""Tables on a terminal read well: fitted to its width, names whole or ellipsised in the middle
(never folded), low-value columns dropped first, states coloured, times relative; off a terminal
plain rows without padding and ISO times. Checked through the real CLI, in-process with a forced
terminal of 80 columns and in a subprocess on a pseudo-terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime

import pytest

from conftest import ROOT, SAMPLE, run_event, write_ndjson
from lineagectl.cli.render.terminal import cell_lines, fit, middle, relative

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EU_ORDERS = ("shop.public.orders", "--namespace", "postgres://db.eu.acme.internal:5432")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("tty") / "sample.duckdb")
    subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "-q", "ingest", str(SAMPLE)], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return db


def on_terminal(cli, *args, width=80):
    """The CLI's stdout drawn for a terminal of ``width`` columns (forced), colours stripped."""
    result = cli(*args, "--color", "always", env={"COLUMNS": str(width)})
    return result, ANSI.sub("", result.stdout)


def on_pty(*args, width=80, env=None):
    """stdout and exit status of ``lineagectl args`` run on a pseudo-terminal ``width`` columns wide."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of that size, then the CLI
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
        child_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
        child_env.update({"PYTHONPATH": str(ROOT / "src"), "TERM": "xterm-256color", **(env or {})})
        os.execvpe(sys.executable, [sys.executable, "-m", "lineagectl", *args], child_env)
    out = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 60)
            data = os.read(fd, 65536) if ready else b""
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode().replace("\r\n", "\n"), os.waitstatus_to_exitcode(status)


def shown_whole_or_ellipsised(text: str, lines: list[str]) -> bool:
    """``text`` is on one line whole, or as its start, ``…`` and its end (never folded over lines)."""
    for line in lines:
        if text in line:
            return True
        for at in [i for i, char in enumerate(line) if char == "…"]:
            head = next((k for k in range(min(at, len(text)), 0, -1) if line[at - k:at] == text[:k]), 0)
            tail = next((k for k in range(min(len(line) - at - 1, len(text)), 0, -1)
                         if line[at + 1:at + 1 + k] == text[-k:]), 0)
            if head and tail and head + tail >= min(len(text) - 1, 8):
                return True
    return False


def hidden(out: str) -> set[str]:
    """The columns a table says it left out to fit."""
    said = re.search(r"\(not shown at \d+ columns: ([^;]*);", " ".join(out.split()))
    return set(said.group(1).split(", ")) if said else set()


def json_answer(cli, *args):
    result = cli(*args, "-f", "json")
    return json.loads(result.stdout)


def assert_fits(lines: list[str], width: int = 80) -> None:
    from rich.cells import cell_len

    assert all(cell_len(line) <= width for line in lines), [line for line in lines if cell_len(line) > width]


def test_ls_datasets_at_80_columns_shows_every_name(cli, sample):
    result, out = on_terminal(cli, "ls", "datasets", "--db", sample)
    assert result.exit_code == 0
    lines = out.splitlines()
    assert_fits(lines)
    names = [d["name"] for d in json_answer(cli, "ls", "datasets", "--db", sample)]
    assert all(shown_whole_or_ellipsised(n, lines) for n in names)
    assert "acme-eu.analytics_prod.daily_revenue_by_country" in out  # room for it: low-value columns went
    assert hidden(out) == {"version", "dropped", "columns", "type", "owners"}
    assert "namespace" in lines[1] and "name" in lines[1]


def test_impact_at_80_columns_keeps_names_whole_in_the_tree(cli, sample):
    result, out = on_terminal(cli, "impact", *EU_ORDERS, "--db", sample)
    assert result.exit_code == 0
    lines = out.splitlines()
    assert_fits(lines)
    answer = json_answer(cli, "impact", *EU_ORDERS, "--db", sample)
    for dataset in answer["datasets"]:
        assert shown_whole_or_ellipsised(f"{dataset['namespace']} {dataset['name']}", lines)
    assert any(line.endswith("…") for line in lines)  # owners cut at the end, names kept


def test_a_tree_line_too_narrow_for_its_name_ellipsises_the_name(cli, sample):
    _, out = on_terminal(cli, "impact", *EU_ORDERS, "--db", sample, width=40)
    lines = out.splitlines()
    assert_fits(lines, 40)
    assert any("…" in line and line.endswith("_by_country") for line in lines)


def test_erase_at_80_columns_shows_every_name_and_wraps_reasons(cli, sample):
    result, out = on_terminal(cli, "erase", "--column", "user_id", "--db", sample)
    assert result.exit_code == 0
    lines = out.splitlines()
    assert_fits(lines)
    steps = json_answer(cli, "erase", "--column", "user_id", "--db", sample)["steps"]
    assert all(shown_whole_or_ellipsised(s["name"], lines) for s in steps)
    longest = max(steps, key=lambda s: len(s["reason"]))["reason"]
    assert longest not in out and longest.split()[0] in out  # wrapped over lines, between words
    assert hidden(out) == {"owners", "masked", "namespace", "sql"}


def test_residency_check_at_80_columns_shows_every_source_and_target(cli, sample):
    result, out = on_terminal(cli, "residency-check", "--db", sample, "--policy", SAMPLE / "lineagectl.yaml")
    assert result.exit_code == 1
    lines = out.splitlines()
    assert_fits(lines)
    answer = json_answer(cli, "residency-check", "--db", sample, "--policy", SAMPLE / "lineagectl.yaml")
    for violation in answer["violations"]:
        for end in ("source", "target"):
            ref = violation[end]
            column = f".{ref['column']}" if ref.get("column") else ""
            assert shown_whole_or_ellipsised(f"{ref['namespace']} {ref['name']}{column} ({ref['region']})", lines)


@pytest.mark.parametrize("args", [
    ["impact", *EU_ORDERS], ["ls", "datasets"], ["erase", "--column", "user_id"], ["residency-check"],
])
def test_on_a_real_pseudo_terminal_of_80_columns(sample, args):
    out, status = on_pty(*args, "--db", sample, "--policy", str(SAMPLE / "lineagectl.yaml"), "--color", "never")
    assert status in (0, 1), out
    lines = out.splitlines()
    assert_fits(lines)
    assert "\x1b[" not in out  # --color never: a terminal's layout, no escape sequences
    assert "ago" in out or args[0] != "ls"  # relative times in the table
    for name in ("shop.public.user_master", "acme-eu.analytics_prod.user_features"):
        if name in out.replace("…", ""):
            assert shown_whole_or_ellipsised(name, lines)


@pytest.mark.parametrize(("env", "coloured"), [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)])
def test_a_terminal_is_coloured_unless_no_color_or_dumb(sample, env, coloured):
    out, status = on_pty("ls", "runs", "-n", "3", "--db", sample, env=env)
    assert status == 0
    assert ("\x1b[32mCOMPLETE" in out) is coloured
    assert "COMPLETE" in out and "ago" in out


def test_force_color_colours_a_pipe_and_the_table_fits_columns(sample):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FORCE_COLOR": "1", "COLUMNS": "80"}
    env.pop("NO_COLOR", None)
    out = subprocess.run([sys.executable, "-m", "lineagectl", "ls", "runs", "-n", "3", "--db", sample],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert "\x1b[32mCOMPLETE" in out
    assert_fits(ANSI.sub("", out).splitlines())


def test_states_are_coloured_failures_red(cli, db, tmp_path):
    events = [run_event("r-ok", job="ok.job", outputs=[("pg", "t.ok")]),
              run_event("r-bad", job="bad.job", event_type="FAIL", outputs=[("pg", "t.bad")]),
              run_event("r-run", job="slow.job", event_type="START", outputs=[("pg", "t.slow")])]
    assert cli("--db", db, "ingest", write_ndjson(tmp_path / "e.ndjson", events)).exit_code == 0
    out = cli("ls", "runs", "--db", db, "--color", "always", env={"COLUMNS": "120"}).stdout
    assert "\x1b[31mFAIL" in out and "\x1b[32mCOMPLETE" in out
    jobs = cli("ls", "jobs", "--db", db, "--color", "always", env={"COLUMNS": "120"}).stdout
    assert "\x1b[31mFAIL" in jobs


def test_violations_title_is_red_and_ok_green(cli, sample, tmp_path):
    out = cli("residency-check", "--db", sample, "--policy", SAMPLE / "lineagectl.yaml", "--color", "always").stdout
    assert "\x1b[1;31m" in out.splitlines()[0] and "violations" in out.splitlines()[0]
    policy = tmp_path / "ok.yaml"
    policy.write_text("regions:\n  eu: ['postgres://db.eu.*']\nresidency:\n"
                      "  - name: r\n    from: eu\n    allowed: [eu, unknown]\n")
    ok = cli("residency-check", "--db", sample, "--policy", policy, "--color", "always")
    assert "\x1b[1;32m" in ok.stdout.splitlines()[0], ok.stdout


def test_names_from_the_store_are_never_markup_nor_control_sequences(cli, db, tmp_path):
    hostile = ["[red]x[/red]", "[bold]b", "esc\x1b[31mred", "bell\x07x"]
    events = [run_event(f"r{i}", job=f"j{i}", outputs=[("pg", name)]) for i, name in enumerate(hostile)]
    assert cli("--db", db, "ingest", write_ndjson(tmp_path / "e.ndjson", events)).exit_code == 0
    for width in ("80", "200"):
        out = cli("ls", "datasets", "--db", db, "--color", "always", env={"COLUMNS": width}).stdout
        assert "[red]x[/red]" in out and "[bold]b" in out
        assert "\x1b[31mred" not in out and "\x07" not in out
        assert "esc\ufffd[31mred" in out and "bell\ufffdx" in out


def test_off_a_terminal_rows_are_plain_unpadded_with_iso_times(cli, sample):
    for args in (["ls", "datasets"], ["ls", "runs"], ["erase", "--column", "user_id"], ["residency-check"]):
        out = cli(*args, "--db", sample, "--policy", SAMPLE / "lineagectl.yaml").stdout
        assert out and "\x1b[" not in out
        assert all(line == line.rstrip() for line in out.splitlines()), args
    out = cli("ls", "runs", "--db", sample).stdout
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", out) and " ago" not in out
    assert " ago" not in cli("ls", "runs", "--db", sample, "-f", "csv").stdout


def test_middle_keeps_the_start_and_the_last_segment():
    name = "analytics.daily_revenue_by_country"
    assert middle(name, 40) == name
    assert middle(name, 31) == "analytics.daily…enue_by_country"
    assert middle("shop.public.user_master", 20) == "shop.pu….user_master"  # the last segment whole
    assert middle(name, 12) == "analyt…untry"
    assert len(middle(name, 20)) == 20 and middle(name, 20).startswith("analytics")
    assert middle("x" * 30, 1) == "…"
    wide = "データ.テーブル_名前"
    from rich.cells import cell_len

    assert cell_len(middle(wide, 9)) <= 9 and "…" in middle(wide, 9)


def test_fit_drops_low_value_columns_before_narrowing_names():
    columns = ["namespace", "name", "type", "owners"]
    rows = [["postgres://db.eu.acme.internal:5432", "shop.public.a_rather_long_table_name", "DATASET",
             "team:a, team:b"]]
    shown, widths = fit(columns, rows, ("type", "owners"), 80)
    assert shown == ["namespace", "name", "type", "owners"]  # fits: nothing goes
    shown, widths = fit(columns, rows, ("type", "owners"), 60)
    assert shown == ["namespace", "name"] and widths["name"] == len(rows[0][1])
    assert sum(widths.values()) + 3 * (len(shown) - 1) <= 60


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-02T11:59:30Z", "just now"),
    ("2026-12-02T11:55:00Z", "5 min ago"),
    ("2026-12-02T08:59:00.123Z", "3 h ago"),
    ("2026-11-22T12:00:00Z", "10 d ago"),
    ("2026-06-01T12:00:00Z", "6 mo ago"),
    ("2020-01-01T00:00:00Z", "6 y ago"),
    ("2026-12-04T12:00:00Z", "in 2 d"),
    ("not a time", "not a time"),
    (42, 42),
])
def test_relative_times(value, expected):
    assert relative(value, now=datetime(2026, 12, 2, 12, 0, tzinfo=UTC)) == expected


def test_cells_wrap_text_between_words_and_keep_names_on_one_line():
    assert cell_lines("reason", "seed: holds user_id (not a SQL table)", 12) == [
        "seed: holds", "user_id (not", "a SQL table)"]
    assert cell_lines("path", "shop.public.user_master > x", 12) == ["shop.p…aster", "> x"]
    assert cell_lines("name", "shop.public.user_master", 12) == [middle("shop.public.user_master", 12)]
    assert cell_lines("seconds", "1800.230", 5) == ["1800…"]
    assert cell_lines("reason", "", 10) == [""]


def test_show_gives_its_times_relative_on_a_terminal(cli, sample):
    _, out = on_terminal(cli, "show", "user_master", "--db", sample)
    assert re.search(r"^first_seen\s+\d+ d ago$", out, re.M)
    plain = cli("show", "user_master", "--db", sample).stdout
    assert re.search(r"^first_seen\s+\d{4}-\d\d-\d\dT", plain, re.M)


def test_a_long_listing_is_drawn_line_by_line(cli, db, tmp_path):
    events = [run_event(f"r{i}", job=f"j{i % 7}", event_type="FAIL" if i % 3 else "COMPLETE")
              for i in range(3000)]
    assert cli("--db", db, "-q", "ingest", write_ndjson(tmp_path / "e.ndjson", events)).exit_code == 0
    result, out = on_terminal(cli, "ls", "runs", "-n", "0", "--db", db)
    lines = out.splitlines()
    assert len(lines) == 1 + 2 + 3000 + 2  # title, header and rule, a line per run, the note (wrapped)
    assert_fits(lines)
    assert result.stdout.count("\x1b[31mFAIL") == 2000


def test_a_title_naming_a_name_longer_than_the_terminal_is_not_folded(cli, db, tmp_path):
    long_name = "warehouse.analytics_prod." + "_".join(["segment"] * 12)
    events = [run_event("r1", inputs=[("pg", "src.t")], outputs=[("pg", long_name)])]
    assert cli("--db", db, "ingest", write_ndjson(tmp_path / "e.ndjson", events)).exit_code == 0
    _, out = on_terminal(cli, "trace", long_name, "--db", db, width=60)
    lines = out.splitlines()
    assert_fits(lines, 60)
    assert shown_whole_or_ellipsised(f"pg {long_name}", lines)
    assert lines[0] == "upstream of pg"  # the title wraps between words; the name goes on a line of its own
    assert lines[1].startswith("warehouse.analytics_prod.") and "…" in lines[1] and lines[1].endswith("segment:")
