"""Output formats: one module per format, found through ``get_reporter(name)``."""

from leakcheck.report.base import Reporter, format_names, get_reporter

__all__ = ["Reporter", "format_names", "get_reporter"]
