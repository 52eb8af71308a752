"""Exception types raised for bad user input.

Every error names the offending thing (file, field, key, dataset) so that a user never has to read a
traceback from deep inside torch to find out what was wrong.
"""
from __future__ import annotations


class GraphCLError(Exception):
    """Base class of the library's user-facing errors."""


class ConfigError(GraphCLError, ValueError):
    """A configuration key or value is invalid (unknown key, wrong type, malformed YAML)."""


class DataError(GraphCLError, ValueError):
    """Input data is missing or malformed (missing files, NaN features, empty graph, ...)."""
