"""Event-log aggregation: DuckDB (``toolkit.events``) against a plain pandas groupby.

Generates event logs of 10 and 50 million rows (same schema as the sample's
``events.parquet``) with a vectorised generator, then computes the full user feature set of
:func:`toolkit.events.event_features` twice, each run in a fresh child process so that its
peak memory (``ru_maxrss``) is its own:

* ``duckdb``: the toolkit's one-pass SQL, ``threads=2``, ``memory_limit=3GB``;
* ``pandas``: the same features with ``pandas.read_parquet`` and ``groupby`` (checked equal to
  the DuckDB result on a small log before timing).

Targets (2 cores): 50 million events in under 20 s and under 4 GB peak with DuckDB, at least
4 times faster than pandas.

Run: ``python benchmarks/bench_events.py`` (default sizes 10M and 50M) or
``python benchmarks/bench_events.py --sizes 10M 50M --skip-pandas-above 20M --repeat 3``
(median of three DuckDB runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FUNNEL = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]
STEP_P = [0.16, 0.69, 0.07, 0.05, 0.03]
CATEGORIES = ["fashion", "home", "electronics", "kids", "sale", "beauty", "sports"]
DEVICES = ["mobile", "desktop", "tablet"]
TZ = "Europe/Berlin"
THREADS = 2
MEMORY_LIMIT = "3GB"
START_US = 1_780_272_000_000_000  # 2026-06-01 00:00 UTC in microseconds
PERIOD_US = 92 * 86_400 * 1_000_000


# --------------------------------------------------------------------------- generator
def generate(path: Path, n_events: int, *, seed: int = 0, chunk: int = 5_000_000) -> None:
    """Write ``n_events`` events to ``path``: sessions of ~6 events, ~50 events per user."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_users = max(n_events // 50, 1)
    width = len(str(n_users))
    user_dict = pa.array([str(i).zfill(width) for i in range(1, n_users + 1)])
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("event_type", pa.string()),
            ("category", pa.string()),
            ("device", pa.string()),
        ]
    )

    def strings(indices: np.ndarray, dictionary: pa.Array) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), dictionary).cast(
            pa.string()
        )

    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        done = 0
        while done < n_events:
            n = min(chunk, n_events - done)
            lengths = rng.geometric(1 / 6, size=n // 6 + 2)
            lengths = lengths[: np.searchsorted(np.cumsum(lengths), n) + 1]
            lengths[-1] -= lengths.sum() - n
            lengths = lengths[lengths > 0]
            sessions = len(lengths)
            session = np.repeat(np.arange(sessions), lengths)
            user = rng.integers(0, n_users, sessions)[session]
            start = START_US + rng.integers(0, PERIOD_US, sessions)
            gaps = rng.exponential(60e6, n).astype(np.int64)
            offsets = np.cumsum(gaps)
            first = np.repeat(np.cumsum(lengths) - lengths, lengths)
            within = offsets - offsets[first]
            ts = start[session] + within
            order = np.argsort(ts, kind="stable")  # exports come sorted by time
            table = pa.table(
                {
                    "user_id": strings(user[order], user_dict),
                    "timestamp": pa.array(ts[order], pa.timestamp("us", tz="UTC")),
                    "event_type": strings(
                        rng.choice(len(FUNNEL), n, p=STEP_P)[order], pa.array(FUNNEL)
                    ),
                    "category": strings(
                        rng.integers(0, len(CATEGORIES), n)[order], pa.array(CATEGORIES)
                    ),
                    "device": strings(rng.integers(0, len(DEVICES), n)[order], pa.array(DEVICES)),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=1_000_000)
            done += n


# --------------------------------------------------------------------------- the two methods
def spec_for(path: Path):
    from toolkit.spec import DataSpec

    return DataSpec.from_dict(
        {
            "id": "user_id",
            "timezone": TZ,
            "session_gap_minutes": 30,
            "sources": {
                "events": {
                    "path": str(path),
                    "kind": "events",
                    "timestamp": "timestamp",
                    "event_type": "event_type",
                    "funnel": FUNNEL,
                    "category": "category",
                    "device": "device",
                }
            },
        },
        path.parent,
    )


def duckdb_features(path: Path):
    from toolkit.events import event_features

    spec = spec_for(path)
    return event_features(spec.events, spec, threads=THREADS, memory_limit=MEMORY_LIMIT).table


def pandas_features(path: Path, gap_minutes: float = 30):
    """The same features with pandas: read, sort, diff/cumsum for sessions, groupby."""
    import pandas as pd

    df = pd.read_parquet(path)
    df = df.sort_values(["user_id", "timestamp"], kind="stable", ignore_index=True)
    uid = df["user_id"]
    ts = df["timestamp"]
    new_user = uid.ne(uid.shift())
    new_s = new_user | (ts.diff() > pd.Timedelta(minutes=gap_minutes))
    sid = new_s.cumsum()
    local = ts.dt.tz_convert(TZ).dt.tz_localize(None)
    day = local.dt.floor("D")
    hour = local.dt.hour
    g = df.groupby("user_id", sort=True)
    out = pd.DataFrame(index=g.size().index)
    out["events"] = g.size()
    out["sessions"] = new_s.groupby(uid).sum()
    out["active_days"] = (new_user | day.ne(day.shift())).groupby(uid).sum()
    out["events_per_session"] = out["events"] / out["sessions"]
    end = ts.max()
    out["recency_days"] = (end - g["timestamp"].max()).dt.total_seconds() / 86400
    out["tenure_days"] = (g["timestamp"].max() - g["timestamp"].min()).dt.total_seconds() / 86400
    parts = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (0, 6)}
    for name, (lo, hi) in parts.items():
        out[f"share_{name}"] = ((hour >= lo) & (hour < hi)).groupby(uid).mean()
    out["share_weekend"] = (local.dt.day_of_week >= 5).groupby(uid).mean()
    dev = pd.crosstab(uid, df["device"])
    dev_total = df["device"].notna().groupby(uid).sum()
    for d in sorted(dev.columns):
        out[f"share_device_{d}"] = dev[d].reindex(out.index, fill_value=0) / dev_total
    views = df["event_type"].eq("product_view") & df["category"].notna()
    view_counts = pd.crosstab(uid[views], df.loc[views, "category"]).reindex(out.index)
    all_counts = pd.crosstab(uid, df["category"]).reindex(out.index)
    has_views = view_counts.sum(axis=1).fillna(0) > 0
    for c in sorted(all_counts.columns):
        share_v = view_counts[c] / view_counts.sum(axis=1)
        share_a = all_counts[c] / all_counts.sum(axis=1)
        out[f"share_cat_{c}"] = share_v.where(has_views, share_a)
    step = df["event_type"].map({s: i for i, s in enumerate(FUNNEL)})
    per_session = step.groupby([uid, sid]).max()
    furthest = per_session.groupby(level=0).max().reindex(out.index)
    last = len(FUNNEL) - 1
    for k, s in enumerate(FUNNEL[1:], start=1):
        out[f"reached_{s}"] = (furthest.fillna(-1) >= k).astype("int64")
    out["furthest_step"] = furthest.map(dict(enumerate(FUNNEL))).astype("str")
    open_sessions = per_session[per_session < last]
    counts = open_sessions.groupby(level=0).value_counts().unstack(fill_value=0)
    counts = counts.reindex(index=out.index, columns=range(last), fill_value=0)
    reversed_counts = counts[counts.columns[::-1]]
    best = reversed_counts.idxmax(axis=1).where(counts.max(axis=1) > 0)
    out["dropout_step"] = best.map(lambda k: "none" if pd.isna(k) else FUNNEL[int(k)]).astype(
        "str"
    )
    out["conversion_rate"] = (per_session == last).groupby(level=0).sum() / out["sessions"]
    out["purchased"] = (furthest.fillna(-1) == last).astype("int64")
    out = out.reset_index()
    for col in ("events", "sessions", "active_days"):
        out[col] = out[col].astype("int64")
    out["user_id"] = out["user_id"].astype("str")
    return out


# --------------------------------------------------------------------------- child runs
def child(method: str, path: str) -> None:
    func = duckdb_features if method == "duckdb" else pandas_features
    t0 = time.perf_counter()
    table = func(Path(path))
    elapsed = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_gb": peak_kb / 1024**2, "users": len(table)}))


def measure(method: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", method, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        return {"seconds": float("nan"), "peak_gb": float("nan"), "error": proc.stderr[-400:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_same_features(folder: Path) -> None:
    """Both methods give the same table on a small log (else the race is unfair)."""
    import pandas as pd

    small = folder / "check.parquet"
    generate(small, 200_000, seed=1)
    a = duckdb_features(small)
    b = pandas_features(small)
    pd.testing.assert_frame_equal(a, b[a.columns], check_exact=False, rtol=1e-9, atol=1e-12)
    print("check: DuckDB and pandas features agree on a 200,000-event log")


def parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * mult)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10M", "50M"])
    parser.add_argument(
        "--skip-pandas-above", default="60M", help="size above which pandas is skipped"
    )
    parser.add_argument(
        "--dir", default=None, help="folder for the generated logs (default: temp)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="DuckDB runs per size; the median is reported with the range (shared machines "
        "vary by a fifth from run to run)",
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-events-", dir=args.dir) as tmp:
        folder = Path(tmp).resolve()
        check_same_features(folder)
        rows = []
        for size_text in args.sizes:
            n = parse_size(size_text)
            path = folder / f"events_{size_text}.parquet"
            t0 = time.perf_counter()
            generate(path, n)
            gen = time.perf_counter() - t0
            size_mb = path.stat().st_size / 1e6
            print(f"generated {n:,} events in {gen:.1f} s ({size_mb:.0f} MB)", flush=True)
            methods = ["duckdb"]
            if n <= parse_size(args.skip_pandas_above):
                methods.append("pandas")
            result = {m: measure(m, path) for m in methods}
            if args.repeat > 1:
                runs = [
                    result["duckdb"],
                    *(measure("duckdb", path) for _ in range(args.repeat - 1)),
                ]
                times = sorted(r["seconds"] for r in runs)
                result["duckdb"] = {
                    "seconds": float(np.median(times)),
                    "peak_gb": max(r["peak_gb"] for r in runs),
                }
                print(f"  duckdb runs: {', '.join(f'{t:.1f}' for t in times)} s", flush=True)
            for m in methods:
                r = result[m]
                if "error" in r:
                    print(f"  {m} failed: {r['error']}")
                speedup = (
                    result["pandas"]["seconds"] / r["seconds"]
                    if "pandas" in result
                    else float("nan")
                )
                rows.append(
                    (size_text, m, r["seconds"], r["peak_gb"], speedup if m == "duckdb" else 1.0)
                )
                print(f"  {m:7s} {r['seconds']:7.1f} s  {r['peak_gb']:5.2f} GB", flush=True)
            path.unlink()
    print()
    print("| events | method | time (s) | peak RSS (GB) | speed-up vs pandas |")
    print("|---|---|---|---|---|")
    for size_text, m, secs, peak, speedup in rows:
        sp = f"{speedup:.1f}x" if m == "duckdb" and not np.isnan(speedup) else ""
        print(f"| {size_text} | {m} | {secs:.1f} | {peak:.2f} | {sp} |")
    print(f"\nDuckDB: threads={THREADS}, memory_limit={MEMORY_LIMIT}; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
