"""Views of :mod:`toolkit.widgets`: the explorer's charts as PNG and its drill-down as HTML.

Charts are drawn on :class:`matplotlib.figure.Figure` objects (never through pyplot), so they
neither show up by themselves in a notebook nor leak figures. Every piece of text that comes
from the data is escaped; comments are scrubbed of personal data first.
"""

from __future__ import annotations

import html
import io
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = [
    "figure",
    "to_png",
    "draw",
    "overview_figure",
    "sample_comments",
    "drilldown_html",
]

#: Profile rows and comments the drill-down shows at most.
MAX_PROFILE_ROWS = 12
MAX_COMMENTS = 5
MAX_COMMENT_CHARS = 280
_ERRORS = (ToolkitError, ValueError, KeyError, IndexError, TypeError)


# --------------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------------
def figure(width: float, height: float, *, constrained: bool = False):
    """A matplotlib Figure outside pyplot (nothing is displayed or kept by pyplot)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained" if constrained else None)


def to_png(fig, dpi: int = 90) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def draw(ax, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Draw ``func(*args, ax=ax, **kwargs)``; on a data problem write its message instead."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if args and args[0] is None:
                raise ValueError("nothing to show")
            func(*args, ax=ax, **kwargs)
    except _ERRORS as exc:
        ax.clear()
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            _wrap(str(exc)),
            ha="center",
            va="center",
            fontsize=9,
            wrap=True,
            transform=ax.transAxes,
        )


def _wrap(text: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:6])


def heatmap_height(profiles: pd.DataFrame | None, max_rows: int) -> float:
    """Figure height (inches) for a profile heatmap of up to ``max_rows`` rows."""
    if profiles is None or profiles.empty:
        return 3.0
    rows = profiles[["variable", "level"]].drop_duplicates().shape[0]
    return 1.6 + 0.26 * min(rows, max_rows)


def overview_figure(
    map_df: pd.DataFrame | None,
    segments: pd.DataFrame,
    profiles: pd.DataFrame | None,
    outcomes: pd.DataFrame | None,
    *,
    max_rows: int = 20,
):
    """The four explorer charts in one figure: map, sizes, profile heatmap, outcomes."""
    from toolkit import plots

    height = max(8.0, 4.0 + heatmap_height(profiles, max_rows))
    fig = figure(14, height, constrained=True)
    grid = fig.add_gridspec(2, 2, height_ratios=[1, max(1.0, height / 4 - 1)])
    draw(fig.add_subplot(grid[0, 0]), plots.plot_segment_map, map_df, s=4)
    draw(fig.add_subplot(grid[0, 1]), plots.plot_segment_sizes, segments)
    draw(fig.add_subplot(grid[1, 0]), plots.plot_profile_heatmap, profiles, max_rows=max_rows)
    draw(fig.add_subplot(grid[1, 1]), plots.plot_outcomes, outcomes)
    return fig


# --------------------------------------------------------------------------------------------
# drill-down
# --------------------------------------------------------------------------------------------
def sample_comments(
    texts: pd.Series | None,
    in_segment: np.ndarray,
    *,
    n: int = MAX_COMMENTS,
    random_state: int = 0,
    names: Sequence[str] = (),
) -> list[str]:
    """Up to ``n`` comments of the segment's users, drawn with the seed, scrubbed of personal
    data (:func:`toolkit.privacy.scrub_text`) and shortened; plain text (not yet escaped)."""
    from toolkit.privacy import scrub_text

    if texts is None:
        return []
    values = texts[np.asarray(in_segment, dtype=bool)]
    values = values[values.notna()].astype(str).str.strip()
    values = values[values.str.len() > 0]
    if values.empty:
        return []
    rng = np.random.RandomState(random_state)
    pick = np.sort(rng.choice(len(values), size=min(n, len(values)), replace=False))
    out = []
    for text in values.iloc[pick]:
        clean = " ".join(scrub_text(text, names=names).split())
        if len(clean) > MAX_COMMENT_CHARS:
            clean = clean[: MAX_COMMENT_CHARS - 1].rsplit(" ", 1)[0] + "…"
        out.append(clean)
    return out


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="tk-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def profile_rows(
    profiles: pd.DataFrame | None, segment: int, scales: Mapping[str, tuple[float, float]]
) -> list[tuple[str, str, str, str]]:
    """The segment's strongest profile rows: (variable, segment value, overall, index)."""
    from toolkit.findings import format_pair

    if profiles is None or profiles.empty:
        return []
    rows = profiles[profiles["segment"] == segment].copy()
    rows["_s"] = np.abs(rows["std_diff"].to_numpy(dtype=float))
    rows = rows.sort_values("_s", ascending=False, kind="mergesort").head(MAX_PROFILE_ROWS)
    out = []
    for _, r in rows.iterrows():
        name = str(r["label"]) + (f": {r['level']}" if str(r["level"]) not in ("", "nan") else "")
        if bool(r.get("is_base", False)):
            name += " (base)"
        try:
            pair = format_pair(r.to_dict(), scale=scales.get(str(r["variable"])))
        except _ERRORS:
            pair = {"value": f"{r['value']:.3g}", "overall": f"{r['overall']:.3g}"}
        index = float(r["index"])
        out.append(
            (name, pair["value"], pair["overall"], f"{index:.0f}" if np.isfinite(index) else "")
        )
    return out


