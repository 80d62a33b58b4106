"""Tests for toolkit.segmentation and toolkit.selection: the Segmenter, the k sweep, the
recommendation rule, persistence and assignment, and the segmentation charts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from toolkit._plots_segments import plot_k_sweep, plot_segment_sizes
from toolkit.config import PROJECT_ROOT
from toolkit.errors import ConfigError, DataError, DataWarning
from toolkit.segmentation import (
    Segmenter,
    assign_segments,
    load_segmenter,
    save_segmenter,
    segment_customers,
)
from toolkit.selection import recommend_k, sample_silhouettes, sweep_wide

CATEGORIES = ["fashion", "home", "electronics", "kids", "sale"]
# planted profiles: share, age (mean, sd), P(female), P(big city), device probs, category mix,
# evening share, mean events
PROFILES = [
    (0.30, (25, 3), 0.85, 0.75, [0.8, 0.1, 0.1], [5, 1, 0.5, 0.5, 1], 0.6, 60),
    (0.25, (45, 4), 0.80, 0.30, [0.2, 0.7, 0.1], [2, 4, 0.5, 0.5, 1], 0.2, 80),
    (0.20, (37, 5), 0.15, 0.50, [0.2, 0.7, 0.1], [0.5, 0.5, 5, 0.3, 1], 0.5, 40),
    (0.15, (42, 4), 0.55, 0.15, [0.2, 0.2, 0.6], [1, 3, 0.5, 5, 1], 0.2, 30),
    (0.10, (63, 6), 0.50, 0.35, [0.3, 0.5, 0.2], [1, 1, 1, 1, 5], 0.2, 4),
]


def make_audience(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Mixed-type users with 5 planted, overlapping segments: table, catalogue, truth."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(PROFILES), size=n, p=[p[0] for p in PROFILES])
    cols: dict[str, np.ndarray] = {
        "age": np.empty(n),
        "gender": np.empty(n, dtype=object),
        "city_size": np.empty(n, dtype=object),
        "device": np.empty(n, dtype=object),
        "events": np.empty(n),
        "share_evening": np.empty(n),
    }
    mix = np.empty((n, len(CATEGORIES)))
    for j, (_, age, female, big, dev, cats, evening, events) in enumerate(PROFILES):
        m = truth == j
        c = int(m.sum())
        cols["age"][m] = np.clip(rng.normal(age[0], age[1], c), 18, 80).round()
        cols["gender"][m] = np.where(rng.random(c) < female, "female", "male")
        cols["city_size"][m] = np.where(rng.random(c) < big, "big city", "town")
        cols["device"][m] = rng.choice(["mobile", "desktop", "tablet"], size=c, p=dev)
        cols["events"][m] = rng.negative_binomial(2, 2 / (2 + events), c) + 1
        cols["share_evening"][m] = rng.beta(evening * 8, (1 - evening) * 8, c)
        mix[m] = rng.dirichlet(np.array(cats) * 1.5, c)
    table = pd.DataFrame({"user_id": [f"{i:06d}" for i in range(1, n + 1)]})
    for name, values in cols.items():
        table[name] = pd.array(values, dtype="str") if values.dtype == object else values
    for i, cat in enumerate(CATEGORIES):
        table[f"share_cat_{cat}"] = mix[:, i]
    table["trust"] = np.where(rng.random(n) < 0.3, rng.integers(1, 6, n), np.nan)
    table["revenue"] = rng.gamma(1, 50, n)
    rows = []
    for c in table.columns[1:]:
        role = "demographic" if c in ("age", "gender", "city_size", "device") else "behaviour"
        kind = "categorical" if c in ("gender", "city_size", "device") else "numeric"
        lo = hi = np.nan
        if c == "trust":
            role, kind, lo, hi = "opinion", "ordinal", 1, 5
        if c == "revenue":
            role = "outcome"
        rows.append(
            {
                "column": c,
                "role": role,
                "kind": kind,
                "scale_min": lo,
                "scale_max": hi,
                "order": None,
                "label": c,
            }  # fmt: skip
        )
    return table, pd.DataFrame(rows).set_index("column"), truth


@pytest.fixture(scope="module")
def audience():
    return make_audience(2000, seed=3)


@pytest.fixture(scope="module")
def fitted(audience):
    table, catalogue, _ = audience
    return segment_customers(table, catalogue, random_state=0)


class TestSegmenter:
    def test_recovers_planted_segments(self, audience, fitted):
        _, _, truth = audience
        assert fitted.n_segments_ == 5
        assert fitted.recommended_k_ == 5
        assert adjusted_rand_score(truth, fitted.labels_) >= 0.9

    def test_labels_numbered_by_size(self, fitted):
        labels = fitted.labels_
        assert set(np.unique(labels)) == set(range(1, fitted.n_segments_ + 1))
        counts = np.bincount(labels)[1:]
        assert (np.diff(counts) <= 0).all()
        np.testing.assert_array_equal(fitted.sizes_.to_numpy(), counts)
        assert fitted.sizes_.index.tolist() == list(range(1, fitted.n_segments_ + 1))

    def test_fitted_attributes(self, audience, fitted):
        table, _, _ = audience
        assert fitted.base_columns_[:4] == ["age", "gender", "city_size", "device"]
        assert "trust" not in fitted.base_columns_ and "revenue" not in fitted.base_columns_
        assert list(fitted.feature_names_in_) == list(table.columns)
        assert fitted.cluster_centers_.shape == (5, len(fitted.feature_names_out_))
        assert ((fitted.confidence_ >= 0) & (fitted.confidence_ <= 1)).all()
        assert fitted.fit_sample_size_ == len(table)

    def test_same_seed_identical_labels(self, audience, fitted):
        table, catalogue, _ = audience
        again = segment_customers(table, catalogue, random_state=0)
        np.testing.assert_array_equal(again.labels_, fitted.labels_)
        pd.testing.assert_frame_equal(again.k_sweep_, fitted.k_sweep_)
        assert again.recommended_reason_ == fitted.recommended_reason_

    def test_other_seed_same_segments(self, audience, fitted):
        table, catalogue, _ = audience
        other = Segmenter(columns=catalogue, n_segments=5, random_state=7).fit(table)
        assert adjusted_rand_score(other.labels_, fitted.labels_) >= 0.95
        # numbering by size keeps the numbers from shuffling between seeds
        assert (other.labels_ == fitted.labels_).mean() >= 0.97

    def test_analyst_override(self, audience):
        table, catalogue, _ = audience
        seg = segment_customers(table, catalogue, n_segments=3, random_state=0)
        assert seg.n_segments_ == 3 and seg.recommended_k_ == 5
        assert seg.recommended_reason_.startswith("3 segments, as chosen by the analyst.")
        assert "recommend 5 segments" in seg.recommended_reason_
        assert seg.k_sweep_.query("recommended")["k"].unique().tolist() == [5]

    def test_fixed_k_without_sweep(self, audience):
        table, catalogue, _ = audience
        seg = Segmenter(columns=catalogue, n_segments=4, random_state=0).fit(table)
        assert seg.k_sweep_.empty and seg.recommended_k_ is None
        assert seg.n_segments_ == 4

    def test_large_data_path_samples_the_sweep(self, audience, fitted):
        """Above sweep_sample the sweep runs on a sample and the final fit starts from it."""
        table, catalogue, truth = audience
        seg = Segmenter(columns=catalogue, random_state=0, sweep_sample=800,
                        silhouette_sample=500, n_init=2).fit(table)  # fmt: skip
        assert seg.sweep_sample_size_ == 800
        assert seg.n_segments_ == 5
        assert adjusted_rand_score(seg.labels_, fitted.labels_) >= 0.95

    def test_bases_choice(self, audience):
        table, catalogue, _ = audience
        seg = Segmenter(columns=catalogue, n_segments=2, bases=["behaviour", "trust"],
                        random_state=0).fit(table)  # fmt: skip
        assert "age" not in seg.base_columns_ and "trust" in seg.base_columns_
        assert "trust_missing" in seg.feature_names_out_

    def test_plain_array_input(self, rng):
        X = np.r_[rng.normal(0, 1, (60, 3)), rng.normal(6, 1, (40, 3))]
        seg = Segmenter(random_state=0).fit(X)
        assert seg.n_segments_ == 2
        np.testing.assert_array_equal(seg.predict(X), seg.labels_)
        assert not hasattr(seg, "feature_names_in_")


class TestKSweep:
    def test_sweep_table(self, fitted):
        sweep = fitted.k_sweep_
        assert list(sweep.columns) == ["k", "index", "value", "better", "recommended"]
        assert set(sweep["k"]) == set(range(2, 11))
        assert set(sweep["index"]) == {
            "silhouette",
            "calinski_harabasz",
            "davies_bouldin",
            "stability",
            "inertia",
        }
        assert not sweep.duplicated(["k", "index"]).any()
        assert set(sweep.loc[sweep["recommended"], "k"]) == {5}
        wide = sweep_wide(sweep).set_index("k")
        assert wide.loc[5, "stability"] >= 0.95
        assert wide["silhouette"].idxmax() == 5

    def test_reason_is_a_sentence_with_numbers(self, fitted):
        reason = fitted.recommended_reason_
        assert reason.startswith("5 segments:") and reason.endswith(".")
        wide = sweep_wide(fitted.k_sweep_).set_index("k")
        assert f"{wide.loc[5, 'silhouette']:.3f}" in reason

    def test_gmm_reports_bic(self, audience):
        table, catalogue, truth = audience
        seg = Segmenter(columns=catalogue, method="gmm", k_range=(3, 6), random_state=0,
                        n_stability=2, n_init=2).fit(table)  # fmt: skip
        assert "bic" in set(seg.k_sweep_["index"])
        assert adjusted_rand_score(truth, seg.labels_) >= 0.8
        proba = seg.predict_proba(table)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(proba.argmax(axis=1) + 1, seg.labels_)
        np.testing.assert_allclose(seg.confidence_, proba.max(axis=1))


class TestSampleSilhouettes:
    def test_matches_sklearn(self, rng):
        Z = rng.normal(size=(300, 4))
        Z[:100] += 3
        labels = {2: (np.arange(300) >= 100).astype(int), 4: rng.integers(0, 4, 300)}
        ours = sample_silhouettes(Z, labels, chunk_size=64)
        for k, lab in labels.items():
            assert ours[k] == pytest.approx(silhouette_score(Z, lab), abs=1e-9)

    def test_singleton_cluster_and_single_label(self):
        Z = np.array([[0.0], [0.2], [0.4], [9.0]])
        ours = sample_silhouettes(Z, {2: np.array([0, 0, 0, 1]), 1: np.zeros(4, int)})
        assert ours[2] == pytest.approx(silhouette_score(Z, [0, 0, 0, 1]))
        assert np.isnan(ours[1])


class TestRecommendK:
    def test_stable_then_best_separated(self):
        sweep = pd.DataFrame({"k": [2, 3, 4, 5, 6], "silhouette": [0.30, 0.20, 0.25, 0.35, 0.36],
                              "stability": [0.95, 0.90, 0.92, 0.85, 0.50]})  # fmt: skip
        k, reason = recommend_k(sweep)
        assert k == 5  # 6 separates better but does not reproduce
        assert "k = 2-5" in reason

    def test_near_tie_goes_to_the_more_stable(self):
        sweep = pd.DataFrame({"k": [5, 6, 7], "silhouette": [0.15, 0.186, 0.187],
                              "stability": [0.99, 0.997, 0.93]})  # fmt: skip
        k, reason = recommend_k(sweep)
        assert k == 6
        assert "0.186 vs 0.187 at k = 7" in reason

    def test_nothing_stable(self):
        sweep = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.05, 0.08, 0.07],
                              "stability": [0.40, 0.55, 0.52]})  # fmt: skip
        k, reason = recommend_k(sweep)
        assert k == 3 and "with caution" in reason

    def test_long_input(self, fitted):
        assert recommend_k(fitted.k_sweep_)[0] == fitted.recommended_k_

    def test_empty(self):
        with pytest.raises(ConfigError):
            recommend_k(pd.DataFrame({"k": []}))


class TestAssign:
    def test_training_users_get_their_labels(self, audience, fitted):
        table, _, _ = audience
        out = fitted.assign(table)
        assert list(out.columns) == ["segment", "confidence", "distance", "unsegmented"]
        np.testing.assert_array_equal(out["segment"].to_numpy(), fitted.labels_)
        np.testing.assert_allclose(out["confidence"].to_numpy(), fitted.confidence_)
        assert not out["unsegmented"].any()
        assert out.index.equals(table.index)

    def test_far_and_unusual_users(self, audience, fitted):
        table, _, _ = audience
        new = table.head(4).copy()
        new.loc[0, "age"] = 5000.0  # clipped, but still far beyond every segment
        new.loc[0, "events"] = 1e7
        new.loc[0, "share_evening"] = 40.0
        new.loc[1, "device"] = "smartwatch"  # level never seen
        new.loc[2, ["age", "events"]] = np.nan  # values missing
        out = fitted.assign(new)
        assert out.loc[0, "unsegmented"] and out.loc[0, "segment"] == -1
        assert out.loc[0, "confidence"] == 0.0
        assert (out.loc[1:, "segment"] >= 1).all()
        assert out.loc[3, "segment"] == fitted.labels_[3]

    def test_segments_table(self, audience, fitted):
        table, _, _ = audience
        seg = fitted.segments_table(table)
        assert list(seg.columns) == ["user_id", "segment", "confidence"]
        assert seg["user_id"].tolist() == table["user_id"].tolist()
        np.testing.assert_array_equal(seg["segment"], fitted.labels_)
        other = fitted.segments_table(table.iloc[::-1])  # not the fitted rows: assigned
        np.testing.assert_array_equal(other["segment"], fitted.labels_[::-1])

    def test_assign_segments_function(self, audience, fitted):
        table, _, _ = audience
        out = assign_segments(fitted, table.tail(5))
        assert out.columns[0] == "user_id" and len(out) == 5

    def test_save_load_in_a_fresh_process(self, audience, fitted, tmp_path):
        table, _, _ = audience
        path = tmp_path / "segmenter.joblib"
        save_segmenter(fitted, path)
        table.to_parquet(tmp_path / "users.parquet")
        code = textwrap.dedent(
            f"""
            import pandas as pd
            from toolkit.segmentation import assign_segments, load_segmenter
            seg = load_segmenter({str(path)!r})
            table = pd.read_parquet({str(tmp_path / "users.parquet")!r})
            assign_segments(seg, table).to_parquet({str(tmp_path / "out.parquet")!r})
            """
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=300)
        theirs = pd.read_parquet(tmp_path / "out.parquet")
        ours = assign_segments(fitted, table)
        np.testing.assert_array_equal(theirs["segment"], fitted.labels_)
        pd.testing.assert_frame_equal(theirs, ours, check_dtype=False)
        assert load_segmenter(path).recommended_reason_ == fitted.recommended_reason_

    def test_load_errors(self, tmp_path):
        with pytest.raises(ConfigError, match="No saved segmenter"):
            load_segmenter(tmp_path / "missing.joblib")
        import joblib

        joblib.dump({"not": "a segmenter"}, tmp_path / "x.joblib")
        with pytest.raises(ConfigError, match="dict"):
            load_segmenter(tmp_path / "x.joblib")


class TestMethods:
    def test_kprototypes_sample_then_assign(self, audience):
        table, catalogue, truth = audience
        with pytest.warns(DataWarning, match="stratified sample of 600"):
            seg = Segmenter(columns=catalogue, method="kprototypes", n_segments=5,
                            max_sample=600, n_init=2, random_state=0).fit(table)  # fmt: skip
        assert seg.fit_sample_size_ == 600
        assert len(seg.labels_) == len(table) and (seg.labels_ >= 1).all()
        assert adjusted_rand_score(truth, seg.labels_) >= 0.6
        np.testing.assert_array_equal(seg.predict(table), seg.labels_)

    def test_kprototypes_kmodes_engine(self, audience):
        table, catalogue, truth = audience
        small = table.head(300)
        seg = Segmenter(columns=catalogue, method="kprototypes", n_segments=3, n_init=1,
                        method_params={"engine": "kmodes"}, random_state=0).fit(small)  # fmt: skip
        assert seg.n_segments_ == 3
        np.testing.assert_array_equal(seg.predict(small), seg.labels_)

    def test_ward_sample_then_assign(self, audience):
        table, catalogue, truth = audience
        with pytest.warns(DataWarning, match="stratified sample"):
            seg = Segmenter(columns=catalogue, method="ward", k_range=(3, 6), max_sample=800,
                            random_state=0).fit(table)  # fmt: skip
        assert seg.fit_sample_size_ == 800 and seg.n_segments_ in (4, 5, 6)
        assert adjusted_rand_score(truth, seg.labels_) >= 0.7

    def test_hdbscan_leaves_noise_unsegmented(self, rng):
        X = np.r_[rng.normal(0, 0.3, (300, 2)), rng.normal(5, 0.3, (200, 2)),
                  rng.uniform(-10, 15, (40, 2))]  # fmt: skip
        df = pd.DataFrame(X, columns=["a", "b"])
        with pytest.warns(DataWarning, match="stratified sample of 400"):
            seg = Segmenter(method="hdbscan", max_sample=400, random_state=0).fit(df)
        assert seg.n_segments_ == 2 and seg.k_sweep_.empty
        assert (seg.labels_[:500] >= 1).mean() >= 0.95
        assert (seg.labels_[500:] == -1).mean() >= 0.5
        assert "unsegmented" in seg.recommended_reason_
        table = seg.segments_table(df)
        np.testing.assert_array_equal(table["segment"], seg.labels_)


class TestErrors:
    def test_unknown_method(self, audience):
        table, catalogue, _ = audience
        with pytest.raises(ConfigError, match="kmodes"):
            Segmenter(columns=catalogue, method="kmodes").fit(table)

    def test_bad_k_range(self, audience):
        table, catalogue, _ = audience
        with pytest.raises(ConfigError, match="k_range"):
            Segmenter(columns=catalogue, k_range=(1, 4)).fit(table)

    def test_more_segments_than_users(self, audience):
        table, catalogue, _ = audience
        with pytest.raises(DataError, match="only 3 users"):
            Segmenter(columns=catalogue, n_segments=5).fit(table.head(3))

    def test_kprototypes_needs_categories(self, rng):
        with pytest.raises(ConfigError, match="categorical"):
            Segmenter(method="kprototypes", n_segments=2).fit(rng.normal(size=(50, 3)))


class TestPlots:
    def test_plot_k_sweep(self, fitted):
        ax = plot_k_sweep(fitted.k_sweep_)
        assert ax.get_xlabel() == "Number of segments (k)"
        xs = [line.get_xdata() for line in ax.get_lines()]
        assert any(list(x) == [5, 5] for x in xs)  # the recommended k
        assert len(ax.figure.axes) == 2  # silhouette left, stability right

    def test_plot_k_sweep_empty(self):
        ax = plot_k_sweep(pd.DataFrame(columns=["k", "index", "value"]))
        assert "No k sweep" in ax.texts[0].get_text()

    def test_plot_segment_sizes(self, audience, fitted):
        table, _, _ = audience
        _, (ax, ax2) = plt.subplots(1, 2)
        plot_segment_sizes(fitted.segments_table(table), ax=ax)
        widths = [p.get_width() for p in ax.patches]
        assert widths == fitted.sizes_.tolist()
        plot_segment_sizes(fitted.sizes_, ax=ax2)
        assert [p.get_width() for p in ax2.patches] == widths


REAL_DATASETS = [
    "bank_marketing",
    "cdnow_transactions",
    "customer_personality",
    "online_shoppers_intention",
    "telco_customer_churn",
    "womens_clothing_reviews",
]


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL_DATASETS)
def test_real_dataset_segments(name):
    """Each real dataset: the default run completes and reports k, its reason and stability."""
    real_data = pytest.importorskip("tests.test_real_data")
    if not real_data.REAL_ROOT.is_dir():
        pytest.skip("the real datasets (../shared/datasets/real) are not in this clone")
    from toolkit.stability import segment_stability

    audience, _ = real_data.real(name)
    seg = segment_customers(audience.table, audience.columns, random_state=0)
    k = seg.n_segments_
    assert 2 <= k <= 10 and k == seg.recommended_k_
    assert seg.recommended_reason_.startswith(f"{k} segments")
    wide = sweep_wide(seg.k_sweep_)
    assert wide["k"].tolist() == list(range(2, 11))
    assert wide[["silhouette", "stability", "calinski_harabasz"]].notna().all().all()
    assert seg.sizes_.sum() == len(audience.table) and seg.sizes_.is_monotonic_decreasing
    segments = seg.segments_table(audience.table)
    assert len(segments) == len(audience.table) and segments["confidence"].between(0, 1).all()
    stab = segment_stability(seg, audience.table, n_bootstrap=10, random_state=0)
    assert stab["segment"].tolist() == list(range(1, k + 1))
    assert stab["jaccard"].between(0, 1).all()
    assert (stab["unreliable"] == (stab["jaccard"] < 0.6)).all()


# The sklearn contract on plain arrays. Segments are numbered 1..k by size (the contract of
# the toolkit), not 0..k-1, so the clustering checks that expect 0-based labels fail.
_EXPECTED_FAILURES = {
    "check_clustering": "segments are numbered 1..k (largest first), not from 0",
}


@parametrize_with_checks(
    [Segmenter(n_segments=3, n_init=1, random_state=0)],
    expected_failed_checks=lambda est: _EXPECTED_FAILURES,
)
def test_sklearn_contract(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        check(estimator)
