"""Test harness shipped with tiled: database fixtures and a real server in a thread."""
