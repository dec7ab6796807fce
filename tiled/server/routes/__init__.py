"""Route handlers, one module per resource; ``app.py`` assembles them."""
