"""What distinguishes each segment: the profile table, its tests and effect sizes, associations.

:func:`profile_segments` compares every segment with the rest of the audience on every
variable: the segment's value (mean and median, or share of a level) beside the overall value,
an index (100 = average), a standardised difference, a segment-vs-rest test with its effect size,
interval estimates and Benjamini-Hochberg q-values over the whole table. Variables that formed
the segments (the *bases*) differ between segments by construction, so their rows are marked
``evidence="description"`` and are never ``significant``: their p-values are not evidence.

Tests, by kind of variable:

* numeric and ordinal: Kruskal-Wallis across segments (epsilon squared), each segment against
  the rest by Mann-Whitney (normal approximation with tie and continuity correction) with the
  rank-biserial correlation; bootstrap percentile intervals for the mean (seeded, vectorised:
  resampling weights times the data matrix).
* categorical and binary: chi-square across segments (Cramér's V), each level of each segment
  against the rest by a two-proportion z test, or Fisher's exact test when an expected count is
  below 5, with Cohen's h; Wilson intervals for shares.

The functions of :mod:`toolkit.findings` and :mod:`toolkit.outcomes` are re-exported here, so a
notebook imports everything about segments and outcomes from one place.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.correlation import profile_segments
>>> rng = np.random.default_rng(0)
>>> table = pd.DataFrame({"user_id": [f"{i:06d}" for i in range(600)],
...                       "trust": rng.integers(1, 6, 600).astype(float)})
>>> seg = np.repeat([1, 2, 3], 200)
>>> table.loc[seg == 3, "trust"] = 1.0
>>> prof = profile_segments(table, seg, n_boot=200)
>>> row = prof[prof["segment"] == 3].iloc[0]
>>> float(row["value"]), bool(row["significant"]), row["evidence"]
(1.0, True, 'test')
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.errors import DataError, DataWarning

__all__ = [
    "PROFILE_COLUMNS",
    "profile_segments",
    "association_matrix",
    "variable_tests",
    "align_segments",
    "column_catalogue",
    "benjamini_hochberg",
    "wilson_interval",
    "cohens_h",
    "effect_thresholds",
    "distinguishing_findings",  # noqa: F822 - lazy re-export, see __getattr__
    "findings_markdown",  # noqa: F822 - lazy re-export, see __getattr__
    "outcomes_by_segment",  # noqa: F822 - lazy re-export, see __getattr__
    "funnel_by_segment",  # noqa: F822 - lazy re-export, see __getattr__
    "engaged_not_converting",  # noqa: F822 - lazy re-export, see __getattr__
    "opinion_distribution",  # noqa: F822 - lazy re-export, see __getattr__
]

#: Columns of the profile table, in order (the contract between analysis modules).
PROFILE_COLUMNS = [
    "segment",
    "variable",
    "level",
    "label",
    "role",
    "kind",
    "is_base",
    "n",
    "value",
    "median",
    "overall",
    "index",
    "std_diff",
    "effect",
    "effect_name",
    "p",
    "q",
    "ci_low",
    "ci_high",
    "variable_effect",
    "variable_effect_name",
    "significant",
    "evidence",
]

#: Roles whose columns are profiled ("descriptor" is given to columns of an inferred catalogue).
PROFILE_ROLES = ("demographic", "behaviour", "opinion", "outcome", "descriptor")
PROFILE_KINDS = ("numeric", "ordinal", "categorical", "binary")
#: Roles that form the segments unless the caller says otherwise.
DEFAULT_BASE_ROLES = ("demographic", "behaviour")

#: Smallest effect that matters, in Cohen's d/h units (see :func:`effect_thresholds`): between
#: "small" (0.2) and "medium" (0.5), e.g. 50% vs 65%, 20% vs 33%, 10% vs 21%.
DEFAULT_MIN_EFFECT = 0.3
#: Smallest effect of a base variable to describe a segment (a medium effect).
DEFAULT_MIN_DESCRIPTION_EFFECT = 0.5

_POSITIVE_TOKENS = {"1", "yes", "y", "true", "t"}
_MAX_BOOT_CELLS = 4_000_000  # resampling weights held in memory at once (float64 cells)

# Re-exported lazily (PEP 562) to keep the import graph acyclic.
_LAZY = {
    "distinguishing_findings": "toolkit.findings",
    "findings_markdown": "toolkit.findings",
    "outcomes_by_segment": "toolkit.outcomes",
    "funnel_by_segment": "toolkit.outcomes",
    "engaged_not_converting": "toolkit.outcomes",
    "opinion_distribution": "toolkit.outcomes",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# Small statistics helpers (public: outcomes and targeting use them too)
# --------------------------------------------------------------------------------------------
def benjamini_hochberg(p: Iterable[float]) -> np.ndarray:
    """Return Benjamini-Hochberg q-values; NaN p-values stay NaN and do not count as tests.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, np.nan, 0.03]).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(list(p) if not isinstance(p, np.ndarray) else p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def wilson_interval(
    successes: Any, n: Any, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a share ``successes / n`` (NaN where ``n == 0``).

    Examples
    --------
    >>> low, high = wilson_interval(30, 100)
    >>> round(float(low), 3), round(float(high), 3)
    (0.219, 0.396)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def cohens_h(p1: Any, p2: Any) -> np.ndarray:
    """Cohen's h between two shares: ``2 asin(sqrt(p1)) - 2 asin(sqrt(p2))``."""
    p1 = np.clip(np.asarray(p1, dtype=float), 0, 1)
    p2 = np.clip(np.asarray(p2, dtype=float), 0, 1)
    return 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))


