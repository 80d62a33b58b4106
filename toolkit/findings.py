"""What distinguishes each segment, in plain English: findings with generated sentences.

:func:`distinguishing_findings` picks, per segment, the variables that differ most from the rest
of the audience (only rows that pass the false-discovery and effect-size thresholds) and writes
one sentence per finding, such as "71% reach checkout vs 34% overall." Every number in a
sentence is a number of the same profile row, rounded by one rule (:func:`format_pair`), so a
test can check each one (:func:`sentence_numbers`, :func:`check_sentence`).

Examples
--------
>>> import pandas as pd
>>> from toolkit.findings import write_sentence
>>> row = pd.Series({"segment": 19, "variable": "reached_checkout", "level": "", "kind": "binary",
...                  "role": "outcome", "label": "Reached checkout", "value": 0.712,
...                  "overall": 0.341, "index": 208.8, "effect": 0.77})
>>> write_sentence(row)
'71% reach checkout vs 34% overall.'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.correlation import (
    DEFAULT_MIN_DESCRIPTION_EFFECT,
    DEFAULT_MIN_EFFECT,
    effect_thresholds,
    variable_tests,
)

__all__ = [
    "FINDINGS_COLUMNS",
    "distinguishing_findings",
    "finding_mask",
    "findings_markdown",
    "write_sentence",
    "format_pair",
    "sentence_numbers",
    "expected_numbers",
    "check_sentence",
    "scales_from_columns",
]

#: Columns of the findings table, in order.
FINDINGS_COLUMNS = [
    "segment",
    "rank",
    "variable",
    "level",
    "label",
    "role",
    "is_base",
    "value",
    "overall",
    "index",
    "effect",
    "q",
    "direction",
    "evidence",
    "sentence",
]

_SHARE_NAME = re.compile(r"(^|_)(share|rate|ratio|pct)s?($|_)")
_NUMBER = re.compile(r"(?<![\w.,])-?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w%])")
_QUOTED = re.compile(r"“[^”]*”")
_PARTS_OF_DAY = {"morning", "afternoon", "evening", "night"}
_GENDER_WORDS = {"female": "women", "male": "men", "woman": "women", "man": "men"}


# --------------------------------------------------------------------------------------------
# Rounding: one rule for both numbers of a sentence
# --------------------------------------------------------------------------------------------
def _is_share(row: Mapping[str, Any]) -> bool:
    """Shares are shown as percentages: levels, binaries and 0-1 share/rate variables."""
    if "kind" not in row:
        raise KeyError(
            "The row has no 'kind': pass the profile row (join findings with the profile table "
            "on segment, variable and level)."
        )
    if row["kind"] in ("binary", "categorical"):
        return True
    value, overall = float(row["value"]), float(row["overall"])
    in_unit = 0 <= value <= 1 and 0 <= overall <= 1
    return bool(in_unit and _SHARE_NAME.search(str(row["variable"]).lower()))


def _decimals_share(a: float, b: float) -> int:
    nonzero = [abs(100 * x) for x in (a, b) if x != 0]
    low = min(nonzero) if nonzero else 0.0
    d = 0 if low >= 4.5 else (1 if low >= 0.95 else 2)
    while d < 2 and _fmt(a, d, True) == _fmt(b, d, True):
        d += 1
    return d


def _decimals_number(a: float, b: float) -> int:
    nonzero = [abs(x) for x in (a, b) if x != 0]
    low = min(nonzero) if nonzero else 0.0
    d = 0 if low >= 99.5 else (1 if low >= 0.95 else (2 if low >= 0.095 else 3))
    while d < 3 and _fmt(a, d) == _fmt(b, d):
        d += 1
    return d


def _fmt(x: float, decimals: int, percent: bool = False) -> str:
    if percent:
        return f"{100 * x:,.{decimals}f}%"
    return f"{x:,.{decimals}f}"


def format_pair(
    row: Mapping[str, Any], *, scale: tuple[float, float] | None = None
) -> dict[str, str]:
    """The displayed numbers of a finding: ``value``, ``overall`` and, when used, ``ratio``
    (value / overall = index / 100, one decimal), ``diff`` (|index - 100| %, whole number) and
    ``scale_min``/``scale_max``. Both ``value`` and ``overall`` use the same decimals: shares as
    percentages (whole numbers from 4.5%, else 1-2 decimals), opinions on a scale with 1 decimal,
    other numbers with 0-3 decimals by magnitude; one more decimal when the two would look equal.

    Examples
    --------
    >>> format_pair({"kind": "numeric", "variable": "sessions", "value": 12.44,
    ...              "overall": 5.91, "index": 210.5})["ratio"]
    '2.1'
    """
    value, overall = float(row["value"]), float(row["overall"])
    out: dict[str, str] = {}
    if _is_share(row):
        d = _decimals_share(value, overall)
        out["value"], out["overall"] = _fmt(value, d, True), _fmt(overall, d, True)
    else:
        d = max(1, _decimals_number(value, overall)) if scale is not None else None
        d = d if d is not None else _decimals_number(value, overall)
        out["value"], out["overall"] = _fmt(value, d), _fmt(overall, d)
    index = float(row.get("index", np.nan))
    if np.isfinite(index):
        out["ratio"] = f"{index / 100:.1f}"
        out["diff"] = f"{abs(index - 100):.0f}%"
    if scale is not None:
        out["scale_min"], out["scale_max"] = _fmt_scale(scale[0]), _fmt_scale(scale[1])
    return out


def _fmt_scale(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------
def _label_mid(label: str) -> str:
    """Label for use inside a sentence: first letter lower-cased, unless the label has other
    capitals (acronyms, names such as "NPS" or "Division Name")."""
    if any(c.isupper() for c in label[1:]):
        return label
    return label[:1].lower() + label[1:]


def _choose(options: list[str], key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _templates(row: Mapping[str, Any], n: dict[str, str], scale: Any) -> list[str]:
    """Candidate phrasings (placeholders {v}, {o}, {r}, {d}, {lo}, {hi}) for one finding."""
    var = str(row["variable"]).lower()
    level = str(row.get("level", "") or "")
    kind, role = row["kind"], row.get("role", "")
    label = str(row["label"])
    lab, Lab = _label_mid(label), _capitalise(label)
    higher = float(row["value"]) >= float(row["overall"])
    index = float(row.get("index", np.nan))
    big_ratio = "ratio" in n and np.isfinite(index) and index >= 150
    well_below = "diff" in n and np.isfinite(index) and 0 < index <= 80

    # Funnel, purchases and conversion.
    if var.startswith("reached_") and kind == "binary":
        step = var[len("reached_") :].replace("_", " ")
        if higher:
            return [
                f"{{v}} reach {step} vs {{o}} overall",
                f"{{v}} get as far as {step}, against {{o}} overall",
                f"{_capitalise(step)} is reached by {{v}} of them vs {{o}} overall",
            ]
        return [
            f"Only {{v}} reach {step} vs {{o}} overall",
            f"Just {{v}} get as far as {step}, against {{o}} overall",
        ]
    if var == "purchased" and kind == "binary":
        if higher:
            return [
                "{v} have bought at least once vs {o} overall",
                "{v} are buyers, against {o} overall",
            ]
        return [
            "Only {v} have bought anything vs {o} overall",
            "Just {v} are buyers, against {o} overall",
        ]
    if var == "conversion_rate" and _is_share(row):
        return [
            "{v} of their sessions end in a purchase vs {o} overall",
            f"{'Their sessions convert at' if higher else 'Their sessions convert at just'} "
            "{v}, against {o} overall",
        ]
    # Opinions on a scale, and ordered levels.
    if role == "opinion" or (kind == "ordinal" and scale is not None):
        if role == "opinion" and scale is not None:
            only = "" if higher else "only "
            return [
                f"They rate {lab} {only}{{v}} of {{hi}} vs {{o}} overall",
                f"{Lab} averages {only}{{v}} out of {{hi}}, against {{o}} overall",
                f"On {lab} they give {only}{{v}} of {{hi}} on average, vs {{o}} overall",
            ]
        if role == "opinion":
            return [
                f"They rate {lab} {{v}} on average vs {{o}} overall",
                f"{Lab} averages {{v}}, against {{o}} overall",
            ]
        return [
            f"{Lab} averages {{v}} on a scale from {{lo}} to {{hi}}, vs {{o}} overall",
            f"On {lab} ({{lo}} to {{hi}}) they average {{v}} against {{o}} overall",
        ]
    # Shares of activity.
    if _is_share(row) and kind in ("numeric", "ordinal"):
        only = "" if higher else "only "
        m = re.match(r"share_(morning|afternoon|evening|night|weekend)$", var)
        if m:
            when = "at the weekend" if m.group(1) == "weekend" else f"in the {m.group(1)}"
            if m.group(1) == "night":
                when = "at night"
            return [
                f"{_capitalise(only)}{{v}} of their activity is {when} vs {{o}} overall",
                f"They do {only}{{v}} of their shopping {when}, against {{o}} overall",
            ]
        m = re.match(r"share_device_(.+)$", var)
        if m:
            dev = m.group(1).replace("_", " ")
            return [
                f"{_capitalise(only)}{{v}} of their activity is on {dev} vs {{o}} overall",
                f"They use {dev} for {only}{{v}} of their activity, against {{o}} overall",
            ]
        m = re.match(r"share_cat_(.+)$", var)
        if m:
            catg = m.group(1).replace("_", " ")
            return [
                f"{_capitalise(only)}{{v}} of their product views are in {catg} vs {{o}} overall",
                f"{_capitalise(catg)} makes up {only}{{v}} of what they view, "
                "against {o} overall",
            ]
        return [
            f"{Lab}: {only}{{v}} vs {{o}} overall",
            f"{Lab} averages {only}{{v}}, against {{o}} overall",
        ]
    # Levels of categories and binary flags.
    if kind in ("categorical", "binary"):
        q = f"“{level}”" if level else ""
        only, just = ("", "") if higher else ("only ", "just ")
        if var == "gender" and level.lower() in _GENDER_WORDS:
            who = _GENDER_WORDS[level.lower()]
            return [
                f"{_capitalise(only)}{{v}} are {who} vs {{o}} overall",
                f"{_capitalise(who)} make up {just}{{v}} of the segment, against {{o}} overall",
            ]
        if var in ("device", "main_device") and level:
            return [
                f"{_capitalise(only)}{{v}} mainly shop on {level} vs {{o}} overall",
                f"{_capitalise(level)} is the main device of {just}{{v}}, against {{o}} overall",
            ]
        if var == "favourite_category" and level:
            if level == "none":
                return [f"{_capitalise(only)}{{v}} have no orders yet vs {{o}} overall"]
            return [
                f"{_capitalise(only)}{{v}} spend most on {level} vs {{o}} overall",
                f"{_capitalise(level)} is the favourite category of {just}{{v}}, "
                "against {o} overall",
            ]
        if var == "dropout_step" and level:
            step = level.replace("_", " ")
            if level == "none":
                return [f"{_capitalise(only)}{{v}} buy in every session vs {{o}} overall"]
            return [
                f"{_capitalise(only)}{{v}} most often leave at the {step} step vs {{o}} overall",
                f"For {just}{{v}} the usual exit point is {step}, against {{o}} overall",
            ]
        if kind == "binary":
            what = f"{lab} {q}".strip()
            return [
                f"{Lab}{' ' + q if q else ''}: {only}{{v}} vs {{o}} overall",
                f"{_capitalise(only)}{{v}} show {what}, against {{o}} overall",
                f"The share with {what} is {just}{{v}} vs {{o}} overall",
            ]
        return [
            f"{_capitalise(only)}{{v}} have {lab} {q} vs {{o}} overall",
            f"{Lab} is {q} for {just}{{v}}, against {{o}} overall",
            f"{_capitalise(only)}{{v}} fall into {lab} {q} (vs {{o}} overall)",
        ]
    # Numbers.
    known = {
        "sessions": (
            "They visit {r} times as often as average ({v} vs {o} sessions)",
            "They have {v} sessions on average vs {o} overall",
            "They visit {d} less often than average ({v} vs {o} sessions)",
        ),
        "events": (
            "They are {r} times as active as average ({v} vs {o} events)",
            "They log {v} events on average vs {o} overall",
            "They are {d} less active than average ({v} vs {o} events)",
        ),
        "revenue": (
            "They spend {r} times as much as average ({v} vs {o} per user)",
            "They spend {v} per user vs {o} overall",
            "They spend {d} less than average ({v} vs {o} per user)",
        ),
        "orders": (
            "They order {r} times as often as average ({v} vs {o} orders)",
            "They place {v} orders on average vs {o} overall",
            "They order {d} less often than average ({v} vs {o} orders)",
        ),
        "avg_order_value": (
            "Their orders are {r} times the average value ({v} vs {o})",
            "Their orders are worth {v} on average vs {o} overall",
            "Their orders are {d} smaller than average ({v} vs {o})",
        ),
        "age": (
            "They are {v} years old on average vs {o} overall",
            "They are {v} years old on average vs {o} overall",
            "They are younger: {v} years on average vs {o} overall",
        ),
        "active_days": (
            "They are active on {r} times as many days as average ({v} vs {o})",
            "They are active on {v} days on average vs {o} overall",
            "They are active on {d} fewer days than average ({v} vs {o})",
        ),
        "recency_days": (
            "Their last visit was {v} days before the end of the log on average, vs {o} overall",
            "Their last visit was {v} days before the end of the log on average, vs {o} overall",
            "They were active recently: last seen {v} days before the end vs {o} overall",
        ),
    }
    if var in known:
        ratio, plain, lower = known[var]
        if higher:
            return [ratio] if big_ratio else [plain]
        return [lower] if well_below else [plain]
    if higher:
        if big_ratio:
            return [
                f"{Lab} is {{r}} times the average ({{v}} vs {{o}})",
                f"{Lab}: {{r}} times the average ({{v}} vs {{o}})",
            ]
        return [
            f"{Lab} averages {{v}} against {{o}} overall",
            f"Higher {lab}: {{v}} on average vs {{o}} overall",
        ]
    if well_below:
        return [
            f"{Lab} is {{d}} below average ({{v}} vs {{o}})",
            f"{Lab}: {{d}} below average ({{v}} vs {{o}})",
        ]
    return [
        f"{Lab} averages {{v}} against {{o}} overall",
        f"Lower {lab}: {{v}} on average vs {{o}} overall",
    ]


def write_sentence(row: Mapping[str, Any], *, scale: tuple[float, float] | None = None) -> str:
    """One plain-English sentence about a profile row, built only from that row's numbers.

    Parameters
    ----------
    row : mapping
        A row of the profile (or findings) table: variable, level, kind, role, label, value,
        overall, index.
    scale : (min, max), optional
        The answer scale of an opinion (e.g. (1, 5)), or (1, number of levels) for an ordinal
        variable with named levels; it is quoted in the sentence ("2.1 of 5").

    Examples
    --------
    >>> write_sentence({"segment": 2, "variable": "trust", "level": "", "kind": "ordinal",
    ...                 "role": "opinion", "label": "Trust", "value": 2.06, "overall": 3.81,
    ...                 "index": 54.1}, scale=(1, 5))
    'They rate trust only 2.1 of 5 vs 3.8 overall.'
    """
    numbers = format_pair(row, scale=scale)
    options = _templates(row, numbers, scale)
    key = f"{row.get('segment', '')}|{row['variable']}|{row.get('level', '')}"
    text = _choose(options, key)
    text = text.format(
        v=numbers["value"],
        o=numbers["overall"],
        r=numbers.get("ratio", ""),
        d=numbers.get("diff", ""),
        lo=numbers.get("scale_min", ""),
        hi=numbers.get("scale_max", ""),
    )
    text = re.sub(r"\s+", " ", text).replace(" ,", ",").strip()
    return _capitalise(text) + "."


def sentence_numbers(sentence: str, row: Mapping[str, Any] | None = None) -> list[str]:
    """The numbers written in ``sentence``, as displayed ("71%", "12.4", "1,250").

    Quoted level names (“...”) and, when ``row`` is given, its label, level and variable words
    are masked first, so digits inside names are not read as numbers.

    Examples
    --------
    >>> sentence_numbers("71% reach checkout vs 34% overall.")
    ['71%', '34%']
    """
    text = _QUOTED.sub(" ", sentence)
    if row is not None:
        names = [str(row.get("label", "")), str(row.get("level", ""))]
        names += [str(row.get("variable", "")).replace("_", " ")]
        names += str(row.get("variable", "")).split("_")
        for name in sorted({n for n in names if n and any(c.isdigit() for c in n)}, key=len)[::-1]:
            text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return [m.group(0) for m in _NUMBER.finditer(text.rstrip("."))]


def expected_numbers(
    row: Mapping[str, Any], *, scale: tuple[float, float] | None = None
) -> set[str]:
    """Every displayed number a sentence about ``row`` may contain (see :func:`format_pair`)."""
    return set(format_pair(row, scale=scale).values())


def check_sentence(
    row: Mapping[str, Any],
    sentence: str | None = None,
    *,
    scale: tuple[float, float] | None = None,
) -> list[str]:
    """Numbers in the sentence that do not equal a rounded number of ``row`` (empty = faithful).

    Examples
    --------
    >>> row = {"variable": "purchased", "level": "", "kind": "binary", "role": "outcome",
    ...        "label": "Purchased", "value": 0.09, "overall": 0.34, "index": 26.5}
    >>> check_sentence(row, "Only 9% have bought anything vs 34% overall.")
    []
    >>> check_sentence(row, "Only 8% have bought anything vs 34% overall.")
    ['8%']
    """
    sentence = row["sentence"] if sentence is None else sentence
    allowed = expected_numbers(row, scale=scale)
    return [t for t in sentence_numbers(sentence, row) if t not in allowed]


def scales_from_columns(columns: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """Answer scales by column: opinion scales, and (1, L) for ordinals with L named levels."""
    if columns is None or not isinstance(columns, pd.DataFrame):
        return {}
    cat = columns.set_index("column") if "column" in columns.columns else columns
    out: dict[str, tuple[float, float]] = {}
    for name, row in cat.iterrows():
        lo, hi = row.get("scale_min", np.nan), row.get("scale_max", np.nan)
        order = row.get("order", None)
        if pd.notna(lo) and pd.notna(hi):
            out[str(name)] = (float(lo), float(hi))
        elif isinstance(order, (list, tuple, np.ndarray)) and len(order) > 1:
            if row.get("kind") == "ordinal":
                out[str(name)] = (1.0, float(len(order)))
    return out


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------
def _strength(effect: pd.Series, name: pd.Series) -> np.ndarray:
    """|effect| on one scale: Cohen's h as is, rank-biserial r as the equivalent Cohen's d."""
    e = np.abs(effect.to_numpy(dtype=float))
    rb = name.to_numpy() == "rank_biserial"
    out = e.copy()
    out[rb] = np.sqrt(2) * stats.norm.ppf((np.clip(e[rb], 0, 0.999999) + 1) / 2)
    return out


def finding_mask(
    profiles: pd.DataFrame,
    *,
    alpha: float | None = None,
    min_effect: float | Mapping[str, float] | None = None,
    min_description_effect: float | None = None,
    include_bases: bool = True,
) -> np.ndarray:
    """Which profile rows may be reported (see :func:`distinguishing_findings` for the rules)."""
    if alpha is None:
        alpha = float(profiles.attrs.get("alpha", 0.05))
    explicit = min_effect is not None
    if min_effect is None:
        min_effect = profiles.attrs.get("min_effect", DEFAULT_MIN_EFFECT)
    thresholds = effect_thresholds(min_effect)
    if min_description_effect is None:
        d = thresholds["cohens_h"] if isinstance(min_effect, Mapping) else float(min_effect)
        min_description_effect = max(DEFAULT_MIN_DESCRIPTION_EFFECT, d)
    describe = effect_thresholds(min_description_effect)
    q = profiles["q"].to_numpy(dtype=float)
    size = np.abs(profiles["effect"].to_numpy(dtype=float))
    gate = profiles["variable"].map(variable_tests(profiles)["q"]).to_numpy(dtype=float) < alpha
    is_base = profiles["is_base"].astype(bool).to_numpy()
    if explicit:
        thr = profiles["effect_name"].map(thresholds).to_numpy(dtype=float)
        tested = (q < alpha) & (size >= thr) & gate
    else:
        tested = profiles["significant"].astype(bool).to_numpy()
    described = (q < alpha) & (size >= profiles["effect_name"].map(describe).to_numpy()) & gate
    return np.where(is_base, described & include_bases, tested)


def distinguishing_findings(
    profiles: pd.DataFrame,
    *,
    top: int = 5,
    min_tests: int = 3,
    include_bases: bool = True,
    alpha: float | None = None,
    min_effect: float | Mapping[str, float] | None = None,
    min_description_effect: float | None = None,
    columns: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The strongest findings per segment, each with a plain-English sentence.

    Rows of descriptors and outcomes (``evidence="test"``) are findings when they are
    ``significant`` (q below ``alpha``, |effect| at least the threshold, and the variable
    differs across segments at all, see :func:`toolkit.correlation.variable_tests`). Rows of
    base variables differ by construction, so they are reported only as descriptions
    (``evidence="description"``) and only when the difference is sizeable: |effect| of at
    least ``min_description_effect`` (default 0.5, a medium effect) under the same q-value
    rules. Per segment one row per variable is kept (for categories the strongest
    over-represented level when there is one), ranked by strength (Cohen's h, or the Cohen's d
    equivalent of the rank-biserial correlation). Rows whose mean and rank-biserial effect
    point in opposite directions (a skewed variable whose typical value is higher but whose
    mean is lower, or vice versa) are left out as ambiguous.

    Parameters
    ----------
    profiles : DataFrame
        Output of :func:`toolkit.correlation.profile_segments` (or ``profiles.csv``).
    top : int
        Findings per segment.
    min_tests : int
        Keep at least this many tested findings (descriptors, outcomes) per segment when there
        are that many, even if base descriptions are stronger.
    include_bases : bool
        Report base variables as descriptions.
    alpha : float, optional
        False discovery rate; default: the one used to build ``profiles`` (else 0.05).
    min_effect : float or mapping, optional
        Smallest effect that matters (Cohen's d/h units); default: the one used to build
        ``profiles`` (else :data:`toolkit.correlation.DEFAULT_MIN_EFFECT`). Evidence rows keep
        the table's ``significant`` flag unless this is given.
    min_description_effect : float, optional
        Smallest effect (d/h units) for a base description; default 0.5 (or ``min_effect``
        when that is larger).
    columns : DataFrame, optional
        The column catalogue, for answer scales in sentences ("2.1 of 5").

    Returns
    -------
    DataFrame
        The columns of :data:`FINDINGS_COLUMNS`, sorted by segment and rank.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.correlation import profile_segments
    >>> t = pd.DataFrame({"purchased": np.r_[np.ones(150), np.zeros(450)]})
    >>> prof = profile_segments(t, np.repeat([1, 2, 3, 4], 150), n_boot=0)
    >>> distinguishing_findings(prof)["sentence"].iloc[0]
    '100% have bought at least once vs 25% overall.'
    """
    keep = finding_mask(
        profiles,
        alpha=alpha,
        min_effect=min_effect,
        min_description_effect=min_description_effect,
        include_bases=include_bases,
    )
    scales = scales_from_columns(columns)
    prof = profiles.copy()
    # Means and rank effects can point in opposite directions (skewed values): ambiguous.
    diff = prof["value"].to_numpy(dtype=float) - prof["overall"].to_numpy(dtype=float)
    agree = np.sign(diff) == np.sign(prof["effect"].to_numpy(dtype=float))
    cand = prof[keep & agree].copy()
    if cand.empty:
        return _empty_findings()
    cand["_strength"] = _strength(cand["effect"], cand["effect_name"])
    cand["_higher"] = cand["effect"].to_numpy(dtype=float) > 0
    cand["direction"] = np.where(cand["_higher"], "higher", "lower")
    # One row per (segment, variable): prefer over-represented levels, then strength.
    cand = cand.sort_values(
        ["segment", "variable", "_higher", "_strength"],
        ascending=[True, True, False, False],
        kind="mergesort",
    ).drop_duplicates(["segment", "variable"])
    rows = []
    for _, grp in cand.groupby("segment", sort=True):
        grp = grp.sort_values("_strength", ascending=False, kind="mergesort")
        chosen = grp.head(top)
        tests = grp[grp["evidence"] == "test"]
        need = min(min_tests, len(tests), top) - int((chosen["evidence"] == "test").sum())
        if need > 0:
            extra = tests[~tests.index.isin(chosen.index)].head(need)
            drop = chosen[chosen["evidence"] != "test"].tail(need).index
            chosen = pd.concat([chosen.drop(index=drop), extra])
            chosen = chosen.sort_values("_strength", ascending=False, kind="mergesort")
        chosen = chosen.copy()
        chosen["rank"] = np.arange(1, len(chosen) + 1)
        rows.append(chosen)
    out = pd.concat(rows)
    out["sentence"] = [
        write_sentence(r, scale=scales.get(str(r["variable"]))) for r in out.to_dict("records")
    ]
    out = out[FINDINGS_COLUMNS].reset_index(drop=True)
    out["segment"] = out["segment"].astype(np.int64)
    out["rank"] = out["rank"].astype(np.int64)
    out["is_base"] = out["is_base"].astype(bool)
    return out


