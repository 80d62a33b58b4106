"""Tests for toolkit.stability: Hennig's cluster-wise bootstrap Jaccard and seed agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit._plots_segments import plot_stability
from toolkit.errors import ConfigError
from toolkit.segmentation import Segmenter
from toolkit.stability import bootstrap_jaccard, segment_stability


@pytest.fixture(scope="module")
def blobs() -> pd.DataFrame:
    """Three well separated groups plus a fourth k-means has to cut out of one of them."""
    rng = np.random.default_rng(11)
    centres = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0]])
    sizes = [500, 300, 200]
    X = np.vstack([rng.normal(c, 1.0, (n, 3)) for c, n in zip(centres, sizes, strict=True)])
    return pd.DataFrame(X, columns=["a", "b", "c"])


class TestBootstrapJaccard:
    def test_hand_computed(self):
        ref = np.array([1, 1, 1, 2, 2, 2, -1])
        draw = np.array([0, 0, 1, 2, 3, 4, 5, 6])  # user 0 drawn twice counts once
        boot = np.array([0, 0, 0, 1, 1, 1, 1, 1])
        out = bootstrap_jaccard(ref, draw, boot)
        # segment 1 = {0, 1, 2}; cluster 0 = {0, 1}: 2 / 3
        # segment 2 = {3, 4, 5}; cluster 1 = {2, 3, 4, 5, 6}: 3 / 5; noise is never a segment
        assert out == {1: pytest.approx(2 / 3), 2: pytest.approx(3 / 5)}

    def test_noise_cluster_is_never_matched(self):
        ref = np.array([1, 1, 2, 2])
        out = bootstrap_jaccard(ref, np.arange(4), np.array([-1, -1, 0, 0]))
        assert out == {1: 0.0, 2: 1.0}


class TestSegmentStability:
    def test_real_segments_are_stable(self, blobs):
        seg = Segmenter(n_segments=3, random_state=0).fit(blobs)
        stab = segment_stability(seg, blobs, n_bootstrap=10, random_state=0)
        assert list(stab.columns) == [
            "segment",
            "size",
            "share",
            "jaccard",
            "jaccard_sd",
            "dissolved",
            "recovered",
            "unreliable",
            "seed_ari",
            "n_bootstrap",
        ]
        assert stab["segment"].tolist() == [1, 2, 3]
        assert stab["size"].tolist() == [500, 300, 200]
        assert (stab["jaccard"] >= 0.95).all()
        assert not stab["unreliable"].any()
        assert stab["seed_ari"].iloc[0] == pytest.approx(1.0, abs=0.01)
        assert stab.attrs["seed_ari"] == stab["seed_ari"].iloc[0]

    def test_an_arbitrary_cut_is_flagged(self):
        """k-means forced to split one round Gaussian in 4: the cut wanders between refits."""
        rng = np.random.default_rng(5)
        df = pd.DataFrame(rng.normal(size=(800, 6)), columns=[f"v{i}" for i in range(6)])
        seg = Segmenter(n_segments=4, random_state=0, n_init=1).fit(df)
        stab = segment_stability(seg, df, n_bootstrap=10, random_state=0)
        assert stab["jaccard"].mean() < 0.75
        assert stab["unreliable"].any()
        assert stab["seed_ari"].iloc[0] < 0.9

    def test_deterministic(self, blobs):
        seg = Segmenter(n_segments=4, random_state=0).fit(blobs)
        a = segment_stability(seg, blobs, n_bootstrap=5, n_seeds=2, random_state=3)
        b = segment_stability(seg, blobs, n_bootstrap=5, n_seeds=2, random_state=3)
        pd.testing.assert_frame_equal(a, b)

    def test_sample_for_large_tables(self, blobs):
        seg = Segmenter(n_segments=3, random_state=0).fit(blobs)
        stab = segment_stability(seg, blobs, n_bootstrap=3, n_seeds=0, sample_size=300)
        assert stab.attrs["sample_size"] == 300
        assert stab["size"].sum() == len(blobs)  # sizes always describe every user
        assert np.isnan(stab["seed_ari"]).all()

    def test_other_methods(self, blobs):
        seg = Segmenter(n_segments=3, method="ward", random_state=0).fit(blobs)
        stab = segment_stability(seg, blobs, n_bootstrap=3, n_seeds=1, random_state=0)
        assert (stab["jaccard"] >= 0.9).all()

    def test_bad_n_bootstrap(self, blobs):
        seg = Segmenter(n_segments=3, random_state=0).fit(blobs)
        with pytest.raises(ConfigError, match="n_bootstrap"):
            segment_stability(seg, blobs, n_bootstrap=0)


class TestPlotStability:
    def test_bars_and_threshold(self):
        stab = pd.DataFrame(
            {"segment": [1, 2, 3], "jaccard": [0.9, 0.55, 0.8], "jaccard_sd": [0.02, 0.2, 0.05]}
        )
        ax = plot_stability(stab)
        assert [round(p.get_height(), 2) for p in ax.patches] == [0.9, 0.55, 0.8]
        assert [p.get_hatch() for p in ax.patches] == [None, "//", None]
        assert any(list(line.get_ydata()) == [0.6, 0.6] for line in ax.get_lines())
        assert ax.get_ylabel().startswith("Stability")
