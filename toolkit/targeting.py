"""Which segments to target: a ranking by value and by potential, each score with its reason.

* **Value** - what a segment brings today: its size, its revenue per user and its conversion,
  each relative to the best segment, averaged (0-1).
* **Potential** - what it could bring: *engaged but under-converting* (activity and checkout
  reach above the rest, conversion below, as standardised differences from the profile: the
  geometric mean of how far above and how far below, each capped at 1) or *satisfied but
  small* (satisfaction up to 25% above average, size below the average segment), the larger of
  the two (0-1).

The score mixes both (``potential_weight``); the top ``n_targets`` segments are the default
targets, and :func:`choose_targets` records an analyst's explicit choice instead.

Examples
--------
>>> import pandas as pd
>>> from toolkit.targeting import rank_targets
>>> outcomes = pd.DataFrame({"segment": [1, 2], "metric": "conversion", "value": [0.6, 0.2],
...                          "ci_low": 0, "ci_high": 1, "overall": 0.4, "n": [100, 100]})
>>> rank_targets(outcomes, None, {1: 100, 2: 100}, n_targets=1)["segment"].tolist()
[1, 2]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError, DataError

__all__ = ["TARGET_COLUMNS", "rank_targets", "choose_targets"]

#: Columns of the targets table, in order.
TARGET_COLUMNS = [
    "segment",
    "size",
    "share",
    "conversion",
    "revenue_per_user",
    "value_score",
    "potential_score",
    "score",
    "rank",
    "reason",
    "is_target",
]

_ENGAGEMENT = ("sessions", "events", "active_days")
_REACH = ("reached_checkout",)
_CONVERSION = ("conversion_rate", "purchased")


def _sizes(sizes: Any) -> tuple[pd.Series, int]:
    """Users per segment (segments >= 1... any label >= 0) and the total number of users."""
    if isinstance(sizes, pd.DataFrame):
        if "segment" not in sizes.columns:
            raise DataError(
                "The sizes table has no 'segment' column: pass the segments table (id, segment, "
                "confidence) or a mapping segment -> number of users."
            )
        labels = pd.to_numeric(sizes["segment"], errors="coerce").fillna(-1).astype(np.int64)
        counts = labels.value_counts()
        total = int(counts.sum())
    else:
        if isinstance(sizes, Mapping):
            counts = pd.Series(dict(sizes), dtype=float)
        elif isinstance(sizes, pd.Series):
            counts = sizes.astype(float)
        else:
            raise DataError(
                f"sizes must be the segments table, a Series or a mapping, not "
                f"{type(sizes).__name__}."
            )
        counts.index = counts.index.astype(np.int64)
        total = int(counts.sum())
    counts = counts[counts.index >= 0].sort_index()
    return counts.astype(np.int64), total


def _metric(outcomes: pd.DataFrame | None, name: str) -> tuple[pd.Series, float]:
    if outcomes is None or outcomes.empty or name not in set(outcomes["metric"]):
        return pd.Series(dtype=float), np.nan
    rows = outcomes[outcomes["metric"] == name]
    return rows.set_index("segment")["value"].astype(float), float(rows["overall"].iloc[0])


def _profile_stats(
    profiles: pd.DataFrame | None, names: Iterable[str]
) -> tuple[str, pd.DataFrame]:
    """(variable, its index and std_diff by segment) for the first of ``names`` profiled."""
    empty = pd.DataFrame({"index": pd.Series(dtype=float), "std_diff": pd.Series(dtype=float)})
    if profiles is None or profiles.empty:
        return "", empty
    for name in names:
        rows = profiles[(profiles["variable"] == name) & (profiles["level"].isin(["", "1"]))]
        if not rows.empty:
            return name, rows.set_index("segment")[["index", "std_diff"]].astype(float)
    return "", empty


def _clip01(x: Any) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(x, dtype=float), nan=0.0), 0.0, 1.0)


def _relative(x: pd.Series) -> pd.Series:
    """x / max(x) over segments (0-1); all-NaN or non-positive maxima give NaN."""
    top = x.max()
    if not np.isfinite(top) or top <= 0:
        return pd.Series(np.nan, index=x.index)
    return (x / top).clip(lower=0)


def rank_targets(
    outcomes: pd.DataFrame | None,
    profiles: pd.DataFrame | None,
    sizes: Any,
    *,
    n_targets: int = 2,
    potential_weight: float = 0.4,
    value_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank segments for targeting by value and potential, each with a reason.

    Parameters
    ----------
    outcomes : DataFrame or None
        Output of :func:`toolkit.outcomes.outcomes_by_segment` (metrics ``conversion``,
        ``revenue_per_user`` and ``satisfaction`` are used when present).
    profiles : DataFrame or None
        Output of :func:`toolkit.correlation.profile_segments`; the indices of ``sessions`` (or
        ``events``), ``reached_checkout`` and ``conversion_rate`` (or ``purchased``) measure
        engagement against conversion.
    sizes : DataFrame, Series or mapping
        The segments table (users per segment are counted; -1 = unsegmented counts in the
        total only) or users per segment.
    n_targets : int
        Segments marked ``is_target`` (the top ranked).
    potential_weight : float
        Weight of the potential score in the overall score (value gets the rest).
    value_weights : mapping, optional
        Weights of the value components ``size``, ``revenue`` and ``conversion`` (default 1 each).

    Returns
    -------
    DataFrame
        The columns of :data:`TARGET_COLUMNS`, sorted by rank (1 = best).

    Examples
    --------
    >>> rank_targets(None, None, {1: 300, 2: 100})["reason"].iloc[0]
    'Value: the largest segment, 75% of users.'
    """
    counts, total = _sizes(sizes)
    if counts.empty:
        raise DataError("No segment to rank: every user is unsegmented (-1) or sizes is empty.")
    if not 0 <= potential_weight <= 1:
        raise ConfigError(f"potential_weight must lie in [0, 1], got {potential_weight}.")
    seg = counts.index
    share = counts / total
    conv, conv_all = _metric(outcomes, "conversion")
    rpu, rpu_all = _metric(outcomes, "revenue_per_user")
    sat, sat_all = _metric(outcomes, "satisfaction")
    conv, rpu, sat = conv.reindex(seg), rpu.reindex(seg), sat.reindex(seg)

    weights = {"size": 1.0, "revenue": 1.0, "conversion": 1.0}
    weights.update(value_weights or {})
    parts = {"size": _relative(share), "revenue": _relative(rpu), "conversion": _relative(conv)}
    num = sum(weights[k] * parts[k].fillna(0) for k in parts)
    den = sum(weights[k] * parts[k].notna() for k in parts)
    value_score = (num / den.replace(0, np.nan)).fillna(0.0)

    # Potential 1: engaged but under-converting. Standardised differences against the rest
    # (Cohen's d or h from the profile; 1 = a large difference) rather than indices, which
    # saturate when most users reach a step.
    eng_name, eng = _profile_stats(profiles, _ENGAGEMENT)
    reach_name, reach = _profile_stats(profiles, _REACH)
    conv_name, conv_p = _profile_stats(profiles, _CONVERSION)
    eng, reach, conv_p = eng.reindex(seg), reach.reindex(seg), conv_p.reindex(seg)
    activity = eng["std_diff"]
    if reach_name:
        activity = np.fmin(activity, reach["std_diff"])
    engaged = _clip01(activity)
    under = _clip01(-conv_p["std_diff"])
    pot_engaged = pd.Series(np.sqrt(engaged * under), index=seg)
    # Potential 2: satisfied but small.
    sat_up = _clip01((sat / sat_all - 1) / 0.25) if np.isfinite(sat_all) and sat_all > 0 else 0
    small = _clip01(1 - share * len(seg))
    pot_small = pd.Series(np.sqrt(sat_up * small), index=seg)
    potential = np.fmax(pot_engaged, pot_small)

    score = (1 - potential_weight) * value_score + potential_weight * potential
    out = pd.DataFrame(
        {
            "segment": seg.astype(np.int64),
            "size": counts.to_numpy(),
            "share": share.to_numpy(),
            "conversion": conv.to_numpy(),
            "revenue_per_user": rpu.to_numpy(),
            "value_score": value_score.to_numpy(),
            "potential_score": potential.to_numpy(),
            "score": score.to_numpy(),
        }
    )
    out = out.sort_values(["score", "segment"], ascending=[False, True], kind="mergesort")
    out["rank"] = np.arange(1, len(out) + 1)
    reasons = []
    largest = int(counts.idxmax())
    for r in out.to_dict("records"):
        s = r["segment"]
        value_text = _value_reason(r, s == largest, conv_all, rpu_all)
        pot_text = []
        if pot_engaged.get(s, 0) >= 0.1:
            pot_text.append(
                f"engaged but under-converting ({eng_name} index {eng.loc[s, 'index']:.0f}"
                + (
                    f", {reach_name.replace('_', ' ')} index {reach.loc[s, 'index']:.0f}"
                    if reach_name
                    else ""
                )
                + f", {conv_name.replace('_', ' ')} index {conv_p.loc[s, 'index']:.0f};"
                " 100 = average)"
            )
        if pot_small.get(s, 0) >= 0.1:
            pot_text.append(
                f"satisfied but small (satisfaction {sat[s]:.1f} vs {sat_all:.1f} overall, "
                f"{100 * r['share']:.0f}% of users)"
            )
        lead = "Potential: " + "; ".join(pot_text) + "." if pot_text else ""
        val = f"Value: {value_text}." if value_text else ""
        if r["potential_score"] > r["value_score"] and lead:
            reasons.append(" ".join(x for x in (lead, val) if x))
        else:
            reasons.append(" ".join(x for x in (val, lead) if x) or "No outcome data to rank on.")
    out["reason"] = reasons
    out["is_target"] = out["rank"] <= n_targets
    return out[TARGET_COLUMNS].reset_index(drop=True)


