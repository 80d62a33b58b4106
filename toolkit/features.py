"""Role-aware feature preparation for segmentation: a scikit-learn transformer.

:class:`FeaturePreparer` turns the combined user table into a numeric matrix that clustering can
use. It reads what each column *is* from the column catalogue (``Audience.columns``: ``role``,
``kind``, ``scale_min``/``scale_max``, ``order``) or from a plain ``roles`` dict, and prepares
only the **bases** (default: the ``demographic`` and ``behaviour`` roles); every other column
merely describes the segments later.

Preparation per kind (one :class:`~sklearn.compose.ColumnTransformer` block each):

* **numeric** and numeric **binary** columns: ``log1p`` when a non-negative column is skewed
  (counts, money; skewness above ``skew_threshold``), median imputation plus a ``<col>_missing``
  flag when the column has missing values, robust scaling (median and IQR / 1.349, falling back
  to the standard deviation when the IQR is 0), clipping at ``±clip`` robust units.
* **ordinal** columns and **opinions**: mapped to 0-1 through the declared ``order`` or
  ``scale``, then median imputation plus a missing flag.
* **categorical** columns: one-hot; levels rarer than ``min_level_share`` are grouped into a
  ``(rare)`` column, missing values form a ``(missing)`` level.
* **text**, **datetime**, ``id``, ``pii`` and ``ignore`` columns are never used.

Balancing (``balance="variable"``, the default): every base *variable* is scaled so that its
output columns (value + missing flag, or all its one-hot columns) have a total variance of 1,
times ``weights[role]`` and ``weights[column]``. So a categorical variable with 30 one-hot
columns weighs as much as one numeric column, and every variable the analyst chose as a base
has the same say. ``balance="role"`` additionally scales every *role* block to the same total
variance (a role with 5 variables then weighs as much as a role with 20: on the bundled sample
this over-weights the few, overlapping demographics and recovers the planted segments worse);
``balance="none"`` keeps the per-kind scaling only.

Examples
--------
>>> import pandas as pd
>>> from toolkit.features import FeaturePreparer
>>> table = pd.DataFrame(
...     {
...         "age": [23, 35, 47, 59, None, 31],
...         "device": ["mobile", "desktop", "mobile", "tablet", "mobile", "desktop"],
...         "events": [3, 40, 7, 1, 12, 900],
...         "trust": [1, 5, 4, None, 2, 3],
...     }
... )
>>> roles = {"age": "demographic", "device": "demographic", "events": "behaviour",
...          "trust": {"role": "opinion", "scale": [1, 5]}}
>>> prep = FeaturePreparer(roles=roles, min_level_share=0.0).fit(table)
>>> list(prep.get_feature_names_out())
['age', 'age_missing', 'events', 'device=desktop', 'device=mobile', 'device=tablet']
>>> prep.base_columns_
['age', 'device', 'events']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.utils.validation import check_is_fitted, validate_data

from toolkit.errors import ConfigError, DataError, DataWarning

__all__ = ["FeaturePreparer", "DEFAULT_BASES", "column_specs"]

#: Roles that form the segments unless the analyst chooses otherwise (the contract's default).
DEFAULT_BASES = ("demographic", "behaviour")
#: Roles a column can have in the catalogue.
ROLES = ("id", "demographic", "behaviour", "opinion", "text", "outcome", "pii", "ignore")
_NEVER_ROLES = ("id", "pii", "ignore", "text")
_NEVER_KINDS = ("text", "datetime", "date")
RARE = "(rare)"
MISSING = "(missing)"


# --------------------------------------------------------------------------- column specs
def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def _infer_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "binary"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        values = pd.unique(s.dropna())
        if len(values) <= 2 and set(np.asarray(values, dtype=float)) <= {0.0, 1.0}:
            return "binary"
        return "numeric"
    if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.ordered:
        return "ordinal"
    return "categorical"


def column_specs(
    X: pd.DataFrame,
    columns: pd.DataFrame | None = None,
    roles: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Role, kind, scale and level order of every column of ``X`` that the catalogue knows.

    Parameters
    ----------
    X : DataFrame
        The user table.
    columns : DataFrame, optional
        The column catalogue (index ``column``; fields ``role``, ``kind``, ``scale_min``,
        ``scale_max``, ``order``, optionally ``usable``), as in ``Audience.columns``. Columns
        with ``usable=False`` (constant, empty) never become bases through their role.
    roles : dict, optional
        ``{column: role}`` or ``{column: {"role": ..., "kind": ..., "scale": [lo, hi],
        "order": [...]}}``, used when there is no catalogue. Kinds are inferred from dtypes.

    Returns
    -------
    dict
        ``{column: {"role", "kind", "scale", "order"}}``. Without catalogue and roles every
        column is a ``behaviour`` column with an inferred kind.

    Examples
    --------
    >>> import pandas as pd
    >>> column_specs(pd.DataFrame({"a": [1.0, 2.5], "b": ["x", "y"]}))["b"]["kind"]
    'categorical'
    """
    specs: dict[str, dict[str, Any]] = {}
    if columns is not None:
        cat = columns
        if "column" in cat.columns:
            cat = cat.set_index("column")
        if "role" not in cat.columns:
            raise ConfigError(
                "The column catalogue needs a 'role' field (one row per column, index 'column'); "
                f"it has fields {list(cat.columns)}. Pass Audience.columns or a roles dict."
            )
        for name, row in cat.iterrows():
            if name not in X.columns:
                continue
            kind = row.get("kind")
            kind = _infer_kind(X[name]) if _is_missing(kind) else str(kind)
            lo, hi = row.get("scale_min"), row.get("scale_max")
            scale = None if _is_missing(lo) or _is_missing(hi) else (float(lo), float(hi))
            order = row.get("order")
            order = None if order is None or np.ndim(order) == 0 else list(order)
            usable = row.get("usable", True)
            specs[str(name)] = {
                "role": str(row["role"]),
                "kind": kind,
                "scale": scale,
                "order": order,
                "usable": True if _is_missing(usable) else bool(usable),
            }
        return specs
    if roles is not None:
        for name, raw in roles.items():
            if name not in X.columns:
                continue
            info = dict(raw) if isinstance(raw, Mapping) else {"role": raw}
            role = str(info.get("role", "behaviour"))
            if role not in ROLES:
                raise ConfigError(
                    f"Column {name!r} has unknown role {role!r}; expected one of {list(ROLES)}."
                )
            kind = info.get("kind") or info.get("type") or _infer_kind(X[name])
            scale = info.get("scale")
            order = info.get("order")
            if order is not None and kind not in ("ordinal",):
                kind = "ordinal"
            if role == "opinion" and kind in ("numeric", "binary"):
                kind = "ordinal"
            specs[str(name)] = {
                "role": role,
                "kind": str(kind),
                "scale": None if scale is None else (float(scale[0]), float(scale[1])),
                "order": None if order is None else list(order),
            }
        return specs
    for name in X.columns:
        specs[str(name)] = {
            "role": "behaviour",
            "kind": _infer_kind(X[name]),
            "scale": None,
            "order": None,
        }
    return specs


