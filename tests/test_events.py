"""Event logs and orders to user features: DuckDB against a plain pandas reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError, DataWarning, SpecError
from toolkit.events import PARTS_OF_DAY, event_features, order_features
from toolkit.spec import DataSpec

FUNNEL = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]
TZ = "Europe/Berlin"


# --------------------------------------------------------------------------- a small log
def make_log(
    rng: np.random.Generator, n_users: int = 80, start: str = "2026-03-20"
) -> pd.DataFrame:
    """Sessions with funnel depth, ties, gaps of exactly 30 minutes, a DST change (2026-03-29
    with the default start), non-funnel events, missing categories and devices, users without
    product views."""
    start = pd.Timestamp(start, tz="UTC")
    cats = ["fashion", "home", "kids", "Sale & Outlet"]
    devices = ["mobile", "desktop", "tablet"]
    rows = []
    for u in range(n_users):
        uid = f"{u + 1:05d}"
        t = start + pd.Timedelta(seconds=int(rng.integers(0, 20 * 86400)))
        for _ in range(int(rng.integers(1, 6))):
            depth = int(rng.choice(5, p=[0.1, 0.4, 0.2, 0.15, 0.15]))
            device = devices[int(rng.integers(0, 3))]
            steps = ["visit"] + ["product_view"] * int(rng.integers(0, 4)) + FUNNEL[2 : depth + 1]
            if depth >= 1 and "product_view" not in steps:
                steps.insert(1, "product_view")
            if rng.random() < 0.2:
                steps.insert(1, "search")
            for step in steps:
                cat = cats[int(rng.integers(0, 4))] if step != "visit" else None
                dev = device if rng.random() > 0.05 else None
                rows.append((uid, t, step, cat, dev))
                t += pd.Timedelta(seconds=int(rng.choice([0, 5, 40, 300, 1799, 1800])))
            t += pd.Timedelta(
                seconds=int(rng.choice([1800, 1801, 3600, 86400, 5 * 86400, 9 * 3600]))
            )
    # a user with only non-funnel events and no category; a user with one event
    rows.append(("99998", start + pd.Timedelta(days=3), "search", None, "mobile"))
    rows.append(("99998", start + pd.Timedelta(days=3, minutes=10), "search", None, "mobile"))
    rows.append(("99999", pd.Timestamp("2026-03-29 00:59:59", tz="UTC"), "visit", None, None))
    log = pd.DataFrame(rows, columns=["user_id", "timestamp", "event_type", "category", "device"])
    log["timestamp"] = log["timestamp"].astype("datetime64[us, UTC]")
    return log.sample(frac=1.0, random_state=1).reset_index(drop=True)  # unsorted on disk


def slug(text: str) -> str:
    import re

    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def reference_features(
    log: pd.DataFrame,
    *,
    tz: str = TZ,
    gap_minutes: float = 30,
    funnel=FUNNEL,
    end: pd.Timestamp | None = None,
    devices=None,
    cats=None,
) -> pd.DataFrame:
    """Plain pandas, one user at a time: the definition the SQL must match.

    ``end`` (the log's end), ``devices`` and ``cats`` default to those of ``log``; pass the
    full log's when ``log`` holds a subset of users."""
    end = log["timestamp"].max() if end is None else end
    devices = sorted(log["device"].dropna().unique()) if devices is None else devices
    cats = sorted(log["category"].dropna().unique()) if cats is None else cats
    last = len(funnel) - 1
    out = []
    ordered = log.sort_values(["user_id", "timestamp"], kind="stable")
    for uid, g in ordered.groupby("user_id", sort=True):
        ts = g["timestamp"]
        sid = (ts.diff() > pd.Timedelta(minutes=gap_minutes)).cumsum().to_numpy()
        sessions = int(sid.max()) + 1
        local = ts.dt.tz_convert(tz)
        hours = local.dt.hour
        row = {
            "user_id": uid,
            "events": len(g),
            "sessions": sessions,
            "active_days": local.dt.date.nunique(),
            "events_per_session": len(g) / sessions,
            "recency_days": (end - ts.max()).total_seconds() / 86400,
            "tenure_days": (ts.max() - ts.min()).total_seconds() / 86400,
        }
        for name, (lo, hi) in PARTS_OF_DAY.items():
            row[f"share_{name}"] = float(((hours >= lo) & (hours < hi)).mean())
        row["share_weekend"] = float((local.dt.day_of_week >= 5).mean())
        dev = g["device"].dropna()
        for d in devices:
            row[f"share_device_{slug(d)}"] = float((dev == d).mean()) if len(dev) else np.nan
        views = g[(g["event_type"] == "product_view") & g["category"].notna()]
        basis = views if len(views) else g[g["category"].notna()]
        for c in cats:
            row[f"share_cat_{slug(c)}"] = (
                float((basis["category"] == c).mean()) if len(basis) else np.nan
            )
        step = g["event_type"].map({s: i for i, s in enumerate(funnel)})
        per_session = pd.Series(step.to_numpy()).groupby(sid).max()
        furthest = step.max()
        for k, s in enumerate(funnel[1:], start=1):
            row[f"reached_{s}"] = int(pd.notna(furthest) and furthest >= k)
        row["furthest_step"] = funnel[int(furthest)] if pd.notna(furthest) else np.nan
        open_sessions = per_session[per_session.notna() & (per_session < last)]
        if open_sessions.empty:
            row["dropout_step"] = "none"
        else:
            counts = open_sessions.value_counts()
            best = max(k for k, c in counts.items() if c == counts.max())
            row["dropout_step"] = funnel[int(best)]
        row["conversion_rate"] = float((per_session == last).sum() / sessions)
        row["purchased"] = int(pd.notna(furthest) and furthest == last)
        out.append(row)
    ref = pd.DataFrame(out)
    ref["user_id"] = ref["user_id"].astype("str")
    for col in ("furthest_step", "dropout_step"):
        ref[col] = ref[col].astype("str")
    return ref


def events_spec(folder, *, tz=TZ, gap=30, fmt="parquet", **extra) -> DataSpec:
    source = {
        "path": f"events.{fmt}",
        "kind": "events",
        "timestamp": "timestamp",
        "event_type": "event_type",
        "funnel": FUNNEL,
        "category": "category",
        "device": "device",
        **extra,
    }
    return DataSpec.from_dict(
        {
            "id": "user_id",
            "timezone": tz,
            "session_gap_minutes": gap,
            "sources": {"events": source},
        },
        folder,
    )


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_log(np.random.default_rng(7))


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory, log):
    folder = tmp_path_factory.mktemp("events")
    log.to_parquet(folder / "events.parquet", index=False)
    return folder


