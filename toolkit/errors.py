"""Exceptions and warnings raised by the toolkit.

Every error is a :class:`ToolkitError` and also a builtin exception, so ``except ValueError``
keeps working. Messages say what was expected, what was found and how to fix it.

Examples
--------
>>> from toolkit.errors import DataError
>>> issubclass(DataError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "ToolkitError",
    "DataError",
    "SpecError",
    "ConfigError",
    "ReportError",
    "ToolkitWarning",
    "DataWarning",
]


class ToolkitError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class DataError(ToolkitError, ValueError):
    """An input file or table is not what the data spec says it should be."""


class SpecError(ToolkitError, ValueError):
    """The data spec itself is invalid (unknown role, missing scale, column not in file...)."""


class ConfigError(ToolkitError, ValueError):
    """A report config or a parameter is invalid."""


class ReportError(ToolkitError, RuntimeError):
    """A report run failed (a notebook raised, timed out or did not complete)."""


class ToolkitWarning(UserWarning):
    """Base class of the toolkit's warnings."""


class DataWarning(ToolkitWarning):
    """Harmless but noteworthy data issue (constant column dropped, rare levels grouped...)."""
