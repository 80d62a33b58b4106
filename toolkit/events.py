"""Event logs and orders to user-level features, in one DuckDB SQL pass each.

The raw events never enter pandas: DuckDB reads the Parquet (or CSV, or SQL query) itself.
One profiling scan finds the rows, the time span and the levels of event type, category and
device; then one SQL statement computes every feature: a hash aggregation per user for counts
and shares, and one ordering of each user's events by time to cut sessions after
``session_gap_minutes`` without events. Only the user-level result (one row per user) comes
back to pandas. Local times use integer offsets of the time zone over the log's span (DuckDB's
ICU conversion is the fallback), so part of day, weekend and active days are cheap.

Event features (role ``behaviour`` unless noted): ``events``, ``sessions``, ``active_days``,
``events_per_session``, ``recency_days`` (last event to the log's end), ``tenure_days`` (first
to last event), ``share_morning`` (06-12h local time), ``share_afternoon`` (12-18h),
``share_evening`` (18-24h), ``share_night`` (00-06h), ``share_weekend``,
``share_device_<device>``, ``share_cat_<category>`` (share of product views by category; users
without product views fall back to all their events); outcomes ``reached_<step>`` (0/1, the
user got at least this far down the funnel), ``furthest_step``, ``dropout_step`` (the furthest
step most often reached by the user's sessions that did not convert; ties go to the later step;
``"none"`` when every session converted), ``conversion_rate`` (share of sessions reaching the
last step), ``purchased`` (0/1).

Order features: outcomes ``orders``, ``revenue``, ``avg_order_value`` (NaN without orders),
``days_since_last_order`` (last order to the last order in the file); behaviour
``favourite_category`` (most revenue, ties alphabetical; ``"none"`` without orders).

Times: tz-aware timestamps are converted to the spec's ``timezone``; naive ones are taken as
local time in that zone. A new session starts when the gap to the previous event is strictly
longer than ``session_gap_minutes``.

Examples
--------
>>> from toolkit.config import SAMPLE_CONFIG
>>> from toolkit.spec import load_spec
>>> spec = load_spec(SAMPLE_CONFIG)  # doctest: +SKIP
>>> features = event_features(spec.events, spec)  # doctest: +SKIP
>>> features.table.columns[:3].tolist()  # doctest: +SKIP
['user_id', 'events', 'sessions']
"""

from __future__ import annotations

import contextlib
import gzip
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import DataError, DataWarning, SpecError
from toolkit.readers import (
    _existing,
    _require_columns,
    _where,
    check_query,
    read_source,
    sniff_delimiter,
)
from toolkit.spec import DataSpec, SourceSpec

__all__ = [
    "Features",
    "event_features",
    "order_features",
    "duckdb_connection",
    "PARTS_OF_DAY",
]

#: Part of day -> [start hour, end hour) in local time.
PARTS_OF_DAY = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (0, 6)}

_CATALOGUE_COLUMNS = ["role", "source", "kind", "scale_min", "scale_max", "order", "label"]


@dataclass
class Features:
    """User-level features of one source and their catalogue.

    Attributes
    ----------
    table : DataFrame
        One row per user: the id column (text), then the features.
    columns : DataFrame
        Catalogue indexed by feature name: role, source, kind, scale_min, scale_max, order,
        label.
    rows : int
        Rows of the source that were aggregated.
    """

    table: pd.DataFrame
    columns: pd.DataFrame
    rows: int = 0


@contextlib.contextmanager
def duckdb_connection(
    *, threads: int | None = None, memory_limit: str | None = None, timezone: str = "UTC"
) -> Iterator:
    """Yield an in-memory DuckDB connection with its own temporary folder for spilling.

    Parameters
    ----------
    threads : int, optional
        Worker threads (default: DuckDB's, i.e. the number of cores).
    memory_limit : str, optional
        e.g. ``"3GB"``; DuckDB spills to the temporary folder beyond it.
    timezone : str
        Session time zone: text timestamps without an offset are read in this zone.
    """
    import duckdb

    with tempfile.TemporaryDirectory(prefix="toolkit-duckdb-") as tmp:
        config: dict[str, str | int] = {"temp_directory": tmp}
        if threads:
            config["threads"] = int(threads)
        if memory_limit:
            config["memory_limit"] = str(memory_limit)
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET TimeZone = {_lit(timezone)}")
            yield con
        finally:
            con.close()


def _fetch(con, sql: str) -> list[tuple]:
    """Run ``sql`` and return all rows (leaves no pending result on the connection)."""
    return con.execute(sql).fetchall()


