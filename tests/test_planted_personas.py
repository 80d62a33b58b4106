"""Acceptance on the bundled sample: personas of the planted segments, and faithfulness.

Segments are the planted ``truth.csv`` labels numbered 1..6 by size (as the segmentation engine
numbers them). The analysis tables come from :mod:`toolkit.correlation`, :mod:`toolkit.findings`,
:mod:`toolkit.outcomes` and :mod:`toolkit.targeting`, as in the report's notebook 02.

* the "trendsetters" persona is a woman in her 20s in a big city who shops in the evening and is
  very satisfied;
* the "hesitant" persona is a woman in her 40s whose frustrations include trust and checkout;
* every claim of every persona holds when re-derived from the data; no first name of the users
  file is used; the outputs hold no personal data.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from toolkit.config import SAMPLE_DIR
from toolkit.errors import DataWarning

SPEC = SAMPLE_DIR / "report.yaml"
TRUTH = SAMPLE_DIR / "truth.csv"

pytestmark = [
    pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning"),
    pytest.mark.skipif(
        not (SPEC.is_file() and TRUTH.is_file()), reason="the bundled sample is not generated"
    ),
]


@pytest.fixture(scope="module")
def run():
    from toolkit.correlation import profile_segments
    from toolkit.findings import distinguishing_findings
    from toolkit.load import load_audience
    from toolkit.outcomes import outcomes_by_segment
    from toolkit.personas import build_personas, names_in_data
    from toolkit.spec import load_spec
    from toolkit.targeting import rank_targets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        spec = load_spec(SPEC)
        audience = load_audience(spec)
    truth = pd.read_csv(TRUTH, dtype={"user_id": str})
    numbers = {name: i + 1 for i, name in enumerate(truth["segment"].value_counts().index)}
    segments = pd.DataFrame(
        {"user_id": truth["user_id"], "segment": truth["segment"].map(numbers), "confidence": 1.0}
    )
    table, columns = audience.table, audience.columns
    profiles = profile_segments(table, segments, columns, n_boot=200)
    findings = distinguishing_findings(profiles, columns=columns)
    outcomes = outcomes_by_segment(table, segments, columns, n_boot=200)
    targets = rank_targets(outcomes, profiles, segments)
    forbidden = names_in_data(spec)
    personas = build_personas(
        table,
        segments,
        columns,
        profiles,
        findings,
        outcomes,
        targets,
        all_segments=True,
        forbidden_names=forbidden,
    )
    return audience, segments, numbers, personas, forbidden


def test_every_planted_segment_gets_a_persona(run):
    _, _, numbers, personas, _ = run
    assert sorted(p.segment for p in personas) == sorted(numbers.values())
    assert personas.skipped == []


def test_trendsetters_persona(run):
    _, _, numbers, personas, _ = run
    p = personas.by_segment(numbers["trendsetters"])
    assert p.gender == "female"
    assert 20 <= p.age <= 29
    assert p.place == "big city"
    evening = [c for c in p.claims("behaviours") if c.variable == "share_evening"]
    assert evening and evening[0].direction == "higher" and "evening" in evening[0].text
    satisfied = [c for c in p.claims("goals") if c.variable == "satisfaction"]
    assert satisfied and satisfied[0].value >= 4.2 and "very" in satisfied[0].text.lower()
    assert "evening" in p.about


def test_hesitant_persona(run):
    _, _, numbers, personas, _ = run
    p = personas.by_segment(numbers["hesitant"])
    assert p.gender == "female"
    assert 40 <= p.age <= 49
    frustrations = p.claims("frustrations")
    assert any(c.variable == "trust" and c.direction == "lower" for c in frustrations)
    assert any(c.variable == "dropout_step" and c.level == "checkout" for c in frustrations)
    text = " ".join(p.frustrations).lower()
    assert "trust" in text and "checkout" in text


def test_personas_are_faithful(run):
    from toolkit.personas import check_faithfulness

    audience, segments, _, personas, _ = run
    out = check_faithfulness(personas, audience.table, segments, audience.columns)
    assert out.empty, out.to_string()


def test_outputs_hold_no_personal_data(run):
    from toolkit.personas import personas_to_json, personas_to_markdown
    from toolkit.privacy import contains_pii

    audience, _, _, personas, forbidden = run
    assert len(forbidden) > 20  # the users file's first names
    for p in personas:
        assert p.name not in forbidden
        assert p.quote and not contains_pii(p.quote)
    texts = personas_to_json(personas) + personas_to_markdown(personas)
    assert "@example." not in texts and "<script" not in texts
    assert not re.search(r"\+49|\b01[5-7]\d[ -]?\d{4,}|\(0\)30", texts)  # planted phones
    ids = audience.table[audience.id].sample(200, random_state=0)
    assert not any(f'"{uid}"' in texts for uid in ids)


REAL_ROOT = SAMPLE_DIR.parents[1].parent / "shared" / "datasets" / "real"
REAL_SPECS = sorted((SAMPLE_DIR.parents[1] / "tests" / "specs").glob("*.yaml"))


@pytest.mark.real
@pytest.mark.parametrize("spec_path", REAL_SPECS, ids=lambda p: p.stem)
def test_personas_of_real_datasets_are_faithful(spec_path):
    """Every persona of every real dataset (4 segments of the default engine) holds."""
    if not (REAL_ROOT / spec_path.stem).is_dir():
        pytest.skip(f"../shared/datasets/real/{spec_path.stem} is not present in this clone")
    from toolkit.load import load_audience
    from toolkit.personas import build_personas, check_faithfulness
    from toolkit.privacy import check_html_safe
    from toolkit.render import render_persona_cards
    from toolkit.segmentation import segment_customers
    from toolkit.spec import DataSpec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        audience = load_audience(DataSpec.from_yaml(spec_path, base_dir=REAL_ROOT))
        seg = segment_customers(
            audience.table, audience.columns, n_segments=4, random_state=0, sweep=False
        )
        segments = seg.segments_table(audience.table)
        personas = build_personas(audience.table, segments, audience.columns, all_segments=True)
    assert len(personas) >= 2
    for p in personas:
        assert p.headline and p.about and p.evidence
    out = check_faithfulness(personas, audience.table, segments, audience.columns)
    assert out.empty, out.to_string()
    assert check_html_safe(render_persona_cards(personas)) == []
