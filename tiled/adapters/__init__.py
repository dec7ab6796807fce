"""Format adapters: one module per format family, found by mimetype (``registry``)."""
