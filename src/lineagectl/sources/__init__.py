"""Getting lineage in: OpenLineage event files, dbt manifests, column lineage from SQL."""
