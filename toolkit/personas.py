"""Personas written from data: every statement backed by a statistic, private by construction.

:func:`build_personas` turns the analysis tables of a run (profiles, findings, outcomes,
targets) into one :class:`Persona` per target segment, without a language model:

* **Statements** come from profile rows that pass the false-discovery and effect-size rules of
  :func:`toolkit.findings.finding_mask` (base variables only with a medium effect), strongest
  first, phrased in varied natural English (the wording is chosen by the seed). Each becomes a
  :class:`Claim` in the persona's evidence list: segment value, overall value, index, effect
  size, q-value and interval.
* **Age** is the segment's median; **gender**, **place** and other person-level attributes are
  stated only when one level clearly dominates the segment (at least 60% and a 95% Wilson
  interval above 50%).
* **Prevalence**: the share of users (of the segment and of everybody) who match all stated
  attributes together. When they fit fewer than 10% of the segment, the attributes that fit the
  fewest members are dropped until the rest fit at least 10%, and the card says so.
* **Names** are drawn with the seed from ``toolkit/data/names.csv`` by locale, gender and birth
  decade; names found in the data (text columns, ``forbidden_names``) are never used.
* **Quotes** are the most typical real comment of the segment (closest to its centroid in TF-IDF
  space), scrubbed of personal data (:func:`toolkit.privacy.scrub_text`) and shortened at a
  sentence or word boundary; none when fewer than ``min_quote_users`` members commented.
* **Privacy**: no persona for a segment below ``min_size`` users (the reason is recorded); no ids
  or raw rows in any output.

:func:`check_faithfulness` re-derives every claim from the user table and lists those that do
not hold. :func:`personas_to_json` and :func:`personas_to_markdown` render a persona set;
:mod:`toolkit.render` writes the HTML cards.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.personas import build_personas
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> seg = np.repeat([1, 2], n // 2)
>>> table = pd.DataFrame({
...     "user_id": [f"{i:06d}" for i in range(n)],
...     "age": np.where(seg == 1, rng.integers(20, 30, n), rng.integers(45, 70, n)),
...     "share_evening": np.where(seg == 1, rng.uniform(.5, .9, n), rng.uniform(0, .4, n)),
... })
>>> cols = pd.DataFrame({"role": ["demographic", "behaviour"], "kind": ["numeric", "numeric"],
...                      "label": ["Age", "Share of evening activity"]},
...                     index=pd.Index(["age", "share_evening"], name="column"))
>>> personas = build_personas(table, seg, cols, all_segments=True, seed=1)
>>> p = personas[0]
>>> p.age < 30, p.behaviours[0].startswith(("Shops", "Does", "Is")), len(personas.skipped)
(True, True, 0)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.config import DEFAULT_MIN_PERSONA_SIZE, PACKAGE_DIR
from toolkit.correlation import (
    DEFAULT_MIN_DESCRIPTION_EFFECT,
    DEFAULT_MIN_EFFECT,
    align_segments,
    binary_values,
    cohens_h,
    column_catalogue,
    effect_thresholds,
    wilson_interval,
)
from toolkit.errors import ConfigError, DataError, DataWarning
from toolkit.findings import finding_mask, format_pair, scales_from_columns
from toolkit.privacy import contains_pii, has_markup, scrub_text
from toolkit.privacy import escape_markdown as _md

__all__ = [
    "Claim",
    "Persona",
    "PersonaSet",
    "PERSONA_SCHEMA",
    "PERSONA_SET_SCHEMA",
    "DEFAULT_MIN_QUOTE_USERS",
    "build_personas",
    "check_faithfulness",
    "choose_name",
    "names_in_data",
    "personas_to_json",
    "personas_from_json",
    "personas_to_markdown",
]

#: A quote needs at least this many commenters in the segment.
DEFAULT_MIN_QUOTE_USERS = 5
#: A level "dominates" a segment from this share on (and its 95% interval is above 50%).
DEFAULT_DOMINANCE = 0.6
#: Stated attributes together must fit at least this share of the persona's segment.
DEFAULT_MIN_PREVALENCE = 0.10
#: Quotes longer than this are shortened at a sentence or word boundary.
DEFAULT_MAX_QUOTE_CHARS = 180
#: Year used to turn an age into a birth decade for names (fixed, so runs are reproducible).
DEFAULT_REFERENCE_YEAR = 2026
NAMES_FILE = PACKAGE_DIR / "data" / "names.csv"

#: Persona fields an analyst may override in the config.
OVERRIDABLE = (
    "name",
    "photo",
    "headline",
    "about",
    "age",
    "gender",
    "place",
    "quote",
    "lifestyle",
    "behaviours",
    "goals",
    "frustrations",
    "channels",
)
LIST_FIELDS = ("lifestyle", "behaviours", "goals", "frustrations", "channels")
#: Fields whose claims describe who the persona is (they count for prevalence).
ATTRIBUTE_FIELDS = ("gender", "place", "age", "lifestyle", "behaviours", "channels")
_LIMITS = {"lifestyle": 3, "behaviours": 5, "channels": 2, "goals": 3, "frustrations": 4}
_FAMILY_LIMITS = {
    "timeofday": 1,
    "weekday": 1,
    "device": 1,
    "category": 2,
    "frequency": 1,
    "opinion": 2,
    "funnel": 1,
    "dropout": 1,
}
_FLOAT_DIGITS = 6
_JSON_VERSION = 1


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------
@dataclass
class Claim:
    """One statement of a persona and the statistic behind it.

    Attributes
    ----------
    field : str
        Persona field the claim supports: age, gender, place, lifestyle, behaviours, goals,
        frustrations, channels, key_figures, quote or prevalence.
    text : str
        The statement as shown ("Shops mostly in the evening").
    detail : str
        The numbers behind it, as shown ("Share of evening activity: 62% vs 32% overall").
    variable, level : str
        Column of the user table and level (categories; "" for numbers).
    statistic : str
        How the value is computed from the table: ``share`` (of the level, or of 1 for a 0/1
        column), ``mean``, ``median``, ``age_band``, ``mean_fill0`` (missing = 0), ``ratio``
        (sum of ``variable`` / sum of ``level`` over users with ``level`` > 0), ``nps``
        (promoters minus detractors, points), ``size``, ``prevalence`` or ``quote``.
    value, overall : float
        Segment value and the same statistic over all users.
    index : float
        100 * value / overall.
    effect, effect_name : float, str
        Segment-vs-rest effect size (Cohen's h or rank-biserial correlation).
    q : float
        Benjamini-Hochberg q-value of the segment-vs-rest test (NaN for descriptions).
    ci_low, ci_high : float
        Interval of the segment value.
    n : int
        Users of the segment with a value.
    direction : str
        ``higher`` or ``lower`` than overall, or "" for plain descriptions.
    evidence : str
        ``test`` (significant, not a base), ``description`` (a base variable with a medium
        effect), ``dominant`` (a level held by most of the segment), ``summary`` (a key figure,
        the typical age), ``derived`` (prevalence) or ``comment`` (the quote).
    threshold : float
        The smallest |effect| (or share, for ``dominant``) the claim needed.
    kind, role, label, metric : str
        Kind and role of the variable, its human label, and the metric name of key figures.
    coverage : float
        Share of the segment matching the claim as an attribute (prevalence); NaN otherwise.
    """

    field: str
    text: str
    detail: str = ""
    variable: str = ""
    level: str = ""
    statistic: str = ""
    value: float = math.nan
    overall: float = math.nan
    index: float = math.nan
    effect: float = math.nan
    effect_name: str = ""
    q: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    direction: str = ""
    evidence: str = ""
    threshold: float = math.nan
    kind: str = ""
    role: str = ""
    label: str = ""
    metric: str = ""
    coverage: float = math.nan
    strength: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        names = {f.name: f for f in fields(cls)}
        kwargs = {}
        for k, v in d.items():
            if k not in names:
                continue
            if v is None and names[k].type in ("float", float):
                v = math.nan
            kwargs[k] = v
        return cls(**kwargs)


@dataclass
class Persona:
    """A customer persona for one segment; every statement has a :class:`Claim` in
    ``evidence``.

    Attributes
    ----------
    segment : int
        The segment it stands for.
    name, age, gender, place : str, int or None, str or None, str or None
        ``gender`` is female, male or diverse (None when no gender dominates); ``place`` the
        dominant level of a place column ("big city").
    birth_year : int or None
        Median year of birth, when the data has a birth year instead of an age.
    headline, about : str
        One line and a short paragraph, written from the claims.
    lifestyle, behaviours, goals, frustrations, channels : list of str
        Statements, each the ``text`` of one claim of that field.
    quote : str or None
        The segment's most typical comment, scrubbed and shortened.
    key_figures : list of dict
        metric, label, value, overall, ci_low, ci_high, text: size, conversion, revenue,
        opinions of the segment beside all users.
    size, share : int, float
        Users in the segment and their share of all users.
    prevalence : dict
        ``share_of_segment`` and ``share_of_all`` matching every stated attribute, the
        ``attributes``, the ``dropped`` ones and a ``note`` for the card.
    evidence : list of Claim
        Every claim with its statistic.
    photo : str or None
        Photo path (only from an analyst's override).
    overridden : list of str
        Fields set by the analyst rather than written from data.
    notes : list of str
        How the persona was built (for the notebook's explanation).
    locale, pronoun : str
        Locale of the name list; she, he or they.
    """

    segment: int
    name: str
    age: int | None
    gender: str | None
    place: str | None
    headline: str
    about: str
    lifestyle: list[str] = field(default_factory=list)
    behaviours: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    frustrations: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    quote: str | None = None
    key_figures: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    share: float = math.nan
    prevalence: dict[str, Any] = field(default_factory=dict)
    evidence: list[Claim] = field(default_factory=list)
    photo: str | None = None
    overridden: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    locale: str = "en"
    pronoun: str = "they"
    birth_year: int | None = None

    def claims(self, field_name: str | None = None) -> list[Claim]:
        """The claims of one field (all claims when None)."""
        return [c for c in self.evidence if field_name is None or c.field == field_name]

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "evidence":
                out[f.name] = [c.to_dict() for c in v]
            else:
                out[f.name] = _clean(v)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Persona:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        kwargs["evidence"] = [Claim.from_dict(c) for c in d.get("evidence", [])]
        kwargs["share"] = math.nan if d.get("share") is None else d["share"]
        return cls(**kwargs)


@dataclass
class PersonaSet:
    """Personas of a run, the segments left without one (and why) and the parameters used.

    Iterating, ``len`` and indexing go over :attr:`personas`.
    """

    personas: list[Persona]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    total_users: int = 0
    explanations: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.personas)

    def __iter__(self) -> Iterator[Persona]:
        return iter(self.personas)

    def __getitem__(self, i: int) -> Persona:
        return self.personas[i]

    def by_segment(self, segment: int) -> Persona:
        """The persona of ``segment`` (KeyError when it has none; see :attr:`skipped`)."""
        for p in self.personas:
            if p.segment == int(segment):
                return p
        reasons = {s["segment"]: s["reason"] for s in self.skipped}
        raise KeyError(
            f"No persona for segment {segment}: {reasons.get(int(segment), 'not a segment')}"
        )

    def skipped_table(self) -> pd.DataFrame:
        """Segments without a persona: segment, size, code, reason."""
        return pd.DataFrame(self.skipped, columns=["segment", "size", "code", "reason"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": _JSON_VERSION,
            "params": _clean(self.params),
            "total_users": int(self.total_users),
            "personas": [p.to_dict() for p in self.personas],
            "skipped": _clean(self.skipped),
        }

    def to_json(self) -> str:
        return personas_to_json(self)

    def to_markdown(self) -> str:
        return personas_to_markdown(self)

    def explain(self) -> str:
        """Markdown: how each persona was built, and why segments have none."""
        return _explain(self)


def _clean(v: Any) -> Any:
    """JSON-ready copy: floats rounded to a fixed number of decimals, NaN as None."""
    if isinstance(v, Claim):
        return v.to_dict()
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not math.isfinite(x):
            return None
        r = round(x, _FLOAT_DIGITS)
        return 0.0 if r == 0 else r
    return v


# --------------------------------------------------------------------------------------------
# JSON schema
# --------------------------------------------------------------------------------------------
_NUM = {"type": ["number", "null"]}
_STR_LIST = {"type": "array", "items": {"type": "string"}}
_CLAIM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "text", "detail", "variable", "level", "statistic", "value", "overall"],
    "properties": {
        "field": {
            "enum": [
                "age", "gender", "place", "lifestyle", "behaviours", "goals", "frustrations",
                "channels", "key_figures", "quote", "prevalence",
            ]
        },
        "text": {"type": "string"},
        "detail": {"type": "string"},
        "variable": {"type": "string"},
        "level": {"type": "string"},
        "statistic": {"type": "string"},
        "value": _NUM,
        "overall": _NUM,
        "index": _NUM,
        "effect": _NUM,
        "effect_name": {"type": "string"},
        "q": _NUM,
        "ci_low": _NUM,
        "ci_high": _NUM,
        "n": {"type": "integer", "minimum": 0},
        "direction": {"enum": ["higher", "lower", ""]},
        "evidence": {"type": "string"},
        "threshold": _NUM,
        "kind": {"type": "string"},
        "role": {"type": "string"},
        "label": {"type": "string"},
        "metric": {"type": "string"},
        "coverage": _NUM,
        "strength": _NUM,
    },
    "additionalProperties": False,
}  # fmt: skip

#: JSON schema of one persona (the objects in ``personas.json``'s ``personas`` array).
PERSONA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Persona",
    "type": "object",
    "required": [
        "segment", "name", "age", "gender", "place", "headline", "about", "lifestyle",
        "behaviours", "goals", "frustrations", "channels", "quote", "key_figures", "size",
        "share", "prevalence", "evidence", "overridden",
    ],
    "properties": {
        "segment": {"type": "integer"},
        "name": {"type": "string", "minLength": 1},
        "age": {"type": ["integer", "null"], "minimum": 0},
        "birth_year": {"type": ["integer", "null"]},
        "gender": {"enum": ["female", "male", "diverse", None]},
        "place": {"type": ["string", "null"]},
        "headline": {"type": "string"},
        "about": {"type": "string"},
        "lifestyle": _STR_LIST,
        "behaviours": _STR_LIST,
        "goals": _STR_LIST,
        "frustrations": _STR_LIST,
        "channels": _STR_LIST,
        "quote": {"type": ["string", "null"]},
        "key_figures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["metric", "label", "value", "overall", "text"],
                "properties": {
                    "metric": {"type": "string"},
                    "label": {"type": "string"},
                    "value": _NUM,
                    "overall": _NUM,
                    "ci_low": _NUM,
                    "ci_high": _NUM,
                    "text": {"type": "string"},
                    "unit": {"type": "string"},
                    "scale_min": _NUM,
                    "scale_max": _NUM,
                },
            },
        },
        "size": {"type": "integer", "minimum": 0},
        "share": _NUM,
        "prevalence": {
            "type": "object",
            "required": ["share_of_segment", "share_of_all", "attributes", "dropped", "note"],
            "properties": {
                "share_of_segment": _NUM,
                "share_of_all": _NUM,
                "attributes": _STR_LIST,
                "dropped": _STR_LIST,
                "note": {"type": "string"},
            },
        },
        "evidence": {"type": "array", "items": {"$ref": "#/$defs/claim"}},
        "photo": {"type": ["string", "null"]},
        "overridden": {"type": "array", "items": {"enum": list(OVERRIDABLE)}},
        "notes": _STR_LIST,
        "locale": {"type": "string"},
        "pronoun": {"enum": ["she", "he", "they"]},
    },
    "$defs": {"claim": _CLAIM_SCHEMA},
}  # fmt: skip

#: JSON schema of ``personas.json``.
PERSONA_SET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Personas of a run",
    "type": "object",
    "required": ["schema_version", "params", "total_users", "personas", "skipped"],
    "properties": {
        "schema_version": {"const": _JSON_VERSION},
        "params": {"type": "object"},
        "total_users": {"type": "integer", "minimum": 0},
        "personas": {"type": "array", "items": {"$ref": "#/$defs/persona"}},
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["segment", "size", "code", "reason"],
                "properties": {
                    "segment": {"type": "integer"},
                    "size": {"type": "integer"},
                    "code": {"enum": ["too_small", "not_target", "no_profile"]},
                    "reason": {"type": "string"},
                },
            },
        },
    },
    "$defs": {
        "persona": {k: v for k, v in PERSONA_SCHEMA.items() if k not in ("$schema", "$defs")},
        "claim": _CLAIM_SCHEMA,
    },
}


# --------------------------------------------------------------------------------------------
# Column semantics
# --------------------------------------------------------------------------------------------
def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


_PLACE_TOKENS = {
    "city", "region", "location", "place", "urban", "rural", "area", "country", "state",
    "residence", "town", "village", "district", "county", "urbanity",
}  # fmt: skip
_PARTS = {
    "morning": "in the morning",
    "afternoon": "in the afternoon",
    "evening": "in the evening",
    "night": "at night",
}
_DEVICES = {
    "mobile": "a phone",
    "phone": "a phone",
    "smartphone": "a phone",
    "desktop": "a desktop computer",
    "computer": "a computer",
    "pc": "a computer",
    "laptop": "a laptop",
    "tablet": "a tablet",
}
_PLACE_PHRASES = {
    "big city": ("a big city", "big-city"), "city": ("a city", "city"),
    "urban": ("a city", "urban"), "large city": ("a big city", "big-city"),
    "town": ("a town", "small-town"), "small town": ("a small town", "small-town"),
    "suburb": ("the suburbs", "suburban"), "suburban": ("the suburbs", "suburban"),
    "village": ("a village", "village"), "rural": ("the countryside", "rural"),
    "countryside": ("the countryside", "rural"),
}  # fmt: skip
_BAD_OUTCOME = re.compile(
    r"churn|complain|cancel|return|refund|bounce|exit|drop|days.?since|recency|unsubscrib|"
    r"default|delay|late|effort|wait|problem|error|fail",
    re.IGNORECASE,
)
_GENDER_LEVELS = {
    "female": "female", "f": "female", "w": "female", "woman": "female", "women": "female",
    "weiblich": "female", "frau": "female", "male": "male", "m": "male", "man": "male",
    "men": "male", "männlich": "male", "mann": "male",
}  # fmt: skip


@dataclass
class _Semantics:
    age: str | None = None
    birth_year: str | None = None
    gender: str | None = None
    place: list[str] = field(default_factory=list)
    text: str | None = None


def _semantics(table: pd.DataFrame, cat: pd.DataFrame) -> _Semantics:
    sem = _Semantics()
    for name, row in cat.iterrows():
        toks = _tokens(name) | _tokens(str(row.get("label", "")))
        role, kind = row["role"], row["kind"]
        if role in ("id", "pii", "ignore"):
            continue
        if kind == "numeric" and sem.age is None and ("age" in toks or "alter" in toks):
            sem.age = str(name)
        elif (
            kind == "numeric"
            and sem.birth_year is None
            and ({"birth", "year"} <= toks or "yob" in toks or "birthyear" in toks)
        ):
            sem.birth_year = str(name)
        elif (
            kind in ("categorical", "binary")
            and sem.gender is None
            and (toks & {"gender", "sex", "geschlecht"})
        ):
            sem.gender = str(name)
        elif kind in ("categorical", "binary") and role == "demographic" and toks & _PLACE_TOKENS:
            sem.place.append(str(name))
    texts = [
        str(c)
        for c, r in cat.iterrows()
        if (r["role"] == "text" or r["kind"] == "text") and c in table.columns
    ]
    if texts:
        sem.text = max(
            texts,
            key=lambda c: (int(table[c].dropna().astype(str).str.len().sum()), -texts.index(c)),
        )
    return sem


def _family(variable: str, label: str) -> str:
    v = variable.lower()
    toks = _tokens(variable)
    if v.startswith("share_") and toks & set(_PARTS):
        return "timeofday"
    if "weekend" in toks or v in ("day_of_week", "weekday"):
        return "weekday"
    if v.startswith("share_device_") or v in ("device", "main_device", "device_type"):
        return "device"
    if toks & {"channel", "contact", "medium", "traffic", "source"}:
        return "channel"
    if v.startswith("share_cat_") or "category" in toks or "categories" in toks:
        return "category"
    if v in ("sessions", "events", "active_days", "visits", "visit_count", "frequency"):
        return "frequency"
    if v.startswith("reached_") or v in ("purchased", "conversion_rate", "furthest_step"):
        return "funnel"
    if v == "dropout_step":
        return "dropout"
    return "other"


def _category_name(variable: str, level: str) -> str:
    if variable.lower().startswith("share_cat_"):
        return variable[len("share_cat_") :].replace("_", " ")
    return str(level).replace("_", " ")


def _device_name(variable: str, level: str) -> str:
    key = (
        variable[len("share_device_") :] if variable.lower().startswith("share_device_") else level
    )
    return _DEVICES.get(str(key).lower(), f"a {str(key).replace('_', ' ')}")


def _label_mid(label: str) -> str:
    if any(c.isupper() for c in label[1:]):
        return label
    return label[:1].lower() + label[1:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _pick(options: Sequence[str], *key: Any) -> str:
    digest = hashlib.blake2b("|".join(map(str, key)).encode("utf-8"), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def _strength(effect: float, effect_name: str) -> float:
    """|effect| in Cohen's d/h units (the rank-biserial r as its normal-theory d)."""
    e = abs(float(effect))
    if not math.isfinite(e):
        return math.nan
    if effect_name == "rank_biserial":
        return float(np.sqrt(2) * stats.norm.ppf((min(e, 0.999999) + 1) / 2))
    return e


# --------------------------------------------------------------------------------------------
# Values straight from the table (shared by building and the faithfulness check)
# --------------------------------------------------------------------------------------------
def _order(o: Any) -> list | None:
    if isinstance(o, (list, tuple, np.ndarray, pd.Series)) and len(o):
        return list(o)
    return None


def _text_values(s: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    lookup = np.array([None, *[str(u) for u in uniques]], dtype=object)
    return lookup[codes + 1]


def _numbers(table: pd.DataFrame, cat: pd.DataFrame, var: str) -> np.ndarray:
    s = table[var]
    order = _order(cat.loc[var, "order"]) if var in cat.index else None
    kind = cat.loc[var, "kind"] if var in cat.index else "numeric"
    if kind == "ordinal" and order and not pd.api.types.is_numeric_dtype(s):
        pos = {str(v): i + 1.0 for i, v in enumerate(order)}
        text = _text_values(s)
        return np.array([pos.get(t, np.nan) if t is not None else np.nan for t in text])
    out = np.array(pd.to_numeric(s, errors="coerce").astype("Float64"), dtype=float, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _indicator(table: pd.DataFrame, cat: pd.DataFrame, var: str, level: str) -> np.ndarray:
    """1.0 where the user has ``level`` (the positive level of a binary), 0.0 else, NaN if
    missing."""
    s = table[var]
    kind = cat.loc[var, "kind"] if var in cat.index else None
    if kind == "binary":
        order = _order(cat.loc[var, "order"])
        vals, positive = binary_values(s, order)
        if level in ("", positive):
            return vals
        return np.where(np.isnan(vals), np.nan, 1.0 - vals)
    text = _text_values(s)
    missing = np.array([t is None for t in text])
    return np.where(missing, np.nan, (text == str(level)).astype(float))


def _share_stats(x: np.ndarray, in_seg: np.ndarray) -> tuple[float, float, float, int, int]:
    """(segment share, overall share, Cohen's h vs rest, segment n, segment hits)."""
    ok = ~np.isnan(x)
    seg, rest = ok & in_seg, ok & ~in_seg
    n1 = int(seg.sum())
    hits = int(x[seg].sum()) if n1 else 0
    v = hits / n1 if n1 else math.nan
    o = float(x[ok].mean()) if ok.any() else math.nan
    r = float(x[rest].mean()) if rest.any() else math.nan
    h = float(cohens_h(v, r)) if n1 and rest.any() else math.nan
    return v, o, h, n1, hits


def _rank_biserial(x: np.ndarray, in_seg: np.ndarray) -> float:
    ok = ~np.isnan(x)
    xv, sv = x[ok], in_seg[ok]
    n1 = int(sv.sum())
    n2 = int(xv.size - n1)
    if n1 == 0 or n2 == 0:
        return math.nan
    ranks = stats.rankdata(xv)
    u1 = ranks[sv].sum() - n1 * (n1 + 1) / 2
    return float(2 * u1 / (n1 * n2) - 1)


def _mean_stats(x: np.ndarray, in_seg: np.ndarray) -> tuple[float, float, float, int]:
    ok = ~np.isnan(x)
    seg = ok & in_seg
    n1 = int(seg.sum())
    v = float(x[seg].mean()) if n1 else math.nan
    o = float(x[ok].mean()) if ok.any() else math.nan
    return v, o, _rank_biserial(x, in_seg), n1


def _median_stats(x: np.ndarray, in_seg: np.ndarray) -> tuple[float, float, int]:
    ok = ~np.isnan(x)
    seg = ok & in_seg
    n1 = int(seg.sum())
    v = float(np.median(x[seg])) if n1 else math.nan
    o = float(np.median(x[ok])) if ok.any() else math.nan
    return v, o, n1


def _index(v: float, o: float) -> float:
    if not (math.isfinite(v) and math.isfinite(o)) or o <= 0:
        return math.nan
    return 100.0 * v / o


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


# --------------------------------------------------------------------------------------------
# Number formatting (one rule, reused by the faithfulness check)
# --------------------------------------------------------------------------------------------
def _pair(claim: Claim, scale: tuple[float, float] | None = None) -> dict[str, str]:
    row = {
        "kind": claim.kind or "numeric",
        "variable": claim.variable if claim.statistic == "mean" else "x",
        "value": claim.value,
        "overall": claim.overall,
        "index": claim.index,
    }
    if claim.statistic in ("share", "age_band", "prevalence"):
        row["kind"] = "binary"
    return format_pair(row, scale=scale)


def _detail(claim: Claim, scale: tuple[float, float] | None = None) -> str:
    """The numbers line of a claim, from its value and overall only."""
    st = claim.statistic
    lab = claim.label or claim.variable
    if st == "size":
        share = _pair(
            Claim("", "", value=claim.value / claim.overall, overall=1.0, statistic="share")
        )["value"]
        return f"{int(claim.value):,} users, {share} of all {int(claim.overall):,}"
    if st == "prevalence":
        p = _pair(claim)
        return (
            f"All stated attributes together fit {p['value']} of this segment and "
            f"{p['overall']} of all users"
        )
    if st == "quote":
        return f"The most typical of {int(claim.value):,} comments in this segment"
    if st == "mentions":
        p = _pair(Claim("", "", value=claim.value, overall=claim.overall, statistic="share"))
        return f"Comments mentioning “{claim.level}”: {p['value']} vs {p['overall']} overall"
    if st == "median":
        v, o = _fmt_median(claim.value), _fmt_median(claim.overall)
        return f"Median {_label_mid(lab)}: {v} vs {o} overall"
    p = _pair(claim, scale if st in ("mean",) else None)
    if st == "age_band":
        return f"Aged {claim.level}: {p['value']} vs {p['overall']} overall"
    if st == "share":
        if claim.kind == "binary" and claim.level in ("", "1", "True", "true"):
            head = lab
        elif claim.kind == "binary":
            head = f"{lab} ({claim.level})"
        else:
            head = f"{lab} {claim.level.replace('_', ' ')}"
        return f"{head}: {p['value']} vs {p['overall']} overall"
    if scale is not None and st == "mean":
        hi = p.get("scale_max", "")
        return f"{lab}: {p['value']} of {hi} vs {p['overall']} overall"
    if st == "mean" and p["value"].endswith("%"):
        return f"{lab}: {p['value']} vs {p['overall']} overall"
    return f"{lab}: {p['value']} vs {p['overall']} overall, on average"


def _fmt_median(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


_NUMBER = re.compile(r"(?<![\w.,])-?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w%])")


def _numbers_in(text: str, masks: Iterable[str] = ()) -> list[str]:
    for m in sorted({m for m in masks if m and any(c.isdigit() for c in m)}, key=len)[::-1]:
        text = text.replace(m, " ")
    return [m.group(0) for m in _NUMBER.finditer(text.rstrip("."))]


# --------------------------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------------------------
def _phrase(row: Mapping[str, Any], family: str, field_name: str, key: tuple) -> str:
    """A verb phrase (third person singular, no pronoun, no numbers) for one profile row."""
    var = str(row["variable"])
    level = str(row["level"])
    kind = str(row["kind"])
    higher = float(row["effect"]) > 0
    value = float(row["value"])
    vl = var.lower()
    if family == "timeofday":
        part = _PARTS[next(t for t in _tokens(var) if t in _PARTS)]
        if value >= 0.5:
            opts = [
                f"Shops mostly {part}",
                f"Does most of the shopping {part}",
                f"Is most active {part}",
            ]
        else:
            opts = [
                f"Often shops {part}",
                f"Shops {part} more than most",
                f"Is more active {part} than most",
            ]
        return _pick(opts, *key)
    if family == "weekday":
        if higher:
            if value >= 0.5:
                return _pick(
                    ["Shops mostly at the weekend", "Does most of the shopping at weekends"], *key
                )
            return _pick(["Shops at weekends more than most", "Likes to shop at weekends"], *key)
        return _pick(["Shops mostly on weekdays", "Rarely shops at weekends"], *key)
    if family == "device":
        device = _device_name(var, level)
        if kind == "categorical" and value >= 0.5:
            return _pick([f"Uses {device} as the main device", f"Mainly uses {device}"], *key)
        if kind == "categorical":
            return _pick([f"Uses {device} as the main device more often than most"], *key)
        if value >= 0.5:
            return _pick([f"Shops mostly on {device}", f"Does most things on {device}"], *key)
        return _pick([f"Uses {device} more than most", f"Often uses {device}"], *key)
    if family == "category":
        c = _category_name(var, level)
        if vl.startswith("share_cat_"):
            return _pick(
                [
                    f"Browses the {c} section a lot",
                    f"Is drawn to the {c} section",
                    f"Keeps coming back to the {c} section",
                    f"Spends much time in the {c} section",
                ],
                *key,
            )
        if "favourite" in vl or "favorite" in vl:
            if value >= 0.5:
                return _pick([f"Spends most on {c}", f"Buys mostly {c}"], *key)
            return _pick([f"Spends most on {c} more often than most"], *key)
        return _generic_phrase(row)
    if family == "frequency":
        if higher:
            return _pick(["Visits often", "Comes back often", "Is a frequent visitor"], *key)
        return _pick(["Visits rarely", "Drops by only now and then"], *key)
    if family == "funnel":
        step = vl.removeprefix("reached_").replace("_", " ")
        final = bool(row.get("_final", False))
        if final and higher:
            return _pick(
                [
                    "Buys readily",
                    "Turns visits into purchases more than most",
                    "Converts more easily than most",
                ],
                *key,
            )
        if final and value < 0.2:
            return _pick(["Rarely completes a purchase", "Hesitates to buy"], *key)
        if final:
            return _pick(["Often leaves without buying", "Buys less often than most"], *key)
        if higher:
            return _pick([f"Often gets as far as {step}", f"Reaches {step} more than most"], *key)
        if value < 0.5:
            return _pick([f"Often stops before {step}", f"Mostly stops before {step}"], *key)
        return _pick(
            [
                f"Is less likely than most to reach {step}",
                f"Stops before {step} more often than most",
            ],
            *key,
        )
    if family == "dropout":
        step = level.replace("_", " ")
        if level == "none" and value >= 0.5:
            return _pick(["Buys in every visit", "Never leaves a visit without buying"], *key)
        if level == "none":
            return _pick(["Buys in every visit more often than most"], *key)
        return _pick(
            [
                f"Often drops out at {step}",
                f"Tends to give up at {step}",
                f"Often leaves at the {step} step",
            ],
            *key,
        )
    if vl in ("events_per_session", "pages_per_session", "pages_per_visit"):
        if higher:
            return _pick(["Looks at many pages per visit", "Browses deeply in each visit"], *key)
        return _pick(["Keeps visits short", "Looks at few pages per visit"], *key)
    if vl in ("recency_days", "recency", "days_since_last_visit", "days_since_last_activity"):
        if higher:
            return _pick(["Has not been back for a while", "Has not visited lately"], *key)
        return _pick(["Visited recently", "Has been active lately"], *key)
    if vl in ("days_since_last_order", "days_since_last_purchase"):
        if higher:
            return _pick(["Has not ordered for a while", "Has not bought lately"], *key)
        return _pick(["Ordered recently", "Has bought lately"], *key)
    if vl == "tenure_days":
        if higher:
            return _pick(
                ["Has been active over a long stretch", "Keeps coming back over months"], *key
            )
        return _pick(["Has been active only briefly", "Was active only for a short while"], *key)
    if vl in ("tenure", "tenure_months", "customer_since", "membership_days"):
        if higher:
            return _pick(["Is a long-standing customer", "Has been a customer for long"], *key)
        return _pick(["Is a fairly new customer", "Has not been a customer for long"], *key)
    if vl in ("orders", "order_count", "n_orders", "frequency_orders"):
        if higher:
            return _pick(["Orders often", "Is a repeat buyer", "Buys again and again"], *key)
        return _pick(["Orders rarely", "Seldom places an order"], *key)
    if vl in ("revenue", "spend", "monetary", "total_spend", "revenue_per_user"):
        if higher:
            return _pick(["Spends more than most", "Is a big spender"], *key)
        return _pick(["Spends less than most", "Spends little"], *key)
    if vl in ("avg_order_value", "aov", "average_order_value"):
        if higher:
            return _pick(["Places large orders", "Buys big-ticket items"], *key)
        return _pick(["Places small orders", "Keeps baskets small"], *key)
    if row["role"] == "opinion":
        return _opinion_phrase(row, higher, key)
    return _generic_phrase(row)


def _generic_phrase(row: Mapping[str, Any]) -> str:
    """A plain "Label: ..." statement for variables without a phrase of their own."""
    label, level, kind = str(row["label"]), str(row["level"]), str(row["kind"])
    higher = float(row["effect"]) > 0
    value, index = float(row["value"]), float(row.get("index", math.nan))
    if kind == "categorical":
        lv = level.replace("_", " ")
        if value >= 0.5:
            return f"{label}: mostly “{lv}”"
        return f"{label}: “{lv}” more often than most"
    if kind == "binary":
        head = label if level in ("", "1", "True", "true") else f"{label} “{level}”"
        return f"{head}: {'more' if higher else 'less'} often than most"
    well = math.isfinite(index) and (index >= 200 or index <= 50)
    return f"{label}: {'well ' if well else ''}{'above' if higher else 'below'} average"


def _opinion_phrase(row: Mapping[str, Any], higher: bool, key: tuple) -> str:
    var = str(row["variable"]).lower()
    lab = _label_mid(str(row["label"]))
    lo, hi = row.get("_scale", (math.nan, math.nan))
    pos = (float(row["value"]) - lo) / (hi - lo) if math.isfinite(hi - lo) and hi > lo else 0.5
    toks = _tokens(var) | _tokens(lab)
    if toks & {"satisfaction", "satisfied", "csat", "zufriedenheit"}:
        if higher and pos >= 0.8:
            return _pick(["Is very satisfied", "Is very happy with the experience"], *key)
        if higher:
            return _pick(["Is more satisfied than most", "Is happier than most customers"], *key)
        if pos <= 0.4:
            return _pick(["Is dissatisfied", "Is unhappy with the experience"], *key)
        return _pick(["Is less satisfied than most", "Is less happy than most customers"], *key)
    if toks & {"trust", "confidence", "vertrauen"}:
        if higher and pos >= 0.75:
            return _pick(["Trusts the brand", "Has high trust in the service"], *key)
        if higher:
            return _pick(["Trusts the brand more than most", "Has more trust than most"], *key)
        if pos <= 0.4:
            return _pick(["Has little trust", "Struggles to trust the service"], *key)
        return _pick(["Has less trust than most", "Does not fully trust the service"], *key)
    if toks & {"nps", "recommend", "recommendation", "promoter"}:
        if higher and pos >= 0.8:
            return _pick(["Would recommend it to friends", "Is likely to recommend it"], *key)
        if higher:
            return _pick(["Is more likely than most to recommend it"], *key)
        if pos <= 0.6:
            return _pick(["Is unlikely to recommend it", "Would not recommend it"], *key)
        return _pick(["Is less keen than most to recommend it"], *key)
    if higher:
        return _pick([f"Rates {lab} highly", f"Is positive about {lab}"], *key)
    return _pick([f"Rates {lab} poorly", f"Is critical of {lab}"], *key)


_ADVERBS = {
    "often",
    "rarely",
    "mostly",
    "usually",
    "always",
    "never",
    "seldom",
    "also",
    "still",
    "sometimes",
    "mainly",
    "really",
}
_IRREGULAR = {"is": "are", "has": "have", "does": "do", "goes": "go"}


def _they(phrase: str) -> str:
    """Third person plural of a verb phrase ("Often shops ..." -> "often shop ...")."""
    words = phrase.split(" ")
    for i, w in enumerate(words):
        lw = w.lower()
        if lw in _ADVERBS:
            continue
        if lw in _IRREGULAR:
            new = _IRREGULAR[lw]
        elif lw.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
            new = w[:-2]
        elif lw.endswith("ies") and len(lw) > 4:
            new = w[:-3] + "y"
        elif lw.endswith("s") and not lw.endswith("ss"):
            new = w[:-1]
        else:
            new = w
        if w[:1].isupper():
            new = _cap(new)
        words[i] = new
        break
    return " ".join(words)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _name_table() -> pd.DataFrame:
    names = pd.read_csv(NAMES_FILE, comment="#", dtype={"name": str, "locale": str})
    names["decade"] = names["decade"].astype(int)
    return names


def choose_name(
    gender: str | None,
    birth_decade: int | None,
    *,
    locale: str = "en",
    seed: int = 0,
    key: Any = 0,
    forbidden: Iterable[str] = (),
) -> str | None:
    """Draw a first name for a persona from the shipped name list, deterministically.

    Parameters
    ----------
    gender : {"female", "male", "diverse"} or None
        None and "diverse" draw from names given to every gender.
    birth_decade : int or None
        E.g. 1990; the nearest decade of the list is used (None: any decade).
    locale : str
        Locale of the list (``en``, ``de``); unknown locales fall back to ``en`` with a warning.
    seed, key : int
        The draw is fixed by ``(seed, key)``; pass the segment number as ``key``.
    forbidden : iterable of str
        Names never to return (compared case-insensitively), e.g. names found in the data.

    Returns
    -------
    str or None
        None when every candidate is forbidden.

    Examples
    --------
    >>> choose_name("female", 1990, locale="de", seed=0, key=1) == choose_name(
    ...     "female", 1990, locale="de", seed=0, key=1)
    True
    >>> choose_name("male", 1970, forbidden={"michael"}) != "Michael"
    True
    """
    names = _name_table()
    if locale not in set(names["locale"]):
        warnings.warn(
            f"No persona names for locale {locale!r} in {NAMES_FILE.name} (available: "
            f"{', '.join(sorted(set(names['locale'])))}); English names are used. Add rows "
            "to the list to support it.",
            DataWarning,
            stacklevel=2,
        )
        locale = "en"
    g = gender if gender in ("female", "male") else "diverse"
    banned = {_fold(n) for n in forbidden}
    pool = names[(names["locale"] == locale) & (names["gender"] == g)]
    pool = pool[~pool["name"].map(_fold).isin(banned)]
    if pool.empty:
        return None
    if birth_decade is not None:
        decades = np.array(sorted(set(pool["decade"])))
        distance = np.abs(decades - int(birth_decade))
        for d in sorted(set(distance.tolist())):
            chosen = pool[pool["decade"].isin(decades[distance == d])]
            if not chosen.empty:
                pool = chosen
                break
    candidates = sorted(set(pool["name"]))
    rng = np.random.default_rng([abs(int(seed)), abs(int(key))])
    return candidates[int(rng.integers(len(candidates)))]


def _fold(name: str) -> str:
    """Lower case without accents ("Jürgen" -> "jurgen"), for comparing names."""
    import unicodedata

    text = unicodedata.normalize("NFKD", str(name).strip().lower())
    return text.encode("ascii", "ignore").decode("ascii")


def names_in_data(spec: Any) -> set[str]:
    """First names found in the ``pii`` columns of a data spec's table sources.

    Reads only the columns whose name looks like a name (``first_name``, ``name``,
    ``vorname``...) and returns their distinct values, to pass as ``forbidden_names`` to
    :func:`build_personas`. The values stay in memory; nothing is written.

    Examples
    --------
    >>> from toolkit.spec import load_spec  # doctest: +SKIP
    >>> "Anna" in names_in_data(load_spec("data-samples/shop/report.yaml"))  # doctest: +SKIP
    True
    """
    from toolkit.readers import read_frame

    out: set[str] = set()
    for source in getattr(spec, "sources", ()):
        if getattr(source, "kind", "table") != "table":
            continue
        cols = [
            c.name
            for c in source.columns
            if c.role == "pii"
            and (_tokens(c.name) & {"name", "firstname", "first", "vorname", "given", "forename"})
        ]
        if not cols:
            continue
        frame = read_frame(source, cols)
        for c in cols:
            for v in frame[c].dropna().astype(str):
                out.update(w for w in re.split(r"[\s,;/]+", v.strip()) if len(w) > 1)
    return out


def _names_in_table(table: pd.DataFrame, cat: pd.DataFrame) -> set[str]:
    """Names of the shipped list that occur as words anywhere in the table's text values."""
    known = {_fold(n): n for n in _name_table()["name"]}
    found: set[str] = set()
    for c in table.columns:
        s = table[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        values = pd.Series(pd.unique(s.dropna())).astype(str)
        if values.empty:
            continue
        words = set(re.findall(r"[^\W\d_]+", _fold(" ".join(values))))
        found |= {known[w] for w in words if w in known}
    return found


# --------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------
def _shorten(text: str, max_chars: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return text
    window = text[: max_chars + 1]
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", window)]
    ends = [e for e in ends if e >= min(40, max_chars // 3)]
    if ends:
        return window[: ends[-1]].strip()
    cut = window[:max_chars].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"


def _quote_candidates(
    texts: pd.Series, names: Iterable[str], max_chars: int
) -> tuple[np.ndarray, list[str], list[str], np.ndarray]:
    """(positions of usable comments, scrubbed text, scrubbed and shortened text, clean flag).

    Comments holding markup are never quoted; the others are scrubbed of personal data."""
    pos, full, out, clean = [], [], [], []
    names = frozenset(names)
    for i, t in enumerate(texts.to_numpy(dtype=object)):
        if not isinstance(t, str) or not t.strip() or has_markup(t):
            continue
        s = re.sub(r"\s+", " ", scrub_text(t, names=names)).strip()
        if not s or has_markup(s):
            continue
        short = _shorten(s, max_chars)
        if contains_pii(short, names=names):
            continue
        pos.append(i)
        full.append(s)
        out.append(short)
        clean.append("[" not in s and len(s.split()) >= 4)
    return np.asarray(pos, dtype=np.int64), full, out, np.asarray(clean, dtype=bool)


def _commenters(texts: pd.Series) -> np.ndarray:
    arr = texts.to_numpy(dtype=object)
    return np.array([isinstance(t, str) and bool(t.strip()) for t in arr])


_QUOTE_POOL = 3000  # comments per segment a quote is chosen from


def _typical_quotes(
    texts: pd.Series,
    labels: np.ndarray,
    segments: Sequence[int],
    *,
    names: Iterable[str],
    max_chars: int,
    seed: int = 0,
) -> dict[int, str]:
    """The most typical comment of each segment: closest to the centre of the segment's
    comments in TF-IDF space (IDF over the comments of all segments). Large segments are
    represented by a seeded sample of :data:`_QUOTE_POOL` comments."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    has = _commenters(texts)
    chosen = []
    for seg in segments:
        rows = np.flatnonzero(has & (labels == seg))
        if rows.size > _QUOTE_POOL:
            rng = np.random.default_rng([abs(int(seed)), abs(int(seg))])
            rows = np.sort(rng.choice(rows, size=_QUOTE_POOL, replace=False))
        chosen.append(rows)
    subset = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
    pos, raw, shortened, clean = _quote_candidates(texts.iloc[subset], names, max_chars)
    pos = subset[pos]
    if pos.size < 2:
        return {}
    vec = TfidfVectorizer(
        lowercase=True,
        strip_accents="unicode",
        sublinear_tf=True,
        min_df=2,
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
    )
    try:
        matrix = vec.fit_transform(raw)
    except ValueError:  # empty vocabulary
        return {}
    seg_of = labels[pos]
    out: dict[int, str] = {}
    for seg in segments:
        rows = np.flatnonzero(seg_of == seg)
        if rows.size == 0:
            continue
        sub = matrix[rows]
        centroid = np.asarray(sub.mean(axis=0)).ravel()
        norm = np.linalg.norm(centroid)
        if norm == 0:
            continue
        sims = np.asarray(sub @ (centroid / norm)).ravel()
        sims = np.where(clean[rows], sims, sims - 1.0)  # prefer comments that needed no scrub
        best = rows[int(np.argmax(sims))]  # first maximum: lowest row, deterministic
        out[int(seg)] = shortened[best]
    return out


# --------------------------------------------------------------------------------------------
# Comment themes: words a segment's commenters use far more often, in critical comments
# --------------------------------------------------------------------------------------------
_TERM = re.compile(r"(?u)\b[^\W\d_]{3,}\b")
_NEGATIVE = frozenset(
    "not no never nothing nobody cannot cant dont didnt doesnt wont isnt wasnt worried "
    "worries worry unsure hesitate hesitant problem problems issue issues slow wrong hard "
    "difficult crash crashes crashed damaged missing expensive careful left stopped annoying "
    "confusing hidden lost broken poor bad worse worst disappointed disappointing complicated "
    "unsafe risky fail failed fails error errors waited".split()
)
# fragments of contractions ("don't" -> "don") and fillers that make no theme
_NOT_THEMES = frozenset(
    "don didn doesn isn wasn won couldn wouldn shouldn aren weren haven hasn hadn ain honestly "
    "overall hmm well thanks thank cheers just really like good great nice ok okay sure still "
    "bit lot lots much many way also even always sometimes often little quite every thing "
    "things something anything everything stuff make made get got want need think know use "
    "used time times day days first last new old big small better best whole able come came "
    "look looks looking put end very too".split()
)
_CLAUSE = re.compile(r"[.;!?,:()]+|\s[-–—]\s|\b(?:and|but|because|so)\b")
_MIN_THEME_USERS = 10
_MIN_CRITICAL = 0.6  # share of a word's mentions that stand in critical clauses


def _comment_tokens(text: Any) -> frozenset[str]:
    if not isinstance(text, str) or not text.strip():
        return frozenset()
    return frozenset(_TERM.findall(text.lower()))


def _critical_tokens(text: str) -> frozenset[str]:
    """Words of a comment that stand in a critical clause (one with a negation or a word of
    complaint)."""
    out: set[str] = set()
    for clause in _CLAUSE.split(text.lower()):
        toks = set(_TERM.findall(clause))
        if (
            toks & _NEGATIVE
            or "n't" in clause
            or "n’t" in clause
            or re.search(r"\btoo\s+[^\W\d_]", clause)
        ):
            out |= toks
    return frozenset(out)


def _comment_themes(
    texts: pd.Series,
    labels: np.ndarray,
    segments: Sequence[int],
    *,
    banned: set[str],
    min_users: int,
    alpha: float,
    min_effect: float,
) -> dict[int, Claim]:
    """Per segment, the word its commenters use far more often than the others (two-proportion
    test, Benjamini-Hochberg over every segment and word, Cohen's h at least ``min_effect``)
    when most comments using it are critical (a negation or a word of complaint)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from toolkit.correlation import benjamini_hochberg

    arr = texts.to_numpy(dtype=object)
    has = np.array([isinstance(t, str) and bool(t.strip()) and not has_markup(t) for t in arr])
    seg_ids = list(segments)
    n_seg = {s: int((has & (labels == s)).sum()) for s in seg_ids}
    total = int(has.sum())
    counts: dict[str, np.ndarray] = {}
    critical: dict[str, np.ndarray] = {}
    col = {s: i for i, s in enumerate(seg_ids)}
    overall: dict[str, int] = {}
    skip = set(ENGLISH_STOP_WORDS) | _NEGATIVE | _NOT_THEMES | banned
    for i in np.flatnonzero(has):
        toks = _comment_tokens(arr[i]) - skip
        if not toks:
            continue
        j = col.get(int(labels[i]))
        crit = _critical_tokens(arr[i]) if j is not None else frozenset()
        for t in toks:
            overall[t] = overall.get(t, 0) + 1
            if j is None:
                continue
            if t not in counts:
                counts[t] = np.zeros(len(seg_ids), dtype=np.int64)
                critical[t] = np.zeros(len(seg_ids), dtype=np.int64)
            counts[t][j] += 1
            critical[t][j] += t in crit
    rows = []
    for t, c in counts.items():
        for s, j in col.items():
            if c[j] >= min_users and n_seg[s] < total:
                rows.append((s, t, int(c[j]), int(critical[t][j]), overall[t]))
    if not rows:
        return {}
    x1 = np.array([r[2] for r in rows], dtype=float)
    n1 = np.array([n_seg[r[0]] for r in rows], dtype=float)
    x2 = np.array([r[4] for r in rows], dtype=float) - x1
    n2 = total - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (x1 / n1 - x2 / n2) / se, 0.0)
    p = 2 * stats.norm.sf(np.abs(z))
    q = benjamini_hochberg(p)
    h = cohens_h(x1 / n1, np.where(n2 > 0, x2 / n2, 0.0))
    best: dict[int, tuple] = {}
    for k, (s, t, hits, crit, _) in enumerate(rows):
        if not (q[k] < alpha and h[k] >= min_effect and crit / hits >= _MIN_CRITICAL):
            continue
        cand = (float(h[k]), t, k)
        if s not in best or cand[:2] > best[s][:2]:
            best[s] = cand
    out = {}
    for s, (eff, t, k) in best.items():
        v = x1[k] / n1[k]
        o = (x1[k] + x2[k]) / total
        low, high = wilson_interval(x1[k], n1[k])
        c = Claim(
            field="frustrations",
            text=f"Brings up “{t}” in critical comments",
            variable=str(texts.name),
            level=t,
            statistic="mentions",
            value=float(v),
            overall=float(o),
            index=_index(float(v), float(o)),
            effect=eff,
            effect_name="cohens_h",
            q=float(q[k]),
            ci_low=float(low),
            ci_high=float(high),
            n=int(n1[k]),
            direction="higher",
            evidence="test",
            threshold=min_effect,
            kind="text",
            role="text",
            label="Comments mentioning",
            strength=eff,
        )
        out[int(s)] = c
    return out


def _mention_stats(
    texts: pd.Series, in_seg: np.ndarray, term: str
) -> tuple[float, float, float, float]:
    """(segment share, overall share, Cohen's h vs rest, critical share) of commenters using
    ``term`` - the faithfulness check's re-derivation of a comment theme."""
    arr = texts.to_numpy(dtype=object)
    has = np.array([isinstance(t, str) and bool(t.strip()) and not has_markup(t) for t in arr])
    toks = [_comment_tokens(t) if h else frozenset() for t, h in zip(arr, has, strict=True)]
    uses = np.array([term in t for t in toks])
    seg, rest = has & in_seg, has & ~in_seg
    v = uses[seg].mean() if seg.any() else math.nan
    o = uses[has].mean() if has.any() else math.nan
    r = uses[rest].mean() if rest.any() else 0.0
    hits = np.flatnonzero(uses & seg)
    crit = np.mean([term in _critical_tokens(arr[i]) for i in hits]) if hits.size else 0.0
    return float(v), float(o), float(cohens_h(v, r)), float(crit)


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------
def _normalise_profiles(profiles: pd.DataFrame) -> pd.DataFrame:
    prof = profiles.copy()
    required = ["segment", "variable", "level", "kind", "role", "value", "overall", "effect"]
    missing = [c for c in required if c not in prof.columns]
    if missing:
        raise DataError(
            f"The profile table lacks column(s) {', '.join(missing)}; pass the output of "
            "toolkit.correlation.profile_segments (or profiles.csv of the run)."
        )

    def level(v: Any) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    prof["level"] = [level(v) for v in prof["level"]]
    prof["segment"] = pd.to_numeric(prof["segment"]).astype(np.int64)
    for c in ("is_base", "significant"):
        if c in prof.columns and prof[c].dtype != bool:
            prof[c] = prof[c].astype(str).str.lower().isin(["true", "1"])
    for c in ("label", "effect_name", "evidence"):
        if c not in prof.columns:
            prof[c] = ""
        prof[c] = prof[c].fillna("").astype(str)
    prof["label"] = [
        lab if lab else v.replace("_", " ").capitalize()
        for lab, v in zip(prof["label"], prof["variable"], strict=True)
    ]
    for c in ("n", "q", "ci_low", "ci_high", "index", "median"):
        if c not in prof.columns:
            prof[c] = np.nan
    return prof


def _targets_set(targets: pd.DataFrame | None) -> set[int] | None:
    if targets is None or len(targets) == 0 or "is_target" not in targets.columns:
        return None
    flag = targets["is_target"]
    if flag.dtype != bool:
        flag = flag.astype(str).str.lower().isin(["true", "1", "yes"])
    return {int(s) for s in targets.loc[flag.to_numpy(), "segment"]}


def _claim_from_row(row: Mapping[str, Any], field_name: str, text: str, **extra: Any) -> Claim:
    n = row.get("n", 0)
    return Claim(
        field=field_name,
        text=text,
        variable=str(row["variable"]),
        level=str(row["level"]),
        statistic="share" if row["kind"] in ("categorical", "binary") else "mean",
        value=float(row["value"]),
        overall=float(row["overall"]),
        index=float(row.get("index", math.nan)),
        effect=float(row["effect"]),
        effect_name=str(row.get("effect_name", "")),
        q=float(row.get("q", math.nan)),
        ci_low=float(row.get("ci_low", math.nan)),
        ci_high=float(row.get("ci_high", math.nan)),
        n=int(n) if n is not None and np.isfinite(n) else 0,
        direction="higher" if float(row["effect"]) > 0 else "lower",
        evidence=str(row.get("evidence", "")) or "test",
        kind=str(row["kind"]),
        role=str(row["role"]),
        label=str(row["label"]),
        strength=_strength(float(row["effect"]), str(row.get("effect_name", ""))),
        **extra,
    )


def _route(row: Mapping[str, Any], family: str, final_step: str | None) -> str | None:
    """The persona field a distinguishing row belongs to (None: not stated)."""
    role, kind, var = str(row["role"]), str(row["kind"]), str(row["variable"])
    higher = float(row["effect"]) > 0
    if kind == "categorical" and not higher:
        return None  # under-represented levels only restate the others
    if str(row["level"]) == "other":
        return None
    if family in ("device", "channel"):
        return "channels" if higher or family == "channel" else None
    if family in ("timeofday", "category") and not higher:
        return None
    if family == "dropout":
        if str(row["level"]) == "none":
            return "goals" if higher else None
        return "frustrations" if higher else None
    if family == "funnel":
        if var == "furthest_step":
            return None
        final = var in ("purchased", "conversion_rate") or var == final_step
        if final:
            return "goals" if higher else "frustrations"
        return "behaviours" if higher else "frustrations"
    if role == "opinion":
        bad = bool(_BAD_OUTCOME.search(var) or _BAD_OUTCOME.search(str(row["label"])))
        return "goals" if higher != bad else "frustrations"
    if role == "outcome":
        lv = var.lower()
        if lv in ("orders", "revenue", "avg_order_value", "days_since_last_order") or (
            "days" in _tokens(lv) or "recency" in _tokens(lv)
        ):
            return "behaviours"
        bad = bool(_BAD_OUTCOME.search(var) or _BAD_OUTCOME.search(str(row["label"])))
        return "goals" if higher != bad else "frustrations"
    if role == "demographic":
        return "lifestyle"
    return "behaviours"


def _dominant_claim(
    field_name: str,
    var: str,
    table: pd.DataFrame,
    cat: pd.DataFrame,
    in_seg: np.ndarray,
    dominance: float,
    text_of: Any,
) -> Claim | None:
    """A claim for the level held by most of the segment, if it clearly dominates."""
    kind = cat.loc[var, "kind"]
    text = _text_values(table[var])
    if kind == "binary":
        vals, positive = binary_values(table[var], _order(cat.loc[var, "order"]))
        levels = [positive] if positive else [""]
    else:
        seg_text = text[in_seg]
        counts = pd.Series([t for t in seg_text if t is not None]).value_counts()
        if counts.empty:
            return None
        top = counts[counts == counts.max()].index
        levels = [sorted(top)[0]]
    level = levels[0]
    x = _indicator(table, cat, var, level)
    v, o, h, n1, hits = _share_stats(x, in_seg)
    if not n1 or not math.isfinite(v):
        return None
    low, high = wilson_interval(hits, n1)
    if v < dominance or not float(low) > 0.5:
        return None
    label = str(cat.loc[var, "label"])
    return Claim(
        field=field_name,
        text=text_of(level),
        variable=var,
        level=level,
        statistic="share",
        value=v,
        overall=o,
        index=_index(v, o),
        effect=h,
        effect_name="cohens_h",
        ci_low=float(low),
        ci_high=float(high),
        n=n1,
        direction="higher" if v > o else ("lower" if v < o else ""),
        evidence="dominant",
        threshold=dominance,
        kind=str(kind),
        role=str(cat.loc[var, "role"]),
        label=label,
        strength=abs(h) if math.isfinite(h) else math.nan,
    )


def _place_text(level: str, label: str) -> str:
    known = _PLACE_PHRASES.get(level.strip().lower())
    if known:
        return f"Lives in {known[0]}"
    return f"Lives in {_label_mid(label)} {level}"


def _gender_of(level: str) -> str:
    return _GENDER_LEVELS.get(level.strip().lower(), "diverse")


def _predicate(claim: Claim, table: pd.DataFrame, cat: pd.DataFrame) -> np.ndarray | None:
    """Which users match a stated attribute (bool array), or None if it is not one."""
    if claim.field not in ATTRIBUTE_FIELDS or claim.role in ("outcome", "opinion"):
        return None
    if claim.statistic == "share":
        x = _indicator(table, cat, claim.variable, claim.level)
        if claim.direction == "lower" and claim.evidence != "dominant":
            return np.nan_to_num(x, nan=1.0) < 0.5
        return np.nan_to_num(x, nan=0.0) > 0.5
    if claim.statistic == "mean":
        x = _numbers(table, cat, claim.variable)
        with np.errstate(invalid="ignore"):
            if claim.direction == "higher":
                return np.nan_to_num(x, nan=-np.inf) > claim.overall
            return np.nan_to_num(x, nan=np.inf) < claim.overall
    if claim.statistic == "age_band":
        lo, hi = (int(p) for p in claim.level.split("-"))
        x = _numbers(table, cat, claim.variable)
        return (np.nan_to_num(x, nan=-1) >= lo) & (np.nan_to_num(x, nan=-1) <= hi)
    return None


def _prevalence(
    claims: list[Claim],
    table: pd.DataFrame,
    cat: pd.DataFrame,
    in_seg: np.ndarray,
    min_prevalence: float,
) -> tuple[list[Claim], list[Claim], float, float]:
    """Keep the attributes that together fit at least ``min_prevalence`` of the segment.

    Returns (kept claims, dropped claims, share of segment, share of all users)."""
    attrs = [(c, _predicate(c, table, cat)) for c in claims]
    attrs = [(c, m) for c, m in attrs if m is not None]
    n_seg = max(int(in_seg.sum()), 1)
    for c, m in attrs:
        c.coverage = float(m[in_seg].mean()) if in_seg.any() else math.nan
    dropped: list[Claim] = []

    def joint(items: list[tuple[Claim, np.ndarray]]) -> np.ndarray:
        out = np.ones(len(table), dtype=bool)
        for _, m in items:
            out &= m
        return out

    current = joint(attrs)
    while attrs and current[in_seg].sum() / n_seg < min_prevalence:
        order = sorted(
            range(len(attrs)),
            key=lambda i: (attrs[i][0].coverage, attrs[i][0].strength, attrs[i][0].variable),
        )
        # the weakest attribute whose removal lets more members fit (else simply the weakest)
        pick = order[0]
        for i in order:
            if joint(attrs[:i] + attrs[i + 1 :])[in_seg].sum() > current[in_seg].sum():
                pick = i
                break
        dropped.append(attrs[pick][0])
        attrs = attrs[:pick] + attrs[pick + 1 :]
        current = joint(attrs)
    share_seg = float(current[in_seg].sum() / n_seg) if attrs else 1.0
    share_all = float(current.mean()) if attrs else 1.0
    return [c for c, _ in attrs], dropped, share_seg, share_all


_METRIC_LABELS = {
    "conversion": "Bought at least once",
    "revenue_per_user": "Revenue per user",
    "avg_order_value": "Average order value",
    "nps": "Net promoter score",
}


def _metric_spec(metric: str, table: pd.DataFrame, cat: pd.DataFrame) -> tuple[str, str, str]:
    """(statistic, variable, level) that re-derive an outcome metric from the table."""
    has = set(table.columns)
    if metric == "conversion" and "purchased" in has:
        return "share", "purchased", ""
    if metric == "revenue_per_user" and "revenue" in has:
        return "mean_fill0", "revenue", ""
    if metric == "avg_order_value" and {"revenue", "orders"} <= has:
        return "ratio", "revenue", "orders"
    if metric == "avg_order_value" and "avg_order_value" in has:
        return "mean", "avg_order_value", ""
    if metric == "nps":
        for c in cat.index:
            row = cat.loc[c]
            label = str(row.get("label", "")).lower()
            named = str(c).lower() == "nps" or "net promoter" in label or "nps" in _tokens(label)
            if named and row.get("scale_min") == 0 and row.get("scale_max") == 10:
                return "nps", str(c), ""
    if metric in cat.index:
        kind = cat.loc[metric, "kind"]
        if kind == "binary":
            return "share", metric, ""
        if kind in ("numeric", "ordinal"):
            return "mean", metric, ""
    return "", "", ""


def _metric_values(
    statistic: str, var: str, level: str, table: pd.DataFrame, cat: pd.DataFrame, in_seg: Any
) -> tuple[float, float, int]:
    """(segment value, overall value, segment n) of a key figure, straight from the table."""
    if statistic == "share":
        x = _indicator(table, cat, var, "") if var in cat.index else binary_values(table[var])[0]
        v, o, _, n1, _ = _share_stats(x, in_seg)
        return v, o, n1
    x = _numbers(table, cat, var)
    if statistic == "mean_fill0":
        x = np.nan_to_num(x, nan=0.0)
    if statistic == "ratio":
        den = np.nan_to_num(_numbers(table, cat, level), nan=0.0)
        num = np.where(den > 0, np.nan_to_num(x, nan=0.0), 0.0)
        buyers = den > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            v = num[in_seg].sum() / den[in_seg].sum() if den[in_seg].sum() > 0 else math.nan
            o = num.sum() / den.sum() if den.sum() > 0 else math.nan
        return float(v), float(o), int((buyers & in_seg).sum())
    if statistic == "nps":
        ok = ~np.isnan(x)
        score = np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))
        score = np.where(ok, score, np.nan)
        v, o, _, n1 = _mean_stats(score, in_seg)
        return v, o, n1
    v, o, _, n1 = _mean_stats(x, in_seg)
    return v, o, n1


def _key_figure_claims(
    outcomes: pd.DataFrame | None,
    seg: int,
    table: pd.DataFrame,
    cat: pd.DataFrame,
    in_seg: np.ndarray,
    scales: Mapping[str, tuple[float, float]],
) -> list[tuple[Claim, dict[str, Any]]]:
    out = []
    if outcomes is None or len(outcomes) == 0:
        return out
    rows = outcomes[pd.to_numeric(outcomes["segment"]) == seg]
    for r in rows.to_dict("records"):
        metric = str(r["metric"])
        statistic, var, level = _metric_spec(metric, table, cat)
        if not statistic:
            continue
        label = _METRIC_LABELS.get(metric) or (
            str(cat.loc[metric, "label"]) if metric in cat.index else metric.replace("_", " ")
        )
        scale = scales.get(var) if statistic == "mean" else None
        kind = "binary" if statistic == "share" else "numeric"
        claim = Claim(
            field="key_figures",
            text=label,
            variable=var,
            level=level,
            statistic=statistic,
            value=float(r["value"]),
            overall=float(r["overall"]),
            index=_index(float(r["value"]), float(r["overall"])),
            ci_low=float(r.get("ci_low", math.nan)),
            ci_high=float(r.get("ci_high", math.nan)),
            n=int(r.get("n", 0) or 0),
            direction="",
            evidence="summary",
            kind=kind,
            role="outcome",
            label=label,
            metric=metric,
        )
        claim.detail = _detail_metric(claim, scale)
        unit = "share" if statistic == "share" else ("score" if scale or metric == "nps" else "")
        figure = {
            "metric": metric,
            "label": label,
            "value": claim.value,
            "overall": claim.overall,
            "ci_low": claim.ci_low,
            "ci_high": claim.ci_high,
            "text": claim.detail,
            "unit": unit,
            "scale_min": scale[0] if scale else (-100.0 if metric == "nps" else math.nan),
            "scale_max": scale[1] if scale else (100.0 if metric == "nps" else math.nan),
        }
        out.append((claim, figure))
    return out


def _detail_metric(claim: Claim, scale: tuple[float, float] | None) -> str:
    if claim.statistic == "share":
        p = format_pair(
            {
                "kind": "binary",
                "variable": "x",
                "value": claim.value,
                "overall": claim.overall,
                "index": claim.index,
            }
        )
        return f"{claim.label}: {p['value']} vs {p['overall']} overall"
    p = format_pair(
        {
            "kind": "numeric",
            "variable": "x",
            "value": claim.value,
            "overall": claim.overall,
            "index": claim.index,
        },
        scale=scale,
    )
    if scale is not None:
        return f"{claim.label}: {p['value']} of {p['scale_max']} vs {p['overall']} overall"
    return f"{claim.label}: {p['value']} vs {p['overall']} overall"


def _check_overrides(overrides: Any) -> dict[int, dict[str, Any]]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"Persona overrides must map a segment number to fields, e.g. {{1: {{'name': "
            f"'Julia'}}}}; got {type(overrides).__name__}."
        )
    out: dict[int, dict[str, Any]] = {}
    for key, value in overrides.items():
        m = re.fullmatch(r"\s*(?:segment[\s_-]*)?(-?\d+)\s*", str(key), re.IGNORECASE)
        if m is None:
            raise ConfigError(
                f"Persona override key {key!r} is not a segment number: use 1, 2... (or "
                "'segment 1')."
            )
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"Persona override of segment {key} must be a mapping of fields, e.g. "
                f"{{'name': 'Julia', 'photo': 'photos/julia.jpg'}}; got {value!r}."
            )
        unknown = [f for f in value if f not in OVERRIDABLE]
        if unknown:
            raise ConfigError(
                f"Persona override of segment {key}: unknown field(s) "
                f"{', '.join(map(str, unknown))}. Fields that can be overridden: "
                f"{', '.join(OVERRIDABLE)}."
            )
        for f in LIST_FIELDS:
            if f in value and isinstance(value[f], str):
                value = {**value, f: [value[f]]}
        out[int(m.group(1))] = dict(value)
    return out


@dataclass
class _Context:
    """What every persona of a run is built from."""

    table: pd.DataFrame
    cat: pd.DataFrame
    sem: _Semantics
    scales: Mapping[str, tuple[float, float]]
    thresholds: Mapping[str, float]
    describe: Mapping[str, float]
    final_step: str | None
    seed: int
    dominance: float
    min_prevalence: float
    min_quote_users: int
    total: int


def _age_claims(ctx: _Context, in_seg: np.ndarray, rows: pd.DataFrame) -> list[Claim]:
    """The typical age (median) and, when age distinguishes the segment, its decade; or the
    median year of birth."""
    var = ctx.sem.age or ctx.sem.birth_year
    if var is None:
        return []
    x = _numbers(ctx.table, ctx.cat, var)
    v, o, n1 = _median_stats(x, in_seg)
    if not n1 or not math.isfinite(v):
        return []
    label = str(ctx.cat.loc[var, "label"])
    typical = _half_up(v)
    text = f"Typical age {typical}" if ctx.sem.age else f"Born around {typical}"
    c = Claim(
        field="age",
        text=text,
        variable=var,
        statistic="median",
        value=v,
        overall=o,
        index=_index(v, o),
        n=n1,
        evidence="summary",
        kind="numeric",
        role="demographic",
        label=label,
    )
    c.detail = _detail(c)
    out = [c]
    if ctx.sem.age and (rows["variable"] == var).any():
        lo = (typical // 10) * 10
        band = np.where(np.isnan(x), np.nan, ((x >= lo) & (x <= lo + 9)).astype(float))
        bv, bo, bh, bn, _ = _share_stats(band, in_seg)
        if bv > bo:
            b = Claim(
                field="age",
                text=f"In the {lo}s",
                variable=var,
                level=f"{lo}-{lo + 9}",
                statistic="age_band",
                value=bv,
                overall=bo,
                index=_index(bv, bo),
                effect=bh,
                effect_name="cohens_h",
                n=bn,
                direction="higher",
                evidence="description",
                kind="numeric",
                role="demographic",
                label=label,
                strength=abs(bh),
            )
            b.detail = _detail(b)
            out.append(b)
    return out


def _who_claims(ctx: _Context, in_seg: np.ndarray) -> tuple[list[Claim], list[str]]:
    """Gender, place and other person-level levels that clearly dominate the segment."""
    sem, notes = ctx.sem, []
    found: list[Claim] = []

    def dominant(field_name: str, var: str, text_of: Any) -> Claim | None:
        return _dominant_claim(field_name, var, ctx.table, ctx.cat, in_seg, ctx.dominance, text_of)

    if sem.gender is not None:
        g = dominant(
            "gender",
            sem.gender,
            lambda lv: {"female": "Woman", "male": "Man"}.get(_gender_of(lv), "Non-binary"),
        )
        if g is None:
            notes.append(
                f"Gender is not stated: no gender makes up {ctx.dominance:.0%} or more of the "
                "segment with a 95% interval above 50%."
            )
        else:
            found.append(g)
    for var in sem.place:
        label = str(ctx.cat.loc[var, "label"])
        pc = dominant("place", var, lambda lv, lab=label: _place_text(lv, lab))
        if pc is not None:
            found.append(pc)
            break
    for var, r in ctx.cat.iterrows():
        if (
            r["role"] != "demographic"
            or r["kind"] not in ("categorical", "binary")
            or var in (sem.gender, *sem.place)
            or _family(str(var), str(r["label"])) in ("device", "channel")
        ):
            continue
        label = str(r["label"])
        lc = dominant(
            "lifestyle", str(var), lambda lv, lab=label: f"{lab}: {lv}" if lv else f"{lab}: yes"
        )
        if lc is not None and lc.direction == "higher":
            found.append(lc)
    for c in found:
        c.detail = _detail(c)
    return found, notes


def _distinguishing_claims(
    ctx: _Context, seg: int, rows: pd.DataFrame, stated: set[str], in_seg: np.ndarray
) -> list[Claim]:
    """Statements from the segment's distinguishing profile rows, strongest first, within
    the limits per field and per family of variables."""
    sem = ctx.sem
    skip = stated | {v for v in (sem.age, sem.birth_year, sem.gender, *sem.place) if v}
    counts: dict[str, int] = {}
    family_counts: dict[tuple[str, str], int] = {}
    out: list[Claim] = []
    records = rows.to_dict("records")
    # where non-buying visits end is no barrier for a segment that buys at least as often
    converts_better = False
    for var in (ctx.final_step, "purchased", "conversion_rate"):
        if var and var in ctx.table.columns:
            v, o, _, _ = _mean_stats(_numbers(ctx.table, ctx.cat, var), in_seg)
            converts_better = bool(v >= o)
            break
    for r in records:
        var = str(r["variable"])
        if var in skip:
            continue
        family = _family(var, str(r["label"]))
        fld = _route(r, family, ctx.final_step)
        if family == "dropout" and fld == "frustrations" and converts_better:
            continue
        if fld is None or counts.get(fld, 0) >= _LIMITS[fld]:
            continue
        if family == "other" and r["role"] == "opinion":
            family = "opinion"
        fam_key = (fld, family)
        if family_counts.get(fam_key, 0) >= _FAMILY_LIMITS.get(family, 99):
            continue
        r["_scale"] = ctx.scales.get(var, (math.nan, math.nan))
        r["_final"] = var in ("purchased", "conversion_rate") or var == ctx.final_step
        c = _claim_from_row(r, fld, _phrase(r, family, fld, (ctx.seed, seg, var, r["level"])))
        rules = ctx.describe if c.evidence == "description" else ctx.thresholds
        c.threshold = float(rules.get(c.effect_name, math.nan))
        c.detail = _detail(c, ctx.scales.get(var))
        if any(o.text == c.text and o.field == c.field for o in out):
            continue
        out.append(c)
        counts[fld] = counts.get(fld, 0) + 1
        family_counts[fam_key] = family_counts.get(fam_key, 0) + 1
    return out


def _prevalence_claim(
    ctx: _Context, claims: list[Claim], in_seg: np.ndarray
) -> tuple[list[Claim], dict[str, Any]]:
    """Drop attributes until the rest fit enough of the segment; the claims left and the
    prevalence record of the card."""
    kept, dropped, share_seg, share_all = _prevalence(
        claims, ctx.table, ctx.cat, in_seg, ctx.min_prevalence
    )
    dropped_ids = {id(c) for c in dropped}
    claims = [c for c in claims if id(c) not in dropped_ids]
    pct = _pair(Claim("", "", value=share_seg, overall=share_all, statistic="prevalence"))
    if dropped:
        note = (
            f"To keep this persona representative, {len(dropped)} attribute(s) that fit "
            f"the fewest members were left out ({'; '.join(c.text for c in dropped)}). "
            f"The remaining {len(kept)} together fit {pct['value']} of the segment "
            f"({pct['overall']} of all users)."
        )
    elif kept:
        note = (
            f"Who this persona is and what they do ({len(kept)} stated attributes) fit "
            f"{pct['value']} of the segment together ({pct['overall']} of all users)."
        )
    else:
        note = "No attribute is stated, so the persona fits every member of the segment."
    if kept:
        pc = Claim(
            field="prevalence",
            text="Members matching every stated attribute",
            statistic="prevalence",
            value=share_seg,
            overall=share_all,
            n=int(in_seg.sum()),
            evidence="derived",
            kind="binary",
            threshold=ctx.min_prevalence,
        )
        pc.detail = _detail(pc)
        claims.append(pc)
    record = {
        "share_of_segment": share_seg,
        "share_of_all": share_all,
        "attributes": [c.text for c in kept],
        "dropped": [c.text for c in dropped],
        "note": note,
    }
    return claims, record


def _size_claim(ctx: _Context, size: int) -> tuple[Claim, dict[str, Any]]:
    sc = Claim(
        field="key_figures",
        text="Users",
        statistic="size",
        value=float(size),
        overall=float(ctx.total),
        n=size,
        evidence="summary",
        kind="numeric",
        label="Users",
        metric="size",
    )
    sc.detail = _detail(sc)
    figure = {
        "metric": "size",
        "label": "Users",
        "value": float(size),
        "overall": float(ctx.total),
        "ci_low": math.nan,
        "ci_high": math.nan,
        "text": sc.detail,
        "unit": "count",
        "scale_min": math.nan,
        "scale_max": math.nan,
    }
    return sc, figure


def _persona_from_claims(
    ctx: _Context,
    seg: int,
    in_seg: np.ndarray,
    rows: pd.DataFrame,
    outcomes: pd.DataFrame | None,
) -> Persona:
    """A persona with its evidence, prevalence and key figures (no name, quote or text yet)."""
    size = int(in_seg.sum())
    claims = _age_claims(ctx, in_seg, rows)
    who, notes = _who_claims(ctx, in_seg)
    claims += who
    claims += _distinguishing_claims(ctx, seg, rows, {c.variable for c in claims}, in_seg)
    claims, prevalence = _prevalence_claim(ctx, claims, in_seg)
    size_claim, size_figure = _size_claim(ctx, size)
    claims.append(size_claim)
    figures = [size_figure]
    for c, fig in _key_figure_claims(outcomes, seg, ctx.table, ctx.cat, in_seg, ctx.scales):
        claims.append(c)
        figures.append(fig)
    gender_claim = next((c for c in claims if c.field == "gender"), None)
    place_claim = next((c for c in claims if c.field == "place"), None)
    age_claim = next((c for c in claims if c.field == "age" and c.statistic == "median"), None)
    gender = _gender_of(gender_claim.level) if gender_claim else None
    age = birth_year = None
    if age_claim is not None and ctx.sem.age:
        age = _half_up(age_claim.value)
    elif age_claim is not None:
        birth_year = _half_up(age_claim.value)
    return Persona(
        segment=seg,
        name="",
        age=age,
        gender=gender,
        place=place_claim.level if place_claim else None,
        headline="",
        about="",
        key_figures=figures,
        size=size,
        share=size / ctx.total if ctx.total else math.nan,
        prevalence=prevalence,
        evidence=claims,
        notes=notes,
        pronoun={"female": "she", "male": "he"}.get(gender or "", "they"),
        birth_year=birth_year,
    )


def _add_quote(ctx: _Context, p: Persona, quote: str | None, n_comments: int) -> None:
    if quote is not None:
        qc = Claim(
            field="quote",
            text=quote,
            variable=ctx.sem.text or "",
            statistic="quote",
            value=float(n_comments),
            overall=float(ctx.min_quote_users),
            n=n_comments,
            evidence="comment",
            kind="text",
            threshold=float(ctx.min_quote_users),
        )
        qc.detail = _detail(qc)
        p.evidence.append(qc)
        p.quote = quote
    elif ctx.sem.text is None:
        p.notes.append("No quote: the data has no text column.")
    elif n_comments < ctx.min_quote_users:
        p.notes.append(
            f"No quote: {n_comments} member(s) commented, fewer than {ctx.min_quote_users}."
        )
    else:
        p.notes.append("No quote: no comment is usable after removing personal data.")


def _birth_decade(p: Persona, reference_year: int) -> int | None:
    if p.age is not None:
        return ((reference_year - p.age) // 10) * 10
    if p.birth_year is not None:
        return (p.birth_year // 10) * 10
    return None


def _persona_name(
    p: Persona,
    decade: int | None,
    locale: str,
    seed: int,
    forbidden: set[str],
    used: set[str],
) -> str:
    banned = forbidden | used
    for d in (decade, None):
        name = choose_name(p.gender, d, locale=locale, seed=seed, key=p.segment, forbidden=banned)
        if name is not None:
            return name
    return f"Persona {p.segment}"


def _apply_overrides(p: Persona, ov: Mapping[str, Any], forbidden: set[str]) -> None:
    if "name" in ov and _fold(str(ov["name"])) in forbidden:
        warnings.warn(
            f"The override name {ov['name']!r} of segment {p.segment} occurs in the data; a "
            "persona name should be invented so that nobody is identified.",
            DataWarning,
            stacklevel=3,
        )
    for f, v in ov.items():
        setattr(p, f, list(v) if f in LIST_FIELDS else v)
    if "gender" in ov:
        p.pronoun = {"female": "she", "male": "he"}.get(str(ov["gender"]), "they")
    p.overridden = sorted(ov, key=OVERRIDABLE.index)


def build_personas(
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    profiles: pd.DataFrame | None = None,
    findings: pd.DataFrame | None = None,
    outcomes: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
    *,
    min_size: int = DEFAULT_MIN_PERSONA_SIZE,
    min_quote_users: int = DEFAULT_MIN_QUOTE_USERS,
    seed: int = 0,
    locale: str = "en",
    overrides: Mapping[Any, Mapping[str, Any]] | None = None,
    all_segments: bool = False,
    forbidden_names: Iterable[str] | None = None,
    alpha: float | None = None,
    min_effect: float | Mapping[str, float] | None = None,
    dominance: float = DEFAULT_DOMINANCE,
    min_prevalence: float = DEFAULT_MIN_PREVALENCE,
    max_quote_chars: int = DEFAULT_MAX_QUOTE_CHARS,
    reference_year: int = DEFAULT_REFERENCE_YEAR,
) -> PersonaSet:
    """Write one persona per target segment from the analysis tables.

    Parameters
    ----------
    table : DataFrame
        The user table (``Audience.table``): one row per user.
    segments : DataFrame, Series or array-like
        Segment labels (the segments table with the id column, or one label per row).
    columns : DataFrame, optional
        The column catalogue (roles, kinds, labels, scales).
    profiles : DataFrame, optional
        :func:`toolkit.correlation.profile_segments` output (``profiles.csv``); computed
        when None.
    findings : DataFrame, optional
        :func:`toolkit.findings.distinguishing_findings` output; quoted in :meth:`explain`.
    outcomes : DataFrame, optional
        :func:`toolkit.outcomes.outcomes_by_segment` output, for the key figures; computed
        when None.
    targets : DataFrame, optional
        :func:`toolkit.targeting.rank_targets` output: personas for rows with ``is_target``
        (every segment when None or when ``all_segments``).
    min_size : int
        Segments with fewer users get no persona (recorded in :attr:`PersonaSet.skipped`).
    min_quote_users : int
        A quote needs at least this many commenters in the segment.
    seed : int
        Fixes names and wording.
    locale : str
        Locale of the name list (``en``, ``de``).
    overrides : mapping, optional
        ``{segment: {field: value}}`` set by the analyst (name, photo, headline, about, age,
        gender, place, quote, list fields); such fields are listed in ``overridden``.
    all_segments : bool
        Personas for every segment, not only the targets.
    forbidden_names : iterable of str, optional
        Names never to use (e.g. :func:`names_in_data` of the spec). Names of the list found
        anywhere in the table's text are never used either.
    alpha, min_effect : optional
        Override the false-discovery rate and effect threshold the profiles were built with.
    dominance : float
        Share from which a level (gender, place...) is stated as the persona's.
    min_prevalence : float
        Stated attributes together must fit this share of the segment.
    max_quote_chars : int
        Longer quotes are shortened at a sentence or word boundary.
    reference_year : int
        Year that turns the persona's age into a birth decade for the name list.

    Returns
    -------
    PersonaSet
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"table must be a pandas DataFrame, not {type(table).__name__}.")
    if min_size < 1 or min_quote_users < 1:
        raise ConfigError(
            f"min_size ({min_size}) and min_quote_users ({min_quote_users}) must be at least 1."
        )
    cat = column_catalogue(table, columns)
    labels = align_segments(table, segments)
    scales = scales_from_columns(cat)
    if profiles is None:
        from toolkit.correlation import profile_segments

        profiles = profile_segments(table, labels, cat, n_boot=200, random_state=seed)
    prof = _normalise_profiles(profiles)
    if outcomes is None:
        from toolkit.outcomes import outcomes_by_segment

        try:
            outcomes = outcomes_by_segment(table, labels, cat, n_boot=200, random_state=seed)
        except DataError:
            outcomes = None
    used_alpha = float(alpha if alpha is not None else profiles.attrs.get("alpha", 0.05))
    used_effect = min_effect if min_effect is not None else profiles.attrs.get("min_effect")
    used_effect = DEFAULT_MIN_EFFECT if used_effect is None else used_effect
    thresholds = effect_thresholds(used_effect)
    d = thresholds["cohens_h"]
    describe = effect_thresholds(max(DEFAULT_MIN_DESCRIPTION_EFFECT, d))
    allowed = finding_mask(prof, alpha=used_alpha, min_effect=min_effect)
    diff = prof["value"].to_numpy(dtype=float) - prof["overall"].to_numpy(dtype=float)
    allowed &= np.sign(diff) == np.sign(prof["effect"].to_numpy(dtype=float))
    prof = prof[allowed].copy()
    prof["_strength"] = [
        _strength(e, n) for e, n in zip(prof["effect"], prof["effect_name"], strict=True)
    ]
    prof = prof.sort_values(
        ["segment", "_strength", "variable", "level"],
        ascending=[True, False, True, True],
        kind="mergesort",
    )

    sem = _semantics(table, cat)
    total = len(table)
    seg_ids = sorted(int(s) for s in np.unique(labels[labels >= 0]))
    chosen = None if all_segments else _targets_set(targets)
    over = _check_overrides(overrides)
    funnel_order = (
        _order(cat.loc["furthest_step", "order"]) if "furthest_step" in cat.index else None
    )
    final_step = f"reached_{funnel_order[-1]}" if funnel_order else None
    forbidden = set(forbidden_names or ()) | _names_in_table(table, cat)
    forbidden_folded = {_fold(n) for n in forbidden}

    skipped: list[dict[str, Any]] = []
    wanted: list[int] = []
    for seg in seg_ids:
        size = int((labels == seg).sum())
        if chosen is not None and seg not in chosen:
            skipped.append(
                {
                    "segment": seg,
                    "size": size,
                    "code": "not_target",
                    "reason": f"Segment {seg} is not one of the target segments, so this "
                    "report has no persona for it (the all_segments setting adds one for "
                    "every segment).",
                }
            )
        elif size < min_size:
            skipped.append(
                {
                    "segment": seg,
                    "size": size,
                    "code": "too_small",
                    "reason": f"Segment {seg} has {size:,} users, fewer than the "
                    f"minimum of {min_size:,}: a persona of so few people "
                    "could point to real individuals.",
                }
            )
        else:
            wanted.append(seg)

    quotes: dict[int, str] = {}
    themes: dict[int, Claim] = {}
    commenters: dict[int, int] = {}
    if sem.text is not None:
        texts = table[sem.text]
        has = _commenters(texts)
        for seg in wanted:
            commenters[seg] = int((has & (labels == seg)).sum())
        quotable = [s for s in wanted if commenters[s] >= min_quote_users]
        if quotable:
            quotes = _typical_quotes(
                texts, labels, quotable, names=forbidden, max_chars=max_quote_chars, seed=seed
            )
        themes = _comment_themes(
            texts,
            labels,
            wanted,
            banned={_fold(n) for n in forbidden} | {n.lower() for n in forbidden},
            min_users=max(min_quote_users, _MIN_THEME_USERS),
            alpha=used_alpha,
            min_effect=thresholds["cohens_h"],
        )

    ctx = _Context(
        table=table,
        cat=cat,
        sem=sem,
        scales=scales,
        thresholds=thresholds,
        describe=describe,
        final_step=final_step,
        seed=int(seed),
        dominance=float(dominance),
        min_prevalence=float(min_prevalence),
        min_quote_users=int(min_quote_users),
        total=total,
    )
    personas: list[Persona] = []
    explanations: dict[int, list[str]] = {}
    # names chosen by the analyst are not drawn for another persona
    used_names: set[str] = {_fold(str(o["name"])) for o in over.values() if "name" in o}
    for seg in wanted:
        in_seg = labels == seg
        rows = prof[prof["segment"] == seg]
        persona = _persona_from_claims(ctx, seg, in_seg, rows, outcomes)
        if seg in themes:
            theme = themes[seg]
            theme.detail = _detail(theme)
            persona.evidence.append(theme)
        _add_quote(ctx, persona, quotes.get(seg), commenters.get(seg, 0))
        decade = _birth_decade(persona, reference_year)
        persona.name = _persona_name(
            persona, decade, locale, int(seed), forbidden_folded, used_names
        )
        used_names.add(_fold(persona.name))
        persona.locale = locale
        for f in LIST_FIELDS:
            setattr(persona, f, [c.text for c in persona.evidence if c.field == f])
        ov = over.get(seg, {})
        _apply_overrides(persona, ov, forbidden_folded)
        if "headline" not in ov:
            persona.headline = _headline(persona, (seed, seg))
        if "about" not in ov:
            persona.about = _about(persona, (seed, seg))
        personas.append(persona)
        explanations[seg] = _explain_lines(
            persona,
            rows,
            findings,
            decade,
            commenters.get(seg, 0),
            seed,
            locale,
            len(forbidden_folded),
        )

    params = {
        "min_size": int(min_size),
        "min_quote_users": int(min_quote_users),
        "seed": int(seed),
        "locale": locale,
        "alpha": used_alpha,
        "thresholds": thresholds,
        "description_thresholds": describe,
        "dominance": float(dominance),
        "min_prevalence": float(min_prevalence),
        "max_quote_chars": int(max_quote_chars),
        "reference_year": int(reference_year),
        "all_segments": bool(all_segments),
    }
    return PersonaSet(personas, skipped, params, total, explanations)


# --------------------------------------------------------------------------------------------
# Headline and about
# --------------------------------------------------------------------------------------------
def _is_phrase(c: Claim) -> bool:
    """Whether a claim's text is a verb phrase ("Shops ...") rather than "Label: ..."."""
    return ":" not in c.text and c.text[:1].isupper()


def _descriptor(c: Claim) -> str:
    """A generic claim as a noun phrase for running text ("above-average income")."""
    label = _label_mid(c.label or c.variable)
    if c.statistic == "mean":
        return f"{'above' if c.direction == 'higher' else 'below'}-average {label}"
    if c.kind == "categorical":
        return f"{label} “{c.level.replace('_', ' ')}”"
    return f"{label} ({'more' if c.direction == 'higher' else 'less'} often)"


def _headline(p: Persona, key: tuple) -> str:
    cl = {f: p.claims(f) for f in ("behaviours", "channels", "goals", "frustrations", "place")}
    adj = ""
    if p.place:
        adj = _PLACE_PHRASES.get(p.place.strip().lower(), ("", ""))[1]
    cats = [
        c
        for c in cl["behaviours"]
        if _family(c.variable, c.label) == "category" and c.variable.startswith("share_cat_")
    ]
    shop_like = any(
        _family(c.variable, c.label) in ("category", "timeofday", "device", "funnel", "dropout")
        for c in p.evidence
    )
    if cats:
        c0 = _category_name(cats[0].variable, cats[0].level)
        noun = f"{c0} " + _pick(["lover", "fan", "enthusiast"], *key, "noun")
    else:
        noun = "shopper" if shop_like else "customer"
    head = " ".join(w for w in (adj, noun) if w)
    article = "An" if head[:1].lower() in "aeiou" else "A"
    acts = [c for c in cl["behaviours"] + cl["channels"] if c not in cats[:1]]
    pool = sorted((c for c in acts if _is_phrase(c)), key=_vivid)
    text = f"{article} {head}"
    if pool:
        text += f" who {_lower_first(pool[0].text)}"
    else:
        generic = sorted(
            (c for c in acts + p.claims("lifestyle") if not _is_phrase(c)), key=_vivid
        )
        if generic:
            text += f" with {_join([_descriptor(c) for c in generic[:2]])}"
    frus = [c for c in cl["frustrations"] if _is_phrase(c) and c.statistic != "mentions"]
    goals = sorted((c for c in cl["goals"] if _is_phrase(c)), key=_vivid)
    tail = frus[:1] or goals[:1]
    if tail:
        joiner = (
            (", but" if frus else ", and")
            if pool
            else (", who" if text != f"{article} {head}" else " who")
        )
        text += f"{joiner} {_lower_first(tail[0].text)}"
    return text


def _vivid(c: Claim) -> tuple[int, float]:
    """Sort key: habits people picture (when, where, how often) before spending figures."""
    family = _family(c.variable, c.label)
    rank = {
        "timeofday": 0,
        "weekday": 0,
        "device": 1,
        "channel": 1,
        "frequency": 1,
        "category": 2,
    }.get(family, 4 if c.role == "outcome" else 3)
    if c.role == "opinion":
        rank = 0
    return rank, -(c.strength if math.isfinite(c.strength) else 0.0)


def _about(p: Persona, key: tuple) -> str:
    pron = p.pronoun
    subj = _cap(pron)
    obj = {"she": "her", "he": "him"}.get(pron, "them")

    def vp(c: Claim, by_pronoun: bool = True) -> str:
        t = _lower_first(c.text)
        return _they(t) if pron == "they" and by_pronoun else t

    sentences = []
    place = p.claims("place")
    where = _lower_first(place[0].text) if place else ""
    if "place" in p.overridden:
        where = f"lives in {p.place}" if p.place else ""
    if p.age is not None and where:
        sentences.append(f"{p.name} is {p.age} and {where}.")
    elif p.age is not None:
        sentences.append(f"{p.name} is {p.age}.")
    elif p.birth_year is not None:
        sentences.append(f"{p.name} was born around {p.birth_year}.")
    elif where:
        sentences.append(f"{p.name} {where}.")
    acts = sorted(p.claims("behaviours") + p.claims("channels"), key=_vivid)
    if any(_is_phrase(c) for c in acts):
        named = not sentences
        who = p.name if named else subj
        said = [vp(c, not named) for c in acts if _is_phrase(c)][:3]
        sentences.append(f"{who} {_join(said)}.")
    generic = [c for c in p.claims("lifestyle") + acts if not _is_phrase(c)][:3]
    if generic:
        named = not sentences
        verb = "stands out" if named or pron != "they" else "stand out"
        who = p.name if named else subj
        sentences.append(f"{who} {verb} for {_join([_descriptor(c) for c in generic])}.")
    goals = [c for c in p.claims("goals") if _is_phrase(c)][:2]
    if goals:
        named = not sentences
        who = p.name if named else subj
        sentences.append(f"{who} {_join([vp(c, not named) for c in goals])}.")
    frus = [c for c in p.claims("frustrations") if _is_phrase(c)][:2]
    if frus:
        lead = _pick(["What holds {o} back:", "Where it gets hard:", "The catch:"], *key, "f")
        sentences.append(f"{lead.format(o=obj)} {pron} {_join([vp(c) for c in frus])}.")
    if not sentences:
        sentences.append(f"{p.name} stands for segment {p.segment}.")
    return " ".join(sentences)


# --------------------------------------------------------------------------------------------
# Faithfulness
# --------------------------------------------------------------------------------------------
_FAITH_COLUMNS = [
    "segment",
    "persona",
    "field",
    "claim",
    "variable",
    "level",
    "stated",
    "derived",
    "problem",
]


def check_faithfulness(
    personas: PersonaSet | Sequence[Persona],
    table: pd.DataFrame,
    segments: Any,
    columns: Any = None,
    *,
    tolerance: float = 1e-6,
) -> pd.DataFrame:
    """Re-derive every claim of every persona from the data; list the ones that do not hold.

    For each claim the segment value and the overall value are computed again from the user
    table (shares, means, medians, age bands, key-figure metrics, prevalence of the stated
    attributes together, the commenters behind the quote) and compared with the stated ones.
    The direction (higher or lower) must hold; the effect size is recomputed (Cohen's h,
    rank-biserial correlation) and must reach the claim's threshold; tested claims must have a
    q-value below alpha; dominant levels must keep their share and a 95% interval above 50%.
    Every number in a claim's text must be a rounding of the re-derived values. Persona fields
    must match their claims (age, gender, place, list items, quote), and the headline and
    about paragraph may hold no number that is not in a claim. Fields set by an analyst
    (``overridden``) are not checked.

    Parameters
    ----------
    personas : PersonaSet or list of Persona
    table : DataFrame
        The user table the personas were built from.
    segments : DataFrame, Series or array-like
        The same segment labels.
    columns : DataFrame, optional
        The column catalogue.
    tolerance : float
        Relative and absolute tolerance when comparing values (JSON rounds to 6 decimals).

    Returns
    -------
    DataFrame
        One row per problem: segment, persona, field, claim, variable, level, stated, derived,
        problem. Empty when every claim holds.
    """
    cat = column_catalogue(table, columns)
    labels = align_segments(table, segments)
    scales = scales_from_columns(cat)
    params = personas.params if isinstance(personas, PersonaSet) else {}
    alpha = float(params.get("alpha", 0.05))
    problems: list[dict[str, Any]] = []
    total = len(table)

    def close(a: float, b: float) -> bool:
        if not (math.isfinite(a) and math.isfinite(b)):
            return not math.isfinite(a) and not math.isfinite(b)
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=max(tolerance, 1e-6))

    for p in personas:
        in_seg = labels == p.segment

        def bad(
            claim: Claim | None, problem: str, stated: Any = "", derived: Any = "", p=p
        ) -> None:
            problems.append(
                {
                    "segment": p.segment,
                    "persona": p.name,
                    "field": claim.field if claim else "",
                    "claim": claim.text if claim else "",
                    "variable": claim.variable if claim else "",
                    "level": claim.level if claim else "",
                    "stated": stated,
                    "derived": derived,
                    "problem": problem,
                }
            )

        size = int(in_seg.sum())
        if size != p.size:
            bad(None, "segment size differs", p.size, size)
        for c in p.evidence:
            try:
                _check_claim(c, p, table, cat, labels, in_seg, scales, alpha, total, close, bad)
            except (KeyError, ValueError, TypeError) as err:
                bad(c, f"cannot be re-derived: {err}")
        _check_fields(p, bad)
    out = pd.DataFrame(problems, columns=_FAITH_COLUMNS)
    for c in ("stated", "derived"):
        out[c] = out[c].astype(str)
    return out


def _check_claim(c, p, table, cat, labels, in_seg, scales, alpha, total, close, bad) -> None:
    st = c.statistic
    derived = Claim(**{**asdict(c)})
    if st in ("share", "mean", "median", "age_band", "mentions", "quote") and (
        c.variable not in table.columns
    ):
        bad(c, "variable is not in the table")
        return
    effect = math.nan
    if st == "share" and c.field != "key_figures":
        x = _indicator(table, cat, c.variable, c.level)
        v, o, effect, n1, hits = _share_stats(x, in_seg)
        if c.evidence == "dominant":
            low, _ = wilson_interval(hits, n1)
            if not (v >= c.threshold and float(low) > 0.5):
                bad(c, "level no longer dominates the segment", c.value, v)
    elif st == "mean" and c.field != "key_figures":
        x = _numbers(table, cat, c.variable)
        v, o, effect, _ = _mean_stats(x, in_seg)
    elif st == "median":
        v, o, _ = _median_stats(_numbers(table, cat, c.variable), in_seg)
    elif st == "age_band":
        lo, hi = (int(q) for q in c.level.split("-"))
        x = _numbers(table, cat, c.variable)
        bx = np.where(np.isnan(x), np.nan, ((x >= lo) & (x <= hi)).astype(float))
        v, o, effect, _, _ = _share_stats(bx, in_seg)
    elif st == "size":
        v, o = float(in_seg.sum()), float(total)
    elif c.field == "key_figures":
        v, o, _ = _metric_values(st, c.variable, c.level, table, cat, in_seg)
    elif st == "prevalence":
        attrs = [a for a in p.evidence if a.field in ATTRIBUTE_FIELDS]
        m = np.ones(len(table), dtype=bool)
        for a in attrs:
            pred = _predicate(a, table, cat)
            if pred is not None:
                m &= pred
        v = float(m[in_seg].mean()) if in_seg.any() else math.nan
        o = float(m.mean())
        if v < c.threshold:
            bad(c, "stated attributes together fit too little of the segment", c.threshold, v)
    elif st == "mentions":
        v, o, effect, crit = _mention_stats(table[c.variable], in_seg, c.level)
        if crit < _MIN_CRITICAL:
            bad(c, "too few comments with this word are critical", _MIN_CRITICAL, crit)
    elif st == "quote":
        texts = table[c.variable]
        has = _commenters(texts)
        v, o = float((has & in_seg).sum()), c.overall
        if v < c.threshold:
            bad(c, "too few commenters for a quote", c.threshold, v)
        if contains_pii(c.text) or has_markup(c.text):
            bad(c, "quote holds personal data or markup")
        seg_texts = texts.to_numpy(dtype=object)[in_seg & has]
        parts = re.split(r"(\[(?:email|link|phone|id|name)\])", c.text.removesuffix("…"))
        pattern = re.compile(
            "".join(".+?" if re.fullmatch(r"\[\w+\]", x) else re.escape(x) for x in parts)
        )
        literal = max((x for x in parts if not re.fullmatch(r"\[\w+\]", x)), key=len)
        found = any(
            pattern.match(re.sub(r"\s+", " ", scrub_text(t)).strip())
            for t in seg_texts
            if literal.strip() in re.sub(r"\s+", " ", t) and not has_markup(t)
        )
        if not found:
            bad(c, "quote is not a comment of this segment")
    else:
        bad(c, f"unknown statistic {st!r}")
        return
    if not close(c.value, v):
        bad(c, "segment value differs", c.value, v)
    if not close(c.overall, o):
        bad(c, "overall value differs", c.overall, o)
    derived.value, derived.overall, derived.index = v, o, _index(v, o)
    if c.direction == "higher" and not v > o:
        bad(c, "segment is not higher than overall", v, o)
    if c.direction == "lower" and not v < o:
        bad(c, "segment is not lower than overall", v, o)
    if c.evidence in ("test", "description") and math.isfinite(effect):
        if math.isfinite(c.effect) and not math.isclose(effect, c.effect, abs_tol=1e-3):
            bad(c, "effect size differs", c.effect, effect)
        if math.isfinite(c.threshold) and abs(effect) < c.threshold - 1e-9:
            bad(c, "effect is below the threshold", c.threshold, effect)
    if c.evidence == "test" and not (math.isfinite(c.q) and c.q < alpha):
        bad(c, "not significant (q not below alpha)", c.q, alpha)
    # the numbers shown must be roundings of the re-derived values
    if st == "quote":
        expected = _detail(derived)
    elif c.field == "key_figures" and st != "size":
        expected = _detail_metric(derived, scales.get(c.variable) if st == "mean" else None)
    else:
        expected = _detail(derived, scales.get(c.variable) if st == "mean" else None)
    if c.detail != expected:
        bad(c, "numbers shown do not match the data", c.detail, expected)
    masks = [c.label, c.level, c.variable, expected]
    if st not in ("quote",):
        extra = [t for t in _numbers_in(c.text, masks) if t not in _numbers_in(expected)]
        if c.statistic == "median":
            extra = [t for t in extra if t != str(_half_up(v))]
        if extra:
            bad(c, "text holds numbers the data does not give", ", ".join(extra))


def _check_fields(p: Persona, bad: Any) -> None:
    over = set(p.overridden)
    age_claim = next((c for c in p.evidence if c.statistic == "median"), None)
    if "age" not in over:
        if p.age is not None and (age_claim is None or p.age != _half_up(age_claim.value)):
            bad(
                age_claim,
                "age differs from the segment's median",
                p.age,
                None if age_claim is None else _half_up(age_claim.value),
            )
    if "gender" not in over:
        gc = p.claims("gender")
        want = _gender_of(gc[0].level) if gc else None
        if p.gender != want:
            bad(gc[0] if gc else None, "gender is not backed by a dominant level", p.gender, want)
    if "place" not in over:
        pc = p.claims("place")
        want = pc[0].level if pc else None
        if p.place != want:
            bad(pc[0] if pc else None, "place is not backed by a dominant level", p.place, want)
    for f in LIST_FIELDS:
        if f in over:
            continue
        texts = [c.text for c in p.claims(f)]
        for item in getattr(p, f):
            if item not in texts:
                bad(None, f"{f} item has no evidence: {item!r}")
        for t in texts:
            if t not in getattr(p, f):
                bad(None, f"{f} claim is missing from the persona: {t!r}")
    if "quote" not in over:
        qc = p.claims("quote")
        if (p.quote or None) != (qc[0].text if qc else None):
            bad(qc[0] if qc else None, "quote is not backed by a comment claim", p.quote)
    allowed = {str(p.age), str(p.birth_year), str(p.segment)}
    for c in p.evidence:
        allowed |= set(_numbers_in(c.detail)) | set(_numbers_in(c.text))
    for f in ("headline", "about"):
        if f in over:
            continue
        extra = [t for t in _numbers_in(getattr(p, f)) if t not in allowed]
        if extra:
            bad(None, f"{f} holds numbers no claim gives: {', '.join(extra)}")
    kf = {k["metric"]: k for k in p.key_figures}
    for c in p.claims("key_figures"):
        k = kf.get(c.metric)
        if k is None or not math.isclose(
            float(k["value"] if k["value"] is not None else math.nan),
            c.value,
            rel_tol=1e-6,
            abs_tol=1e-6,
        ):
            bad(c, "key figure differs from its claim", None if k is None else k["value"], c.value)


# --------------------------------------------------------------------------------------------
# Explanation, JSON and Markdown
# --------------------------------------------------------------------------------------------
def _explain_lines(p, rows, findings, decade, n_comments, seed, locale, n_banned):
    gender_claim = next((c for c in p.evidence if c.field == "gender"), None)
    lines = []
    n_rows = len(rows)
    lines.append(
        f"{n_rows} profile row(s) of segment {p.segment} pass the significance and effect-size "
        "rules; the strongest of each kind became statements (at most "
        f"{_LIMITS['behaviours']} behaviours, {_LIMITS['goals']} goals, "
        f"{_LIMITS['frustrations']} frustrations)."
    )
    if p.age is not None:
        lines.append(f"Age {p.age} is the segment's median.")
    if gender_claim is not None and p.gender:
        lines.append(f"Gender stated because one level dominates: {gender_claim.detail}.")
    lines.extend(p.notes)
    lines.append(p.prevalence.get("note", ""))
    if p.quote:
        lines.append(
            f"Quote: the comment closest to the segment's centre in TF-IDF space among "
            f"{n_comments:,} commenters, scrubbed of personal data and shortened."
        )
    cohort = f"born in the {decade}s" if decade is not None else "of any decade"
    lines.append(
        f"Name drawn with seed {seed} from the {locale!r} list for "
        f"{ {'female': 'women', 'male': 'men'}.get(p.gender or '', 'any gender') } {cohort}, "
        f"excluding {n_banned} name(s) found in the data."
    )
    if findings is not None and len(findings):
        f = findings[pd.to_numeric(findings["segment"]) == p.segment]
        if len(f) and "sentence" in f.columns:
            lines.append(
                "Findings of the segment: " + " ".join(str(s) for s in f["sentence"]) + ""
            )
    return [ln for ln in lines if ln]


def _explain(ps: PersonaSet) -> str:
    parts = []
    for p in ps.personas:
        head = f"**{p.name}** (segment {p.segment}, {p.size:,} users)"
        lines = ps.explanations.get(p.segment) or p.notes
        if p.overridden:
            lines = [*lines, f"Set by the analyst: {', '.join(p.overridden)}."]
        parts.append(head + "\n\n" + "\n".join(f"- {_md(x)}" for x in lines))
    if ps.skipped:
        parts.append(
            "**Segments without a persona**\n\n"
            + "\n".join(f"- {_md(s['reason'])}" for s in ps.skipped)
        )
    if not parts:
        return "_No segment to describe._"
    return "\n\n".join(parts)


def _as_set(personas: PersonaSet | Sequence[Persona]) -> PersonaSet:
    if isinstance(personas, PersonaSet):
        return personas
    if isinstance(personas, Persona):
        return PersonaSet([personas])
    return PersonaSet(list(personas))


def personas_to_json(personas: PersonaSet | Sequence[Persona]) -> str:
    """Deterministic JSON of a persona set: sorted keys, floats rounded to 6 decimals, and
    ``<``, ``>``, ``&`` written as ``\\u003c``-style escapes so the text is inert inside HTML.

    Examples
    --------
    >>> print(personas_to_json([]).splitlines()[0])
    {
    """
    payload = _as_set(personas).to_dict()
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text + "\n"


def personas_from_json(text: str) -> PersonaSet:
    """Read ``personas.json`` back into a :class:`PersonaSet`."""
    d = json.loads(text)
    return PersonaSet(
        personas=[Persona.from_dict(p) for p in d.get("personas", [])],
        skipped=list(d.get("skipped", [])),
        params=dict(d.get("params", {})),
        total_users=int(d.get("total_users", 0)),
    )


def _fmt_figure(k: Mapping[str, Any], which: str) -> str:
    v = k.get(which)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if k.get("unit") == "count":
        return f"{int(v):,}"
    if k.get("unit") == "share":
        return f"{100 * v:.0f}%"
    return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"


def personas_to_markdown(personas: PersonaSet | Sequence[Persona]) -> str:
    """Render personas as Markdown for a wiki: one section per persona, statements with their
    numbers, key figures, prevalence, evidence, and the segments without a persona.

    All text from the data (quotes, labels, levels) and from overrides is escaped.

    Examples
    --------
    >>> personas_to_markdown([]).splitlines()[0]
    '# Personas'
    """
    ps = _as_set(personas)
    out = [
        "# Personas",
        "",
        "_Each persona stands for one segment of real users. Every statement comes from the "
        "data; the numbers beside it compare the segment with all users. Names are invented; "
        "quotes are real comments with personal data removed._",
    ]
    for p in ps.personas:
        by_text = {(c.field, c.text): c for c in p.evidence}
        title = _md(p.name) + (f", {p.age}" if p.age is not None else "")
        out += ["", f"## {title}", "", f"**{_md(p.headline)}**", ""]
        facts = []
        if p.gender:
            facts.append({"female": "Woman", "male": "Man"}.get(p.gender, "Non-binary"))
        if p.age is not None:
            facts.append(f"{p.age} years")
        if p.place:
            facts.append(_md(p.place))
        facts.append(f"segment {p.segment}: {p.size:,} users ({100 * p.share:.0f}% of all)")
        out += [" · ".join(facts), "", _md(p.about)]
        if p.overridden:
            out += ["", f"_Set by the analyst: {', '.join(p.overridden)}._"]
        sections = [
            ("lifestyle", "Life"),
            ("behaviours", "Behaviours"),
            ("goals", "Goals and motivations"),
            ("frustrations", "Frustrations and barriers"),
            ("channels", "Channels"),
        ]
        for f, title in sections:
            items = getattr(p, f)
            if not items:
                continue
            out += ["", f"**{title}**", ""]
            for item in items:
                c = by_text.get((f, item))
                tail = f" — _{_md(c.detail)}_" if c is not None and c.detail else ""
                out.append(f"- {_md(item)}{tail}")
        if p.quote:
            out += [
                "",
                f"> “{_md(p.quote)}”",
                ">",
                "> — a real comment from this segment, personal data removed",
            ]
        if p.key_figures:
            out += [
                "",
                "**Key figures**",
                "",
                "| Figure | This segment | All users |",
                "|---|---:|---:|",
            ]
            for k in p.key_figures:
                out.append(
                    f"| {_md(k['label'])} | {_fmt_figure(k, 'value')} | "
                    f"{_fmt_figure(k, 'overall')} |"
                )
        if p.prevalence.get("note"):
            out += ["", f"_Representativeness: {_md(p.prevalence['note'])}_"]
        ev = [c for c in p.evidence if c.field not in ("quote",)]
        if ev:
            out += [
                "",
                "<details><summary>Evidence</summary>",
                "",
                "| Statement | Numbers | Index | Effect | q |",
                "|---|---|---:|---:|---:|",
            ]
            for c in ev:
                out.append(
                    f"| {_md(c.text)} | {_md(c.detail)} | {_num(c.index, 0)} | "
                    f"{_num(c.effect, 2)} | {_q(c.q)} |"
                )
            out += ["", "</details>"]
    if ps.skipped:
        out += ["", "## Segments without a persona", ""]
        out += [f"- {_md(s['reason'])}" for s in ps.skipped]
    return "\n".join(out) + "\n"


def _num(x: float, d: int) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:,.{d}f}"


def _q(q: float) -> str:
    if q is None or not math.isfinite(q):
        return ""
    return "< 0.001" if q < 0.001 else f"{q:.3f}"