def _lit(value: object) -> str:
    """SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _slug(value: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_")
    return slug or "blank"


def _slugs(levels: Sequence[str]) -> list[str]:
    out: list[str] = []
    for level in levels:
        slug = _slug(level)
        base, i = slug, 2
        while slug in out:
            slug, i = f"{base}_{i}", i + 1
        out.append(slug)
    return out


def _step_label(step: str) -> str:
    return str(step).replace("_", " ")


# --------------------------------------------------------------------------- the raw view
def _source_relation(con, source: SourceSpec, spec: DataSpec) -> str:
    """Return SQL (a FROM-able subquery) reading the source's needed columns natively."""
    fields = source.used_columns
    if source.format == "parquet":
        path = _existing(source)
        rel = f"read_parquet({_lit(path)})"
    elif source.format == "sql":
        if source.base_dir is not None:
            con.execute(f"SET file_search_path = {_lit(source.base_dir)}")
        rel = f"({check_query(source)})"
    elif source.format == "csv":
        path = _existing(source)
        sep = source.option("sep")
        sep = {"tab": "\t", "\\t": "\t"}.get(sep, sep) if sep else _sniff_file(source)
        if sep in ("whitespace", " ", r"\s+"):
            return _register_pandas(con, source, "__pandas_src__")
        opts = [f"delim={_lit(sep or ',')}", "header=true", "all_varchar=true"]
        enc = (source.option("encoding") or "utf-8").lower().replace("_", "-")
        if enc not in ("utf-8", "utf8", "utf-8-sig"):
            enc = {"latin1": "latin-1", "iso-8859-1": "latin-1", "cp1252": "latin-1"}.get(enc, enc)
            opts.append(f"encoding={_lit(enc)}")
        rel = f"read_csv({_lit(path)}, {', '.join(opts)})"
    else:  # excel: small logs only
        return _register_pandas(con, source, "__pandas_src__")
    try:
        available = [d[0] for d in _fetch(con, f"DESCRIBE SELECT * FROM {rel}")]
    except Exception as exc:  # noqa: BLE001 - duckdb.Error and friends
        raise DataError(
            f"{_where(source)} cannot be read by DuckDB: {str(exc).splitlines()[0]}"
        ) from exc
    _require_columns(source, fields, available)
    return rel


def _register_pandas(con, source: SourceSpec, name: str) -> str:
    df = read_source(source)
    con.register(name, df)
    return name


def _sniff_file(source: SourceSpec) -> str | None:
    opener = gzip.open if str(source.path).lower().endswith(".gz") else open
    with opener(source.path, "rb") as fh:  # read-only
        head = fh.read(65536)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    return sniff_delimiter(text)


def _timestamp_sql(con, source: SourceSpec, rel: str, tz: str) -> str:
    """SQL expression turning the timestamp column into TIMESTAMPTZ, validated."""
    col = _ident(source.timestamp)
    ctype = _fetch(con, f"SELECT typeof({col}) FROM {rel} LIMIT 1")
    ctype = (ctype[0][0] if ctype else "VARCHAR").upper()
    fmt = source.option("date_format")
    if "TIME ZONE" in ctype:
        return col
    if ctype.startswith("TIMESTAMP") or ctype == "DATE":
        return f"timezone({_lit(tz)}, CAST({col} AS TIMESTAMP))"
    text = f"CAST({col} AS VARCHAR)"
    if fmt:
        parsed = f"try_strptime({text}, {_lit(fmt)})"
        expr = parsed if "%z" in fmt or "%Z" in fmt else f"timezone({_lit(tz)}, {parsed})"
    elif re.match(r"^(TINY|SMALL|BIG|U)?INT|^HUGEINT|^DOUBLE|^FLOAT|^DECIMAL", ctype):
        raise DataError(
            f"{_where(source, source.timestamp)} holds numbers ({ctype}) where timestamps are "
            "expected. Declare date_format (e.g. '%Y%m%d') or store ISO timestamps."
        )
    else:
        expr = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    bad = _fetch(
        con,
        f"SELECT {col} AS v, count(*) OVER () AS n FROM {rel} "
        f"WHERE {col} IS NOT NULL AND {expr} IS NULL LIMIT 5",
    )
    if bad:
        expected = f"date_format {fmt!r}" if fmt else "ISO timestamps such as 2026-06-01T18:25:28Z"
        shown = ", ".join(repr(str(v)) for v, _ in bad)
        raise DataError(
            f"{_where(source, source.timestamp)}: {bad[0][1]:,} timestamp(s) cannot be parsed, "
            f"e.g. {shown}. Expected {expected}. Fix the values or declare date_format in the "
            "source (e.g. '%d.%m.%Y %H:%M')."
        )
    return expr


