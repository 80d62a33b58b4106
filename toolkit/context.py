"""The notebook side of a run: resolve parameters, read and write the run folder's tables.

Every template starts with :func:`open_run` (the "resolve" cell) and ends with
:meth:`RunContext.complete`. Relative paths are resolved against the working directory when
the file exists there, otherwise against the project root, so the same notebook runs from
JupyterLab, nbval (working directory ``notebooks/``) and papermill alike.

Examples
--------
>>> from toolkit.context import open_run
>>> ctx = open_run("data-samples/shop/report.yaml", "")  # doctest: +SKIP
>>> ctx.run_dir.name  # doctest: +SKIP
'scratch'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import runs
from toolkit.config import NOTEBOOKS_DIR, PROJECT_ROOT, SCRATCH_RUN_DIR
from toolkit.errors import ConfigError

__all__ = ["RunContext", "open_run"]


def _resolve_input(path: str) -> Path:
    p = Path(os.path.expanduser(path))
    if p.is_absolute():
        return p
    here = Path.cwd() / p
    if here.exists():
        return here.resolve()
    return (PROJECT_ROOT / p).resolve()


def _resolve_run_dir(path: str) -> Path:
    if not path:
        return SCRATCH_RUN_DIR
    p = Path(os.path.expanduser(path))
    if p.is_absolute():
        return p
    base = PROJECT_ROOT if Path.cwd().resolve() == NOTEBOOKS_DIR.resolve() else Path.cwd()
    return (base / p).resolve()


@dataclass
class RunContext:
    """Where a notebook reads its config and writes its tables.

    Attributes
    ----------
    config_path : Path
        The resolved report config (holds the data spec under ``data``).
    run_dir : Path
        The run folder shared by the three templates.
    """

    config_path: Path
    run_dir: Path
    _spec: Any = field(default=None, repr=False)

    @property
    def spec(self):
        """The data spec of the config (:class:`toolkit.spec.DataSpec`)."""
        if self._spec is None:
            from toolkit.spec import load_spec

            self._spec = load_spec(self.config_path)
        return self._spec

    def path(self, name: str) -> Path:
        """Return ``run_dir / name``."""
        return self.run_dir / name

    def require(self, *names: str, producer: str = "the previous notebook") -> None:
        """Raise a clear error when a table this notebook needs is not in the run folder."""
        missing = [n for n in names if not (self.run_dir / n).exists()]
        if missing:
            raise ConfigError(
                f"The run folder {self.run_dir} has no {', '.join(missing)}. "
                f"Run {producer} with the "
                "same run_dir first (toolkit report runs the templates in order)."
            )

    def load_audience(self):
        """Read the user-level table written by ``01-explore`` (``users.parquet``)."""
        from toolkit.load import Audience

        self.require("users.parquet", "columns.json", producer="01-explore")
        return Audience.load(self.run_dir)

    def save_table(self, name: str, table: pd.DataFrame, *, index: bool = False) -> Path:
        """Write ``table`` as CSV (or Parquet by suffix) into the run folder, atomically."""
        target = self.run_dir / name
        with runs.atomic_path(target) as tmp:
            if target.suffix == ".parquet":
                table.to_parquet(tmp, index=index)
            else:
                table.to_csv(tmp, index=index, lineterminator="\n")
        return target

    def read_table(self, name: str, **kwargs: Any) -> pd.DataFrame:
        """Read a CSV or Parquet table from the run folder."""
        self.require(name)
        target = self.run_dir / name
        if target.suffix == ".parquet":
            return pd.read_parquet(target, **kwargs)
        return pd.read_csv(target, **kwargs)

    def complete(self, notebook: str, **details: Any) -> Path:
        """Write this notebook's completion record (call it in the last cell)."""
        return runs.mark_notebook_complete(self.run_dir, notebook, **details)


def show_data_warnings_as_notes() -> None:
    """Show :class:`toolkit.errors.DataWarning` in a notebook as a short note, not stderr.

    A report's reader sees "Note: column 'x' is constant ..." instead of a red block holding a
    temporary file name and a line of code. Other warnings keep Python's default display, and
    outside IPython nothing changes.
    """
    import warnings

    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a core dependency
        return
    if get_ipython() is None:
        return
    from toolkit.errors import DataWarning
    from toolkit.privacy import escape_markdown

    default = getattr(warnings.showwarning, "_toolkit_default", warnings.showwarning)

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):
            text = str(message).replace(str(PROJECT_ROOT) + os.sep, "")
            display(Markdown(f"> **Note:** {escape_markdown(text)}"))
        else:
            default(message, category, filename, lineno, file, line)

    showwarning._toolkit_default = default  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


def open_run(config: str, run_dir: str = "", *, theme: bool = True) -> RunContext:
    """Resolve a template's ``config`` and ``run_dir`` parameters and prepare the run folder.

    Parameters
    ----------
    config : str
        Report config path; relative paths are tried against the working directory, then the
        project root.
    run_dir : str
        Run folder; empty means ``reports/scratch`` in the project (for notebooks opened by hand).
    theme : bool
        Apply :func:`toolkit.plots.set_report_theme` and pandas display options for reports
        (3 decimals, full-width text columns).
    """
    cfg = _resolve_input(config)
    if not cfg.is_file():
        raise ConfigError(
            f"Report config {config!r} was not found (looked at {cfg}). "
            "Set the notebook's `config` "
            "parameter to a YAML config such as data-samples/shop/report.yaml."
        )
    out = _resolve_run_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    if theme:
        from toolkit.plots import set_report_theme

        set_report_theme()
        # Tables in a shared report: 3 decimals, full sentences (reasons, findings), no cut-off.
        pd.set_option("display.precision", 3)
        pd.set_option("display.max_colwidth", None)
        pd.set_option("display.max_columns", 40)
    show_data_warnings_as_notes()
    return RunContext(config_path=cfg, run_dir=out)
