"""Tests of toolkit.correlation (profiles, tests, associations), toolkit.outcomes and the charts.

Synthetic audiences with planted differences; :func:`make_audience` is shared with the other
test modules of the correlation step.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.correlation import (
    PROFILE_COLUMNS,
    align_segments,
    association_matrix,
    benjamini_hochberg,
    column_catalogue,
    effect_thresholds,
    profile_segments,
    variable_tests,
    wilson_interval,
)
from toolkit.errors import DataError, DataWarning
from toolkit.outcomes import (
    OUTCOME_COLUMNS,
    engaged_not_converting,
    funnel_by_segment,
    opinion_distribution,
    outcomes_by_segment,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:Column\\(s\\) reached_product_view hold a single value:toolkit.errors.DataWarning"
)

STEPS = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]


def make_audience(
    n: int = 3000, seed: int = 0, planted: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A synthetic user table like the loader's, its column catalogue and segment labels 1..4.

    Planted (when ``planted``): segment 1 is young, evening, buys and is very satisfied;
    segment 2 visits often, reaches checkout, rarely buys and has low trust; 3 and 4 are
    average. Opinions are answered by about a third of the users.
    """
    rng = np.random.default_rng(seed)
    seg = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.25, 0.25, 0.2])
    s1, s2 = (seg == 1) & planted, (seg == 2) & planted
    age = np.where(s1, rng.normal(26, 3, n), rng.normal(45, 12, n)).clip(18, 80).round()
    female_p = np.where(s1 | s2, 0.8, 0.5)
    gender = np.where(rng.random(n) < female_p, "female", "male").astype(object)
    gender[rng.random(n) < 0.03] = "diverse"
    sessions = rng.poisson(np.where(s2, 16, 7)) + 1
    events = sessions * rng.poisson(5, n) + sessions
    share_evening = rng.beta(np.where(s1, 6, 2), 4)
    p_cart = np.where(s2, 0.95, 0.7)
    p_checkout = np.where(s2, 0.97, np.where(s1, 0.95, 0.75))
    p_buy = np.where(s2, 0.15, np.where(s1, 0.95, 0.7))
    cart = rng.random(n) < p_cart
    checkout = cart & (rng.random(n) < p_checkout)
    purchase = checkout & (rng.random(n) < p_buy)
    furthest = np.select(
        [purchase, checkout, cart], ["purchase", "checkout", "add_to_cart"], "product_view"
    )
    dropout = np.where(purchase, "none", furthest)
    orders = np.where(purchase, rng.poisson(2, n) + 1, 0)
    aov = np.where(orders > 0, rng.lognormal(np.log(60), 0.4, n), np.nan)
    revenue = np.where(orders > 0, orders * aov, 0.0)
    answered = rng.random(n) < 0.35
    sat_mu = np.where(s1, 4.5, np.where(s2, 3.0, 3.6))
    trust_mu = np.where(s2, 1.9, 3.9)
    satisfaction = np.where(answered, np.clip(np.round(rng.normal(sat_mu, 0.8)), 1, 5), np.nan)
    trust = np.where(answered, np.clip(np.round(rng.normal(trust_mu, 0.8)), 1, 5), np.nan)
    nps = np.where(answered, np.clip(np.round(rng.normal(sat_mu * 2, 2)), 0, 10), np.nan)
    income = rng.choice(["low", "middle", "high"], n)
    band = pd.cut(age, [0, 29, 39, 49, 120], labels=["18-29", "30-39", "40-49", "50+"])
    table = pd.DataFrame(
        {
            "user_id": [f"{i + 1:06d}" for i in range(n)],
            "age": age,
            "gender": gender,
            "income_band": income,
            "age_band": np.asarray(band, dtype=object),
            "city_size": rng.choice(["big city", "town", "rural"], n),
            "sessions": sessions,
            "events": events,
            "share_evening": share_evening,
            "share_cat_fashion": rng.beta(2, 5, n),
            "newsletter": rng.choice(["yes", "no"], n),
            "reached_product_view": np.ones(n, dtype=int),
            "reached_add_to_cart": cart.astype(int),
            "reached_checkout": checkout.astype(int),
            "reached_purchase": purchase.astype(int),
            "furthest_step": furthest,
            "dropout_step": dropout,
            "conversion_rate": np.where(purchase, rng.beta(3, 8, n), 0.0),
            "purchased": purchase.astype(int),
            "orders": orders,
            "revenue": revenue,
            "avg_order_value": aov,
            "satisfaction": satisfaction,
            "trust": trust,
            "nps": nps,
        }
    )
    rows = {
        "age": ("demographic", "numeric"),
        "gender": ("demographic", "categorical"),
        "income_band": ("demographic", "ordinal"),
        "age_band": ("demographic", "categorical"),
        "city_size": ("demographic", "categorical"),
        "sessions": ("behaviour", "numeric"),
        "events": ("behaviour", "numeric"),
        "share_evening": ("behaviour", "numeric"),
        "share_cat_fashion": ("behaviour", "numeric"),
        "newsletter": ("outcome", "binary"),
        "reached_product_view": ("outcome", "binary"),
        "reached_add_to_cart": ("outcome", "binary"),
        "reached_checkout": ("outcome", "binary"),
        "reached_purchase": ("outcome", "binary"),
        "furthest_step": ("outcome", "ordinal"),
        "dropout_step": ("outcome", "categorical"),
        "conversion_rate": ("outcome", "numeric"),
        "purchased": ("outcome", "binary"),
        "orders": ("outcome", "numeric"),
        "revenue": ("outcome", "numeric"),
        "avg_order_value": ("outcome", "numeric"),
        "satisfaction": ("opinion", "ordinal"),
        "trust": ("opinion", "ordinal"),
        "nps": ("opinion", "ordinal"),
    }
    labels = {
        "share_evening": "Share of evening activity (18-24h)",
        "share_cat_fashion": "Share of fashion views",
        "conversion_rate": "Share of sessions that convert",
        "nps": "NPS",
        "reached_checkout": "Reached checkout",
        "newsletter": "Newsletter 2024 subscriber",
    }
    cat = pd.DataFrame(
        [
            {
                "column": c,
                "role": r,
                "kind": k,
                "scale_min": {"satisfaction": 1, "trust": 1, "nps": 0}.get(c, np.nan),
                "scale_max": {"satisfaction": 5, "trust": 5, "nps": 10}.get(c, np.nan),
                "order": {"income_band": ["low", "middle", "high"], "furthest_step": STEPS}.get(c),
                "label": labels.get(c, c.replace("_", " ").capitalize()),
            }
            for c, (r, k) in rows.items()
        ]
    ).set_index("column")
    return table, cat, seg


