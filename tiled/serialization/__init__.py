"""Encoders and decoders of data bodies, per media type (used by server and client)."""