def _levels(counts: dict, max_levels: int, where: str) -> tuple[list[str], bool]:
    """Return the levels that get their own share (sorted) and whether others were grouped."""
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    levels = [str(v) for v, _ in rows]
    if len(levels) > max_levels:
        warnings.warn(
            f"{where} has {len(levels):,} levels; the {max_levels - 1} most frequent get their "
            "own share feature and the rest are grouped into 'other'.",
            DataWarning,
            stacklevel=4,
        )
        return sorted(levels[: max_levels - 1]), True
    return sorted(levels), False


def _prepare_events(con, source: SourceSpec, spec: DataSpec) -> dict:
    """Create view ``ev`` (uid, ts, et, cat, dev[, amount, oid]); check ids and timestamps.

    Returns a profile of the log from one pass: ``rows`` kept, ``first_us``/``last_us``
    (epoch microseconds) and ``{level: count}`` for ``et``, ``cat`` and ``dev``."""
    rel = _source_relation(con, source, spec)
    ts = _timestamp_sql(con, source, rel, spec.timezone)
    uid = f"CAST({_ident(source.id)} AS VARCHAR)"
    cols = [f"{uid} AS uid", f"{ts} AS ts"]
    for key, alias in (("event_type", "et"), ("category", "cat"), ("device", "dev")):
        name = getattr(source, key, None)
        expr = f"CAST({_ident(name)} AS VARCHAR)" if name else "CAST(NULL AS VARCHAR)"
        cols.append(f"{expr} AS {alias}")
    if source.kind == "orders":
        amount = _ident(source.amount)
        cols.append(f"TRY_CAST({amount} AS DOUBLE) AS amount")
        oid = f"CAST({_ident(source.order_id)} AS VARCHAR)" if source.order_id else "NULL"
        cols.append(f"{oid} AS oid")
    con.execute(f"CREATE OR REPLACE TEMP VIEW ev_all AS SELECT {', '.join(cols)} FROM {rel}")
    # totals, time span and the levels of event type, category and device; one GROUP BY per
    # column is much faster in DuckDB than GROUPING SETS over the same columns
    rows = _fetch(
        con,
        "SELECT 'all', NULL, count(*), count(*) FILTER (uid IS NULL OR uid = ''), "
        "count(*) FILTER (ts IS NULL), min(epoch_us(ts)), max(epoch_us(ts)) FROM ev_all "
        + "".join(
            f"UNION ALL SELECT '{col}', {col}, count(*), 0, 0, NULL, NULL FROM ev_all "
            f"WHERE {col} IS NOT NULL GROUP BY {col} "
            for col in ("et", "cat", "dev")
        ),
    )
    profile: dict = {"et": {}, "cat": {}, "dev": {}}
    for col, level, n, no_id, no_ts, lo, hi in rows:
        if col == "all":
            total, missing_id, missing_ts, first, last = n, no_id, no_ts, lo, hi
        else:
            profile[col][level] = n
    if total == 0:
        raise DataError(f"{_where(source)} has no rows.")
    if missing_id == total:
        raise DataError(
            f"{_where(source, source.id)}: the id column is empty in all {total:,} rows."
        )
    dropped = 0
    if missing_id or missing_ts:
        dropped = _fetch(
            con, "SELECT count(*) FROM ev_all WHERE uid IS NULL OR uid = '' OR ts IS NULL"
        )[0][0]
        warnings.warn(
            f"{_where(source)}: {missing_id:,} row(s) without an id and {missing_ts:,} without a "
            f"timestamp (of {total:,}) were skipped.",
            DataWarning,
            stacklevel=3,
        )
    if source.kind == "orders":
        bad = _fetch(
            con,
            f"SELECT {_ident(source.amount)} FROM {rel} WHERE {_ident(source.amount)} IS NOT NULL "
            f"AND TRY_CAST({_ident(source.amount)} AS DOUBLE) IS NULL LIMIT 5",
        )
        if bad:
            raise DataError(
                f"{_where(source, source.amount)} should hold numbers, but holds "
                f"{', '.join(repr(str(b[0])) for b in bad)}. Fix them."
            )
    where = " WHERE uid IS NOT NULL AND uid <> '' AND ts IS NOT NULL" if dropped else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM ev_all{where}")
    return {
        "rows": int(total - dropped),
        "first_us": first,
        "last_us": last,
        **profile,
    }


# --------------------------------------------------------------------------- events
def _code(col: str, levels: Sequence[str]) -> str:
    """SQL: index of ``col`` in ``levels``, -1 for other values, NULL when missing."""
    if not levels:
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE -1 END"
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE coalesce({_position(col, levels)}, 0) - 1 END"


def _position(col: str, levels: Sequence[str]) -> str:
    """SQL: 1-based position of ``col`` in ``levels``, NULL when absent. ``list_position``
    scans a short list without hashing, about 3x faster in DuckDB than a CASE chain."""
    return f"list_position([{', '.join(_lit(v) for v in levels)}], {col})"


