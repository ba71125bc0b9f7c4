"""The real OpenLineage Python client (``openlineage-python``'s ``HttpTransport``, api_key auth,
gzip) emitting to ``lineagectl serve``: every event lands in the store.

The client runs in its own interpreter: this one if it has the package (``.[test]`` installs it),
else ``$OPENLINEAGE_PYTHON``; without either the test is skipped, unless ``CI`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lineagectl import api
from serving import Running

CLIENT = r'''
import sys
from datetime import datetime, timezone
from uuid import uuid4

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

url, token = sys.argv[1], sys.argv[2]
client = OpenLineageClient(transport=HttpTransport(HttpConfig(
    url=url, auth=ApiKeyTokenProvider({"api_key": token}), compression=HttpCompression.GZIP)))
schema = schema_dataset.SchemaDatasetFacet(fields=[
    schema_dataset.SchemaDatasetFacetFields(name="user_id", type="BIGINT"),
    schema_dataset.SchemaDatasetFacetFields(name="email", type="VARCHAR")])
for n in range(3):
    run = Run(runId=str(uuid4()))
    job = Job(namespace="airflow://client-test", name=f"daily_users.step_{n}")
    inputs = [InputDataset(namespace="postgres://db:5432", name=f"public.users_{n}", facets={"schema": schema})]
    outputs = [OutputDataset(namespace="postgres://db:5432", name=f"public.users_{n + 1}")]
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(RunEvent(eventType=state, eventTime=datetime.now(timezone.utc).isoformat(), run=run,
                             job=job, producer="https://example.test/client-test", inputs=inputs, outputs=outputs))
print("sent 6")
'''


def _client_python() -> str | None:
    candidates = [sys.executable, os.environ.get("OPENLINEAGE_PYTHON")]
    for python in filter(None, candidates):
        probe = subprocess.run([python, "-c", "import openlineage.client"], capture_output=True)
        if probe.returncode == 0:
            return python
    return None


def test_the_openlineage_python_client_over_http_with_api_key_and_gzip(db):
    python = _client_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("openlineage-python is not installed (pip install -e '.[test]')")
        pytest.skip("openlineage-python is not installed here (set OPENLINEAGE_PYTHON to an interpreter with it)")
    running = Running(db, token="client-test-key")
    sent = subprocess.run([python, "-c", CLIENT, running.url, "client-test-key"], capture_output=True, text=True,
                          timeout=120)
    assert sent.returncode == 0 and "sent 6" in sent.stdout, sent.stderr
    wrong = subprocess.run([python, "-c", CLIENT, running.url, "wrong-key"], capture_output=True, text=True,
                           timeout=120)
    assert wrong.returncode != 0 and "401" in wrong.stderr  # the client raises on the refusal
    assert running.stop() == {"events_spooled": 6, "events_stored": 6}
    assert any("POST /api/v1/lineage 201" in line for line in running.lines)
    downstream = api.impact("public.users_0", db).payload["datasets"]
    assert [d["name"] for d in downstream] == ["public.users_1", "public.users_2", "public.users_3"]