def outcome_rows(outcomes: pd.DataFrame | None, segment: int) -> list[tuple[str, str, str, str]]:
    """The segment's outcomes: (metric, value, 95% interval, overall)."""
    from toolkit._plots_correlation import _is_share_metric, _metric_label

    if outcomes is None or outcomes.empty:
        return []
    out = []
    for metric, rows in outcomes.groupby("metric", sort=False):
        mine = rows[rows["segment"] == segment]
        if mine.empty:
            continue
        r = mine.iloc[0]
        share = _is_share_metric(rows, str(metric))

        def fmt(x: float, share: bool = share) -> str:
            if not np.isfinite(x):
                return ""
            return f"{100 * x:.1f}%" if share else f"{x:,.2f}"

        ci = f"{fmt(float(r['ci_low']))} – {fmt(float(r['ci_high']))}"
        out.append(
            (_metric_label(str(metric)), fmt(float(r["value"])), ci, fmt(float(r["overall"])))
        )
    return out


_STYLE = """<style>
.tk-drill{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4}
.tk-drill h3{margin:.2em 0 .4em;font-size:16px}.tk-drill h4{margin:.9em 0 .3em;font-size:14px}
.tk-table{border-collapse:collapse}.tk-table th,.tk-table td{padding:2px 8px;text-align:left;
border-bottom:1px solid #ddd}.tk-table td+td{text-align:right}
.tk-drill blockquote{margin:.3em 0;padding:.2em .8em;border-left:3px solid #bbb;color:#333}
.tk-note{color:#666}
</style>"""


def drilldown_html(
    segment: int,
    *,
    size: int,
    total: int,
    profile: Sequence[Sequence[str]],
    outcomes: Sequence[Sequence[str]],
    sentences: Sequence[str],
    comments: Sequence[str],
    persona_html: str | None,
    persona_note: str = "",
) -> str:
    """The drill-down of one segment as an HTML fragment (all data text escaped)."""
    share = size / total if total else float("nan")
    parts = [_STYLE, '<div class="tk-drill">']
    parts.append(f"<h3>Segment {int(segment)} · {size:,} users ({share:.0%})</h3>")
    parts.append("<h4>Profile against the whole audience</h4>")
    if profile:
        parts.append(_table(["Variable", f"Segment {int(segment)}", "Overall", "Index"], profile))
    else:
        parts.append('<p class="tk-note">No profile.</p>')
    parts.append("<h4>Outcomes</h4>")
    if outcomes:
        parts.append(
            _table(["Metric", f"Segment {int(segment)}", "95% interval", "Overall"], outcomes)
        )
    else:
        parts.append('<p class="tk-note">No outcome columns in this audience.</p>')
    parts.append("<h4>What distinguishes it</h4>")
    if sentences:
        parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in sentences) + "</ul>")
    else:
        parts.append('<p class="tk-note">No finding passes the significance and effect rules.</p>')
    parts.append("<h4>What they say (sample comments, personal data removed)</h4>")
    if comments:
        parts.append("".join(f"<blockquote>{_e(c)}</blockquote>" for c in comments))
    else:
        parts.append('<p class="tk-note">No comments from this segment.</p>')
    parts.append("<h4>Persona preview</h4>")
    if persona_html:
        parts.append(persona_html)
    else:
        parts.append(f'<p class="tk-note">{_e(persona_note or "No persona.")}</p>')
    parts.append("</div>")
    return "\n".join(parts)
