"""The data spec: which files hold the audience, and what role each column plays.

A data spec is the ``data:`` section of a report config (or a YAML file of its own). It names
every source file, its kind (a user-level ``table``, an ``events`` log or an ``orders`` table),
how to read it, and the role of its columns. :func:`load_spec` reads and validates it into a
:class:`DataSpec`; everything that can be checked without opening the data files is checked
here and reported as a :class:`~toolkit.errors.SpecError` naming the source and the column and
listing the valid choices. Columns missing from a file are reported when the file is read.

Examples
--------
>>> from toolkit.spec import DataSpec
>>> spec = DataSpec.from_dict(
...     {
...         "id": "user_id",
...         "sources": {
...             "users": {"path": "users.csv", "columns": {"user_id": "id", "age": "demographic"}},
...             "survey": {
...                 "path": "survey.csv",
...                 "columns": {"user_id": "id", "trust": {"role": "opinion", "scale": [1, 5]}},
...             },
...         },
...     },
...     base_dir=".",
... )
>>> [s.name for s in spec.sources]
['users', 'survey']
>>> spec.source("survey").column("trust").scale
(1.0, 5.0)
"""

from __future__ import annotations

import difflib
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import SpecError

__all__ = [
    "ROLES",
    "KINDS",
    "FORMATS",
    "TYPES",
    "ColumnSpec",
    "SourceSpec",
    "DataSpec",
    "load_spec",
]

#: Column roles. ``pii`` and ``ignore`` columns never enter the combined table.
ROLES = ("id", "demographic", "behaviour", "opinion", "text", "outcome", "pii", "ignore")
#: Source kinds: one row per user, an event log, an orders table.
KINDS = ("table", "events", "orders")
#: File formats (inferred from the file suffix when not declared).
FORMATS = ("csv", "parquet", "excel", "sql")
#: Declared column types (``type:``); inferred from the values when not declared.
TYPES = ("numeric", "categorical", "ordinal", "binary", "text", "date")

_DATA_KEYS = ("id", "timezone", "session_gap_minutes", "max_levels", "sources")
_READ_KEYS = (
    "format",
    "sep",
    "encoding",
    "decimal",
    "thousands",
    "sheet",
    "date_format",
    "query",
    "na_values",
)
_COMMON_KEYS = ("path", "kind", "id", "row_id", *_READ_KEYS)
_SOURCE_KEYS = {
    "table": (*_COMMON_KEYS, "columns"),
    "events": (
        *_COMMON_KEYS,
        "timestamp",
        "event_type",
        "funnel",
        "category",
        "device",
        "category_event",
        "feature_roles",
    ),
    "orders": (
        *_COMMON_KEYS,
        "timestamp",
        "amount",
        "category",
        "order_id",
        "feature_roles",
    ),
}
_COLUMN_KEYS = (
    "role",
    "type",
    "scale",
    "order",
    "label",
    "date_format",
    "na_values",
    "positive",
    "rename",
)
_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".dat": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}


