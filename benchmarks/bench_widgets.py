"""Time of the segment explorer's refits on the bundled 20,000-user sample.

The explorer (:func:`toolkit.widgets.segment_explorer`) is built with its widgets, outside a
kernel, and driven through its controls as an analyst would:

1. ``first fit``         construction and first display: k chosen by evidence (the full k
                         sweep), analysis, map embedding, charts, drill-down with persona
2. ``k change``          the slider to 5 segments (the sweep is cached: only the analysis)
3. ``seed change``       seed 0 -> 1 at 5 segments (only the k = 5 fit of the new seed's sweep)
4. ``bases change``      bases to behaviour only (new preparation and map embedding)
5. ``auto, new seed``    k by evidence again with seed 2 (a new full sweep, for comparison)

Each row splits the wall time into the explorer's steps: ``segments`` (fit and segments table),
``analysis`` (profiles, findings, outcomes, targets), ``map`` (embedding, once per bases),
``charts`` (four PNG charts) and ``drill-down`` (the selected segment, persona included), in
that order; "charts shown" is the time until the status line and the four charts show the new
segments. The target: a refit after the first shows its charts in under 3 s. Timings depend on
the machine's load; run it on an otherwise idle machine.

Run: ``python benchmarks/bench_widgets.py [--config data-samples/shop/report.yaml]
[--map-method umap]``. UMAP's compilation is cached on disk (``NUMBA_CACHE_DIR``); the first run
on a machine is slower by the compilation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

STEPS = ("segments", "analysis", "map", "charts", "drill_down")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "data-samples" / "shop" / "report.yaml"))
    parser.add_argument("--map-method", default="umap", choices=["umap", "pca"])
    args = parser.parse_args()

    from toolkit.load import load_audience
    from toolkit.widgets import segment_explorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        audience = load_audience(args.config)
        print(f"loaded {len(audience.table):,} users in {time.perf_counter() - t0:.1f} s")

        rows = []

        def record(label: str, started: float) -> None:
            elapsed = time.perf_counter() - started
            rows.append((label, elapsed, dict(explorer.timings), explorer.n_segments_shown))

        t0 = time.perf_counter()
        explorer = segment_explorer(audience, static=False, map_method=args.map_method)
        ui = explorer.ui  # builds the widgets: map, charts and drill-down are drawn here
        record("first fit", t0)
        for label, widget, value in (
            ("k change", ui.k_slider, 5),
            ("seed change", ui.seed, 1),
            ("bases change", ui.bases, ("behaviour",)),
        ):
            t0 = time.perf_counter()
            widget.value = value  # as if moved in the browser: the observers refit
            record(label, t0)
        t0 = time.perf_counter()
        explorer.refit(n_segments=0, random_state=2, bases=("demographic", "behaviour"))
        record("auto, new seed", t0)

    print(f"\nsegment explorer on {len(audience.table):,} users, map: {args.map_method}")
    head = f"{'step':16s}" + "".join(f"{s:>11s}" for s in STEPS)
    head += f"{'charts shown':>14s}{'total':>9s}  shown"
    print(head)
    print("-" * len(head))
    for label, total, timings, shown in rows:
        cells = "".join(f"{timings[s]:10.2f}s" if s in timings else f"{'-':>11s}" for s in STEPS)
        view = sum(timings.get(s, 0.0) for s in STEPS[:4])
        print(f"{label:16s}{cells}{view:13.2f}s{total:8.2f}s  {shown} segments")
    print(
        "\ncharts shown: from the control change until the status and the four charts show the "
        "new segments;\nthe drill-down (persona preview included) is updated after them."
    )
    print(f"\nlast status: {explorer.status_text[:100]}...")


if __name__ == "__main__":
    main()