def effect_thresholds(
    min_effect: float | Mapping[str, float] = DEFAULT_MIN_EFFECT,
) -> dict[str, float]:
    """Thresholds on |effect| by effect name.

    A float is read in standardised-difference units (Cohen's d or h): Cohen's h uses it as is,
    the rank-biserial correlation uses its equivalent for two normal groups,
    ``2 Phi(d / sqrt 2) - 1`` (d = 0.2 gives 0.11, d = 0.3 gives 0.17). A mapping sets
    ``{"rank_biserial": ..., "cohens_h": ...}`` directly.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in effect_thresholds(0.3).items()}
    {'rank_biserial': 0.168, 'cohens_h': 0.3}
    """
    if isinstance(min_effect, Mapping):
        out = effect_thresholds(DEFAULT_MIN_EFFECT)
        out.update({str(k): float(v) for k, v in min_effect.items()})
        return out
    d = float(min_effect)
    return {"rank_biserial": float(2 * stats.norm.cdf(d / np.sqrt(2)) - 1), "cohens_h": d}


def _bootstrap_ratio(
    num: np.ndarray,
    den: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    *,
    n_boot: int,
    level: float,
    random_state: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of ``sum(num) / sum(den)`` per group and column.

    Users are resampled within each group; one resample weight matrix serves every column, so
    the work is a matrix product per group (chunked to cap memory). Means are the special case
    ``num = value (0 where missing)``, ``den = 1 where a value exists``.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    if num.ndim == 1:
        num, den = num[:, None], den[:, None]
    p = num.shape[1]
    low = np.full((n_groups, p), np.nan)
    high = np.full((n_groups, p), np.nan)
    if n_boot < 2:
        return low, high
    rngs = np.random.default_rng(random_state).spawn(n_groups)
    tail = (1 - level) / 2
    for g in range(n_groups):
        idx = np.flatnonzero(group == g)
        size = idx.size
        if size < 2:
            continue
        a, b = num[idx], den[idx]
        reps = np.empty((n_boot, p))
        chunk = max(1, _MAX_BOOT_CELLS // size)
        for start in range(0, n_boot, chunk):
            m = min(chunk, n_boot - start)
            draws = rngs[g].integers(0, size, size=(m, size))
            draws += (np.arange(m) * size)[:, None]
            w = np.bincount(draws.ravel(), minlength=m * size).reshape(m, size).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                reps[start : start + m] = (w @ a) / (w @ b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low[g], high[g] = np.nanquantile(reps, [tail, 1 - tail], axis=0)
    return low, high


# --------------------------------------------------------------------------------------------
# Inputs: segment labels and the column catalogue
# --------------------------------------------------------------------------------------------
def align_segments(table: pd.DataFrame, segments: Any) -> np.ndarray:
    """Return one integer segment label per row of ``table`` (-1 = unsegmented).

    Parameters
    ----------
    table : DataFrame
        The user-level table.
    segments : DataFrame, Series or array-like
        A segments table with a ``segment`` column (joined on an id column present in both
        tables when there is one, otherwise aligned by position), a Series (aligned on the
        index when it matches, otherwise by position) or one label per row. Missing labels
        become -1.

    Examples
    --------
    >>> t = pd.DataFrame({"user_id": ["a", "b", "c"]})
    >>> s = pd.DataFrame({"user_id": ["c", "a"], "segment": [2, 1]})
    >>> align_segments(t, s).tolist()
    [1, -1, 2]
    """
    n = len(table)
    if isinstance(segments, pd.DataFrame):
        if "segment" not in segments.columns:
            raise DataError(
                "The segments table has no 'segment' column (found: "
                f"{', '.join(map(str, segments.columns[:8]))}). Pass the table from "
                "toolkit.segmentation (id, segment, confidence) or one label per user."
            )
        keys = [
            c
            for c in segments.columns
            if c not in ("segment", "confidence") and c in table.columns
        ]
        key = next((k for k in keys if segments[k].is_unique), None)
        if key is not None:
            mapping = pd.Series(
                segments["segment"].to_numpy(), index=segments[key].astype(str).to_numpy()
            )
            labels = table[key].astype(str).map(mapping)
        elif len(segments) == n:
            labels = pd.Series(segments["segment"].to_numpy())
        else:
            raise DataError(
                f"The segments table has {len(segments)} rows and no id column shared with the "
                f"user table ({n} rows). Add the id column (e.g. {table.columns[0]!r}) or pass "
                "one label per user in table order."
            )
    elif isinstance(segments, pd.Series):
        if segments.index.equals(table.index) or len(segments) != n:
            labels = segments.reindex(table.index)
        else:
            labels = pd.Series(segments.to_numpy())
    else:
        arr = np.asarray(segments)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise DataError(
                f"Got {arr.shape[0] if arr.ndim else 1} segment labels for {n} users: pass one "
                "label per row of the user table, or the segments table with its id column."
            )
        labels = pd.Series(arr)
    numeric = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object)), errors="coerce")
    bad = pd.Series(np.asarray(labels, dtype=object))[numeric.isna() & pd.notna(labels).values]
    if len(bad):
        raise DataError(
            f"Segment labels must be integers (1..k, -1 = unsegmented); found {bad.unique()[:5]}."
        )
    out = numeric.fillna(-1).to_numpy()
    if np.any(out != np.round(out)):
        raise DataError("Segment labels must be whole numbers (1..k, -1 = unsegmented).")
    out = out.astype(np.int64)
    out[out < 0] = -1
    return out


