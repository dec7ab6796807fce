pytest_plugins = ["tiled.testing.fixtures"]