@pytest.fixture(scope="module")
def audience():
    return make_audience()


@pytest.fixture(scope="module")
def profile(audience):
    table, cat, seg = audience
    with pytest.warns(DataWarning, match="reached_product_view"):  # constant, like the loader's
        return profile_segments(table, seg, cat, n_boot=300, random_state=0)


def _row(prof, segment, variable, level=""):
    rows = prof[(prof["segment"] == segment) & (prof["variable"] == variable)]
    return rows[rows["level"] == level].iloc[0]


# --------------------------------------------------------------------------------------------
class TestProfileSegments:
    def test_schema(self, profile):
        assert list(profile.columns) == PROFILE_COLUMNS
        assert profile["segment"].dtype == np.int64 and profile["n"].dtype == np.int64
        assert profile["is_base"].dtype == bool and profile["significant"].dtype == bool
        assert set(profile["kind"]) == {"numeric", "ordinal", "categorical", "binary"}
        assert set(profile["evidence"]) == {"test", "description"}
        assert set(profile["effect_name"]) == {"rank_biserial", "cohens_h"}
        assert not profile.duplicated(["segment", "variable", "level"]).any()
        numeric = profile[profile["kind"].isin(["numeric", "ordinal"])]
        assert (numeric["level"] == "").all() and numeric["median"].notna().all()
        shares = profile[profile["kind"].isin(["categorical", "binary"])]
        assert shares["median"].isna().all() and shares["value"].between(0, 1).all()
        assert (profile["ci_low"] <= profile["value"] + 1e-12).all()
        assert (profile["ci_high"] >= profile["value"] - 1e-12).all()
        ok = profile["overall"] > 0
        np.testing.assert_allclose(
            profile.loc[ok, "index"], 100 * profile.loc[ok, "value"] / profile.loc[ok, "overall"]
        )

    def test_levels_per_variable(self, profile):
        gender = profile[(profile["segment"] == 1) & (profile["variable"] == "gender")]
        assert list(gender["level"]) == ["female", "male", "diverse"]  # by frequency
        assert gender["value"].sum() == pytest.approx(1.0)
        binary = profile[(profile["variable"] == "purchased")]
        assert list(binary["level"].unique()) == [""]  # 0/1 columns: one row, level ""
        text_binary = profile[(profile["variable"] == "newsletter")]
        assert list(text_binary["level"].unique()) == ["yes"]

    def test_planted_differences_are_found(self, audience, profile):
        table, _, seg = audience
        trust = _row(profile, 2, "trust")
        assert trust["significant"] and trust["effect"] < -0.5 and trust["q"] < 1e-10
        assert trust["value"] == pytest.approx(table.loc[seg == 2, "trust"].mean())
        assert trust["n"] == table.loc[seg == 2, "trust"].notna().sum()
        assert trust["overall"] == pytest.approx(table["trust"].mean())
        purchased = _row(profile, 1, "purchased")
        assert purchased["significant"] and purchased["effect"] > 0.5
        assert purchased["value"] == pytest.approx(table.loc[seg == 1, "purchased"].mean())
        # a descriptor drawn independently of the segments is never a finding
        assert not profile.loc[profile["variable"] == "newsletter", "significant"].any()

    def test_bases_are_description_only(self, profile):
        bases = profile[profile["role"].isin(["demographic", "behaviour"])]
        assert bases["is_base"].all() and (bases["evidence"] == "description").all()
        assert not bases["significant"].any()
        sessions = _row(profile, 2, "sessions")
        assert sessions["q"] < 1e-10 and sessions["effect"] > 0.5  # large, yet not evidence
        others = profile[~profile["role"].isin(["demographic", "behaviour"])]
        assert not others["is_base"].any() and (others["evidence"] == "test").all()

    def test_explicit_bases(self, audience):
        table, cat, seg = audience
        prof = profile_segments(table, seg, cat, bases=["trust", "demographic"], n_boot=0)
        assert prof.loc[prof["variable"] == "trust", "is_base"].all()
        assert not prof.loc[prof["variable"] == "sessions", "is_base"].any()
        assert _row(prof, 2, "sessions")["significant"]
        with pytest.warns(DataWarning, match="nonsense"):
            profile_segments(table, seg, cat, bases=["nonsense"], n_boot=0)

    def test_mann_whitney_and_kruskal_match_scipy(self, audience, profile):
        table, _, seg = audience
        for var in ("trust", "revenue", "age"):
            x = table[var].to_numpy(dtype=float)
            ok = ~np.isnan(x)
            groups = [x[ok & (seg == g)] for g in (1, 2, 3, 4)]
            eps2 = stats.kruskal(*groups).statistic / (ok.sum() - 1)
            for g in (1, 3):
                res = stats.mannwhitneyu(x[ok & (seg == g)], x[ok & (seg != g)])
                n1, n2 = (ok & (seg == g)).sum(), (ok & (seg != g)).sum()
                row = _row(profile, g, var)
                assert row["p"] == pytest.approx(res.pvalue, rel=1e-6, abs=1e-300)
                assert row["effect"] == pytest.approx(2 * res.statistic / (n1 * n2) - 1)
                assert row["variable_effect"] == pytest.approx(eps2)

    def test_shares_tests_and_cramers_v(self, audience, profile):
        table, _, seg = audience
        ct = pd.crosstab(seg, table["gender"]).to_numpy()
        v = stats.contingency.association(ct, method="cramer")
        assert _row(profile, 1, "gender", "female")["variable_effect"] == pytest.approx(v)
        row = _row(profile, 2, "gender", "diverse")
        x1 = ((seg == 2) & (table["gender"] == "diverse")).sum()
        n1 = (seg == 2).sum()
        x2 = ((seg != 2) & (table["gender"] == "diverse")).sum()
        n2 = (seg != 2).sum()
        p1, p2 = x1 / n1, x2 / n2
        pooled = (x1 + x2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        assert row["p"] == pytest.approx(2 * stats.norm.sf(abs(z)))
        h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))
        assert row["effect"] == pytest.approx(h) and row["std_diff"] == pytest.approx(h)
        low, high = wilson_interval(x1, n1)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((float(low), float(high)))

    def test_variable_tests_match_scipy_and_gate_significance(self, audience, profile):
        table, _, seg = audience
        tests = variable_tests(profile)
        x = table["trust"]
        kw = stats.kruskal(*[x[(seg == g) & x.notna()] for g in (1, 2, 3, 4)])
        assert tests.loc["trust", "test"] == "kruskal_wallis"
        assert tests.loc["trust", "p"] == pytest.approx(kw.pvalue, rel=1e-6, abs=1e-300)
        chi = stats.chi2_contingency(pd.crosstab(seg, table["dropout_step"]), correction=False)
        assert tests.loc["dropout_step", "p"] == pytest.approx(chi.pvalue, rel=1e-6)
        assert tests.loc["dropout_step", "df"] == chi.dof
        # a row is significant only when its variable differs across segments
        sig = profile[profile["significant"]]
        assert (sig["variable"].map(tests["q"]) < 0.05).all()

    def test_fisher_for_small_counts(self):
        table = pd.DataFrame({"vip": [1] * 6 + [0] * 194})
        seg = np.r_[np.ones(5, int), np.full(195, 2)]
        prof = profile_segments(table, seg, n_boot=0)
        row = _row(prof, 1, "vip")
        expected = stats.fisher_exact([[5, 0], [1, 194]]).pvalue
        assert row["p"] == pytest.approx(expected)

    def test_benjamini_hochberg_over_whole_table(self, profile):
        for is_base in (False, True):
            part = profile[profile["is_base"] == is_base]
            ok = part["p"].notna()
            expected = stats.false_discovery_control(part.loc[ok, "p"].to_numpy())
            np.testing.assert_allclose(part.loc[ok, "q"], expected, rtol=1e-10)
        assert benjamini_hochberg([0.01, np.nan, 0.04])[1] != benjamini_hochberg([0.01])[0]

    def test_significance_needs_effect_size(self, audience):
        table, cat, seg = audience
        strict = profile_segments(table, seg, cat, min_effect=5.0, n_boot=0)
        assert not strict["significant"].any()
        thresholds = effect_thresholds(0.5)
        lenient = profile_segments(table, seg, cat, min_effect=0.5, alpha=0.05, n_boot=0)
        sig = lenient[lenient["significant"]]
        assert (sig["effect"].abs() >= sig["effect_name"].map(thresholds)).all()
        assert (sig["q"] < 0.05).all()

    def test_bootstrap_is_seeded_and_covers_the_mean(self, audience):
        table, cat, seg = audience
        kw = {"variables": ["revenue", "trust"], "n_boot": 400}
        a = profile_segments(table, seg, cat, random_state=1, **kw)
        b = profile_segments(table, seg, cat, random_state=1, **kw)
        c = profile_segments(table, seg, cat, random_state=2, **kw)
        pd.testing.assert_frame_equal(a, b)
        assert not np.allclose(a["ci_low"], c["ci_low"])
        # the interval is about +-1.96 standard errors of the mean
        rev = table.loc[seg == 3, "revenue"]
        se = rev.std() / np.sqrt(len(rev))
        row = _row(a, 3, "revenue")
        assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.2)

    def test_unsegmented_users_count_in_overall_only(self, audience):
        table, cat, seg = audience
        labels = seg.copy()
        labels[:300] = -1
        prof = profile_segments(table, labels, cat, variables=["age", "gender"], n_boot=0)
        assert set(prof["segment"]) == {1, 2, 3, 4}
        assert _row(prof, 1, "age")["overall"] == pytest.approx(table["age"].mean())
        assert _row(prof, 1, "age")["n"] == (labels == 1).sum()

    def test_segments_table_joined_on_id(self, audience):
        table, cat, seg = audience
        segments = pd.DataFrame({"user_id": table["user_id"], "segment": seg, "confidence": 1.0})
        shuffled = segments.sample(frac=1, random_state=3)
        np.testing.assert_array_equal(align_segments(table, shuffled), seg)
        partial = shuffled.iloc[:-10]
        assert (align_segments(table, partial) == -1).sum() == 10
        with pytest.raises(DataError, match="'segment' column"):
            align_segments(table, shuffled.drop(columns="segment"))
        with pytest.raises(DataError, match="segment labels for"):
            align_segments(table, seg[:-1])

    def test_inferred_catalogue(self):
        t = pd.DataFrame(
            {
                "id": [f"u{i}" for i in range(300)],
                "flag": [True, False, True] * 100,
                "churn": ["Yes", "No", "No"] * 100,
                "plan": ["a", "b", "c"] * 100,
                "spend": np.arange(300.0),
                "when": pd.date_range("2024-01-01", periods=300),
            }
        )
        cat = column_catalogue(t)
        assert cat.loc["flag", "kind"] == "binary" and cat.loc["churn", "kind"] == "binary"
        assert cat.loc["id", "role"] == "ignore" and cat.loc["when", "role"] == "ignore"
        prof = profile_segments(t, np.repeat([1, 2, 3], 100), n_boot=0)
        assert set(prof["variable"]) == {"flag", "churn", "plan", "spend"}
        assert set(prof.loc[prof["variable"] == "churn", "level"]) == {"Yes"}

    def test_rare_levels_grouped_and_constants_dropped(self):
        rng = np.random.default_rng(0)
        t = pd.DataFrame({"code": rng.integers(0, 40, 2000).astype(str), "const": 1.0})
        t["code"] = t["code"].astype(object)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prof = profile_segments(t, rng.integers(1, 3, 2000), ["code", "const"], max_levels=8)
        messages = " ".join(str(w.message) for w in caught)
        assert "grouped as 'other'" in messages and "const" in messages
        assert prof["level"].nunique() == 8 and "other" in set(prof["level"])
        assert prof.loc[prof["segment"] == 1, "value"].sum() == pytest.approx(1.0)

    def test_errors_name_the_problem(self, audience):
        table, cat, seg = audience
        with pytest.raises(DataError, match="not in the column catalogue"):
            profile_segments(table, seg, cat, variables=["nope"])
        with pytest.raises(DataError, match="No user has a segment"):
            profile_segments(table, np.full(len(table), -1), cat)
        with pytest.raises(DataError, match="missing from the user table"):
            profile_segments(table.drop(columns="age"), seg, cat)


