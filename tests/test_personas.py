"""Personas from data: claims backed by statistics, privacy, names, prevalence, faithfulness.

The fixture is a small planted audience following the contract's table schemas: a fashion-loving
evening segment of young women in big cities (1), a hesitant segment of women in their 40s with
low trust who drop out at checkout (2), a mixed segment (3) and a segment too small for a persona
(4). Profiles, findings, outcomes and targets come from the analysis modules.
"""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ConfigError, DataWarning
from toolkit.personas import (
    PERSONA_SET_SCHEMA,
    PersonaSet,
    build_personas,
    check_faithfulness,
    choose_name,
    personas_from_json,
    personas_to_json,
    personas_to_markdown,
)

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SIZES = {1: 400, 2: 300, 3: 160, 4: 20}

_PHRASES = {
    1: [
        "love the new collection",
        "the dresses fit perfectly",
        "I browse every evening after work",
        "great beauty brands",
        "returns are easy",
    ],
    2: [
        "I am not sure my payment data is safe",
        "I stopped at checkout because I did not trust the payment page",
        "shipping costs only show up at checkout",
        "please offer invoice",
        "I hesitate before paying",
    ],
    3: ["it was ok", "nothing special", "fine", "good prices on sale items"],
    4: ["ok shop"],
}


def make_audience(seed: int = 7, plants: bool = True):
    """A planted audience: (table, column catalogue, segments table)."""
    rng = np.random.default_rng(seed)
    seg = np.repeat(list(SIZES), list(SIZES.values()))
    n = seg.size
    s1, s2, s3 = seg == 1, seg == 2, seg == 3

    def choice(levels, probs_by_seg):
        out = np.empty(n, dtype=object)
        for s, probs in probs_by_seg.items():
            m = seg == s
            out[m] = rng.choice(levels, size=int(m.sum()), p=probs)
        return out

    age = np.where(
        s1, rng.integers(21, 30, n), np.where(s2, rng.integers(41, 50, n), rng.integers(20, 75, n))
    )
    gender = choice(
        ["female", "male", "diverse"],
        {1: [0.86, 0.11, 0.03], 2: [0.8, 0.18, 0.02], 3: [0.45, 0.52, 0.03], 4: [0.5, 0.5, 0]},
    )
    city = choice(
        ["big city", "town", "rural"],
        {1: [0.82, 0.13, 0.05], 2: [0.3, 0.45, 0.25], 3: [0.3, 0.4, 0.3], 4: [0.4, 0.3, 0.3]},
    )
    device = choice(
        ["mobile", "desktop", "tablet"],
        {1: [0.9, 0.07, 0.03], 2: [0.08, 0.88, 0.04], 3: [0.4, 0.4, 0.2], 4: [0.4, 0.4, 0.2]},
    )
    plan = choice(
        ["<i>gold</i>", "basic"], {1: [0.7, 0.3], 2: [0.2, 0.8], 3: [0.2, 0.8], 4: [0.5, 0.5]}
    )
    evening = np.clip(np.where(s1, rng.normal(0.65, 0.12, n), rng.normal(0.25, 0.1, n)), 0, 1)
    afternoon = np.clip(np.where(s2, rng.normal(0.6, 0.12, n), rng.normal(0.25, 0.1, n)), 0, 1)
    fashion = np.clip(np.where(s1, rng.normal(0.45, 0.1, n), rng.normal(0.15, 0.08, n)), 0, 1)
    sessions = np.where(s2, rng.poisson(15, n), rng.poisson(8, n)).astype(float)
    satisfaction = np.where(
        s1,
        rng.choice([4, 5], n, p=[0.3, 0.7]),
        np.where(s2, rng.choice([2, 3, 4], n), rng.choice([3, 4], n)),
    ).astype(float)
    trust = np.where(s2, rng.choice([1, 2], n), rng.choice([3, 4, 5], n)).astype(float)
    answered = rng.random(n) < 0.6
    satisfaction[~answered] = np.nan
    trust[~answered] = np.nan
    reached = (rng.random(n) < np.where(s2, 0.98, np.where(s1, 0.95, 0.7))).astype(int)
    purchased = (rng.random(n) < np.where(s1, 0.92, np.where(s2, 0.3, 0.55))).astype(int)
    purchased = np.minimum(purchased, reached)
    dropout = choice(
        ["product_view", "checkout", "none"],
        {1: [0.8, 0.1, 0.1], 2: [0.35, 0.65, 0.0], 3: [0.85, 0.13, 0.02], 4: [0.9, 0.1, 0]},
    )
    orders = np.where(purchased == 1, rng.poisson(np.where(s1, 3, 1), n) + 1, 0)
    revenue = np.where(orders > 0, orders * rng.gamma(4, 20, n), 0.0)
    comments = np.empty(n, dtype=object)
    for i in range(n):
        if rng.random() < 0.55:
            pool = _PHRASES[int(seg[i])]
            k = min(int(rng.integers(1, 3)), len(pool))
            comments[i] = ", ".join(rng.choice(pool, size=k, replace=False))
        else:
            comments[i] = None
    if plants:
        idx1 = np.flatnonzero(s1)
        comments[idx1[0]] = f"love the new collection, mail me at {EMAIL}"
        comments[idx1[1]] = f"great beauty brands, call {PHONE}"
        comments[idx1[2]] = f"love the new collection {SCRIPT}"
        comments[idx1[3]] = f"the dresses fit perfectly {IMG}"
        comments[idx1[4]] = "My name is Emily and I love the new collection"
        # every comment of segment 3 holds personal data or markup: its quote must be scrubbed
        idx3 = np.flatnonzero(s3)
        for j, i in enumerate(idx3):
            comments[i] = [
                f"it was ok, nothing special, write to {EMAIL}",
                f"good prices on sale items, ring me on {PHONE}",
                f"fine {SCRIPT}",
                f"nothing special {IMG}",
            ][j % 4]
    table = pd.DataFrame(
        {
            "user_id": [f"U{i:05d}" for i in range(1, n + 1)],
            "age": age,
            "gender": gender,
            "city_size": city,
            "device": device,
            "plan": plan,
            "satisfaction": satisfaction,
            "trust": trust,
            "comment": comments,
            "sessions": sessions,
            "share_evening": evening,
            "share_afternoon": afternoon,
            "share_cat_fashion": fashion,
            "reached_checkout": reached,
            "purchased": purchased,
            "dropout_step": dropout,
            "orders": orders,
            "revenue": revenue,
        }
    )
    spec = {
        "age": ("demographic", "numeric", None, "Age"),
        "gender": ("demographic", "categorical", None, "Gender"),
        "city_size": ("demographic", "categorical", None, "City size"),
        "device": ("demographic", "categorical", None, "Device"),
        "plan": ("demographic", "categorical", None, "Plan"),
        "satisfaction": ("opinion", "ordinal", (1, 5), "Satisfaction"),
        "trust": ("opinion", "ordinal", (1, 5), "Trust"),
        "comment": ("text", "text", None, "Comment"),
        "sessions": ("behaviour", "numeric", None, "Sessions"),
        "share_evening": ("behaviour", "numeric", None, "Share of evening activity (18-24h)"),
        "share_afternoon": ("behaviour", "numeric", None, "Share of afternoon activity (12-18h)"),
        "share_cat_fashion": ("behaviour", "numeric", None, "Share of fashion views"),
        "reached_checkout": ("outcome", "binary", None, "Reached checkout"),
        "purchased": ("outcome", "binary", None, "Purchased"),
        "dropout_step": ("outcome", "categorical", None, "Usual drop-out step"),
        "orders": ("outcome", "numeric", None, "Orders"),
        "revenue": ("outcome", "numeric", None, "Revenue"),
    }
    columns = pd.DataFrame(
        {
            "role": [v[0] for v in spec.values()],
            "kind": [v[1] for v in spec.values()],
            "scale_min": [v[2][0] if v[2] else np.nan for v in spec.values()],
            "scale_max": [v[2][1] if v[2] else np.nan for v in spec.values()],
            "order": [None] * len(spec),
            "label": [v[3] for v in spec.values()],
        },
        index=pd.Index(list(spec), name="column"),
    )
    segments = pd.DataFrame(
        {"user_id": table["user_id"], "segment": seg, "confidence": np.ones(n)}
    )
    return table, columns, segments


