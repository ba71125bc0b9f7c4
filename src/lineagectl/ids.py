"""Stable identifiers for datasets and jobs, and content hashes for facets.

A dataset or job id is a signed 64-bit hash of its namespace and name, so every
ingest computes the same id without asking the database, whatever the order.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b


@lru_cache(maxsize=65536)
def entity_id(namespace: str, name: str) -> int:
    """The id of the dataset or job named ``namespace`` / ``name``."""
    digest = blake2b(f"{namespace}\x00{name}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def content_hash(data: bytes) -> str:
    """A 128-bit hex digest of canonical JSON bytes (facets, events)."""
    return blake2b(data, digest_size=16).hexdigest()
