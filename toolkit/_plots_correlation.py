"""Charts of segment profiles, outcomes, funnels and associations (axes-level, seaborn style).

Each function takes its data first, keyword-only options after, draws on ``ax`` (default
``plt.gca()``), labels through ``ax`` only and returns ``ax``. Re-exported by
:mod:`toolkit.plots`.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from toolkit._plots_correlation import plot_outcomes
>>> out = pd.DataFrame({"segment": [1, 2], "metric": "conversion", "value": [0.6, 0.2],
...                     "ci_low": [0.5, 0.1], "ci_high": [0.7, 0.3], "overall": 0.4, "n": 100})
>>> ax = plot_outcomes(out, metric="conversion")
>>> len(ax.patches)
2
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, DataWarning

__all__ = [
    "plot_profile_heatmap",
    "plot_outcomes",
    "plot_outcome_panels",
    "plot_funnel",
    "plot_association_heatmap",
    "plot_map_by_outcome",
]

_METRIC_LABELS = {
    "conversion": "Conversion (bought at least once)",
    "revenue_per_user": "Revenue per user",
    "avg_order_value": "Average order value",
    "satisfaction": "Satisfaction",
    "trust": "Trust",
    "nps": "NPS (promoters - detractors)",
}
_SHARE_METRICS = {"conversion"}


def _ax(ax):
    import matplotlib.pyplot as plt

    return plt.gca() if ax is None else ax


def _palette(segments: Sequence[int], palette: Any = None) -> dict[int, Any]:
    from toolkit.plots import segment_palette

    segs = [int(s) for s in segments]
    if isinstance(palette, Mapping):
        return {s: palette[s] for s in segs}
    if palette is not None:
        import seaborn as sns

        colours = sns.color_palette(palette, len(segs))
        return dict(zip(segs, colours, strict=True))
    # Segment s has colour s - 1 of the palette, as in every other chart of the report.
    colours = segment_palette(max(max(segs, default=1), 1))
    out = {}
    for s in segs:
        out[s] = (0.6, 0.6, 0.6) if s < 1 else colours[(s - 1) % len(colours)]
    return out


def _metric_label(metric: str) -> str:
    return _METRIC_LABELS.get(metric, str(metric).replace("_", " ").capitalize())


def _is_share_metric(rows: pd.DataFrame, metric: str) -> bool:
    values = rows[["value", "overall"]].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    return metric in _SHARE_METRICS or (
        finite.size > 0 and finite.min() >= 0 and finite.max() <= 1 and metric != "nps"
    )


# --------------------------------------------------------------------------------------------
def plot_profile_heatmap(
    profiles: pd.DataFrame,
    *,
    ax=None,
    variables: Sequence[str] | None = None,
    max_rows: int = 30,
    findings_only: bool = True,
    annot: bool = True,
    cmap: str = "vlag",
    **kwargs: Any,
):
    """Heatmap of indices (100 = average) by segment for the variables that distinguish them.

    Colour is log2(index / 100), clipped to a quarter and four times the average, so 50 and 200
    are equally strong; cells show the index. Rows are variables (``label: level`` for
    categories); "(base)" marks variables that formed the segments.

    Parameters
    ----------
    profiles : DataFrame
        Output of :func:`toolkit.correlation.profile_segments`.
    ax : matplotlib Axes, optional
    variables : sequence of str, optional
        Show these variables (all their levels) instead of choosing.
    max_rows : int
        Rows shown at most (the strongest).
    findings_only : bool
        Keep rows that may be findings in some segment (:func:`toolkit.findings.finding_mask`);
        fall back to the strongest rows when there are none.
    annot : bool
        Write the index in each cell.
    cmap : str
        Diverging colormap.
    **kwargs
        Passed to :func:`seaborn.heatmap`.
    """
    import seaborn as sns

    ax = _ax(ax)
    prof = profiles.copy()
    prof["_row"] = np.where(
        prof["level"].astype(str) != "",
        prof["label"].astype(str) + ": " + prof["level"].astype(str),
        prof["label"].astype(str),
    )
    prof["_row"] = np.where(prof["is_base"], prof["_row"] + " (base)", prof["_row"])
    strength = np.abs(prof["std_diff"].to_numpy(dtype=float))
    prof["_strength"] = np.nan_to_num(strength)
    if variables is not None:
        prof = prof[prof["variable"].isin(list(variables))]
    elif findings_only:
        from toolkit.findings import finding_mask

        hit = finding_mask(profiles)
        rows_hit = set(prof.loc[hit, "_row"])
        if rows_hit:
            prof = prof[prof["_row"].isin(rows_hit)]
    best = prof.groupby("_row", sort=False)["_strength"].max()
    keep = list(best.sort_values(ascending=False, kind="mergesort").index[:max_rows])
    order = [r for r in dict.fromkeys(prof["_row"]) if r in keep]
    mat = prof.pivot_table(index="_row", columns="segment", values="index", aggfunc="first")
    mat = mat.reindex(order)
    if mat.empty:
        raise DataError("Nothing to draw: the profile table has no rows for these variables.")
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.clip(np.log2(mat.to_numpy(dtype=float) / 100), -2, 2)
    colour = pd.DataFrame(colour, index=mat.index, columns=mat.columns)
    labels = mat.map(lambda v: "" if not np.isfinite(v) else f"{v:.0f}") if annot else False
    opts = {
        "cmap": cmap,
        "center": 0,
        "vmin": -2,
        "vmax": 2,
        "annot": labels,
        "fmt": "",
        "linewidths": 0.5,
        "annot_kws": {"fontsize": 8},
        "cbar_kws": {"label": "Index (100 = average)", "ticks": [-2, -1, 0, 1, 2]},
    }
    opts.update(kwargs)
    sns.heatmap(colour, ax=ax, **opts)
    ax.grid(False)
    cbar = ax.collections[0].colorbar if ax.collections else None
    if cbar is not None and opts.get("cbar", True):
        cbar.set_ticklabels(["25", "50", "100", "200", "400"])
    ax.set_xticklabels([f"{int(c)}" for c in mat.columns], rotation=0)
    ax.set_xlabel("Segment")
    ax.set_ylabel("")
    ax.set_title("What distinguishes each segment (index, 100 = average)")
    return ax


# --------------------------------------------------------------------------------------------
def plot_outcomes(
    outcomes: pd.DataFrame,
    *,
    metric: str | None = None,
    ax=None,
    palette: Any = None,
    **kwargs: Any,
):
    """Outcome bars per segment with interval error bars.

    With ``metric`` the bars show that metric's value (the dashed line is the overall value);
    without it every metric is shown as an index (100 = overall), grouped by metric and
    coloured by segment, so metrics on different scales fit one chart. Metrics whose overall
    value is not positive (e.g. a negative NPS) cannot be indexed: draw them with ``metric=``.

    Parameters
    ----------
    outcomes : DataFrame
        Output of :func:`toolkit.outcomes.outcomes_by_segment`.
    metric : str, optional
    ax : matplotlib Axes, optional
    palette : palette name, list or mapping segment -> colour, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.
    """
    ax = _ax(ax)
    segs = sorted(int(s) for s in outcomes["segment"].unique())
    colours = _palette(segs, palette)
    if metric is not None:
        rows = outcomes[outcomes["metric"] == metric].sort_values("segment")
        if rows.empty:
            raise DataError(
                f"No metric {metric!r} in the outcomes table; it has "
                f"{', '.join(map(str, outcomes['metric'].unique()))}."
            )
        share = _is_share_metric(rows, metric)
        scale = 100.0 if share else 1.0
        x = np.arange(len(rows))
        val = rows["value"].to_numpy(dtype=float) * scale
        err = np.vstack(
            [
                val - rows["ci_low"].to_numpy(dtype=float) * scale,
                rows["ci_high"].to_numpy(dtype=float) * scale - val,
            ]
        )
        ax.bar(
            x,
            val,
            yerr=np.clip(np.nan_to_num(err), 0, None),
            color=[colours[int(s)] for s in rows["segment"]],
            capsize=3,
            **kwargs,
        )
        ax.axhline(float(rows["overall"].iloc[0]) * scale, color="0.3", ls="--", lw=1)
        ax.set_xticks(x, [str(int(s)) for s in rows["segment"]])
        ax.set_xlabel("Segment")
        ax.set_ylabel(_metric_label(metric) + (" (%)" if share else ""))
        ax.set_title(f"{_metric_label(metric)} by segment (dashed: overall)")
        return ax
    metrics = list(dict.fromkeys(outcomes["metric"]))
    overall = outcomes.groupby("metric", sort=False)["overall"].first()
    skipped = [m for m in metrics if not (np.isfinite(overall[m]) and overall[m] > 0)]
    if skipped:
        warnings.warn(
            f"Metric(s) {', '.join(skipped)} have an overall value <= 0 and cannot be shown as "
            "an index; draw them with plot_outcomes(outcomes, metric=...).",
            DataWarning,
            stacklevel=2,
        )
    metrics = [m for m in metrics if m not in skipped]
    width = 0.8 / max(len(segs), 1)
    for i, s in enumerate(segs):
        rows = outcomes[(outcomes["segment"] == s)].set_index("metric").reindex(metrics)
        base = overall.reindex(metrics).to_numpy(dtype=float)
        val = 100 * rows["value"].to_numpy(dtype=float) / base
        lo = 100 * rows["ci_low"].to_numpy(dtype=float) / base
        hi = 100 * rows["ci_high"].to_numpy(dtype=float) / base
        err = np.clip(np.nan_to_num(np.vstack([val - lo, hi - val])), 0, None)
        x = np.arange(len(metrics)) - 0.4 + width * (i + 0.5)
        ax.bar(x, val, width, yerr=err, color=colours[s], capsize=2, label=str(s), **kwargs)
    ax.axhline(100, color="0.3", ls="--", lw=1)
    ax.set_xticks(np.arange(len(metrics)), [_metric_label(m) for m in metrics])
    for t in ax.get_xticklabels():
        t.set_rotation(20)
        t.set_horizontalalignment("right")
    ax.set_ylabel("Index (100 = overall)")
    ax.set_title("Outcomes by segment (95% intervals)")
    ax.legend(title="Segment", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return ax


def plot_outcome_panels(
    outcomes: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    col_wrap: int = 3,
    height: float = 3.0,
    palette: Any = None,
    ax=None,
):
    """One panel per metric in its own units (figure-level: returns the Figure).

    Use it when metrics cannot share an index axis (e.g. an NPS below zero). Each panel is
    :func:`plot_outcomes` with ``metric=``.
    """
    import matplotlib.pyplot as plt

    if ax is not None:
        warnings.warn(
            "plot_outcome_panels is a figure-level function and does not accept the `ax` "
            "parameter. You may wish to try plot_outcomes(outcomes, metric=..., ax=ax).",
            UserWarning,
            stacklevel=2,
        )
    metrics = list(metrics or dict.fromkeys(outcomes["metric"]))
    ncol = max(1, min(col_wrap, len(metrics)))
    nrow = int(np.ceil(len(metrics) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(ncol * height * 1.3, nrow * height), squeeze=False
    )
    for a, metric in zip(axes.ravel(), metrics, strict=False):
        plot_outcomes(outcomes, metric=metric, ax=a, palette=palette)
        a.set_title(_metric_label(metric), fontsize="medium")
        rows = outcomes[outcomes["metric"] == metric]
        a.set_ylabel("%" if _is_share_metric(rows, metric) else "")
    for a in axes.ravel()[len(metrics) :]:
        a.set_visible(False)
    fig.suptitle("Outcomes by segment (95% intervals; dashed: overall)")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
def plot_funnel(
    funnel: pd.DataFrame,
    *,
    ax=None,
    segments: Sequence[int] | None = None,
    palette: Any = None,
    **kwargs: Any,
):
    """Share of each segment reaching each funnel step (lines with interval bands).

    The dashed line is the whole audience; a ringed marker shows each segment's drop-out step
    (where it loses the most users beyond what the audience loses).

    Parameters
    ----------
    funnel : DataFrame
        Output of :func:`toolkit.outcomes.funnel_by_segment`.
    ax : matplotlib Axes, optional
    segments : sequence of int, optional
        Segments drawn (default: all).
    palette : palette name, list or mapping segment -> colour, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.
    """
    ax = _ax(ax)
    segs = sorted(int(s) for s in funnel["segment"].unique())
    if segments is not None:
        segs = [s for s in segs if s in {int(x) for x in segments}]
    colours = _palette(segs, palette)
    steps = funnel.drop_duplicates("step_index").sort_values("step_index")
    x = steps["step_index"].to_numpy()
    ax.plot(x, 100 * steps["overall"].to_numpy(dtype=float), color="0.2", ls="--", lw=1.5,
            label="all users")  # fmt: skip
    for s in segs:
        rows = funnel[funnel["segment"] == s].sort_values("step_index")
        y = 100 * rows["share"].to_numpy(dtype=float)
        ax.plot(rows["step_index"], y, marker="o", color=colours[s], label=str(s), **kwargs)
        ax.fill_between(
            rows["step_index"],
            100 * rows["ci_low"].to_numpy(dtype=float),
            100 * rows["ci_high"].to_numpy(dtype=float),
            color=colours[s],
            alpha=0.15,
            lw=0,
        )
        drop = rows[rows["is_dropout_step"].astype(bool)]
        ax.scatter(drop["step_index"], 100 * drop["share"].to_numpy(dtype=float), s=160,
                   facecolors="none", edgecolors=[colours[s]], linewidths=2, zorder=3)  # fmt: skip
    ax.set_xticks(x, [str(s).replace("_", " ") for s in steps["step"]])
    ax.set_ylim(0, 105)
    ax.set_ylabel("Users reaching the step (%)")
    ax.set_xlabel("Funnel step")
    ax.set_title("Funnel by segment (ring: where the segment drops out)")
    ax.legend(title="Segment", fontsize="small")
    return ax


# --------------------------------------------------------------------------------------------
def plot_association_heatmap(
    matrix: pd.DataFrame,
    *,
    ax=None,
    annot: bool | None = None,
    cmap: str = "rocket_r",
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
):
    """Heatmap of Cramér's V between raw variables (lower triangle).

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`toolkit.correlation.association_matrix`.
    ax : matplotlib Axes, optional
    annot : bool, optional
        Write the values (default: when there are at most 20 variables).
    cmap : str
    labels : mapping, optional
        Display names by variable (e.g. the catalogue's labels).
    **kwargs
        Passed to :func:`seaborn.heatmap`.
    """
    import seaborn as sns

    ax = _ax(ax)
    if annot is None:
        annot = len(matrix) <= 20
    names = [(labels or {}).get(c, str(c)) for c in matrix.columns]
    data = pd.DataFrame(matrix.to_numpy(dtype=float), index=names, columns=names)
    data = data.iloc[1:, :-1]  # lower triangle without the diagonal
    mask = np.triu(np.ones(data.shape, dtype=bool), k=1)
    opts = {
        "mask": mask,
        "cmap": cmap,
        "vmin": 0,
        "vmax": 1,
        "square": True,
        "annot": annot,
        "fmt": ".2f",
        "annot_kws": {"fontsize": 7},
        "linewidths": 0.3,
        "cbar_kws": {"label": "Cramér's V"},
    }
    opts.update(kwargs)
    sns.heatmap(data, ax=ax, **opts)
    ax.grid(False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Associations between variables (Cramér's V)")
    return ax


# --------------------------------------------------------------------------------------------
def plot_map_by_outcome(
    map_df: pd.DataFrame,
    values: Any,
    *,
    ax=None,
    metric: str | None = None,
    cmap: str = "viridis",
    label: str | None = None,
    s: float | None = None,
    annotate: bool = True,
    **kwargs: Any,
):
    """The segment map (x, y) coloured by an outcome.

    Parameters
    ----------
    map_df : DataFrame
        ``x``, ``y`` and ``segment`` per point (``map.csv``).
    values : str, array-like, mapping, Series or DataFrame
        A column of ``map_df``; one value per point; a value per segment (mapping or Series
        indexed by segment); or the outcomes table together with ``metric``.
    ax : matplotlib Axes, optional
    metric : str, optional
        Metric of the outcomes table passed as ``values``.
    cmap : str
    label : str, optional
        Colour bar label.
    s : float, optional
        Marker size (default by number of points).
    annotate : bool
        Write each segment's number at its median position.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.
    """
    ax = _ax(ax)
    for col in ("x", "y"):
        if col not in map_df.columns:
            raise DataError(f"The map table needs columns x and y (has {list(map_df.columns)}).")
    seg = map_df["segment"].to_numpy() if "segment" in map_df.columns else None
    if isinstance(values, pd.DataFrame):
        if metric is None or "metric" not in values.columns:
            raise DataError("Pass metric=... with the outcomes table (e.g. metric='conversion').")
        rows = values[values["metric"] == metric]
        values = rows.set_index("segment")["value"]
        label = label or _metric_label(metric)
    if isinstance(values, str):
        label = label or values.replace("_", " ")
        colour = map_df[values].to_numpy(dtype=float)
    elif isinstance(values, Mapping) or (
        isinstance(values, pd.Series) and len(values) != len(map_df)
    ):
        if seg is None:
            raise DataError("Values per segment need a 'segment' column in the map table.")
        mapping = {int(k): float(v) for k, v in dict(values).items()}
        colour = np.array([mapping.get(int(g), np.nan) for g in seg], dtype=float)
    else:
        colour = np.asarray(values, dtype=float)
        if colour.shape[0] != len(map_df):
            raise DataError(
                f"Got {colour.shape[0]} values for {len(map_df)} map points: pass one value per "
                "point, a value per segment, or the outcomes table with metric=."
            )
    size = s if s is not None else float(np.clip(20000 / max(len(map_df), 1), 1, 20))
    opts = {"s": size, "cmap": cmap, "linewidths": 0, "alpha": 0.8, "rasterized": True}
    opts.update(kwargs)
    order = np.argsort(np.nan_to_num(colour, nan=-np.inf), kind="mergesort")
    sc = ax.scatter(
        map_df["x"].to_numpy()[order], map_df["y"].to_numpy()[order], c=colour[order], **opts
    )
    ax.figure.colorbar(sc, ax=ax, label=label or "outcome")
    if annotate and seg is not None:
        for g in sorted(set(int(v) for v in seg if int(v) >= 0)):
            pts = map_df[seg == g]
            ax.annotate(
                str(g),
                (float(pts["x"].median()), float(pts["y"].median())),
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
                bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "alpha": 0.8},
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(f"Segment map coloured by {label or 'outcome'}")
    return ax
