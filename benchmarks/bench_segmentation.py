"""Time and peak memory of the segmentation sequence at 100,000 and 1,000,000 users.

Synthetic users (6 planted segments; 5 demographic and 22 behaviour columns that prepare into
about 40 features) go through the default sequence of the segments notebook:

1. ``prepare``   feature preparation (inside ``Segmenter.fit``)
2. ``sweep``     the k sweep 2-10 (silhouette on 10,000 users, CH, DB, stability)
3. ``final fit`` k-means on all users from the sweep's best centres
4. ``assign``    assignment of every user (``Segmenter.assign``: prepare + nearest centre)
5. ``map``       UMAP map of a 20,000-user stratified sample (``segment_map``)

and, outside the target, the per-segment stability (``segment_stability``: 20 bootstrap and 5
seed refits on a 20,000-user sample).

Each size runs in a fresh process; peak memory is the largest resident set size sampled while
the step ran (the whole process, data included). Target for 1,000,000 users on 2 cores: the
whole sequence in under 45 s and under 4 GB.

A naive baseline follows: silhouette on all users (scikit-learn, the full O(n²) distances) at
sizes where it still finishes, k-means on all 100,000 users for every k, and a diagonal Gaussian
mixture BIC sweep on all 100,000 users.

Run: ``python benchmarks/bench_segmentation.py [--sizes 100000 1000000] [--no-baseline]``.
UMAP's compilation is cached on disk (``NUMBA_CACHE_DIR``, default ``.cache/numba``); the first
run on a machine is slower by the compilation (reported as "cold" when the cache was empty).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CATS = ["fashion", "home", "electronics", "kids", "sale", "beauty", "sports"]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class MemorySampler:
    """Samples the process's resident set size every few milliseconds in a thread."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), rss_bytes()))
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak(self, t0: float, t1: float) -> int:
        inside = [r for t, r in self.samples if t0 <= t <= t1]
        return max(inside) if inside else rss_bytes()


