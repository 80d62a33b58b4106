"""Readers: CSV dialects and encodings, Parquet, Excel, SQL, ids as text, dates, numbers."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError, DataWarning, SpecError
from toolkit.readers import parse_dates, read_source, sniff_delimiter, to_numbers
from toolkit.spec import DataSpec


def source(folder, **src):
    src.setdefault("columns", {"user_id": "id", "age": "demographic"})
    return DataSpec.from_dict({"sources": {"users": src}}, folder).base


def write(folder, name, text, encoding="utf-8"):
    (folder / name).write_bytes(text.encode(encoding))
    return name


class TestCsv:
    def test_ids_stay_text(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,age\n00123,41\n123,35\n0042,20\n")
        df = read_source(source(tmp_path, path="u.csv"))
        assert df["user_id"].tolist() == ["00123", "123", "0042"]
        assert df["age"].tolist() == [41, 35, 20]

    @pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
    def test_delimiter_is_sniffed(self, tmp_path, sep):
        write(
            tmp_path, "u.csv", f"user_id{sep}age{sep}city\n1{sep}41{sep}Köln\n2{sep}35{sep}Ulm\n"
        )
        spec = source(tmp_path, path="u.csv", columns={"user_id": "id", "city": "demographic"})
        assert read_source(spec)["city"].tolist() == ["Köln", "Ulm"]

    def test_whitespace_separated(self, tmp_path):
        text = " customer_id  date number\n 00001 19970101  1\n 00002 19970112  5\n"
        write(tmp_path, "w.txt", text)
        cols = {"customer_id": "id", "number": "behaviour"}
        for sep in (None, "whitespace"):
            src = {"path": "w.txt", "columns": cols}
            if sep:
                src["sep"] = sep
            df = read_source(source(tmp_path, **src))
            assert df["customer_id"].tolist() == ["00001", "00002"]
            assert df["number"].tolist() == [1, 5]

    def test_utf8_bom(self, tmp_path):
        write(tmp_path, "u.csv", "\ufeffuser_id,age\n1,41\n")
        assert read_source(source(tmp_path, path="u.csv"))["user_id"].tolist() == ["1"]

    def test_utf16_with_bom(self, tmp_path):
        (tmp_path / "u.csv").write_bytes("user_id,age\n1,41\n".encode("utf-16"))
        assert read_source(source(tmp_path, path="u.csv"))["age"].tolist() == [41]

    def test_windows_1252_fallback_warns(self, tmp_path):
        write(tmp_path, "u.csv", "user_id;city\n1;Köln – Süd\n2;Düsseldorf\n", "cp1252")
        spec = source(tmp_path, path="u.csv", columns={"user_id": "id", "city": "demographic"})
        with pytest.warns(DataWarning, match=r"u\.csv.*Windows-1252"):
            df = read_source(spec)
        assert df["city"].tolist() == ["Köln – Süd", "Düsseldorf"]

    def test_declared_latin1_reads_silently(self, tmp_path):
        write(tmp_path, "u.csv", "user_id;city\n1;Köln\n", "latin-1")
        spec = source(
            tmp_path,
            path="u.csv",
            encoding="latin-1",
            columns={"user_id": "id", "city": "demographic"},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_source(spec)["city"].tolist() == ["Köln"]

    def test_gzip(self, tmp_path):
        (tmp_path / "u.csv.gz").write_bytes(gzip.compress(b"user_id;age\n7;70\n"))
        assert read_source(source(tmp_path, path="u.csv.gz"))["age"].tolist() == [70]

    def test_decimal_comma_is_sniffed(self, tmp_path):
        write(tmp_path, "u.csv", "user_id;age;score\n1;41;1,5\n2;35;12,25\n3;30;\n")
        cols = {"user_id": "id", "score": "behaviour"}
        df = read_source(source(tmp_path, path="u.csv", columns=cols))
        np.testing.assert_array_equal(df["score"].to_numpy(), [1.5, 12.25, np.nan])

    def test_declared_decimal_comma_with_dot_thousands(self, tmp_path):
        write(tmp_path, "u.csv", "user_id;income\n1;1.234,50\n2;980,00\n3;12.000\n")
        cols = {"user_id": "id", "income": "demographic"}
        df = read_source(source(tmp_path, path="u.csv", decimal=",", columns=cols))
        assert df["income"].tolist() == [1234.5, 980.0, 12000.0]

    def test_declared_thousands(self, tmp_path):
        write(tmp_path, "u.csv", 'user_id,income\n1,"1,234.50"\n2,"12,000"\n3,980\n')
        cols = {"user_id": "id", "income": "demographic"}
        df = read_source(source(tmp_path, path="u.csv", thousands=",", columns=cols))
        assert df["income"].tolist() == [1234.5, 12000.0, 980.0]

    def test_ambiguous_comma_asks_for_a_declaration(self, tmp_path):
        write(tmp_path, "u.csv", "user_id;income\n1;1,234\n2;2,500\n")
        cols = {"user_id": "id", "income": "demographic"}
        with pytest.raises(DataError, match=r"'income'.*decimal: ','.*thousands: ','"):
            read_source(source(tmp_path, path="u.csv", columns=cols))

    def test_missing_markers_and_na_values(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,pdays,job\n1,999,unknown\n2,3,admin\n3, ,NA\n")
        cols = {
            "user_id": "id",
            "pdays": {"role": "behaviour", "na_values": [999]},
            "job": {"role": "demographic", "na_values": ["unknown"]},
        }
        df = read_source(source(tmp_path, path="u.csv", columns=cols))
        assert df["pdays"].isna().tolist() == [True, False, True]
        assert df["job"].isna().tolist() == [True, False, True]

    def test_binary_values_become_0_1(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,churn,weekend,gender\n1,Yes,TRUE,f\n2,No,FALSE,m\n")
        cols = {
            "user_id": "id",
            "churn": "outcome",
            "weekend": "behaviour",
            "gender": {"role": "demographic", "type": "binary", "positive": "f"},
        }
        df = read_source(source(tmp_path, path="u.csv", columns=cols))
        assert df[["churn", "weekend", "gender"]].to_numpy().tolist() == [[1, 1, 1], [0, 0, 0]]

    def test_mostly_numbers_with_odd_values(self, tmp_path):
        rows = "".join(f"{i},{20 + i % 50}\n" for i in range(100))
        write(tmp_path, "u.csv", "user_id,age\n" + rows + "100,n.a.\n")
        with pytest.raises(DataError, match=r"'age'.*'n\.a\.'.*row 101"):
            read_source(source(tmp_path, path="u.csv"))

    def test_ordinal_levels_outside_order(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,band\n1,low\n2,medium\n")
        cols = {"user_id": "id", "band": {"role": "demographic", "order": ["low", "high"]}}
        with pytest.raises(DataError, match=r"'band'.*'medium'"):
            read_source(source(tmp_path, path="u.csv", columns=cols))

    def test_missing_column_lists_the_files_columns(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,Age\n1,41\n")
        with pytest.raises(SpecError) as err:
            read_source(source(tmp_path, path="u.csv"))
        msg = str(err.value)
        assert "u.csv" in msg and "'age'" in msg and "Did you mean 'Age'" in msg


class TestOtherFormats:
    def test_parquet_with_integer_ids(self, tmp_path):
        pd.DataFrame({"user_id": [123, 7], "age": [41, 35]}).to_parquet(tmp_path / "u.parquet")
        df = read_source(source(tmp_path, path="u.parquet"))
        assert df["user_id"].tolist() == ["123", "7"]

    def test_excel_sheet_serial_dates_and_float_ids(self, tmp_path):
        path = tmp_path / "crm.xlsx"
        with pd.ExcelWriter(path) as xl:
            pd.DataFrame({"x": [1]}).to_excel(xl, sheet_name="notes", index=False)
            pd.DataFrame(
                {"user_id": [123.0, 124.0], "age": [41, 35], "signup": [45000, 45292.5]}
            ).to_excel(xl, sheet_name="customers", index=False)
        cols = {
            "user_id": "id",
            "age": "demographic",
            "signup": {"role": "behaviour", "type": "date"},
        }
        df = read_source(source(tmp_path, path="crm.xlsx", sheet="customers", columns=cols))
        assert df["user_id"].tolist() == ["123", "124"]
        assert df["signup"].tolist() == [
            pd.Timestamp("2023-03-15"),
            pd.Timestamp("2024-01-01 12:00"),
        ]

    def test_sql_query_over_files(self, tmp_path):
        write(tmp_path, "u.csv", "user_id,age\n00123,41\n00124,17\n")
        spec = source(
            tmp_path,
            query="SELECT user_id, age FROM read_csv('u.csv', all_varchar=true) "
            "WHERE age::INT > 18",
        )
        df = read_source(spec)
        assert df["user_id"].tolist() == ["00123"] and df["age"].tolist() == [41]

    @pytest.mark.parametrize(
        "query", ["COPY (SELECT 1) TO 'x.csv'", "SELECT 1; DROP TABLE t", "DELETE FROM t"]
    )
    def test_sql_must_be_one_read_only_statement(self, tmp_path, query):
        with pytest.raises(DataError, match="one read-only statement"):
            read_source(source(tmp_path, query=query))

    def test_sql_error_is_wrapped(self, tmp_path):
        with pytest.raises(DataError, match=r"SQL query of source 'users'.*failed"):
            read_source(source(tmp_path, query="SELECT * FROM 'missing.parquet'"))


class TestDates:
    def test_iso(self):
        got = parse_dates(pd.Series(["2024-05-31", None, "2024-01-02"]))
        assert got.tolist()[0] == pd.Timestamp("2024-05-31") and pd.isna(got[1])

    def test_iso_with_zone_is_utc(self):
        got = parse_dates(pd.Series(["2026-06-01T10:00:00Z", "2026-06-01T12:00:00+02:00"]))
        assert str(got.dt.tz) == "UTC" and got[0] == got[1]

    def test_day_first_and_month_first_detected(self):
        day = parse_dates(pd.Series(["13/01/2024", "02/03/2024"]))
        month = parse_dates(pd.Series(["01/13/2024", "02/03/2024"]))
        assert day[1] == pd.Timestamp("2024-03-02") and month[1] == pd.Timestamp("2024-02-03")

    def test_mixed_day_and_month_first_is_an_error(self):
        with pytest.raises(DataError) as err:
            parse_dates(pd.Series(["13/01/2024", "01/14/2024", "02/03/2024"]), where="f (c)")
        msg = str(err.value)
        assert "mixes day-first and month-first" in msg and "13/01/2024" in msg
        assert "01/14/2024" in msg and "date_format" in msg

    def test_declared_format_decides(self):
        got = parse_dates(pd.Series(["01/02/2024", "03/04/2024"]), date_format="%d/%m/%Y")
        assert got.tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-04-03")]
        with pytest.raises(DataError, match="do not match date_format"):
            parse_dates(pd.Series(["01/13/2024"]), date_format="%d/%m/%Y")

    def test_ambiguous_without_format(self):
        with pytest.raises(DataError, match="could be day/month or month/day"):
            parse_dates(pd.Series(["01/02/2024", "03/04/2024"]))

    def test_dd_mm_yyyy_in_a_file(self, tmp_path):
        write(tmp_path, "c.csv", "ID\tDt_Customer\n1\t04-09-2012\n2\t21-08-2013\n")
        cols = {"ID": "id", "Dt_Customer": {"role": "behaviour", "type": "date"}}
        df = read_source(source(tmp_path, path="c.csv", columns=cols))
        assert df["Dt_Customer"].tolist() == [
            pd.Timestamp("2012-09-04"),
            pd.Timestamp("2013-08-21"),
        ]


class TestHelpers:
    def test_sniff(self):
        assert sniff_delimiter("a;b;c\n1,5;2;3\n4,5;5;6\n") == ";"
        assert sniff_delimiter('a,b\n"x, y",2\n') == ","
        assert sniff_delimiter("just one column\nvalue\n") is None

    def test_to_numbers_keeps_numbers(self):
        assert to_numbers(pd.Series([1, 2])).tolist() == [1.0, 2.0]
        assert to_numbers(pd.Series(["a", "b"]), strict=False) is None
