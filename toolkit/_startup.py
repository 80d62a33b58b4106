"""Process start-up: leave out an optional import that costs about a second per process.

jsonschema (imported by nbformat, hence by papermill and nbconvert) imports ``rfc3987_syntax``
when it is installed (jupyter-events requires it), and ``rfc3987_syntax`` builds 38 Lark parsers
at import: about one second in each process that reads a notebook, four of them per report.
The notebook schemas never use the "iri" formats it checks, so the toolkit's own processes
(the ``toolkit`` command and its papermill runs) do without it. Other processes are untouched.

>>> skip_slow_optional_imports()  # first thing in a process  # doctest: +SKIP
>>> import papermill  # doctest: +SKIP
"""

from __future__ import annotations

import sys

__all__ = ["skip_slow_optional_imports"]


def skip_slow_optional_imports() -> None:
    """Make ``import rfc3987_syntax`` fail (jsonschema then skips it) unless already imported."""
    if "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
