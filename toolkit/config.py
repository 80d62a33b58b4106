"""Paths and defaults shared by the package, the notebooks and the CLI.

Relative paths in notebooks are resolved here, because nbval runs notebooks from their own
folder and papermill from the caller's working directory.

Examples
--------
>>> from toolkit.config import SAMPLE_CONFIG
>>> SAMPLE_CONFIG.name
'report.yaml'
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SAMPLE_DIR = PROJECT_ROOT / "data-samples" / "shop"
SAMPLE_CONFIG = SAMPLE_DIR / "report.yaml"
REPORTS_DIR = PROJECT_ROOT / "reports"
#: Run folder used when a notebook is opened by hand (or by nbval) without a ``run_dir``.
SCRATCH_RUN_DIR = REPORTS_DIR / "scratch"

NOTEBOOKS = ("01-explore.ipynb", "02-segments.ipynb", "03-personas.ipynb")

#: Defaults shared by the notebooks, the CLI and the Python API.
DEFAULT_RANDOM_STATE = 0
DEFAULT_K_RANGE = (2, 10)
DEFAULT_MIN_PERSONA_SIZE = 50
DEFAULT_MAP_SAMPLE = 20_000
DEFAULT_SILHOUETTE_SAMPLE = 10_000


def resolve_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> Path:
    """Resolve ``path`` against ``base`` (default: the project root) unless it is absolute.

    Examples
    --------
    >>> resolve_path("data-samples/shop/report.yaml") == SAMPLE_CONFIG
    True
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    if p.is_absolute():
        return p
    return (Path(base) if base is not None else PROJECT_ROOT).joinpath(p).resolve()


def numba_cache_dir() -> Path:
    """Folder for numba's on-disk cache (UMAP compiles once, then reuses it across kernels)."""
    return Path(os.environ.get("NUMBA_CACHE_DIR", PROJECT_ROOT / ".cache" / "numba"))
