"""The offline HTML explorer of ``lineagectl graph -f html``: the page's data from the store, and the page.

``build.graph_page`` gathers what a page shows (a focus neighbourhood capped by
``max_nodes``, or the whole store laid out here, with owners, PII, regions,
violations, runs and quality per node); ``page.html_page`` writes it as one
self-contained HTML file with the vendored JavaScript (``assets/``) inlined.
"""