def _humanise(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _infer_kind(s: pd.Series) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.PeriodDtype):
        return None
    if pd.api.types.is_bool_dtype(s):
        return "binary"
    values = s.dropna()
    if values.empty:
        return None
    if pd.api.types.is_numeric_dtype(s):
        uniq = np.unique(values.to_numpy(dtype=float))
        if uniq.size <= 2 and set(uniq.tolist()) <= {0.0, 1.0}:
            return "binary"
        return "numeric"
    nunique = values.astype(str).nunique()
    if nunique == 2:
        return "binary"
    if nunique > 50 and nunique > 0.2 * len(values):
        return None  # free text or an id
    return "categorical"


def column_catalogue(table: pd.DataFrame, columns: Any = None) -> pd.DataFrame:
    """Return a column catalogue: index ``column``; role, kind, scale_min/max, order, label.

    ``columns`` may be the catalogue of :class:`toolkit.load.Audience` (returned with missing
    fields filled in), a list of column names, or None (every column of ``table``). Kinds of
    columns without a catalogue entry are inferred from the data (numbers, two-valued, text with
    few levels); their role is ``"descriptor"`` (described and tested, never a base).

    Examples
    --------
    >>> t = pd.DataFrame({"age": [30, 40, 50], "member": [0, 1, 1], "city": ["x", "y", "z"]})
    >>> column_catalogue(t)["kind"].tolist()
    ['numeric', 'binary', 'categorical']
    """
    if isinstance(columns, pd.DataFrame):
        cat = columns.copy()
        if "column" in cat.columns and cat.index.name != "column":
            cat = cat.set_index("column")
        missing = [c for c in cat.index if c not in table.columns]
        if missing:
            raise DataError(
                f"The column catalogue names {len(missing)} column(s) missing from the user table:"
                f" {', '.join(map(str, missing[:5]))}. Available: "
                f"{', '.join(map(str, table.columns[:12]))}."
            )
    else:
        names = list(table.columns) if columns is None else list(columns)
        missing = [c for c in names if c not in table.columns]
        if missing:
            raise DataError(
                f"Column(s) {', '.join(map(str, missing[:5]))} are not in the user table. "
                f"Available: {', '.join(map(str, table.columns[:12]))}."
            )
        rows = []
        for c in names:
            kind = _infer_kind(table[c])
            rows.append({"column": c, "role": "descriptor" if kind else "ignore", "kind": kind})
        cat = pd.DataFrame(rows).set_index("column")
    cat.index.name = "column"
    if "kind" not in cat.columns:
        cat["kind"] = [_infer_kind(table[c]) for c in cat.index]
    else:
        cat["kind"] = [
            k if isinstance(k, str) and k else _infer_kind(table[c])
            for c, k in zip(cat.index, cat["kind"], strict=True)
        ]
    if "role" not in cat.columns:
        cat["role"] = "descriptor"
    cat["role"] = cat["role"].fillna("descriptor").astype(object)
    for fld in ("scale_min", "scale_max"):
        if fld not in cat.columns:
            cat[fld] = np.nan
        cat[fld] = pd.to_numeric(cat[fld], errors="coerce")
    if "order" not in cat.columns:
        cat["order"] = None
    cat["order"] = pd.Series([_order(o) for o in cat["order"]], index=cat.index, dtype=object)
    if "label" not in cat.columns:
        cat["label"] = None
    cat["label"] = [
        lab if isinstance(lab, str) and lab else _humanise(c)
        for c, lab in zip(cat.index, cat["label"], strict=True)
    ]
    return cat


def _order(o: Any) -> list | None:
    """A level order as a list, or None (catalogue cells may hold lists, arrays, NaN or None)."""
    if isinstance(o, (list, tuple, np.ndarray, pd.Series)) and len(o):
        return list(o)
    return None


def _resolve_bases(cat: pd.DataFrame, bases: Any) -> set[str]:
    if bases is None:
        return set(cat.index[cat["role"].isin(DEFAULT_BASE_ROLES)])
    if isinstance(bases, str):
        bases = [bases]
    roles = set(cat["role"])
    out: set[str] = set()
    unknown = []
    for b in bases:
        if b in cat.index:
            out.add(b)
        elif b in roles or b in DEFAULT_BASE_ROLES or b in ("opinion", "outcome", "text"):
            out |= set(cat.index[cat["role"] == b])
        else:
            unknown.append(b)
    if unknown:
        warnings.warn(
            f"Base(s) {', '.join(map(str, unknown[:5]))} are neither columns of the profiled "
            "table nor roles; they are ignored. Pass column names or roles (demographic, "
            "behaviour).",
            DataWarning,
            stacklevel=3,
        )
    return out