def _suggest(value: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown_keys(where: str, keys: Any, allowed: Any) -> None:
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        key = unknown[0]
        raise SpecError(
            f"{where}: unknown key {key!r}.{_suggest(key, allowed)} "
            f"Valid keys: {', '.join(allowed)}."
        )


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a source file and its role.

    Parameters
    ----------
    name : str
        Column name in the file.
    role : str
        One of :data:`ROLES`.
    type : str or None
        Declared type (one of :data:`TYPES`); None lets the loader infer it from the values.
    scale : tuple of float or None
        ``(min, max)`` of a rating; required for ``opinion`` columns.
    order : tuple of str or None
        Levels of an ordinal column from low to high.
    label : str or None
        Human label used in reports; derived from the name when None.
    date_format : str or None
        ``strftime`` format of a date column (overrides the source's ``date_format``).
    na_values : tuple or None
        Values that mean "missing" in this column (``999``, ``"unknown"``...).
    positive : str or None
        For a binary column: the value that means 1 (``yes``/``true``/``1`` are recognised).
    rename : str or None
        Name of the column in the combined table (default: ``name``).

    Examples
    --------
    >>> ColumnSpec("trust", "opinion", scale=(1.0, 5.0)).out_name
    'trust'
    """

    name: str
    role: str
    type: str | None = None
    scale: tuple[float, float] | None = None
    order: tuple[str, ...] | None = None
    label: str | None = None
    date_format: str | None = None
    na_values: tuple[Any, ...] | None = None
    positive: str | None = None
    rename: str | None = None

    @property
    def out_name(self) -> str:
        """Name of the column in the combined table."""
        return self.rename or self.name

    def to_dict(self) -> dict[str, Any]:
        """Return the YAML form of the column (a role string or a mapping)."""
        extra = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k in _COLUMN_KEYS[1:]
            if (v := getattr(self, k)) is not None
        }
        return {"role": self.role, **extra} if extra else self.role


@dataclass(frozen=True)
class SourceSpec:
    """One source file of the audience.

    Parameters
    ----------
    name : str
        Name of the source in the spec (``users``, ``survey``...).
    path : Path or None
        Absolute path of the file (None for a ``sql`` source whose query names its files).
    kind : str
        ``table`` (one row per user), ``events`` (event log) or ``orders``.
    format : str
        ``csv``, ``parquet``, ``excel`` or ``sql``.
    id : str or None
        Column holding the user id in this file; None when ``row_id`` is set.
    row_id : bool
        The file has no id column: the row number (1, 2, ...) is the id.
    columns : tuple of ColumnSpec
        Declared columns of a ``table`` source. Columns the spec does not name are not read.
    options : dict
        Read options (``sep``, ``encoding``, ``decimal``, ``thousands``, ``sheet``,
        ``date_format``, ``query``, ``na_values``).
    timestamp, event_type, category, device, amount, order_id : str or None
        Columns of an event log or an orders table.
    funnel : tuple of str or None
        Event types in funnel order; the last one is the conversion.
    category_event : str or None
        Event type whose categories give the category shares (default ``product_view`` when
        it is a funnel step; otherwise all events).
    feature_roles : dict
        Role overrides for derived features (e.g. ``{revenue: behaviour}`` for RFM segments).
    base_dir : Path or None
        Folder relative paths (also those in a SQL query) are resolved against.
    """

    name: str
    path: Path | None
    kind: str = "table"
    format: str = "csv"
    id: str | None = None
    row_id: bool = False
    columns: tuple[ColumnSpec, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    timestamp: str | None = None
    event_type: str | None = None
    funnel: tuple[str, ...] | None = None
    category: str | None = None
    device: str | None = None
    category_event: str | None = None
    amount: str | None = None
    order_id: str | None = None
    feature_roles: Mapping[str, str] = field(default_factory=dict)
    base_dir: Path | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """``name (file)`` used in messages."""
        where = self.path.name if self.path is not None else "SQL query"
        return f"source {self.name!r} ({where})"

    @property
    def file(self) -> str:
        """The file name (or ``SQL query``) for messages."""
        return str(self.path) if self.path is not None else f"the SQL query of {self.name!r}"

    def column(self, name: str) -> ColumnSpec:
        """Return the declared column ``name`` (raises :class:`SpecError` listing the others)."""
        for col in self.columns:
            if col.name == name:
                return col
        names = [c.name for c in self.columns]
        raise SpecError(
            f"{self.label} declares no column {name!r}.{_suggest(name, names)} "
            f"Declared: {', '.join(names) or '(none)'}."
        )

    def option(self, key: str, default: Any = None) -> Any:
        """Return a read option."""
        return self.options.get(key, default)

    @property
    def used_columns(self) -> list[str]:
        """File columns the loader reads (id and every non-ignored column)."""
        if self.kind == "table":
            cols = [] if self.id is None else [self.id]
            cols += [c.name for c in self.columns if c.role not in ("id", "pii", "ignore")]
            return cols
        fields = (self.id, self.timestamp, self.event_type, self.category, self.device)
        fields += (self.amount, self.order_id)
        return [f for f in fields if f is not None]

    def to_dict(self, base_dir: Path | None = None) -> dict[str, Any]:
        """Return the YAML form of the source (paths relative to ``base_dir`` when possible)."""
        out: dict[str, Any] = {}
        if self.path is not None:
            path = self.path
            if base_dir is not None:
                try:
                    path = Path(os.path.relpath(self.path, base_dir))
                except ValueError:
                    pass
            out["path"] = path.as_posix()
        if self.kind != "table":
            out["kind"] = self.kind
        out["format"] = self.format
        if self.row_id:
            out["row_id"] = True
        elif self.id is not None:
            out["id"] = self.id
        out.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()})
        for key in (
            "timestamp",
            "event_type",
            "funnel",
            "category",
            "device",
            "category_event",
            "amount",
            "order_id",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.feature_roles:
            out["feature_roles"] = dict(self.feature_roles)
        if self.columns:
            out["columns"] = {c.name: c.to_dict() for c in self.columns}
        return out


@dataclass(frozen=True)
class DataSpec:
    """The data spec: sources and settings shared by all of them.

    Parameters
    ----------
    id : str
        Name of the join key in the combined table.
    sources : tuple of SourceSpec
        Sources in spec order; the first ``table`` source is the base of the join.
    timezone : str
        IANA time zone in which event and order times are read for part-of-day features.
    session_gap_minutes : float
        A session ends after this many minutes without events.
    max_levels : int
        Categorical columns with more levels keep the most frequent ``max_levels - 1`` and
        group the rest into ``"other"`` (with a :class:`~toolkit.errors.DataWarning`).
    base_dir : Path
        Folder relative paths were resolved against.
    path : Path or None
        The YAML file the spec came from.

    Examples
    --------
    >>> rows = {"path": "u.csv", "row_id": True, "columns": {"age": "demographic"}}
    >>> spec = DataSpec.from_dict({"sources": {"u": rows}}, ".")
    >>> spec.id, spec.base.row_id
    ('row_id', True)
    """

    id: str
    sources: tuple[SourceSpec, ...]
    timezone: str = "UTC"
    session_gap_minutes: float = 30.0
    max_levels: int = 30
    base_dir: Path = field(default_factory=Path.cwd)
    path: Path | None = field(default=None, compare=False)

    # ------------------------------------------------------------------ accessors
    def source(self, name: str) -> SourceSpec:
        """Return the source called ``name``."""
        for s in self.sources:
            if s.name == name:
                return s
        names = [s.name for s in self.sources]
        raise SpecError(
            f"The data spec has no source {name!r}.{_suggest(name, names)} "
            f"Sources: {', '.join(names)}."
        )

    @property
    def tables(self) -> list[SourceSpec]:
        """User-level sources (``kind: table``)."""
        return [s for s in self.sources if s.kind == "table"]

    @property
    def events(self) -> SourceSpec | None:
        """The event log source, if any."""
        return next((s for s in self.sources if s.kind == "events"), None)

    @property
    def orders(self) -> SourceSpec | None:
        """The orders source, if any."""
        return next((s for s in self.sources if s.kind == "orders"), None)

    @property
    def base(self) -> SourceSpec:
        """The base of the join: the first ``table`` source (else the first source)."""
        tables = self.tables
        return tables[0] if tables else self.sources[0]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], base_dir: Any = None) -> DataSpec:
        """Read a spec from YAML: a report config with a ``data:`` key, or a bare spec.

        Relative paths are resolved against ``base_dir`` (default: the YAML file's folder).
        """
        p = Path(path).expanduser().resolve()
        if not p.is_file():
            raise SpecError(f"Data spec file {p} does not exist.")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError as exc:
            raise SpecError(f"Data spec file {p} is not valid YAML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"Data spec file {p} is not UTF-8 text ({exc.reason}).") from None
        if not isinstance(raw, dict):
            raise SpecError(f"Data spec file {p} must hold a mapping, got {type(raw).__name__}.")
        if "data" in raw:
            raw = raw["data"]
        elif "sources" not in raw:
            raise SpecError(
                f"{p} holds neither a 'data:' section (a report config) nor 'sources:' "
                "(a bare data spec)."
            )
        base = Path(base_dir) if base_dir is not None else p.parent
        try:
            return cls.from_dict(raw, base, path=p)
        except SpecError as exc:
            raise SpecError(f"{p}: {exc}") from None

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], base_dir: Any = None, *, path: Path | None = None
    ) -> DataSpec:
        """Build and validate a spec from its mapping form (the ``data:`` section)."""
        if not isinstance(d, Mapping):
            raise SpecError(f"The data spec must be a mapping, got {type(d).__name__}.")
        _unknown_keys("data spec", d, _DATA_KEYS)
        base = Path(base_dir).expanduser().resolve() if base_dir is not None else Path.cwd()
        raw_sources = d.get("sources")
        if not isinstance(raw_sources, Mapping) or not raw_sources:
            raise SpecError(
                "The data spec needs 'sources:', a mapping of source name to its file, e.g. "
                "sources: {users: {path: users.csv, columns: {user_id: id, age: demographic}}}."
            )
        tz = str(d.get("timezone", "UTC"))
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SpecError(
                f"timezone {tz!r} is not an IANA time zone name (e.g. Europe/Berlin, UTC)."
            ) from None
        gap = d.get("session_gap_minutes", 30)
        if isinstance(gap, bool) or not isinstance(gap, int | float) or gap <= 0:
            raise SpecError(f"session_gap_minutes must be a positive number, got {gap!r}.")
        max_levels = d.get("max_levels", 30)
        if isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 2:
            raise SpecError(f"max_levels must be an integer >= 2, got {max_levels!r}.")
        sources = tuple(
            _parse_source(str(name), raw, base, d.get("id")) for name, raw in raw_sources.items()
        )
        all_rows = all(s.row_id for s in sources)
        data_id = d.get("id")
        if data_id is None:
            data_id = "row_id" if all_rows else "user_id"
        if not isinstance(data_id, str) or not data_id:
            raise SpecError(f"data id must be a column name, got {data_id!r}.")
        sources = tuple(
            s if s.row_id or s.id is not None else _replace(s, id=data_id) for s in sources
        )
        spec = cls(
            id=data_id,
            sources=sources,
            timezone=tz,
            session_gap_minutes=float(gap),
            max_levels=max_levels,
            base_dir=base,
            path=path,
        )
        _check_spec(spec)
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping form (the ``data:`` section) with paths relative to ``base_dir``."""
        return {
            "id": self.id,
            "timezone": self.timezone,
            "session_gap_minutes": self.session_gap_minutes,
            "max_levels": self.max_levels,
            "sources": {s.name: s.to_dict(self.base_dir) for s in self.sources},
        }


def _replace(source: SourceSpec, **changes: Any) -> SourceSpec:
    from dataclasses import replace

    return replace(source, **changes)


def _parse_source(name: str, raw: Any, base: Path, data_id: Any) -> SourceSpec:
    where = f"source {name!r}"
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where} must be a mapping with at least 'path', got {raw!r}.")
    kind = raw.get("kind", "table")
    if kind not in KINDS:
        raise SpecError(
            f"{where}: unknown kind {kind!r}.{_suggest(kind, KINDS)} "
            f"Valid kinds: {', '.join(KINDS)}."
        )
    _unknown_keys(where, raw, _SOURCE_KEYS[kind])
    query = raw.get("query")
    path = raw.get("path")
    if path is None and query is None:
        raise SpecError(f"{where} needs 'path' (the file, relative to the config's folder).")
    fmt = raw.get("format")
    if fmt is None:
        if query is not None:
            fmt = "sql"
        else:
            suffixes = [s.lower() for s in Path(str(path)).suffixes]
            suffixes = [s for s in suffixes if s not in (".gz", ".bz2", ".zip", ".xz", ".zst")]
            fmt = _SUFFIX_FORMATS.get(suffixes[-1] if suffixes else "", None)
            if fmt is None:
                raise SpecError(
                    f"{where}: cannot tell the format of {path!r} from its suffix; "
                    f"declare format: one of {', '.join(FORMATS)}."
                )
    if fmt not in FORMATS:
        raise SpecError(
            f"{where}: unknown format {fmt!r}.{_suggest(fmt, FORMATS)} "
            f"Valid formats: {', '.join(FORMATS)}."
        )
    if fmt == "sql" and not query:
        raise SpecError(f"{where}: format sql needs 'query' (DuckDB SQL over files).")
    if query is not None and fmt != "sql":
        raise SpecError(f"{where}: 'query' only applies to format sql (got format {fmt!r}).")
    if fmt != "excel" and "sheet" in raw:
        raise SpecError(f"{where}: 'sheet' only applies to Excel files (format: excel).")
    resolved = None if path is None else _resolve(str(path), base)
    options = {k: raw[k] for k in _READ_KEYS if k in raw and k != "format"}
    for key in ("sep", "encoding", "decimal", "thousands", "date_format", "query"):
        if key in options and not isinstance(options[key], str):
            raise SpecError(f"{where}: {key!r} must be text, got {options[key]!r}.")
    if options.get("decimal") not in (None, ".", ","):
        raise SpecError(f"{where}: decimal must be '.' or ',', got {options['decimal']!r}.")
    if options.get("encoding"):
        import codecs

        try:
            codecs.lookup(options["encoding"])
        except LookupError:
            raise SpecError(
                f"{where}: unknown encoding {options['encoding']!r}; use e.g. utf-8, "
                "utf-8-sig, cp1252 or latin-1."
            ) from None
    if "na_values" in options:
        options["na_values"] = _as_list(options["na_values"], f"{where}: na_values")

    row_id = raw.get("row_id", False)
    if not isinstance(row_id, bool):
        raise SpecError(f"{where}: row_id must be true or false, got {row_id!r}.")
    explicit_id = "id" in raw
    source_id = raw.get("id")
    if explicit_id and source_id is None:
        row_id = True  # `id: null`: the file has no id column
    if source_id is not None and not isinstance(source_id, str):
        raise SpecError(f"{where}: id must be a column name, got {source_id!r}.")
    if row_id and kind != "table":
        raise SpecError(
            f"{where}: row_id (or id: null) only applies to user-level tables; an {kind} source "
            "needs the id column that links its rows to users."
        )

    columns: tuple[ColumnSpec, ...] = ()
    if kind == "table":
        raw_cols = raw.get("columns")
        if raw_cols is None or not isinstance(raw_cols, Mapping) or not raw_cols:
            raise SpecError(
                f"{where} needs 'columns:', a mapping of column name to role (one of "
                f"{', '.join(ROLES)}), e.g. columns: {{user_id: id, age: demographic}}."
            )
        columns = tuple(_parse_column(where, str(c), v) for c, v in raw_cols.items())
        ids = [c.name for c in columns if c.role == "id"]
        if len(ids) > 1:
            raise SpecError(
                f"{where} declares {len(ids)} id columns ({', '.join(ids)}); keep one."
            )
        if ids:
            if row_id:
                raise SpecError(
                    f"{where}: column {ids[0]!r} has role id but the source sets row_id; "
                    "use one or the other."
                )
            if source_id is not None and source_id != ids[0]:
                raise SpecError(
                    f"{where}: id: {source_id!r} disagrees with column {ids[0]!r} of role id."
                )
            source_id = ids[0]
    elif raw.get("columns") is not None:
        raise SpecError(f"{where}: a {kind} source takes no 'columns:'.")

    fields: dict[str, Any] = {}
    if kind in ("events", "orders"):
        required = ("timestamp",) if kind == "events" else ("timestamp", "amount")
        for key in required:
            if not isinstance(raw.get(key), str):
                raise SpecError(
                    f"{where}: an {kind} source needs {key!r}, the column holding the {key}."
                )
        keys = _SOURCE_KEYS[kind]
        for key in ("timestamp", "event_type", "category", "device", "amount", "order_id"):
            if key in keys and raw.get(key) is not None:
                if not isinstance(raw[key], str):
                    raise SpecError(f"{where}: {key!r} must be a column name, got {raw[key]!r}.")
                fields[key] = raw[key]
        if kind == "events":
            funnel = raw.get("funnel")
            if funnel is not None:
                funnel = _as_list(funnel, f"{where}: funnel")
                if "event_type" not in fields:
                    raise SpecError(f"{where}: 'funnel' needs 'event_type' (the column of steps).")
                if len(funnel) < 2 or len(set(map(str, funnel))) != len(funnel):
                    raise SpecError(
                        f"{where}: funnel must list at least two distinct event types in order, "
                        f"got {funnel!r}."
                    )
                fields["funnel"] = tuple(str(x) for x in funnel)
            ce = raw.get("category_event")
            if ce is not None:
                if "event_type" not in fields:
                    raise SpecError(f"{where}: 'category_event' needs 'event_type'.")
                fields["category_event"] = str(ce)
        roles = raw.get("feature_roles") or {}
        if not isinstance(roles, Mapping):
            raise SpecError(f"{where}: feature_roles must map feature name to role.")
        for feat, role in roles.items():
            if role not in ROLES or role in ("id",):
                raise SpecError(
                    f"{where}: feature_roles[{feat!r}]: unknown role {role!r}."
                    f"{_suggest(role, ROLES)} Valid roles: {', '.join(ROLES[1:])}."
                )
        fields["feature_roles"] = dict(roles)
    if source_id is None and not row_id:
        source_id = data_id if isinstance(data_id, str) else None
    return SourceSpec(
        name=name,
        path=resolved,
        kind=kind,
        format=fmt,
        id=None if row_id else source_id,
        row_id=row_id,
        columns=columns,
        options=options,
        base_dir=base,
        **fields,
    )


def _as_list(value: Any, where: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise SpecError(f"{where} must be a list, got {value!r}.")


def _parse_column(where: str, name: str, raw: Any) -> ColumnSpec:
    where = f"{where}, column {name!r}"
    if isinstance(raw, str) or raw is None:
        raw = {"role": raw}
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where}: expected a role or a mapping with 'role', got {raw!r}.")
    _unknown_keys(where, raw, _COLUMN_KEYS)
    role = raw.get("role")
    if role not in ROLES:
        raise SpecError(
            f"{where}: unknown role {role!r}.{_suggest(role, ROLES)} "
            f"Valid roles: {', '.join(ROLES)}."
        )
    ctype = raw.get("type")
    if ctype is not None and ctype not in TYPES:
        alias = {"date": "date", "datetime": "date", "string": "text", "category": "categorical"}
        ctype = alias.get(ctype, ctype)
        if ctype not in TYPES:
            raise SpecError(
                f"{where}: unknown type {raw.get('type')!r}.{_suggest(raw.get('type'), TYPES)} "
                f"Valid types: {', '.join(TYPES)}."
            )
    scale = raw.get("scale")
    if scale is not None:
        ok = (
            isinstance(scale, (list, tuple))
            and len(scale) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in scale)
            and scale[0] < scale[1]
        )
        if not ok:
            raise SpecError(f"{where}: scale must be [min, max] with min < max, got {scale!r}.")
        scale = (float(scale[0]), float(scale[1]))
    if role == "opinion" and scale is None:
        raise SpecError(
            f"{where}: an opinion column needs its rating scale, e.g. "
            f"{name}: {{role: opinion, scale: [1, 5]}}."
        )
    order = raw.get("order")
    if order is not None:
        order = _as_list(order, f"{where}: order")
        if len(order) < 2 or len({str(o) for o in order}) != len(order):
            raise SpecError(
                f"{where}: order must list at least two distinct levels, got {order!r}."
            )
        order = tuple(str(o) for o in order)
        if ctype is None:
            ctype = "ordinal"
    if ctype == "ordinal" and order is None and scale is None:
        raise SpecError(f"{where}: type ordinal needs 'order' (the levels from low to high).")
    if role == "text" and ctype not in (None, "text"):
        raise SpecError(f"{where}: a text column cannot have type {ctype!r}.")
    na_values = raw.get("na_values")
    if na_values is not None:
        na_values = tuple(_as_list(na_values, f"{where}: na_values"))
    for key in ("label", "date_format", "positive", "rename"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str | int | bool):
            raise SpecError(f"{where}: {key!r} must be text, got {value!r}.")
    return ColumnSpec(
        name=name,
        role=role,
        type=ctype,
        scale=scale,
        order=order,
        label=raw.get("label"),
        date_format=raw.get("date_format"),
        na_values=na_values,
        positive=None if raw.get("positive") is None else str(raw.get("positive")),
        rename=raw.get("rename"),
    )


def _resolve(path: str, base: Path) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (base / p).resolve()


def _check_spec(spec: DataSpec) -> None:
    for kind in ("events", "orders"):
        found = [s.name for s in spec.sources if s.kind == kind]
        if len(found) > 1:
            raise SpecError(
                f"The data spec has {len(found)} {kind} sources ({', '.join(found)}); "
                f"combine them into one file or one SQL query (format: sql)."
            )
    seen: dict[str, str] = {}
    for s in spec.tables:
        for c in s.columns:
            if c.role in ("id", "pii", "ignore"):
                continue
            out = c.out_name
            if out == spec.id:
                raise SpecError(
                    f"source {s.name!r}, column {c.name!r}: its name is the join key {spec.id!r}; "
                    "give it role id or rename it (rename: other_name)."
                )
            if out in seen:
                raise SpecError(
                    f"Column {out!r} appears in sources {seen[out]!r} and {s.name!r}; "
                    f"set one to role ignore or rename it (e.g. {c.name}: "
                    f"{{role: {c.role}, rename: {s.name}_{c.name}}})."
                )
            seen[out] = s.name


def load_spec(spec_or_path: Any, *, base_dir: Any = None) -> DataSpec:
    """Return a :class:`DataSpec` from a spec, a YAML path or a mapping.

    Parameters
    ----------
    spec_or_path : DataSpec, str, PathLike or mapping
        A spec (returned as is), a YAML file (a report config with a ``data:`` key or a bare
        spec) or the mapping form.
    base_dir : path, optional
        Folder relative paths are resolved against (default: the YAML file's folder, or the
        working directory for a mapping).

    Examples
    --------
    >>> from toolkit.config import SAMPLE_CONFIG
    >>> load_spec(SAMPLE_CONFIG).id  # doctest: +SKIP
    'user_id'
    """
    if isinstance(spec_or_path, DataSpec):
        return spec_or_path
    if isinstance(spec_or_path, Mapping):
        raw = spec_or_path.get("data", spec_or_path)
        return DataSpec.from_dict(raw, base_dir)
    if isinstance(spec_or_path, str | os.PathLike):
        return DataSpec.from_yaml(spec_or_path, base_dir)
    raise SpecError(
        f"Expected a DataSpec, a YAML path or a mapping, got {type(spec_or_path).__name__}."
    )