class TestAssociationMatrix:
    def test_symmetric_with_planted_association(self, audience):
        table, cat, _ = audience
        m = association_matrix(table, cat)
        assert m.shape[0] == m.shape[1] and (m.index == m.columns).all()
        np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
        np.testing.assert_allclose(np.diag(m), 1.0)
        assert m.loc["age", "age_band"] > 0.75  # binned age vs age bands
        assert m.loc["purchased", "reached_purchase"] == pytest.approx(1.0)
        assert m.loc["city_size", "income_band"] < 0.05  # independent draws

    def test_matches_scipy_on_categories(self, audience):
        table, cat, _ = audience
        m = association_matrix(table, ["gender", "dropout_step"])
        ct = pd.crosstab(table["gender"], table["dropout_step"]).to_numpy()
        v = stats.contingency.association(ct, method="cramer")
        assert m.loc["gender", "dropout_step"] == pytest.approx(v)


# --------------------------------------------------------------------------------------------
class TestOutcomes:
    def test_metrics_and_schema(self, audience):
        table, cat, seg = audience
        out = outcomes_by_segment(table, seg, cat, n_boot=300)
        assert list(out.columns) == OUTCOME_COLUMNS
        assert list(out["metric"].unique()) == [
            "conversion",
            "revenue_per_user",
            "avg_order_value",
            "satisfaction",
            "trust",
            "nps",
        ]
        get = out.set_index(["metric", "segment"])
        s1 = seg == 1
        assert get.loc[("conversion", 1), "value"] == pytest.approx(
            table.loc[s1, "purchased"].mean()
        )
        assert get.loc[("revenue_per_user", 1), "value"] == pytest.approx(
            table.loc[s1, "revenue"].mean()
        )
        aov = table.loc[s1, "revenue"].sum() / table.loc[s1, "orders"].sum()
        assert get.loc[("avg_order_value", 1), "value"] == pytest.approx(aov)
        assert get.loc[("avg_order_value", 1), "n"] == (table.loc[s1, "orders"] > 0).sum()
        nps = table.loc[s1, "nps"].dropna()
        expected = 100 * ((nps >= 9).mean() - (nps <= 6).mean())
        assert get.loc[("nps", 1), "value"] == pytest.approx(expected)
        assert get.loc[("trust", 2), "value"] < get.loc[("trust", 3), "value"] - 1
        assert (out["ci_low"] <= out["value"]).all() and (out["ci_high"] >= out["value"]).all()
        assert get.loc[("conversion", 1), "overall"] == pytest.approx(table["purchased"].mean())

    def test_generic_outcomes_without_shop_columns(self):
        rng = np.random.default_rng(1)
        t = pd.DataFrame(
            {"churn": rng.choice(["Yes", "No"], 500), "tenure": rng.gamma(2, 10, 500)}
        )
        cat = pd.DataFrame({"role": ["outcome", "behaviour"], "kind": ["binary", "numeric"]},
                           index=pd.Index(["churn", "tenure"], name="column"))  # fmt: skip
        out = outcomes_by_segment(t, rng.integers(1, 4, 500), cat, n_boot=100)
        assert list(out["metric"].unique()) == ["churn"]
        with pytest.raises(DataError, match="cannot be computed"):
            outcomes_by_segment(t, rng.integers(1, 4, 500), cat, metrics=["revenue_per_user"])

    def test_funnel_and_dropout(self, audience):
        table, cat, seg = audience
        f = funnel_by_segment(table, seg, cat)
        assert list(f["step"].unique()) == STEPS
        s2 = f[f["segment"] == 2].set_index("step")
        assert s2.loc["checkout", "share"] == pytest.approx(
            table.loc[seg == 2, "reached_checkout"].mean()
        )
        assert s2.loc["visit", "share"] == 1.0
        assert s2.loc["checkout", "is_dropout_step"] and s2["is_dropout_step"].sum() == 1
        loss = 1 - s2.loc["purchase", "reached"] / s2.loc["checkout", "reached"]
        assert s2.loc["checkout", "loss"] == pytest.approx(loss)
        assert f.groupby("segment")["is_dropout_step"].sum().eq(1).all()
        assert s2.loc["checkout", "dropout_share"] == pytest.approx(
            (table.loc[seg == 2, "dropout_step"] == "checkout").mean()
        )

    def test_engaged_not_converting(self, audience):
        table, cat, seg = audience
        e = engaged_not_converting(table, seg, cat)
        assert e.loc[e["engaged_not_converting"], "segment"].tolist() == [2]
        row = e.set_index("segment").loc[2]
        assert (
            row["engagement_column"] == "sessions"
            and row["conversion_column"] == "conversion_rate"
        )
        assert row["reason"].startswith("Engaged but not converting")
        # segment 1 converts above the rest
        assert e.set_index("segment").loc[1, "conversion_effect"] > 0.3

    def test_opinion_distribution(self, audience):
        table, cat, seg = audience
        d = opinion_distribution(table, seg, cat)
        assert set(d["variable"]) == {"satisfaction", "trust", "nps"}
        sums = d.groupby(["segment", "variable"])["share"].sum()
        np.testing.assert_allclose(sums, 1.0)