def _value_reason(r: Mapping[str, Any], largest: bool, conv_all: float, rpu_all: float) -> str:
    bits = []
    size = f"{100 * r['share']:.0f}% of users"
    bits.append(f"the largest segment, {size}" if largest else size)
    if np.isfinite(r["revenue_per_user"]):
        bits.append(f"revenue per user {r['revenue_per_user']:,.2f} vs {rpu_all:,.2f} overall")
    if np.isfinite(r["conversion"]):
        bits.append(f"conversion {100 * r['conversion']:.0f}% vs {100 * conv_all:.0f}% overall")
    return ", ".join(bits)


def choose_targets(targets: pd.DataFrame, segments: Iterable[int] | None = None) -> pd.DataFrame:
    """Mark the analyst's chosen segments as targets (default: keep the top-ranked ones).

    Parameters
    ----------
    targets : DataFrame
        Output of :func:`rank_targets`.
    segments : iterable of int, optional
        Segments to target. None or empty keeps ``is_target`` as ranked.

    Returns
    -------
    DataFrame
        A copy of ``targets`` with ``is_target`` set.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": [2, 1, 3], "rank": [1, 2, 3],
    ...                   "is_target": [True, True, False]})
    >>> choose_targets(t, [3])["is_target"].tolist()
    [False, False, True]
    """
    out = targets.copy()
    chosen = [] if segments is None else list(segments)
    if not chosen:
        return out
    try:
        chosen_ints = {int(s) for s in chosen}
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"target_segments must be segment numbers, got {chosen!r} (e.g. [2, 4])."
        ) from exc
    known = set(out["segment"].astype(int))
    unknown = sorted(chosen_ints - known)
    if unknown:
        raise ConfigError(
            f"target_segments names segment(s) {unknown} that do not exist; the segments are "
            f"{sorted(known)}. Set target_segments to some of them, or to [] for the top ranked."
        )
    out["is_target"] = out["segment"].astype(int).isin(chosen_ints).to_numpy()
    return out
