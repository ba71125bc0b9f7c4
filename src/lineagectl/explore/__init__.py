"""The offline HTML explorer of ``lineagectl graph -f html`` (vendored JavaScript in ``assets/``)."""
