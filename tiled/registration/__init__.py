"""Flow 1, indexing: files on disk become catalog nodes.

``walk``/``plan`` look at the file system only (no file is opened), ``inspect`` reads
headers in worker processes, ``sync`` decides what changed, and a sink (the catalog
in-process, or the HTTP API) writes it. Nothing here but the sinks knows SQL or HTTP.
"""