# --------------------------------------------------------------------------- tests
class TestEventFeatures:
    @pytest.mark.parametrize("gap", [30, 10, 240])
    def test_matches_pandas_reference(self, log, log_dir, gap):
        got = event_features(events_spec(log_dir, gap=gap).events, events_spec(log_dir, gap=gap))
        ref = reference_features(log, gap_minutes=gap)
        assert list(got.table.columns) == list(ref.columns)
        pd.testing.assert_frame_equal(got.table, ref, check_exact=False, rtol=1e-12, atol=1e-12)
        assert got.rows == len(log)

    @pytest.mark.parametrize(
        ("tz", "gap", "start"),
        [
            ("Europe/Berlin", 7, "2026-10-15"),  # clocks go back on 2026-10-25
            ("Asia/Kathmandu", 45, "2026-03-20"),  # UTC+5:45
            ("America/St_Johns", 30, "2026-10-20"),  # UTC-2:30, back to -3:30 on 2026-11-01
            ("UTC", 0.5, "2026-03-20"),
        ],
    )
    def test_matches_pandas_reference_in_other_zones(self, tmp_path, tz, gap, start):
        log = make_log(np.random.default_rng(11), n_users=60, start=start)
        log.to_parquet(tmp_path / "events.parquet", index=False)
        spec = events_spec(tmp_path, tz=tz, gap=gap)
        got = event_features(spec.events, spec)
        ref = reference_features(log, tz=tz, gap_minutes=gap)
        pd.testing.assert_frame_equal(got.table, ref, check_exact=False, rtol=1e-12, atol=1e-12)

    def test_feature_names_and_roles(self, log_dir):
        spec = events_spec(log_dir)
        feats = event_features(spec.events, spec)
        cat = feats.columns
        assert cat.loc["share_evening", "role"] == "behaviour"
        assert cat.loc["share_cat_sale_outlet", "label"] == "Share of Sale & Outlet views"
        assert cat.loc["reached_checkout", ["role", "kind"]].tolist() == ["outcome", "binary"]
        assert cat.loc["furthest_step", "order"] == FUNNEL
        assert cat.loc["dropout_step", "kind"] == "categorical"
        assert cat.loc["conversion_rate", "role"] == "outcome"
        expected = {
            "events",
            "sessions",
            "active_days",
            "events_per_session",
            "recency_days",
            "tenure_days",
            "share_morning",
            "share_afternoon",
            "share_evening",
            "share_night",
            "share_weekend",
            "reached_product_view",
            "reached_add_to_cart",
            "reached_checkout",
            "reached_purchase",
            "furthest_step",
            "dropout_step",
            "conversion_rate",
            "purchased",
        }
        assert expected <= set(cat.index)
        assert list(cat.index) == list(feats.table.columns[1:])

    def test_edge_users(self, log_dir):
        spec = events_spec(log_dir)
        t = event_features(spec.events, spec).table.set_index("user_id")
        only_search = t.loc["99998"]
        assert only_search["events"] == 2 and only_search["sessions"] == 1
        assert only_search["reached_product_view"] == 0
        assert pd.isna(only_search["furthest_step"])
        assert np.isnan(only_search["share_cat_fashion"])  # no category at all
        single = t.loc["99999"]  # 00:59:59 UTC = 01:59:59 CET, just before the DST change
        assert single["share_night"] == 1.0 and single["dropout_step"] == "visit"
        assert single["tenure_days"] == 0.0

    def test_time_zone_changes_part_of_day_weekend_and_days(self, tmp_path):
        log = pd.DataFrame(
            {
                "user_id": ["1", "1"],
                # Friday 17:30 and 23:30 UTC = Friday 19:30 and Saturday 01:30 in Berlin (CEST)
                "timestamp": pd.to_datetime(["2026-06-05 17:30", "2026-06-05 23:30"], utc=True),
                "event_type": ["visit", "visit"],
                "category": ["home", "home"],
                "device": ["mobile", "mobile"],
            }
        )
        log.to_parquet(tmp_path / "events.parquet")
        berlin = event_features(events_spec(tmp_path).events, events_spec(tmp_path)).table
        utc_spec = events_spec(tmp_path, tz="UTC")
        utc = event_features(utc_spec.events, utc_spec).table
        assert berlin.loc[0, ["share_evening", "share_night", "share_weekend"]].tolist() == [
            0.5,
            0.5,
            0.5,
        ]
        assert berlin.loc[0, "active_days"] == 2
        assert utc.loc[0, ["share_afternoon", "share_evening", "share_weekend"]].tolist() == [
            0.5,
            0.5,
            0.0,
        ]
        assert utc.loc[0, "active_days"] == 1
        assert berlin.loc[0, "sessions"] == 2  # 6 hours apart

    def test_csv_log_and_naive_local_times_give_the_same_features(self, log, log_dir, tmp_path):
        spec = events_spec(log_dir)
        expected = event_features(spec.events, spec).table
        csv = log.copy()
        csv["timestamp"] = csv["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        csv.to_csv(tmp_path / "events.csv", index=False, sep=";")
        csv_spec = events_spec(tmp_path, fmt="csv")
        pd.testing.assert_frame_equal(event_features(csv_spec.events, csv_spec).table, expected)
        naive = log.copy()
        naive["timestamp"] = naive["timestamp"].dt.tz_convert(TZ).dt.tz_localize(None)
        naive.to_parquet(tmp_path / "events.parquet")
        naive_spec = events_spec(tmp_path)
        pd.testing.assert_frame_equal(
            event_features(naive_spec.events, naive_spec).table, expected
        )

    def test_many_categories_are_grouped_into_other(self, tmp_path):
        n = 40
        log = pd.DataFrame(
            {
                "user_id": [f"{i % 7}" for i in range(n)],
                "timestamp": pd.date_range("2026-06-01", periods=n, freq="h", tz="UTC"),
                "event_type": "product_view",
                "category": [f"page{i:02d}" for i in range(n)],
                "device": "mobile",
            }
        )
        log.to_parquet(tmp_path / "events.parquet")
        spec = DataSpec.from_dict(
            {
                "max_levels": 5,
                "sources": {
                    "events": {
                        "path": "events.parquet",
                        "kind": "events",
                        "timestamp": "timestamp",
                        "event_type": "event_type",
                        "category": "category",
                        "category_event": "product_view",
                    }
                },
            },
            tmp_path,
        )
        with pytest.warns(DataWarning, match="category"):
            table = event_features(spec.events, spec).table
        shares = [c for c in table.columns if c.startswith("share_cat_")]
        assert len(shares) == 5 and shares[-1] == "share_cat_other"
        np.testing.assert_allclose(table[shares].sum(axis=1), 1.0)

    def test_feature_roles_override_and_unknown_feature(self, log_dir):
        spec = events_spec(log_dir, feature_roles={"conversion_rate": "behaviour"})
        assert event_features(spec.events, spec).columns.loc["conversion_rate", "role"] == (
            "behaviour"
        )
        bad = events_spec(log_dir, feature_roles={"conversions": "behaviour"})
        with pytest.raises(SpecError, match="conversions"):
            event_features(bad.events, bad)

    def test_unparseable_timestamps_name_file_column_and_values(self, tmp_path):
        pd.DataFrame(
            {
                "user_id": ["1", "2", "3"],
                "timestamp": ["2026-06-01T10:00:00Z", "yesterday", "31.06.2026 10:00"],
                "event_type": ["visit"] * 3,
                "category": ["home"] * 3,
                "device": ["mobile"] * 3,
            }
        ).to_parquet(tmp_path / "events.parquet")
        spec = events_spec(tmp_path)
        with pytest.raises(DataError) as err:
            event_features(spec.events, spec)
        msg = str(err.value)
        assert "events.parquet" in msg and "'timestamp'" in msg and "yesterday" in msg

    def test_funnel_steps_absent_from_the_log(self, tmp_path, log):
        log.assign(event_type="click").to_parquet(tmp_path / "events.parquet")
        spec = events_spec(tmp_path)
        with pytest.raises(DataError, match="none of the funnel steps"):
            event_features(spec.events, spec)


# --------------------------------------------------------------------------- orders
def reference_orders(orders: pd.DataFrame) -> pd.DataFrame:
    end = orders["ordered_at"].max()
    out = []
    for uid, g in orders.groupby("user_id", sort=True):
        per_cat = g.groupby("category")["amount"].sum()
        fav = sorted(per_cat[per_cat == per_cat.max()].index)[0]
        n = g["order_id"].nunique()
        out.append(
            {
                "user_id": uid,
                "orders": n,
                "revenue": g["amount"].sum(),
                "avg_order_value": g["amount"].sum() / n,
                "days_since_last_order": (end - g["ordered_at"].max()).total_seconds() / 86400,
                "favourite_category": fav,
            }
        )
    ref = pd.DataFrame(out)
    ref["user_id"] = ref["user_id"].astype("str")
    ref["favourite_category"] = ref["favourite_category"].astype("str")
    return ref


class TestOrderFeatures:
    @pytest.fixture
    def orders(self, rng):
        n = 300
        orders = pd.DataFrame(
            {
                "order_id": [f"O{i // 2:04d}" for i in range(n)],  # two lines per order
                "user_id": [f"{(i // 2) % 45:03d}" for i in range(n)],
                "ordered_at": pd.Timestamp("2026-06-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s"),
                "amount": rng.gamma(2.0, 30.0, n).round(2),
                "category": rng.choice(["home", "kids", "fashion"], n),
            }
        )
        orders["ordered_at"] = orders.groupby("order_id")["ordered_at"].transform("first")
        orders.loc[orders.index[:4], "amount"] = [10.0, 10.0, 10.0, 10.0]
        orders.loc[orders.index[:4], "category"] = ["kids", "home", "kids", "home"]  # a tie
        return orders

    @pytest.mark.parametrize("fmt", ["csv", "parquet"])
    def test_matches_pandas_reference(self, orders, tmp_path, fmt):
        if fmt == "csv":
            out = orders.assign(ordered_at=orders["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
            out.to_csv(tmp_path / "orders.csv", index=False)
        else:
            orders.to_parquet(tmp_path / "orders.parquet")
        spec = DataSpec.from_dict(
            {
                "sources": {
                    "orders": {
                        "path": f"orders.{fmt}",
                        "kind": "orders",
                        "timestamp": "ordered_at",
                        "amount": "amount",
                        "category": "category",
                        "order_id": "order_id",
                    }
                }
            },
            tmp_path,
        )
        got = order_features(spec.orders, spec)
        pd.testing.assert_frame_equal(got.table, reference_orders(orders), rtol=1e-12)
        assert got.columns.loc["favourite_category", "role"] == "behaviour"
        assert got.columns.loc["revenue", "role"] == "outcome"
        assert got.rows == len(orders)


class TestInternals:
    def test_offsets_find_the_dst_changes(self):
        from toolkit.events import _offsets

        first = int(pd.Timestamp("2026-03-01", tz="UTC").value // 1000)
        last = int(pd.Timestamp("2026-11-01", tz="UTC").value // 1000)
        got = _offsets(TZ, first, last)
        spring = int(pd.Timestamp("2026-03-29 01:00", tz="UTC").value // 1000)
        autumn = int(pd.Timestamp("2026-10-25 01:00", tz="UTC").value // 1000)
        hour = 3_600_000_000
        assert [o for _, o in got] == [hour, 2 * hour, hour]
        assert [s for s, _ in got[1:]] == [spring, autumn]

    @pytest.mark.parametrize("path", ["icu", "text_ids"])
    def test_fallback_paths_give_the_same_features(self, log, log_dir, monkeypatch, path):
        import toolkit.events as ev

        spec = events_spec(log_dir)
        expected = event_features(spec.events, spec).table
        if path == "icu":  # no offset table: DuckDB's time zone conversion
            monkeypatch.setattr(ev, "_offsets", lambda *a, **k: None)
        else:  # as after a hash collision: partition by the text id
            original = ev._events_sql
            monkeypatch.setattr(
                ev, "_events_sql", lambda *a, **k: original(*a, **{**k, "partition": "uid"})
            )
        pd.testing.assert_frame_equal(event_features(spec.events, spec).table, expected)

    def test_log_without_funnel_device_or_category(self, log, tmp_path):
        log[["user_id", "timestamp"]].to_parquet(tmp_path / "events.parquet")
        spec = DataSpec.from_dict(
            {
                "timezone": TZ,
                "sources": {
                    "events": {
                        "path": "events.parquet",
                        "kind": "events",
                        "timestamp": "timestamp",
                    }
                },
            },
            tmp_path,
        )
        got = event_features(spec.events, spec).table
        ref = reference_features(log)[got.columns]
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12, atol=1e-12)
