"""The HTTP server: FastAPI routes over the catalog and the format adapters."""
