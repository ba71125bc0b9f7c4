"""trace --run / --version: the exact runs and input versions behind a model version."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLE
from lineagectl.api import ingest, run_provenance
from lineagectl.errors import InputError, NotFoundError


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("prov") / "s.duckdb")
    ingest([str(SAMPLE)], path)
    return path


def test_model_versions_lead_to_the_runs_of_their_day(db):
    for version, day in (("1", "2026-11-20"), ("2", "2026-11-22")):
        steps = run_provenance(db, name="churn_model", version=version).payload["steps"]
        assert steps[0]["job"]["name"] == "ml.train_churn_model"
        assert steps[0]["outputs"][0] == {"namespace": "mlflow://acme-eu", "name": "models/churn_model",
                                          "version": version}
        jobs = {(s["depth"], s["job"]["name"]) for s in steps}
        assert (1, "ml.build_user_features") in jobs and (2, "etl_orders.enrich_orders") in jobs
        # Every run in the chain ran on the model's day, before the training run.
        assert all(s["started_at"].startswith(day) for s in steps)
        features = next(i for i in steps[0]["inputs"] if i["name"].endswith("user_features"))
        assert features["produced_by_run"] == steps[1]["run_id"]


def test_run_id_and_depth(db):
    start = run_provenance(db, name="churn_model", version="2").payload["run"]
    one = run_provenance(db, run_id=start, depth=1).payload["steps"]
    assert [s["run_id"] for s in one] == [start]


def test_a_run_id_in_upper_case_names_the_same_run(db, cli):
    # Ingest keeps a UUID run id in lower case (RFC 4122: case-insensitive), so an id copied
    # from a log that prints it in upper case must find the run too; a non-UUID id is kept as is.
    start = run_provenance(db, name="churn_model", version="2").payload["run"]
    lower = cli("--db", db, "trace", "--run", start, "-f", "json")
    upper = cli("--db", db, "trace", "--run", start.upper(), "-f", "json")
    assert upper.exit_code == 0, upper.stderr
    assert json.loads(upper.stdout) == json.loads(lower.stdout)
    assert json.loads(upper.stdout)["run"] == start
    with pytest.raises(NotFoundError, match="no run with id 'NOPE'"):
        run_provenance(db, run_id="NOPE")


def test_errors(db, cli):
    with pytest.raises(NotFoundError, match="no version '9'"):
        run_provenance(db, name="churn_model", version="9")
    with pytest.raises(NotFoundError, match="no run with id"):
        run_provenance(db, run_id="nope")
    with pytest.raises(InputError, match="not both"):
        run_provenance(db, run_id="x", name="churn_model", version="1")
    result = cli("--db", db, "trace", "--run", "nope")
    assert result.exit_code == 2 and "no run" in result.stderr
    ok = cli("--db", db, "trace", "churn_model", "--version", "1", "-f", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["steps"]
    assert cli("--db", db, "trace").exit_code == 2
