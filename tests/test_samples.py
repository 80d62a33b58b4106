"""Tests of the seeded sample audience (toolkit.samples) and of the committed data-samples/shop."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from toolkit.config import SAMPLE_DIR
from toolkit.errors import ConfigError
from toolkit.samples import (
    CATEGORIES,
    DEVICES,
    EVENT_TYPES,
    FILES,
    SEGMENTS,
    main,
    make_sample,
    write_sample,
)

N_USERS = 20_000
SEED = 2026
COLUMNS = {
    "users": [
        "user_id",
        "first_name",
        "email",
        "age",
        "gender",
        "city",
        "city_size",
        "income_band",
        "device",
        "signup_date",
    ],
    "survey": ["user_id", "answered_at", "satisfaction", "trust", "nps", "comment"],
    "orders": ["order_id", "user_id", "ordered_at", "amount", "category"],
    "truth": ["user_id", "segment"],
    "events": ["user_id", "timestamp", "event_type", "category", "device"],
}
ID_RE = r"^\d{6}$"
ISO_UTC_RE = r"^2026-0[678]-\d\dT\d\d:\d\d:\d\dZ$"
ONE_HOT = ["gender", "city_size", "income_band"]


def _read(folder) -> dict[str, pd.DataFrame]:
    tables = {
        name: pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        for name, file in FILES.items()
        if file.endswith(".csv")
    }
    tables["events"] = pd.read_parquet(folder / FILES["events"])
    return tables


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    """The committed sample, read the way an analyst would (ids as text)."""
    return _read(SAMPLE_DIR)


def user_features(events: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """User-level features of the kind the loader derives, in plain pandas."""
    ev = events.sort_values(["user_id", "timestamp"], kind="stable")
    local = ev["timestamp"].dt.tz_convert("Europe/Berlin")
    hour = local.dt.hour
    ev = ev.assign(
        part=np.select(
            [hour < 6, hour < 12, hour < 18], ["night", "morning", "afternoon"], "evening"
        ),
        weekend=(local.dt.day_of_week >= 5).astype(float),
    )
    views = ev[ev["event_type"] == "product_view"]
    new = (ev["user_id"] != ev["user_id"].shift()) | (
        ev["timestamp"].diff() > pd.Timedelta(minutes=30)
    )
    g = ev.groupby("user_id")
    feats = pd.DataFrame(
        {
            "log_events": np.log(g.size()),
            "log_sessions": np.log(new.groupby(ev["user_id"]).sum()),
            "recency_days": (ev["timestamp"].max() - g["timestamp"].max()).dt.total_seconds()
            / 86_400,
            "share_weekend": g["weekend"].mean(),
        }
    )
    for prefix, frame, col in (
        ("share_cat_", views, "category"),
        ("share_", ev, "part"),
        ("share_device_", ev, "device"),
    ):
        feats = feats.join(
            pd.crosstab(frame["user_id"], frame[col], normalize="index").add_prefix(prefix)
        )
    demo = users.set_index("user_id")
    onehot = pd.get_dummies(demo[ONE_HOT], dtype=float)
    return feats.fillna(0.0).join(demo["age"].astype(float)).join(onehot)


def design(feats: pd.DataFrame, *, scale_dummies: bool = False) -> np.ndarray:
    """Standardise numbers; keep one-hot dummies 0/1 (or standardise them too)."""
    dummies = [c for c in feats.columns if c.startswith(tuple(f"{c}_" for c in ONE_HOT))]
    z = pd.DataFrame(StandardScaler().fit_transform(feats), columns=feats.columns)
    if not scale_dummies:
        z[dummies] = feats[dummies].to_numpy()
    return z.to_numpy()


@pytest.fixture(scope="module")
def features(shop) -> tuple[pd.DataFrame, pd.Series]:
    feats = user_features(shop["events"], shop["users"])
    truth = shop["truth"].set_index("user_id")["segment"].reindex(feats.index)
    return feats, truth


# ------------------------------------------------------------------------------------------
# Reproducibility
# ------------------------------------------------------------------------------------------
def test_committed_sample_is_reproduced_byte_for_byte(tmp_path):
    paths = write_sample(tmp_path, N_USERS, seed=SEED)
    assert set(paths) == set(FILES)
    for name, file in FILES.items():
        new = paths[name].read_bytes()
        old = (SAMPLE_DIR / file).read_bytes()
        assert new == old, (
            f"{file} differs from the committed one; regenerate with "
            "`python -m toolkit.samples data-samples/shop`"
        )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp folder left"


def test_same_seed_same_tables_other_seed_different():
    a = make_sample(300, seed=5)
    b = make_sample(300, seed=5)
    c = make_sample(300, seed=6)
    for name in FILES:
        assert_frame_equal(a[name], b[name])
    assert not a["events"]["timestamp"].equals(c["events"]["timestamp"])
    assert not a["users"]["age"].equals(c["users"]["age"])


def test_two_writes_give_identical_bytes(tmp_path):
    one = write_sample(tmp_path / "one", 400, seed=9)
    two = write_sample(tmp_path / "two", 400, seed=9)
    for name in FILES:
        assert one[name].read_bytes() == two[name].read_bytes(), name


def test_cli_writes_the_sample(tmp_path, capsys):
    assert main([str(tmp_path), "--users", "60", "--seed", "4"]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(str(tmp_path / f) for f in FILES.values())
    users = pd.read_csv(tmp_path / "users.csv", dtype=str)
    assert len(users) == 60


def test_bad_arguments_raise():
    with pytest.raises(ConfigError, match="n_users"):
        make_sample(0)
    with pytest.raises(ConfigError, match="events_per_user"):
        make_sample(10, events_per_user=0)


# ------------------------------------------------------------------------------------------
# Schema of the committed files
# ------------------------------------------------------------------------------------------
def test_files_columns_and_sizes(shop):
    for name, cols in COLUMNS.items():
        assert list(shop[name].columns) == cols, name
    total = sum((SAMPLE_DIR / f).stat().st_size for f in FILES.values())
    assert total < 25_000_000
    assert len(shop["users"]) == N_USERS
    assert 900_000 <= len(shop["events"]) <= 1_100_000
    for file in FILES.values():
        if file.endswith(".csv"):
            raw = (SAMPLE_DIR / file).read_bytes()
            assert b"\r" not in raw and raw.endswith(b"\n")
            raw.decode("utf-8")


def test_users_schema(shop):
    users = shop["users"]
    assert users["user_id"].tolist() == [f"{i:06d}" for i in range(1, N_USERS + 1)]
    age = users["age"].astype(int)
    assert age.between(18, 75).all() and age.nunique() > 40
    assert set(users["gender"]) == {"female", "male", "diverse"}
    assert set(users["city_size"]) == {"big city", "town", "rural"}
    assert set(users["income_band"]) == {"low", "middle", "high"}
    assert set(users["device"]) == set(DEVICES)
    assert users["email"].str.fullmatch(r"[a-z.]+\d*@example\.(com|org)").all()
    assert users["email"].is_unique
    assert (users["first_name"].str.len() > 1).all()
    signup = pd.to_datetime(users["signup_date"], format="%Y-%m-%d")
    first = shop["events"].groupby("user_id")["timestamp"].min().dt.tz_localize(None)
    assert (signup.to_numpy() <= first.reindex(users["user_id"]).dt.normalize().to_numpy()).all()
    assert signup.min() >= pd.Timestamp("2019-01-01")


def test_events_schema(shop):
    ev = shop["events"]
    assert str(ev["timestamp"].dtype) == "datetime64[us, UTC]"
    ids = pd.Series(ev["user_id"].unique())
    assert ids.str.fullmatch(ID_RE).all()
    assert ev["timestamp"].min() >= pd.Timestamp("2026-06-01", tz="UTC")
    assert ev["timestamp"].max() < pd.Timestamp("2026-09-01", tz="UTC")
    assert set(ev["event_type"].unique()) == set(EVENT_TYPES)
    assert set(ev["category"].unique()) == set(CATEGORIES)
    assert set(ev["device"].unique()) == set(DEVICES)
    assert set(ids) == set(shop["users"]["user_id"])
    # stable row order: by user, then time
    assert ev["user_id"].is_monotonic_increasing
    same_user = ev["user_id"] == ev["user_id"].shift()
    assert (ev["timestamp"].diff()[same_user] > pd.Timedelta(0)).all()


def test_sessions_are_bursts_following_the_funnel(shop):
    ev = shop["events"]
    gap = ev["timestamp"].diff()
    new = (ev["user_id"] != ev["user_id"].shift()) | (gap > pd.Timedelta(minutes=30))
    session = new.cumsum()
    step = ev["event_type"].map({e: i for i, e in enumerate(EVENT_TYPES)})
    # every session starts with a visit and has exactly one; steps never go back
    assert (ev.loc[new, "event_type"] == "visit").all()
    assert new.sum() == (ev["event_type"] == "visit").sum()
    assert (step.groupby(session).diff().dropna() >= 0).all()
    within = gap[~new].dt.total_seconds()
    assert within.min() > 0 and within.median() < 120
    # sessions of a user are hours or days apart
    between = gap[new & (ev["user_id"] == ev["user_id"].shift())].dt.total_seconds()
    assert between.median() > 86_400


def test_every_purchase_has_its_order(shop):
    ev, orders = shop["events"], shop["orders"]
    buys = ev[ev["event_type"] == "purchase"].sort_values(["user_id", "timestamp"])
    orders = orders.assign(t=pd.to_datetime(orders["ordered_at"], utc=True)).sort_values(
        ["user_id", "t"]
    )
    assert len(buys) == len(orders)
    assert orders["order_id"].is_unique and orders["order_id"].str.fullmatch(r"O\d{7}").all()
    assert orders["ordered_at"].str.fullmatch(ISO_UTC_RE).all()
    assert buys["user_id"].tolist() == orders["user_id"].tolist()
    delta = (orders["t"].to_numpy() - buys["timestamp"].to_numpy()) / np.timedelta64(1, "s")
    assert (delta >= 0).all() and (delta <= 60).all()
    assert buys["category"].tolist() == orders["category"].tolist()
    assert orders["amount"].str.fullmatch(r"\d+\.\d\d").all()
    assert (orders["amount"].astype(float) > 0).all()


def test_survey_schema(shop):
    survey = shop["survey"]
    assert 0.28 < len(survey) / N_USERS < 0.38
    assert survey["user_id"].is_unique and survey["user_id"].str.fullmatch(ID_RE).all()
    assert survey["answered_at"].str.fullmatch(ISO_UTC_RE).all()
    for col, lo, hi in (("satisfaction", 1, 5), ("trust", 1, 5), ("nps", 0, 10)):
        values = survey[col].astype(int)
        assert values.between(lo, hi).all() and values.nunique() == hi - lo + 1, col
    empty = (survey["comment"] == "").mean()
    assert 0.05 < empty < 0.25
    comments = survey.loc[survey["comment"] != "", "comment"]
    assert comments.nunique() > 0.8 * len(comments)  # wording varies


def test_truth_sizes_are_planted_shares(shop):
    counts = shop["truth"]["segment"].value_counts()
    assert list(counts.index) == list(SEGMENTS)  # numbering by size is stable
    assert counts.tolist() == [4000, 3600, 3400, 3200, 3000, 2800]


# ------------------------------------------------------------------------------------------
# Privacy and escaping plants
# ------------------------------------------------------------------------------------------
PLANTS = {
    "email": r"[\w.]+@example\.(?:com|org)",
    "phone": r"\+49 151 23456789|0171-1234567",
    "url": r"https?://\S+",
    "name": r"(?i)my name is [A-ZÄÖÜ][a-zäöüß]+",
    "script": r"<script>alert\(1\)</script>",
    "img": r"<img src=x onerror=alert\(1\)>",
}


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_privacy_and_html_plants_are_present(shop, small_sample_dir, kind):
    for folder_tables in (shop, _read(small_sample_dir)):
        comments = folder_tables["survey"]["comment"]
        hits = comments.str.contains(PLANTS[kind], regex=True)
        assert 1 <= hits.sum() <= 10, kind


def test_comments_carry_typos(shop):
    from toolkit import samples

    pools = [*samples._PHRASES.values(), samples._GENERIC, samples._OPENERS, samples._CLOSERS]
    vocabulary = {
        w for pool in pools for text in pool for w in re.findall(r"[a-z]+", text.lower())
    }
    words = re.findall(r"[a-z]+", " ".join(shop["survey"]["comment"]).lower())
    unknown = {w for w in words if w not in vocabulary and len(w) > 3}
    assert len(unknown) > 50  # misspelt words, beside the planted personal data


# ------------------------------------------------------------------------------------------
# Planted segments: recoverable from demographics + behaviour, no single column gives one away
# ------------------------------------------------------------------------------------------
def test_planted_segments_are_recoverable(features):
    feats, truth = features
    for scale_dummies in (False, True):
        x = design(feats, scale_dummies=scale_dummies)
        labels = KMeans(6, n_init=10, random_state=0).fit_predict(x)
        ari = adjusted_rand_score(truth, labels)
        assert ari >= 0.85, (scale_dummies, ari)


def test_silhouette_prefers_six_segments(features):
    feats, _ = features
    idx = np.random.default_rng(0).choice(len(feats), 5_000, replace=False)
    x = design(feats.iloc[idx])
    scores = {
        k: silhouette_score(x, KMeans(k, n_init=4, random_state=0).fit_predict(x))
        for k in range(2, 11)
    }
    assert max(scores, key=scores.get) == 6, scores


def _best_single_column_f1(x: np.ndarray, target: np.ndarray) -> float:
    best = 0.0
    for sign in (1.0, -1.0):
        v = sign * x
        order = np.argsort(-v, kind="stable")
        t, v = target[order], v[order]
        tp = np.cumsum(t)
        cut = np.r_[v[1:] != v[:-1], True]
        f1 = 2 * tp / (np.arange(1, len(t) + 1) + t.sum())
        best = max(best, float(f1[cut].max()))
    return best


def test_no_single_column_gives_a_segment_away(features):
    feats, truth = features
    for segment in SEGMENTS:
        target = (truth == segment).to_numpy()
        scores = {c: _best_single_column_f1(feats[c].to_numpy(float), target) for c in feats}
        column = max(scores, key=scores.get)
        assert scores[column] < 0.88, (segment, column, scores[column])


# ------------------------------------------------------------------------------------------
# Stories told by outcomes
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outcomes(shop) -> pd.DataFrame:
    ev = shop["events"]
    new = (ev["user_id"] != ev["user_id"].shift()) | (
        ev["timestamp"].diff() > pd.Timedelta(minutes=30)
    )
    session = new.cumsum()
    per_session = pd.DataFrame(
        {
            "user_id": ev["user_id"].groupby(session).first(),
            "bought": (ev["event_type"] == "purchase").groupby(session).any(),
            "checkout": (ev["event_type"] == "checkout").groupby(session).any(),
        }
    )
    users = per_session.groupby("user_id").agg(
        conversion=("bought", "mean"), checkout=("checkout", "mean")
    )
    orders = shop["orders"].assign(amount=lambda d: d["amount"].astype(float))
    users["orders"] = orders.groupby("user_id").size().reindex(users.index, fill_value=0)
    users["aov"] = orders.groupby("user_id")["amount"].mean().reindex(users.index)
    users["recency"] = (ev["timestamp"].max() - ev.groupby("user_id")["timestamp"].max()).dt.days
    users["events"] = ev.groupby("user_id").size()
    survey = shop["survey"].set_index("user_id")[["satisfaction", "trust", "nps"]].astype(float)
    users = users.join(survey)
    users["segment"] = shop["truth"].set_index("user_id")["segment"]
    return users


def test_trendsetters_convert_best_and_are_most_satisfied(outcomes):
    means = outcomes.groupby("segment").mean()
    assert means["conversion"].idxmax() == "trendsetters"
    assert means["satisfaction"].idxmax() == "trendsetters"
    assert means["nps"].idxmax() == "trendsetters"


def test_hesitant_reach_checkout_but_do_not_buy_and_distrust(outcomes):
    means = outcomes.groupby("segment").mean()
    assert means["checkout"].idxmax() == "hesitant"
    assert means["conversion"].idxmin() == "hesitant"
    assert means.loc["hesitant", "conversion"] < 0.25 * means.loc["trendsetters", "conversion"]
    assert means.loc["hesitant", "trust"] < 2.4
    assert outcomes["trust"].mean() > 3.5
    assert means["trust"].drop("hesitant").min() > 3.4


def test_order_values_tech_high_bargain_low(outcomes):
    aov = outcomes.groupby("segment")["aov"].median()
    assert aov.idxmax() == "tech_buyers" and aov.idxmin() == "bargain_hunters"
    assert aov["tech_buyers"] > 2.5 * aov.drop("tech_buyers").max()


def test_dormant_are_few_old_and_one_time(outcomes, shop):
    dormant = outcomes[outcomes["segment"] == "dormant"]
    active = outcomes[outcomes["segment"] != "dormant"]
    assert dormant["events"].median() < 0.3 * active["events"].median()
    assert dormant["recency"].median() > 40 > active["recency"].median()
    buyers = dormant[dormant["orders"] > 0]
    assert (buyers["orders"] == 1).mean() > 0.9 and len(buyers) > 0.3 * len(dormant)
    age = shop["users"].set_index("user_id")["age"].astype(int)
    assert age[dormant.index].median() > age[active.index].median() + 15


# ------------------------------------------------------------------------------------------
# The small sample other tests share
# ------------------------------------------------------------------------------------------
def test_small_sample_fixture(small_sample_dir):
    tables = _read(small_sample_dir)
    assert len(tables["users"]) == 1_500
    assert set(tables["truth"]["segment"]) == set(SEGMENTS)
    assert 50_000 < len(tables["events"]) < 100_000
    assert (small_sample_dir / "report.yaml").is_file()
