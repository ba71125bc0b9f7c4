"""``lineagectl serve``: an OpenLineage HTTP receiver that spools events and ingests them in batches.

``app`` answers the HTTP requests, ``spool`` holds every acknowledged event on
disk, ``ingester`` moves the spool into the store, ``server`` runs the three
together and stops them gracefully.
"""