def _bucket_us(gap_us: int) -> int:
    """Width of the time buckets that cannot hold a session boundary: the largest divisor of
    an hour that is at most the session gap (so a bucket also lies within one local hour).

    >>> _bucket_us(30 * 60_000_000), _bucket_us(7 * 60_000_000), _bucket_us(90 * 60_000_000)
    (1800000000, 400000000, 3600000000)
    """
    hour = 3_600_000_000
    if gap_us >= hour:
        return hour
    n = -(-hour // max(int(gap_us), 1))
    while hour % n:
        n += 1
    return hour // n


def _local_us_sql(offsets: Sequence[tuple[int, int]] | None, tz: str, t: str = "t") -> str:
    """SQL turning ``t`` (UTC epoch microseconds) into local wall-clock microseconds.

    ``offsets`` lists ``(from_us, offset_us)`` of the time zone over the log's span, so the
    conversion is integer arithmetic; without it DuckDB's ICU ``timezone()`` is used.
    """
    if not offsets:
        return f"epoch_us(timezone({_lit(tz)}, to_timestamp(0) + to_microseconds({t})))"
    if len(offsets) == 1:
        return f"{t} + {offsets[0][1]}"
    cases = " ".join(
        f"WHEN {t} < {start} THEN {prev}"
        for (start, _), (_, prev) in zip(offsets[1:], offsets[:-1], strict=True)
    )
    return f"{t} + CASE {cases} ELSE {offsets[-1][1]} END"


def _offsets(
    tz: str, first_us: int, last_us: int, limit: int = 400
) -> list[tuple[int, int]] | None:
    """UTC offsets of ``tz`` between two instants: ``[(from_us, offset_us), ...]``."""
    import datetime as dt
    import zoneinfo

    zone = zoneinfo.ZoneInfo(tz)
    hour = 3_600_000_000

    def offset(us: int) -> int:
        when = dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).astimezone(zone)
        return int(when.utcoffset().total_seconds() * 1_000_000)

    lo = first_us - first_us % hour
    out = [(lo, offset(lo))]
    t = lo
    while t < last_us:
        nxt = t + hour
        if offset(nxt) != out[-1][1]:
            a, b = t, nxt  # find the exact second of the change
            while b - a > 1_000_000:
                mid = (a + b) // 2 // 1_000_000 * 1_000_000
                if mid <= a:
                    break
                a, b = (mid, b) if offset(mid) == out[-1][1] else (a, mid)
            out.append((b, offset(b)))
            if len(out) > limit:
                return None
        t = nxt
    return out