def analyse(table, columns, segments):
    """profiles, findings, outcomes, targets as the run's notebook 02 writes them."""
    from toolkit.correlation import profile_segments
    from toolkit.findings import distinguishing_findings
    from toolkit.outcomes import outcomes_by_segment
    from toolkit.targeting import rank_targets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        prof = profile_segments(table, segments, columns, n_boot=100)
        findings = distinguishing_findings(prof, columns=columns)
        outcomes = outcomes_by_segment(table, segments, columns, n_boot=100)
        targets = rank_targets(outcomes, prof, segments)
    return prof, findings, outcomes, targets


@pytest.fixture(scope="module")
def audience():
    table, columns, segments = make_audience()
    return table, columns, segments, analyse(table, columns, segments)


def build(audience, **kwargs):
    table, columns, segments, (prof, findings, outcomes, targets) = audience
    kwargs.setdefault("all_segments", True)
    return build_personas(table, segments, columns, prof, findings, outcomes, targets, **kwargs)


@pytest.fixture(scope="module")
def personas(audience):
    return build(audience)


def faith(personas, audience):
    table, columns, segments, _ = audience
    return check_faithfulness(personas, table, segments, columns)


# --------------------------------------------------------------------------------------------
class TestBuildPersonas:
    def test_one_persona_per_large_segment(self, personas):
        assert [p.segment for p in personas] == [1, 2, 3]
        assert [p.size for p in personas] == [400, 300, 160]
        assert personas[0].share == pytest.approx(400 / 880)

    def test_small_segment_is_skipped_with_its_reason(self, personas):
        skipped = personas.skipped_table()
        assert skipped["segment"].tolist() == [4]
        row = skipped.iloc[0]
        assert row["code"] == "too_small" and row["size"] == 20
        assert "20 users" in row["reason"] and "minimum of 50" in row["reason"]
        with pytest.raises(KeyError, match="fewer than the minimum"):
            personas.by_segment(4)
        assert "Segment 4 has 20 users" in personas.explain()

    def test_min_size_is_a_parameter(self, audience):
        ps = build(audience, min_size=170)
        assert [p.segment for p in ps] == [1, 2]
        assert {s["segment"]: s["code"] for s in ps.skipped} == {3: "too_small", 4: "too_small"}

    def test_targets_only_by_default(self, audience):
        ps = build(audience, all_segments=False)
        targets = audience[3][3]
        chosen = sorted(int(s) for s in targets.loc[targets["is_target"], "segment"])
        assert sorted(p.segment for p in ps) == [s for s in chosen if SIZES[s] >= 50]
        codes = {s["segment"]: s["code"] for s in ps.skipped}
        assert all(codes[s] == "not_target" for s in SIZES if s not in chosen)
        reasons = " ".join(s["reason"] for s in ps.skipped)
        assert "=True" not in reasons  # read by managers: a setting, not Python syntax

    def test_fashion_persona_is_a_young_woman_in_a_big_city_in_the_evening(self, personas):
        p = personas.by_segment(1)
        assert p.gender == "female" and p.pronoun == "she"
        assert 21 <= p.age <= 29
        assert p.place == "big city"
        evening = [c for c in p.claims("behaviours") if c.variable == "share_evening"]
        assert evening and evening[0].direction == "higher"
        assert "evening" in evening[0].text
        sat = [c for c in p.claims("goals") if c.variable == "satisfaction"]
        assert sat and sat[0].value > 4.2 and "very" in sat[0].text.lower()
        assert p.headline and p.name in p.about and str(p.age) in p.about

    def test_hesitant_persona_has_trust_and_checkout_frustrations(self, personas):
        p = personas.by_segment(2)
        assert p.gender == "female" and 41 <= p.age <= 49
        assert p.place is None  # no place dominates segment 2
        fr = p.claims("frustrations")
        assert any(c.variable == "trust" and c.direction == "lower" for c in fr)
        assert any(c.variable == "dropout_step" and c.level == "checkout" for c in fr)
        assert any("trust" in t.lower() for t in p.frustrations)
        assert any("checkout" in t.lower() for t in p.frustrations)

    def test_critical_comment_themes_are_frustrations(self, personas, audience):
        p = personas.by_segment(2)
        themes = [c for c in p.claims("frustrations") if c.statistic == "mentions"]
        assert len(themes) == 1
        t = themes[0]
        assert t.level in {"payment", "checkout", "trust", "safe", "paying", "invoice"}
        assert t.value > t.overall and t.q < 0.05 and t.effect >= 0.3
        assert t.text == f"Brings up “{t.level}” in critical comments"
        comments = audience[0].loc[audience[2]["segment"] == 2, "comment"].dropna()
        assert comments.str.lower().str.contains(t.level).mean() == pytest.approx(t.value)
        # segment 1's comments are positive: no complaint theme
        assert not [c for c in personas.by_segment(1).evidence if c.statistic == "mentions"]

    def test_mixed_segment_states_no_gender(self, personas):
        p = personas.by_segment(3)
        assert p.gender is None and p.pronoun == "they"
        assert any("Gender is not stated" in n for n in p.notes)

    def test_every_statement_has_evidence_above_the_thresholds(self, personas):
        alpha = personas.params["alpha"]
        for p in personas:
            for f in ("lifestyle", "behaviours", "goals", "frustrations", "channels"):
                texts = [c.text for c in p.claims(f)]
                assert getattr(p, f) == texts
            for c in p.evidence:
                assert c.detail, c
                if c.evidence == "test":
                    assert c.q < alpha and abs(c.effect) >= c.threshold
                    assert np.sign(c.value - c.overall) == np.sign(c.effect)
                if c.evidence == "description" and c.statistic != "age_band":
                    assert abs(c.effect) >= c.threshold >= 0.27
                if c.evidence == "dominant":
                    assert c.value >= 0.6 and c.ci_low > 0.5

    def test_key_figures_compare_with_all_users(self, personas):
        p = personas.by_segment(1)
        figures = {k["metric"]: k for k in p.key_figures}
        assert figures["size"]["value"] == 400 and figures["size"]["overall"] == 880
        assert figures["conversion"]["value"] > figures["conversion"]["overall"]
        assert figures["satisfaction"]["scale_max"] == 5

    def test_claims_link_to_the_statistic(self, personas):
        p = personas.by_segment(2)
        trust = next(c for c in p.evidence if c.variable == "trust" and c.field != "key_figures")
        assert trust.value < 2.0 < trust.overall
        assert trust.index == pytest.approx(100 * trust.value / trust.overall)
        assert trust.ci_low <= trust.value <= trust.ci_high
        assert trust.detail == f"Trust: {trust.value:.1f} of 5 vs {trust.overall:.1f} overall"

    def test_wording_does_not_repeat_within_a_persona(self, personas):
        for p in personas:
            texts = p.lifestyle + p.behaviours + p.goals + p.frustrations + p.channels
            assert len(set(texts)) == len(texts)
            assert p.headline[:1].isupper() and p.about.endswith(".")

    def test_profiles_read_back_from_csv_give_the_same_personas(self, audience, tmp_path):
        table, columns, segments, (prof, findings, outcomes, targets) = audience
        prof.to_csv(tmp_path / "profiles.csv", index=False)
        outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
        targets.to_csv(tmp_path / "targets.csv", index=False)
        back = build_personas(
            table,
            segments,
            columns,
            pd.read_csv(tmp_path / "profiles.csv", keep_default_na=False, na_values=[""]),
            findings,
            pd.read_csv(tmp_path / "outcomes.csv"),
            pd.read_csv(tmp_path / "targets.csv"),
            all_segments=True,
        )
        assert personas_to_json(back) == personas_to_json(build(audience))