# --------------------------------------------------------------------------------------------
class TestPlots:
    def test_profile_heatmap(self, profile):
        from toolkit._plots_correlation import plot_profile_heatmap

        ax = plot_profile_heatmap(profile, max_rows=12)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert 0 < len(labels) <= 12
        assert any("(base)" in lab for lab in labels) and "Trust" in labels
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]

    def test_outcomes_bars(self, audience):
        from toolkit._plots_correlation import plot_outcomes

        table, cat, seg = audience
        out = outcomes_by_segment(table, seg, cat, n_boot=100)
        ax = plot_outcomes(out, metric="trust")
        assert len(ax.patches) == 4 and "Trust" in ax.get_ylabel()
        import matplotlib.pyplot as plt

        _, ax2 = plt.subplots()
        with pytest.warns(DataWarning, match="cannot be shown as an index"):
            shifted = out.assign(overall=np.where(out["metric"] == "nps", -5.0, out["overall"]))
            ax2 = plot_outcomes(shifted, ax=ax2)
        assert len(ax2.patches) == 4 * (out["metric"].nunique() - 1)  # all but the NPS

        from toolkit._plots_correlation import plot_outcome_panels

        fig = plot_outcome_panels(out)
        visible = [a for a in fig.axes if a.get_visible()]
        assert len(visible) == out["metric"].nunique()
        assert all(len(a.patches) == 4 for a in visible)

    def test_funnel_association_and_map(self, audience):
        import matplotlib.pyplot as plt

        from toolkit._plots_correlation import (
            plot_association_heatmap,
            plot_funnel,
            plot_map_by_outcome,
        )

        table, cat, seg = audience
        ax = plot_funnel(funnel_by_segment(table, seg, cat))
        assert len(ax.get_lines()) == 5  # overall + 4 segments
        assert [t.get_text() for t in ax.get_xticklabels()][-1] == "purchase"
        _, ax = plt.subplots()
        ax = plot_association_heatmap(association_matrix(table, cat))
        assert "Cramér" in ax.get_title()
        rng = np.random.default_rng(0)
        map_df = pd.DataFrame({"x": rng.normal(size=len(seg)), "y": rng.normal(size=len(seg)),
                               "segment": seg})  # fmt: skip
        out = outcomes_by_segment(table, seg, cat, n_boot=0)
        _, ax = plt.subplots()
        ax = plot_map_by_outcome(map_df, out, metric="conversion")
        colours = ax.collections[0].get_array()
        assert np.unique(np.round(colours, 6)).size == 4
        _, ax = plt.subplots()
        ax = plot_map_by_outcome(map_df, table["revenue"].to_numpy())
        assert len(ax.collections[0].get_offsets()) == len(seg)


