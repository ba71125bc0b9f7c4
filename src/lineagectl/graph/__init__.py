"""The lineage graph: typed edges, the one walk engine, paths, name resolution, selectors, what is PII."""
