"""Shell completion, for real: the shell's protocol (``_LINEAGECTL_COMPLETE`` with the words typed
so far) against a real store in a subprocess, as bash and zsh call it. Dataset names complete
from the store by prefix, bounded, and silently offer nothing when the store cannot be read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import HEAVY_MODULES, ROOT, SAMPLE, run_event, write_ndjson


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from typer.testing import CliRunner

    from lineagectl.cli import app

    path = tmp_path_factory.mktemp("completion") / "lineage.duckdb"
    assert CliRunner().invoke(app, ["--db", str(path), "-q", "ingest", str(SAMPLE)]).exit_code == 0
    return path


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_")}
    return {**base, "PYTHONPATH": str(ROOT / "src"), **extra}


def complete(*words: str, cwd=None, shell: str = "bash") -> subprocess.CompletedProcess:
    """What the shell gets for ``lineagectl WORDS…`` with the cursor on the last word."""
    line = ["lineagectl", *words]
    if shell == "bash":
        extra = {"COMP_WORDS": " ".join(line), "COMP_CWORD": str(len(line) - 1)}
    else:
        extra = {"_TYPER_COMPLETE_ARGS": " ".join(line)}
    return subprocess.run([sys.executable, "-m", "lineagectl"], capture_output=True, text=True, cwd=cwd, timeout=60,
                          env=env(_LINEAGECTL_COMPLETE=f"complete_{shell}", **extra))


def offered(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_dataset_names_complete_by_prefix_and_by_the_suffix_that_resolves(store):
    assert offered(complete("impact", "--db", str(store), "user")) == ["user_features", "user_master"]
    assert offered(complete("--db", str(store), "trace", "acme-eu.an")) == [
        "acme-eu.analytics_prod.daily_revenue_by_country", "acme-eu.analytics_prod.eu_order_amounts",
        "acme-eu.analytics_prod.user_features"]
    assert offered(complete("graph", "--db", str(store), "models/")) == ["models/churn_model"]
    assert offered(complete("changes", "--db", str(store), "shop.p")) == ["shop.public.orders", "shop.public.user_master"]


def test_show_completes_jobs_too_and_impact_does_not(store):
    assert "etl_orders.enrich_orders" in offered(complete("show", "--db", str(store), "etl"))
    assert offered(complete("impact", "--db", str(store), "etl")) == []


def test_the_store_is_found_as_commands_find_it(store, tmp_path):
    (tmp_path / "lineagectl.yaml").write_text(f"db: {store}\n", encoding="utf-8")
    assert offered(complete("impact", "churn", cwd=tmp_path)) == ["churn_model"]


def test_zsh_gets_the_same_names(store):
    result = complete("impact", "--db", str(store), "user", shell="zsh")
    assert result.returncode == 0 and '"user_features"' in result.stdout and '"user_master"' in result.stdout


def test_nothing_typed_offers_full_names_at_most_fifty(tmp_path):
    db = tmp_path / "many.duckdb"
    events = [run_event(f"r{i}", outputs=[("ns", f"schema.table_{i:03d}")]) for i in range(120)]
    from typer.testing import CliRunner

    from lineagectl.cli import app

    assert CliRunner().invoke(app, ["--db", str(db), "-q", "ingest", write_ndjson(tmp_path / "e.ndjson", events)]
                              ).exit_code == 0
    names = offered(complete("impact", "--db", str(db), ""))
    assert len(names) == 50 and names[0] == "schema.table_000"
    assert len(offered(complete("impact", "--db", str(db), "table_1"))) == 20


@pytest.mark.parametrize("case", ["missing", "not a database", "locked"])
def test_an_unusable_store_offers_nothing_and_says_nothing(tmp_path, store, case):
    db = tmp_path / "x.duckdb"
    holder = None
    if case == "not a database":
        db.write_text("hello")
    elif case == "locked":
        db.write_bytes(store.read_bytes())
        holder = subprocess.Popen([sys.executable, "-c", (
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)"),
            str(db)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "ok"
    try:
        assert offered(complete("impact", "--db", str(db), "user")) == []
    finally:
        if holder:
            holder.kill()
            holder.wait()


def test_commands_and_options_complete_too():
    assert offered(complete("imp")) == ["impact", "import-marquez"]
    assert offered(complete("impa")) == ["impact"]
    assert "--column" in offered(complete("impact", "--col"))


def test_show_and_install_completion(tmp_path):
    shown = subprocess.run([sys.executable, "-m", "lineagectl", "--show-completion", "bash"], capture_output=True,
                           text=True, env=env(), timeout=60)
    assert shown.returncode == 0 and "_LINEAGECTL_COMPLETE=complete_bash" in shown.stdout
    installed = subprocess.run([sys.executable, "-m", "lineagectl", "--install-completion", "bash"],
                               capture_output=True, text=True, env=env(HOME=str(tmp_path)), timeout=60)
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "lineagectl.sh"
    assert "_LINEAGECTL_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


def test_help_with_completion_on_loads_no_heavy_module():
    code = ("import sys\nfrom lineagectl.cli import app\ntry:\n    app(['--help'], prog_name='lineagectl')\n"
            f"except SystemExit:\n    pass\nprint('heavy:' + ','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), timeout=60)
    assert done.returncode == 0 and "--install-completion" in done.stdout
    assert done.stdout.splitlines()[-1] == "heavy:"
