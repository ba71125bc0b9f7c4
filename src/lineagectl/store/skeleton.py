"""Stored events as skeletons: each facet by reference to its blob in ``facet_blobs``.

An event is stored in its canonical form (``orjson.dumps`` of the parsed event:
compact, keys in the order sent, the form its ``event_hash`` is taken of), but
split in two (issue 20, item 1; docs/performance.md):

* the *skeleton*: the canonical event with every facet whose value is a JSON
  object replaced by ``0`` (other values — ``null``, strings, numbers, lists,
  sent by broken producers — stay inline);
* its *references* (``facet_refs``): one entry per facet entry, in the fixed
  order of ``facet_maps``, comma-separated: the facet's hash (MD5 hex of its
  canonical bytes, the key of ``facet_blobs``) or ``-`` for a value kept inline.

``rebuild`` puts each blob back verbatim (``orjson.Fragment``), which gives the
canonical event byte for byte: a blob is the canonical bytes of its facet, and
orjson writes a sub-object exactly as it writes it alone. Python is the one
hasher of facets: DuckDB re-renders floats with large exponents (``1e+16``), so
its MD5 of such a facet is not Python's.

One module for both directions: ingest splits (``sources/ingest``), the schema-6
migration splits stored payloads, and every reader of events (export, replay,
re-derivation) rebuilds through ``BlobReader``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

import orjson

from lineagectl.errors import DatabaseError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# Where an event holds facet maps, in the order references are listed: run, job, dataset,
# then for each input its facets and inputFacets, for each output its facets and outputFacets.
_OWNERS = ("run", "job", "dataset")
_LISTS = (("inputs", "in", ("facets", "inputFacets")), ("outputs", "out", ("facets", "outputFacets")))
INLINE = "-"
# The facet hash facet rows carry for a ``_deleted: true`` facet (the sentinel the facet tables keep;
# unnest.py and the queries read it so), while its blob is stored under its real hash.
DELETED = "deleted"
# A facet row: (holder, position, io, facet key, facet hash or DELETED); see ``facet_maps``.
FacetRow = tuple[str, int, bool, str, str]
# ``facet_refs`` of an event kept whole: its skeleton is the stored text itself (a payload the
# migration found not in canonical form keeps its exact bytes).
VERBATIM = "="
# Facet bytes remembered with their hash (most facets repeat run after run): the cache is
# cleared when the blobs it holds reach this many bytes, which bounds its memory. The process
# holds several times the bytes counted (long-lived blobs among short-lived events fragment the
# heap): at 64 MiB ingest's preparing child grew to 205 MiB over 600k events of the bench log, at
# 4 MiB it stays at 69 MiB, with no difference in speed beside the noise (docs/performance.md).
_REMEMBERED_BYTES = 4 << 20


def facet_hash(blob: bytes) -> str:
    """The key of a facet in ``facet_blobs``: MD5 hex of its canonical JSON bytes."""
    return hashlib.md5(blob).hexdigest()  # an address, not a security digest


def facet_maps(event: dict) -> Iterator[tuple[str, int, bool, dict, str, dict]]:
    """``(holder, position, io, holder object, key, facet map)`` for every facet map of ``event``,
    in the fixed reference order; only where the holder and the map are JSON objects.

    ``holder`` is ``run``, ``job``, ``dataset``, ``in`` or ``out``; ``position`` the dataset's
    place in ``inputs``/``outputs`` counted from 1 (1 for the others); ``io`` whether the map is
    ``inputFacets``/``outputFacets`` rather than ``facets``. These name a facet's place in the
    facet rows ingest stages (``unnest.py`` joins them to the event's datasets so).
    """
    for owner in _OWNERS:
        holder = event.get(owner)
        if isinstance(holder, dict) and isinstance(holder.get("facets"), dict):
            yield owner, 1, False, holder, "facets", holder["facets"]
    for list_key, code, map_keys in _LISTS:
        datasets = event.get(list_key)
        if isinstance(datasets, list):
            for position, dataset in enumerate(datasets, 1):
                if isinstance(dataset, dict):
                    for io, map_key in enumerate(map_keys):
                        facets = dataset.get(map_key)
                        if isinstance(facets, dict):
                            yield code, position, bool(io), dataset, map_key, facets


def facet_place(code: str, position: int, map_key: str) -> str:
    """Where a facet map of ``facet_maps`` is in its event, as messages name it: ``run.facets``,
    ``inputs[0].inputFacets``."""
    if code in ("in", "out"):
        return f"{'inputs' if code == 'in' else 'outputs'}[{position - 1}].{map_key}"
    return f"{code}.{map_key}"


# Judges a facet entry as ``split`` meets it: (holder, position, facet map key, facet key, value,
# facet hash or None for a value that is not an object); whether the facet goes into the facet rows.
FacetCheck = Callable[[str, int, str, str, object, str | None], bool]


class FacetHasher:
    """``facet_hash`` with the blobs seen before looked up by their bytes (bounded memory)."""

    def __init__(self, remembered_bytes: int = _REMEMBERED_BYTES) -> None:
        self._known: dict[bytes, str] = {}
        self._bytes = 0
        self._limit = remembered_bytes

    def __call__(self, blob: bytes) -> str:
        digest = self._known.get(blob)
        if digest is None:
            digest = facet_hash(blob)
            if self._bytes + len(blob) > self._limit:
                self._known.clear()
                self._bytes = 0
            self._known[blob] = digest
            self._bytes += len(blob)
        return digest


def is_deleted(facet: dict) -> bool:
    """Whether a facet marks its key as deleted (``"_deleted": true``; the text ``"true"`` too,
    as the store has always read it)."""
    flag = facet.get("_deleted")
    return flag is True or flag == "true"


def split(event: dict, hasher: FacetHasher | None = None, rows: list[FacetRow] | None = None,
          check: FacetCheck | None = None) -> tuple[bytes, str, dict[str, bytes]]:
    """The skeleton of a parsed event, its references and its blobs ``{hash: canonical bytes}``.

    With ``rows``, each object-valued facet is also appended to it as a ``FacetRow`` (what the
    store's facet tables are made of). ``check`` is asked about every facet entry, in the walk's
    order, with its hash (None for a value that is not an object): the facets it refuses (malformed ones: stored with
    the event, left out of its tables) get no row, and it may raise to refuse the event. So an
    ingest serialises, hashes and checks each facet in one walk. ``event`` is left as it was (its
    facet maps are swapped for the skeleton's only while the skeleton is written). May raise
    ``TypeError`` where ``orjson.dumps(event)`` would.
    """
    hash_of = hasher or facet_hash
    refs: list[str] = []
    blobs: dict[str, bytes] = {}
    swapped: list[tuple[dict, str, dict]] = []
    try:
        for code, position, io, holder, key, facets in list(facet_maps(event)):
            skeleton_map = {}
            for name, value in facets.items():
                if isinstance(value, dict):
                    blob = orjson.dumps(value)
                    digest = hash_of(blob)
                    blobs[digest] = blob
                    refs.append(digest)
                    skeleton_map[name] = 0
                    usable = check is None or check(code, position, key, name, value, digest)
                    if rows is not None and usable:
                        rows.append((code, position, io, name, DELETED if is_deleted(value) else digest))
                else:
                    if check is not None:
                        check(code, position, key, name, value, None)
                    refs.append(INLINE)
                    skeleton_map[name] = value
            swapped.append((holder, key, facets))
            holder[key] = skeleton_map
        skeleton = orjson.dumps(event)
    finally:
        for holder, key, facets in swapped:
            holder[key] = facets
    return skeleton, ",".join(refs), blobs


def references(refs: str) -> list[str]:
    """The facet hashes ``refs`` names (inline entries left out)."""
    if not refs or refs == VERBATIM:
        return []
    return [ref for ref in refs.split(",") if ref != INLINE]


def rebuild(skeleton: str | bytes, refs: str, blobs: dict[str, str]) -> bytes:
    """The canonical event, byte for byte, from its skeleton, references and the blobs they name."""
    if refs == VERBATIM:
        return skeleton.encode() if isinstance(skeleton, str) else skeleton
    event = orjson.loads(skeleton)
    if not refs:
        return orjson.dumps(event)
    entries = refs.split(",")
    position = 0
    for *_, facets in facet_maps(event):
        for name in facets:
            ref = entries[position]
            position += 1
            if ref != INLINE:
                facets[name] = orjson.Fragment(blobs[ref])
    return orjson.dumps(event)


class BlobReader:
    """Rebuilds stored events of one store, fetching the blobs they name (remembered, bounded)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, remembered: int = 50_000) -> None:
        self.con = con
        self.blobs: dict[str, str] = {}
        self.remembered = remembered

    def rebuild_all(self, rows: Iterable[tuple[str, str]]) -> list[bytes]:
        """The canonical payloads of ``(skeleton, facet_refs)`` rows, in their order."""
        rows = list(rows)
        wanted = {ref for _, refs in rows for ref in references(refs)} - self.blobs.keys()
        if wanted:
            if len(self.blobs) + len(wanted) > self.remembered:
                self.blobs.clear()
                wanted = {ref for _, refs in rows for ref in references(refs)}
            self.blobs.update(self.con.execute(
                "SELECT facet_hash, any_value(payload) FROM facet_blobs "
                "WHERE facet_hash IN (SELECT unnest($hashes::VARCHAR[])) GROUP BY facet_hash",
                {"hashes": sorted(wanted)}).fetchall())
            missing = wanted - self.blobs.keys()
            if missing:
                raise DatabaseError(f"the store lacks {len(missing)} facet blob(s) its events refer to, "
                                    f"e.g. {min(missing)}",
                                    hint="the store is damaged: restore it from a backup or an export")
        return [rebuild(skeleton, refs, self.blobs) for skeleton, refs in rows]


def blobs_table(blobs: dict[str, bytes]) -> pa.Table:
    """Facet blobs ``{hash: canonical bytes}`` as the Arrow table ``facet_blobs`` rows are added from
    (``facet_hash``, ``payload``): a batch's blobs at ingest, a part's at migration 6."""
    import pyarrow as pa  # here: ingest's preparing child imports this module and needs no Arrow (~50 MB)

    return pa.Table.from_arrays([pa.array(list(blobs), pa.string()),
                                 pa.array([blob.decode() for blob in blobs.values()], pa.string())],
                                schema=pa.schema([("facet_hash", pa.string()), ("payload", pa.string())]))


# Migration 6 converts this many stored events, or this many bytes of their payloads, at a time
# (a part's payloads are held in memory): parts of 20,000 events peaked at 1,107 MiB on a 1M-event
# store of the bench log, these at 914 MiB in about the same time (docs/performance.md).
MIGRATION_CHUNK = 5_000
MIGRATION_BYTES = 16 << 20
_KEPT = ("event_hash, kind, event_type, event_time, run_id, job_id, dataset_id, producer, schema_url, "
         "source, ingested_at")


def to_skeletons(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 6: copy ``events`` (schema 5: whole payloads) into ``events_v6`` as skeletons.

    Each payload is split by ``split`` — the function ingest uses — and the blobs it names
    are added to ``facet_blobs`` where missing (most are there already, hashed alike; a facet
    DuckDB rendered otherwise, ``1e+16`` and up, gains a row under Python's hash). A payload
    that is not in canonical form (none written by lineagectl) is kept verbatim.
    """
    # Imported here: ingest's preparing child imports this module and needs neither (~50 MB).
    import pyarrow as pa

    from lineagectl.store.db import with_tables  # db imports the schema, which imports this

    hasher = FacetHasher()
    # Parts of at most MIGRATION_CHUNK events or about MIGRATION_BYTES of payload, as ranges of
    # rowid cut where the rowids are (rows an earlier migration of the same transaction wrote have
    # rowids from 2^62 up): a range reads only its own row groups, where parts chosen by a hash of
    # event_hash read every payload once per part (quadratic: 184 s against 75 s for a 1M store).
    starts = [row[0] for row in con.execute(
        # The sizes first: a window over strlen(payload) itself held the payloads (out of memory).
        """SELECT min(r) FROM (
               SELECT r, greatest((sum(size) OVER upto) // $bytes, (row_number() OVER upto - 1) // $chunk) AS part
               FROM (SELECT rowid AS r, strlen(payload) AS size FROM events)
               WINDOW upto AS (ORDER BY r ROWS UNBOUNDED PRECEDING))
           GROUP BY part ORDER BY 1""", {"chunk": MIGRATION_CHUNK, "bytes": MIGRATION_BYTES}).fetchall()]
    for first, end in pairwise([*starts, None]):
        bounds = "rowid >= $first" + ("" if end is None else " AND rowid < $end")
        params = {"first": first} | ({} if end is None else {"end": end})
        chunk = con.sql(f"SELECT {_KEPT}, payload FROM events WHERE {bounds}", params=params).to_arrow_table()
        skeletons, refs_column = [], []
        blobs: dict[str, bytes] = {}
        for payload in chunk.column("payload").to_pylist():
            event = orjson.loads(payload)
            skeleton, refs, found = split(event, hasher)
            if orjson.dumps(event) != payload.encode():
                skeleton, refs, found = payload.encode(), VERBATIM, {}
            skeletons.append(skeleton.decode())
            refs_column.append(refs)
            blobs.update(found)
        staged = (chunk.drop_columns(["payload"]).append_column("skeleton", pa.array(skeletons, pa.string()))
                  .append_column("facet_refs", pa.array(refs_column, pa.string())))
        new_blobs = blobs_table(blobs)
        with_tables(con, f"""INSERT INTO events_v6 SELECT {_KEPT.replace("source,", "skeleton, facet_refs, source,")}
            FROM staged""", {"staged": staged})
        with_tables(con, """INSERT INTO facet_blobs SELECT n.facet_hash, n.payload FROM new_blobs n
            ANTI JOIN facet_blobs b USING (facet_hash)""", {"new_blobs": new_blobs})