def _select_bases(
    specs: dict[str, dict[str, Any]], bases: Any, *, explicit_roles: bool
) -> list[str]:
    """Columns that form the segments, in table order."""
    if bases is None:
        wanted_roles = set(DEFAULT_BASES) if explicit_roles else set(ROLES)
        wanted_cols: set[str] = set()
    else:
        items = [bases] if isinstance(bases, str) else list(bases)
        wanted_roles, wanted_cols = set(), set()
        unknown = []
        for item in items:
            if item in specs:
                wanted_cols.add(item)
            elif item in ROLES:
                wanted_roles.add(item)
            else:
                unknown.append(item)
        if unknown:
            raise ConfigError(
                f"bases {unknown[:5]} are neither roles nor columns of the table; expected "
                f"roles from {list(ROLES)} or columns such as {list(specs)[:8]}."
            )
    out = []
    for name, spec in specs.items():
        if spec["kind"] in _NEVER_KINDS:
            continue
        if name in wanted_cols:
            out.append(name)
        elif (
            spec["role"] in wanted_roles
            and spec["role"] not in _NEVER_ROLES
            and spec.get("usable", True)
        ):
            out.append(name)
    return out


# --------------------------------------------------------------------------- blocks
def _to_float(s: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        # a writable copy: callers transform it in place
        return s.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    num = pd.to_numeric(s, errors="coerce")
    bad = s[num.isna() & s.notna()]
    if len(bad):
        raise DataError(
            f"Column {column!r} should hold numbers but has values like "
            f"{list(pd.unique(bad.astype(str)))[:5]}; fix the data or declare the column "
            "categorical in the data spec."
        )
    return num.to_numpy(dtype="float64", na_value=np.nan, copy=True)


class _Block(TransformerMixin, BaseEstimator):
    """A ColumnTransformer block that can write its output straight into a wider array."""

    def n_out(self) -> int:
        return len(self.get_feature_names_out())

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(X), self.n_out()))
        self.transform_into(X, out)
        return out


