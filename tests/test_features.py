"""Tests for toolkit.features: role-aware preparation of the segmentation bases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from toolkit.errors import ConfigError, DataError, DataWarning
from toolkit.features import FeaturePreparer, column_specs


def _catalogue(rows: dict[str, dict]) -> pd.DataFrame:
    base = {"kind": None, "scale_min": np.nan, "scale_max": np.nan, "order": None}
    out = pd.DataFrame([{"column": c, **base, **r} for c, r in rows.items()])
    return out.set_index("column")


@pytest.fixture
def table(rng) -> pd.DataFrame:
    n = 400
    events = rng.negative_binomial(1, 0.05, n).astype(float)
    age = rng.normal(40, 10, n).round()
    age[:20] = np.nan
    city = rng.choice(["berlin", "hamburg", "munich"], n, p=[0.5, 0.3, 0.2]).astype(object)
    city[:3] = "tiny_town"  # rare level (< 2 %)
    trust = rng.integers(1, 6, n).astype(float)
    trust[rng.random(n) < 0.5] = np.nan
    return pd.DataFrame(
        {
            "user_id": [f"{i:06d}" for i in range(n)],
            "age": age,
            "city": pd.array(city, dtype="str"),
            "income_band": rng.choice(["low", "middle", "high"], n),
            "events": events,
            "share_evening": rng.beta(2, 5, n),
            "member": rng.integers(0, 2, n),
            "trust": trust,
            "comment": ["nice"] * n,
            "revenue": rng.gamma(1, 100, n),
        }
    )


@pytest.fixture
def catalogue() -> pd.DataFrame:
    return _catalogue(
        {
            "age": {"role": "demographic", "kind": "numeric"},
            "city": {"role": "demographic", "kind": "categorical"},
            "income_band": {
                "role": "demographic",
                "kind": "ordinal",
                "order": ["low", "middle", "high"],
            },
            "events": {"role": "behaviour", "kind": "numeric"},
            "share_evening": {"role": "behaviour", "kind": "numeric"},
            "member": {"role": "behaviour", "kind": "binary"},
            "trust": {"role": "opinion", "kind": "ordinal", "scale_min": 1, "scale_max": 5},
            "comment": {"role": "text", "kind": "text"},
            "revenue": {"role": "outcome", "kind": "numeric"},
        }
    )


def _variance_by_source(prep: FeaturePreparer, Z: pd.DataFrame) -> pd.Series:
    src = pd.Series(prep.feature_sources_)
    return Z.var(ddof=0).groupby(src).sum()


class TestFeaturePreparer:
    def test_bases_and_feature_names(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue).fit(table)
        assert prep.base_columns_ == [
            "age",
            "city",
            "income_band",
            "events",
            "share_evening",
            "member",
        ]
        assert prep.descriptor_columns_ == ["trust", "revenue"]  # text and id never used
        names = list(prep.get_feature_names_out())
        assert names == [
            "age",
            "age_missing",  # the only base with missing values gets the only flag
            "events",
            "share_evening",
            "member",
            "income_band",
            "city=berlin",
            "city=hamburg",
            "city=munich",
            "city=(rare)",
        ]
        Z = prep.transform(table)
        assert list(Z.columns) == names
        assert Z.index.equals(table.index)
        assert np.isfinite(Z.to_numpy()).all()

    def test_log_for_skewed_counts_only(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue).fit(table)
        assert "events" in prep.log_columns_
        assert "age" not in prep.log_columns_ and "member" not in prep.log_columns_

    def test_each_variable_has_equal_total_variance(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue)
        Z = prep.fit_transform(table)
        total = _variance_by_source(prep, Z)
        np.testing.assert_allclose(total.to_numpy(), 1.0, rtol=1e-6)
        # four one-hot columns of "city" together weigh as much as the single "events" column
        assert total["city"] == pytest.approx(total["events"])

    def test_role_balance_and_weights(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue, balance="role", weights={"behaviour": 4})
        Z = prep.fit_transform(table)
        roles = pd.Series({c: catalogue.loc[c, "role"] for c in prep.base_columns_})
        per_role = _variance_by_source(prep, Z).groupby(roles).sum()
        assert per_role["demographic"] == pytest.approx(1.0)
        assert per_role["behaviour"] == pytest.approx(4.0)

    def test_column_weight(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue, weights={"age": 9})
        total = _variance_by_source(prep, prep.fit_transform(table))
        assert total["age"] == pytest.approx(9.0)
        assert total["events"] == pytest.approx(1.0)

    def test_opinion_bases_scaled_to_unit_interval_with_flag(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue, bases=["opinion", "income_band"], balance="none")
        Z = prep.fit_transform(table)
        assert list(Z.columns) == ["income_band", "trust", "trust_missing"]
        observed = table["trust"].notna()
        np.testing.assert_allclose(
            Z.loc[observed, "trust"], (table.loc[observed, "trust"] - 1) / 4
        )
        assert Z.loc[~observed, "trust"].nunique() == 1  # imputed with the median
        np.testing.assert_array_equal(Z["trust_missing"], (~observed).astype(float))
        expected = table["income_band"].map({"low": 0.0, "middle": 0.5, "high": 1.0})
        np.testing.assert_allclose(Z["income_band"], expected)

    def test_unseen_levels_and_new_missing_values(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue).fit(table)
        new = table.head(3).copy()
        new["city"] = ["atlantis", "berlin", None]
        new["events"] = [np.nan, 1.0, 2.0]  # no flag was fitted for events
        Z = prep.transform(new)
        assert list(Z.columns) == list(prep.get_feature_names_out())
        assert Z.loc[0, "city=(rare)"] > 0 and Z.loc[1, "city=berlin"] > 0
        assert np.isfinite(Z.to_numpy()).all()

    def test_roles_dict_and_inferred_kinds(self, table):
        roles = {
            "user_id": "id",
            "age": "demographic",
            "city": "demographic",
            "events": "behaviour",
        }
        prep = FeaturePreparer(roles=roles).fit(table)
        assert prep.base_columns_ == ["age", "city", "events"]
        specs = column_specs(table, roles=roles)
        assert specs["city"]["kind"] == "categorical" and specs["events"]["kind"] == "numeric"

    def test_unusable_columns_are_skipped(self, table, catalogue):
        cat = catalogue.assign(usable=True)
        cat.loc["events", "usable"] = False
        assert "events" not in FeaturePreparer(columns=cat).fit(table).base_columns_

    def test_codes_for_kprototypes(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue, categorical="codes")
        Z = prep.fit_transform(table)
        assert [Z.columns[i] for i in prep.categorical_features_] == ["city"]
        assert set(Z["city"].unique()) <= {0.0, 1.0, 2.0, 3.0}

    def test_constant_column_dropped_with_warning(self, table, catalogue):
        df = table.assign(share_evening=0.25)
        with pytest.warns(DataWarning, match="share_evening"):
            prep = FeaturePreparer(columns=catalogue).fit(df)
        assert "share_evening" not in prep.get_feature_names_out()

    def test_deterministic(self, table, catalogue):
        a = FeaturePreparer(columns=catalogue).fit_transform(table)
        b = FeaturePreparer(columns=catalogue).fit(table).transform(table)
        pd.testing.assert_frame_equal(a, b)


class TestErrors:
    def test_unknown_base(self, table, catalogue):
        with pytest.raises(ConfigError, match="spending"):
            FeaturePreparer(columns=catalogue, bases=["spending"]).fit(table)

    def test_text_in_numeric_column(self, table, catalogue):
        bad = table.assign(events=table["events"].astype(str))
        bad.loc[5, "events"] = "lots"
        with pytest.raises(DataError, match=r"'events'.*lots"):
            FeaturePreparer(columns=catalogue).fit(bad)

    def test_missing_base_column_at_transform(self, table, catalogue):
        prep = FeaturePreparer(columns=catalogue).fit(table)
        with pytest.raises(DataError, match="age"):
            prep.transform(table.drop(columns="age"))

    def test_bad_balance(self, table, catalogue):
        with pytest.raises(ConfigError, match="balance"):
            FeaturePreparer(columns=catalogue, balance="equal").fit(table)

    def test_unknown_weight_key(self, table, catalogue):
        with pytest.raises(ConfigError, match="weights"):
            FeaturePreparer(columns=catalogue, weights={"behavior": 2}).fit(table)


# The sklearn contract on plain arrays. The preparer always returns a float64 DataFrame with
# feature names, which one array-only check does not expect.
_EXPECTED_FAILURES = {
    "check_transformer_preserve_dtypes": "returns a float64 DataFrame, not an array",
}


@parametrize_with_checks(
    [FeaturePreparer(min_level_share=0.0)],
    expected_failed_checks=lambda est: _EXPECTED_FAILURES,
)
def test_sklearn_contract(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        check(estimator)
