"""A scientific data server speaking Tiled's v1 HTTP API.

Importing :mod:`tiled` loads nothing heavy; subpackages import what they need.
"""

__version__ = "0.3.0"
