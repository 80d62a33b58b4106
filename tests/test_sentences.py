"""Every number in a generated sentence equals the number in the profile table.

The check here is independent of the sentence writer: each number is read from the sentence
with its displayed precision and compared with the profile row's value, overall value, ratio
(index / 100), distance from average (|index - 100| %) or answer scale, rounded to that precision.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.test_correlation import make_audience
from toolkit.correlation import profile_segments
from toolkit.findings import (
    FINDINGS_COLUMNS,
    check_sentence,
    distinguishing_findings,
    scales_from_columns,
    sentence_numbers,
    write_sentence,
)

pytestmark = pytest.mark.filterwarnings("ignore::toolkit.errors.DataWarning")

NUMBER = re.compile(r"(?<![\w.,])-?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w%])")


def _numbers(sentence: str, row: dict) -> list[str]:
    """Number tokens of ``sentence`` outside quoted levels, the label and the level."""
    text = re.sub(r"“[^”]*”", " ", sentence)
    for name in sorted({str(row["label"]), str(row["level"])}, key=len, reverse=True):
        if name:
            text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return NUMBER.findall(text.rstrip("."))


def _shown(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def _explain(token: str, row: dict, scale) -> str | None:
    """Which number of the row ``token`` shows at its precision (None: not in the row)."""
    percent = token.endswith("%")
    digits = token.rstrip("%").replace(",", "")
    d = len(digits.split(".")[1]) if "." in digits else 0
    candidates = {}
    if percent:
        candidates["value"] = 100 * row["value"]
        candidates["overall"] = 100 * row["overall"]
        if np.isfinite(row["index"]):
            candidates["diff"] = abs(row["index"] - 100)
    else:
        candidates["value"] = row["value"]
        candidates["overall"] = row["overall"]
        if np.isfinite(row["index"]):
            candidates["ratio"] = row["index"] / 100
        if scale is not None:
            candidates["scale_min"], candidates["scale_max"] = scale
    for what, x in candidates.items():
        if _shown(x, d) == digits:
            return what
    return None


def _assert_faithful(sentence: str, row: dict, scale) -> None:
    tokens = _numbers(sentence, row)
    assert tokens, sentence
    seen = {}
    for t in tokens:
        what = _explain(t, row, scale)
        assert what is not None, f"{t!r} in {sentence!r} is not a number of the profile row {row}"
        seen[what] = t
    # every sentence compares the segment with the audience, at the same precision
    assert {"value", "overall"} <= set(seen), sentence
    dec = [
        len(seen[k].rstrip("%").split(".")[1]) if "." in seen[k] else 0
        for k in ("value", "overall")
    ]
    assert dec[0] == dec[1], sentence
    # and the two displayed numbers point the same way as the row
    assert seen["value"] != seen["overall"], sentence


@pytest.fixture(scope="module")
def audience():
    table, cat, seg = make_audience(n=2500, seed=5)
    # extra shapes: digits in levels and labels, tiny shares, large money, negative values
    rng = np.random.default_rng(9)
    table["plan"] = rng.choice(["Plan 2024", "Basic 9", "Pro"], len(table), p=[0.6, 0.39, 0.01])
    table["balance"] = rng.normal(-50, 400, len(table)) + 300 * (seg == 1)
    table["lifetime_value"] = rng.lognormal(8, 1, len(table)) * np.where(seg == 2, 3, 1)
    extra = pd.DataFrame(
        {
            "role": ["outcome", "outcome", "outcome"],
            "kind": ["categorical", "numeric", "numeric"],
            "label": ["Plan (since 2020)", "Balance", "Lifetime value"],
        },
        index=pd.Index(["plan", "balance", "lifetime_value"], name="column"),
    )
    return table, pd.concat([cat, extra]), seg


@pytest.fixture(scope="module")
def profile(audience):
    table, cat, seg = audience
    return profile_segments(table, seg, cat, n_boot=100)


def test_every_profile_row_gives_a_faithful_sentence(audience, profile):
    _, cat, _ = audience
    scales = scales_from_columns(cat)
    assert scales["trust"] == (1.0, 5.0) and scales["furthest_step"] == (1.0, 5.0)
    checked = 0
    for row in profile.to_dict("records"):
        if not (np.isfinite(row["value"]) and np.isfinite(row["overall"])):
            continue
        if row["value"] == row["overall"]:
            continue
        sentence = write_sentence(row, scale=scales.get(row["variable"]))
        _assert_faithful(sentence, row, scales.get(row["variable"]))
        assert check_sentence(row, sentence, scale=scales.get(row["variable"])) == []
        checked += 1
    assert checked > 100


def test_findings_sentences_match_the_profile_table(audience, profile):
    _, cat, _ = audience
    findings = distinguishing_findings(profile, columns=cat)
    assert list(findings.columns) == FINDINGS_COLUMNS
    assert len(findings) >= 12
    scales = scales_from_columns(cat)
    merged = findings.merge(profile, on=["segment", "variable", "level"], suffixes=("", "_p"))
    assert len(merged) == len(findings)
    for col in ("value", "overall", "index", "effect", "q", "label", "role", "is_base"):
        pd.testing.assert_series_equal(merged[col], merged[f"{col}_p"], check_names=False)
    for row in merged.to_dict("records"):
        _assert_faithful(row["sentence"], row, scales.get(row["variable"]))
        expected = "higher" if row["effect"] > 0 else "lower"
        assert row["direction"] == expected


def test_sentences_read_naturally_and_vary(profile, audience):
    _, cat, _ = audience
    scales = scales_from_columns(cat)
    rows = [r for r in profile.to_dict("records") if r["value"] != r["overall"]]
    sentences = [write_sentence(r, scale=scales.get(r["variable"])) for r in rows]
    shapes = {NUMBER.sub("#", s) for s in sentences}
    assert len(shapes) >= 40  # varied phrasing, not one template
    for s in sentences:
        assert (
            (s[0].isupper() or s[0].isdigit())
            and s.endswith(".")
            and "  " not in s
            and "{" not in s
        )
        assert "nan" not in s.lower().split()


@pytest.mark.parametrize(
    ("row", "scale", "expected"),
    [
        (
            {"variable": "reached_checkout", "kind": "binary", "role": "outcome",
             "label": "Reached checkout", "value": 0.7104, "overall": 0.3421, "index": 207.7,
             "segment": 19},
            None,
            "71% reach checkout vs 34% overall.",
        ),
        (
            {"variable": "sessions", "kind": "numeric", "role": "behaviour", "label": "Sessions",
             "value": 12.43, "overall": 5.91, "index": 210.3},
            None,
            "They visit 2.1 times as often as average (12.4 vs 5.9 sessions).",
        ),
        (
            {"variable": "trust", "kind": "ordinal", "role": "opinion", "label": "Trust",
             "value": 2.07, "overall": 3.79, "index": 54.6, "segment": 2},
            (1, 5),
            "They rate trust only 2.1 of 5 vs 3.8 overall.",
        ),
        (
            {"variable": "gender", "level": "female", "kind": "categorical",
             "role": "demographic", "label": "Gender", "value": 0.634, "overall": 0.18,
             "index": 352.2, "segment": 1},
            None,
            "63% are women vs 18% overall.",
        ),
    ],
)  # fmt: skip
def test_examples_from_the_issue(row, scale, expected):
    row = {"segment": 1, "level": "", **row}
    assert write_sentence(row, scale=scale) == expected
    assert check_sentence(row, expected, scale=scale) == []


def test_checker_catches_a_wrong_number():
    row = {"segment": 1, "variable": "purchased", "level": "", "kind": "binary", "role": "outcome",
           "label": "Purchased", "value": 0.09, "overall": 0.34, "index": 26.5}  # fmt: skip
    sentence = write_sentence(row)
    assert check_sentence(row, sentence) == []
    wrong = sentence.replace("9%", "8%")
    assert wrong != sentence and check_sentence(row, wrong) == ["8%"]
    assert sentence_numbers("Plan “Basic 9”: 12% vs 3.5% overall.") == ["12%", "3.5%"]


def test_equal_looking_numbers_get_more_decimals():
    row = {"segment": 1, "variable": "x", "level": "", "kind": "numeric", "role": "outcome",
           "label": "Score", "value": 2.04, "overall": 2.01, "index": 101.5}  # fmt: skip
    assert sentence_numbers(write_sentence(row), row) == ["2.04", "2.01"]
    share = {**row, "kind": "binary", "value": 0.3404, "overall": 0.3396, "index": 100.2}
    assert sentence_numbers(write_sentence(share), share) == ["34.04%", "33.96%"]
