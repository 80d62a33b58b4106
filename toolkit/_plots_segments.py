"""Charts of the segmentation: the k sweep, the map, segment sizes and stability.

Axes-level functions in seaborn's style (data first, keyword-only options, ``ax=None`` means
``plt.gca()``, return the ``Axes``); re-exported by :mod:`toolkit.plots`. Segment colours come
from :func:`toolkit.plots.segment_palette`, so segment 1 has the same colour in every chart;
unsegmented users (-1) are grey.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> ax = plot_segment_sizes(pd.DataFrame({"segment": [1, 1, 2, 3, -1]}))
>>> [t.get_text() for t in ax.get_yticklabels()]
['Segment 1', 'Segment 2', 'Segment 3', 'Unsegmented']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_k_sweep", "plot_segment_map", "plot_segment_sizes", "plot_stability"]

_INDEX_LABELS = {
    "silhouette": "Silhouette (higher = better separated)",
    "stability": "Stability, ARI on half-samples (higher = reproducible)",
    "calinski_harabasz": "Calinski-Harabasz (higher = better)",
    "davies_bouldin": "Davies-Bouldin (lower = better)",
    "bic": "BIC (lower = better)",
    "inertia": "Within-segment sum of squares",
}
_GREY = (0.6, 0.6, 0.6)


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _colours(segments: Any) -> dict[int, tuple[float, float, float]]:
    from toolkit.plots import segment_palette

    segs = sorted({int(s) for s in segments if int(s) > 0})
    pal = segment_palette(max(segs, default=1))
    out = {s: pal[s - 1] for s in segs}
    out[-1] = _GREY
    return out


def _name(segment: int) -> str:
    return "Unsegmented" if segment < 0 else f"Segment {segment}"


def plot_k_sweep(
    sweep: pd.DataFrame,
    *,
    indices: tuple[str, ...] = ("silhouette", "stability"),
    ax=None,
    **kwargs: Any,
):
    """Sweep indices against the number of segments, the recommended k marked.

    The first index is drawn on ``ax`` (left scale), the second on a twin axis (right scale);
    further indices share the left scale.

    Parameters
    ----------
    sweep : DataFrame
        ``Segmenter.k_sweep_`` (long: ``k, index, value, recommended``) or a wide sweep.
    indices : tuple of str, default=("silhouette", "stability")
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.plot`` (e.g. ``marker``, ``linewidth``).

    Returns
    -------
    matplotlib Axes
    """
    from toolkit.selection import sweep_wide

    ax = _ax(ax)
    if sweep is None or len(sweep) == 0:
        ax.text(0.5, 0.5, "No k sweep (the method chooses its own number)", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return ax
    recommended = None
    if "recommended" in sweep.columns and sweep["recommended"].astype(bool).any():
        recommended = int(sweep.loc[sweep["recommended"].astype(bool), "k"].iloc[0])
    wide = sweep_wide(sweep)
    present = [i for i in indices if i in wide.columns and wide[i].notna().any()]
    kwargs.setdefault("marker", "o")
    import seaborn as sns

    colours = sns.color_palette("colorblind", max(len(present), 1))
    handles = []
    for j, name in enumerate(present):
        target = ax.twinx() if j == 1 else ax
        (line,) = target.plot(
            wide["k"], wide[name], color=colours[j], label=_INDEX_LABELS.get(name, name), **kwargs
        )
        handles.append(line)
        if j <= 1:
            target.set_ylabel(_INDEX_LABELS.get(name, name).split(" (")[0], color=colours[j])
        if j == 1:
            target.grid(False)
    if recommended is not None:
        ax.axvline(recommended, color="0.3", linestyle="--", linewidth=1)
        ax.annotate(f"recommended k = {recommended}", xy=(recommended, 1), xycoords=("data",
                    "axes fraction"), xytext=(4, -12), textcoords="offset points",
                    fontsize="small", color="0.3")  # fmt: skip
    ax.set_xlabel("Number of segments (k)")
    ax.set_xticks(wide["k"].astype(int).tolist())
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize="small", frameon=False)
    return ax


def plot_segment_map(
    data: pd.DataFrame,
    *,
    segment: str = "segment",
    ax=None,
    s: float = 3,
    alpha: float = 0.5,
    legend: bool = True,
    **kwargs: Any,
):
    """Scatter of the 2-D map (``embed_map`` output) coloured by segment.

    Parameters
    ----------
    data : DataFrame
        ``x``, ``y`` and the ``segment`` column.
    segment : str, default="segment"
    ax : matplotlib Axes, optional
    s, alpha : marker size and opacity.
    legend : bool, default=True
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    segs = data[segment].astype(int).to_numpy()
    colours = _colours(segs)
    order = sorted(set(segs.tolist()), key=lambda v: (v < 0, v))
    for seg in order:
        part = data[segs == seg]
        ax.scatter(part["x"], part["y"], s=s, alpha=alpha, color=colours[seg], label=_name(seg),
                   linewidths=0, rasterized=len(data) > 5000, **kwargs)  # fmt: skip
    method = str(data.attrs.get("method", "map")).upper() if hasattr(data, "attrs") else "MAP"
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    ax.set_xticks([])
    ax.set_yticks([])
    if legend and order:
        ax.legend(markerscale=max(1.0, 12 / max(s, 1)), fontsize="small", frameon=False,
                  loc="center left", bbox_to_anchor=(1.0, 0.5))  # fmt: skip
    return ax


