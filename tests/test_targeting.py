"""Tests of toolkit.targeting: ranking by value and potential, reasons, the analyst's choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_correlation import make_audience
from toolkit.correlation import profile_segments
from toolkit.errors import ConfigError, DataError
from toolkit.outcomes import outcomes_by_segment
from toolkit.targeting import TARGET_COLUMNS, choose_targets, rank_targets

pytestmark = pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning")


@pytest.fixture(scope="module")
def inputs():
    table, cat, seg = make_audience(n=3000, seed=2)
    segments = pd.DataFrame({"user_id": table["user_id"], "segment": seg, "confidence": 0.9})
    profiles = profile_segments(table, segments, cat, n_boot=0)
    outcomes = outcomes_by_segment(table, segments, cat, n_boot=100)
    return segments, profiles, outcomes


def test_schema_and_ranking(inputs):
    segments, profiles, outcomes = inputs
    targets = rank_targets(outcomes, profiles, segments, n_targets=2)
    assert list(targets.columns) == TARGET_COLUMNS
    assert targets["rank"].tolist() == [1, 2, 3, 4]
    assert targets["score"].is_monotonic_decreasing
    assert targets["is_target"].tolist() == [True, True, False, False]
    sizes = segments["segment"].value_counts()
    by_seg = targets.set_index("segment")
    assert by_seg["size"].to_dict() == sizes.to_dict()
    assert by_seg["share"].sum() == pytest.approx(1.0)
    conv = outcomes[outcomes["metric"] == "conversion"].set_index("segment")["value"]
    pd.testing.assert_series_equal(
        by_seg["conversion"].sort_index(), conv, check_names=False, check_index_type=False
    )
    for col in ("value_score", "potential_score"):
        assert targets[col].between(0, 1).all()
    w = 0.4
    expected = (1 - w) * targets["value_score"] + w * targets["potential_score"]
    np.testing.assert_allclose(targets["score"], expected)


def test_value_and_potential_find_the_planted_segments(inputs):
    segments, profiles, outcomes = inputs
    targets = rank_targets(outcomes, profiles, segments).set_index("segment")
    # segment 1 (largest, converts best, spends most) leads on value
    assert targets["value_score"].idxmax() == 1 and targets.loc[1, "rank"] == 1
    assert targets.loc[1, "reason"].startswith("Value: the largest segment")
    # segment 2 (visits often, reaches checkout, rarely buys) leads on potential
    assert targets["potential_score"].idxmax() == 2
    assert targets.loc[2, "potential_score"] > 0.5
    assert targets.loc[2, "reason"].startswith("Potential: engaged but under-converting")
    assert targets.loc[[3, 4], "potential_score"].max() < 0.25


def test_satisfied_but_small():
    outcomes = pd.DataFrame(
        {
            "segment": [1, 2, 3, 1, 2, 3],
            "metric": ["conversion"] * 3 + ["satisfaction"] * 3,
            "value": [0.5, 0.5, 0.5, 3.5, 3.5, 4.6],
            "ci_low": np.nan,
            "ci_high": np.nan,
            "overall": [0.5] * 3 + [3.6] * 3,
            "n": 100,
        }
    )
    targets = rank_targets(outcomes, None, {1: 500, 2: 400, 3: 100}).set_index("segment")
    assert targets["potential_score"].idxmax() == 3
    assert (
        "satisfied but small (satisfaction 4.6 vs 3.6 overall, 10% of users)"
        in (targets.loc[3, "reason"])
    )


def test_weights_and_sizes_forms(inputs):
    segments, profiles, outcomes = inputs
    only_value = rank_targets(outcomes, profiles, segments, potential_weight=0.0)
    np.testing.assert_allclose(only_value["score"], only_value["value_score"])
    size_only = rank_targets(outcomes, profiles, segments["segment"].value_counts(),
                             potential_weight=0.0,
                             value_weights={"size": 1, "revenue": 0, "conversion": 0})  # fmt: skip
    assert size_only["segment"].tolist() == segments["segment"].value_counts().index.tolist()
    with_unsegmented = segments.assign(segment=np.where(np.arange(len(segments)) < 300, -1,
                                                        segments["segment"]))  # fmt: skip
    t = rank_targets(outcomes, profiles, with_unsegmented)
    assert t["share"].sum() == pytest.approx(1 - 300 / len(segments))
    with pytest.raises(ConfigError, match="potential_weight"):
        rank_targets(outcomes, profiles, segments, potential_weight=2)
    with pytest.raises(DataError, match="segment"):
        rank_targets(outcomes, profiles, segments.drop(columns="segment"))


def test_choose_targets_honours_the_analyst(inputs):
    segments, profiles, outcomes = inputs
    ranked = rank_targets(outcomes, profiles, segments, n_targets=1)
    default = choose_targets(ranked)
    pd.testing.assert_frame_equal(default, ranked)
    assert choose_targets(ranked, [])["is_target"].sum() == 1
    chosen = choose_targets(ranked, [4, 3])
    assert set(chosen.loc[chosen["is_target"], "segment"]) == {3, 4}
    assert chosen["rank"].tolist() == ranked["rank"].tolist()  # ranking unchanged
    assert ranked["is_target"].sum() == 1  # input not modified
    with pytest.raises(ConfigError, match=r"segment\(s\) \[9\] that do not exist"):
        choose_targets(ranked, [9])
