"""lineagectl: data lineage from OpenLineage events and dbt manifests in one DuckDB file.

The library API lives in ``lineagectl.api``; this package keeps its import light
so that ``lineagectl --help`` starts instantly.
"""

__version__ = "0.1.0"
