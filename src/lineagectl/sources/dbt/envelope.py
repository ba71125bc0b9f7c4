"""The OpenLineage envelope of the events lineagectl derives from dbt artifacts: producer, schema URLs."""

from __future__ import annotations

PRODUCER = "https://github.com/lineagectl/lineagectl/dbt"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{}"


def facet(payload: dict) -> dict:
    """A facet of ours: ``payload`` with its ``_producer``."""
    return {"_producer": PRODUCER, **payload}


def ref(dataset: dict) -> dict:
    """A dataset as a JobEvent names it; its facets were sent once, in its DatasetEvent."""
    return {"namespace": dataset["namespace"], "name": dataset["name"]}
