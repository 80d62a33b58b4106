"""False discoveries are controlled: with segment labels shuffled at random, the pipeline
(profile_segments -> distinguishing_findings, default settings) reports no finding in at least
19 of 20 seeds - on a synthetic audience and on the 1,500-user sample read by the loader.

Each test also checks that it can fail: the same data with the true labels gives findings, and
without the multiplicity correction the shuffled labels would give "findings" in most seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_correlation import make_audience
from toolkit.correlation import profile_segments
from toolkit.findings import distinguishing_findings

pytestmark = pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning")

SEEDS = range(20)


def _shuffled_runs(table, columns, labels):
    """Per seed: (findings reported, rows with an uncorrected p < 0.05).

    Intervals play no part in the decision, so the bootstrap is skipped (n_boot=0) for speed.
    """
    out = []
    for seed in SEEDS:
        shuffled = np.random.default_rng(seed).permutation(labels)
        prof = profile_segments(table, shuffled, columns, n_boot=0, random_state=seed)
        findings = distinguishing_findings(prof, columns=columns)
        out.append((len(findings), int((prof["p"] < 0.05).sum())))
    return out


def _assert_controlled(table, columns, labels):
    runs = _shuffled_runs(table, columns, labels)
    clean = sum(n == 0 for n, _ in runs)
    assert clean >= 19, f"findings per seed with shuffled labels: {[n for n, _ in runs]}"
    # chance alone does produce "differences": uncorrected p < 0.05 in every seed
    assert all(u > 0 for _, u in runs), [u for _, u in runs]
    # and the same pipeline does find the segments' real differences
    prof = profile_segments(table, labels, columns, n_boot=0)
    findings = distinguishing_findings(prof, columns=columns)
    assert len(findings) >= 10 and findings["segment"].nunique() == len(np.unique(labels))
    return findings


def test_synthetic_audience_with_shuffled_segments():
    table, cat, seg = make_audience(n=1500, seed=11)
    findings = _assert_controlled(table, cat, seg)
    trust = findings[(findings["segment"] == 2) & (findings["variable"] == "trust")]
    assert len(trust) == 1 and trust["direction"].iloc[0] == "lower"


def test_small_sample_with_shuffled_truth_labels(small_sample_dir):
    load = pytest.importorskip("toolkit.load")
    spec_mod = pytest.importorskip("toolkit.spec")
    config = small_sample_dir / "report.yaml"
    if not config.is_file():
        pytest.skip("the bundled report.yaml (data spec of the sample) is not present")
    audience = load.load_audience(spec_mod.load_spec(config))
    truth = pd.read_csv(small_sample_dir / "truth.csv", dtype={"user_id": str})
    numbers = {name: i + 1 for i, name in enumerate(truth["segment"].value_counts().index)}
    labels = truth.set_index("user_id")["segment"].map(numbers)
    labels = labels.reindex(audience.table[audience.id]).to_numpy()
    assert not np.isnan(labels).any()
    _assert_controlled(audience.table, audience.columns, labels.astype(int))
