"""Turning a batch of validated events into staged rows, set-based in DuckDB.

Input: ``new_events`` (seq, event_hash, source, kind, event_type, event_time,
skeleton, facet_refs), one row per validated event the store does not hold yet;
``facet_rows`` (seq, holder, position, io, facet_key, facet_hash), the facets
Python found while splitting the events (``store/skeleton.py``: hashed once, by
Python, malformed ones left out); ``stg_event_blobs`` (facet_hash, payload), the
batch's facet blobs. Output: the ``stg_*`` tables that ``writer`` merges into
history. DuckDB parses only each skeleton's envelope (``json_transform``: names,
run id, inputs and outputs, no facets) and reads a facet's content from its blob
only where a row needs it (schema fields, column lineage, aliases, versions).

Rows derived from facet *content* (schema fields, column lineage, aliases) are
computed once per distinct content in the batch and only when the store does
not hold that content yet, which keeps repeated runs cheap.
"""

from __future__ import annotations

from lineagectl.common.ids import ID_MACRO, RUN_ID_MACRO

_FACETS = "MAP(VARCHAR, JSON)"


_NAME = '{"namespace": "VARCHAR", "name": "VARCHAR"}'
# The envelope of a skeleton: what identifies the event and the datasets it names (their facets
# come as facet_rows).
_EVENT = (
    '{"producer": "VARCHAR", "schemaURL": "VARCHAR", "run": {"runId": "VARCHAR"},'
    f' "job": {_NAME}, "dataset": {_NAME}, "inputs": [{_NAME}], "outputs": [{_NAME}]}}'
)
# Facet keys whose content the staged rows read (schema fields, column lineage, aliases, lifecycle).
_CONTENT_KEYS = "('schema', 'columnLineage', 'symlinks', 'lifecycleStateChange')"

_TRANSFORMS = '[{"type": "VARCHAR", "subtype": "VARCHAR", "description": "VARCHAR", "masking": "BOOLEAN"}]'
_INPUT_FIELD = f'{{"namespace": "VARCHAR", "name": "VARCHAR", "field": "VARCHAR", "transformations": {_TRANSFORMS}}}'
_CLL_FIELD = (f'{{"inputFields": [{_INPUT_FIELD}], "transformationType": "VARCHAR",'
              ' "transformationDescription": "VARCHAR"}')
_CLL = f'{{"fields": "{_FACETS}", "dataset": [{_INPUT_FIELD}]}}'
_SCHEMA = '{"fields": [{"name": "VARCHAR", "type": "VARCHAR", "description": "VARCHAR", "fields": "JSON"}]}'
_SCHEMA_NESTED = '[{"name": "VARCHAR", "type": "VARCHAR", "description": "VARCHAR"}]'
_INPUT_NAMES = '{"inputFields": [{"namespace": "VARCHAR", "name": "VARCHAR"}]}'
_CLL_NAMES = f'{{"fields": "{_FACETS}", "dataset": [{{"namespace": "VARCHAR", "name": "VARCHAR"}}]}}'
SYMLINKS = '{"identifiers": [{"namespace": "VARCHAR", "name": "VARCHAR", "type": "VARCHAR"}]}'
# The lifecycle states that are no write of the dataset (no version; see stg_lifecycle_marks).
UNWRITTEN_STATES = "('RENAME', 'DROP')"