def _events_sql(
    tz: str,
    gap_us: int,
    funnel: Sequence[str] | None,
    devices: Sequence[str],
    categories: Sequence[str],
    category_event: str | None,
    *,
    other_devices: bool = False,
    other_categories: bool = False,
    offsets: Sequence[tuple[int, int]] | None = None,
    partition: str = "h",
) -> tuple[str, list[str]]:
    """Return the feature query over view ``ev`` (uid, ts, et, cat, dev) and its column names.

    One statement with two branches over the log:

    * ``users``: one hash aggregation per user of what varies event by event (the text id and
      the counts by device and page category);
    * ``buckets``: the events of each user grouped into time buckets narrower than the session
      gap and lying within one local hour (:func:`_bucket_us`), so no session boundary, day
      change or part-of-day change falls inside a bucket. Only the buckets (a few per session,
      not every event) are then ordered by time (window ``lag``) to flag session starts and
      day changes; they give events, sessions, active days, parts of day, weekend, first and
      last time and the furthest funnel step. For the drop-out step, the buckets that can
      carry a session's furthest step (session starts and rises of the step) are numbered by
      session (running sum of the starts) and aggregated per session, then per user.

    ``users`` is grouped by the text id (short strings group fast); the buckets are keyed by
    ``hash(uid)`` (integers sort faster than text). The result holds ``uid`` and that key
    ``h``: a key found twice means two users share a hash, and the caller reruns with
    ``partition="uid"``.
    """
    is_view = f"et = {_lit(category_event)}" if category_event else "TRUE"
    step = f"{_position('et', funnel)} - 1" if funnel else "CAST(NULL AS INTEGER)"
    key = "hash(uid)" if partition == "h" else "uid"
    hour = 3_600_000_000
    width = _bucket_us(gap_us)

    def count(cond: str) -> str:
        return f"count(CASE WHEN {cond} THEN 1 END)"

    def alias(prefix: str, code: int) -> str:
        return f"{prefix}_{code}" if code >= 0 else f"{prefix}_other"

    dev_codes = [*range(len(devices)), *([-1] if other_devices else [])]
    cat_codes = [*range(len(categories)), *([-1] if other_categories else [])]
    # counts by device and by category (of viewed pages and of all events), per user
    agg = [f"{count(f'd = {i}')} AS {alias('n_dev', i)}" for i in dev_codes]
    agg += [f"{count(f'v AND c = {i}')} AS {alias('n_cv', i)}" for i in cat_codes]
    agg += [f"{count(f'c = {i}')} AS {alias('n_ca', i)}" for i in cat_codes]
    users_base = f"""
        SELECT uid,
            {_code("dev", devices)} AS d,
            {_code("cat", categories)} AS c,
            coalesce({is_view}, FALSE) AS v
        FROM ev"""
    # a bucket: one user, one UTC slot of `width` (a divisor of an hour) and one offset of
    # local from UTC hours (within +-32), hence one local hour; slot and offset are packed
    # into one key b, from which the local hour is recovered
    buckets_base = f"""
        SELECT h, t, (t // {width}) * 64 + (lt // {hour} - t // {hour} + 32) AS b,
            {step} AS step
        FROM (SELECT {key} AS h, t, {_local_us_sql(offsets, tz)} AS lt, et
              FROM (SELECT uid, epoch_us(ts) AS t, et FROM ev))"""
    parts = {
        name: f"sum(CASE WHEN lh % 24 >= {lo} AND lh % 24 < {hi} THEN n ELSE 0 END)"
        for name, (lo, hi) in PARTS_OF_DAY.items()
    }
    bucket_agg = [
        "sum(n) AS n",
        "sum(new_s) AS sessions",
        "sum(new_d) AS days",
        "min(tmin) AS first_t",
        "max(tmax) AS last_t",
        "max(smax) AS furthest",
        *(f"{sql} AS n_{name}" for name, sql in parts.items()),
        "sum(CASE WHEN (lh // 24 + 4) % 7 IN (0, 6) THEN n ELSE 0 END) AS n_weekend",
    ]
    n_dev = " + ".join(f"u.{alias('n_dev', i)}" for i in dev_codes) or "0"
    n_cv = " + ".join(f"u.{alias('n_cv', i)}" for i in cat_codes) or "0"
    n_ca = " + ".join(f"u.{alias('n_ca', i)}" for i in cat_codes) or "0"

    out = [
        "b.n AS events",
        "b.sessions AS sessions",
        "b.days AS active_days",
        "b.n / b.sessions AS events_per_session",
        "(max(b.last_t) OVER () - b.last_t) / 86400e6 AS recency_days",
        "(b.last_t - b.first_t) / 86400e6 AS tenure_days",
    ]
    names = [
        "events",
        "sessions",
        "active_days",
        "events_per_session",
        "recency_days",
        "tenure_days",
    ]
    for name in PARTS_OF_DAY:
        out.append(f"b.n_{name} / b.n AS share_{name}")
        names.append(f"share_{name}")
    out.append("b.n_weekend / b.n AS share_weekend")
    names.append("share_weekend")
    dev_slugs = [*_slugs(devices), *(["other"] if other_devices else [])]
    for i, slug in zip(dev_codes, dev_slugs, strict=True):
        col = f"u.{alias('n_dev', i)}"
        out.append(f"{col} / nullif({n_dev}, 0) AS share_device_{slug}")
        names.append(f"share_device_{slug}")
    cat_slugs = [*_slugs(categories), *(["other"] if other_categories else [])]
    for i, slug in zip(cat_codes, cat_slugs, strict=True):
        cv, ca = f"u.{alias('n_cv', i)}", f"u.{alias('n_ca', i)}"
        out.append(
            f"CASE WHEN ({n_cv}) > 0 THEN {cv} / ({n_cv}) "
            f"WHEN ({n_ca}) > 0 THEN {ca} / ({n_ca}) END AS share_cat_{slug}"
        )
        names.append(f"share_cat_{slug}")
    joins = "FROM users u JOIN per_bucket b ON u.h = b.h"
    dropout = ""
    if funnel:
        last = len(funnel) - 1
        for k, s in enumerate(funnel[1:], start=1):
            out.append(f"CAST(coalesce(b.furthest, -1) >= {k} AS INTEGER) AS reached_{_slug(s)}")
            names.append(f"reached_{_slug(s)}")
        names_case = " ".join(f"WHEN {k} THEN {_lit(s)}" for k, s in enumerate(funnel))
        out.append(f"CASE b.furthest {names_case} END AS furthest_step")
        names.append("furthest_step")
        sess_agg = [f"count(CASE WHEN s = {k} THEN 1 END) AS c_{k}" for k in range(last + 1)]
        counts = [f"s.c_{k}" for k in range(last)]
        greatest = f"greatest({', '.join(counts)})" if len(counts) > 1 else counts[0]
        branches = " ".join(
            f"WHEN {counts[k]} = {greatest} THEN {_lit(funnel[k])}" for k in reversed(range(last))
        )
        out.append(f"CASE WHEN {greatest} = 0 THEN 'none' {branches} END AS dropout_step")
        names.append("dropout_step")
        out.append(f"s.c_{last} / b.sessions AS conversion_rate")
        names.append("conversion_rate")
        out.append(f"CAST(coalesce(b.furthest, -1) = {last} AS INTEGER) AS purchased")
        names.append("purchased")
        # keep session starts and buckets whose step rises: they hold each session's
        # furthest step
        sess_cols = ",\n        ".join(sess_agg)
        dropout = f""",
sess AS (
    SELECT h, sid, max(smax) AS s
    FROM (
        SELECT h, smax, sum(new_s) OVER (PARTITION BY h ORDER BY tmin) AS sid
        FROM flagged
        WHERE new_s = 1 OR (smax IS NOT NULL AND (prev_s IS NULL OR smax > prev_s))
    ) GROUP BY h, sid
),
per_session AS (
    SELECT h,
        {sess_cols}
    FROM sess GROUP BY h
)"""
        joins += " JOIN per_session s ON u.h = s.h"
    user_cols = "".join(f",\n        {a}" for a in agg)
    bucket_cols = ",\n        ".join(bucket_agg)
    out_cols = ",\n    ".join(out)
    sql = f"""
WITH users AS (
    SELECT uid, {key} AS h{user_cols}
    FROM ({users_base}
    ) GROUP BY uid
),
buckets AS (
    SELECT h, count(*) AS n, min(t) AS tmin, max(t) AS tmax, max(step) AS smax,
        (b // 64) * {width} // {hour} + b % 64 - 32 AS lh
    FROM ({buckets_base}
    ) GROUP BY h, b
),
flagged AS (
    SELECT h, n, tmin, tmax, smax, lh, prev_s,
        CASE WHEN prev_t IS NULL OR tmin - prev_t > {int(gap_us)} THEN 1 ELSE 0 END AS new_s,
        CASE WHEN prev_lh IS NULL OR lh // 24 <> prev_lh // 24 THEN 1 ELSE 0 END AS new_d
    FROM (
        SELECT *, lag(tmax) OVER w AS prev_t, lag(lh) OVER w AS prev_lh,
            lag(smax) OVER w AS prev_s
        FROM buckets WINDOW w AS (PARTITION BY h ORDER BY tmin)
    )
),
per_bucket AS (
    SELECT h,
        {bucket_cols}
    FROM flagged GROUP BY h
){dropout}
SELECT u.uid, u.h,
    {out_cols}
{joins}
ORDER BY u.uid
"""
    return sql, names