class _FlaggedBlock(_Block):
    """A block of one output per column plus a missing flag where the column had gaps."""

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array(_flagged_names(self.columns_, self.flag_), dtype=object)

    def feature_sources(self) -> list[str]:
        return _flagged_sources(self.columns_, self.flag_)


class _NumericBlock(_FlaggedBlock):
    """log1p for skewed non-negative columns, median impute + flag, robust scale, clip."""

    def __init__(self, no_log: Sequence[str] = (), skew_threshold: float = 1.0, clip=5.0):
        self.no_log = no_log
        self.skew_threshold = skew_threshold
        self.clip = clip

    def fit(self, X: pd.DataFrame, y=None):
        self.columns_ = [str(c) for c in X.columns]
        self.log_, self.median_, self.scale_, self.flag_ = [], [], [], []
        for col in self.columns_:
            x = _to_float(X[col], col)
            ok = ~np.isnan(x)
            v = x[ok]
            use_log = False
            if col not in self.no_log and len(v) > 2 and v.min() >= 0:
                mean, sd = v.mean(), v.std()
                if sd > 0:
                    d = (v - mean) / sd
                    use_log = float(np.mean(d * d * d)) > self.skew_threshold
            if use_log:
                v = np.log1p(v)
            if len(v):
                q25, median, q75 = np.percentile(v, [25, 50, 75])
                scale = float(q75 - q25) / 1.349
                if scale <= 1e-12:
                    scale = float(v.std())
            else:
                median, scale = 0.0, 0.0
            self.log_.append(use_log)
            self.median_.append(float(median))
            self.scale_.append(scale if scale > 1e-12 else 1.0)
            self.flag_.append(bool((~ok).any()))
        return self

    def transform_into(self, X: pd.DataFrame, out: np.ndarray) -> None:
        j = 0
        for i, col in enumerate(self.columns_):
            x = _to_float(X[col], col)
            if self.log_[i]:
                np.clip(x, 0, None, out=x)
                np.log1p(x, out=x)
            miss = np.isnan(x)
            x[miss] = self.median_[i]
            x -= self.median_[i]
            x /= self.scale_[i]
            if self.clip is not None:
                np.clip(x, -self.clip, self.clip, out=x)
            out[:, j] = x
            j += 1
            if self.flag_[i]:
                out[:, j] = miss
                j += 1


def _flagged_names(columns: list[str], flags: list[bool]) -> list[str]:
    names = []
    for col, flag in zip(columns, flags, strict=True):
        names.append(col)
        if flag:
            names.append(f"{col}_missing")
    return names


