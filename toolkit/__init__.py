"""Audience Toolkit: from audience data to segments and data-backed customer personas.

The package is small modules with one job each; the most used entry points are importable from
the top level (imported lazily, so ``import toolkit`` stays fast):

>>> import toolkit
>>> audience = toolkit.load_audience("data-samples/shop/report.yaml")  # doctest: +SKIP
>>> segmenter = toolkit.segment_customers(audience.table, audience.columns)  # doctest: +SKIP

Modules: ``load`` (sources, spec, event logs), ``quality`` (exploration), ``features``,
``segmentation``, ``stability``, ``embedding`` (the map), ``correlation``, ``findings``,
``outcomes``, ``targeting``, ``personas``, ``render``, ``plots``, ``report`` (the scheduled
report), ``samples`` (the seeded sample generator).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("audience-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "load_audience": "toolkit.load",
    "Audience": "toolkit.load",
    "DataSpec": "toolkit.spec",
    "load_spec": "toolkit.spec",
    "quality_report": "toolkit.quality",
    "raw_associations": "toolkit.quality",
    "Segmenter": "toolkit.segmentation",
    "segment_customers": "toolkit.segmentation",
    "save_segmenter": "toolkit.segmentation",
    "load_segmenter": "toolkit.segmentation",
    "assign_segments": "toolkit.segmentation",
    "segment_stability": "toolkit.stability",
    "segment_map": "toolkit.embedding",
    "profile_segments": "toolkit.correlation",
    "distinguishing_findings": "toolkit.findings",
    "findings_markdown": "toolkit.findings",
    "outcomes_by_segment": "toolkit.outcomes",
    "funnel_by_segment": "toolkit.outcomes",
    "rank_targets": "toolkit.targeting",
    "choose_targets": "toolkit.targeting",
    "build_personas": "toolkit.personas",
    "check_faithfulness": "toolkit.personas",
    "render_persona_cards": "toolkit.render",
    "write_personas": "toolkit.render",
    "segment_explorer": "toolkit.widgets",
    "persona_editor": "toolkit.widgets",
    "run_report": "toolkit.report",
    "ToolkitError": "toolkit.errors",
    "DataError": "toolkit.errors",
    "SpecError": "toolkit.errors",
    "ConfigError": "toolkit.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
