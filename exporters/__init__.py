"""traceglass.exporters: where spans go (OTLP defaults, console, notebook display).

`LocalStoreSpanExporter` writes spans straight into a traceglass store (SQLite or PostgreSQL).
"""

from ._local import LocalStoreSpanExporter

__all__ = ["LocalStoreSpanExporter"]
