"""traceglass.instrumentors: one thin adapter per provider SDK."""