class TestPrevalence:
    def test_prevalence_is_recorded(self, personas):
        for p in personas:
            prev = p.prevalence
            assert 0.10 <= prev["share_of_segment"] <= 1
            assert prev["share_of_all"] <= prev["share_of_segment"]
            assert prev["note"] and prev["attributes"]

    def test_weak_attributes_are_dropped_until_ten_percent_fit(self):
        rng = np.random.default_rng(3)
        seg = np.repeat([1, 2], [300, 600])
        table = pd.DataFrame({"user_id": [f"{i:04d}" for i in range(900)]})
        cols = {}
        for j, p in enumerate([0.62, 0.6, 0.58, 0.56, 0.55]):
            name = f"habit_{j + 1}"
            table[name] = (rng.random(900) < np.where(seg == 1, p, 0.08)).astype(int)
            cols[name] = f"Habit {j + 1}"
        columns = pd.DataFrame(
            {"role": "behaviour", "kind": "binary", "label": list(cols.values())},
            index=pd.Index(list(cols), name="column"),
        )
        ps = build_personas(table, seg, columns, all_segments=True)
        p = ps.by_segment(1)
        prev = p.prevalence
        assert prev["dropped"], prev
        assert prev["share_of_segment"] >= 0.10
        assert "left out" in prev["note"]
        for text in prev["dropped"]:
            assert text not in p.behaviours
        joint = np.ones(900, dtype=bool)
        for c in p.claims("behaviours"):
            joint &= table[c.variable].to_numpy() == 1
        assert prev["share_of_segment"] == pytest.approx(joint[seg == 1].mean())
        assert prev["share_of_all"] == pytest.approx(joint.mean())
        assert check_faithfulness(ps, table, seg, columns).empty