# Column lineage facets -> cll_fields rows, from ``cll_parsed`` (dataset_id, facet_hash, v: the facet
# as _CLL, schema_columns: the columns of the schema sent beside it). The one expansion of a
# columnLineage facet: events' (UNNEST) and lineagectl's own derived ones (DERIVED_CLL) alike.
STG_CLL_FIELDS = f"""CREATE OR REPLACE TEMP TABLE stg_cll_fields AS
    WITH fields AS (
        SELECT dataset_id, facet_hash, fe.key AS column_name, json_transform(fe.value, '{_CLL_FIELD}') AS s
        FROM (SELECT *, unnest(map_entries(v.fields)) AS fe FROM cll_parsed)),
    inputs AS (
        SELECT dataset_id, facet_hash, column_name, s.transformationType AS legacy_type,
               s.transformationDescription AS legacy_desc, unnest(s.inputFields) AS i FROM fields),
    field_edges AS (
        SELECT dataset_id, facet_hash, column_name, i, legacy_type, legacy_desc,
               unnest(CASE WHEN len(i.transformations) > 0 THEN i.transformations ELSE [NULL] END) AS t
        FROM inputs),
    deps AS (
        SELECT dataset_id, facet_hash,
               list_distinct(coalesce(map_keys(v.fields), []) || schema_columns) AS columns,
               unnest(v.dataset) AS i
        FROM cll_parsed),
    dep_columns AS (SELECT dataset_id, facet_hash, unnest(columns) AS column_name, i FROM deps),
    dep_edges AS (
        SELECT dataset_id, facet_hash, column_name, i,
               unnest(CASE WHEN len(i.transformations) > 0 THEN i.transformations ELSE [NULL] END) AS t
        FROM dep_columns)
    SELECT dataset_id, facet_hash, column_name, lineagectl_id(i.namespace, i.name) AS src_dataset_id,
           i.field AS src_column, coalesce(upper(t.type), 'DIRECT') AS type,
           CASE WHEN t IS NOT NULL THEN upper(t.subtype)
                WHEN upper(legacy_type) = 'IDENTITY' THEN 'IDENTITY'
                WHEN legacy_type IS NOT NULL THEN 'TRANSFORMATION' END AS subtype,
           coalesce(t.masking, false) AS masking,
           CASE WHEN t IS NOT NULL THEN t.description ELSE legacy_desc END AS description,
           legacy_type
    FROM field_edges WHERE i.namespace IS NOT NULL AND i.name IS NOT NULL AND i.field IS NOT NULL
    UNION ALL
    SELECT dataset_id, facet_hash, column_name, lineagectl_id(i.namespace, i.name), i.field,
           coalesce(upper(t.type), 'DIRECT'), upper(t.subtype), coalesce(t.masking, false),
           t.description, NULL
    FROM dep_edges WHERE i.namespace IS NOT NULL AND i.name IS NOT NULL AND i.field IS NOT NULL"""

SETUP = [
    ID_MACRO,
    RUN_ID_MACRO,
]

# ``CREATE OR REPLACE TEMP TABLE x AS …`` below is not run as written: the writer
# keeps each such result as an Arrow table that later statements read by name.
# Temp tables replaced inside the per-file transaction would be retained until
# commit, so memory (or spill) would grow with the size of the file.

