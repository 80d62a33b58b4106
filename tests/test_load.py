"""load_audience: the combined user table, its catalogue, the join report, save/load.

:func:`check_audience` holds the checks every loaded audience must pass; the real-data tests
(``test_real_data.py``) run the same checks on each real dataset.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.test_bad_input import IDS, spec_dict, write_shop
from tests.test_events import reference_features
from toolkit.config import SAMPLE_DIR
from toolkit.load import CATALOGUE_FIELDS, Audience, load_audience
from toolkit.quality import quality_report, raw_associations
from toolkit.spec import DataSpec

KINDS = {"numeric", "categorical", "ordinal", "binary", "text", "datetime"}
TABLE_ROLES = {"demographic", "behaviour", "opinion", "text", "outcome"}


def check_audience(audience: Audience, tmp_path) -> None:
    """Checks shared by the sample and every real dataset."""
    table, cat, spec = audience.table, audience.columns, audience.spec
    # the id: first column, text, unique, complete
    assert table.columns[0] == spec.id == audience.id
    ids = table[spec.id]
    assert pd.api.types.is_string_dtype(ids.dtype) and ids.notna().all() and ids.is_unique
    # the catalogue describes every other column, nothing else
    assert list(cat.index) == list(table.columns[1:])
    assert list(cat.columns) == list(CATALOGUE_FIELDS)
    assert set(cat["role"]) <= TABLE_ROLES and set(cat["kind"]) <= KINDS
    assert cat["label"].map(lambda s: isinstance(s, str) and len(s) > 0).all()
    assert cat["usable"].map(lambda v: isinstance(v, bool | np.bool_)).all()
    # pii and ignored columns never enter the table
    for source in spec.tables:
        for col in source.columns:
            if col.role in ("pii", "ignore"):
                assert col.out_name not in table.columns
    # values agree with the catalogue
    for name, row in cat.iterrows():
        s = table[name].dropna()
        if row["kind"] == "binary":
            assert set(np.unique(s.to_numpy())) <= {0, 1}, name
        if not np.isnan(row["scale_min"]):
            assert s.between(row["scale_min"], row["scale_max"]).all(), name
        if row["order"] is not None and row["kind"] == "ordinal":
            assert set(s.astype(str)) <= set(map(str, row["order"])), name
        if row["kind"] in ("numeric", "binary"):
            assert pd.api.types.is_numeric_dtype(table[name].dtype), name
        if row["kind"] in ("categorical", "text"):
            assert pd.api.types.is_string_dtype(table[name].dtype), name
        if name.startswith("share_") or name == "conversion_rate":
            assert s.between(0, 1 + 1e-12).all(), name
        if name in ("events", "sessions", "orders", "active_days"):
            assert (table[name] >= 0).all(), name
    # join report: counts only, the combined row, no example ids anywhere rendered
    report = audience.join_report
    assert report["source"].tolist()[-1] == "combined"
    assert int(report["users"].iloc[-1]) == len(table)
    assert (report["users"].iloc[:-1] <= len(table)).all()
    rendered = report.to_string() + audience.describe()
    for examples in audience.join_examples.values():
        for value in examples:
            assert not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", rendered), value
    # save and load give the same audience
    run = tmp_path / "run"
    audience.save(run)
    assert sorted(p.name for p in run.iterdir()) == ["columns.json", "users.parquet"]
    again = Audience.load(run)
    pd.testing.assert_frame_equal(again.table, table)
    pd.testing.assert_frame_equal(again.columns, cat)
    pd.testing.assert_frame_equal(again.join_report, report)
    assert again.spec == spec
    # the explore notebook's tables can be computed
    quality = quality_report(audience)
    assert list(quality.index) == list(cat.index)
    assoc = raw_associations(audience, sample=500, random_state=0)
    assert assoc.shape[0] == assoc.shape[1] and np.allclose(np.diag(assoc), 1.0)
    np.testing.assert_allclose(assoc.to_numpy(), assoc.to_numpy().T, equal_nan=True)


def sample_spec(folder) -> DataSpec:
    return DataSpec.from_yaml(SAMPLE_DIR / "report.yaml", base_dir=folder)


@pytest.fixture(scope="module")
def small(small_sample_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return load_audience(sample_spec(small_sample_dir))


class TestSample:
    def test_passes_the_common_checks(self, small, tmp_path):
        check_audience(small, tmp_path)

    def test_shape_roles_and_join(self, small, small_sample_dir):
        users = pd.read_csv(small_sample_dir / "users.csv", dtype=str)
        assert small.table["user_id"].tolist() == users["user_id"].tolist()
        assert small.table["user_id"].str.fullmatch(r"\d{6}").all()
        assert {"first_name", "email", "city", "signup_date"}.isdisjoint(small.table.columns)
        assert small.columns_with_role("opinion") == ["satisfaction", "trust", "nps"]
        assert small.roles["comment"] == "text" and small.roles["share_evening"] == "behaviour"
        assert small.columns.loc["income_band", "order"] == ["low", "middle", "high"]
        report = small.join_report.set_index("source")
        survey = pd.read_csv(small_sample_dir / "survey.csv", dtype=str)
        assert report.loc["survey", "users"] == survey["user_id"].nunique()
        assert report.loc["survey", "missing"] == len(users) - survey["user_id"].nunique()

    def test_missing_opinions_stay_missing(self, small, small_sample_dir):
        survey = pd.read_csv(small_sample_dir / "survey.csv", dtype={"user_id": str})
        answered = small.table["user_id"].isin(survey["user_id"].tolist())
        assert small.table.loc[~answered, ["satisfaction", "trust", "nps"]].isna().all().all()
        assert small.table.loc[answered, "trust"].notna().all()
        assert any("never filled with zeros" in note for note in small.notes)

    def test_order_features_and_purchased(self, small, small_sample_dir):
        orders = pd.read_csv(small_sample_dir / "orders.csv", dtype={"user_id": str})
        t = small.table.set_index("user_id")
        counts = orders.groupby("user_id")["order_id"].nunique()
        assert t.loc[counts.index, "orders"].tolist() == counts.tolist()
        revenue = orders.groupby("user_id")["amount"].sum()
        np.testing.assert_allclose(t.loc[revenue.index, "revenue"], revenue, rtol=1e-12)
        without = ~t.index.isin(counts.index)
        assert (t.loc[without, "orders"] == 0).all() and (t.loc[without, "revenue"] == 0).all()
        assert t.loc[without, "avg_order_value"].isna().all()
        assert (t.loc[without, "favourite_category"] == "none").all()
        assert (t.loc[t["orders"] > 0, "purchased"] == 1).all()

    def test_behaviour_matches_the_pandas_reference(self, small, small_sample_dir):
        events = pd.read_parquet(small_sample_dir / "events.parquet")
        some = sorted(events["user_id"].unique())[::10]  # every 10th user keeps it fast
        ref = reference_features(
            events[events["user_id"].isin(some)],
            end=events["timestamp"].max(),
            devices=sorted(events["device"].unique()),
            cats=sorted(events["category"].unique()),
        ).drop(columns="purchased")  # purchased also counts orders in the joined table
        got = small.table.set_index("user_id").loc[some, ref.columns[1:]].reset_index()
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12, atol=1e-12)


class TestJoin:
    def test_outer_join_keeps_everyone_and_reports_counts_only(self, tmp_path):
        write_shop(tmp_path)
        survey = pd.read_csv(tmp_path / "survey.csv", dtype=str)
        extra = pd.DataFrame({"user_id": ["99990", "99991"], "trust": ["2", "3"], "comment": "x"})
        pd.concat([survey, extra]).to_csv(tmp_path / "survey.csv", index=False)
        events = pd.read_parquet(tmp_path / "events.parquet")
        events[events["user_id"] != IDS[0]].to_parquet(tmp_path / "events.parquet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audience = load_audience(DataSpec.from_dict(spec_dict(), tmp_path))
        t = audience.table.set_index("user_id")
        assert t.index.tolist() == [*IDS, "99990", "99991"]
        assert t.loc["99990", "trust"] == 2 and np.isnan(t.loc["99990", "age"])
        # users without events: 0 counts, missing shares
        assert t.loc[IDS[0], ["events", "sessions", "reached_purchase"]].tolist() == [0, 0, 0]
        assert np.isnan(t.loc[IDS[0], "share_evening"])
        assert pd.isna(t.loc[IDS[0], "furthest_step"])
        assert pd.api.types.is_integer_dtype(audience.table["events"].dtype)
        report = audience.join_report.set_index("source")
        assert report.loc["survey", "only_here"] == 2
        assert report.loc["users", "missing"] == 2
        assert audience.join_examples["survey"] == ["99990", "99991"]
        assert "99990" not in audience.describe() + report.to_string()
        check_audience(audience, tmp_path)

    def test_row_numbers_as_ids(self, tmp_path):
        pd.DataFrame({"age": [30, 40, 50], "y": ["yes", "no", "yes"]}).to_csv(
            tmp_path / "rows.csv", index=False
        )
        spec = {
            "id": "respondent",
            "sources": {
                "rows": {
                    "path": "rows.csv",
                    "row_id": True,
                    "columns": {"age": "demographic", "y": "outcome"},
                }
            },
        }
        audience = load_audience(DataSpec.from_dict(spec, tmp_path))
        assert audience.table["respondent"].tolist() == ["1", "2", "3"]
        assert audience.table["y"].tolist() == [1, 0, 1]
        assert audience.join_report.set_index("source").loc["rows", "id_column"] == (
            "(row number)"
        )

    def test_loading_never_writes(self, tmp_path):
        data = tmp_path / "data"
        data.mkdir()
        write_shop(data)
        for f in data.iterdir():
            f.chmod(0o444)
        before = {
            f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
            for f in data.iterdir()
        }
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load_audience(DataSpec.from_dict(spec_dict(), data))
        finally:
            os.chdir(cwd)
        after = {
            f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
            for f in data.iterdir()
        }
        assert after == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no DuckDB temp files
        for f in data.iterdir():
            f.chmod(0o644)

    def test_describe_mentions_sources_and_missing_values(self, small):
        text = small.describe()
        assert "1,500 users" in text and "`survey`" in text and "Missing values" in text


@pytest.mark.slow
def test_bundled_sample_loads_in_seconds(tmp_path):
    if not (SAMPLE_DIR / "events.parquet").is_file():
        pytest.skip("the bundled sample has not been generated")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audience = load_audience(SAMPLE_DIR / "report.yaml")
    elapsed = time.perf_counter() - start
    print(f"bundled sample: {len(audience.table):,} users loaded in {elapsed:.1f} s")
    assert len(audience.table) == 20_000
    check_audience(audience, tmp_path)


def test_copy_of_sample_spec_is_self_contained(tmp_path, small_sample_dir):
    """A folder of data with its spec can be moved anywhere (paths relative to the spec)."""
    for name in ("users.csv", "survey.csv", "events.parquet", "orders.csv"):
        shutil.copy(small_sample_dir / name, tmp_path / name)
    shutil.copy(SAMPLE_DIR / "report.yaml", tmp_path / "report.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audience = load_audience(tmp_path / "report.yaml")
    assert len(audience.table) == 1_500