class TestQuotes:
    def test_quote_is_a_real_typical_comment(self, personas, audience):
        table = audience[0]
        p = personas.by_segment(2)
        assert p.quote
        seg2 = table.loc[audience[2]["segment"] == 2, "comment"].dropna()
        assert any(p.quote.rstrip("…") in c for c in seg2)
        assert any(w in p.quote for w in ("trust", "payment", "checkout", "safe"))

    def test_quote_is_scrubbed_when_every_comment_holds_personal_data(self, personas):
        q = personas.by_segment(3).quote
        assert q is not None
        assert EMAIL not in q and PHONE not in q and "<" not in q
        assert "[email]" in q or "[phone]" in q

    def test_no_quote_below_min_quote_users(self, audience):
        ps = build(audience, min_quote_users=10_000)
        assert all(p.quote is None for p in ps)
        assert all(not p.claims("quote") for p in ps)
        assert all(any("fewer than 10000" in n for n in p.notes) for p in ps)

    def test_long_quotes_are_shortened_at_a_boundary(self, audience):
        table, columns, segments, _ = audience
        table = table.copy()
        long = (
            "I stopped at checkout because I did not trust the payment page. "
            "The shipping costs only show up at the very end, which I find annoying. "
            "Also I would like to pay by invoice because cards feel risky to me."
        )
        table.loc[segments["segment"] == 2, "comment"] = long
        ps = build_personas(table, segments, columns, all_segments=True, max_quote_chars=100)
        q = ps.by_segment(2).quote
        assert len(q) <= 100
        assert q == "I stopped at checkout because I did not trust the payment page."
        assert check_faithfulness(ps, table, segments, columns).empty


