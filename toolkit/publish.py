"""Render a run folder to self-contained HTML: each executed notebook plus ``index.html``.

nbconvert's stock templates load require.js, MathJax and the widget manager from public CDNs;
the ``report`` template shipped in ``toolkit/templates/nbconvert`` drops every script, so each
page opens offline. Cells tagged ``hide``, ``hide-input`` or ``hide-output`` (seaborn's
vocabulary) are removed accordingly, and code is hidden unless ``show_code=True``. After
rendering, every HTML file of the run is checked for unexpected script, event-handler
attributes and ``javascript:`` URLs; any finding fails the run.

Examples
--------
>>> from toolkit.publish import render_notebook  # doctest: +SKIP
>>> render_notebook("run/02-segments.ipynb", "run/02-segments.html")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import runs
from toolkit.config import PACKAGE_DIR
from toolkit.errors import ReportError

__all__ = ["render_notebook", "render_index", "publish_run", "check_run_html"]

TEMPLATES_DIR = PACKAGE_DIR / "templates"
_NOTEBOOK_TITLES = {
    "01-explore": "Explore the data",
    "02-segments": "Segments and what distinguishes them",
    "03-personas": "Personas",
}


def render_notebook(
    notebook: str | os.PathLike[str], html: str | os.PathLike[str], *, show_code: bool = False
) -> Path:
    """Render an executed notebook to one self-contained HTML file (written atomically)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(os.fspath(notebook), as_version=4)
    nb.metadata.pop("widgets", None)  # widget state would need the CDN widget manager
    tags = TagRemovePreprocessor(
        remove_cell_tags={"hide", "remove-cell"},
        remove_input_tags={"hide-input", "remove-input", "injected-parameters", "parameters"},
        remove_all_outputs_tags={"hide-output", "remove-output"},
        enabled=True,
    )
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES_DIR / "nbconvert")],
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(tags, enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    return runs.atomic_write_text(html, body)


def _jinja_env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "j2"], default=True),
        keep_trailing_newline=True,
    )


def render_index(
    run_dir: str | os.PathLike[str],
    record: Mapping[str, Any],
    drift: Mapping[str, Any] | None = None,
) -> str:
    """Return ``index.html`` for a run: summary, links, segments, drift and parameters."""
    run = Path(run_dir)
    notebooks = [
        {
            "name": entry["notebook"],
            "title": _NOTEBOOK_TITLES.get(entry["notebook"], entry["notebook"]),
            "href": f"{entry['notebook']}.html",
            "seconds": entry.get("seconds"),
            "outcome": entry.get("outcome"),
        }
        for entry in record.get("notebooks", [])
    ]
    segments = None
    targets_path = run / "targets.csv"
    if targets_path.exists():
        segments = pd.read_csv(targets_path).to_dict("records")
    stability = None
    if (run / "stability.csv").exists():
        stability = pd.read_csv(run / "stability.csv").to_dict("records")
    parameters = {
        nb: {k: v for k, v in params.items() if k not in {"config", "run_dir"}}
        for nb, params in record.get("parameters", {}).items()
    }
    template = _jinja_env().get_template("index.html.j2")
    return template.render(
        record=record,
        notebooks=notebooks,
        personas=(run / "personas.html").exists(),
        segments=segments,
        stability=stability,
        parameters=parameters,
        drift=drift,
    )


def publish_run(
    run_dir: str | os.PathLike[str],
    record: dict[str, Any],
    *,
    previous_run: str | os.PathLike[str] | None = None,
    show_code: bool = False,
) -> Path:
    """Render every executed notebook, compare with ``previous_run`` and write ``index.html``.

    Raises :class:`~toolkit.errors.ReportError` when a rendered file fails the safety check.
    """
    run = Path(run_dir)
    for entry in record.get("notebooks", []):
        render_notebook(
            run / entry["output"], run / f"{entry['notebook']}.html", show_code=show_code
        )
    drift = None
    if previous_run is not None:
        from toolkit.drift import compare_runs

        try:
            drift = compare_runs(previous_run, run)
        except Exception as exc:  # drift is informative; a failure must not hide the report
            drift = {"error": f"{type(exc).__name__}: {exc}"}
        if drift and "table" in drift:
            runs.atomic_write_text(run / "drift.csv", drift["table"].to_csv(index=False))
            record["drift"] = {k: v for k, v in drift.items() if k != "table"}
    index = runs.atomic_write_text(run / "index.html", render_index(run, record, drift))
    problems = check_run_html(run)
    if problems:
        raise ReportError("unsafe HTML in the report: " + "; ".join(problems[:10]))
    return index


def check_run_html(run_dir: str | os.PathLike[str]) -> list[str]:
    """Return the safety problems of every HTML file in ``run_dir`` (empty when safe)."""
    from toolkit.privacy import check_html_safe

    problems = []
    for path in sorted(Path(run_dir).glob("*.html")):
        for problem in check_html_safe(path.read_text(encoding="utf-8")):
            problems.append(f"{path.name}: {problem}")
    return problems
