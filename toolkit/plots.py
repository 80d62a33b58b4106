"""Charts for reports: axes-level functions in the style of seaborn, plus the report theme.

Every ``plot_*`` function takes its data first, keyword-only options after, draws on ``ax``
(default ``plt.gca()``) and returns it; none touches global pyplot state. Importing this module
changes nothing: call :func:`set_report_theme` to style figures for a shared report.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from toolkit.plots import set_report_theme, segment_palette
>>> set_report_theme()
>>> len(segment_palette(6))
6
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "set_report_theme",
    "segment_palette",
    # exploration
    "plot_missingness",
    "plot_distributions",
    "plot_associations",
    "DistributionGrid",
    # segments
    "plot_k_sweep",
    "plot_segment_map",
    "plot_segment_sizes",
    "plot_stability",
    # correlation and outcomes
    "plot_profile_heatmap",
    "plot_outcomes",
    "plot_outcome_panels",
    "plot_funnel",
    "plot_association_heatmap",
    "plot_map_by_outcome",
]


def set_report_theme(*, context: str = "notebook", font_scale: float = 1.0) -> None:
    """Style matplotlib and seaborn for shared reports (white grid, readable sizes, 110 dpi)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette="colorblind", font_scale=font_scale)
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "savefig.bbox": "tight",
            "figure.figsize": (8.0, 4.5),
            "axes.titleweight": "bold",
            "axes.titlesize": "large",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "audience-toolkit",
        }
    )


def segment_palette(
    n_segments: int, *, unsegmented: bool = False
) -> list[tuple[float, float, float]]:
    """Return one distinct colour per segment (grey appended for "unsegmented" when asked).

    The colours are fixed by segment number, so segment 1 has the same colour in every chart.
    """
    import seaborn as sns

    base = "colorblind" if n_segments <= 10 else "husl"
    colours: Sequence = sns.color_palette(base, n_segments)
    out = [tuple(map(float, c)) for c in colours]
    if unsegmented:
        out.append((0.6, 0.6, 0.6))
    return out


# The chart functions live in one private module per analysis stage; this is their public home.
from toolkit._plots_correlation import (  # noqa: E402
    plot_association_heatmap,
    plot_funnel,
    plot_map_by_outcome,
    plot_outcome_panels,
    plot_outcomes,
    plot_profile_heatmap,
)
from toolkit._plots_explore import (  # noqa: E402
    DistributionGrid,
    plot_associations,
    plot_distributions,
    plot_missingness,
)
from toolkit._plots_segments import (  # noqa: E402
    plot_k_sweep,
    plot_segment_map,
    plot_segment_sizes,
    plot_stability,
)
