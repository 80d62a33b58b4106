"""Load every source of a data spec and combine them into one user-level table.

:func:`load_audience` reads the user-level tables, aggregates the event log and the orders in
DuckDB (:mod:`toolkit.events`), reconciles ids across sources, joins everything on the id and
checks the result: constant columns and columns with too many levels are flagged with a
:class:`~toolkit.errors.DataWarning`, entirely empty columns and sources without any common id
are :class:`~toolkit.errors.DataError`. The result is an :class:`Audience`: the table, its
column catalogue and a join report with counts only (ids are personal data; a few example ids
of unmatched users are kept in memory in :attr:`Audience.join_examples` for debugging, and never
written or rendered).

Examples
--------
>>> from toolkit.config import SAMPLE_CONFIG
>>> audience = load_audience(SAMPLE_CONFIG)  # doctest: +SKIP
>>> audience.table.shape[0]  # doctest: +SKIP
20000
>>> audience.columns_with_role("opinion")  # doctest: +SKIP
['satisfaction', 'trust', 'nps']
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from toolkit.errors import DataError, DataWarning
from toolkit.events import Features, event_features, order_features
from toolkit.readers import column_kind, isin, read_source
from toolkit.spec import DataSpec, SourceSpec, load_spec

__all__ = ["Audience", "load_audience", "CATALOGUE_FIELDS", "JOIN_REPORT_FIELDS", "OTHER"]

#: Fields of the column catalogue (``Audience.columns``), indexed by ``column``.
CATALOGUE_FIELDS = (
    "role",
    "source",
    "kind",
    "scale_min",
    "scale_max",
    "order",
    "label",
    "usable",
    "note",
)
#: Columns of the join report (``Audience.join_report``).
JOIN_REPORT_FIELDS = (
    "source",
    "file",
    "kind",
    "id_column",
    "rows",
    "users",
    "matched",
    "only_here",
    "missing",
)
#: Level that rare levels of a high-cardinality categorical column are grouped into.
OTHER = "other"
_ZERO_FILL = ("events", "sessions", "active_days", "purchased", "orders", "revenue")


@dataclass
class Audience:
    """The combined user-level table, its column catalogue and the join report.

    Attributes
    ----------
    table : DataFrame
        One row per user; the id column (text, unique) first.
    columns : DataFrame
        Catalogue indexed by ``column`` (every table column but the id) with fields
        :data:`CATALOGUE_FIELDS`: ``role``, ``source``, ``kind`` (numeric, categorical, ordinal,
        binary, text, datetime), ``scale_min``, ``scale_max``, ``order`` (list or None),
        ``label``, ``usable`` (False: constant, empty or a date; not for segmentation) and
        ``note`` (why).
    join_report : DataFrame
        One row per source plus ``combined``: rows, users, matched, only_here, missing. Counts
        only, so it can be shown in reports.
    spec : DataSpec or None
        The spec the audience was loaded from.
    notes : list of str
        Plain-English notes: how missing values are treated, warnings raised while loading.
    join_examples : dict
        A few ids per source found in no other source (in memory only: never saved).
    """

    table: pd.DataFrame
    columns: pd.DataFrame
    join_report: pd.DataFrame
    spec: DataSpec | None = None
    notes: list[str] = field(default_factory=list)
    join_examples: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        """Name of the id column (the first column of ``table``)."""
        return str(self.table.columns[0])

    @property
    def roles(self) -> dict[str, str]:
        """``{column: role}`` for every column of the catalogue."""
        return {str(k): str(v) for k, v in self.columns["role"].items()}

    def columns_with_role(self, *roles: str, usable_only: bool = True) -> list[str]:
        """Columns with one of ``roles`` in table order (only usable ones by default).

        Examples
        --------
        >>> audience.columns_with_role("demographic", "behaviour")  # doctest: +SKIP
        ['age', 'gender', ...]
        """
        cat = self.columns
        mask = cat["role"].isin(roles)
        if usable_only and "usable" in cat:
            mask &= cat["usable"].astype(bool)
        return [str(c) for c in cat.index[mask]]

    def describe(self) -> str:
        """Markdown summary: users, sources, how they join and how missing values are treated."""
        rep = self.join_report.set_index("source")
        total = int(rep.loc["combined", "users"]) if "combined" in rep.index else len(self.table)
        lines = [f"**{total:,} users** from {len(rep) - 1} source(s), joined on `{self.id}`.", ""]
        for name, row in rep.drop(index="combined", errors="ignore").iterrows():
            lines.append(
                f"- `{name}` ({row['file']}, {row['kind']}): {int(row['rows']):,} rows, "
                f"{int(row['users']):,} users; {int(row['matched']):,} matched, "
                f"{int(row['only_here']):,} only here, {int(row['missing']):,} users without it."
            )
        unusable = self.columns.index[~self.columns["usable"].astype(bool)].tolist()
        if unusable:
            lines += [
                "",
                "Not used for segments: "
                + ", ".join(f"`{c}` ({self.columns.loc[c, 'note']})" for c in unusable)
                + ".",
            ]
        if self.notes:
            lines += ["", "**Missing values and data notes**", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write ``users.parquet`` and ``columns.json`` into ``run_dir``; return the folder.

        ``columns.json`` holds ``{"id", "columns" (catalogue records), "join_report" (records),
        "notes", "spec" (YAML text), "spec_base_dir"}``. Example ids are not written.
        """
        from toolkit.runs import atomic_path, write_json

        out = Path(run_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "users.parquet") as tmp:
            self.table.to_parquet(tmp, index=False)
        cat = self.columns.reset_index()
        cat["order"] = cat["order"].map(lambda o: None if o is None else list(o))
        payload = {
            "id": self.id,
            "columns": _records(cat),
            "join_report": _records(self.join_report),
            "notes": list(self.notes),
            # YAML text keeps the order of the sources (the JSON writer sorts keys)
            "spec": None
            if self.spec is None
            else yaml.safe_dump(self.spec.to_dict(), sort_keys=False, allow_unicode=True),
            "spec_base_dir": None if self.spec is None else str(self.spec.base_dir),
        }
        write_json(out / "columns.json", payload)
        return out

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> Audience:
        """Read an audience written by :meth:`save`."""
        folder = Path(run_dir)
        table = pd.read_parquet(folder / "users.parquet")
        payload = json.loads((folder / "columns.json").read_text(encoding="utf-8"))
        cat = pd.DataFrame.from_records(payload["columns"])
        cat = cat.set_index("column") if "column" in cat else cat
        for col in CATALOGUE_FIELDS:
            if col not in cat:
                cat[col] = None
        cat["order"] = (
            cat["order"].astype(object).map(lambda o: o if isinstance(o, list) else None)
        )
        for col in ("scale_min", "scale_max"):
            cat[col] = pd.to_numeric(cat[col]).astype("float64")
        cat["usable"] = cat["usable"].fillna(True).astype(bool)
        spec = None
        if payload.get("spec"):
            try:
                raw = payload["spec"]
                raw = yaml.safe_load(raw) if isinstance(raw, str) else raw
                spec = DataSpec.from_dict(raw, payload.get("spec_base_dir"))
            except Exception:  # noqa: BLE001 - an old or moved spec should not block loading
                spec = None
        return cls(
            table=table,
            columns=cat[list(CATALOGUE_FIELDS)],
            join_report=_join_frame(payload.get("join_report") or []),
            spec=spec,
            notes=list(payload.get("notes") or []),
        )


