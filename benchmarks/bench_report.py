"""Wall time of ``toolkit report`` on the bundled 20,000-user sample, cold and warm.

Cold: an empty numba cache (UMAP compiles in every fresh kernel until the cache is filled).
Warm: the same run again with the cache filled. Prints one row per notebook plus rendering.
Targets (2 cores): under 90 s cold and under 45 s warm for the whole three-notebook report.

Run: ``python benchmarks/bench_report.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data-samples" / "shop" / "report.yaml"


def run_once(out: Path, cache: Path) -> tuple[float, dict]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "report", str(CONFIG), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"report failed:\n{proc.stdout}\n{proc.stderr}")
    record = json.loads((sorted(out.glob("*/run.json"))[-1]).read_text())
    return wall, record


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "numba-cache"
        rows = []
        for label in ("cold", "warm"):
            wall, record = run_once(tmp / "reports", cache)
            rows.append((label, wall, record))
        print(f"{'step':<14}" + "".join(f"{label + ' (s)':>12}" for label, *_ in rows))
        steps = [nb["notebook"] for nb in rows[0][2]["notebooks"]]
        for i, step in enumerate(steps):
            print(
                f"{step:<14}" + "".join(f"{r[2]['notebooks'][i]['seconds']:>12.1f}" for r in rows)
            )
        print(
            f"{'rendering':<14}" + "".join(f"{r[2].get('render_seconds', 0):>12.1f}" for r in rows)
        )
        print(f"{'total (wall)':<14}" + "".join(f"{r[1]:>12.1f}" for r in rows))
        print("targets: cold < 90 s, warm < 45 s (2 cores)")


if __name__ == "__main__":
    main()