# --------------------------------------------------------------------------------------------
@pytest.mark.real
@pytest.mark.parametrize(
    "dataset",
    [
        "womens_clothing_reviews",
        "customer_personality",
        "online_shoppers_intention",
        "bank_marketing",
        "telco_customer_churn",
        "cdnow_transactions",
    ],
)
def test_real_datasets_produce_tables_and_charts(dataset):
    """Each real dataset, loaded by its spec: profiles, findings, outcomes, targets, charts."""
    import matplotlib.pyplot as plt

    from toolkit.findings import check_sentence, distinguishing_findings, scales_from_columns
    from toolkit.plots import plot_association_heatmap, plot_outcomes, plot_profile_heatmap
    from toolkit.segmentation import segment_customers
    from toolkit.targeting import rank_targets

    real_data = pytest.importorskip("tests.test_real_data")
    if not real_data.REAL_ROOT.is_dir():
        pytest.skip("the real datasets (../shared/datasets/real) are not in this clone")
    audience, _ = real_data.real(dataset)
    table, cat = audience.table, audience.columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        seg = segment_customers(table, cat, n_segments=4, random_state=0, sweep=False)
        segments = seg.segments_table(table)
        prof = profile_segments(table, segments, cat, bases=seg.base_columns_, n_boot=200)
        findings = distinguishing_findings(prof, columns=cat)
        out = outcomes_by_segment(table, segments, cat, n_boot=200)
        targets = rank_targets(out, prof, segments)
        assoc = association_matrix(table, cat)
        plot_profile_heatmap(prof)
        plot_outcomes(out, ax=plt.subplots()[1])
        plot_association_heatmap(assoc, ax=plt.subplots()[1])
    assert set(prof["segment"]) == {1, 2, 3, 4}
    assert not out.empty and out["metric"].nunique() >= 1, dataset
    assert not findings.empty, dataset
    assert (findings.loc[findings["role"] == "outcome", "evidence"] == "test").all()
    assert targets["rank"].tolist() == [1, 2, 3, 4], dataset
    assert assoc.shape[0] == assoc.shape[1] >= 3
    scales = scales_from_columns(cat)
    rows = findings.merge(prof, on=["segment", "variable", "level"], suffixes=("", "_p"))
    assert len(rows) == len(findings)
    for r in rows.to_dict("records"):
        assert check_sentence(r, scale=scales.get(r["variable"])) == [], (dataset, r["sentence"])
