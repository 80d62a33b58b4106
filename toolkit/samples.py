"""The seeded sample audience: a fictional online shop with six planted customer segments.

:func:`make_sample` builds five tables from a seed (users, events, survey, orders and the planted
``truth``); :func:`write_sample` writes them byte-for-byte reproducibly to a folder. The bundled
sample in ``data-samples/shop`` is ``write_sample("data-samples/shop")`` (20,000 users, seed 2026).

Six overlapping segments are planted ("trendsetters", "hesitant", "tech_buyers",
"weekend_families", "bargain_hunters", "dormant"). Each one is a tendency in demographics *and*
behaviour (categories viewed, time of day, weekend, device, activity), never a rule on one
column; outcomes (conversion, order values, satisfaction, trust, NPS) follow the segments but are
not needed to find them. Everything is drawn from one :class:`numpy.random.Generator` and is
fully vectorised (about 1,000,000 events in a few seconds).

Examples
--------
>>> from toolkit.samples import make_sample
>>> tables = make_sample(200, seed=1)
>>> sorted(tables)
['events', 'orders', 'survey', 'truth', 'users']
>>> tables["users"]["user_id"].iloc[0]
'000001'
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import ConfigError

__all__ = [
    "SEGMENTS",
    "CATEGORIES",
    "EVENT_TYPES",
    "DEVICES",
    "PERIOD_START",
    "PERIOD_END",
    "FILES",
    "make_sample",
    "write_sample",
    "main",
]

#: Planted segments, largest first (shares of users are fixed, so numbering by size is stable).
SEGMENTS = (
    "trendsetters",
    "weekend_families",
    "bargain_hunters",
    "hesitant",
    "tech_buyers",
    "dormant",
)
_SHARES = np.array([0.20, 0.18, 0.17, 0.16, 0.15, 0.14])

CATEGORIES = ("fashion", "home", "electronics", "kids", "sale", "beauty", "sports")
EVENT_TYPES = ("visit", "product_view", "add_to_cart", "checkout", "purchase")
DEVICES = ("mobile", "desktop", "tablet")
GENDERS = ("female", "male", "diverse")
CITY_SIZES = ("big city", "town", "rural")
INCOME_BANDS = ("low", "middle", "high")
PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")  # 06-12, 12-18, 18-24, 00-06

#: First and last day of the event log (inclusive, UTC).
PERIOD_START = pd.Timestamp("2026-06-01", tz="UTC")
PERIOD_END = pd.Timestamp("2026-08-31 23:59:59", tz="UTC")
_N_DAYS = 92
_TIMEZONE = "Europe/Berlin"

#: File name of each table in a sample folder.
FILES = {
    "users": "users.csv",
    "events": "events.parquet",
    "survey": "survey.csv",
    "orders": "orders.csv",
    "truth": "truth.csv",
}

# --------------------------------------------------------------------------------------------
# Segment profiles. Rows follow SEGMENTS; columns follow the tuples above.
# --------------------------------------------------------------------------------------------
_GENDER_P = np.array(
    [
        [0.80, 0.16, 0.04],  # trendsetters
        [0.56, 0.42, 0.02],  # weekend_families
        [0.50, 0.46, 0.04],  # bargain_hunters
        [0.76, 0.21, 0.03],  # hesitant
        [0.17, 0.80, 0.03],  # tech_buyers
        [0.50, 0.48, 0.02],  # dormant
    ]
)
# Age: a main normal component and a broad second one (weight, mean, sd each).
_AGE = np.array(
    [
        # w_main, mean, sd, mean2, sd2
        [0.80, 25.0, 3.0, 34.0, 8.0],
        [0.85, 42.0, 4.5, 36.0, 10.0],
        [0.00, 40.0, 10.0, 44.0, 15.0],  # bargain hunters: all ages
        [0.80, 45.0, 3.5, 50.0, 10.0],
        [0.85, 36.0, 5.0, 30.0, 10.0],
        [0.80, 61.0, 7.0, 45.0, 14.0],
    ]
)
_CITY_P = np.array(
    [
        [0.74, 0.20, 0.06],
        [0.14, 0.50, 0.36],
        [0.36, 0.40, 0.24],
        [0.36, 0.44, 0.20],
        [0.56, 0.34, 0.10],
        [0.26, 0.40, 0.34],
    ]
)
_INCOME_P = np.array(
    [
        [0.30, 0.50, 0.20],
        [0.20, 0.55, 0.25],
        [0.58, 0.34, 0.08],
        [0.20, 0.55, 0.25],
        [0.10, 0.40, 0.50],
        [0.35, 0.45, 0.20],
    ]
)
# Category of product views: fashion, home, electronics, kids, sale, beauty, sports
_CATEGORY_P = np.array(
    [
        [0.44, 0.05, 0.03, 0.03, 0.08, 0.31, 0.06],
        [0.06, 0.26, 0.04, 0.38, 0.08, 0.03, 0.15],
        [0.12, 0.10, 0.10, 0.06, 0.52, 0.04, 0.06],
        [0.30, 0.37, 0.04, 0.07, 0.08, 0.10, 0.04],
        [0.04, 0.08, 0.55, 0.03, 0.12, 0.03, 0.15],
        [0.22, 0.22, 0.14, 0.10, 0.14, 0.10, 0.08],
    ]
)
# Part of day (Europe/Berlin): morning, afternoon, evening, night
_DAYPART_P = np.array(
    [
        [0.07, 0.18, 0.65, 0.10],
        [0.36, 0.40, 0.19, 0.05],
        [0.60, 0.20, 0.15, 0.05],
        [0.14, 0.62, 0.19, 0.05],
        [0.05, 0.12, 0.43, 0.40],
        [0.05, 0.92, 0.025, 0.005],
    ]
)
_WEEKEND_P = np.array([0.33, 0.72, 0.26, 0.18, 0.30, 0.16])
# Device of sessions: mobile, desktop, tablet
_DEVICE_P = np.array(
    [
        [0.80, 0.12, 0.08],
        [0.22, 0.16, 0.62],
        [0.56, 0.34, 0.10],
        [0.18, 0.72, 0.10],
        [0.24, 0.71, 0.05],
        [0.08, 0.88, 0.04],
    ]
)
# Activity: mean sessions in the period, mean product views per session.
_SESSIONS_MEAN = np.array([8.0, 7.0, 4.7, 12.7, 5.8, 0.0])  # dormant: see _DORMANT_SESSIONS_P
_VIEWS_MEAN = np.array([3.6, 3.6, 8.0, 2.8, 5.4, 4.0])
# Share of product views outside the session's category (drawn from the user's tastes).
_STRAY_P = np.array([0.35, 0.35, 0.40, 0.35, 0.35, 0.80])
_DORMANT_SESSIONS_P = np.array([0.30, 0.35, 0.25, 0.10])  # 1, 2, 3 or 4 sessions
# Funnel per session: P(add_to_cart), P(checkout | cart), P(purchase | checkout).
_FUNNEL_P = np.array(
    [
        [0.52, 0.85, 0.82],
        [0.34, 0.70, 0.62],
        [0.32, 0.60, 0.55],
        [0.62, 0.86, 0.06],
        [0.24, 0.62, 0.62],
        [0.35, 0.65, 0.20],
    ]
)
_DORMANT_FIRST_PURCHASE_P = 0.50
# Order values: lognormal median (EUR) and sigma; category multipliers.
_AMOUNT_MEDIAN = np.array([68.0, 82.0, 21.0, 58.0, 230.0, 46.0])
_AMOUNT_SIGMA = np.array([0.45, 0.45, 0.40, 0.45, 0.55, 0.55])
_CATEGORY_PRICE = np.array([1.0, 1.1, 1.5, 0.9, 0.7, 0.8, 1.1])
# Survey: response rate and latent means of satisfaction (1-5), trust (1-5).
_RESPONSE_P = np.array([0.40, 0.33, 0.32, 0.38, 0.30, 0.22])
_SATISFACTION_MEAN = np.array([4.55, 3.85, 3.35, 3.00, 3.85, 3.25])
_TRUST_MEAN = np.array([4.50, 4.25, 4.00, 1.90, 4.15, 3.80])

# Share of users per segment whose tastes are partly those of another segment, and how much.
_MIX_P = 0.12
_MIX_WEIGHT = (0.15, 0.40)
# Dirichlet concentration of a user's own preferences around the segment profile.
# Segment order as in SEGMENTS; dormant users are near their profile (few events add noise).
_CONCENTRATION = {
    "category": np.array([30.0, 30.0, 30.0, 30.0, 30.0, 40.0]),
    "daypart": np.array([14.0, 14.0, 14.0, 14.0, 14.0, 80.0]),
    "device": np.array([12.0, 12.0, 12.0, 12.0, 12.0, 80.0]),
}

# Hours of each part of day, and how likely each hour is within it.
_DAYPART_HOURS = (
    np.arange(6, 12),
    np.arange(12, 18),
    np.arange(18, 24),
    np.arange(0, 6),
)
_DAYPART_HOUR_W = (
    np.array([1.0, 2.0, 3.0, 3.0, 3.0, 3.0]),
    np.array([3.0, 3.0, 3.0, 3.0, 3.0, 3.0]),
    np.array([3.0, 3.0, 4.0, 4.0, 4.0, 3.0]),
    np.array([4.0, 3.0, 1.5, 0.6, 0.4, 0.8]),
)

# --------------------------------------------------------------------------------------------
# Names, places and comment phrases (all fictional).
# --------------------------------------------------------------------------------------------
_FIRST_NAMES = {
    "female": (
        "Anna", "Lena", "Sophie", "Marie", "Laura", "Julia", "Lea", "Hannah", "Emma", "Mia",
        "Sarah", "Katharina", "Sandra", "Claudia", "Petra", "Sabine", "Nicole", "Andrea",
        "Stefanie", "Melanie", "Ayşe", "Fatma", "Olga", "Elena", "Maria", "Ingrid", "Ursula",
        "Monika", "Gisela", "Renate", "Jana", "Chiara",
    ),
    "male": (
        "Lukas", "Leon", "Jonas", "Felix", "Paul", "Max", "Tim", "Jan", "Thomas", "Michael",
        "Andreas", "Stefan", "Markus", "Christian", "Daniel", "Alexander", "Mehmet", "Ali",
        "Dmitri", "Peter", "Klaus", "Wolfgang", "Jürgen", "Hans", "Dieter", "Uwe", "Tobias",
        "Niklas", "Marco", "Sven",
    ),
    "diverse": ("Alex", "Kim", "Robin", "Charlie", "Sascha", "Toni", "Luca", "Jules", "Noa"),
}  # fmt: skip
_LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz",
    "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
    "Krause", "Meier", "Lehmann", "Yılmaz", "Kaya", "Nowak", "Kowalski", "Rossi", "Popescu",
)  # fmt: skip
_EMAIL_DOMAINS = ("example.com", "example.org")
_CITIES = {
    "big city": (
        "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf",
        "Leipzig", "Dortmund", "Dresden",
    ),
    "town": (
        "Lüneburg", "Bamberg", "Tübingen", "Landshut", "Fulda", "Weimar", "Celle", "Rosenheim",
        "Marburg", "Passau", "Husum", "Wismar",
    ),
    "rural": (
        "Oberstdorf", "Bad Tölz", "Prien am Chiemsee", "Hornberg", "Dahme", "Lenzen", "Zwiesel",
        "Malchow", "Bad Wildbad", "Schotten",
    ),
}  # fmt: skip

_PHRASES = {
    "trendsetters": (
        "Love the new collection!",
        "the new arrivals are always on point",
        "delivery was super fast, the dress fits perfectly",
        "I browse the app every evening after work",
        "great beauty brands, found my favourite serum here",
        "returns are easy which is why I order a lot",
        "the style inspiration section is amazing",
        "my friends and I all shop here now",
        "checkout on my phone takes seconds",
        "would love even more sustainable labels",
        "obsessed with the summer sale shoes",
        "packaging is beautiful, feels like a gift",
    ),
    "hesitant": (
        "I am not sure my payment data is safe",
        "shipping costs only show up at the very end",
        "I stopped at checkout because I did not trust the payment page",
        "please offer PayPal or invoice",
        "the site asks for too much personal information",
        "I put things in the basket and then hesitate",
        "not sure about the return policy",
        "I read the reviews but I am still unsure",
        "the checkout asked me to create an account, so I left",
        "no clear contact phone number, that worries me",
        "I prefer to see the total price earlier",
        "nice home things but I am careful with online shops",
    ),
    "tech_buyers": (
        "good prices on laptops and monitors",
        "the spec sheets are detailed, thanks",
        "my new headphones arrived next day",
        "please add a product comparison tool",
        "stock information for graphics cards is wrong sometimes",
        "fast delivery of my camera",
        "the filter for electronics could be better",
        "I order late at night, glad the site is fast then",
        "warranty information is hard to find",
        "great deals on running gear too",
    ),
    "weekend_families": (
        "great kids section",
        "we shop together on Saturdays on the tablet",
        "the toys arrived in time for the birthday",
        "the tablet app crashes sometimes",
        "good value for school supplies",
        "I like the home and garden ideas",
        "delivery to the countryside takes a bit long",
        "more bundle offers for families please",
        "kids clothes wash well",
        "easy to find things for the whole family",
    ),
    "bargain_hunters": (
        "the sale section is the best part",
        "prices could be lower",
        "I always wait for discount codes",
        "shipping fee is too high for cheap items",
        "I compare prices before buying anything",
        "flash sales in the morning are great",
        "please send more coupons",
        "outlet items are good value",
        "I only buy when something is reduced",
        "cheaper elsewhere sometimes",
    ),
    "dormant": (
        "I don't shop here much",
        "bought something once, it was ok",
        "forgot I had an account",
        "too many newsletters",
        "nothing special",
        "it was fine I guess",
        "I prefer shopping in stores",
        "had one order, no complaints",
    ),
}
_OPENERS = ("", "", "", "Overall: ", "Honestly, ", "Hi, ", "To be honest ", "Well, ", "Hmm. ")
_CLOSERS = ("", "", "", "", " Thanks!", " Keep it up.", " :)", "!", ".", " Cheers", " danke")
_GENERIC = (
    "the website is easy to use",
    "customer service answered quickly",
    "sometimes the site is slow",
    "the search could be better",
    "I like the newsletter",
    "parcel was damaged but they replaced it",
    "Alles gut, danke!",
    "ok",
    "good",
    "the app logs me out too often",
)
_PLANTS = (
    "You can reach me at {email} if you have questions",
    "please contact me: {email}",
    "My email is {email}, the voucher never arrived",
    "call me on {phone}, the order is missing",
    "my number is {phone}",
    "Hotline never answers, I left my number {phone}",
    "My name is {name} and I waited two weeks for my parcel",
    "my name is {name}, please check order 4711",
    "Found it cheaper at https://www.example.net/deal?id=42",
    "<script>alert(1)</script>",
    "nice shop <img src=x onerror=alert(1)>",
    "<b>great</b> shop <script>alert(1)</script> really",
    'the price was 5 < 10 & shipping was free, "great"',
)
_PHONES = ("+49 151 23456789", "0171-1234567", "+49 (0)30 1234567", "0160 98765432")


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one index per row of ``probs`` (rows sum to 1), vectorised."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cdf[:, -1:]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1)


def _user_preferences(
    rng: np.random.Generator, seg: np.ndarray, profile: np.ndarray, concentration: np.ndarray
) -> np.ndarray:
    """Per-user preference vectors: Dirichlet around the segment profile, some users mixed."""
    n = len(seg)
    base = profile[seg]
    mixed = rng.random(n) < _MIX_P
    other = (seg + rng.integers(1, len(SEGMENTS), n)) % len(SEGMENTS)
    weight = np.where(mixed, rng.uniform(*_MIX_WEIGHT, n), 0.0)[:, None]
    base = (1 - weight) * base + weight * profile[other]
    gam = rng.standard_gamma(base * concentration[seg][:, None] + 0.05)
    return gam / gam.sum(axis=1, keepdims=True)


def _make_users(rng: np.random.Generator, n_users: int) -> tuple[pd.DataFrame, np.ndarray]:
    counts = np.floor(_SHARES * n_users).astype(int)
    counts[: n_users - counts.sum()] += 1
    seg = rng.permutation(np.repeat(np.arange(len(SEGMENTS)), counts))

    gender = _choice_rows(rng, _GENDER_P[seg])
    age_p = _AGE[seg]
    main = rng.random(n_users) < age_p[:, 0]
    age = np.where(
        main,
        rng.normal(age_p[:, 1], age_p[:, 2]),
        rng.normal(age_p[:, 3], age_p[:, 4]),
    )
    # bargain hunters: every age, roughly uniform
    bargain = seg == SEGMENTS.index("bargain_hunters")
    age = np.where(bargain, rng.uniform(18, 72, n_users), age)
    age = np.clip(np.round(age), 18, 75).astype(np.int64)
    city_size = _choice_rows(rng, _CITY_P[seg])
    income = _choice_rows(rng, _INCOME_P[seg])

    genders = np.array(GENDERS, dtype=object)[gender]
    first = np.empty(n_users, dtype=object)
    for g, names in _FIRST_NAMES.items():
        idx = np.flatnonzero(genders == g)
        first[idx] = np.array(names, dtype=object)[rng.integers(0, len(names), len(idx))]
    last = np.array(_LAST_NAMES, dtype=object)[rng.integers(0, len(_LAST_NAMES), n_users)]
    number = rng.integers(1, 1000, n_users)
    domain = np.array(_EMAIL_DOMAINS, dtype=object)[(rng.random(n_users) < 0.3).astype(int)]
    user_id = pd.Series(np.arange(1, n_users + 1)).map("{:06d}".format).to_numpy(object)
    local = pd.Series(first + "." + last).map(_ascii).str.lower()
    email = local + pd.Series(number).astype(str) + "@" + pd.Series(domain)
    dup = email.duplicated()
    email[dup] = local[dup] + pd.Series(user_id)[dup] + "@" + pd.Series(domain)[dup]

    cities = np.empty(n_users, dtype=object)
    for i, size in enumerate(CITY_SIZES):
        idx = np.flatnonzero(city_size == i)
        names = np.array(_CITIES[size], dtype=object)
        # a few big places dominate (Zipf-like weights)
        w = 1.0 / np.arange(1, len(names) + 1) ** 0.8
        cities[idx] = names[_choice_rows(rng, np.tile(w / w.sum(), (len(idx), 1)))]

    users = pd.DataFrame(
        {
            "user_id": user_id,
            "first_name": first,
            "email": email.to_numpy(object),
            "age": age,
            "gender": genders,
            "city": cities,
            "city_size": np.array(CITY_SIZES, dtype=object)[city_size],
            "income_band": np.array(INCOME_BANDS, dtype=object)[income],
        }
    )
    return users, seg


def _ascii(text: str) -> str:
    table = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ş": "s", "ı": "i", "Ä": "Ae"}
    table.update({"Ö": "Oe", "Ü": "Ue"})
    return "".join(table.get(c, c) for c in text)


def _weekday_tables() -> tuple[np.ndarray, np.ndarray]:
    days = pd.date_range("2026-06-01", periods=_N_DAYS, freq="D")
    weekend = np.asarray(days.day_of_week >= 5)
    return np.flatnonzero(weekend), np.flatnonzero(~weekend)


def _pick_days(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, weekend: np.ndarray
) -> np.ndarray:
    """A day in ``[lo, hi)`` per session, on a weekend day where ``weekend`` (if possible)."""
    we_days, wd_days = _weekday_tables()
    out = np.empty(len(lo), dtype=np.int64)
    u = rng.random(len(lo))
    for days, mask in ((we_days, weekend), (wd_days, ~weekend)):
        a = np.searchsorted(days, lo)
        b = np.searchsorted(days, hi)
        ok = mask & (b > a)
        out[ok] = days[a[ok] + np.floor(u[ok] * (b[ok] - a[ok])).astype(np.int64)]
    # a window without a day of the wanted kind: any day in the window
    missing = ~(
        (weekend & (np.searchsorted(we_days, hi) > np.searchsorted(we_days, lo)))
        | (~weekend & (np.searchsorted(wd_days, hi) > np.searchsorted(wd_days, lo)))
    )
    out[missing] = lo[missing] + np.floor(u[missing] * (hi[missing] - lo[missing])).astype(
        np.int64
    )
    return out


def _make_sessions(
    rng: np.random.Generator, seg: np.ndarray, events_per_user: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sessions (user, start in UTC seconds, device, category, views, funnel depth) and the
    users' category preferences."""
    n = len(seg)
    dormant = seg == SEGMENTS.index("dormant")
    cat_pref = _user_preferences(rng, seg, _CATEGORY_P, _CONCENTRATION["category"])
    day_pref = _user_preferences(rng, seg, _DAYPART_P, _CONCENTRATION["daypart"])
    dev_pref = _user_preferences(rng, seg, _DEVICE_P, _CONCENTRATION["device"])
    wk = _WEEKEND_P[seg]
    weekend_pref = rng.beta(wk * 16, (1 - wk) * 16)
    activity = rng.lognormal(0.0, 0.35, n)  # heavy and light users within a segment
    views_mean = _VIEWS_MEAN[seg] * rng.lognormal(0.0, 0.2, n)

    scale = events_per_user / 50.0
    n_sess = rng.poisson(_SESSIONS_MEAN[seg] * activity * scale) + 1
    n_dormant = 1 + _choice_rows(rng, np.tile(_DORMANT_SESSIONS_P, (n, 1)))
    n_sess = np.where(dormant, n_dormant, n_sess)

    # activity window (days): most users the whole period, some join late or fade out early
    lo = np.where(rng.random(n) < 0.35, rng.integers(0, 30, n), 0)
    hi = np.where(rng.random(n) < 0.15, rng.integers(15, 70, n), _N_DAYS)
    hi = np.maximum(hi, lo + 14)
    lo = np.where(dormant, 0, lo)
    hi = np.where(dormant, rng.integers(21, 50, n), hi)

    user = np.repeat(np.arange(n), n_sess)
    m = len(user)
    is_weekend = rng.random(m) < weekend_pref[user]
    day = _pick_days(rng, lo[user], hi[user], is_weekend)
    part = _choice_rows(rng, day_pref[user])
    hour = np.empty(m, dtype=np.int64)
    u = rng.random(m)
    for p in range(4):
        idx = np.flatnonzero(part == p)
        w = _DAYPART_HOUR_W[p]
        cdf = np.cumsum(w) / w.sum()
        hour[idx] = _DAYPART_HOURS[p][np.searchsorted(cdf, u[idx], side="right")]
    local = (day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, m)).astype(np.int64)
    # Europe/Berlin is on summer time (UTC+2) for the whole period; the log starts at
    # 2026-06-01 00:00 UTC, so the few sessions before that move to the next day
    start = local - 2 * 3_600
    start = np.where(start < 0, start + 86_400, start)

    device = _choice_rows(rng, dev_pref[user])
    category = _choice_rows(rng, cat_pref[user])
    n_views = rng.poisson(views_mean[user] - 1) + 1
    f = _FUNNEL_P[seg[user]]
    r = rng.random((m, 3))
    depth = (r[:, 0] < f[:, 0]).astype(np.int64)
    depth += depth * (r[:, 1] < f[:, 1])
    depth += (depth == 2) * (r[:, 2] < f[:, 2])
    sessions = pd.DataFrame(
        {
            "user": user,
            "start": start,
            "device": device,
            "category": category,
            "n_views": n_views,
            "depth": depth,
        }
    )
    sessions = sessions.sort_values(["user", "start"], kind="stable", ignore_index=True)
    # dormant one-time buyers: most buy in their first session, rarely again
    first = np.r_[True, sessions["user"].to_numpy()[1:] != sessions["user"].to_numpy()[:-1]]
    dorm_s = dormant[sessions["user"].to_numpy()]
    buy_first = rng.random(len(sessions)) < _DORMANT_FIRST_PURCHASE_P
    d = sessions["depth"].to_numpy().copy()
    d = np.where(dorm_s & first, np.where(buy_first, 3, np.minimum(d, 2)), d)
    d = np.where(dorm_s & ~first & (d == 3), np.where(rng.random(len(d)) < 0.3, 3, 2), d)
    sessions["depth"] = d
    return sessions, cat_pref


