"""Acceptance: the default segmentation recovers the planted segments of the bundled sample.

The sample (``data-samples/shop``, 20,000 users) was generated with 6 planted, overlapping
segments; ``truth.csv`` holds them (tests only). The default settings of
:func:`toolkit.segmentation.segment_customers` must choose k = 6 by evidence and agree with the
truth at an adjusted Rand index of at least 0.85.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from toolkit.config import SAMPLE_DIR
from toolkit.errors import DataWarning

SPEC = SAMPLE_DIR / "report.yaml"
TRUTH = SAMPLE_DIR / "truth.csv"

pytestmark = pytest.mark.skipif(
    not (SPEC.is_file() and TRUTH.is_file()), reason="the bundled sample is not generated"
)


@pytest.fixture(scope="module")
def result():
    from toolkit.load import load_audience
    from toolkit.segmentation import segment_customers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the loader's notes on constant columns
        audience = load_audience(SPEC)
    seg = segment_customers(audience.table, audience.columns, n_segments="auto", random_state=0)
    truth = pd.read_csv(TRUTH, dtype={"user_id": str})
    id_col = audience.spec.id
    merged = audience.table[[id_col]].merge(truth, left_on=id_col, right_on="user_id", how="left")
    return audience, seg, merged["segment"]


def test_every_user_has_a_planted_segment(result):
    audience, _, truth = result
    assert len(truth) == len(audience.table) == 20_000
    assert truth.notna().all()
    assert truth.nunique() == 6


def test_recommended_k_is_the_planted_number(result):
    _, seg, truth = result
    assert seg.recommended_k_ == truth.nunique() == 6
    assert seg.n_segments_ == 6
    assert seg.recommended_reason_.startswith("6 segments")


def test_recovers_planted_segments(result):
    _, seg, truth = result
    ari = adjusted_rand_score(truth, seg.labels_)
    assert ari >= 0.85, f"ARI {ari:.3f} against truth.csv"


def test_each_planted_segment_maps_to_its_own_segment(result):
    """Each planted segment's majority lands in a different found segment."""
    _, seg, truth = result
    table = pd.crosstab(truth, seg.labels_)
    majority = table.idxmax(axis=1)
    assert majority.nunique() == 6
    assert (table.max(axis=1) / table.sum(axis=1)).min() >= 0.8
