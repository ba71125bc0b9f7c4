"""dbt artifacts (manifest, catalog, run results) as OpenLineage events, with column lineage from SQL."""
