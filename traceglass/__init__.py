"""traceglass: OpenTelemetry-native observability for GenAI applications."""

from ._version import __version__

__all__ = ["__version__"]