def _make_events(
    rng: np.random.Generator, sessions: pd.DataFrame, seg: np.ndarray, cat_pref: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expand sessions to events; drop sessions that would merge with an earlier one."""
    n_views = sessions["n_views"].to_numpy()
    depth = sessions["depth"].to_numpy()
    n_ev = 1 + n_views + depth
    total = int(n_ev.sum())
    sess = np.repeat(np.arange(len(sessions)), n_ev)
    offset = np.cumsum(n_ev) - n_ev
    pos = np.arange(total) - offset[sess]
    nv = n_views[sess]
    etype = np.where(pos == 0, 0, np.where(pos <= nv, 1, pos - nv + 1))

    # seconds between events: a few seconds to a few minutes
    gap = np.minimum(3 + rng.exponential(40.0, total), 600).astype(np.int64)
    gap[pos == 0] = 0
    csum = np.cumsum(gap)
    rel = csum - csum[offset][sess]
    duration = rel[offset + n_ev - 1]

    # a session starting within 30 minutes of an earlier one's end would merge: drop it
    user = sessions["user"].to_numpy()
    start = sessions["start"].to_numpy()
    end = start + duration
    grp = pd.Series(end).groupby(user).cummax().to_numpy()
    prev_end = np.r_[-(10**9), grp[:-1]]
    prev_end[np.r_[True, user[1:] != user[:-1]]] = -(10**9)
    keep_s = start > prev_end + 31 * 60

    user_pref_cat = _choice_rows(rng, cat_pref[user[sess]])
    stray = rng.random(total) < _STRAY_P[seg[user[sess]]]
    category = np.where(stray & (etype == 1), user_pref_cat, sessions["category"].to_numpy()[sess])
    keep = keep_s[sess]
    events = pd.DataFrame(
        {
            "user": user[sess][keep],
            "t": (start[sess] + rel)[keep],
            "event_type": etype[keep],
            "category": category[keep],
            "device": sessions["device"].to_numpy()[sess][keep],
        }
    )
    kept = sessions[keep_s].reset_index(drop=True)
    return events, kept


def _make_orders(
    rng: np.random.Generator, events: pd.DataFrame, seg: np.ndarray, user_ids: np.ndarray
) -> pd.DataFrame:
    buy = events[events["event_type"] == EVENT_TYPES.index("purchase")]
    u = buy["user"].to_numpy()
    cat = buy["category"].to_numpy()
    s = seg[u]
    amount = _AMOUNT_MEDIAN[s] * _CATEGORY_PRICE[cat] * np.exp(rng.normal(0.0, _AMOUNT_SIGMA[s]))
    amount = np.round(np.maximum(amount, 2.99), 2)
    t = buy["t"].to_numpy() + rng.integers(5, 55, len(buy))
    orders = pd.DataFrame({"user": u, "t": t, "amount": amount, "category": cat})
    orders = orders.sort_values(["t", "user"], kind="stable", ignore_index=True)
    out = pd.DataFrame(
        {
            "order_id": pd.Series(np.arange(1, len(orders) + 1)).map("O{:07d}".format),
            "user_id": user_ids[orders["user"].to_numpy()],
            "ordered_at": _to_utc(orders["t"].to_numpy()),
            "amount": orders["amount"].to_numpy(),
            "category": np.array(CATEGORIES, dtype=object)[orders["category"].to_numpy()],
        }
    )
    return out


def _to_utc(seconds: np.ndarray) -> pd.DatetimeIndex:
    base = PERIOD_START.value // 1_000  # microseconds
    us = base + np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pd.DatetimeIndex(us.astype("datetime64[us]")).tz_localize("UTC")


def _typo(rng: np.random.Generator, text: str) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    if not long:
        return text
    i = long[int(rng.integers(len(long)))]
    w = words[i]
    j = int(rng.integers(1, len(w) - 1))
    if rng.random() < 0.5:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swap two letters
    else:
        w = w[:j] + w[j + 1 :]  # drop a letter
    words[i] = w
    return " ".join(words)


def _comments(rng: np.random.Generator, seg: np.ndarray, users: pd.DataFrame) -> np.ndarray:
    """Free-text comments: per-segment phrases, combined, with typos, some empty, a few plants."""
    n = len(seg)
    out = np.empty(n, dtype=object)
    for i in range(n):
        r = rng.random()
        if r < 0.12:
            out[i] = ""
            continue
        pool = _PHRASES[SEGMENTS[seg[i]]]
        k = 1 + int(rng.random() < 0.45) + int(rng.random() < 0.12)
        parts = [
            pool[int(j)] for j in rng.choice(len(pool), size=min(k, len(pool)), replace=False)
        ]
        if rng.random() < 0.25:
            parts.append(_GENERIC[int(rng.integers(len(_GENERIC)))])
        sep = (", ", ". ", " and ", "; ", " - ")[int(rng.integers(5))]
        text = sep.join(parts)
        text = _OPENERS[int(rng.integers(len(_OPENERS)))] + text
        text = text + _CLOSERS[int(rng.integers(len(_CLOSERS)))]
        if rng.random() < 0.5:
            text = text[0].upper() + text[1:]
        if rng.random() < 0.08:
            text = text.lower()
        if rng.random() < 0.18:
            text = _typo(rng, text)
        if rng.random() < 0.05:
            text = _typo(rng, text)
        out[i] = text

    # privacy and escaping plants: a fixed number, at positions fixed by the seed
    n_plants = min(len(_PLANTS) * 2, n)
    where = rng.choice(n, size=n_plants, replace=False)
    emails = users["email"].to_numpy()
    names = users["first_name"].to_numpy()
    phones = iter(_PHONES * 2)
    for j, i in enumerate(where):
        template = _PLANTS[j % len(_PLANTS)]
        phone = next(phones) if "{phone}" in template else ""
        text = template.format(email=emails[i], phone=phone, name=names[i])
        base = out[i]
        out[i] = text if not base or j % 3 == 0 else f"{base}. {text}"
    return out


def _make_survey(
    rng: np.random.Generator,
    seg: np.ndarray,
    users: pd.DataFrame,
    events: pd.DataFrame,
) -> pd.DataFrame:
    n = len(seg)
    respond = rng.random(n) < _RESPONSE_P[seg]
    idx = np.flatnonzero(respond)
    s = seg[idx]
    mood = rng.normal(0.0, 0.45, len(idx))  # a respondent's general mood moves all answers
    sat_latent = _SATISFACTION_MEAN[s] + mood + rng.normal(0.0, 0.55, len(idx))
    trust_latent = _TRUST_MEAN[s] + 0.6 * mood + rng.normal(0.0, 0.6, len(idx))
    satisfaction = np.clip(np.round(sat_latent), 1, 5).astype(np.int64)
    trust = np.clip(np.round(trust_latent), 1, 5).astype(np.int64)
    nps_latent = 2.2 * sat_latent - 1.6 + 0.4 * (trust_latent - 3.5) + rng.normal(0, 1.1, len(idx))
    nps = np.clip(np.round(nps_latent), 0, 10).astype(np.int64)

    last = events.groupby("user")["t"].max().reindex(np.arange(n)).to_numpy()
    first = events.groupby("user")["t"].min().reindex(np.arange(n)).to_numpy()
    span = np.maximum(last[idx] - first[idx], 3_600)
    answered = first[idx] + (rng.random(len(idx)) * span).astype(np.int64) + 600
    comment = _comments(rng, s, users.iloc[idx])
    return pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[idx],
            "answered_at": _to_utc(answered),
            "satisfaction": satisfaction,
            "trust": trust,
            "nps": nps,
            "comment": comment,
        }
    )


def make_sample(
    n_users: int = 20_000, *, seed: int = 2026, events_per_user: float = 50
) -> dict[str, pd.DataFrame]:
    """Generate the fictional shop audience with six planted segments.

    Parameters
    ----------
    n_users : int, default 20000
        Number of users; segment sizes are fixed shares (20/18/17/16/15/14 %).
    seed : int, default 2026
        Seed of the only random generator used.
    events_per_user : float, default 50
        Average clickstream events per user (scales the sessions of active users).

    Returns
    -------
    dict of str to DataFrame
        ``users``, ``events``, ``survey``, ``orders`` and ``truth`` (``user_id``, ``segment``;
        for tests only). Timestamps are tz-aware UTC; ids are zero-padded text.

    Examples
    --------
    >>> tables = make_sample(300, seed=7)
    >>> tables["truth"]["segment"].value_counts().index[0]
    'trendsetters'
    >>> str(tables["events"]["timestamp"].dt.tz)
    'UTC'
    """
    if int(n_users) < 1:
        raise ConfigError(
            f"n_users must be a positive integer, got {n_users!r}; pass e.g. n_users=20000."
        )
    if not events_per_user > 0:
        raise ConfigError(
            f"events_per_user must be positive, got {events_per_user!r}; the default is 50."
        )
    rng = np.random.default_rng(seed)
    users, seg = _make_users(rng, int(n_users))
    sessions, cat_pref = _make_sessions(rng, seg, float(events_per_user))
    events_i, sessions = _make_events(rng, sessions, seg, cat_pref)
    user_ids = users["user_id"].to_numpy()

    # main device: the one the user's sessions use most
    dev_counts = np.zeros((len(seg), len(DEVICES)))
    np.add.at(dev_counts, (sessions["user"].to_numpy(), sessions["device"].to_numpy()), 1)
    users["device"] = np.array(DEVICES, dtype=object)[dev_counts.argmax(axis=1)]
    # signup: before the first event; a quarter joined shortly before
    first_t = events_i.groupby("user")["t"].min().reindex(np.arange(len(seg))).to_numpy()
    first_day = first_t // 86_400
    recent = rng.random(len(seg)) < 0.25
    back = np.where(
        recent, rng.integers(0, 4, len(seg)), 4 + rng.exponential(420.0, len(seg)).astype(int)
    )
    back = np.minimum(back, first_day + (PERIOD_START - pd.Timestamp("2019-01-01", tz="UTC")).days)
    signup = PERIOD_START.tz_localize(None) + pd.to_timedelta(first_day - back, unit="D")
    users["signup_date"] = signup.strftime("%Y-%m-%d")

    events = pd.DataFrame(
        {
            "user_id": user_ids[events_i["user"].to_numpy()],
            "timestamp": _to_utc(events_i["t"].to_numpy()),
            "event_type": np.array(EVENT_TYPES, dtype=object)[events_i["event_type"].to_numpy()],
            "category": np.array(CATEGORIES, dtype=object)[events_i["category"].to_numpy()],
            "device": np.array(DEVICES, dtype=object)[events_i["device"].to_numpy()],
        }
    )
    orders = _make_orders(rng, events_i, seg, user_ids)
    survey = _make_survey(rng, seg, users, events_i)
    truth = pd.DataFrame({"user_id": user_ids, "segment": np.array(SEGMENTS, dtype=object)[seg]})
    str_cols = {
        "users": ["user_id", "first_name", "email", "gender", "city", "city_size"]
        + ["income_band", "device", "signup_date"],
        "events": ["user_id", "event_type", "category", "device"],
        "survey": ["user_id", "comment"],
        "orders": ["order_id", "user_id", "category"],
        "truth": ["user_id", "segment"],
    }
    tables = {"users": users, "events": events, "survey": survey, "orders": orders}
    tables["truth"] = truth
    for name, cols in str_cols.items():
        tables[name] = tables[name].astype({c: "str" for c in cols})
    return tables


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f")


def _write_events(events: pd.DataFrame, path: Path) -> None:
    table = pa.table(
        {
            "user_id": pa.array(events["user_id"].to_numpy(object), pa.string()),
            "timestamp": pa.array(
                events["timestamp"].dt.tz_convert("UTC").array.asi8, pa.int64()
            ).cast(pa.timestamp("us", tz="UTC")),
            "event_type": pa.array(events["event_type"].to_numpy(object), pa.string()),
            "category": pa.array(events["category"].to_numpy(object), pa.string()),
            "device": pa.array(events["device"].to_numpy(object), pa.string()),
        }
    )
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        use_dictionary=["user_id", "event_type", "category", "device"],
        column_encoding={"timestamp": "DELTA_BINARY_PACKED"},
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
        row_group_size=1_048_576,
        store_schema=False,
    )


def write_sample(
    out_dir: str | os.PathLike[str],
    n_users: int = 20_000,
    *,
    seed: int = 2026,
    events_per_user: float = 50,
) -> dict[str, Path]:
    """Generate the sample and write it to ``out_dir``, byte-for-byte reproducibly.

    Files are first written to a temporary folder inside ``out_dir`` and then moved into place,
    so readers never see a half-written sample. CSVs are UTF-8 with LF line endings and two
    decimals for amounts; ``events.parquet`` is written with pyarrow (zstd, no index).

    Parameters
    ----------
    out_dir : path
        Folder to write to (created if missing). Other files in it are left alone.
    n_users, seed, events_per_user
        Passed to :func:`make_sample`.

    Returns
    -------
    dict of str to Path
        The path of each written table (keys as in :data:`FILES`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_sample(tmp, 100, seed=3)
    ...     sorted(p.name for p in paths.values())
    ['events.parquet', 'orders.csv', 'survey.csv', 'truth.csv', 'users.csv']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = make_sample(n_users, seed=seed, events_per_user=events_per_user)
    survey = tables["survey"].assign(answered_at=_iso(tables["survey"]["answered_at"]))
    orders = tables["orders"].assign(ordered_at=_iso(tables["orders"]["ordered_at"]))
    paths = {name: out / file for name, file in FILES.items()}
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=out))
    try:
        _write_csv(tables["users"], tmp / FILES["users"])
        _write_events(tables["events"], tmp / FILES["events"])
        _write_csv(survey, tmp / FILES["survey"])
        _write_csv(orders, tmp / FILES["orders"])
        _write_csv(tables["truth"], tmp / FILES["truth"])
        for name, path in paths.items():
            os.replace(tmp / FILES[name], path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m toolkit.samples OUT_DIR [--users N] [--seed S]``: write the sample."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.samples", description="Write the seeded sample audience."
    )
    parser.add_argument("out_dir", help="folder to write users.csv, events.parquet, ...")
    parser.add_argument("--users", type=int, default=20_000, help="number of users (20000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument(
        "--events-per-user", type=float, default=50.0, help="average events per user (50)"
    )
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error(f"--users must be at least 1, got {args.users}")
    paths = write_sample(
        args.out_dir, args.users, seed=args.seed, events_per_user=args.events_per_user
    )
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
