"""traceglass.exporters: where spans go (OTLP defaults, console, notebook display)."""