def plot_segment_sizes(data: pd.DataFrame | pd.Series, *, segment: str = "segment", ax=None,
                       **kwargs: Any):  # fmt: skip
    """Horizontal bars: users per segment, labelled with count and share.

    Parameters
    ----------
    data : DataFrame or Series
        The segments table (one row per user, a ``segment`` column) or sizes indexed by
        segment (``Segmenter.sizes_``).
    segment : str, default="segment"
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.barh``.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    if isinstance(data, pd.Series):
        sizes = data.astype(int)
        sizes.index = sizes.index.astype(int)
    else:
        sizes = data[segment].astype(int).value_counts()
    order = sorted(sizes.index.tolist(), key=lambda v: (v < 0, v))
    sizes = sizes.reindex(order)
    colours = _colours(order)
    total = max(int(sizes.sum()), 1)
    y = np.arange(len(order))
    ax.barh(y, sizes.to_numpy(), color=[colours[s] for s in order], **kwargs)
    for yi, n in zip(y, sizes.to_numpy(), strict=True):
        ax.annotate(f" {n:,} ({n / total:.0%})", xy=(n, yi), va="center", fontsize="small")
    ax.set_yticks(y)
    ax.set_yticklabels([_name(s) for s in order])
    ax.invert_yaxis()
    ax.set_xlabel("Users")
    ax.set_xlim(0, sizes.max() * 1.25 if len(sizes) else 1)
    return ax


def plot_stability(data: pd.DataFrame, *, threshold: float | None = None, ax=None,
                   **kwargs: Any):  # fmt: skip
    """Bars of each segment's bootstrap stability (mean Jaccard), the threshold marked.

    Unreliable segments (under the threshold) are drawn hatched.

    Parameters
    ----------
    data : DataFrame
        :func:`toolkit.stability.segment_stability` output.
    threshold : float, optional
        Default: the table's ``attrs["threshold"]`` or 0.6.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.bar``.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    if threshold is None:
        threshold = float(getattr(data, "attrs", {}).get("threshold", 0.6))
    segs = data["segment"].astype(int).tolist()
    colours = _colours(segs)
    x = np.arange(len(segs))
    yerr = data["jaccard_sd"].to_numpy() if "jaccard_sd" in data else None
    bars = ax.bar(x, data["jaccard"].to_numpy(), color=[colours[s] for s in segs], yerr=yerr,
                  capsize=3, **kwargs)  # fmt: skip
    for bar, value in zip(bars, data["jaccard"].to_numpy(), strict=True):
        if not value >= threshold:
            bar.set_hatch("//")
            bar.set_alpha(0.6)
    ax.axhline(threshold, color="0.3", linestyle="--", linewidth=1)
    ax.annotate(f"unreliable below {threshold:.1f}", xy=(1, threshold), xycoords=("axes fraction",
                "data"), xytext=(-4, 3), textcoords="offset points", ha="right",
                fontsize="small", color="0.3")  # fmt: skip
    ax.set_xticks(x)
    ax.set_xticklabels([str(s) for s in segs])
    ax.set_xlabel("Segment")
    ax.set_ylabel("Stability (mean bootstrap Jaccard)")
    ax.set_ylim(0, 1.05)
    return ax
