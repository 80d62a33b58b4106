"""Tests for toolkit.embedding: the 2-D map on a stratified sample, and the map chart."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from toolkit._plots_segments import plot_segment_map
from toolkit.config import PROJECT_ROOT
from toolkit.embedding import embed_map, segment_map, stratified_positions
from toolkit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def groups():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (600, 6)), rng.normal(7, 1, (300, 6)),
                   rng.normal(-7, 1, (100, 6))])  # fmt: skip
    labels = np.r_[np.full(600, 1), np.full(300, 2), np.full(100, -1)]
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), labels


class TestStratifiedPositions:
    def test_proportional(self):
        labels = np.r_[np.zeros(700, int), np.ones(200, int), np.full(100, 2)]
        pos = stratified_positions(labels, 100, random_state=0)
        assert np.bincount(labels[pos]).tolist() == [70, 20, 10]
        assert (np.diff(pos) > 0).all()

    def test_small_groups_keep_a_minimum(self):
        labels = np.r_[np.zeros(990, int), np.ones(10, int)]
        pos = stratified_positions(labels, 100, random_state=0, min_per_group=10)
        assert np.bincount(labels[pos]).tolist() == [90, 10]

    def test_everything_when_small(self):
        assert stratified_positions(np.ones(5), 10).tolist() == [0, 1, 2, 3, 4]


class TestEmbedMap:
    def test_pca_map(self, groups):
        X, labels = groups
        m = embed_map(X, labels, method="pca", sample_size=500, random_state=0)
        assert list(m.columns) == ["x", "y", "segment"] and len(m) == 500
        assert m["segment"].value_counts().to_dict() == {1: 300, 2: 150, -1: 50}
        assert m.attrs["method"] == "pca"
        # the groups stay apart along the first component
        means = m.groupby("segment")["x"].mean()
        assert abs(means[1] - means[2]) > 5 and abs(means[1] - means[-1]) > 5

    def test_deterministic_sample(self, groups):
        X, labels = groups
        a = embed_map(X, labels, method="pca", sample_size=300, random_state=1)
        b = embed_map(X, labels, method="pca", sample_size=300, random_state=1)
        pd.testing.assert_frame_equal(a, b)

    def test_segment_map_prepares_only_the_sample(self, groups):
        from toolkit.segmentation import Segmenter

        X, labels = groups
        seg = Segmenter(n_segments=3, random_state=0).fit(X)
        direct = embed_map(seg.transform(X), seg.labels_, method="pca", sample_size=200)
        pd.testing.assert_frame_equal(segment_map(seg, X, method="pca", sample_size=200), direct)

    def test_errors(self, groups):
        X, labels = groups
        with pytest.raises(DataError, match="same users"):
            embed_map(X, labels[:10], method="pca")
        with pytest.raises(ConfigError, match="tsne"):
            embed_map(X, labels, method="tsne")
        bad = X.copy()
        bad.iloc[0, 0] = np.nan
        with pytest.raises(DataError, match="missing"):
            embed_map(bad, labels, method="pca")

    @pytest.mark.slow
    def test_umap_map(self, groups):
        """Slow only when numba's cache is cold (first run on a machine)."""
        X, labels = groups
        a = embed_map(X, labels, sample_size=400, random_state=0)
        b = embed_map(X, labels, sample_size=400, random_state=0)
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs["method"] == "umap" and len(a) == 400
        # each user's nearest map neighbour is in the same group
        xy = a[["x", "y"]].to_numpy()
        d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        np.fill_diagonal(d, np.inf)
        same = a["segment"].to_numpy()[d.argmin(axis=1)] == a["segment"].to_numpy()
        assert same.mean() >= 0.98


class TestImportHasNoSideEffects:
    def test_import_does_not_load_umap_or_set_numba_cache(self):
        code = textwrap.dedent(
            """
            import os, sys
            import toolkit.embedding, toolkit.segmentation, toolkit.stability
            print("umap" in sys.modules, "numba" in sys.modules, "NUMBA_CACHE_DIR" in os.environ)
            """
        )
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        assert out.stdout.split() == ["False", "False", "False"]

    def test_cache_folder_is_set_before_umap_import(self, tmp_path, monkeypatch):
        from toolkit import embedding

        monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
        monkeypatch.setattr("toolkit.config.numba_cache_dir", lambda: tmp_path / "numba")
        embedding._prepare_umap_import()
        assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba")
        assert (tmp_path / "numba").is_dir()


class TestCacheWarmUp:
    def test_warm_up_compiles_umap_into_an_empty_cache(self, tmp_path):
        code = textwrap.dedent(
            """
            from toolkit.embedding import umap_cache_ready, warm_umap_cache
            print(umap_cache_ready())
            warm_umap_cache()
            print(umap_cache_ready())
            """
        )
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True, timeout=600)  # fmt: skip
        assert out.stdout.split() == ["False", "True"]
        cached = [p.name for p in tmp_path.rglob("*.nbi")]
        # the functions a map spends its time in are now compiled on disk
        assert any("optimize_layout_euclidean" in n for n in cached), cached
        assert any("smooth_knn_dist" in n for n in cached), cached

    def test_a_map_waits_for_a_warm_up_under_way(self, tmp_path, monkeypatch):
        import threading
        import time

        from toolkit import embedding

        monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
        events = []
        held = threading.Event()

        def warm_up():
            with embedding._cache_lock(exclusive=True):
                held.set()
                time.sleep(0.5)
                events.append("warm-up done")

        thread = threading.Thread(target=warm_up)
        thread.start()
        held.wait(5)
        with embedding._cache_lock(exclusive=False):
            events.append("map drawn")
        thread.join()
        assert events == ["warm-up done", "map drawn"]

    def test_report_starts_a_warm_up_only_when_the_cache_is_empty(self, tmp_path, monkeypatch):
        from toolkit import embedding, report

        monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
        cfg = report.load_report_config(PROJECT_ROOT / "data-samples/shop/report.yaml")
        proc = report._start_umap_warmup(cfg, report.NOTEBOOKS, tmp_path)
        assert proc is not None and (tmp_path / "logs" / "umap-warmup.log").exists()
        report._kill_group(proc)
        assert not embedding.umap_cache_ready()  # a killed warm-up marks nothing
        embedding._mark_ready()
        assert report._start_umap_warmup(cfg, report.NOTEBOOKS, tmp_path) is None
        os.remove(embedding._ready_marker())
        pca = [("map_method", "pca")]
        cfg_pca = report.load_report_config(PROJECT_ROOT / "data-samples/shop/report.yaml", pca)
        assert report._start_umap_warmup(cfg_pca, report.NOTEBOOKS, tmp_path) is None


class TestPlotSegmentMap:
    def test_colours_and_legend(self, groups):
        X, labels = groups
        m = embed_map(X, labels, method="pca", sample_size=300)
        ax = plot_segment_map(m)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "Segment 1",
            "Segment 2",
            "Unsegmented",
        ]
        assert len(ax.collections) == 3
        assert ax.get_xlabel() == "PCA 1"
        grey = ax.collections[2].get_facecolor()[0][:3]
        np.testing.assert_allclose(grey, (0.6, 0.6, 0.6))