UNNEST = [
    # Only events new to the store (``new_events``, see writer) are parsed at all.
    f"""CREATE OR REPLACE TEMP TABLE ev_ids AS
        WITH p AS (SELECT seq, event_hash, kind, event_type, event_time,
                          json_transform(skeleton, '{_EVENT}') AS e FROM new_events)
        SELECT seq, event_hash, kind, event_type, event_time, e.producer, e.schemaURL AS schema_url,
               CASE WHEN kind = 'run' THEN lineagectl_run_id(e.run.runId) END AS run_id,
               CASE WHEN kind <> 'dataset' THEN lineagectl_id(e.job.namespace, e.job.name) END AS job_id,
               CASE WHEN kind = 'dataset' THEN lineagectl_id(e.dataset.namespace, e.dataset.name) END
                   AS dataset_id,
               -- Top-level columns, not the whole struct: each later statement reads only
               -- the parts it needs (an Arrow struct column is converted whole).
               e.job.namespace AS job_namespace, e.job.name AS job_name, e.inputs, e.outputs,
               e.dataset.namespace AS ds_namespace, e.dataset.name AS ds_name
        FROM p""",
    """CREATE OR REPLACE TEMP TABLE stg_run_states AS
        SELECT run_id, job_id, event_type, event_time, event_hash FROM ev_ids WHERE kind = 'run'""",
    """CREATE OR REPLACE TEMP TABLE stg_job_names AS
        SELECT job_id, job_namespace AS namespace, job_name AS name, event_time, event_hash
        FROM ev_ids WHERE kind <> 'dataset'""",
    # Every dataset an event names (inputs, outputs, or the dataset of a DatasetEvent) with its
    # place (holder, position: how facet_rows name it), id, version and schema hash.
    """CREATE OR REPLACE TEMP TABLE io_ids AS
        WITH i AS (SELECT seq, event_hash, event_time, kind, run_id, job_id,
                          generate_subscripts(inputs, 1) AS position, unnest(inputs) AS d
                   FROM ev_ids WHERE kind <> 'dataset'),
             o AS (SELECT seq, event_hash, event_time, kind, run_id, job_id,
                          generate_subscripts(outputs, 1) AS position, unnest(outputs) AS d
                   FROM ev_ids WHERE kind <> 'dataset'),
             io AS (
                 SELECT seq, event_hash, event_time, kind, run_id, job_id, 'in' AS direction, 'in' AS holder,
                        position, d.namespace, d.name FROM i
                 UNION ALL
                 SELECT seq, event_hash, event_time, kind, run_id, job_id, 'out', 'out', position, d.namespace,
                        d.name FROM o
                 UNION ALL
                 SELECT seq, event_hash, event_time, kind, NULL, NULL, NULL, 'dataset', 1, ds_namespace, ds_name
                 FROM ev_ids WHERE kind = 'dataset'),
             marks AS (
                 SELECT seq, holder, position,
                        any_value(facet_hash) FILTER (WHERE facet_key = 'schema') AS schema_hash,
                        any_value(facet_hash) FILTER (WHERE facet_key = 'version') AS version_hash
                 FROM facet_rows WHERE NOT io AND facet_key IN ('schema', 'version') GROUP BY ALL)
        SELECT io.*, lineagectl_id(io.namespace, io.name) AS dataset_id,
               CASE WHEN m.version_hash <> 'deleted' THEN b.payload->>'datasetVersion' END AS version,
               CASE WHEN m.schema_hash <> 'deleted' THEN m.schema_hash END AS schema_hash
        FROM io LEFT JOIN marks m USING (seq, holder, position)
        LEFT JOIN stg_event_blobs b ON b.facet_hash = m.version_hash""",
    # A facet sent as null is absent (openlineage-python writes unset facets so): it has no row.
    """CREATE OR REPLACE TEMP TABLE dsfac AS
        SELECT io.event_hash, io.event_time, io.kind, io.run_id, io.job_id, io.dataset_id, io.direction,
               r.facet_key, r.facet_hash
        FROM io_ids io JOIN facet_rows r
             ON r.seq = io.seq AND r.holder = io.holder AND r.position = io.position AND NOT r.io""",
    """CREATE OR REPLACE TEMP TABLE otherfac AS
        SELECT 'job' AS owner, e.event_hash, e.event_time, e.job_id, NULL::VARCHAR AS run_id,
               NULL::BIGINT AS dataset_id, NULL::VARCHAR AS direction, r.facet_key, r.facet_hash
        FROM ev_ids e JOIN facet_rows r ON r.seq = e.seq AND r.holder = 'job'
        WHERE e.kind <> 'dataset'
        UNION ALL
        SELECT 'run', e.event_hash, e.event_time, e.job_id, e.run_id, NULL, NULL, r.facet_key, r.facet_hash
        FROM ev_ids e JOIN facet_rows r ON r.seq = e.seq AND r.holder = 'run'
        WHERE e.kind = 'run'
        UNION ALL
        SELECT 'io', io.event_hash, io.event_time, io.job_id, io.run_id, io.dataset_id, io.direction,
               r.facet_key, r.facet_hash
        FROM io_ids io JOIN facet_rows r
             ON r.seq = io.seq AND r.holder = io.holder AND r.position = io.position AND r.io
        WHERE io.kind = 'run'""",
    """CREATE OR REPLACE TEMP TABLE stg_dataset_facets AS
        SELECT dataset_id, facet_key, facet_hash, event_time, event_hash FROM dsfac""",
    """CREATE OR REPLACE TEMP TABLE stg_job_facets AS
        SELECT job_id, facet_key, facet_hash, event_time, event_hash FROM otherfac WHERE owner = 'job'""",
    """CREATE OR REPLACE TEMP TABLE stg_run_facets AS
        SELECT run_id, facet_key, facet_hash, event_time, event_hash FROM otherfac WHERE owner = 'run'""",
    """CREATE OR REPLACE TEMP TABLE stg_io_facets AS
        SELECT run_id, dataset_id, direction, facet_key, facet_hash, event_time, event_hash
        FROM otherfac WHERE owner = 'io'""",
    # Table lineage is never narrower than column lineage: a dataset an output's column lineage
    # reads is an input of the run (or JobEvent) too, unless the event names it itself (a MERGE
    # target reading its own rows is an output, not a loop). Sources are read once per distinct
    # facet in the batch, then joined to every event that carried it.
    f"""CREATE OR REPLACE TEMP TABLE cll_inputs AS
        WITH c AS (SELECT DISTINCT dataset_id, facet_hash FROM dsfac
                   WHERE facet_key = 'columnLineage' AND facet_hash <> 'deleted' AND direction = 'out'),
             v AS (SELECT dataset_id, facet_hash, json_transform(b.payload, '{_CLL_NAMES}') AS v
                   FROM c JOIN stg_event_blobs b USING (facet_hash)),
             i AS (SELECT dataset_id, facet_hash,
                          unnest(flatten(list_transform(map_values(v.fields),
                                 lambda x: json_transform(x, '{_INPUT_NAMES}').inputFields))
                                 || coalesce(v.dataset, [])) AS i FROM v),
             sources AS (SELECT DISTINCT dataset_id, facet_hash, lineagectl_id(i.namespace, i.name) AS source_id
                         FROM i WHERE i.namespace IS NOT NULL AND i.name IS NOT NULL),
             read AS (SELECT DISTINCT d.event_hash, d.event_time, d.kind, d.run_id, d.job_id,
                                      s.source_id AS dataset_id
                      FROM dsfac d JOIN sources s USING (dataset_id, facet_hash)
                      WHERE d.facet_key = 'columnLineage' AND d.direction = 'out')
        SELECT * FROM read ANTI JOIN io_ids USING (event_hash, dataset_id)""",
    """CREATE OR REPLACE TEMP TABLE stg_run_io AS
        SELECT run_id, job_id, dataset_id, direction, version, event_time, event_hash
        FROM io_ids WHERE kind = 'run'
        UNION ALL
        SELECT run_id, job_id, dataset_id, 'in', NULL, event_time, event_hash FROM cll_inputs WHERE kind = 'run'""",
    """CREATE OR REPLACE TEMP TABLE stg_static_edges AS
        SELECT dataset_id, job_id, direction, event_time, event_hash FROM io_ids WHERE kind = 'job'
        UNION ALL
        SELECT dataset_id, job_id, 'in', event_time, event_hash FROM cll_inputs WHERE kind = 'job'""",
    # A RENAME or a DROP is no write: a run whose output carries one (in any of its events of the
    # batch) makes no version of it. Its other events, stored before or after, are reconciled at
    # the end of the file (derive.py, UNWRITTEN).
    f"""CREATE OR REPLACE TEMP TABLE stg_lifecycle_marks AS
        SELECT DISTINCT run_id, dataset_id FROM dsfac JOIN stg_event_blobs b USING (facet_hash)
        WHERE facet_key = 'lifecycleStateChange' AND kind = 'run' AND direction = 'out'
          AND upper(b.payload->>'lifecycleStateChange') IN {UNWRITTEN_STATES}""",
    """CREATE OR REPLACE TEMP TABLE stg_dataset_versions AS
        SELECT dataset_id, coalesce(version, run_id) AS version, run_id, schema_hash, event_time, event_hash
        FROM io_ids ANTI JOIN stg_lifecycle_marks USING (run_id, dataset_id)
        WHERE kind = 'run' AND direction = 'out'""",
    """CREATE OR REPLACE TEMP TABLE stg_cll_sets AS
        SELECT dataset_id, coalesce(job_id, 0) AS job_id, facet_hash, event_time, event_hash
        FROM dsfac WHERE facet_key = 'columnLineage'""",
    # Content new to the store, once per distinct content (with the earliest event carrying it).
    f"""CREATE OR REPLACE TEMP TABLE new_content AS
        SELECT c.*, b.payload AS value FROM (
            SELECT dataset_id, facet_key, facet_hash, min(event_time) AS event_time,
                   arg_min(event_hash, event_time) AS event_hash
            FROM dsfac
            WHERE facet_hash <> 'deleted' AND facet_key IN {_CONTENT_KEYS}
            GROUP BY dataset_id, facet_key, facet_hash) c JOIN stg_event_blobs b USING (facet_hash)
        WHERE NOT (facet_key = 'columnLineage' AND (dataset_id, facet_hash) IN
                   (SELECT DISTINCT dataset_id, facet_hash FROM cll_fields))
          AND NOT (facet_key = 'schema' AND facet_hash IN (SELECT DISTINCT schema_hash FROM schema_fields))""",
    f"""CREATE OR REPLACE TEMP TABLE stg_schema_fields AS
        WITH s AS (SELECT DISTINCT facet_hash, value FROM new_content WHERE facet_key = 'schema'),
             t AS (SELECT facet_hash, json_transform(value, '{_SCHEMA}').fields AS fields FROM s),
             top AS (SELECT facet_hash, generate_subscripts(fields, 1) AS ord, unnest(fields) AS f FROM t),
             nested AS (SELECT facet_hash, ord, f.name AS parent,
                               json_transform(f.fields, '{_SCHEMA_NESTED}') AS children
                        FROM top WHERE f.fields IS NOT NULL),
             kids AS (SELECT facet_hash, ord, parent, generate_subscripts(children, 1) AS sub,
                             unnest(children) AS c FROM nested)
        SELECT facet_hash AS schema_hash, (ord * 1000)::INTEGER AS ordinal, f.name AS name,
               f.type AS type, f.description AS description FROM top WHERE f.name IS NOT NULL
        UNION ALL
        SELECT facet_hash, (ord * 1000 + sub)::INTEGER, parent || '.' || c.name, c.type, c.description
        FROM kids WHERE c.name IS NOT NULL AND parent IS NOT NULL""",
    # The schema sent beside new column lineage (by the event that first carried it): 1-2-0
    # ``dataset`` entries apply to every column of the dataset.
    f"""CREATE OR REPLACE TEMP TABLE cll_parsed AS
        WITH c AS (SELECT * FROM new_content WHERE facet_key = 'columnLineage'),
             s AS (SELECT event_hash, dataset_id, b.payload AS value
                   FROM (SELECT d.event_hash, d.dataset_id, any_value(d.facet_hash) AS facet_hash
                         FROM dsfac d SEMI JOIN c USING (event_hash, dataset_id)
                         WHERE d.facet_key = 'schema' AND d.facet_hash <> 'deleted' GROUP BY ALL)
                   JOIN stg_event_blobs b USING (facet_hash))
        SELECT c.dataset_id, c.facet_hash, c.event_time, c.event_hash, json_transform(c.value, '{_CLL}') AS v,
               coalesce(list_transform(json_transform(s.value, '{_SCHEMA}').fields, lambda x: x.name), [])
                   AS schema_columns
        FROM c LEFT JOIN s USING (event_hash, dataset_id)""",
    STG_CLL_FIELDS,
    f"""CREATE OR REPLACE TEMP TABLE stg_aliases AS
        WITH links AS (
            SELECT dataset_id, event_time, event_hash,
                   unnest(json_transform(value, '{SYMLINKS}').identifiers) AS a
            FROM new_content WHERE facet_key = 'symlinks'),
        renames AS (
            SELECT dataset_id, event_time, event_hash, value->'previousIdentifier'->>'namespace' AS ns,
                   value->'previousIdentifier'->>'name' AS name
            FROM new_content
            WHERE facet_key = 'lifecycleStateChange' AND upper(value->>'lifecycleStateChange') = 'RENAME')
        SELECT * FROM (
            SELECT lineagectl_id(a.namespace, a.name) AS alias_id, a.namespace AS alias_namespace,
                   a.name AS alias_name, dataset_id, 'symlink' AS kind, a.type AS alias_type,
                   event_time, event_hash
            FROM links WHERE a.namespace IS NOT NULL AND a.name IS NOT NULL
            UNION ALL
            SELECT lineagectl_id(ns, name), ns, name, dataset_id, 'rename', NULL, event_time, event_hash
            FROM renames WHERE ns IS NOT NULL AND name IS NOT NULL)
        WHERE alias_id <> dataset_id""",
    # Names: datasets an event names, and sources named only by new column lineage.
    f"""CREATE OR REPLACE TEMP TABLE stg_dataset_names AS
        SELECT dataset_id, namespace, name, event_time, event_hash FROM io_ids
        UNION ALL
        SELECT DISTINCT lineagectl_id(i.namespace, i.name), i.namespace, i.name, event_time, event_hash
        FROM (SELECT event_time, event_hash,
                     unnest(flatten(list_transform(map_values(v.fields),
                            lambda x: json_transform(x, '{_INPUT_NAMES}').inputFields))
                     || coalesce(list_transform(v.dataset,
                            lambda x: {{'namespace': x.namespace, 'name': x.name}}), [])) AS i
              FROM cll_parsed)
        WHERE i.namespace IS NOT NULL AND i.name IS NOT NULL""",
]

