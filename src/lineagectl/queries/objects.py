"""The store's datasets, jobs and runs as whole objects, for a catalog API (``serve``'s Marquez endpoints)."""

from __future__ import annotations