class TestNames:
    def test_names_are_deterministic_by_seed(self, audience, personas):
        again = build(audience, seed=0)
        assert [p.name for p in again] == [p.name for p in personas]
        other = [build(audience, seed=s) for s in (1, 2)]
        assert len({tuple(p.name for p in ps) for ps in [personas, *other]}) > 1
        assert [p.headline for p in again] == [p.headline for p in personas]

    def test_names_fit_gender_cohort_and_locale(self, personas, audience):
        names = pd.read_csv(
            __import__("toolkit.personas", fromlist=["NAMES_FILE"]).NAMES_FILE, comment="#"
        )
        p = personas.by_segment(1)  # a woman of about 25: born around 2000
        decade = ((2026 - p.age) // 10) * 10
        pool = names[(names["locale"] == "en") & (names["gender"] == "female")]
        assert p.name in set(pool.loc[pool["decade"] == decade, "name"])
        de = build(audience, locale="de").by_segment(1)
        de_pool = names[(names["locale"] == "de") & (names["gender"] == "female")]
        assert de.name in set(de_pool["name"])
        neutral = personas.by_segment(3)
        assert neutral.name in set(names.loc[names["gender"] == "diverse", "name"])

    def test_names_found_in_the_data_are_never_used(self, audience):
        # "My name is Emily" is a comment of segment 1; find a seed that would draw Emily
        age = build(audience).by_segment(1).age
        decade = ((2026 - age) // 10) * 10
        seed = next(
            s for s in range(500) if choose_name("female", decade, seed=s, key=1) == "Emily"
        )
        p = build(audience, seed=seed).by_segment(1)
        assert p.name != "Emily"
        assert "Emily" not in personas_to_json(build(audience, seed=seed))

    def test_forbidden_names_are_never_used(self, audience):
        names = pd.read_csv(
            __import__("toolkit.personas", fromlist=["NAMES_FILE"]).NAMES_FILE, comment="#"
        )
        cohort = names[(names["locale"] == "en") & (names["gender"] == "female")]
        forbidden = set(cohort["name"]) - {"Grace"}
        for seed in range(2):
            ps = build(audience, seed=seed, forbidden_names=forbidden)
            assert ps.by_segment(1).name == "Grace"
            assert all(p.name not in forbidden for p in ps)

    def test_names_are_unique_within_a_set(self, personas):
        assert len({p.name for p in personas}) == len(personas)

    def test_choose_name(self):
        a = choose_name("male", 1970, locale="de", seed=3, key=2)
        assert a == choose_name("male", 1970, locale="de", seed=3, key=2)
        assert choose_name("male", 1970, locale="de", seed=3, key=2, forbidden={a.upper()}) != a
        assert choose_name("female", 1990, forbidden=[]) is not None
        with pytest.warns(DataWarning, match="No persona names for locale 'xx'"):
            assert choose_name("female", 1990, locale="xx") is not None


class TestOverrides:
    def test_overridden_fields_are_marked(self, audience):
        ps = build(
            audience,
            overrides={1: {"name": "Julia", "photo": "photos/julia.png", "headline": "Hi"}},
        )
        p = ps.by_segment(1)
        assert p.name == "Julia" and p.photo == "photos/julia.png" and p.headline == "Hi"
        assert p.overridden == ["name", "photo", "headline"]
        assert p.about.startswith("Julia is ")  # the text follows the analyst's name
        assert ps.by_segment(2).overridden == []
        assert faith(ps, audience).empty

    def test_segment_keys_may_be_text(self, audience):
        ps = build(audience, overrides={"segment 2": {"age": 44}, "1": {"name": "Ann"}})
        assert ps.by_segment(2).age == 44 and ps.by_segment(1).name == "Ann"
        assert ps.by_segment(2).about.startswith(f"{ps.by_segment(2).name} is 44")
        assert faith(ps, audience).empty  # overridden fields are not re-derived

    def test_unknown_field_is_an_error(self, audience):
        with pytest.raises(ConfigError, match="unknown field.*shoe_size"):
            build(audience, overrides={1: {"shoe_size": 38}})
        with pytest.raises(ConfigError, match="not a segment number"):
            build(audience, overrides={"fashion": {"name": "X"}})

    def test_override_name_found_in_data_warns(self, audience):
        with pytest.warns(DataWarning, match="occurs in the data"):
            build(audience, overrides={1: {"name": "Emily"}})


class TestFaithfulness:
    def test_honest_personas_are_faithful(self, personas, audience):
        out = faith(personas, audience)
        assert out.empty, out.to_string()

    def test_json_round_trip_is_faithful(self, personas, audience):
        back = personas_from_json(personas_to_json(personas))
        assert [p.name for p in back] == [p.name for p in personas]
        assert faith(back, audience).empty

    @staticmethod
    def tampered(personas):
        return copy.deepcopy(personas)

    def test_changed_value_fails(self, personas, audience):
        ps = self.tampered(personas)
        c = next(c for c in ps.by_segment(1).evidence if c.variable == "share_evening")
        c.value += 0.1
        out = faith(ps, audience)
        assert "segment value differs" in set(out["problem"])
        assert set(out["variable"]) == {"share_evening"}

    def test_changed_number_in_text_fails(self, personas, audience):
        ps = self.tampered(personas)
        c = next(c for c in ps.by_segment(2).evidence if c.variable == "trust")
        c.detail = c.detail.replace(f"{c.value:.1f} of 5", "3.9 of 5")
        out = faith(ps, audience)
        assert "numbers shown do not match the data" in set(out["problem"])

    def test_changed_comment_theme_fails(self, personas, audience):
        ps = self.tampered(personas)
        theme = next(c for c in ps.by_segment(2).evidence if c.statistic == "mentions")
        theme.level = "collection"  # a word of segment 1's happy comments
        problems = set(faith(ps, audience)["problem"])
        assert "segment value differs" in problems
        assert "numbers shown do not match the data" in problems

    def test_changed_age_or_gender_fails(self, personas, audience):
        ps = self.tampered(personas)
        ps.by_segment(1).age += 10
        ps.by_segment(2).gender = "male"
        problems = set(faith(ps, audience)["problem"])
        assert "age differs from the segment's median" in problems
        assert "gender is not backed by a dominant level" in problems

    def test_unsupported_statement_fails(self, personas, audience):
        ps = self.tampered(personas)
        ps.by_segment(3).behaviours.append("Loves skydiving")
        ps.by_segment(3).about += " She earns 250,000 a year."
        problems = " ".join(faith(ps, audience)["problem"])
        assert "behaviours item has no evidence: 'Loves skydiving'" in problems
        assert "about holds numbers no claim gives: 250,000" in problems

    def test_claim_on_other_data_fails(self, personas, audience):
        table, columns, segments, _ = audience
        shuffled = segments.copy()
        shuffled["segment"] = np.random.default_rng(0).permutation(shuffled["segment"])
        out = check_faithfulness(personas, table, shuffled, columns)
        assert len(out) > 10
        assert {"segment value differs", "effect is below the threshold"} & set(out["problem"])


class TestOutputs:
    def test_json_is_deterministic(self, audience):
        assert personas_to_json(build(audience)) == personas_to_json(build(audience))

    def test_json_follows_the_schema(self, personas):
        jsonschema = pytest.importorskip("jsonschema")
        payload = json.loads(personas_to_json(personas))
        jsonschema.validate(payload, PERSONA_SET_SCHEMA)
        assert payload["skipped"][0]["segment"] == 4

    def test_json_floats_are_rounded(self, personas):
        text = personas_to_json(personas)

        def floats(x):
            if isinstance(x, float):
                yield x
            elif isinstance(x, dict):
                for v in x.values():
                    yield from floats(v)
            elif isinstance(x, list):
                for v in x:
                    yield from floats(v)

        values = list(floats(json.loads(text)))
        assert values and all(round(v, 6) == v for v in values)
        assert "NaN" not in text

    def test_no_ids_or_raw_personal_data_in_outputs(self, personas, audience):
        table = audience[0]
        texts = [personas_to_json(personas), personas_to_markdown(personas)]
        for text in texts:
            assert EMAIL not in text and PHONE not in text
            assert "<script" not in text and "<img" not in text and "onerror=alert" not in text
            assert "Emily" not in text
            assert not any(uid in text for uid in table["user_id"].head(50))

    def test_markdown_escapes_data_text(self, personas):
        md = personas_to_markdown(personas)
        assert "&lt;i&gt;gold&lt;/i&gt;" in md  # a level of the data, dominant in segment 1
        assert "<i>gold" not in md
        assert "## Segments without a persona" in md

    def test_empty_set_renders(self):
        assert json.loads(personas_to_json(PersonaSet([])))["personas"] == []
        assert "# Personas" in personas_to_markdown([])


def test_personas_without_profiles_are_computed(audience):
    table, columns, segments, _ = audience
    ps = build_personas(table, segments, columns, all_segments=True)
    assert [p.segment for p in ps] == [1, 2, 3]
    assert check_faithfulness(ps, table, segments, columns).empty
    assert math.isfinite(ps[0].prevalence["share_of_segment"])