def _join_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    report = pd.DataFrame.from_records(records, columns=list(JOIN_REPORT_FIELDS))
    for col in ("source", "file", "kind", "id_column"):
        report[col] = report[col].fillna("").astype("str")
    for col in ("rows", "users", "matched", "only_here", "missing"):
        report[col] = report[col].astype("int64")
    return report


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    def clean(v: Any) -> Any:
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and np.isnan(v):
            return None
        return v

    return [{str(k): clean(v) for k, v in row.items()} for row in df.to_dict("records")]


# --------------------------------------------------------------------------- loading
_ACRONYMS = {"nps", "csat", "ces", "id", "aov", "clv", "ltv", "rfm", "os", "url", "sms"}


def _label(name: str) -> str:
    """Human label from a column name: ``income_band`` -> ``Income band``, ``nps`` -> ``NPS``."""
    import re

    if str(name).lower() in _ACRONYMS:
        return str(name).upper()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name)).replace("_", " ").replace(".", " ")
    text = " ".join(text.split())
    return text[:1].upper() + text[1:].lower() if text else str(name)


def _read_table(source: SourceSpec, spec: DataSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = read_source(source)
    id_col = df.columns[0]
    df = df.rename(columns={id_col: spec.id})
    missing = df[spec.id].isna()
    if missing.all():
        raise DataError(
            f"{source.file} (source {source.name!r}, column {source.id!r}): the id column is "
            f"empty in all {len(df):,} rows."
        )
    if missing.any():
        rows = ", ".join(str(i + 1) for i in df.index[missing][:5])
        warnings.warn(
            f"{source.file} (source {source.name!r}, column {source.id!r}): {int(missing.sum())} "
            f"row(s) without an id were skipped (rows {rows}).",
            DataWarning,
            stacklevel=3,
        )
        df = df[~missing].reset_index(drop=True)
    dup = df[spec.id].duplicated(keep=False)
    if dup.any():
        ids = df.loc[dup, spec.id]
        examples = ", ".join(repr(v) for v in ids.drop_duplicates().head(5))
        rows = ", ".join(str(i + 1) for i in ids.index[:6])
        raise DataError(
            f"{source.file} (source {source.name!r}, column {source.id or spec.id!r}): "
            f"{ids.nunique():,} id(s) appear more than once ({examples}; rows {rows}), but a "
            "user-level table needs one row per user. Remove the duplicates, or declare the "
            "file as kind: events / kind: orders if it holds many rows per user."
        )
    rows = {}
    for col in source.columns:
        if col.role in ("id", "pii", "ignore"):
            continue
        name = col.out_name
        kind = column_kind(df[name], col)
        rows[name] = {
            "role": col.role,
            "source": source.name,
            "kind": kind,
            "scale_min": col.scale[0] if col.scale else np.nan,
            "scale_max": col.scale[1] if col.scale else np.nan,
            "order": list(col.order) if col.order else None,
            "label": col.label or _label(col.name),
        }
    cat = pd.DataFrame.from_dict(rows, orient="index")
    cat.index.name = "column"
    return df, cat


def _normalise(ids: pd.Index) -> pd.Series:
    """Ids with leading zeros and a trailing ``.0`` removed (``00123`` -> ``123``)."""
    s = pd.Series(ids, index=ids, dtype="str").str.replace(r"\.0+$", "", regex=True)
    return s.str.lstrip("0").replace("", "0")


def _reconcile(
    frames: list[tuple[SourceSpec, pd.DataFrame]], spec: DataSpec
) -> list[tuple[SourceSpec, pd.DataFrame]]:
    """Map each source's ids onto the base's spelling when only leading zeros differ; raise
    when a source shares no id with the base."""
    base_source, base_df = frames[0]
    base_ids = pd.Index(base_df[spec.id].unique())
    norm_base = _normalise(base_ids)
    unique_norm = norm_base[~norm_base.duplicated(keep=False)]
    lookup = pd.Series(unique_norm.index, index=unique_norm.to_numpy())
    out = [frames[0]]
    for source, df in frames[1:]:
        ids = pd.Index(df[spec.id].unique())
        base_set, lookup_set = set(base_ids.tolist()), set(lookup.index.tolist())
        ids_list = ids.tolist()
        raw_match = sum(i in base_set for i in ids_list)
        norm = _normalise(ids)
        norm_match = sum(n in lookup_set for n in norm.tolist())
        if norm_match > raw_match and norm_match >= 0.5 * len(ids):
            mapping = norm.map(lookup)
            mapping = mapping.where(mapping.notna(), pd.Series(ids, index=ids))
            ex_here = [i for i in ids_list if i not in base_set][:2]
            ex_base = [lookup[norm[i]] for i in ex_here if norm[i] in lookup_set]
            warnings.warn(
                f"Ids in {source.file} (source {source.name!r}, column {source.id!r}) differ from "
                f"{base_source.file} (column {base_source.id!r}) only by leading zeros, e.g. "
                f"{ex_here} vs {ex_base} (numbers instead of text, as Excel or pandas write "
                f"them). {norm_match:,} of {len(ids):,} ids were matched after ignoring leading "
                "zeros; export the ids as text to avoid this.",
                DataWarning,
                stacklevel=3,
            )
            df = df.copy()
            df[spec.id] = df[spec.id].map(mapping).astype("str")
            if df[spec.id].duplicated().any() and source.kind == "table":
                raise DataError(
                    f"{source.file} (source {source.name!r}, column {source.id!r}): after "
                    "ignoring leading zeros some ids collide. Export the ids as text."
                )
            raw_match = norm_match
        if raw_match == 0 and len(ids) and len(base_ids):
            raise DataError(
                f"{source.file} (source {source.name!r}, column {source.id!r}) and "
                f"{base_source.file} (source {base_source.name!r}, column {base_source.id!r}) "
                f"share no ids: e.g. {ids[:3].tolist()} vs {base_ids[:3].tolist()}. Check that "
                "both columns hold the same kind of user id (same system, same format)."
            )
        out.append((source, df))
    return out


def _group_rare(values: pd.Series, max_levels: int) -> tuple[pd.Series, int]:
    counts = values.value_counts(dropna=True)
    if len(counts) <= max_levels:
        return values, len(counts)
    order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    keep = {k for k, _ in order[: max_levels - 1]}
    grouped = values.where(values.isna() | isin(values, keep), OTHER)
    return grouped.astype("str"), len(counts)


def _check_columns(
    table: pd.DataFrame, cat: pd.DataFrame, spec: DataSpec, notes: list[str]
) -> pd.DataFrame:
    """Flag constant, empty and date columns; group rare levels of wide categoricals."""
    cat = cat.copy()
    cat["usable"] = True
    cat["note"] = ""
    files = {s.name: s.file for s in spec.sources}
    for name in cat.index:
        s = table[name]
        kind = cat.at[name, "kind"]
        where = f"{files.get(cat.at[name, 'source'], '?')} (column {name!r})"
        if kind == "categorical":
            grouped, n_levels = _group_rare(s, spec.max_levels)
            if n_levels > spec.max_levels:
                table[name] = grouped
                warnings.warn(
                    f"{where} has {n_levels:,} levels; the {spec.max_levels - 1} most frequent "
                    f"are kept and the rest grouped into {OTHER!r}. Raise max_levels in the spec "
                    "or set the column's role to ignore if it is an identifier.",
                    DataWarning,
                    stacklevel=3,
                )
                cat.at[name, "note"] = f"{n_levels} levels; rare ones grouped into '{OTHER}'"
                notes.append(f"`{name}`: {n_levels:,} levels, rare ones grouped into '{OTHER}'.")
        present = table[name].dropna()
        if kind == "datetime":
            cat.at[name, "usable"] = False
            cat.at[name, "note"] = "date: describes users, not a segmentation base"
        elif present.empty:
            cat.at[name, "usable"] = False
            cat.at[name, "note"] = "no values"
        elif present.nunique() <= 1 and kind != "text":
            value = present.iloc[0]
            value = value.item() if isinstance(value, np.generic) else value
            cat.at[name, "usable"] = False
            cat.at[name, "note"] = f"constant ({value!r})"
            warnings.warn(
                f"{where} is constant (every value is {value!r}); it is kept in the table but "
                "dropped from segmentation (usable=False in the column catalogue).",
                DataWarning,
                stacklevel=3,
            )
    return cat


def load_audience(
    spec_or_path: Any,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Audience:
    """Load every source of a data spec into one user-level :class:`Audience`.

    Parameters
    ----------
    spec_or_path : DataSpec, path or mapping
        A spec, a report config / spec YAML file, or the spec's mapping form.
    threads, memory_limit : optional
        DuckDB settings for the event and order aggregation.

    Returns
    -------
    Audience

    Raises
    ------
    DataError
        Unreadable or inconsistent data (messages name the file, the column, a few offending
        values and the fix).
    SpecError
        The spec is invalid or names a column the file does not have.

    Examples
    --------
    >>> audience = load_audience("data-samples/shop/report.yaml")  # doctest: +SKIP
    >>> audience.join_report[["source", "users", "matched"]]  # doctest: +SKIP
    """
    spec = load_spec(spec_or_path)
    frames: list[tuple[SourceSpec, pd.DataFrame]] = []
    catalogues: list[pd.DataFrame] = []
    rows_read: dict[str, int] = {}
    order = sorted(spec.sources, key=lambda s: s is not spec.base)
    for source in order:
        if source.kind == "table":
            df, cat = _read_table(source, spec)
            rows_read[source.name] = len(df)
        else:
            func = event_features if source.kind == "events" else order_features
            feats: Features = func(source, spec, threads=threads, memory_limit=memory_limit)
            df, cat = feats.table, feats.columns
            rows_read[source.name] = feats.rows
        frames.append((source, df))
        catalogues.append(cat)
    frames = _reconcile(frames, spec)

    # ---- join: base ids in file order, then ids found only elsewhere (sorted)
    base_ids = frames[0][1][spec.id]
    others = pd.Index(
        sorted(
            set().union(*(set(df[spec.id].tolist()) for _, df in frames[1:]))
            - set(base_ids.tolist())
        )
    )
    ids = pd.concat([base_ids, pd.Series(others, dtype="str")], ignore_index=True)
    table = pd.DataFrame({spec.id: ids.astype("str")})
    seen_in: dict[str, set[str]] = {}
    for source, df in frames:
        seen_in[source.name] = set(df[spec.id].tolist())
        clash = [c for c in df.columns[1:] if c in table.columns]
        if clash:
            raise DataError(
                f"{source.file} (source {source.name!r}): column(s) {clash} already come from "
                "another source; rename them in the spec (rename: new_name)."
            )
        table = table.merge(df, on=spec.id, how="left", validate="one_to_one")
    cat = pd.concat(catalogues)
    notes = _fill_missing(table, cat, spec, seen_in)
    cat = _check_columns(table, cat, spec, notes)
    cat = cat.loc[[c for c in table.columns if c in cat.index], list(CATALOGUE_FIELDS)]
    cat["order"] = cat["order"].astype(object).map(lambda o: list(o) if o is not None else None)
    report, examples = _join_report(frames, seen_in, spec, rows_read, len(table))
    return Audience(
        table=table.reset_index(drop=True),
        columns=cat,
        join_report=report,
        spec=spec,
        notes=notes,
        join_examples=examples,
    )


def _fill_missing(
    table: pd.DataFrame, cat: pd.DataFrame, spec: DataSpec, seen_in: dict[str, set[str]]
) -> list[str]:
    """Zero-fill counts of users without events/orders; describe the missing-value treatment."""
    notes: list[str] = []
    n = len(table)
    all_ids = set(table[spec.id].tolist())
    for source in spec.sources:
        absent = n - len(seen_in[source.name] & all_ids)
        if source.kind == "table":
            if absent and source is not spec.base:
                roles = sorted({c.role for c in source.columns} - {"id", "pii", "ignore"})
                notes.append(
                    f"{absent:,} users have no row in `{source.name}`: their "
                    f"{', '.join(roles)} values stay missing (never filled with zeros)."
                )
            continue
        features = cat.index[cat["source"] == source.name]
        zero = [c for c in features if c in _ZERO_FILL or c.startswith("reached_")]
        for col in zero:
            table[col] = table[col].fillna(0)
            if (table[col] % 1 == 0).all() and col != "revenue":
                table[col] = table[col].astype("int64")
        if "favourite_category" in features:
            table["favourite_category"] = table["favourite_category"].fillna("none").astype("str")
        if absent:
            if source.kind == "events":
                notes.append(
                    f"{absent:,} users have no events: their counts (events, sessions, active "
                    "days, funnel steps reached) are 0 and their shares, recency and funnel "
                    "steps are missing."
                )
            else:
                notes.append(
                    f"{absent:,} users have no orders: orders and revenue are 0, average order "
                    "value and days since last order are missing, favourite category is 'none'."
                )
    if spec.events is not None and spec.orders is not None and "purchased" in table:
        table["purchased"] = ((table["purchased"] > 0) | (table["orders"] > 0)).astype("int64")
    notes.append(
        "Downstream, missing values of the segmentation bases are imputed (median for numbers "
        "and ratings, with a missing-value flag; a '(missing)' level for categories); profiles "
        "describe each variable over the users who have a value (the n column)."
    )
    return notes


def _join_report(
    frames: list[tuple[SourceSpec, pd.DataFrame]],
    seen_in: dict[str, set[str]],
    spec: DataSpec,
    rows_read: dict[str, int],
    total: int,
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    rows = []
    examples: dict[str, list[str]] = {}
    base_name = frames[0][0].name
    for source, _df in frames:
        ids = seen_in[source.name]
        others = set().union(*(v for k, v in seen_in.items() if k != source.name))
        if len(frames) == 1:
            matched = len(ids)
        elif source.name == base_name:
            matched = len(ids & others)
        else:
            matched = len(ids & seen_in[base_name])
        only = sorted(ids - others) if len(frames) > 1 else []
        examples[source.name] = only[:5]
        rows.append(
            {
                "source": source.name,
                "file": source.path.name if source.path is not None else "SQL query",
                "kind": source.kind,
                "id_column": source.id or "(row number)",
                "rows": rows_read[source.name],
                "users": len(ids),
                "matched": matched,
                "only_here": len(only),
                "missing": total - len(ids),
            }
        )
    rows.append(
        {
            "source": "combined",
            "file": "",
            "kind": "",
            "id_column": spec.id,
            "rows": total,
            "users": total,
            "matched": len(set.intersection(*seen_in.values())),
            "only_here": 0,
            "missing": 0,
        }
    )
    return _join_frame(rows), examples
