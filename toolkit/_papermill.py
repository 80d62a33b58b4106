"""papermill's command line, started without its slowest optional import.

``toolkit report`` runs each notebook as ``python -m toolkit._papermill ...``: the same
``papermill`` CLI with the same arguments (see :mod:`toolkit._startup` for what is skipped).
"""

from __future__ import annotations

from toolkit._startup import skip_slow_optional_imports

if __name__ == "__main__":
    skip_slow_optional_imports()
    from papermill.cli import papermill

    papermill()