def make_users(n: int, seed: int = 0):
    """Synthetic users with 6 planted segments: (table, catalogue, truth)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    k = 6
    truth = rng.choice(k, size=n, p=[0.22, 0.2, 0.17, 0.16, 0.15, 0.10])
    age_mu = np.array([25, 45, 36, 42, 40, 62])[truth]
    age_sd = np.array([3, 4, 5, 4, 12, 7])[truth]
    female = np.array([0.85, 0.8, 0.15, 0.55, 0.5, 0.5])[truth]
    big = np.array([0.7, 0.4, 0.5, 0.15, 0.4, 0.35])[truth]
    dev_p = np.array(
        [
            [0.75, 0.15, 0.1],
            [0.2, 0.7, 0.1],
            [0.2, 0.7, 0.1],
            [0.2, 0.2, 0.6],
            [0.5, 0.35, 0.15],
            [0.3, 0.5, 0.2],
        ]  # fmt: skip
    )[truth]
    cat_a = np.array(
        [
            [4, 1, 0.5, 0.5, 1, 3, 1],
            [2, 3, 0.5, 0.5, 1, 1, 0.5],
            [0.5, 0.5, 5, 0.3, 1, 0.3, 1.5],
            [1, 3, 0.5, 4, 1, 0.5, 1],
            [1, 1, 1, 1, 5, 1, 1],
            [1, 1, 1, 1, 1, 1, 1],
        ]  # fmt: skip
    )[truth]
    tod_a = np.array(
        [
            [1, 2, 5, 2],
            [1, 5, 2, 0.5],
            [0.5, 1, 3, 3],
            [1.5, 2, 2, 0.3],
            [4, 2, 1.5, 0.5],
            [2, 2, 2, 0.3],
        ]  # fmt: skip
    )[truth]
    ev_mu = np.array([60, 80, 40, 35, 70, 4])[truth]
    rec_mu = np.array([10, 15, 20, 20, 12, 70])[truth]
    wkd = np.array([0.3, 0.25, 0.3, 0.65, 0.3, 0.3])[truth]

    def pick(p: np.ndarray, levels: list[str]) -> np.ndarray:
        u = rng.random(len(p))[:, None]
        return np.asarray(levels, dtype=object)[(u > p.cumsum(axis=1)).sum(axis=1)]

    def dirichlet(a: np.ndarray) -> np.ndarray:
        g = rng.gamma(a * 1.5)
        return g / g.sum(axis=1, keepdims=True)

    u = rng.random(n)
    gender = np.where(u < female * 0.97, "female", np.where(u < 0.97, "male", "diverse"))
    u = rng.random(n)
    city = np.where(u < big, "big city", np.where(u < big + (1 - big) / 2, "town", "rural"))
    events = rng.negative_binomial(2, 2 / (2 + ev_mu)) + 1.0
    sessions = np.maximum(1, np.round(events / rng.uniform(3, 8, n)))
    tod = dirichlet(tod_a * 1.3)
    cat = dirichlet(cat_a)
    device = pick(dev_p, ["mobile", "desktop", "tablet"])
    dev_share = 0.6 * (device[:, None] == np.array(["desktop", "mobile", "tablet"])) + 0.4 * (
        dirichlet(np.ones((n, 3)))
    )
    fav = np.asarray(CATS, dtype=object)[cat.argmax(axis=1)]
    fav[rng.random(n) < 0.08] = "none"
    table = pd.DataFrame(
        {
            "user_id": pd.array([f"{i:07d}" for i in range(1, n + 1)], dtype="str"),
            "age": np.clip(rng.normal(age_mu, age_sd), 18, 75).round(),
            "gender": pd.array(gender, dtype="str"),
            "city_size": pd.array(city, dtype="str"),
            "income_band": pd.array(
                rng.choice(["low", "middle", "high"], n, p=[0.3, 0.5, 0.2]), dtype="str"
            ),
            "device": pd.array(device, dtype="str"),
            "events": events,
            "sessions": sessions,
            "active_days": np.minimum(sessions, rng.integers(1, 60, n)).astype(float),
            "events_per_session": events / sessions,
            "recency_days": rng.exponential(rec_mu),
            "tenure_days": rng.uniform(0, 92, n),
            "share_weekend": rng.beta(wkd * 8, (1 - wkd) * 8),
        }
    )
    for i, name in enumerate(["morning", "afternoon", "evening", "night"]):
        table[f"share_{name}"] = tod[:, i]
    for i, name in enumerate(["desktop", "mobile", "tablet"]):
        table[f"share_device_{name}"] = dev_share[:, i]
    for i, name in enumerate(CATS):
        table[f"share_cat_{name}"] = cat[:, i]
    table["favourite_category"] = pd.array(fav, dtype="str")
    table["revenue"] = rng.gamma(1.0, 60.0, n)
    rows = []
    for col in table.columns[1:]:
        role = (
            "demographic"
            if col in ("age", "gender", "city_size", "income_band", "device")
            else "behaviour"
        )
        kind = "numeric"
        if col in ("gender", "city_size", "device", "favourite_category"):
            kind = "categorical"
        order = None
        if col == "income_band":
            kind, order = "ordinal", ["low", "middle", "high"]
        if col == "revenue":
            role = "outcome"
        rows.append({"column": col, "role": role, "kind": kind, "scale_min": float("nan"),
                     "scale_max": float("nan"), "order": order, "label": col})  # fmt: skip
    return table, pd.DataFrame(rows).set_index("column"), truth


def run_one(n: int) -> dict:
    import warnings

    from sklearn.metrics import adjusted_rand_score

    from toolkit.config import numba_cache_dir

    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or numba_cache_dir())
    cold = not cache.is_dir() or not any(cache.iterdir())
    table, catalogue, truth = make_users(n)
    from toolkit.embedding import segment_map
    from toolkit.segmentation import Segmenter
    from toolkit.stability import segment_stability

    out: dict = {"n": n, "umap_cache": "cold" if cold else "warm"}
    with MemorySampler() as mem:
        t_start = time.perf_counter()
        seg = Segmenter(columns=catalogue, random_state=0).fit(table)
        m0, m1, m2, m3 = seg._fit_marks
        t = time.perf_counter()
        assigned = seg.assign(table)
        t_assign = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            segment_map(seg, table, random_state=0)
        t_map = time.perf_counter()
        segment_stability(seg, table, random_state=0)
        t_stab = time.perf_counter()
    steps = {
        "prepare": (m0, m1),
        "sweep 2-10": (m1, m2),
        "final fit": (m2, m3),
        "assign all": (t, t_assign),
        "UMAP map 20k": (t_assign, t_map),
    }
    out["steps"] = {
        name: {"seconds": b - a, "peak_gb": mem.peak(a, b) / 1e9} for name, (a, b) in steps.items()
    }
    out["total"] = {"seconds": t_map - t_start, "peak_gb": mem.peak(t_start, t_map) / 1e9}
    out["stability"] = {"seconds": t_stab - t_map, "peak_gb": mem.peak(t_map, t_stab) / 1e9}
    out["k"] = int(seg.n_segments_)
    out["ari"] = float(adjusted_rand_score(truth, seg.labels_))
    out["features"] = int(len(seg.feature_names_out_))
    out["assign_matches_fit"] = bool((assigned["segment"].to_numpy() == seg.labels_).all())
    return out


def run_baseline() -> dict:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    from toolkit.features import FeaturePreparer

    table, catalogue, _ = make_users(100_000)
    Z = FeaturePreparer(columns=catalogue).fit_transform(table).to_numpy("float32")
    labels = KMeans(6, n_init=1, random_state=0).fit_predict(Z)
    out: dict = {"silhouette_full": [], "features": Z.shape[1]}
    with MemorySampler() as mem:
        for n in (10_000, 20_000, 40_000):
            t0 = time.perf_counter()
            silhouette_score(Z[:n], labels[:n])
            t1 = time.perf_counter()
            out["silhouette_full"].append(
                {"n": n, "seconds": t1 - t0, "peak_gb": mem.peak(t0, t1) / 1e9}
            )
        t0 = time.perf_counter()
        for k in range(2, 11):
            KMeans(k, n_init=1, random_state=0).fit(Z)
        t1 = time.perf_counter()
        out["kmeans_full_sweep_100k"] = {"seconds": t1 - t0, "peak_gb": mem.peak(t0, t1) / 1e9}
        t0 = time.perf_counter()
        for k in range(2, 11):
            GaussianMixture(k, covariance_type="diag", random_state=0).fit(Z.astype(np.float64))
        t1 = time.perf_counter()
        out["gmm_bic_full_sweep_100k"] = {"seconds": t1 - t0, "peak_gb": mem.peak(t0, t1) / 1e9}
    return out


def _child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        sys.exit(f"benchmark step failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    if args.baseline_only:
        print(json.dumps(run_baseline()))
        return

    results = [_child(["--one", str(n)]) for n in args.sizes]
    names = list(results[0]["steps"])
    head = f"{'step':<16}" + "".join(f"{format(r['n'], ',') + ' users':>24}" for r in results)
    print("Segmentation sequence: seconds | peak resident memory (GB)")
    print(head)
    for name in [*names, "total"]:
        cells = []
        for r in results:
            cell = r["total"] if name == "total" else r["steps"][name]
            cells.append(f"{cell['seconds']:>12.1f} s {cell['peak_gb']:>6.2f} GB")
        print(f"{name:<16}" + "".join(f"{c:>24}" for c in cells))
    cells = [f"{r['stability']['seconds']:>12.1f} s {r['stability']['peak_gb']:>6.2f} GB"
             for r in results]  # fmt: skip
    print(f"{'(stability)':<16}" + "".join(f"{c:>24}" for c in cells))
    print("  (stability: 20 bootstrap + 5 seed refits on 20,000 users; not part of the target)")
    for r in results:
        print(
            f"  {r['n']:,} users: {r['features']} prepared features, k = {r['k']} recommended, "
            f"ARI vs planted {r['ari']:.3f}, assign == fit labels: {r['assign_matches_fit']}, "
            f"UMAP cache {r['umap_cache']}"
        )
    big = [r for r in results if r["n"] >= 1_000_000]
    for r in big:
        ok = r["total"]["seconds"] < 45 and r["total"]["peak_gb"] < 4
        print(f"  target 1M (< 45 s, < 4 GB): {'met' if ok else 'NOT met'}")
    if args.no_baseline:
        return
    base = _child(["--baseline-only"])
    print(f"\nNaive baseline on all users ({base['features']} prepared features):")
    for row in base["silhouette_full"]:
        print(
            f"  full silhouette, one k, {row['n']:>6,} users: {row['seconds']:6.1f} s "
            f"{row['peak_gb']:5.2f} GB"
        )
    last = base["silhouette_full"][-1]
    for n in (100_000, 1_000_000):
        est = last["seconds"] * (n / last["n"]) ** 2
        print(f"  full silhouette, one k, {n:>9,} users: ~{est:,.0f} s (extrapolated, n²)")
    km, gm = base["kmeans_full_sweep_100k"], base["gmm_bic_full_sweep_100k"]
    print(f"  k-means k=2-10 (1 init each) on all 100,000 users: {km['seconds']:.1f} s")
    print(f"  diagonal GMM BIC k=2-10 on all 100,000 users:      {gm['seconds']:.1f} s")


if __name__ == "__main__":
    main()
