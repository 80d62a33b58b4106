"""Data-quality profile of a loaded audience, for the ``01-explore`` template.

:func:`quality_report` describes every column (missing share, distinct values, range, outliers
by the IQR rule, most frequent level); :func:`raw_associations` measures how strongly each pair
of variables is related before any segmentation (Spearman's rho between numbers, Cramér's V
between categories, the correlation ratio between a category and a number). Both read the
column catalogue, so they work for any spec. Free-text columns are profiled by their length
only: their most frequent value is never shown, since comments may hold personal data.

Examples
--------
>>> from toolkit.load import load_audience
>>> audience = load_audience("data-samples/shop/report.yaml")  # doctest: +SKIP
>>> quality_report(audience).loc["age", "missing_share"]  # doctest: +SKIP
0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["quality_report", "raw_associations", "association_kinds", "iqr_outliers"]

_NUMERIC_KINDS = ("numeric", "binary", "ordinal")
_ASSOC_KINDS = ("numeric", "binary", "ordinal", "categorical")


def _catalogue(audience: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = audience.table
    cat = audience.columns
    return table, cat


def iqr_outliers(values: pd.Series, k: float = 1.5) -> pd.Series:
    """Boolean mask of values outside ``[Q1 - k * IQR, Q3 + k * IQR]`` (missing -> False).

    Examples
    --------
    >>> iqr_outliers(pd.Series([1, 2, 3, 4, 100])).tolist()
    [False, False, False, False, True]
    """
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    q1, q3 = np.nanpercentile(x, [25, 75]) if x.notna().any() else (np.nan, np.nan)
    iqr = q3 - q1
    return ((x < q1 - k * iqr) | (x > q3 + k * iqr)).fillna(False).astype(bool)


def _as_numbers(s: pd.Series, kind: str, order: Any) -> pd.Series | None:
    """Numeric view of a column for ranges and rank correlations (None if not numeric)."""
    if kind in ("numeric", "binary") or (kind == "ordinal" and order is None):
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("float64")
        return None
    if kind == "ordinal" and order is not None:
        codes = {str(level): i for i, level in enumerate(order)}
        return s.map(lambda v: codes.get(str(v), np.nan) if pd.notna(v) else np.nan).astype(
            "float64"
        )
    return None


def _level_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def quality_report(audience: Any) -> pd.DataFrame:
    """Profile every column of an audience.

    Parameters
    ----------
    audience : Audience
        A loaded audience (``table`` and ``columns`` catalogue).

    Returns
    -------
    DataFrame
        Indexed by ``column`` in table order, with ``role``, ``kind``, ``source``,
        ``missing_share`` (0-1), ``distinct`` (values besides missing), ``min``, ``median``,
        ``max`` (numbers; ordinal levels as positions 0, 1, ...), ``outlier_share`` (share of
        present values outside 1.5 IQR; numeric columns only), ``top_level`` and ``top_share``
        (most frequent level of categorical, ordinal and binary columns), ``usable`` and
        ``note`` (from the catalogue). Text columns report their median length in characters
        as ``median`` and never their values.

    Examples
    --------
    >>> report = quality_report(audience)  # doctest: +SKIP
    >>> report.columns[:4].tolist()  # doctest: +SKIP
    ['role', 'kind', 'source', 'missing_share']
    """
    table, cat = _catalogue(audience)
    rows = []
    for name in cat.index:
        if name not in table:
            continue
        s = table[name]
        info = cat.loc[name]
        kind = str(info["kind"])
        present = s.dropna()
        row: dict[str, Any] = {
            "column": name,
            "role": info["role"],
            "kind": kind,
            "source": info.get("source"),
            "missing_share": float(s.isna().mean()) if len(s) else np.nan,
            "distinct": int(present.nunique()),
            "min": np.nan,
            "median": np.nan,
            "max": np.nan,
            "outlier_share": np.nan,
            "top_level": None,
            "top_share": np.nan,
            "usable": bool(info.get("usable", True)),
            "note": info.get("note", "") or "",
        }
        nums = _as_numbers(s, kind, info.get("order"))
        if kind == "text":
            lengths = present.astype(str).str.len()
            row["median"] = float(lengths.median()) if len(lengths) else np.nan
            row["note"] = (row["note"] + "; " if row["note"] else "") + "median: characters"
        elif kind == "datetime":
            pass
        elif nums is not None and nums.notna().any():
            row["min"] = float(nums.min())
            row["median"] = float(nums.median())
            row["max"] = float(nums.max())
            if kind == "numeric":
                row["outlier_share"] = float(iqr_outliers(nums[nums.notna()]).mean())
        if kind in ("categorical", "ordinal", "binary") and len(present):
            counts = present.map(_level_text).value_counts()
            counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            row["top_level"] = str(counts.index[0])
            row["top_share"] = float(counts.iloc[0] / len(present))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("column")
    out["top_level"] = out["top_level"].astype("str")
    return out


def association_kinds(audience: Any, columns: Any = None) -> dict[str, str]:
    """``{column: "numeric" | "categorical"}`` for the columns :func:`raw_associations` uses:
    usable, non-text, non-date columns (numbers, binaries and ordinals count as numeric)."""
    table, cat = _catalogue(audience)
    names = list(cat.index) if columns is None else list(columns)
    out = {}
    for name in names:
        if name not in cat.index or name not in table:
            continue
        info = cat.loc[name]
        kind = str(info["kind"])
        if kind not in _ASSOC_KINDS or not bool(info.get("usable", True)):
            continue
        out[name] = "categorical" if kind == "categorical" else "numeric"
    return out


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    if len(a) < 2:
        return np.nan
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    r, c = ai.max() + 1, bi.max() + 1
    if min(r, c) < 2:
        return np.nan
    table = np.bincount(ai * c + bi, minlength=r * c).reshape(r, c).astype(float)
    expected = table.sum(1, keepdims=True) @ table.sum(0, keepdims=True) / len(a)
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (len(a) * (min(r, c) - 1))))


def _correlation_ratio(codes: np.ndarray, x: np.ndarray) -> float:
    ok = (codes >= 0) & ~np.isnan(x)
    codes, x = codes[ok], x[ok]
    if len(x) < 2:
        return np.nan
    _, ci = np.unique(codes, return_inverse=True)
    total = float(((x - x.mean()) ** 2).sum())
    if total == 0 or ci.max() < 1:
        return np.nan
    sums = np.bincount(ci, weights=x)
    counts = np.bincount(ci)
    between = float((counts * (sums / counts - x.mean()) ** 2).sum())
    return float(np.sqrt(between / total))


def raw_associations(
    audience: Any,
    *,
    columns: Any = None,
    sample: int | None = 5000,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Pairwise associations between variables, for a heatmap.

    Parameters
    ----------
    audience : Audience
        A loaded audience.
    columns : list of str, optional
        Variables to relate (default: every usable numeric, binary, ordinal and categorical
        column).
    sample : int or None
        Users drawn (without replacement, seeded) to keep the computation fast; None = all.
    random_state : int, optional
        Seed of the sample.

    Returns
    -------
    DataFrame
        Square, symmetric, indexed and labelled by variable: Spearman's rho (-1..1) between two
        numeric variables, Cramér's V (0..1) between two categorical ones, the correlation ratio
        eta (0..1) between a categorical and a numeric one; 1 on the diagonal; NaN when a pair
        has too few values. ``.attrs["method"]`` holds the method of each pair as a DataFrame of
        the same shape.

    Examples
    --------
    >>> assoc = raw_associations(audience, sample=2000)  # doctest: +SKIP
    >>> float(assoc.loc["events", "sessions"]) > 0.5  # doctest: +SKIP
    True
    """
    table, cat = _catalogue(audience)
    kinds = association_kinds(audience, columns)
    names = list(kinds)
    data = table[names]
    if sample is not None and len(data) > sample:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(len(data), size=sample, replace=False))
        data = data.iloc[rows]
    numeric = [n for n in names if kinds[n] == "numeric"]
    catcols = [n for n in names if kinds[n] == "categorical"]
    nums = pd.DataFrame(
        {n: _as_numbers(data[n], str(cat.loc[n, "kind"]), cat.loc[n, "order"]) for n in numeric},
        index=data.index,
    )
    codes = {
        n: pd.Categorical(data[n].astype("str")).codes.astype(np.int64)
        if data[n].notna().any()
        else np.full(len(data), -1)
        for n in catcols
    }
    for n in catcols:
        codes[n][data[n].isna().to_numpy()] = -1
    out = pd.DataFrame(np.nan, index=names, columns=names, dtype="float64")
    method = pd.DataFrame("", index=names, columns=names, dtype=object)
    if numeric:
        rho = nums.rank().corr(method="pearson", min_periods=3)
        out.loc[numeric, numeric] = rho.to_numpy()
        method.loc[numeric, numeric] = "spearman"
    for i, a in enumerate(catcols):
        for b in catcols[i:]:
            v = 1.0 if a == b else _cramers_v(codes[a], codes[b])
            out.loc[a, b] = out.loc[b, a] = v
            method.loc[a, b] = method.loc[b, a] = "cramers_v"
        for n in numeric:
            v = _correlation_ratio(codes[a], nums[n].to_numpy())
            out.loc[a, n] = out.loc[n, a] = v
            method.loc[a, n] = method.loc[n, a] = "correlation_ratio"
    for n in names:
        out.loc[n, n] = 1.0
    out.index.name = None
    out.attrs["method"] = method
    return out
