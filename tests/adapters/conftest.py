from tiled.testing.served import served_http  # noqa: F401  (a real server per test)
