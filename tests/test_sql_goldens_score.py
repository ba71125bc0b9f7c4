"""bench/sql_goldens.py scores SQL lineage on every golden of ../shared/corpus/sql-goldens;
the scores measured when each change landed are floors here: they may rise, never fall."""

from __future__ import annotations

import sys

import sqlglot

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from sql_goldens import main, score  # bench/sql_goldens.py: the scorer itself

# (exact, scored) per suite and level, as measured; the totals are the corpus's.
FLOORS = {
    # Hive's goldens also type their edges: field edges matched exactly (type, subtype, masking), and
    # columnLineage.dataset entries matched (the 5 misses: join keys Hive also tags FILTER in a CTAS).
    "hive": {"table": (22, 22), "column": (21, 22), "statement": (21, 22), "typed": (58, 58), "dataset": (22, 27)},
    # sqllineage's 150 cases are 111 statements (SQL texts): one is exact when one of its cases is.
    "sqllineage": {"table": (125, 150), "column": (112, 150), "statement": (93, 111)},
    "datahub": {"table": (61, 63), "column": (39, 54), "statement": (39, 54)},
}
# sqlglot 30.30 (the floor: the release sqlglot[c] ships compiled) does not parse Teradata's TITLE
# phrase, which 30.31 added: the sqllineage case test_teradata_title_phrase is then one less at
# every level (docs/dependencies.md).
TERADATA_TITLE = hasattr(sqlglot.expressions, "TeradataTitle")
if not TERADATA_TITLE:
    FLOORS["sqllineage"] = {level: (floor - 1, total) for level, (floor, total) in FLOORS["sqllineage"].items()}


def test_scores_never_regress(corpus):
    figures = score(corpus)
    for suite, levels in FLOORS.items():
        for level, (floor, total) in levels.items():
            exact, scored = figures[suite][level]
            assert scored == total, (suite, level, scored)
            assert exact >= floor, f"{suite} {level}-level: {exact}/{scored}, was {floor}/{total}"


def test_scorer_prints_the_table(corpus, capsys):
    assert main(["--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "| suite | cases | table-level exact | column-level exact | statements column-exact |" in out
    assert "| hive | 22 |" in out
    assert "| suite | typed field edges matched | dataset-level INDIRECT entries matched |" in out


def test_scorer_without_corpus_scores_nothing(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path)]) == 2
    assert "nothing scored" in capsys.readouterr().err