# --------------------------------------------------------------------------------------------
# Variable preparation
# --------------------------------------------------------------------------------------------
@dataclass
class _Var:
    name: str
    kind: str
    role: str
    label: str
    is_base: bool
    values: np.ndarray | None = None  # float values (numeric, ordinal, binary 0/1)
    codes: np.ndarray | None = None  # level codes, -1 = missing (categorical, binary)
    levels: list[str] = field(default_factory=list)
    positive: str = ""  # binary: the level counted as 1 ("" when the column is 0/1)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as Python strings (None where missing), computed once per distinct value."""
    codes, uniques = _text_codes(s)
    lookup = np.array([None, *uniques], dtype=object)
    return pd.Series(lookup[codes + 1], index=s.index, dtype=object)


def _text_codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``(codes, levels)``: integer codes (-1 = missing) into the distinct values as strings."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    names = [str(u) for u in uniques]
    distinct = list(dict.fromkeys(names))
    if len(distinct) < len(names):  # e.g. 1 and "1" in an object column
        remap = np.array([distinct.index(n) for n in names], dtype=np.int64)
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return np.asarray(codes, dtype=np.int64), distinct


def _level_codes(s: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Codes of ``s`` into ``levels`` (compared as strings); -1 = missing or not a level."""
    codes, uniques = _text_codes(s)
    pos = {str(v): i for i, v in enumerate(levels)}
    remap = np.array([pos.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return remap[np.where(codes >= 0, codes, len(uniques))]


def _float_array(s: pd.Series) -> np.ndarray:
    """A writable float copy of ``s`` (non-numbers and infinities become NaN)."""
    out = np.array(pd.to_numeric(s, errors="coerce").astype("Float64"), dtype=float, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def binary_values(s: pd.Series, order: Sequence | None = None) -> tuple[np.ndarray, str]:
    """Return ``(0/1 values with NaN, name of the level counted as 1)`` for a binary column.

    Booleans and 0/1 numbers count True/1 (positive name ""). For two text levels, the last
    level of ``order`` is positive, else a yes-like level ("yes", "true", "1"), else the rarer
    level (ties: the later one alphabetically).
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        v = _float_array(s)
        return np.where(np.isnan(v), np.nan, (v != 0).astype(float)), ""
    text = _as_text(s)
    levels = sorted(set(text.dropna()))
    if order:
        positive = str(list(order)[-1])
    else:
        yes = [lv for lv in levels if lv.strip().lower() in _POSITIVE_TOKENS]
        if yes:
            positive = yes[0]
        elif levels:
            counts = text.value_counts()
            positive = min(levels, key=lambda lv: (counts.get(lv, 0), [-ord(c) for c in lv]))
        else:
            positive = ""
    arr = text.to_numpy(dtype=object)
    out = np.where(pd.isna(arr), np.nan, (arr == positive).astype(float))
    return out.astype(float), positive


def _prepare(
    table: pd.DataFrame, cat: pd.DataFrame, base_set: set[str], max_levels: int
) -> list[_Var]:
    out: list[_Var] = []
    constant = []
    for name, row in cat.iterrows():
        kind, role = row["kind"], row["role"]
        if kind not in PROFILE_KINDS or role not in PROFILE_ROLES:
            continue
        s = table[name]
        var = _Var(str(name), kind, str(role), str(row["label"]), name in base_set)
        if kind in ("numeric", "ordinal"):
            order = _order(row["order"])
            if kind == "ordinal" and order and not pd.api.types.is_numeric_dtype(s):
                codes = _level_codes(s, [str(v) for v in order])
                var.values = np.where(codes >= 0, codes + 1.0, np.nan)
            else:
                var.values = _float_array(s)
            finite = var.values[~np.isnan(var.values)]
            if finite.size == 0 or np.all(finite == finite[0]):
                constant.append(name)
                continue
        elif kind == "binary":
            var.values, var.positive = binary_values(s, _order(row["order"]))
            finite = var.values[~np.isnan(var.values)]
            if finite.size == 0 or np.all(finite == finite[0]):
                constant.append(name)
                continue
            var.codes = np.where(np.isnan(var.values), -1, var.values).astype(np.int64)
            var.levels = ["0", "1"]
        else:
            raw, uniques = _text_codes(s)
            freq = np.bincount(raw[raw >= 0], minlength=len(uniques))
            present = [u for u, f in zip(uniques, freq, strict=True) if f > 0]
            if len(present) < 2:
                constant.append(name)
                continue
            count = dict(zip(uniques, freq, strict=True))
            order = [str(v) for v in (_order(row["order"]) or []) if count.get(str(v), 0) > 0]
            rest = sorted((u for u in present if u not in order), key=lambda u: (-count[u], u))
            levels = order + rest
            truncated = len(levels) > max_levels
            if truncated:
                keep = levels[: max_levels - 1]
                warnings.warn(
                    f"Column {name!r} has {len(levels)} levels; the {len(levels) - len(keep)} "
                    f"rarest are grouped as 'other' in the profile (max_levels={max_levels}).",
                    DataWarning,
                    stacklevel=3,
                )
                levels = keep + ["other"]
            pos = {lv: i for i, lv in enumerate(levels)}
            fallback = pos["other"] if truncated else -1
            remap = np.array([pos.get(u, fallback) for u in uniques] + [-1], dtype=np.int64)
            var.codes = remap[np.where(raw >= 0, raw, len(uniques))]
            var.levels = levels
        out.append(var)
    if constant:
        warnings.warn(
            f"Column(s) {', '.join(map(str, constant[:8]))} hold a single value (or none) and are "
            "left out of the profile.",
            DataWarning,
            stacklevel=3,
        )
    return out


# --------------------------------------------------------------------------------------------
# Tests by kind
# --------------------------------------------------------------------------------------------
def _tie_term(sorted_values: np.ndarray) -> float:
    _, counts = np.unique(sorted_values, return_counts=True)
    return float(np.sum(counts.astype(float) ** 3 - counts))


def _rank_tests(
    x: np.ndarray, group: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Mann-Whitney (each segment vs the rest) and Kruskal-Wallis (across segments).

    ``group`` holds 0..n_seg-1 for segments and n_seg for unsegmented users. Returns
    (rank-biserial per segment, two-sided p per segment, epsilon squared).
    """
    ok = ~np.isnan(x)
    xv, gv = x[ok], group[ok]
    n = xv.size
    r_b = np.full(n_seg, np.nan)
    p = np.full(n_seg, np.nan)
    if n < 3:
        return r_b, p, np.nan
    ranks = stats.rankdata(xv)
    tie = _tie_term(xv)
    rsum = np.bincount(gv, weights=ranks, minlength=n_seg + 1)[:n_seg]
    n1 = np.bincount(gv, minlength=n_seg + 1)[:n_seg].astype(float)
    n2 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = rsum - n1 * (n1 + 1) / 2
        r_b = np.where((n1 > 0) & (n2 > 0), 2 * u1 / (n1 * n2) - 1, np.nan)
        sigma = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))))
        z = np.maximum(np.abs(u1 - n1 * n2 / 2) - 0.5, 0) / sigma
        p = np.where((n1 > 0) & (n2 > 0) & (sigma > 0), 2 * stats.norm.sf(z), np.nan)
    # Kruskal-Wallis among segmented users only.
    seg = gv < n_seg
    if seg.sum() < 3 or np.unique(gv[seg]).size < 2:
        return r_b, p, np.nan
    if not seg.all():
        xs, gs = xv[seg], gv[seg]
        ranks, tie = stats.rankdata(xs), _tie_term(xs)
    else:
        gs = gv
    m = ranks.size
    rs = np.bincount(gs, weights=ranks, minlength=n_seg)
    ns = np.bincount(gs, minlength=n_seg).astype(float)
    nz = ns > 0
    h = 12 / (m * (m + 1)) * np.sum(rs[nz] ** 2 / ns[nz]) - 3 * (m + 1)
    denom = 1 - tie / (m**3 - m)
    eps2 = (h / denom) / (m - 1) if denom > 0 else np.nan
    return r_b, p, float(np.clip(eps2, 0, 1)) if np.isfinite(eps2) else np.nan


def _cramers_v(counts: np.ndarray) -> float:
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    r, c = counts.shape
    if r < 2 or c < 2:
        return np.nan
    n = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def _share_tests(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided p of segment share x1/n1 vs rest share x2/n2 (z test; Fisher for small counts)."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
        expected = np.stack([n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)])
    p = np.where((n1 > 0) & (n2 > 0), p, np.nan)
    small = (np.min(expected, axis=0) < 5) & (n1 > 0) & (n2 > 0) & (se > 0)
    for i in np.flatnonzero(small):
        table = [[x1[i], n1[i] - x1[i]], [x2[i], n2[i] - x2[i]]]
        p[i] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    return p


# --------------------------------------------------------------------------------------------
# The profile table
# --------------------------------------------------------------------------------------------
def profile_segments(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    bases: Iterable[str] | None = None,
    variables: Iterable[str] | None = None,
    alpha: float = 0.05,
    min_effect: float | Mapping[str, float] = DEFAULT_MIN_EFFECT,
    n_boot: int = 1000,
    ci: float = 0.95,
    max_levels: int = 20,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Profile every segment on every variable against the rest of the audience.

    Parameters
    ----------
    table : DataFrame
        One row per user (e.g. ``Audience.table``).
    segments : DataFrame, Series or array-like
        Segment labels, see :func:`align_segments` (-1 = unsegmented: counted in "overall" and
        in "the rest", never profiled itself).
    columns : DataFrame, list of str or None
        The column catalogue (``Audience.columns``), column names, or None for every column
        (kinds inferred, role "descriptor"). Columns with roles demographic, behaviour, opinion,
        outcome (or descriptor) and kinds numeric, ordinal, categorical or binary are profiled.
    bases : iterable of str, optional
        Columns (or roles) that formed the segments; default: roles demographic and behaviour.
        Their rows get ``evidence="description"`` and are never ``significant``.
    variables : iterable of str, optional
        Restrict the profile to these columns.
    alpha : float
        False discovery rate: a row is significant when ``q < alpha``.
    min_effect : float or mapping
        Smallest effect that matters, in Cohen's d/h units (see :func:`effect_thresholds`);
        default 0.3, between small and medium.
    n_boot : int
        Bootstrap resamples for the intervals of means (0 = no intervals for means).
    ci : float
        Confidence level of the intervals.
    max_levels : int
        Categorical levels kept per variable; rarer levels are grouped as "other".
    random_state : int, Generator or None
        Seed of the bootstrap.

    Returns
    -------
    DataFrame
        One row per (segment, variable, level) with the columns of :data:`PROFILE_COLUMNS`.
        A row is ``significant`` when it is not a base, ``q < alpha``, ``|effect|`` reaches
        the threshold, and its variable differs across segments at all (the Kruskal-Wallis or
        chi-square q-value of :func:`variable_tests` is below ``alpha`` too: post-hoc rows
        are protected by their omnibus test).
        ``index`` is NaN where a ratio to the average means nothing (overall <= 0, or a
        variable with negative values).
        ``q`` is the Benjamini-Hochberg q-value over all evidence rows of the table (bases form
        their own family, so their by-construction p-values cannot loosen the correction).

    Examples
    --------
    >>> t = pd.DataFrame({"plan": ["a", "b"] * 150, "spend": np.arange(300.0)})
    >>> prof = profile_segments(t, np.repeat([1, 2], 150), n_boot=100)
    >>> sorted(prof["variable"].unique())
    ['plan', 'spend']
    """
    labels = align_segments(table, segments)
    cat = column_catalogue(table, columns)
    if variables is not None:
        wanted = list(variables)
        missing = [v for v in wanted if v not in cat.index]
        if missing:
            raise DataError(
                f"Variable(s) {', '.join(map(str, missing[:5]))} are not in the column catalogue."
                f" Available: {', '.join(map(str, cat.index[:12]))}."
            )
        cat = cat.loc[wanted]
    base_set = _resolve_bases(cat, bases)
    seg_ids = np.unique(labels[labels >= 0])
    if seg_ids.size == 0:
        raise DataError(
            "No user has a segment label (all are missing or -1). Check that the segments table "
            "matches the user table's ids."
        )
    n_seg = seg_ids.size
    group = np.full(labels.size, n_seg, dtype=np.int64)
    group[labels >= 0] = np.searchsorted(seg_ids, labels[labels >= 0])
    prepared = _prepare(table, cat, base_set, max_levels)
    thresholds = effect_thresholds(min_effect)

    blocks: list[pd.DataFrame] = []
    numeric = [v for v in prepared if v.kind in ("numeric", "ordinal")]
    if numeric:
        blocks.append(_numeric_rows(numeric, group, n_seg, n_boot, ci, random_state))
    for v in prepared:
        if v.kind in ("categorical", "binary"):
            blocks.append(_share_rows(v, group, n_seg, ci))
    if not blocks:
        raise DataError(
            "No column can be profiled: none has a role among "
            f"{', '.join(PROFILE_ROLES)} and a kind among {', '.join(PROFILE_KINDS)}."
        )
    prof = pd.concat(blocks, ignore_index=True)
    prof["segment"] = seg_ids[prof.pop("_g").to_numpy()]
    prof["q"] = np.nan
    for is_base in (False, True):
        sel = prof["is_base"].to_numpy() == is_base
        prof.loc[sel, "q"] = benjamini_hochberg(prof.loc[sel, "p"].to_numpy())
    thr = prof["effect_name"].map(thresholds).to_numpy(dtype=float)
    gate = prof["variable"].map(variable_tests(prof)["q"]).to_numpy(dtype=float)
    prof["significant"] = (
        (prof["q"].to_numpy() < alpha)
        & (np.abs(prof["effect"].to_numpy()) >= thr)
        & (gate < alpha)
        & ~prof["is_base"].to_numpy()
    )
    prof["evidence"] = np.where(prof["is_base"], "description", "test")
    order = {name: i for i, name in enumerate(cat.index)}
    prof["_v"] = prof["variable"].map(order)
    prof = prof.sort_values(["segment", "_v", "_lv"], kind="mergesort").drop(columns=["_v", "_lv"])
    prof = prof[PROFILE_COLUMNS].reset_index(drop=True)
    prof["segment"] = prof["segment"].astype(np.int64)
    prof["n"] = prof["n"].astype(np.int64)
    prof["is_base"] = prof["is_base"].astype(bool)
    prof["significant"] = prof["significant"].astype(bool)
    for c in ("variable", "level", "label", "role", "kind", "effect_name", "variable_effect_name"):
        prof[c] = prof[c].astype(str)
    prof["evidence"] = prof["evidence"].astype(str)
    prof.attrs["alpha"] = alpha
    prof.attrs["min_effect"] = min_effect
    prof.attrs["thresholds"] = thresholds
    return prof


def variable_tests(profiles: pd.DataFrame) -> pd.DataFrame:
    """The across-segment test of each variable, recovered from a profile table.

    Kruskal-Wallis for numeric and ordinal variables (``H = epsilon^2 (n - 1)``, k - 1 degrees
    of freedom) and chi-square for categorical and binary ones (``chi2 = V^2 n (min(k, L) - 1)``,
    (k - 1)(L - 1) degrees of freedom), with Benjamini-Hochberg q-values across variables,
    separately for bases and for the other variables. :func:`profile_segments` uses them as a
    gate: a segment-vs-rest row is significant only when its variable differs across segments.

    Returns
    -------
    DataFrame
        Index ``variable``; columns ``is_base``, ``test``, ``statistic``, ``df``, ``n``, ``p``,
        ``q``.

    Examples
    --------
    >>> t = pd.DataFrame({"spend": np.r_[np.zeros(100), np.arange(100.0)]})
    >>> prof = profile_segments(t, np.repeat([1, 2], 100), n_boot=0)
    >>> tests = variable_tests(prof)
    >>> tests.loc["spend", "test"], bool(tests.loc["spend", "q"] < 0.05)
    ('kruskal_wallis', True)
    """
    k = int(profiles["segment"].nunique())
    codes, names = pd.factorize(profiles["variable"])
    first = np.unique(codes, return_index=True)[1]
    rows = np.bincount(codes).astype(float)
    per_segment = rows / k  # level rows per segment (1 for numbers and binaries)
    n = np.bincount(codes, weights=profiles["n"].to_numpy(dtype=float)) / per_segment
    effect = profiles["variable_effect"].to_numpy(dtype=float)[first]
    ranked = profiles["effect_name"].to_numpy()[first] == "rank_biserial"
    binary = profiles["kind"].to_numpy()[first] == "binary"
    levels = np.where(binary, 2.0, per_segment)
    df = np.where(ranked, k - 1.0, (k - 1.0) * (levels - 1))
    stat = np.where(ranked, effect * (n - 1), effect**2 * n * (np.minimum(k, levels) - 1))
    ok = np.isfinite(stat) & (df > 0)
    p = np.full(stat.shape, np.nan)
    p[ok] = stats.chi2.sf(stat[ok], df[ok])
    out = pd.DataFrame(
        {
            "variable": np.asarray(names, dtype=object),
            "is_base": profiles["is_base"].to_numpy(dtype=bool)[first],
            "test": np.where(ranked, "kruskal_wallis", "chi_square"),
            "statistic": stat,
            "df": df,
            "n": n,
            "p": p,
        }
    )
    out["q"] = np.nan
    for is_base in (False, True):
        sel = out["is_base"].to_numpy() == is_base
        out.loc[sel, "q"] = benjamini_hochberg(out.loc[sel, "p"].to_numpy())
    return out.set_index("variable")


def _numeric_rows(
    variables: list[_Var], group: np.ndarray, n_seg: int, n_boot: int, ci: float, random_state: Any
) -> pd.DataFrame:
    x = np.column_stack([v.values for v in variables])
    mask = ~np.isnan(x)
    x0 = np.where(mask, x, 0.0)
    n_all = n_seg + 1
    cnt = np.zeros((n_all, x.shape[1]))
    s1 = np.zeros_like(cnt)
    s2 = np.zeros_like(cnt)
    np.add.at(cnt, group, mask.astype(float))
    np.add.at(s1, group, x0)
    np.add.at(s2, group, x0**2)
    tot_n, tot_s1, tot_s2 = cnt.sum(0), s1.sum(0), s2.sum(0)
    cnt, s1, s2 = cnt[:n_seg], s1[:n_seg], s2[:n_seg]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / cnt
        overall = tot_s1 / tot_n
        rn, rs1, rs2 = tot_n - cnt, tot_s1 - s1, tot_s2 - s2
        rest_mean = rs1 / rn
        var_seg = (s2 - cnt * mean**2) / (cnt - 1)
        var_rest = (rs2 - rn * rest_mean**2) / (rn - 1)
        pooled = np.sqrt(
            np.clip(((cnt - 1) * var_seg + (rn - 1) * var_rest) / (cnt + rn - 2), 0, None)
        )
        d = np.where(pooled > 0, (mean - rest_mean) / pooled, np.nan)
        # An index (ratio to the average) only means something for non-negative quantities.
        nonneg = np.nanmin(np.where(mask, x, np.inf), axis=0) >= 0
        index = np.where((overall > 0) & nonneg, 100 * mean / overall, np.nan)
    median = np.full_like(mean, np.nan)
    for g in range(n_seg):
        rows = group == g
        if rows.any():
            sub = x[rows]
            ok = mask[rows].any(axis=0)
            if ok.any():
                median[g, ok] = np.nanmedian(sub[:, ok], axis=0)
    low, high = _bootstrap_ratio(
        x0, mask.astype(float), group, n_seg, n_boot=n_boot, level=ci, random_state=random_state
    )
    m = len(variables)
    tests = [_rank_tests(x[:, j], group, n_seg) for j in range(m)]
    r_b = np.column_stack([t[0] for t in tests])  # segments x variables
    p = np.column_stack([t[1] for t in tests])
    eps2 = np.array([t[2] for t in tests])

    def each(values: Any) -> np.ndarray:  # one value per variable -> one per row
        return np.repeat(np.asarray(values, dtype=object), n_seg)

    def cells(a: np.ndarray) -> np.ndarray:  # segments x variables -> rows (variable-major)
        return np.asarray(a, dtype=float).T.ravel()

    return pd.DataFrame(
        {
            "_g": np.tile(np.arange(n_seg), m),
            "variable": each([v.name for v in variables]),
            "level": "",
            "_lv": 0,
            "label": each([v.label for v in variables]),
            "role": each([v.role for v in variables]),
            "kind": each([v.kind for v in variables]),
            "is_base": np.repeat([v.is_base for v in variables], n_seg),
            "n": cells(cnt),
            "value": cells(mean),
            "median": cells(median),
            "overall": np.repeat(overall, n_seg),
            "index": cells(index),
            "std_diff": cells(d),
            "effect": cells(r_b),
            "effect_name": "rank_biserial",
            "p": cells(p),
            "ci_low": cells(low),
            "ci_high": cells(high),
            "variable_effect": np.repeat(eps2, n_seg),
            "variable_effect_name": "epsilon_squared",
        }
    )


def _share_rows(v: _Var, group: np.ndarray, n_seg: int, ci: float) -> pd.DataFrame:
    ok = v.codes >= 0
    n_lv = len(v.levels)
    counts = np.zeros((n_seg + 1, n_lv))
    np.add.at(counts, (group[ok], v.codes[ok]), 1.0)
    variable_effect = _cramers_v(counts[:n_seg])
    keep = [1] if v.kind == "binary" else list(range(n_lv))
    n_g = counts.sum(axis=1)[:n_seg]
    n_tot = counts.sum()
    x1 = counts[:n_seg][:, keep]
    tot = counts.sum(axis=0)[keep]
    n1 = np.repeat(n_g[:, None], len(keep), axis=1)
    x2 = tot[None, :] - x1
    n2 = n_tot - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        share = x1 / n1
        rest = x2 / n2
        overall = tot / n_tot
        index = np.where(overall > 0, 100 * share / overall, np.nan)
    h = cohens_h(share, rest)
    p = _share_tests(x1.ravel(), n1.ravel(), x2.ravel(), n2.ravel()).reshape(x1.shape)
    low, high = wilson_interval(x1, n1, level=ci)
    level_names = [v.positive if v.kind == "binary" else v.levels[k] for k in keep]
    k = len(keep)
    return pd.DataFrame(
        {
            "_g": np.repeat(np.arange(n_seg), k),
            "variable": v.name,
            "level": np.tile(level_names, n_seg),
            "_lv": np.tile(np.arange(k), n_seg),
            "label": v.label,
            "role": v.role,
            "kind": v.kind,
            "is_base": v.is_base,
            "n": n1.ravel(),
            "value": share.ravel(),
            "median": np.nan,
            "overall": np.tile(overall, n_seg),
            "index": index.ravel(),
            "std_diff": h.ravel(),
            "effect": h.ravel(),
            "effect_name": "cohens_h",
            "p": p.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "variable_effect": variable_effect,
            "variable_effect_name": "cramers_v",
        }
    )


# --------------------------------------------------------------------------------------------
# Associations between raw variables
# --------------------------------------------------------------------------------------------
def association_matrix(
    table: pd.DataFrame,
    columns: Any = None,
    *,
    bins: int = 5,
    max_levels: int = 12,
    roles: Sequence[str] = PROFILE_ROLES,
) -> pd.DataFrame:
    """Cramér's V between every pair of variables (numbers binned into quantiles) for a heatmap.

    Parameters
    ----------
    table : DataFrame
        One row per user.
    columns : DataFrame, list of str or None
        Column catalogue or names (see :func:`column_catalogue`).
    bins : int
        Quantile bins for numeric and ordinal variables (fewer when values repeat).
    max_levels : int
        Categorical levels kept; rarer ones are grouped.
    roles : sequence of str
        Roles included (default: everything that is profiled).

    Returns
    -------
    DataFrame
        Square, symmetric, index and columns named by variable; 1 on the diagonal. Pairs are
        computed on users with both values; NaN when fewer than 2 levels remain.

    Examples
    --------
    >>> t = pd.DataFrame({"a": list("xyxy") * 25, "b": list("xyxy") * 25, "c": [1.0, 2] * 50})
    >>> float(association_matrix(t).loc["a", "b"])
    1.0
    """
    cat = column_catalogue(table, columns)
    cat = cat[cat["role"].isin(roles) & cat["kind"].isin(PROFILE_KINDS)]
    codes: dict[str, np.ndarray] = {}
    for name, row in cat.iterrows():
        s = table[name]
        if row["kind"] in ("numeric", "ordinal"):
            order = _order(row["order"])
            if row["kind"] == "ordinal" and order and not pd.api.types.is_numeric_dtype(s):
                c = _level_codes(s, [str(v) for v in order])
            else:
                x = _float_array(s)
                ok = np.isfinite(x)
                c = np.full(x.size, -1, dtype=np.int64)
                if ok.sum() > 1:
                    uniq = np.unique(x[ok])
                    if uniq.size <= bins:
                        c[ok] = np.searchsorted(uniq, x[ok])
                    else:
                        edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, bins + 1)[1:-1]))
                        c[ok] = np.searchsorted(edges, x[ok], side="right")
        else:
            c, uniques = _text_codes(s)
            if len(uniques) > max_levels:
                freq = np.bincount(c[c >= 0], minlength=len(uniques))
                rank = np.empty(len(uniques), dtype=np.int64)
                rank[np.argsort(-freq, kind="mergesort")] = np.arange(len(uniques))
                c = np.where(c >= 0, np.minimum(rank[np.maximum(c, 0)], max_levels - 1), -1)
        if np.unique(c[c >= 0]).size >= 2:
            codes[str(name)] = c
    names = list(codes)
    out = np.eye(len(names))
    for i in range(len(names)):
        a = codes[names[i]]
        for j in range(i + 1, len(names)):
            b = codes[names[j]]
            ok = (a >= 0) & (b >= 0)
            la, lb = a[ok].max(initial=0) + 1, b[ok].max(initial=0) + 1
            counts = np.bincount(a[ok] * lb + b[ok], minlength=la * lb).reshape(la, lb)
            out[i, j] = out[j, i] = _cramers_v(counts.astype(float)) if ok.any() else np.nan
    result = pd.DataFrame(out, index=names, columns=names)
    result.index.name = "variable"
    result.columns.name = "variable"
    return result
