"""How segments relate to outcomes: conversion, revenue, opinions, the funnel and its drop-outs.

* :func:`outcomes_by_segment` - conversion, revenue per user, average order value,
  satisfaction, trust and NPS per segment with intervals (Wilson for shares, bootstrap for
  means and ratios), beside the overall value.
* :func:`funnel_by_segment` - per segment and funnel step the share of users reaching it, the
  share lost after it, and the step where the segment drops out more than the audience does.
* :func:`engaged_not_converting` - segments that visit and reach checkout well above average
  while converting below average.
* :func:`opinion_distribution` - the distribution of each opinion's answers per segment.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.outcomes import outcomes_by_segment
>>> t = pd.DataFrame({"purchased": [1, 0, 1, 1, 0, 0] * 50,
...                   "revenue": [50.0, 0, 20, 80, 0, 0] * 50, "orders": [1, 0, 1, 2, 0, 0] * 50})
>>> out = outcomes_by_segment(t, [1, 1, 1, 2, 2, 2] * 50, n_boot=100)
>>> out.loc[out["metric"] == "conversion", "value"].round(3).tolist()
[0.667, 0.333]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit.correlation import (
    _bootstrap_ratio,
    _float_array,
    _order,
    _text_codes,
    align_segments,
    binary_values,
    cohens_h,
    column_catalogue,
    wilson_interval,
)
from toolkit.errors import DataError, DataWarning

__all__ = [
    "OUTCOME_COLUMNS",
    "STANDARD_METRICS",
    "outcomes_by_segment",
    "funnel_by_segment",
    "has_funnel",
    "engaged_not_converting",
    "opinion_distribution",
]

#: Columns of the outcomes table, in order.
OUTCOME_COLUMNS = ["segment", "metric", "value", "ci_low", "ci_high", "overall", "n"]
#: Metrics computed from the standard columns of the user table, when present.
STANDARD_METRICS = (
    "conversion",
    "revenue_per_user",
    "avg_order_value",
    "satisfaction",
    "trust",
    "nps",
)


def _groups(table: pd.DataFrame, segments: Any) -> tuple[np.ndarray, np.ndarray, int]:
    labels = align_segments(table, segments)
    seg_ids = np.unique(labels[labels >= 0])
    if seg_ids.size == 0:
        raise DataError(
            "No user has a segment label (all are missing or -1). Check that the segments table "
            "matches the user table's ids."
        )
    group = np.full(labels.size, seg_ids.size, dtype=np.int64)
    group[labels >= 0] = np.searchsorted(seg_ids, labels[labels >= 0])
    return seg_ids, group, seg_ids.size


def _is_nps(name: str, row: pd.Series) -> bool:
    label = str(row.get("label", "")).lower()
    named = name.lower() == "nps" or "net promoter" in label or re.search(r"\bnps\b", label)
    return bool(named) and row.get("scale_min") == 0 and row.get("scale_max") == 10


def _metric_specs(
    table: pd.DataFrame, cat: pd.DataFrame, metrics: Sequence[str] | None
) -> list[tuple[str, str, Any]]:
    """(metric name, how, data) for each metric: how is "share", "ratio"."""
    specs: list[tuple[str, str, Any]] = []
    has = set(table.columns)
    revenue = _float_array(table["revenue"]) if "revenue" in has else None  # NaN = no orders
    orders = _float_array(table["orders"]) if "orders" in has else None

    def standard(name: str) -> tuple[str, str, Any] | None:
        if name == "conversion" and "purchased" in has:
            return (name, "share", binary_values(table["purchased"])[0])
        if name == "revenue_per_user" and revenue is not None:
            r = np.nan_to_num(revenue, nan=0.0)
            return (name, "ratio", (r, np.ones_like(r)))
        if name == "avg_order_value" and revenue is not None and orders is not None:
            o = np.nan_to_num(orders, nan=0.0)
            r = np.where(o > 0, np.nan_to_num(revenue, nan=0.0), 0.0)
            return (name, "ratio", (r, o))
        if name == "avg_order_value" and "avg_order_value" in has:
            x = _float_array(table["avg_order_value"])
            return (name, "ratio", (np.nan_to_num(x), (~np.isnan(x)).astype(float)))
        return None

    def column(name: str) -> tuple[str, str, Any] | None:
        if name not in cat.index:
            return None
        row = cat.loc[name]
        if row["kind"] == "binary":
            return (name, "share", binary_values(table[name], _order(row["order"]))[0])
        if row["kind"] in ("numeric", "ordinal"):
            x = _float_array(table[name])
            if _is_nps(name, row):
                score = np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))
                return ("nps", "ratio", (np.where(np.isnan(x), 0.0, score), (~np.isnan(x)) * 1.0))
            return (name, "ratio", (np.nan_to_num(x), (~np.isnan(x)).astype(float)))
        return None

    if metrics is not None:
        for m in metrics:
            spec = standard(m) or column(m)
            if spec is None and m == "nps" and "nps" in cat.index:
                spec = column("nps")
            if spec is None:
                raise DataError(
                    f"Metric {m!r} cannot be computed: it is neither one of "
                    f"{', '.join(STANDARD_METRICS)} (with its source columns present) nor a "
                    "binary or numeric column of the table."
                )
            specs.append(spec)
        return specs
    for m in ("conversion", "revenue_per_user", "avg_order_value"):
        spec = standard(m)
        if spec is not None:
            specs.append(spec)
    if not specs:  # no shop columns: every binary or numeric outcome
        for name in cat.index[cat["role"] == "outcome"]:
            spec = column(name)
            if spec is not None:
                specs.append(spec)
    for name in cat.index[cat["role"] == "opinion"]:
        spec = column(name)
        if spec is not None:
            specs.append(spec)
    return specs


def outcomes_by_segment(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    metrics: Sequence[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Outcome metrics per segment with intervals, beside the overall value.

    Parameters
    ----------
    table : DataFrame
        One row per user.
    segments : DataFrame, Series or array-like
        Segment labels (see :func:`toolkit.correlation.align_segments`).
    columns : DataFrame, list of str or None
        The column catalogue (roles, kinds, opinion scales).
    metrics : sequence of str, optional
        Metrics to compute. Default: ``conversion`` (share with ``purchased``),
        ``revenue_per_user`` (revenue, 0 without orders), ``avg_order_value`` (revenue / orders
        over buyers) when those columns exist - otherwise every binary or numeric outcome
        column - plus the mean of every opinion, NPS as promoters (9-10) minus detractors (0-6)
        in points (-100..100). Column names are accepted too.
    n_boot : int
        Bootstrap resamples for means and ratios (Wilson intervals for shares).
    ci : float
        Confidence level.
    random_state : int, Generator or None
        Seed of the bootstrap.

    Returns
    -------
    DataFrame
        segment, metric, value, ci_low, ci_high, overall, n (users with a value; buyers for
        the average order value).

    Examples
    --------
    >>> t = pd.DataFrame({"nps": [10, 9, 3, 8] * 50})
    >>> cols = pd.DataFrame({"role": ["opinion"], "kind": ["numeric"], "scale_min": [0],
    ...                      "scale_max": [10]}, index=pd.Index(["nps"], name="column"))
    >>> outcomes_by_segment(t, [1, 2] * 100, cols, n_boot=50)["value"].tolist()
    [0.0, 50.0]
    """
    cat = column_catalogue(table, columns)
    seg_ids, group, k = _groups(table, segments)
    specs = _metric_specs(table, cat, metrics)
    if not specs:
        raise DataError(
            "No outcome to summarise: the table has none of purchased, revenue, orders and no "
            "column with role outcome or opinion. Pass metrics=[...] with column names."
        )
    frames = []
    ratio_specs = [s for s in specs if s[1] == "ratio"]
    if ratio_specs:
        num = np.column_stack([s[2][0] for s in ratio_specs])
        den = np.column_stack([s[2][1] for s in ratio_specs])
        sn = np.zeros((k + 1, num.shape[1]))
        sd = np.zeros_like(sn)
        cnt = np.zeros_like(sn)
        np.add.at(sn, group, num)
        np.add.at(sd, group, den)
        np.add.at(cnt, group, (den > 0).astype(float))
        low, high = _bootstrap_ratio(
            num, den, group, k, n_boot=n_boot, level=ci, random_state=random_state
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            value = sn[:k] / sd[:k]
            overall = sn.sum(0) / sd.sum(0)
        for j, (name, _, _) in enumerate(ratio_specs):
            frames.append(
                pd.DataFrame(
                    {
                        "segment": seg_ids,
                        "metric": name,
                        "value": value[:, j],
                        "ci_low": low[:, j],
                        "ci_high": high[:, j],
                        "overall": overall[j],
                        "n": cnt[:k, j],
                    }
                )
            )
    for name, how, x in specs:
        if how != "share":
            continue
        ok = ~np.isnan(x)
        n = np.bincount(group[ok], minlength=k + 1).astype(float)
        hits = np.bincount(group[ok], weights=x[ok], minlength=k + 1)
        low, high = wilson_interval(hits[:k], n[:k], level=ci)
        with np.errstate(divide="ignore", invalid="ignore"):
            frames.append(
                pd.DataFrame(
                    {
                        "segment": seg_ids,
                        "metric": name,
                        "value": hits[:k] / n[:k],
                        "ci_low": low,
                        "ci_high": high,
                        "overall": hits.sum() / n.sum(),
                        "n": n[:k],
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    order = {name: i for i, (name, _, _) in enumerate(specs)}
    out = out.sort_values(
        ["metric", "segment"], key=lambda c: c.map(order) if c.name == "metric" else c
    )
    out = out[OUTCOME_COLUMNS].reset_index(drop=True)
    out["segment"] = out["segment"].astype(np.int64)
    out["n"] = out["n"].astype(np.int64)
    out["metric"] = out["metric"].astype(str)
    return out


# --------------------------------------------------------------------------------------------
# The funnel
# --------------------------------------------------------------------------------------------
def _funnel_steps(
    table: pd.DataFrame, cat: pd.DataFrame, steps: Sequence[str] | None
) -> list[tuple[str, str | None]]:
    """[(step name, reached_ column or None for the first step)]."""
    if steps is None:
        order = None
        for name in ("furthest_step",):
            if name in cat.index:
                order = _order(cat.loc[name, "order"])
        if order:
            steps = [str(s) for s in order]
        else:
            reached = _reached_columns(table)
            if not reached:
                raise DataError(
                    "No funnel in the table: expected reached_<step> columns (made from an event "
                    "log with a funnel in the data spec). Pass steps=[...] to name them."
                )
            steps = ["visit"] + [str(c)[len("reached_") :] for c in reached]
        missing = [s for s in steps[1:] if f"reached_{s}" not in table.columns]
        if missing:
            warnings.warn(
                f"Funnel step(s) {', '.join(missing)} have no reached_ column in the user table "
                "and are left out of the funnel.",
                DataWarning,
                stacklevel=3,
            )
            steps = [steps[0]] + [s for s in steps[1:] if s not in missing]
    out: list[tuple[str, str | None]] = [(str(steps[0]), None)]
    for s in steps[1:]:
        col = f"reached_{s}"
        if col not in table.columns:
            raise DataError(
                f"Funnel step {s!r} has no column {col!r} in the user table. Available reached_ "
                f"columns: {', '.join(c for c in table.columns if str(c).startswith('reached_'))}."
            )
        out.append((str(s), col))
    return out


def _reached_columns(table: pd.DataFrame) -> list:
    """The funnel columns of ``table`` (``reached_<step>``), in table order."""
    return [c for c in table.columns if str(c).startswith("reached_")]


def has_funnel(table: pd.DataFrame) -> bool:
    """Whether ``table`` holds funnel columns (``reached_<step>``, made from an event log).

    Examples
    --------
    >>> has_funnel(pd.DataFrame({"reached_checkout": [0, 1]}))
    True
    >>> has_funnel(pd.DataFrame({"age": [31]}))
    False
    """
    return bool(_reached_columns(table))


def funnel_by_segment(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    steps: Sequence[str] | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Share of each segment reaching each funnel step, and where each segment drops out.

    Parameters
    ----------
    table : DataFrame
        One row per user with ``reached_<step>`` columns (0/1); ``events`` (when present)
        decides who reached the first step, ``dropout_step`` (when present) adds the share of
        users whose sessions most often end at each step.
    segments : DataFrame, Series or array-like
        Segment labels.
    columns : DataFrame, optional
        The column catalogue; the ``order`` of ``furthest_step`` names the steps.
    steps : sequence of str, optional
        Funnel steps in order (default: from the catalogue, else the reached_ columns).
    ci : float
        Confidence level of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per (segment, step): ``segment``, ``step``, ``step_index`` (0-based), ``n``
        (users in the segment), ``reached`` (users reaching the step), ``share``, ``ci_low``,
        ``ci_high``, ``overall`` (share of all users), ``step_conversion`` (share of those at
        the previous step who reach this one), ``loss`` (share of those reaching this step who
        go no further; NaN at the last step), ``overall_loss``, ``excess_loss`` (loss minus
        overall loss), ``dropout_share`` and ``overall_dropout_share`` (users whose
        ``dropout_step`` is this step) and ``is_dropout_step``: the step where the segment loses
        the most users beyond what the whole audience loses (when it loses less everywhere:
        the step where it loses the most).

    Examples
    --------
    >>> t = pd.DataFrame({"reached_checkout": [1, 1, 0, 0] * 25,
    ...                   "reached_purchase": [1, 0, 0, 0] * 25})
    >>> f = funnel_by_segment(t, [1, 1, 2, 2] * 25, steps=["visit", "checkout", "purchase"])
    >>> f.loc[f["is_dropout_step"], ["segment", "step"]].values.tolist()
    [[1, 'checkout'], [2, 'visit']]
    """
    cat = column_catalogue(table, columns)
    seg_ids, group, k = _groups(table, segments)
    spec = _funnel_steps(table, cat, steps)
    n_users = np.bincount(group, minlength=k + 1).astype(float)
    reached = np.zeros((k + 1, len(spec)))
    for i, (_, col) in enumerate(spec):
        if col is None:
            if "events" in table.columns:
                hit = np.nan_to_num(_float_array(table["events"])) > 0
            else:
                hit = np.ones(len(table), dtype=bool)
        else:
            hit = np.nan_to_num(binary_values(table[col])[0]) > 0
        reached[:, i] = np.bincount(group, weights=hit.astype(float), minlength=k + 1)
    total = reached.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = reached[:k] / n_users[:k, None]
        overall = total / n_users.sum()
        step_conv = np.full((k, len(spec)), np.nan)
        step_conv[:, 1:] = reached[:k, 1:] / reached[:k, :-1]
        loss = np.full((k, len(spec)), np.nan)
        loss[:, :-1] = 1 - reached[:k, 1:] / reached[:k, :-1]
        overall_loss = np.full(len(spec), np.nan)
        overall_loss[:-1] = 1 - total[1:] / total[:-1]
    excess = loss - overall_loss[None, :]
    low, high = wilson_interval(reached[:k], n_users[:k, None], level=ci)
    drop_share = np.full((k, len(spec)), np.nan)
    drop_overall = np.full(len(spec), np.nan)
    if "dropout_step" in table.columns:
        codes, levels = _text_codes(table["dropout_step"])
        for i, (name, _) in enumerate(spec):
            if name in levels:
                hit = (codes == levels.index(name)).astype(float)
            else:
                hit = np.zeros(len(table))
            counts = np.bincount(group, weights=hit, minlength=k + 1)
            drop_share[:, i] = counts[:k] / n_users[:k]
            drop_overall[i] = counts.sum() / n_users.sum()
    is_drop = np.zeros((k, len(spec)), dtype=bool)
    for g in range(k):
        e = np.where(np.isfinite(excess[g]), excess[g], -np.inf)
        if not np.isfinite(e).any():
            continue
        if e.max() <= 0:  # loses less than the audience everywhere: its largest loss
            e = np.where(np.isfinite(loss[g]), loss[g], -np.inf)
        is_drop[g, int(np.argmax(e))] = True
    rows = pd.DataFrame(
        {
            "segment": np.repeat(seg_ids, len(spec)),
            "step": np.tile([s for s, _ in spec], k),
            "step_index": np.tile(np.arange(len(spec)), k),
            "n": np.repeat(n_users[:k], len(spec)).astype(np.int64),
            "reached": reached[:k].ravel().astype(np.int64),
            "share": share.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "overall": np.tile(overall, k),
            "step_conversion": step_conv.ravel(),
            "loss": loss.ravel(),
            "overall_loss": np.tile(overall_loss, k),
            "excess_loss": excess.ravel(),
            "dropout_share": drop_share.ravel(),
            "overall_dropout_share": np.tile(drop_overall, k),
            "is_dropout_step": is_drop.ravel(),
        }
    )
    rows["segment"] = rows["segment"].astype(np.int64)
    return rows


# --------------------------------------------------------------------------------------------
# Engaged but not converting
# --------------------------------------------------------------------------------------------
def _first_present(table: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in table.columns), None)


def _vs_rest(
    x: np.ndarray, group: np.ndarray, k: int, share: bool
) -> tuple[np.ndarray, float, np.ndarray]:
    """Per segment: mean, overall mean and standardised difference against the rest of the
    users (Cohen's h for shares, Cohen's d otherwise)."""
    ok = ~np.isnan(x)
    n = np.bincount(group[ok], minlength=k + 1).astype(float)
    s1 = np.bincount(group[ok], weights=x[ok], minlength=k + 1)
    s2 = np.bincount(group[ok], weights=x[ok] ** 2, minlength=k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1[:k] / n[:k]
        overall = s1.sum() / n.sum()
        rn, rs1, rs2 = n.sum() - n[:k], s1.sum() - s1[:k], s2.sum() - s2[:k]
        rest = rs1 / rn
        if share:
            effect = cohens_h(mean, rest)
        else:
            var_g = (s2[:k] - n[:k] * mean**2) / (n[:k] - 1)
            var_r = (rs2 - rn * rest**2) / (rn - 1)
            pooled = np.sqrt(
                np.clip(((n[:k] - 1) * var_g + (rn - 1) * var_r) / (n[:k] + rn - 2), 0, None)
            )
            effect = np.where(pooled > 0, (mean - rest) / pooled, np.nan)
    return mean, float(overall), effect


def engaged_not_converting(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    engagement: str | None = None,
    reach: str | None = None,
    conversion: str | None = None,
    min_effect: float = 0.5,
    min_conversion_effect: float = 0.2,
    min_size: int = 30,
) -> pd.DataFrame:
    """Flag segments that are engaged and reach checkout well above average but convert below.

    "Well above" is measured against the rest of the users as a standardised difference,
    Cohen's d for activity and Cohen's h for the share reaching checkout, because an index
    cannot exceed 100 / overall share when most users reach a step.

    Parameters
    ----------
    table : DataFrame
        One row per user.
    segments : DataFrame, Series or array-like
        Segment labels.
    columns : DataFrame, optional
        The column catalogue (validated against the table).
    engagement : str, optional
        Activity column (default: the first of ``sessions``, ``events``, ``active_days``).
    reach : str, optional
        0/1 column of a late funnel step (default: ``reached_checkout``, else the
        second-to-last ``reached_`` column).
    conversion : str, optional
        Conversion column (default: ``conversion_rate`` - the share of sessions that end in a
        purchase - else ``purchased``).
    min_effect : float
        Smallest standardised difference (d or h, segment vs rest) of engagement and reach
        (0.5 = a medium effect).
    min_conversion_effect : float
        Conversion must be below the rest by at least this standardised difference (and below
        the overall value).
    min_size : int
        Segments smaller than this are never flagged.

    Returns
    -------
    DataFrame
        One row per segment: ``segment``, ``n``; for ``engagement``, ``reach`` and
        ``conversion`` the segment value, ``*_overall``, ``*_index`` (100 = average) and
        ``*_effect`` (d or h against the rest); the columns used (``*_column``),
        ``engaged_not_converting`` (bool) and ``reason``.

    Examples
    --------
    >>> t = pd.DataFrame({"sessions": [12, 11, 4, 5] * 25, "reached_checkout": [1, 1, 0, 1] * 25,
    ...                   "purchased": [0, 0, 0, 1] * 25})
    >>> engaged_not_converting(t, [1, 1, 2, 2] * 25)["engaged_not_converting"].tolist()
    [True, False]
    """
    column_catalogue(table, columns)
    seg_ids, group, k = _groups(table, segments)
    engagement = engagement or _first_present(table, ("sessions", "events", "active_days"))
    if reach is None:
        reached = _reached_columns(table)
        reach = "reached_checkout" if "reached_checkout" in reached else None
        if reach is None and len(reached) >= 2:
            reach = reached[-2]
    conversion = conversion or _first_present(table, ("conversion_rate", "purchased"))
    used = {"engagement": engagement, "reach": reach, "conversion": conversion}
    missing = [k_ for k_, v in used.items() if v is None or v not in table.columns]
    if missing:
        raise DataError(
            f"engaged_not_converting needs {', '.join(missing)} column(s): pass engagement=, "
            "reach= and conversion= with columns of the user table (e.g. sessions, "
            "reached_checkout, purchased)."
        )
    out = pd.DataFrame({"segment": seg_ids.astype(np.int64)})
    out["n"] = np.bincount(group, minlength=k + 1)[:k].astype(np.int64)
    for key, col in used.items():
        s = table[col]
        is_binary = key == "reach" or set(np.unique(s.dropna())) <= {0, 1}
        x = binary_values(s)[0] if is_binary else _float_array(s)
        mean, overall, effect = _vs_rest(x, group, k, share=is_binary)
        out[key] = mean
        out[f"{key}_overall"] = overall
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{key}_index"] = 100 * mean / overall if overall > 0 else np.nan
        out[f"{key}_effect"] = effect
    for key, col in used.items():
        out[f"{key}_column"] = col
    flag = (
        (out["engagement_effect"] >= min_effect)
        & (out["reach_effect"] >= min_effect)
        & (out["conversion_effect"] <= -min_conversion_effect)
        & (out["conversion"] < out["conversion_overall"])
        & (out["n"] >= min_size)
    )
    out["engaged_not_converting"] = flag.to_numpy(dtype=bool)
    out["reason"] = [_engaged_reason(r) for r in out.to_dict("records")]
    return out


def _engaged_reason(r: dict[str, Any]) -> str:
    def pct(x: float) -> str:
        return f"{100 * x:.0f}%"

    reach_step = str(r["reach_column"]).removeprefix("reached_").replace("_", " ")
    conv_is_share = 0 <= r["conversion_overall"] <= 1
    conv = pct if conv_is_share else (lambda x: f"{x:.2f}")
    what = str(r["conversion_column"]).replace("_", " ")
    text = (
        f"{str(r['engagement_column']).replace('_', ' ')} {r['engagement']:.1f} vs "
        f"{r['engagement_overall']:.1f} overall, {pct(r['reach'])} reach {reach_step} vs "
        f"{pct(r['reach_overall'])}, {what} {conv(r['conversion'])} vs "
        f"{conv(r['conversion_overall'])}"
    )
    if r["engaged_not_converting"]:
        return "Engaged but not converting: " + text + "."
    return text[:1].upper() + text[1:] + "."


# --------------------------------------------------------------------------------------------
# Opinion distributions
# --------------------------------------------------------------------------------------------
def opinion_distribution(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    variables: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Share of each answer of each opinion per segment, beside the overall share.

    Returns
    -------
    DataFrame
        ``segment``, ``variable``, ``level`` (the answer, as text), ``share`` (of the segment's
        respondents), ``overall``, ``n`` (respondents in the segment).

    Examples
    --------
    >>> t = pd.DataFrame({"trust": [1, 5, 5, 5] * 10})
    >>> d = opinion_distribution(t, [1, 2] * 20, variables=["trust"])
    >>> d.loc[d["segment"] == 1, "share"].tolist()
    [0.5, 0.5]
    """
    cat = column_catalogue(table, columns)
    if variables is None:
        variables = list(cat.index[cat["role"] == "opinion"])
    seg_ids, group, k = _groups(table, segments)
    frames = []
    for name in variables:
        x = _float_array(table[name])
        ok = ~np.isnan(x)
        answers = np.unique(x[ok])
        code = np.searchsorted(answers, x[ok])
        counts = np.zeros((k + 1, answers.size))
        np.add.at(counts, (group[ok], code), 1.0)
        n = counts.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = counts[:k] / n[:k, None]
            overall = counts.sum(0) / n.sum()
        frames.append(
            pd.DataFrame(
                {
                    "segment": np.repeat(seg_ids, answers.size).astype(np.int64),
                    "variable": name,
                    "level": np.tile([f"{a:g}" for a in answers], k),
                    "share": share.ravel(),
                    "overall": np.tile(overall, k),
                    "n": np.repeat(n[:k], answers.size).astype(np.int64),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["segment", "variable", "level", "share", "overall", "n"])
    return pd.concat(frames, ignore_index=True)