# Column lineage lineagectl derived itself (``sqlcll``), staged as the rows an event carrying the
# same facet gives: ``derived_cll`` (dataset_id, job_id, event_time, facet_hash, value) has one row
# per output, ``value`` a columnLineage facet's canonical JSON and ``facet_hash`` its hash (by
# Python, as an event's), expanded by STG_CLL_FIELDS as an event's is. The schema beside derived
# lineage is the output's current one (an event's is the schema facet sent with it).
DERIVED_CLL = [
    """CREATE OR REPLACE TEMP TABLE derived_facets AS
        SELECT dataset_id, job_id, event_time, 'columnLineage' AS facet_key, facet_hash, value FROM derived_cll""",
    """CREATE OR REPLACE TEMP TABLE stg_facet_blobs AS
        SELECT facet_hash, any_value(value) AS payload FROM derived_facets GROUP BY facet_hash""",
    """CREATE OR REPLACE TEMP TABLE stg_cll_sets AS
        SELECT dataset_id, job_id, facet_hash, event_time FROM derived_facets WHERE facet_key = 'columnLineage'""",
    f"""CREATE OR REPLACE TEMP TABLE cll_parsed AS
        WITH c AS (
            SELECT dataset_id, facet_hash, any_value(value) AS value FROM derived_facets
            WHERE (dataset_id, facet_hash) NOT IN (SELECT DISTINCT dataset_id, facet_hash FROM cll_fields)
            GROUP BY dataset_id, facet_hash),
        -- Top-level fields only, as an event's schema facet gives them (nested ones are 1000*i + j).
        s AS (
            SELECT d.dataset_id, list(f.name ORDER BY f.ordinal) AS schema_columns
            FROM datasets d SEMI JOIN c USING (dataset_id)
            JOIN schema_fields f ON f.schema_hash = d.schema_hash
            WHERE f.ordinal % 1000 = 0 GROUP BY d.dataset_id)
        SELECT c.dataset_id, c.facet_hash, json_transform(c.value, '{_CLL}') AS v,
               coalesce(s.schema_columns, []) AS schema_columns
        FROM c LEFT JOIN s USING (dataset_id)""",
    STG_CLL_FIELDS,
]
