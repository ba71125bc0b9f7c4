"""Impact of a dbt change before it ships: two manifests compared (``lineagectl diff``).

``state`` applies dbt's ``state:modified`` rules, ``facts`` reads each
manifest's columns and column lineage through the ingest's dbt reader,
``columns`` classifies column changes and finds their readers, ``report``
makes the ``diff`` result.
"""
