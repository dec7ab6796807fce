"""The pure data model shared by client, server and indexer (no I/O)."""
