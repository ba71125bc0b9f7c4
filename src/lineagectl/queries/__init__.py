"""Read-only answers: stats and listings, show, impact/trace, run provenance, the graph view."""
