"""Bad input: every case raises a toolkit error (or warns) naming the file and the column.

Each test starts from a small valid shop (users, survey, events, orders), breaks one thing and
loads it with :func:`toolkit.load.load_audience`, so the whole path is exercised and no raw
pandas, DuckDB or pyarrow exception can escape.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError, DataWarning, SpecError, ToolkitError
from toolkit.load import OTHER, load_audience

N = 12
IDS = [f"{i:05d}" for i in range(1, N + 1)]


def spec_dict():
    return {
        "id": "user_id",
        "timezone": "Europe/Berlin",
        "sources": {
            "users": {
                "path": "users.csv",
                "columns": {
                    "user_id": "id",
                    "email": "pii",
                    "age": "demographic",
                    "city": "demographic",
                    "income": "demographic",
                },
            },
            "survey": {
                "path": "survey.csv",
                "columns": {
                    "user_id": "id",
                    "trust": {"role": "opinion", "scale": [1, 5]},
                    "comment": "text",
                },
            },
            "events": {
                "path": "events.parquet",
                "kind": "events",
                "timestamp": "timestamp",
                "event_type": "event_type",
                "funnel": ["visit", "product_view", "purchase"],
                "category": "category",
                "device": "device",
            },
            "orders": {
                "path": "orders.csv",
                "kind": "orders",
                "timestamp": "ordered_at",
                "amount": "amount",
                "category": "category",
                "order_id": "order_id",
            },
        },
    }


def users_frame():
    return pd.DataFrame(
        {
            "user_id": IDS,
            "email": [f"u{i}@example.com" for i in range(N)],
            "age": [20 + 3 * i for i in range(N)],
            "city": ["Köln", "Ulm", "Bonn"] * (N // 3),
            "income": [1200 + 100 * i for i in range(N)],
        }
    )


def write_shop(folder):
    users_frame().to_csv(folder / "users.csv", index=False)
    pd.DataFrame({"user_id": IDS[::2], "trust": [1, 2, 3, 4, 5, 3], "comment": ["ok"] * 6}).to_csv(
        folder / "survey.csv", index=False
    )
    ts = pd.date_range("2026-06-01 08:00", periods=3 * N, freq="37min", tz="UTC")
    pd.DataFrame(
        {
            "user_id": [IDS[i % N] for i in range(3 * N)],
            "timestamp": ts,
            "event_type": ["visit", "product_view", "purchase"] * N,
            "category": ["home", "kids"] * (3 * N // 2),
            "device": "mobile",
        }
    ).to_parquet(folder / "events.parquet")
    pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(N)],
            "user_id": IDS,
            "ordered_at": [f"2026-06-{1 + i:02d}T10:00:00Z" for i in range(N)],
            "amount": [10.5 + i for i in range(N)],
            "category": ["home"] * N,
        }
    ).to_csv(folder / "orders.csv", index=False)


@pytest.fixture
def shop(tmp_path):
    write_shop(tmp_path)
    return tmp_path


def load(folder, spec=None):
    from toolkit.spec import DataSpec

    return load_audience(DataSpec.from_dict(spec or spec_dict(), folder))


def error_of(folder, spec=None, kind=ToolkitError) -> str:
    with pytest.raises(kind) as err:
        load(folder, spec)
    return str(err.value)


def test_the_valid_shop_loads(shop):
    audience = load(shop)
    assert audience.table["user_id"].tolist() == IDS
    assert "email" not in audience.table


class TestFiles:
    def test_file_missing(self, shop):
        (shop / "survey.csv").unlink()
        msg = error_of(shop, kind=DataError)
        assert "survey.csv" in msg and "'survey'" in msg and "does not exist" in msg

    def test_empty_file(self, shop):
        (shop / "users.csv").write_bytes(b"")
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "empty" in msg

    def test_header_without_rows(self, shop):
        (shop / "users.csv").write_text("user_id,email,age,city,income\n")
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "no data rows" in msg and "'age'" in msg

    def test_unreadable_encoding(self, shop):
        # 0x81 is undefined in Windows-1252 and invalid in UTF-8
        (shop / "users.csv").write_bytes(
            b"user_id,email,age,city,income\n00001,a@x.org,30,K\x81ln,1200\n"
        )
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "column 'city'" in msg and "line 2" in msg
        assert "0x81" in msg and "encoding" in msg

    def test_binary_file(self, shop):
        (shop / "users.csv").write_bytes("user_id,age\n1,41\n".encode("utf-16-le"))
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "does not look like text" in msg

    def test_wrong_delimiter(self, shop):
        users_frame().to_csv(shop / "users.csv", index=False, sep=";")
        spec = spec_dict()
        spec["sources"]["users"]["sep"] = ","
        msg = error_of(shop, spec, kind=DataError)
        assert "users.csv" in msg and "found one column 'user_id;email;age;city;income'" in msg
        assert "looks ';'-separated" in msg

    def test_excel_sheet_missing(self, shop):
        with pd.ExcelWriter(shop / "users.xlsx") as xl:
            users_frame().to_excel(xl, sheet_name="Customers", index=False)
        spec = spec_dict()
        spec["sources"]["users"].update(path="users.xlsx", sheet="customers")
        msg = error_of(shop, spec, kind=DataError)
        assert "users.xlsx" in msg and "no sheet 'customers'" in msg and "'Customers'" in msg

    def test_not_a_parquet_file(self, shop):
        (shop / "events.parquet").write_text("user_id,timestamp\n1,2026-01-01\n")
        msg = error_of(shop, kind=DataError)
        assert "events.parquet" in msg


class TestIds:
    def test_id_column_missing(self, shop):
        users_frame().rename(columns={"user_id": "customer_id"}).to_csv(
            shop / "users.csv", index=False
        )
        msg = error_of(shop, kind=SpecError)
        assert "users.csv" in msg and "id column 'user_id'" in msg and "'customer_id'" in msg

    def test_duplicate_ids_in_a_user_table(self, shop):
        df = users_frame()
        df.loc[5, "user_id"] = df.loc[2, "user_id"]
        df.to_csv(shop / "users.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "'user_id'" in msg and "'00003'" in msg
        assert "more than once" in msg and "rows 3, 6" in msg

    def test_ids_stored_as_numbers_elsewhere_are_matched(self, shop):
        pd.DataFrame(
            {"user_id": [1, 3, 5], "trust": [5, 4, 1], "comment": ["a", "b", "c"]}
        ).to_parquet(shop / "survey.parquet")
        spec = spec_dict()
        spec["sources"]["survey"]["path"] = "survey.parquet"
        with pytest.warns(DataWarning) as record:
            audience = load(shop, spec)
        msg = " ".join(str(w.message) for w in record)
        assert "survey.parquet" in msg and "users.csv" in msg and "leading zeros" in msg
        assert "'user_id'" in msg
        trust = audience.table.set_index("user_id")["trust"]
        assert trust[["00001", "00003", "00005"]].tolist() == [5, 4, 1]
        assert len(audience.table) == N  # no phantom users "1", "3", "5"

    def test_no_overlap_between_sources(self, shop):
        survey = pd.read_csv(shop / "survey.csv", dtype=str)
        survey["user_id"] = ["A" + i for i in survey["user_id"]]
        survey.to_csv(shop / "survey.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "survey.csv" in msg and "users.csv" in msg and "share no ids" in msg
        assert "column 'user_id'" in msg


class TestValues:
    def test_unparseable_timestamps(self, shop):
        orders = pd.read_csv(shop / "orders.csv", dtype=str)
        orders.loc[3, "ordered_at"] = "2026-13-45T10:00:00Z"
        orders.to_csv(shop / "orders.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "orders.csv" in msg and "'ordered_at'" in msg and "2026-13-45" in msg

    def test_ratings_outside_their_scale(self, shop):
        survey = pd.read_csv(shop / "survey.csv", dtype=str)
        survey.loc[[1, 4], "trust"] = ["7", "0"]
        survey.to_csv(shop / "survey.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "survey.csv" in msg and "'trust'" in msg and "[1, 5]" in msg
        assert "'7'" in msg and "'0'" in msg and "rows 2, 5" in msg

    def test_ratings_that_are_not_numbers(self, shop):
        survey = pd.read_csv(shop / "survey.csv", dtype=str)
        survey.loc[2, "trust"] = "very high"
        survey.to_csv(shop / "survey.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "survey.csv" in msg and "'trust'" in msg and "'very high'" in msg

    def test_entirely_empty_column(self, shop):
        users_frame().assign(income=np.nan).to_csv(shop / "users.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "'income'" in msg and "entirely empty" in msg

    def test_constant_column_warns_and_is_not_usable(self, shop):
        users_frame().assign(city="Köln").to_csv(shop / "users.csv", index=False)
        with pytest.warns(DataWarning, match=r"users\.csv \(column 'city'\) is constant"):
            audience = load(shop)
        assert not audience.columns.loc["city", "usable"]
        assert "city" not in audience.columns_with_role("demographic")
        assert "city" in audience.columns_with_role("demographic", usable_only=False)

    def test_thousands_of_levels_are_grouped(self, tmp_path):
        n = 3000
        rng = np.random.default_rng(0)
        pd.DataFrame(
            {
                "user_id": [f"{i:05d}" for i in range(n)],
                "postcode": [f"{p:05d}" for p in rng.zipf(1.3, n) % 50000],
                "age": rng.integers(18, 80, n),
            }
        ).to_csv(tmp_path / "users.csv", index=False)
        spec = {
            "max_levels": 20,
            "sources": {
                "users": {
                    "path": "users.csv",
                    "columns": {
                        "user_id": "id",
                        "postcode": {"role": "demographic", "type": "categorical"},
                        "age": "demographic",
                    },
                }
            },
        }
        with pytest.warns(
            DataWarning, match=r"users\.csv \(column 'postcode'\) has [\d,]+ levels"
        ):
            audience = load(tmp_path, spec)
        levels = audience.table["postcode"]
        assert levels.nunique() == 20 and OTHER in set(levels)
        assert "grouped" in audience.columns.loc["postcode", "note"]
        assert audience.columns.loc["postcode", "usable"]

    def test_numbers_with_thousands_separators(self, shop):
        df = users_frame()
        df["income"] = [f"{12000 + 1000 * i:,}" for i in range(N)]
        df.to_csv(shop / "users.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "users.csv" in msg and "'income'" in msg and "thousands separators" in msg
        assert "'12,000'" in msg
        spec = spec_dict()
        spec["sources"]["users"]["thousands"] = ","
        assert load(shop, spec).table["income"].iloc[0] == 12000

    def test_mixed_day_first_and_month_first_dates(self, shop):
        df = users_frame()
        df["signup"] = ["13/01/2024", "01/14/2024"] + ["02/03/2024"] * (N - 2)
        df.to_csv(shop / "users.csv", index=False)
        spec = spec_dict()
        spec["sources"]["users"]["columns"]["signup"] = {"role": "behaviour", "type": "date"}
        msg = error_of(shop, spec, kind=DataError)
        assert "users.csv" in msg and "'signup'" in msg and "day-first and month-first" in msg

    def test_amounts_that_are_not_numbers(self, shop):
        orders = pd.read_csv(shop / "orders.csv", dtype=str)
        orders.loc[0, "amount"] = "ten euro"
        orders.to_csv(shop / "orders.csv", index=False)
        msg = error_of(shop, kind=DataError)
        assert "orders.csv" in msg and "'amount'" in msg and "'ten euro'" in msg

    def test_event_log_without_the_id_column(self, shop):
        pd.read_parquet(shop / "events.parquet").rename(columns={"user_id": "uid"}).to_parquet(
            shop / "events.parquet"
        )
        msg = error_of(shop, kind=SpecError)
        assert "events.parquet" in msg and "'user_id'" in msg and "'uid'" in msg


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: (d / "users.csv").write_bytes(b"\x00\x01\x02garbage"),
        lambda d: (d / "users.csv").write_text('user_id,age\n"unclosed,41\n'),
        lambda d: (d / "events.parquet").write_bytes(b"PAR1 broken"),
        lambda d: (d / "orders.csv").write_text("order_id,user_id\nO1,00001\n"),
        lambda d: (d / "survey.csv").write_text("user_id,trust,comment\n,,\n"),
    ],
)
def test_no_raw_tracebacks(shop, breakage):
    breakage(shop)
    with pytest.raises(ToolkitError):
        load(shop, copy.deepcopy(spec_dict()))
