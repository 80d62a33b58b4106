"""Charts of the ``01-explore`` template: missing values, distributions, raw associations.

:func:`plot_missingness` and :func:`plot_associations` are axes-level (they draw on ``ax`` and
return it); :func:`plot_distributions` is figure-level (small multiples) and returns a
:class:`DistributionGrid`, like seaborn's figure-level functions.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> ax = plot_missingness(pd.DataFrame({"a": [1, None], "b": [1, 2]}))
>>> [t.get_text() for t in ax.get_yticklabels()]
['a', 'b']
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_missingness", "plot_distributions", "plot_associations", "DistributionGrid"]

_ROLE_ORDER = ("demographic", "behaviour", "opinion", "text", "outcome")


def _split(data: Any, columns: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Accept an Audience or a table (+ optional catalogue)."""
    if hasattr(data, "table") and hasattr(data, "columns") and columns is None:
        return data.table, data.columns
    if hasattr(data, "table"):
        return data.table, columns
    return data, columns


def plot_missingness(
    data: Any,
    *,
    columns: pd.DataFrame | None = None,
    only_missing: bool = False,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Horizontal bars of the share of missing values per column, coloured by role.

    Parameters
    ----------
    data : DataFrame or Audience
        The user table (the id column, the first, is skipped when a catalogue is given).
    columns : DataFrame, optional
        Column catalogue (``Audience.columns``); gives the roles and the column order.
    only_missing : bool
        Show only columns with missing values.
    ax : matplotlib Axes, optional
        Axes to draw on (default: the current axes).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    table, cat = _split(data, columns)
    names = [c for c in (cat.index if cat is not None else table.columns) if c in table]
    share = table[names].isna().mean()
    if only_missing:
        share = share[share > 0]
    if ax is None:
        ax = plt.gca()
    roles = cat["role"].reindex(share.index).fillna("other") if cat is not None else None
    if roles is not None and "color" not in kwargs:
        present = [r for r in _ROLE_ORDER if r in set(roles)] + sorted(
            set(roles) - set(_ROLE_ORDER)
        )
        palette = dict(zip(present, sns.color_palette("colorblind", len(present)), strict=True))
        kwargs["color"] = [palette[r] for r in roles]
        handles = [plt.Rectangle((0, 0), 1, 1, color=palette[r]) for r in present]
        ax.legend(handles, present, title="role", loc="lower right", frameon=False)
    y = np.arange(len(share))
    ax.barh(y, share.to_numpy(), **kwargs)
    ax.set_yticks(y, [str(c) for c in share.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel("share of users with a missing value")
    ax.set_title("Missing values per column")
    return ax


@dataclass
class DistributionGrid:
    """Small multiples returned by :func:`plot_distributions`.

    Attributes
    ----------
    figure : matplotlib Figure
    axes : ndarray of Axes
        Flat array, one per drawn column (unused panels are removed).
    axes_dict : dict
        ``{column: ax}``.
    """

    figure: Any
    axes: np.ndarray
    axes_dict: dict[str, Any]

    def savefig(self, *args: Any, **kwargs: Any) -> None:
        """Save the figure (:meth:`matplotlib.figure.Figure.savefig`)."""
        self.figure.savefig(*args, **kwargs)


def plot_distributions(
    data: Any,
    *,
    columns: Any = None,
    catalogue: pd.DataFrame | None = None,
    sample: int | None = 5000,
    random_state: int | None = 0,
    col_wrap: int = 4,
    height: float = 2.2,
    aspect: float = 1.4,
    max_levels: int = 10,
    ax: Any = None,
) -> DistributionGrid:
    """Figure-level small multiples: a histogram per numeric column, level shares per category.

    Parameters
    ----------
    data : Audience or DataFrame
        An audience (its catalogue gives kinds and labels) or a table (kinds inferred).
    columns : list of str, optional
        Columns to draw (default: every usable non-text column).
    catalogue : DataFrame, optional
        Column catalogue when ``data`` is a table.
    sample : int or None
        Users drawn (seeded) before plotting; None = all.
    random_state : int, optional
        Seed of the sample.
    col_wrap, height, aspect : layout of the grid (panels per row, inches).
    max_levels : int
        Most frequent levels shown per categorical column.
    ax : ignored
        Figure-level function: passing ``ax`` warns.

    Returns
    -------
    DistributionGrid
    """
    import matplotlib.pyplot as plt

    if ax is not None:
        warnings.warn(
            "plot_distributions is a figure-level function and does not accept the `ax` "
            "parameter. You may wish to plot one column with seaborn.histplot instead.",
            UserWarning,
            stacklevel=2,
        )
    table, cat = _split(data, catalogue)
    if cat is None:
        from toolkit.readers import column_kind

        cat = pd.DataFrame(
            {
                "kind": [column_kind(table[c]) for c in table.columns[1:]],
                "usable": True,
                "label": list(table.columns[1:]),
                "order": None,
            },
            index=table.columns[1:],
        )
    if columns is None:
        usable = cat["usable"].astype(bool) if "usable" in cat else True
        columns = [
            c
            for c in cat.index[usable & ~cat["kind"].isin(["text"])]
            if c in table and table[c].notna().any()
        ]
    columns = list(columns)
    if sample is not None and len(table) > sample:
        rng = np.random.default_rng(random_state)
        table = table.iloc[np.sort(rng.choice(len(table), size=sample, replace=False))]
    n = max(len(columns), 1)
    ncol = min(col_wrap, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(ncol * height * aspect, nrow * height), squeeze=False
    )
    flat = axes.ravel()
    axes_dict: dict[str, Any] = {}
    for ax_i, name in zip(flat, columns, strict=False):
        _draw_one(ax_i, table[name], cat.loc[name], max_levels)
        label = cat.loc[name].get("label") if "label" in cat else None
        ax_i.set_title(str(label or name), fontsize="small")
        axes_dict[name] = ax_i
    for extra in flat[len(columns) :]:
        extra.remove()
    fig.tight_layout()
    return DistributionGrid(figure=fig, axes=flat[: len(columns)], axes_dict=axes_dict)


def _histogram(ax: Any, values: np.ndarray, discrete: bool, max_bins: int = 50) -> None:
    """Histogram as one filled step patch, or one bar per value when ``discrete``.

    seaborn's ``histplot`` draws a patch per bin; with forty panels that makes the grid several
    times slower to draw, for the same picture. Bins follow numpy's ``"auto"`` rule (as
    seaborn's do), at most ``max_bins``.
    """
    if discrete:
        levels, counts = np.unique(values, return_counts=True)
        step = float(np.min(np.diff(levels))) if len(levels) > 1 else 1.0
        ax.bar(levels, counts, width=0.8 * step, color="C0")
        return
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(values, bins=max_bins)
    counts, edges = np.histogram(values, bins=edges)
    ax.stairs(counts, edges, fill=True, color="C0", alpha=0.8)
    ax.set_ylim(0, max(counts.max(), 1) * 1.05)


def _draw_one(ax: Any, s: pd.Series, info: pd.Series, max_levels: int) -> None:
    import seaborn as sns

    kind = str(info.get("kind"))
    present = s.dropna()
    if kind in ("numeric",) or (kind == "ordinal" and pd.api.types.is_numeric_dtype(s.dtype)):
        discrete = kind == "ordinal" or present.nunique() <= 12
        _histogram(ax, present.to_numpy(dtype="float64"), discrete)
        ax.set_xlabel("")
        ax.set_ylabel("users")
    elif kind == "datetime":
        sns.histplot(x=present, ax=ax, color="C0")
        ax.set_xlabel("")
        ax.set_ylabel("users")
        ax.tick_params(axis="x", labelrotation=30)
    else:
        counts = present.astype(str).value_counts(normalize=True)
        order = info.get("order")
        if order is not None and np.ndim(order) > 0:
            counts = counts.reindex([str(o) for o in order]).fillna(0)
        else:
            counts = counts.head(max_levels)
        ax.barh(np.arange(len(counts)), counts.to_numpy(), color="C0")
        ax.set_yticks(np.arange(len(counts)), [str(i) for i in counts.index], fontsize="x-small")
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ax.set_xlabel("share of users")


def plot_associations(
    associations: pd.DataFrame,
    *,
    ax: Any = None,
    annot: bool | None = None,
    cmap: str = "vlag",
    **kwargs: Any,
) -> Any:
    """Heatmap of :func:`toolkit.quality.raw_associations` (lower triangle).

    Parameters
    ----------
    associations : DataFrame
        Square matrix of associations (-1..1).
    ax : matplotlib Axes, optional
    annot : bool, optional
        Print the values (default: when there are at most 15 variables).
    cmap : str
        Diverging colour map centred on 0.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        ax = plt.gca()
    n = len(associations)
    if annot is None:
        annot = n <= 15
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    sns.heatmap(
        associations.astype("float64"),
        mask=mask,
        vmin=-1,
        vmax=1,
        center=0,
        cmap=cmap,
        annot=annot,
        fmt=".2f",
        square=n <= 30,
        cbar_kws={"label": "association (Spearman, Cramér's V, eta)", "shrink": 0.6},
        ax=ax,
        **kwargs,
    )
    ax.set_title("Raw associations between variables")
    ax.tick_params(axis="both", labelsize="x-small" if n > 20 else "small")
    return ax
