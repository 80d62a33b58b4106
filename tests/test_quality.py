"""Data-quality profile, raw associations and the explore charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from toolkit._plots_explore import (
    DistributionGrid,
    plot_associations,
    plot_distributions,
    plot_missingness,
)
from toolkit.load import CATALOGUE_FIELDS, Audience
from toolkit.quality import iqr_outliers, quality_report, raw_associations


def make_audience(table: pd.DataFrame, kinds: dict, roles: dict | None = None, **extra):
    rows = {}
    for name, kind in kinds.items():
        rows[name] = {
            "role": (roles or {}).get(name, "behaviour"),
            "source": "t",
            "kind": kind,
            "scale_min": np.nan,
            "scale_max": np.nan,
            "order": extra.get("orders", {}).get(name),
            "label": name.title(),
            "usable": True,
            "note": "",
        }
    cat = pd.DataFrame.from_dict(rows, orient="index")[list(CATALOGUE_FIELDS)]
    cat.index.name = "column"
    return Audience(table=table, columns=cat, join_report=pd.DataFrame())


@pytest.fixture
def audience(rng):
    n = 400
    x = rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], n)
    table = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "x": x,
            "x_cubed": x**3,  # monotone in x: Spearman 1
            "noise": rng.normal(size=n),
            "group": pd.Series(group, dtype="str"),
            "group_copy": pd.Series(group, dtype="str"),
            "by_group": pd.Series(group).map({"a": 1.0, "b": 5.0, "c": 9.0}),  # eta 1
            "band": pd.Series(rng.choice(["low", "mid", "high"], n), dtype="str"),
            "flag": rng.integers(0, 2, n),
            "comment": pd.Series(["secret mail a@b.org"] * n, dtype="str"),
        }
    )
    table.loc[:39, "noise"] = np.nan
    kinds = {
        "x": "numeric",
        "x_cubed": "numeric",
        "noise": "numeric",
        "group": "categorical",
        "group_copy": "categorical",
        "by_group": "numeric",
        "band": "ordinal",
        "flag": "binary",
        "comment": "text",
    }
    return make_audience(
        table, kinds, {"comment": "text"}, orders={"band": ["low", "mid", "high"]}
    )


class TestQualityReport:
    def test_columns_and_values(self, audience):
        q = quality_report(audience)
        assert list(q.index) == list(audience.columns.index)
        assert q.loc["noise", "missing_share"] == pytest.approx(0.1)
        assert q.loc["group", "distinct"] == 3
        top = audience.table["group"].value_counts()
        assert q.loc["group", "top_level"] == top.index[0]
        assert q.loc["group", "top_share"] == pytest.approx(top.iloc[0] / 400)
        assert q.loc["x", "min"] == pytest.approx(audience.table["x"].min())
        assert q.loc["band", "min"] == 0 and q.loc["band", "max"] == 2  # level positions
        assert np.isnan(q.loc["group", "outlier_share"])

    def test_outliers_by_the_iqr_rule(self):
        s = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 100, -50], dtype=float)
        assert iqr_outliers(s).sum() == 2
        aud = make_audience(pd.DataFrame({"id": list("abcdefghij"), "v": s}), {"v": "numeric"})
        assert quality_report(aud).loc["v", "outlier_share"] == pytest.approx(0.2)

    def test_text_values_are_never_shown(self, audience):
        q = quality_report(audience)
        assert q.loc["comment", "top_level"] != "secret mail a@b.org"
        assert "a@b.org" not in q.to_string()
        assert q.loc["comment", "median"] == len("secret mail a@b.org")


class TestRawAssociations:
    def test_methods_and_values(self, audience):
        a = raw_associations(audience, sample=None)
        assert a.loc["x", "x_cubed"] == pytest.approx(1.0)
        assert abs(a.loc["x", "noise"]) < 0.2
        assert a.loc["group", "group_copy"] == pytest.approx(1.0)
        assert a.loc["group", "by_group"] == pytest.approx(1.0)
        assert a.loc["group", "x"] < 0.2
        method = a.attrs["method"]
        assert method.loc["x", "noise"] == "spearman"
        assert method.loc["group", "group_copy"] == "cramers_v"
        assert method.loc["group", "x"] == "correlation_ratio"
        assert "comment" not in a.index  # text is not a variable here
        np.testing.assert_allclose(a.to_numpy(), a.to_numpy().T)

    def test_sample_is_seeded(self, audience):
        a = raw_associations(audience, sample=100, random_state=3)
        b = raw_associations(audience, sample=100, random_state=3)
        c = raw_associations(audience, sample=100, random_state=4)
        pd.testing.assert_frame_equal(a, b)
        assert not a.equals(c)

    def test_unusable_columns_are_left_out(self, audience):
        audience.columns.loc["noise", "usable"] = False
        assert "noise" not in raw_associations(audience).index


class TestCharts:
    def test_missingness(self, audience):
        fig, ax = plt.subplots()
        out = plot_missingness(audience.table, columns=audience.columns, ax=ax)
        assert out is ax
        assert len(ax.patches) == len(audience.columns)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == list(audience.columns.index)
        heights = {lab: p.get_width() for lab, p in zip(labels, ax.patches, strict=True)}
        assert heights["noise"] == pytest.approx(0.1) and heights["x"] == 0
        assert ax.get_legend() is not None

    def test_missingness_only_missing(self, audience):
        ax = plot_missingness(audience, only_missing=True)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["noise"]

    def test_distributions_grid(self, audience):
        grid = plot_distributions(audience, sample=200, col_wrap=3)
        assert isinstance(grid, DistributionGrid)
        assert list(grid.axes_dict) == [c for c in audience.columns.index if c != "comment"]
        assert grid.axes_dict["group"].get_title() == "Group"
        assert len(grid.figure.axes) == len(grid.axes_dict)

    def test_distribution_panels_count_every_user(self, audience):
        grid = plot_distributions(audience, sample=None)
        for name, ax in grid.axes_dict.items():
            present = audience.table[name].dropna()
            kind = audience.columns.loc[name, "kind"]
            if kind == "numeric" and present.nunique() > 12:  # one step patch of counts
                (patch,) = ax.patches
                heights = patch.get_path().vertices[:, 1]
                assert heights.max() <= len(present)
                counts, _ = np.histogram(present.astype(float), bins="auto")
                if len(counts) <= 50:
                    assert heights.max() == counts.max()
            elif kind == "numeric":  # one bar per value
                assert sum(p.get_height() for p in ax.patches) == len(present)

    def test_distributions_warn_with_ax(self, audience):
        _, ax = plt.subplots()
        with pytest.warns(UserWarning, match="figure-level"):
            plot_distributions(audience, columns=["x"], ax=ax)

    def test_associations_heatmap(self, audience):
        a = raw_associations(audience)
        fig, ax = plt.subplots()
        out = plot_associations(a, ax=ax)
        assert out is ax and ax.get_title() == "Raw associations between variables"
        assert len(ax.collections) == 1
        assert [t.get_text() for t in ax.get_xticklabels()] == list(a.columns)