def event_features(
    source: SourceSpec,
    spec: DataSpec,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Features:
    """Aggregate an event log to one row of behaviour and funnel features per user.

    Parameters
    ----------
    source : SourceSpec
        A ``kind: events`` source.
    spec : DataSpec
        Gives the id name of the result, the time zone, the session gap and ``max_levels``.
    threads, memory_limit : optional
        DuckDB settings (e.g. ``threads=2, memory_limit="3GB"``).

    Returns
    -------
    Features
        ``table`` sorted by id; ``columns`` the catalogue of the features.

    Raises
    ------
    DataError
        Missing or unreadable file, unparseable timestamps, empty id column.
    SpecError
        A column named in the spec is not in the file.
    """
    if source.kind != "events":
        raise SpecError(f"{source.label} is not an events source (kind: {source.kind}).")
    import duckdb

    with duckdb_connection(
        threads=threads, memory_limit=memory_limit, timezone=spec.timezone
    ) as con:
        try:
            profile = _prepare_events(con, source, spec)
            n_rows = profile["rows"]
            devices, other_devices = (
                _levels(profile["dev"], spec.max_levels, _where(source, source.device))
                if source.device
                else ([], False)
            )
            categories, other_categories = (
                _levels(profile["cat"], spec.max_levels, _where(source, source.category))
                if source.category
                else ([], False)
            )
            funnel = list(source.funnel) if source.funnel else None
            if funnel:
                found = set(profile["et"])
                missing = [s for s in funnel if s not in found]
                if len(missing) == len(funnel):
                    raise DataError(
                        f"{_where(source, source.event_type)}: none of the funnel steps "
                        f"{funnel} occur; the event types found are "
                        f"{sorted(str(f) for f in found if f is not None)[:20]}. "
                        "Correct 'funnel' to the file's event types."
                    )
                if missing:
                    warnings.warn(
                        f"{_where(source, source.event_type)}: funnel step(s) {missing} never "
                        f"occur (event types found: {sorted(map(str, found - {None}))[:20]}).",
                        DataWarning,
                        stacklevel=2,
                    )
            category_event = source.category_event
            if category_event is None and funnel and "product_view" in funnel:
                category_event = "product_view"
            span = (profile["first_us"], profile["last_us"])
            args = (
                spec.timezone,
                int(round(spec.session_gap_minutes * 60e6)),
                funnel,
                devices,
                categories,
                category_event,
            )
            options = {
                "other_devices": other_devices,
                "other_categories": other_categories,
                "offsets": _offsets(spec.timezone, int(span[0]), int(span[1])),
            }
            sql, names = _events_sql(*args, **options)
            table = con.sql(sql).df()
            if table["h"].duplicated().any():  # two users share a hash
                sql, names = _events_sql(*args, **options, partition="uid")
                table = con.sql(sql).df()
            table = table.drop(columns="h")
        except duckdb.Error as exc:
            raise DataError(
                f"{_where(source)}: DuckDB could not aggregate the events: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
    table = table.rename(columns={"uid": spec.id})
    table[spec.id] = table[spec.id].astype("str")
    for col in table.columns[1:]:
        if col in ("furthest_step", "dropout_step"):
            table[col] = table[col].astype("str")
        elif col in ("events", "sessions", "active_days", "purchased") or col.startswith(
            "reached_"
        ):
            table[col] = table[col].astype("int64")
        else:
            table[col] = table[col].astype("float64")
    catalogue = _event_catalogue(source, names, devices, categories)
    return Features(table=table, columns=catalogue, rows=n_rows)


_LABELS = {
    "events": "Events",
    "sessions": "Sessions",
    "active_days": "Active days",
    "events_per_session": "Events per session",
    "recency_days": "Days since last activity",
    "tenure_days": "Days between first and last activity",
    "share_morning": "Share of morning activity (6-12h)",
    "share_afternoon": "Share of afternoon activity (12-18h)",
    "share_evening": "Share of evening activity (18-24h)",
    "share_night": "Share of night activity (0-6h)",
    "share_weekend": "Share of weekend activity",
    "furthest_step": "Furthest funnel step",
    "dropout_step": "Usual drop-out step",
    "conversion_rate": "Share of sessions that convert",
    "purchased": "Purchased",
    "orders": "Orders",
    "revenue": "Revenue",
    "avg_order_value": "Average order value",
    "days_since_last_order": "Days since last order",
    "favourite_category": "Favourite category (by revenue)",
}


def _catalogue(rows: dict[str, dict], source: SourceSpec) -> pd.DataFrame:
    for name, row in rows.items():
        role = source.feature_roles.get(name)
        if role is not None:
            row["role"] = role
    for name in source.feature_roles:
        if name not in rows:
            raise SpecError(
                f"{source.label}: feature_roles names {name!r}, which is not a feature of this "
                f"source; its features are {', '.join(rows)}."
            )
    cat = pd.DataFrame.from_dict(rows, orient="index")
    cat.index.name = "column"
    cat["source"] = source.name
    for col in ("scale_min", "scale_max"):
        cat[col] = np.nan
    if "order" not in cat:
        cat["order"] = None
    cat["order"] = cat["order"].astype(object).where(cat["order"].notna(), None)
    return cat[_CATALOGUE_COLUMNS]


def _event_catalogue(
    source: SourceSpec, names: list[str], devices: Sequence[str], categories: Sequence[str]
) -> pd.DataFrame:
    dev_labels = dict(zip(_slugs(devices), devices, strict=True))
    cat_labels = dict(zip(_slugs(categories), categories, strict=True))
    rows: dict[str, dict] = {}
    for name in names:
        row = {"role": "behaviour", "kind": "numeric", "label": _LABELS.get(name, name)}
        if name.startswith("share_device_"):
            level = dev_labels.get(name.removeprefix("share_device_"), "other devices")
            row["label"] = f"Share of activity on {level}"
        elif name.startswith("share_cat_"):
            level = cat_labels.get(name.removeprefix("share_cat_"), "other categories")
            row["label"] = f"Share of {level} views"
        elif name.startswith("reached_"):
            step = next(
                s for s in source.funnel or () if _slug(s) == name.removeprefix("reached_")
            )
            row.update(role="outcome", kind="binary", label=f"Reached {_step_label(step)}")
        elif name == "furthest_step":
            row.update(role="outcome", kind="ordinal", order=list(source.funnel or ()))
        elif name == "dropout_step":
            row.update(role="outcome", kind="categorical")
        elif name in ("conversion_rate",):
            row.update(role="outcome")
        elif name == "purchased":
            row.update(role="outcome", kind="binary")
        rows[name] = row
    return _catalogue(rows, source)


# --------------------------------------------------------------------------- orders
_ORDERS_SQL = """
WITH per_cat AS (
    SELECT uid, cat, sum(amount) AS rev FROM ev WHERE cat IS NOT NULL GROUP BY uid, cat
),
fav AS (
    SELECT uid, cat FROM (
        SELECT uid, cat, row_number() OVER (PARTITION BY uid ORDER BY rev DESC, cat) AS r
        FROM per_cat
    ) WHERE r = 1
),
per_user AS (
    SELECT uid,
        {orders} AS orders,
        coalesce(sum(amount), 0) AS revenue,
        (epoch_us((SELECT max(ts) FROM ev)) - epoch_us(max(ts))) / 86400e6
            AS days_since_last_order
    FROM ev GROUP BY uid
)
SELECT p.uid, p.orders, p.revenue, p.revenue / nullif(p.orders, 0) AS avg_order_value,
    p.days_since_last_order{fav_col}
FROM per_user p LEFT JOIN fav f ON p.uid = f.uid
ORDER BY p.uid
"""


def order_features(
    source: SourceSpec,
    spec: DataSpec,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Features:
    """Aggregate an orders table to orders, revenue, average order value, recency and the
    favourite category per user (one DuckDB query).

    Parameters
    ----------
    source : SourceSpec
        A ``kind: orders`` source (``timestamp`` and ``amount`` required; ``order_id`` counts
        line items of one order once; ``category`` gives ``favourite_category``).
    spec : DataSpec
        Gives the id name of the result and the time zone.

    Returns
    -------
    Features
    """
    if source.kind != "orders":
        raise SpecError(f"{source.label} is not an orders source (kind: {source.kind}).")
    import duckdb

    with duckdb_connection(
        threads=threads, memory_limit=memory_limit, timezone=spec.timezone
    ) as con:
        try:
            if source.format in ("parquet", "sql"):
                n_rows = _prepare_events(con, source, spec)["rows"]
            else:
                n_rows = _prepare_orders_pandas(con, source, spec)
            orders = "count(DISTINCT oid)" if source.order_id else "count(*)"
            fav_col = (
                ",\n    coalesce(f.cat, 'none') AS favourite_category" if source.category else ""
            )
            table = con.sql(_ORDERS_SQL.format(orders=orders, fav_col=fav_col)).df()
        except duckdb.Error as exc:
            raise DataError(
                f"{_where(source)}: DuckDB could not aggregate the orders: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
    table = table.rename(columns={"uid": spec.id})
    table[spec.id] = table[spec.id].astype("str")
    table["orders"] = table["orders"].astype("int64")
    for col in ("revenue", "avg_order_value", "days_since_last_order"):
        table[col] = table[col].astype("float64")
    if "favourite_category" in table:
        table["favourite_category"] = table["favourite_category"].astype("str")
    rows: dict[str, dict] = {}
    for name in table.columns[1:]:
        kind = "categorical" if name == "favourite_category" else "numeric"
        role = "behaviour" if name == "favourite_category" else "outcome"
        rows[name] = {"role": role, "kind": kind, "label": _LABELS[name]}
    return Features(table=table, columns=_catalogue(rows, source), rows=n_rows)


def _prepare_orders_pandas(con, source: SourceSpec, spec: DataSpec) -> int:
    df = read_source(source)
    ts = df[source.timestamp]
    if getattr(ts.dt, "tz", None) is None:
        ts = ts.dt.tz_localize(
            spec.timezone, ambiguous=np.zeros(len(ts), dtype=bool), nonexistent="shift_forward"
        )
    frame = pd.DataFrame(
        {
            "uid": df[source.id],
            "ts": ts.dt.tz_convert("UTC"),
            "amount": df[source.amount].astype("float64"),
        }
    )
    if source.category:
        frame["cat"] = df[source.category]
    if source.order_id:
        frame["oid"] = df[source.order_id]
    missing = frame["uid"].isna() | frame["ts"].isna()
    if missing.all():
        raise DataError(f"{_where(source, source.id)}: no row has both an id and a timestamp.")
    if missing.any():
        warnings.warn(
            f"{_where(source)}: {int(missing.sum()):,} row(s) without an id or a timestamp were "
            "skipped.",
            DataWarning,
            stacklevel=3,
        )
    con.register("__orders_src__", frame[~missing].reset_index(drop=True))
    cat = "CAST(cat AS VARCHAR)" if source.category else "CAST(NULL AS VARCHAR)"
    oid = "CAST(oid AS VARCHAR)" if source.order_id else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW ev AS SELECT CAST(uid AS VARCHAR) AS uid, ts, amount, "
        f"{cat} AS cat, {oid} AS oid FROM __orders_src__"
    )
    return int((~missing).sum())
