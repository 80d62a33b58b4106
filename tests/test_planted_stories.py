"""The planted stories of the bundled sample are found (issue 5 acceptance).

Segments are the planted ``truth.csv`` labels (numbered 1..6 by size, like the segmentation
engine numbers its segments) and, independently, the segments of
:func:`toolkit.segmentation.segment_customers` matched to the planted ones by majority:

* the fashion-loving evening segment ("trendsetters") has the highest conversion and the
  highest satisfaction;
* the "hesitant" segment is flagged as engaged but not converting, drops out at checkout and
  has significantly lower trust (q < 0.05; trust is an opinion, not a base, so it is evidence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.config import SAMPLE_CONFIG, SAMPLE_DIR
from toolkit.correlation import profile_segments
from toolkit.findings import check_sentence, distinguishing_findings, scales_from_columns
from toolkit.outcomes import engaged_not_converting, funnel_by_segment, outcomes_by_segment
from toolkit.targeting import rank_targets

pytestmark = [
    pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning"),
    pytest.mark.skipif(
        not (SAMPLE_DIR / "truth.csv").is_file() or not SAMPLE_CONFIG.is_file(),
        reason="the bundled sample is not generated",
    ),
]


@pytest.fixture(scope="module")
def audience():
    load = pytest.importorskip("toolkit.load")
    spec = pytest.importorskip("toolkit.spec")
    return load.load_audience(spec.load_spec(SAMPLE_CONFIG))


@pytest.fixture(scope="module")
def truth(audience):
    truth = pd.read_csv(SAMPLE_DIR / "truth.csv", dtype={"user_id": str})
    numbers = {name: i + 1 for i, name in enumerate(truth["segment"].value_counts().index)}
    segments = pd.DataFrame(
        {"user_id": truth["user_id"], "segment": truth["segment"].map(numbers)}
    )
    return segments, numbers


@pytest.fixture(scope="module")
def engine(audience, truth):
    seg_mod = pytest.importorskip("toolkit.segmentation")
    if not hasattr(seg_mod, "segment_customers"):
        pytest.skip("toolkit.segmentation.segment_customers is not available")
    segmenter = seg_mod.segment_customers(
        audience.table, audience.columns, n_segments=6, random_state=0, sweep=False
    )
    segments = segmenter.segments_table(audience.table)
    planted = pd.read_csv(SAMPLE_DIR / "truth.csv", dtype={"user_id": str})
    both = segments.merge(planted, on="user_id", suffixes=("", "_truth"))
    majority = both.groupby("segment")["segment_truth"].agg(lambda s: s.value_counts().index[0])
    names = {name: int(seg) for seg, name in majority.items() if seg >= 0}
    return segments, names, list(getattr(segmenter, "base_columns_", None) or [])


def _check_stories(audience, segments, trend: int, hesitant: int, bases=None):
    table, cols = audience.table, audience.columns
    outcomes = outcomes_by_segment(table, segments, cols, n_boot=200)
    by = outcomes.pivot(index="segment", columns="metric", values="value")
    assert by["conversion"].idxmax() == trend, by["conversion"]
    assert by["satisfaction"].idxmax() == trend, by["satisfaction"]

    engaged = engaged_not_converting(table, segments, cols).set_index("segment")
    assert engaged.loc[hesitant, "engaged_not_converting"], engaged.loc[hesitant]
    assert engaged["engaged_not_converting"].sum() == 1

    funnel = funnel_by_segment(table, segments, cols)
    drop = funnel[funnel["is_dropout_step"]].set_index("segment")["step"]
    assert drop[hesitant] == "checkout"

    prof = profile_segments(table, segments, cols, bases=bases, n_boot=200)
    trust = prof[(prof["segment"] == hesitant) & (prof["variable"] == "trust")].iloc[0]
    assert not trust["is_base"] and trust["evidence"] == "test"
    assert trust["q"] < 0.05 and trust["significant"]
    assert trust["value"] < trust["overall"] - 1 and trust["effect"] < -0.5
    assert trust["ci_high"] < trust["overall"]
    return prof, outcomes


def test_stories_with_planted_labels(audience, truth):
    segments, numbers = truth
    trend, hesitant = numbers["trendsetters"], numbers["hesitant"]
    prof, outcomes = _check_stories(audience, segments, trend, hesitant)
    # the numbers behind the acceptance, for the record
    trust = prof[(prof["segment"] == hesitant) & (prof["variable"] == "trust")].iloc[0]
    assert trust["value"] == pytest.approx(1.95, abs=0.15)
    # findings: every sentence is faithful to its profile row; low trust is among hesitant's
    findings = distinguishing_findings(prof, columns=audience.columns)
    scales = scales_from_columns(audience.columns)
    rows = findings.merge(prof, on=["segment", "variable", "level"], suffixes=("", "_p"))
    for r in rows.to_dict("records"):
        assert check_sentence(r, scale=scales.get(r["variable"])) == [], r["sentence"]
    hes = findings[findings["segment"] == hesitant]
    assert "trust" in set(hes["variable"])
    assert "trust 1.9 of 5" in " ".join(hes["sentence"]) or "1.9 out of 5" in " ".join(
        hes["sentence"]
    )
    # targeting: the best customers lead on value, the hesitant on potential
    targets = rank_targets(outcomes, prof, segments).set_index("segment")
    assert targets["value_score"].idxmax() == trend
    assert targets["potential_score"].idxmax() == hesitant
    assert targets.loc[trend, "is_target"]


def test_stories_with_engine_segments(audience, engine):
    segments, names, bases = engine
    assert {"trendsetters", "hesitant"} <= set(names), names
    _check_stories(
        audience, segments, names["trendsetters"], names["hesitant"], bases=bases or None
    )
    assert np.isin(segments["segment"], list(range(1, 7)) + [-1]).all()