def _flagged_sources(columns: list[str], flags: list[bool]) -> list[str]:
    src = []
    for col, flag in zip(columns, flags, strict=True):
        src.extend([col, col] if flag else [col])
    return src


def _factorize(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and the distinct values as text."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


class _OrdinalBlock(_FlaggedBlock):
    """Ordered levels or rating scales to 0-1, median impute + missing flag."""

    def __init__(self, mappings: Mapping[str, Any] | None = None):
        self.mappings = mappings

    def _scaled(self, s: pd.Series, col: str) -> tuple[np.ndarray, list[str]]:
        """Values on 0-1 (NaN = missing or unknown level) and the unknown levels seen."""
        how = (self.mappings or {}).get(col, {})
        order = how.get("order")
        if order is not None:
            codes, uniq = _factorize(s)
            pos = pd.Index([str(v) for v in order], dtype=object).get_indexer(uniq)
            if pd.api.types.is_numeric_dtype(s):  # 1.0 in the data, 1 in the order
                num = pd.Index([float(v) for v in order]).get_indexer(
                    pd.Index(pd.unique(s.dropna())).astype(float)
                )
                pos = np.where(pos < 0, num, pos)
            value = np.append(pos.astype(float), np.nan)  # code -1 -> NaN
            value[value < 0] = np.nan
            unknown = [u for u, p in zip(uniq, pos, strict=True) if p < 0]
            return value[codes] / max(len(order) - 1, 1), unknown
        x = _to_float(s, col)
        lo, hi = how.get("scale") or self.range_.get(col, (0.0, 1.0))
        if hi <= lo:
            return np.where(np.isnan(x), np.nan, 0.0), []
        return np.clip((x - lo) / (hi - lo), 0.0, 1.0), []

    def fit(self, X: pd.DataFrame, y=None):
        self.columns_ = [str(c) for c in X.columns]
        self.range_ = {}
        self.median_, self.flag_ = [], []
        for col in self.columns_:
            how = (self.mappings or {}).get(col, {})
            if how.get("order") is None and how.get("scale") is None:
                x = _to_float(X[col], col)
                ok = x[~np.isnan(x)]
                self.range_[col] = (float(ok.min()), float(ok.max())) if len(ok) else (0.0, 1.0)
            x, unknown = self._scaled(X[col], col)
            if unknown:
                warnings.warn(
                    f"Ordinal column {col!r} has values {unknown[:5]} outside its declared "
                    f"order {list(how['order'])}; they are treated as missing.",
                    DataWarning,
                    stacklevel=3,
                )
            ok = ~np.isnan(x)
            self.median_.append(float(np.median(x[ok])) if ok.any() else 0.0)
            self.flag_.append(bool((~ok).any()))
        return self

    def transform_into(self, X: pd.DataFrame, out: np.ndarray) -> None:
        j = 0
        for i, col in enumerate(self.columns_):
            x, _ = self._scaled(X[col], col)
            miss = np.isnan(x)
            x[miss] = self.median_[i]
            out[:, j] = x
            j += 1
            if self.flag_[i]:
                out[:, j] = miss
                j += 1


class _CategoricalBlock(_Block):
    """One-hot (or integer codes) with rare levels grouped and missing as its own level."""

    def __init__(self, min_level_share: float = 0.02, encode: str = "onehot"):
        self.min_level_share = min_level_share
        self.encode = encode

    def fit(self, X: pd.DataFrame, y=None):
        self.columns_ = [str(c) for c in X.columns]
        self.levels_, self.rare_levels_ = [], []
        n = max(len(X), 1)
        for col in self.columns_:
            codes, uniq = _factorize(X[col])
            counts = np.bincount(codes[codes >= 0], minlength=len(uniq))
            shares = dict(zip(uniq, counts / n, strict=True))
            n_missing = int((codes < 0).sum())
            if n_missing:
                shares[MISSING] = n_missing / n
            keep = sorted(v for v, sh in shares.items() if sh >= self.min_level_share)
            rare = sorted(v for v, sh in shares.items() if sh < self.min_level_share)
            self.levels_.append(keep + ([RARE] if rare else []))
            self.rare_levels_.append(rare)
        return self

    def _codes(self, s: pd.Series, i: int) -> np.ndarray:
        levels = self.levels_[i]
        codes, uniq = _factorize(s)
        index = pd.Index(levels, dtype=object)
        lut = np.append(index.get_indexer(uniq), index.get_indexer([MISSING]))  # -1 -> missing
        fallback = levels.index(RARE) if RARE in levels else -1
        lut[lut < 0] = fallback
        return lut[codes]

    def n_out(self) -> int:
        if self.encode == "codes":
            return len(self.columns_)
        return sum(len(lv) for lv in self.levels_)

    def transform_into(self, X: pd.DataFrame, out: np.ndarray) -> None:
        j = 0
        rows = np.arange(len(X))
        for i, col in enumerate(self.columns_):
            codes = self._codes(X[col], i)
            if self.encode == "codes":
                out[:, j] = codes
                j += 1
                continue
            width = len(self.levels_[i])
            out[:, j : j + width] = 0.0
            ok = codes >= 0
            out[rows[ok], j + codes[ok]] = 1.0
            j += width

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if self.encode == "codes":
            return np.array(self.columns_, dtype=object)
        return np.array(
            [f"{c}={lv}" for c, lv in zip(self.columns_, self.levels_, strict=True) for lv in lv],
            dtype=object,
        )

    def feature_sources(self) -> list[str]:
        if self.encode == "codes":
            return list(self.columns_)
        return [c for c, lv in zip(self.columns_, self.levels_, strict=True) for _ in lv]


# --------------------------------------------------------------------------- the preparer
class FeaturePreparer(TransformerMixin, BaseEstimator):
    """Prepare the segmentation bases of a user table: impute, transform, scale, one-hot, balance.

    Parameters
    ----------
    columns : DataFrame, optional
        The column catalogue (``Audience.columns``). Takes precedence over ``roles``.
    roles : dict, optional
        ``{column: role}`` (or ``{column: {"role", "kind", "scale", "order"}}``) when there is no
        catalogue. Without both, every column is a base and kinds are inferred from dtypes.
    bases : sequence of str, optional
        Roles and/or column names that form the segments. Default: roles ``demographic`` and
        ``behaviour`` (or every column when neither ``columns`` nor ``roles`` is given).
    weights : dict, optional
        Multipliers of the variance share of a role (``{"behaviour": 2}``) or of a single column.
    balance : {"variable", "role", "none"}, default="variable"
        ``"variable"``: each base variable has total variance 1 (times its weights).
        ``"role"``: in addition each role block has the same total variance.
        ``"none"``: per-kind scaling only.
    categorical : {"onehot", "codes"}, default="onehot"
        ``"codes"`` outputs one integer-code column per categorical variable (for k-prototypes).
    min_level_share : float, default=0.02
        Categorical levels rarer than this share are grouped into ``(rare)``.
    skew_threshold : float, default=1.0
        Non-negative numeric columns with a larger skewness are log1p-transformed.
    clip : float or None, default=5.0
        Robust-scaled numeric values are clipped to ``[-clip, clip]`` (outliers).

    Attributes
    ----------
    base_columns_ : list of str
        Columns that form the segments, in table order.
    descriptor_columns_ : list of str
        Usable columns that only describe the segments.
    specs_ : dict
        Role, kind, scale and order per known column.
    feature_sources_ : dict
        Output feature -> the input column it comes from.
    feature_weights_ : Series
        Multiplier applied to each output feature by the balancing.
    categorical_features_ : list of int
        Positions of integer-code columns (``categorical="codes"`` only).
    log_columns_ : list of str
        Numeric columns that were log1p-transformed.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"spend": [0, 10, 2000, 30], "city": ["a", "b", "a", "a"]})
    >>> FeaturePreparer(min_level_share=0).fit_transform(df).columns.tolist()
    ['spend', 'city=a', 'city=b']
    """

    def __init__(
        self,
        columns: pd.DataFrame | None = None,
        roles: Mapping[str, Any] | None = None,
        bases: Sequence[str] | None = None,
        weights: Mapping[str, float] | None = None,
        balance: str = "variable",
        categorical: str = "onehot",
        min_level_share: float = 0.02,
        skew_threshold: float = 1.0,
        clip: float | None = 5.0,
    ):
        self.columns = columns
        self.roles = roles
        self.bases = bases
        self.weights = weights
        self.balance = balance
        self.categorical = categorical
        self.min_level_share = min_level_share
        self.skew_threshold = skew_threshold
        self.clip = clip

    # -- helpers ----------------------------------------------------------------------------
    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            if reset:
                validate_data(self, X, reset=True, skip_check_array=True)
            return X
        arr = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite="allow-nan")
        return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])

    def _check_params(self) -> None:
        if self.balance not in ("role", "variable", "none"):
            raise ConfigError(
                f"balance={self.balance!r} is not supported; use 'role', 'variable' or 'none'."
            )
        if self.categorical not in ("onehot", "codes"):
            raise ConfigError(
                f"categorical={self.categorical!r} is not supported; use 'onehot' or 'codes'."
            )

    def fit(self, X: pd.DataFrame, y=None) -> FeaturePreparer:
        """Learn imputation values, transforms, scales, levels and balancing weights."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params) -> pd.DataFrame:
        """Fit and return the prepared training data (one pass over the data)."""
        self._check_params()
        df = self._frame(X, reset=True)
        explicit = self.columns is not None or self.roles is not None
        self.specs_ = column_specs(df, self.columns, self.roles)
        if not self.specs_:
            raise ConfigError(
                "None of the table's columns is in the column catalogue/roles; table columns: "
                f"{list(df.columns)[:10]}. Pass the catalogue that belongs to this table."
            )
        bases = _select_bases(self.specs_, self.bases, explicit_roles=explicit)
        if not bases:
            raise ConfigError(
                f"No usable base column for bases={self.bases!r}: roles present are "
                f"{sorted({s['role'] for s in self.specs_.values()})}. Choose other bases."
            )
        self.base_columns_ = bases
        self.descriptor_columns_ = [
            c
            for c, s in self.specs_.items()
            if c not in bases and s["role"] not in _NEVER_ROLES and s["kind"] not in _NEVER_KINDS
        ]
        num, ordl, cat, no_log, maps = [], [], [], [], {}
        for col in bases:
            spec = self.specs_[col]
            kind = spec["kind"]
            numeric_values = pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(
                df[col]
            )
            if kind == "ordinal" or spec["role"] == "opinion" and numeric_values:
                ordl.append(col)
                maps[col] = {"order": spec["order"], "scale": spec["scale"]}
            elif kind in ("numeric", "binary") and numeric_values:
                num.append(col)
                if kind == "binary":
                    no_log.append(col)
            elif kind == "numeric":
                num.append(col)  # numbers stored as text: _to_float checks them
            else:
                cat.append(col)
        blocks = [
            ("numeric", _NumericBlock(tuple(no_log), self.skew_threshold, self.clip), num),
            ("ordinal", _OrdinalBlock(maps), ordl),
            ("categorical", _CategoricalBlock(self.min_level_share, self.categorical), cat),
        ]
        self._ct = ColumnTransformer(
            [b for b in blocks if b[2]],
            remainder="drop",
            verbose_feature_names_out=False,
        )
        Z = np.asarray(self._ct.fit_transform(df[bases]), dtype="float64")
        names, sources = [], []
        for name, block, _cols in self._ct.transformers_:
            if name == "remainder" or block == "drop":
                continue
            names.extend(block.get_feature_names_out())
            sources.extend(block.feature_sources())
        n_code = len(cat) if self.categorical == "codes" else 0
        is_code = np.array([False] * (len(names) - n_code) + [True] * n_code)
        var = Z.var(axis=0) if len(Z) else np.zeros(len(names))
        # per-variable totals (ignoring integer-code columns, which k-prototypes weighs itself)
        totals: dict[str, float] = {}
        for j, src in enumerate(sources):
            if not is_code[j]:
                totals[src] = totals.get(src, 0.0) + float(var[j])
        empty = [c for c in bases if c in totals and totals[c] <= 1e-12]
        if empty:
            warnings.warn(
                f"Base columns {empty[:5]} are constant (or empty) in the data and are dropped "
                "from the segmentation features.",
                DataWarning,
                stacklevel=2,
            )
        role_n: dict[str, int] = {}
        for c in totals:
            if c not in empty:
                role_n[self.specs_[c]["role"]] = role_n.get(self.specs_[c]["role"], 0) + 1
        weights = dict(self.weights or {})
        unknown = [k for k in weights if k not in ROLES and k not in self.specs_]
        if unknown:
            raise ConfigError(
                f"weights keys {unknown[:5]} are neither roles nor columns; expected roles from "
                f"{list(ROLES)} or base columns such as {bases[:8]}."
            )
        mult = np.ones(len(names))
        keep = np.ones(len(names), dtype=bool)
        for j, src in enumerate(sources):
            role = self.specs_[src]["role"]
            w = float(weights.get(role, 1.0)) * float(weights.get(src, 1.0))
            if is_code[j]:
                continue
            if src in empty:
                keep[j] = False
                continue
            if self.balance == "none":
                mult[j] = np.sqrt(w)
            elif self.balance == "variable":
                mult[j] = np.sqrt(w / totals[src])
            else:
                mult[j] = np.sqrt(w / totals[src] / role_n[role])
        self._keep = keep
        self._mult = mult[keep]
        self.feature_names_out_ = np.array(names, dtype=object)[keep]
        self.feature_sources_ = dict(
            zip(self.feature_names_out_, np.array(sources, dtype=object)[keep], strict=True)
        )
        self.feature_weights_ = pd.Series(self._mult, index=self.feature_names_out_, name="weight")
        self.categorical_features_ = [int(i) for i in np.flatnonzero(is_code[keep])]
        self.log_columns_ = []
        if num:
            nb = self._ct.named_transformers_["numeric"]
            self.log_columns_ = [c for c, lg in zip(nb.columns_, nb.log_, strict=True) if lg]
        return self._finish(Z, df.index)

    def _finish(self, Z: np.ndarray, index: pd.Index) -> pd.DataFrame:
        if self._keep.all():
            Z *= self._mult  # in place: no copy of a large table
        else:
            Z = Z[:, self._keep] * self._mult
        return pd.DataFrame(Z, index=index, columns=list(self.feature_names_out_), copy=False)

    def _transform_blocks(self, df: pd.DataFrame) -> np.ndarray:
        """The fitted ColumnTransformer's blocks, written straight into one array."""
        blocks = [(b, cols) for name, b, cols in self._ct.transformers_ if name != "remainder"]
        out = np.empty((len(df), sum(b.n_out() for b, _ in blocks)))
        j = 0
        for block, cols in blocks:
            width = block.n_out()
            block.transform_into(df[cols], out[:, j : j + width])
            j += width
        return out

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Prepare new data with the fitted steps; returns a DataFrame with feature names."""
        check_is_fitted(self, "feature_names_out_")
        df = self._frame(X, reset=False)
        missing = [c for c in self.base_columns_ if c not in df.columns]
        if missing:
            raise DataError(
                f"The table lacks base columns {missing[:5]} that the preparation was fitted on; "
                f"it has {list(df.columns)[:10]}. Use a table with the same columns."
            )
        return self._finish(self._transform_blocks(df), df.index)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the prepared features (``col``, ``col_missing``, ``col=level``)."""
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags
