"""Read source files as they come from analysts: CSV, Parquet, Excel or a DuckDB SQL query.

The readers are strict where pandas is lenient, and every problem is a
:class:`~toolkit.errors.DataError` naming the file, the column, a few offending values and the
fix:

* ids are always text (``00123`` stays ``00123``; Excel's ``123.0`` becomes ``123``);
* CSV: the delimiter is sniffed unless declared (``sep``), the encoding is UTF-8 (with or
  without BOM), UTF-16 with BOM, or Windows-1252 as a fallback (with a warning); decimal commas
  are sniffed unless declared; numbers with thousands separators need ``thousands``;
* dates: ISO dates are read as such; ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` is decided from the
  values, and a column mixing both is an error unless ``date_format`` is declared; numbers in a
  date column of an Excel sheet are Excel serial dates;
* files are opened read-only and never written.

Examples
--------
>>> import pathlib, tempfile
>>> from toolkit.spec import DataSpec
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "users.csv").write_text("user_id;age\\n00123;41\\n00124;35\\n")
>>> users = {"path": "users.csv", "columns": {"user_id": "id", "age": "demographic"}}
>>> spec = DataSpec.from_dict({"sources": {"users": users}}, folder)
>>> read_source(spec.base)["user_id"].tolist()
['00123', '00124']
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, DataWarning, SpecError
from toolkit.spec import ColumnSpec, SourceSpec

__all__ = [
    "read_source",
    "read_frame",
    "read_text",
    "sniff_delimiter",
    "parse_dates",
    "to_numbers",
    "ids_as_text",
    "column_kind",
]

#: Strings read as missing in every text file (besides empty cells).
NA_STRINGS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "#N/A", "<NA>"})
_DELIMITERS = (",", ";", "\t", "|")
_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "f"})
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_GROUPED = {
    ",": re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"),
    ".": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"),
    " ": re.compile(r"^[+-]?\d{1,3}( \d{3})+([.,]\d+)?$"),
    "'": re.compile(r"^[+-]?\d{1,3}('\d{3})+(\.\d+)?$"),
}
_ISO_DATE = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$"
)
_DMY = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})([ T].*)?$")
_EXCEL_SERIAL_RANGE = (1, 2_958_465)  # 1900-01-01 .. 9999-12-31


# --------------------------------------------------------------------------- small helpers
def _examples(values: Iterable[Any], n: int = 5) -> str:
    vals = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v if len(v) <= 40 else v[:37] + "...") for v in vals[:n])
    return shown + (f" (+{len(vals) - n} more)" if len(vals) > n else "")


def _rows(index: Iterable[int], n: int = 5) -> str:
    rows = [int(i) + 1 for i in index]
    text = ", ".join(str(r) for r in rows[:n])
    more = f" and {len(rows) - n} more" if len(rows) > n else ""
    return f"row{'s' if len(rows) > 1 else ''} {text}{more}"


def _where(source: SourceSpec, column: str | None = None) -> str:
    col = f", column {column!r}" if column is not None else ""
    return f"{source.file} (source {source.name!r}{col})"


# --------------------------------------------------------------------------- text files
def read_text(source: SourceSpec) -> str:
    """Return the decoded text of a CSV source (``.gz``, ``.bz2``, ``.xz``, ``.zip`` unpacked).

    The declared ``encoding`` is used when given; otherwise UTF-8 (a BOM is honoured), UTF-16
    with BOM, then Windows-1252 with a :class:`~toolkit.errors.DataWarning`. Undecodable bytes
    raise a :class:`~toolkit.errors.DataError` naming the line and the column.
    """
    data = _read_bytes(source)
    if not data.strip():
        raise DataError(
            f"{_where(source)} is empty (0 rows, no header). Export the table again with a "
            "header line and at least one row."
        )
    declared = source.option("encoding")
    if declared:
        try:
            text = data.decode(declared)
        except UnicodeDecodeError as exc:
            raise DataError(_decode_message(source, data, exc, [declared])) from exc
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc_utf8:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise DataError(
                    _decode_message(source, data, exc_utf8, ["utf-8", "windows-1252"])
                ) from exc_utf8
            warnings.warn(
                f"{_where(source)} is not UTF-8; it was read as Windows-1252 (Western European). "
                "Declare encoding: cp1252 (or the right one, e.g. latin-1) to silence this.",
                DataWarning,
                stacklevel=3,
            )
    text = text.removeprefix("\ufeff")
    bad = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text[:1_000_000])
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise DataError(
            f"{_where(source)} does not look like text: it holds control character "
            f"{bad.group()!r} on line {line}{_column_at(text, bad.start(), source)}. It may be "
            "UTF-16 without a byte-order mark, a spreadsheet or a compressed file with the wrong "
            "suffix. Save it as CSV in UTF-8, or declare its encoding (e.g. encoding: utf-16)."
        )
    return text


def _read_bytes(source: SourceSpec) -> bytes:
    path = source.path
    if path is None:
        raise SpecError(f"{source.label} has no path.")
    if not path.exists():
        raise DataError(
            f"{path} (source {source.name!r}) does not exist. Paths in a data spec are relative "
            "to the config file's folder; check the spelling and the folder."
        )
    if path.is_dir():
        raise DataError(f"{path} (source {source.name!r}) is a folder, not a file.")
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as fh:  # read-only
            raw = fh.read()
        if suffix == ".gz":
            return gzip.decompress(raw)
        if suffix == ".bz2":
            return bz2.decompress(raw)
        if suffix == ".xz":
            return lzma.decompress(raw)
        if suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [n for n in zf.namelist() if not n.endswith("/")]
                if len(members) != 1:
                    raise DataError(
                        f"{_where(source)}: a zip file must hold exactly one file, found "
                        f"{len(members)} ({_examples(members)})."
                    )
                return zf.read(members[0])
        return raw
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"{_where(source)} cannot be read: {exc}.") from exc


def _decode_message(
    source: SourceSpec, data: bytes, exc: UnicodeDecodeError, tried: Sequence[str]
) -> str:
    pos = exc.start
    line = data.count(b"\n", 0, pos) + 1
    text = data.decode("latin-1")
    snippet = data[max(0, pos - 15) : pos + 15]
    return (
        f"{_where(source)} cannot be decoded as {' or '.join(tried)}: byte "
        f"0x{data[pos]:02x} on line {line}{_column_at(text, pos, source)} (near {snippet!r}). "
        "Save the file as UTF-8, or declare its encoding in the spec (encoding: cp1252, "
        "latin-1, utf-16...)."
    )


def _column_at(text: str, pos: int, source: SourceSpec) -> str:
    """Return ``", column 'x'"`` for the field holding character ``pos`` (best effort)."""
    try:
        first_nl = text.find("\n")
        header = text[: first_nl if first_nl >= 0 else len(text)].rstrip("\r")
        sep = _sep_for_pandas(source.option("sep")) or sniff_delimiter(text[:65536]) or ","
        line_start = text.rfind("\n", 0, pos) + 1
        if sep == r"\s+":
            names = header.split()
            field = len(text[line_start:pos].split()) - 1
        else:
            names = next(csv.reader([header], delimiter=sep))
            field = next(csv.reader([text[line_start:pos] + "x"], delimiter=sep)).__len__() - 1
        if 0 <= field < len(names):
            return f", column {names[max(field, 0)]!r}"
    except Exception:  # noqa: BLE001 - the message is still useful without the column
        pass
    return ""


def sniff_delimiter(sample: str) -> str | None:
    """Return the delimiter of a CSV sample (``,``, ``;``, tab, ``|`` or whitespace) or None.

    A delimiter wins when the header has at least two fields and at least 90% of the sampled
    rows have as many fields as the header; among winners the one giving most fields is taken.

    Examples
    --------
    >>> sniff_delimiter("a;b;c\\n1,5;2;3\\n")
    ';'
    >>> sniff_delimiter(" id  date  value\\n 001 19970101  11.77\\n")
    '\\\\s+'
    """
    lines = sample.splitlines()
    if len(sample) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # possibly cut
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return None
    text = "\n".join(lines)
    best: tuple[float, int, str] | None = None
    for cand in _DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=cand) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        share = sum(len(r) == width for r in rows) / len(rows)
        if share >= 0.9 and (best is None or (share, width) > best[:2]):
            best = (share, width, cand)
    if best is not None:
        return best[2]
    widths = [len(ln.split()) for ln in lines]
    if widths[0] >= 2 and sum(w == widths[0] for w in widths) / len(widths) >= 0.9:
        return r"\s+"
    return None


def _sep_for_pandas(sep: str | None) -> str | None:
    if sep is None:
        return None
    return {"tab": "\t", "\\t": "\t", "whitespace": r"\s+", " ": r"\s+"}.get(sep, sep)


def _read_csv(source: SourceSpec, needed: Sequence[str]) -> pd.DataFrame:
    text = read_text(source)
    declared = _sep_for_pandas(source.option("sep"))
    sniffed = sniff_delimiter(text[:65536])
    sep = declared or sniffed or ","
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=sep != r"\s+",
            engine="c" if len(sep) == 1 or sep == r"\s+" else "python",
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{_where(source)} is empty (no header line).") from exc
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        hint = f" The file looks {sniffed!r}-separated." if sniffed and sniffed != sep else ""
        raise DataError(
            f"{_where(source)} could not be parsed as {sep!r}-separated CSV: {exc}.{hint} "
            "Check the delimiter (sep), quoting and that every row has the header's number of "
            "fields."
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    if df.shape[1] == 1 and len(needed) > 1:
        found = df.columns[0]
        hint = f" The file looks {sniffed!r}-separated." if sniffed and sniffed != sep else ""
        raise DataError(
            f"{_where(source)}: found one column {found[:80]!r} while the spec names "
            f"{len(needed)} ({_examples(needed)}), so the delimiter is not {sep!r}.{hint} "
            "Declare the delimiter in the spec (sep: ';', sep: '\\t', sep: whitespace...)."
        )
    if df.empty:
        raise DataError(
            f"{_where(source)} has a header ({_examples(df.columns)}) but no data rows. "
            "Export the table again with its rows."
        )
    for col in df.columns:
        s = df[col].str.strip()
        df[col] = s.mask(isin(s, NA_STRINGS))
    return df


def isin(values: pd.Series, tokens: Iterable[Any]) -> pd.Series:
    """``values.isin(tokens)`` that stays fast for Arrow-backed text (compares distinct values).

    Examples
    --------
    >>> isin(pd.Series(["a", "b", None]), {"b"}).tolist()
    [False, True, False]
    """
    wanted = set(tokens)
    mask = pd.Series(False, index=values.index)
    if not wanted or values.empty:
        return mask
    if not _is_text_dtype(values):
        return values.astype(object).isin(wanted).fillna(False).astype(bool)
    for value in set(values.dropna().unique().tolist()) & wanted:
        mask |= values.eq(value).fillna(False).astype(bool)
    return mask


# --------------------------------------------------------------------------- other formats
def _read_parquet(source: SourceSpec, needed: Sequence[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _existing(source)
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{_where(source)} is not a readable Parquet file: {exc}.") from exc
    _require_columns(source, needed, names)
    try:
        df = pd.read_parquet(path, columns=list(dict.fromkeys(needed)) or None)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{_where(source)} cannot be read: {exc}.") from exc
    if df.empty:
        raise DataError(f"{_where(source)} has no rows.")
    return df.reset_index(drop=True)


def _read_excel(source: SourceSpec, needed: Sequence[str]) -> pd.DataFrame:
    path = _existing(source)
    sheet = source.option("sheet", 0)
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheets = list(book.sheetnames)
        book.close()
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for bad files
        raise DataError(
            f"{_where(source)} is not a readable Excel workbook (.xlsx): {exc}."
        ) from exc
    if isinstance(sheet, str) and sheet not in sheets:
        raise DataError(
            f"{_where(source)} has no sheet {sheet!r}; its sheets are {_examples(sheets, 20)}. "
            "Set sheet: to one of them."
        )
    if isinstance(sheet, int) and not 0 <= sheet < len(sheets):
        raise DataError(
            f"{_where(source)} has {len(sheets)} sheet(s) ({_examples(sheets, 20)}); "
            f"sheet index {sheet} does not exist."
        )
    try:
        df = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{_where(source)} cannot be read: {exc}.") from exc
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{_where(source)}, sheet {sheet!r} has no data rows.")
    for col in df.columns:
        s = df[col]
        if s.dtype == object:
            stripped = s.map(lambda v: v.strip() if isinstance(v, str) else v)
            df[col] = stripped.mask(isin(stripped, NA_STRINGS))
    return df


_SQL_START = re.compile(r"^\s*(--[^\n]*\n\s*)*(select|with|from|values|pivot|unpivot)\b", re.I)


def sql_connection(
    base_dir: Path | None = None, *, threads: int | None = None, memory_limit: str | None = None
):
    """Return an in-memory DuckDB connection whose relative file paths start at ``base_dir``."""
    import duckdb

    config: dict[str, Any] = {}
    if threads:
        config["threads"] = int(threads)
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    con = duckdb.connect(":memory:", config=config)
    if base_dir is not None:
        con.execute("SET file_search_path = ?", [str(base_dir)])
    return con


def check_query(source: SourceSpec) -> str:
    """Return the source's SQL query if it is a single read-only statement."""
    query = str(source.option("query", "")).strip().rstrip(";").strip()
    if not _SQL_START.match(query) or ";" in _strip_sql_strings(query):
        raise DataError(
            f"The query of {source.label} must be one read-only statement starting with SELECT, "
            f"WITH or FROM (got {query[:60]!r}). The toolkit never writes files."
        )
    return query


def _strip_sql_strings(query: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", query)


def _read_sql(source: SourceSpec, needed: Sequence[str], base_dir: Path | None) -> pd.DataFrame:
    import duckdb

    query = check_query(source)
    con = sql_connection(base_dir)
    try:
        rel = con.sql(query)
        _require_columns(source, needed, rel.columns)
        df = rel.df()
    except duckdb.Error as exc:
        raise DataError(
            f"The SQL query of {source.label} failed: {str(exc).splitlines()[0]}. Paths in the "
            "query are relative to the config file's folder."
        ) from exc
    finally:
        con.close()
    if df.empty:
        raise DataError(f"The SQL query of {source.label} returned no rows.")
    return df


def _existing(source: SourceSpec) -> Path:
    path = source.path
    if path is None or not path.exists():
        raise DataError(
            f"{path} (source {source.name!r}) does not exist. Paths in a data spec are relative "
            "to the config file's folder; check the spelling and the folder."
        )
    if path.stat().st_size == 0:
        raise DataError(f"{_where(source)} is empty (0 bytes).")
    return path


def _require_columns(source: SourceSpec, needed: Iterable[str], available: Sequence[str]) -> None:
    import difflib

    avail = [str(a) for a in available]
    for col in needed:
        if col not in avail:
            close = difflib.get_close_matches(col, avail, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            what = "id column" if col == source.id else "column"
            raise SpecError(
                f"{_where(source, col)}: the spec names {what} {col!r}, which is not in the file."
                f"{hint} The file's columns are: {_examples(avail, 40)}."
            )


def read_frame(source: SourceSpec, needed: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a source file as it is (CSV cells as text), keeping only ``needed`` columns.

    Parameters
    ----------
    source : SourceSpec
        The source to read.
    needed : sequence of str, optional
        Columns to keep (default: :attr:`SourceSpec.used_columns`); a missing one raises
        :class:`~toolkit.errors.SpecError` listing the file's columns.

    Returns
    -------
    DataFrame
        Row order as in the file; with ``row_id`` an id column holding the row number.
    """
    needed = list(dict.fromkeys(source.used_columns if needed is None else needed))
    if source.format == "csv":
        df = _read_csv(source, needed)
    elif source.format == "parquet":
        df = _read_parquet(source, needed)
    elif source.format == "excel":
        df = _read_excel(source, needed)
    elif source.format == "sql":
        base = source.base_dir or (source.path.parent if source.path is not None else None)
        df = _read_sql(source, needed, base)
    else:  # pragma: no cover - the spec validates formats
        raise SpecError(f"{source.label}: unknown format {source.format!r}.")
    _require_columns(source, needed, list(df.columns))
    return df.loc[:, needed].reset_index(drop=True) if needed else df


# --------------------------------------------------------------------------- typing
def ids_as_text(values: pd.Series) -> pd.Series:
    """Return ids as text: integers and integral floats without ``.0``, strings stripped.

    Examples
    --------
    >>> ids_as_text(pd.Series([123.0, 7, "00123 "])).tolist()
    ['123', '7', '00123']
    """

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, bool | np.bool_):
            return str(v)
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, int | np.integer):
            return str(int(v))
        text = str(v).strip()
        return text or None

    if _is_text_dtype(values):
        text = values.str.strip()
        return text.mask(text == "").astype("str")
    if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
        return values.astype("int64").astype(str).astype("str")
    return values.map(one).astype("str")


def _na_mask(values: pd.Series, na_values: Iterable[Any]) -> pd.Series:
    tokens = {str(v).strip() for v in na_values}
    if not tokens:
        return pd.Series(False, index=values.index)
    return isin(_text_of(values), tokens)


def _text_of(values: pd.Series) -> pd.Series:
    """Values as stripped text (integral floats without ``.0``), vectorised where possible."""
    dtype = values.dtype
    if _is_text_dtype(values):
        return values
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("str")
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype("Int64").astype("str")
    if pd.api.types.is_float_dtype(dtype):
        whole = values.notna() & (values % 1 == 0) & (values.abs() < 2**53)
        text = values.astype("str")
        ints = values.where(whole, 0).astype("int64").astype("str")
        return ints.where(whole, text).where(values.notna())
    return values.map(lambda v: None if _missing(v) else _num_text(v)).astype("str")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _num_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def to_numbers(
    values: pd.Series,
    *,
    decimal: str | None = None,
    thousands: str | None = None,
    where: str = "column",
    strict: bool = True,
    counts: pd.Series | None = None,
) -> pd.Series | None:
    """Convert text to numbers, sniffing a decimal comma; return None if not numbers (lenient).

    Parameters
    ----------
    values : Series
        Text, numbers or a mix (Excel).
    decimal, thousands : str, optional
        Declared decimal and thousands separators.
    where : str
        ``file (column)`` for messages.
    strict : bool
        Raise when values are not numbers (declared numeric columns); otherwise return None
        unless the column is mostly numbers (then raise, naming the odd values).
    counts : Series, optional
        Rows per value when ``values`` are the distinct values of a column (for the shares).

    Raises
    ------
    DataError
        Numbers with thousands separators that are not declared, ambiguous commas, or (strict)
        values that are not numbers.

    Examples
    --------
    >>> to_numbers(pd.Series(["1,5", "2,25", None])).tolist()
    [1.5, 2.25, nan]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    present = values.dropna()
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype="float64")
    is_num = _is_number(present)
    text = present.astype(str).str.strip().str.replace("\u00a0", " ").str.replace("\u202f", " ")
    plain = text.str.fullmatch(_PLAIN_NUMBER.pattern) | is_num
    result = text.where(~is_num, present.astype(object).astype(str))
    if decimal == "," or thousands is not None:
        tsep = thousands if thousands is not None else "."
        dsep = decimal if decimal is not None else ("," if tsep == "." else ".")
        grouped = text.str.fullmatch(
            rf"[+-]?\d{{1,3}}({re.escape(tsep)}\d{{3}})+({re.escape(dsep)}\d+)?"
        )
        plain_dec = text.str.fullmatch(rf"[+-]?(\d+{re.escape(dsep)}?\d*|{re.escape(dsep)}\d+)")
        ok = grouped | plain_dec | is_num
        cleaned = text.where(~grouped, text.str.replace(tsep, "", regex=False))
        if dsep != ".":
            cleaned = cleaned.str.replace(dsep, ".", regex=False)
        result = cleaned.where(~is_num, result)
    else:
        comma_dec = text.str.fullmatch(_COMMA_DECIMAL.pattern)
        grouped = pd.Series(False, index=text.index)
        for sep, pattern in _GROUPED.items():
            hit = text.str.fullmatch(pattern.pattern)
            if sep == "." and hit.any():
                hit = hit & ~plain  # "1.234" alone is an ordinary decimal
            grouped |= hit
        ambiguous = text.str.fullmatch(r"[+-]?\d{1,3},\d{3}")  # 1,234: decimal or thousands?
        sure_comma = comma_dec & ~ambiguous
        sure_grouped = grouped & ~ambiguous
        numberish = plain | comma_dec | grouped
        if sure_grouped.any() and _share(numberish, counts) >= 0.95:
            bad = text[sure_grouped]
            raise DataError(
                f"{where} holds numbers stored as text with thousands separators "
                f"({_examples(bad)}; {_rows(bad.index)}). Declare the separator in the source's "
                "read options (thousands: ',' or thousands: '.') so they are read as numbers."
            )
        if comma_dec.any() and (plain | comma_dec).all():
            if not sure_comma.any():
                raise DataError(
                    f"{where}: values such as {_examples(text[comma_dec])} could be decimal "
                    "commas (1,234 = 1.234) or thousands separators (1,234 = 1234). Declare "
                    "decimal: ',' or thousands: ',' in the source's read options."
                )
            result = text.str.replace(",", ".", regex=False)
            ok = pd.Series(True, index=text.index)
        else:
            ok = plain
    if not ok.all():
        bad = present[~ok]
        if strict or _share(ok, counts) >= 0.95:
            raise DataError(
                f"{where} should hold numbers, but {len(bad)} value(s) are not: "
                f"{_examples(bad)} ({_rows(bad.index)}). Fix them, list them under na_values "
                "if they mean 'missing', or declare type: categorical."
            )
        return None
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    out.loc[present.index] = pd.to_numeric(result, errors="coerce").astype("float64")
    return out


def _share(mask: pd.Series, counts: pd.Series | None) -> float:
    """Share of rows where ``mask`` holds (weighted by ``counts`` of distinct values)."""
    if counts is None:
        return float(mask.mean())
    w = counts.reindex(mask.index).fillna(1).to_numpy(dtype=float)
    return float((mask.to_numpy(dtype=bool) * w).sum() / w.sum())


def parse_dates(
    values: pd.Series,
    *,
    date_format: str | None = None,
    where: str = "column",
    excel: bool = False,
) -> pd.Series:
    """Parse a column of dates, refusing to guess between day-first and month-first.

    Parameters
    ----------
    values : Series
        Text, datetimes or (Excel) serial numbers.
    date_format : str, optional
        ``strftime`` format such as ``%d-%m-%Y``; required when the values alone cannot tell
        day-first from month-first.
    where : str
        ``file (column)`` for messages.
    excel : bool
        Numbers are Excel serial dates (days since 1899-12-30).

    Raises
    ------
    DataError
        Unparseable values, or day-first and month-first dates mixed in one column.

    Examples
    --------
    >>> parse_dates(pd.Series(["13/01/2024", "02/03/2024"])).dt.month.tolist()
    [1, 3]
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    present = values.dropna()
    out_index = values.index
    if present.empty:
        return pd.Series(pd.NaT, index=out_index, dtype="datetime64[us]")
    numeric = _is_number(present)
    if _is_text_dtype(present):
        is_dt = pd.Series(False, index=present.index)
    else:
        is_dt = present.map(
            lambda v: isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "year")
        )
    if (numeric | is_dt).all() and numeric.any() and date_format is None:
        nums = pd.to_numeric(present[numeric])
        lo, hi = _EXCEL_SERIAL_RANGE
        if excel and nums.between(lo, hi).all():
            parsed = pd.Series(pd.NaT, index=present.index, dtype="datetime64[us]")
            parsed[numeric] = pd.to_datetime(nums, unit="D", origin="1899-12-30").astype(
                "datetime64[us]"
            )
            if is_dt.any():
                parsed[is_dt & ~numeric] = pd.to_datetime(present[is_dt & ~numeric]).astype(
                    "datetime64[us]"
                )
            return parsed.reindex(out_index)
        raise DataError(
            f"{where} holds numbers ({_examples(present[numeric])}) where dates are expected. "
            "Declare date_format (e.g. '%Y%m%d' for 19970101) or store the dates as text."
        )
    if _is_text_dtype(present):
        text = present
    else:
        text = present.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else _num_text(v))
    if date_format:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        bad = text[parsed.isna()]
        if len(bad):
            raise DataError(
                f"{where}: {len(bad)} value(s) do not match date_format {date_format!r}: "
                f"{_examples(bad)} ({_rows(bad.index)}). Fix them or correct date_format."
            )
        return _finish_dates(parsed, out_index)
    iso = text.str.fullmatch(_ISO_DATE.pattern)
    dmy = text.str.extract(_DMY.pattern)
    is_dmy = dmy[0].notna()
    if iso.all():
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=_has_tz(text))
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{where}: ISO dates mix values with and without a time zone "
                f"({_examples(text)}). Export all of them in one form."
            ) from exc
        bad = text[parsed.isna()]
        if len(bad):
            raise DataError(
                f"{where}: {len(bad)} value(s) are not valid dates: {_examples(bad)} "
                f"({_rows(bad.index)}). Expected ISO dates such as 2024-05-31."
            )
        return _finish_dates(parsed, out_index)
    if is_dmy.all():
        first = dmy[0].astype(int)
        second = dmy[2].astype(int)
        day_first = first > 12
        month_first = second > 12
        if day_first.any() and month_first.any():
            raise DataError(
                f"{where} mixes day-first and month-first dates: {_examples(text[day_first], 3)} "
                f"can only be day/month/year, {_examples(text[month_first], 3)} only "
                f"month/day/year ({_rows(text[month_first].index)}). pandas would read them "
                "differently row by row. Declare date_format (e.g. '%d/%m/%Y') and fix the rows "
                "that do not match."
            )
        if not (day_first.any() or month_first.any()):
            raise DataError(
                f"{where}: dates such as {_examples(text, 3)} could be day/month or month/day "
                "and no value tells which. Declare date_format (e.g. '%d/%m/%Y' or '%m/%d/%Y')."
            )
        sep = dmy[1].iloc[0]
        year = "%Y" if dmy[3].str.len().eq(4).all() else "%y"
        fmt = f"%d{sep}%m{sep}{year}" if day_first.any() else f"%m{sep}%d{sep}{year}"
        if dmy[4].notna().any():
            parsed = pd.to_datetime(
                text, dayfirst=bool(day_first.any()), errors="coerce", format="mixed"
            )
        else:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        bad = text[parsed.isna()]
        if len(bad):
            raise DataError(
                f"{where}: {len(bad)} value(s) are not valid {fmt!r} dates: {_examples(bad)} "
                f"({_rows(bad.index)})."
            )
        return _finish_dates(parsed, out_index)
    if (iso | is_dmy).any() and (iso | is_dmy).mean() >= 0.5:
        odd = text[~iso] if iso.sum() >= is_dmy.sum() else text[~is_dmy]
        raise DataError(
            f"{where} mixes date formats: {_examples(text[iso], 2)} and "
            f"{_examples(odd, 3)} ({_rows(odd.index)}). Export one format or declare "
            "date_format and fix the rows that do not match."
        )
    try:
        parsed = pd.to_datetime(text, errors="raise", utc=_has_tz(text))
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"{where} holds values that are not dates in one consistent format "
            f"({_examples(text)}). Declare date_format (e.g. '%d.%m.%Y %H:%M'). "
            f"Parser said: {str(exc).splitlines()[0]}"
        ) from exc
    return _finish_dates(parsed, out_index)


def _has_tz(text: pd.Series) -> bool:
    return bool(text.str.contains(r"(?:Z|UTC|[+-]\d{2}:?\d{2})$", regex=True).any())


def _finish_dates(parsed: pd.Series, index: pd.Index) -> pd.Series:
    parsed = pd.to_datetime(parsed)
    unit = (
        "datetime64[us, UTC]" if getattr(parsed.dt, "tz", None) is not None else "datetime64[us]"
    )
    return parsed.astype(unit).reindex(index)


def _binary(values: pd.Series, positive: str | None, where: str) -> pd.Series | None:
    present = values.dropna()
    if present.empty:
        return None
    text = _text_of(present).str.lower()
    levels = set(text.unique().tolist())
    if positive is not None:
        pos = str(positive).lower()
        if pos not in levels or len(levels) > 2:
            raise DataError(
                f"{where} is declared binary with positive {positive!r} but holds "
                f"{_examples(sorted(levels))}. Expected {positive!r} and one other value."
            )
        mapped = (text == pos).astype("int64")
    else:
        pairs = [("1", "0"), ("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f")]
        if not any(levels <= {a, b} for a, b in pairs):
            return None
        mapped = isin(text, _TRUE).astype("int64")
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    out.loc[present.index] = mapped.astype("float64")
    return out if out.isna().any() else out.astype("int64")


def _as_text(values: pd.Series) -> pd.Series:
    return _text_of(values).astype("str")


def _is_text_dtype(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values.dtype) and values.dtype != object


def _is_number(values: pd.Series) -> pd.Series:
    """Element-wise: is the value a number (not text, not bool)?"""
    if _is_text_dtype(values):
        return pd.Series(False, index=values.index)
    return values.map(lambda v: isinstance(v, int | float | np.number) and not isinstance(v, bool))


def _type_column(values: pd.Series, col: ColumnSpec, source: SourceSpec) -> pd.Series:
    """Return one column typed by its spec (and its values), or raise a clear DataError.

    Distinct values are typed once and broadcast back to the rows; when that raises, the
    column is typed row by row again so the message names the offending rows.
    """
    where = _where(source, col.name)
    na = list(source.option("na_values", []) or []) + list(col.na_values or [])
    if na:
        values = values.mask(_na_mask(values, na))
    if values.isna().all():
        raise DataError(
            f"{where} is entirely empty (all {len(values):,} values missing). Set its role to "
            "ignore, or fix the export."
        )
    if values.dtype == object or len(values) < 1000:
        return _type_values(values, col, source)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) > 0.5 * len(values):
        return _type_values(values, col, source)
    distinct = pd.Series(uniques, dtype=values.dtype)
    counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)))
    try:
        typed = _type_values(distinct, col, source, counts=counts)
    except DataError:
        return _type_values(values, col, source)  # raises again, naming rows
    out = typed.take(np.where(codes >= 0, codes, 0)).reset_index(drop=True)
    out.index = values.index
    if (codes < 0).any():
        if pd.api.types.is_integer_dtype(out.dtype):
            out = out.astype("float64")
        out = out.mask(pd.Series(codes < 0, index=values.index))
    return out


def _type_values(
    values: pd.Series, col: ColumnSpec, source: SourceSpec, counts: pd.Series | None = None
) -> pd.Series:
    where = _where(source, col.name)
    decimal = source.option("decimal")
    thousands = source.option("thousands")
    ctype = col.type
    excel = source.format == "excel"
    if col.role == "text" or ctype == "text":
        return _as_text(values)
    if ctype == "date":
        return parse_dates(
            values,
            date_format=col.date_format or source.option("date_format"),
            where=where,
            excel=excel,
        )
    if col.scale is not None or col.role == "opinion" or ctype == "numeric":
        nums = to_numbers(values, decimal=decimal, thousands=thousands, where=where)
        if col.scale is not None:
            lo, hi = col.scale
            outside = nums[(nums < lo) | (nums > hi)]
            if len(outside):
                raise DataError(
                    f"{where} holds {len(outside)} rating(s) outside its declared scale "
                    f"[{lo:g}, {hi:g}]: {_examples(values[outside.index])} "
                    f"({_rows(outside.index)}). Fix the values, list them under na_values if "
                    "they mean 'no answer', or correct the scale."
                )
        return _int_if_whole(nums)
    if ctype == "binary":
        out = _binary(values, col.positive, where)
        if out is None:
            raise DataError(
                f"{where} is declared binary but holds {_examples(values.dropna().unique())}. "
                "Expected two values such as yes/no, true/false or 0/1; set positive: to the "
                "value that means 1."
            )
        return out
    if col.order is not None:
        text = _as_text(values)
        unknown = text.dropna()[~isin(text.dropna(), col.order)]
        if len(unknown):
            raise DataError(
                f"{where} holds level(s) not in its declared order {list(col.order)}: "
                f"{_examples(unknown)} ({_rows(unknown.index)}). Add them to 'order' or list "
                "them under na_values."
            )
        return text
    if ctype == "categorical":
        return _as_text(values)
    # inferred: binary, numbers, dates, otherwise categorical
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("int64")
    binary = _binary(values, None, where)
    if binary is not None and not pd.api.types.is_numeric_dtype(values.dtype):
        return binary
    nums = to_numbers(
        values, decimal=decimal, thousands=thousands, where=where, strict=False, counts=counts
    )
    if nums is not None:
        return _int_if_whole(nums)
    text = _text_of(values.dropna())
    if (text.str.fullmatch(_ISO_DATE.pattern) | text.str.fullmatch(_DMY.pattern)).all():
        return parse_dates(
            values,
            date_format=col.date_format or source.option("date_format"),
            where=where,
            excel=excel,
        )
    return _as_text(values)


def _int_if_whole(nums: pd.Series) -> pd.Series:
    if nums.notna().all() and np.all(np.mod(nums.to_numpy(), 1) == 0) and nums.abs().max() < 2**53:
        return nums.astype("int64")
    return nums


def column_kind(values: pd.Series, col: ColumnSpec | None = None) -> str:
    """Return the catalogue kind of a typed column: numeric, categorical, ordinal, binary, text
    or datetime.

    Examples
    --------
    >>> column_kind(pd.Series([0, 1, 1]))
    'binary'
    """
    if col is not None:
        if col.role == "text" or col.type == "text":
            return "text"
        if col.role == "opinion" or col.order is not None or col.type == "ordinal":
            return "ordinal"
        if col.type == "binary":
            return "binary"
        if col.type == "categorical":
            return "categorical"
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values.dtype):
        present = values.dropna()
        if col is not None and col.type == "numeric":
            return "numeric"
        if len(present) and set(np.unique(present.to_numpy())) <= {0, 1}:
            return "binary"
        return "numeric"
    return "categorical"


def read_source(source: SourceSpec) -> pd.DataFrame:
    """Read a ``table`` or ``orders`` source and type its columns as the spec says.

    A table source returns its id column (text, renamed to nothing: the file's name is kept)
    and every declared column that is not ``pii`` or ``ignore``, renamed to
    :attr:`ColumnSpec.out_name`. An orders source returns its id, timestamp, amount, category
    and order id columns. Row order is the file's.

    Raises
    ------
    DataError
        File missing, empty, undecodable, wrong delimiter, values that break the spec.
    SpecError
        A column the spec names is not in the file (the message lists the file's columns).
    """
    df = read_frame(source)
    if source.row_id:
        width = len(str(len(df)))
        ids = pd.Series([str(i).zfill(width) for i in range(1, len(df) + 1)], dtype="str")
        df.insert(0, "__row_id__", ids)
        id_col = "__row_id__"
    else:
        id_col = source.id
        df[id_col] = ids_as_text(df[id_col])
    out = {id_col: df[id_col]}
    if source.kind == "table":
        for col in source.columns:
            if col.role in ("id", "pii", "ignore"):
                continue
            out[col.out_name] = _type_column(df[col.name], col, source)
    else:
        fmt = source.option("date_format")
        out[source.timestamp] = parse_dates(
            df[source.timestamp],
            date_format=fmt,
            where=_where(source, source.timestamp),
            excel=source.format == "excel",
        )
        if source.amount is not None:
            out[source.amount] = to_numbers(
                df[source.amount],
                decimal=source.option("decimal"),
                thousands=source.option("thousands"),
                where=_where(source, source.amount),
            )
        for key in (source.category, source.order_id, source.event_type, source.device):
            if key is not None and key not in out:
                out[key] = _as_text(df[key])
    return pd.DataFrame(out)
