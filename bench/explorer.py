"""Time-to-ready of the HTML explorer in headless Chromium, as a user opens it from a file.

    python bench/explorer.py                                   # both pages, the issue's targets beside them
    python bench/explorer.py --screenshot docs/img/explorer.png   # also the sample's page, for the README

Builds two stores with generated OpenLineage events: a root read by 150 jobs that
each write one dataset (the focus page of that root draws 300 nodes, ``--max-nodes``
300, the last one in a "+N more" node), and 5,000 datasets of which 4,500 are each
written by a job reading one or two earlier ones (the ``--all`` overview: ~9,500
nodes). Writes each page with the CLI, opens it from ``file://`` in Chromium
(``tests/browser.py``) and reports the seconds from navigation to
``<body data-ready="1">`` (the page's own ``performance.now()`` at that moment,
and the wall-clock time around it), median of ``--repeat`` fresh tabs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser, chromium_path  # noqa: E402  (tests/browser.py)

NS = "postgres://bench:5432"
TARGETS = {"focus": 3.0, "overview": 10.0}


def _event(i: int, inputs: list[str], output: str) -> dict:
    fields = [{"name": c, "type": "VARCHAR"} for c in ("id", "customer_id", "email", "amount", "created_at")]
    return {"eventType": "COMPLETE", "eventTime": f"2026-11-20T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "run": {"runId": f"0190e5c1-0000-7000-8000-{i:012d}", "facets": {}},
            "job": {"namespace": "airflow://bench", "name": f"job_{i}", "facets": {}},
            "inputs": [{"namespace": NS, "name": n} for n in inputs],
            "outputs": [{"namespace": NS, "name": output, "facets": {"schema": {
                "_producer": "bench", "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                "fields": fields}}}],
            "producer": "https://example.test/bench",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}


def _store(folder: Path, name: str, events: list[dict]) -> str:
    log = folder / f"{name}.ndjson"
    log.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(folder / f"{name}.duckdb")
    _cli(db, "ingest", str(log))
    return db


def _cli(db: str, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"lineagectl {' '.join(args)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def _open(browser: Browser, page_file: Path, repeat: int) -> tuple[float, float, dict]:
    own, wall, body = [], [], {}
    for _ in range(repeat):
        page = browser.page()
        start = time.perf_counter()
        page.goto(page_file)
        body = page.wait_ready(timeout=300)
        wall.append(time.perf_counter() - start)
        own.append(int(body["readyMs"]) / 1000)
    return statistics.median(own), statistics.median(wall), body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="also save the sample's user_master page as this PNG")
    options = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium not found: apt-get install chromium")
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        focus_db = _store(folder, "focus", [_event(i, ["root"], f"leaf_{i}") for i in range(150)])
        overview = [_event(i, sorted({f"t_{rng.randrange(i)}" for _ in range(rng.choice((1, 2)))}), f"t_{i}")
                    for i in range(500, 5000)]
        overview_db = _store(folder, "overview", overview)
        pages = {"focus": (focus_db, ["graph", "root", "-f", "html", "--max-nodes", "300"]),
                 "overview": (overview_db, ["graph", "--all", "-f", "html"])}
        browser = Browser(executable)
        try:
            for label, (db, args) in pages.items():
                page_file = folder / f"{label}.html"
                written = _cli(db, *args, "-o", str(page_file))
                own, wall, body = _open(browser, page_file, options.repeat)
                size = page_file.stat().st_size / 1e6
                verdict = "ok" if own < TARGETS[label] else "OVER"
                print(f"{label:9} {body['nodes']:>6} nodes {body['edges']:>6} edges  page {size:5.1f} MB "
                      f"written in {written:5.2f} s  ready after {own:5.2f} s (wall {wall:5.2f} s; "
                      f"target < {TARGETS[label]:.0f} s: {verdict})")
            if options.screenshot:
                sample = str(folder / "sample.duckdb")
                _cli(sample, "ingest", str(ROOT / "sample_events" / "ecommerce.ndjson"))
                page_file = folder / "sample.html"
                _cli(sample, "--policy", str(ROOT / "sample_events" / "lineagectl.yaml"), "graph", "user_master",
                     "-f", "html", "-o", str(page_file))
                page = browser.page(1400, 640)
                page.goto(page_file)
                page.wait_ready()
                page.screenshot(options.screenshot)
                print(f"screenshot: {options.screenshot}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