def _empty_findings() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDINGS_COLUMNS})
    for c in ("segment", "rank"):
        out[c] = out[c].astype(np.int64)
    for c in ("value", "overall", "index", "effect", "q"):
        out[c] = out[c].astype(float)
    out["is_base"] = out["is_base"].astype(bool)
    return out


def findings_markdown(
    findings: pd.DataFrame, *, segment_names: Mapping[int, str] | None = None
) -> str:
    """Render findings as Markdown: one heading per segment, one bullet per finding.

    Findings on base variables are marked "(formed the segments)": they describe the segment
    but are not evidence, because the clustering made them differ.

    Examples
    --------
    >>> f = pd.DataFrame({"segment": [1], "rank": [1], "sentence": ["71% reach checkout."],
    ...                   "evidence": ["test"]})
    >>> print(findings_markdown(f))
    **Segment 1**
    <BLANKLINE>
    - 71% reach checkout.
    """
    if findings.empty:
        return "_No segment differs from the rest beyond chance and the effect-size threshold._"
    parts = []
    base_seen = False
    for seg, grp in findings.sort_values(["segment", "rank"]).groupby("segment", sort=True):
        name = (segment_names or {}).get(int(seg), f"Segment {int(seg)}")
        lines = [f"**{name}**", ""]
        for r in grp.to_dict("records"):
            note = ""
            if r.get("evidence") == "description":
                note, base_seen = " _(formed the segments)_", True
            lines.append(f"- {r['sentence']}{note}")
        parts.append("\n".join(lines))
    text = "\n\n".join(parts)
    if base_seen:
        text += (
            "\n\n_Variables marked “formed the segments” were used to build them, so they differ"
            " by construction: they describe the segments, their p-values are not evidence._"
        )
    return text
