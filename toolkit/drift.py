"""Drift between two report runs: which segments match, how they changed, who moved.

Segments of the new run are matched to those of the previous run by their centroids on the
features both runs share (numbers standardised, categories one-hot), with the Hungarian
algorithm. Users present in both runs tell how many stayed in the matching segment.

Examples
--------
>>> from toolkit.drift import match_segments
>>> import numpy as np
>>> match_segments(np.array([[0.0], [5.0]]), np.array([[5.1], [0.2]]), [1, 2], [1, 2])
{1: 2, 2: 1}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

__all__ = ["compare_runs", "match_segments", "segment_centroids"]


def match_segments(
    previous_centroids: np.ndarray,
    current_centroids: np.ndarray,
    previous_labels: list[int],
    current_labels: list[int],
) -> dict[int, int]:
    """Match current segments to previous ones (``{current: previous}``) by centroid distance."""
    cost = np.linalg.norm(current_centroids[:, None, :] - previous_centroids[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return {
        int(current_labels[r]): int(previous_labels[c]) for r, c in zip(rows, cols, strict=True)
    }


def _id_column(run: Path) -> str:
    meta = run / "columns.json"
    if meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        if isinstance(info, dict) and "id" in info:
            return str(info["id"])
    return str(pd.read_csv(run / "segments.csv", nrows=0).columns[0])


def _load(run: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    id_col = _id_column(run)
    users = pd.read_parquet(run / "users.parquet")
    segments = pd.read_csv(run / "segments.csv", dtype={id_col: str})
    users[id_col] = users[id_col].astype(str)
    return users, segments, id_col


def segment_centroids(features: pd.DataFrame, labels: pd.Series) -> tuple[np.ndarray, list[int]]:
    """Return the per-segment mean of ``features`` (rows aligned with ``labels``), by segment."""
    grouped = features.groupby(labels.to_numpy()).mean()
    grouped = grouped[grouped.index >= 0]
    return grouped.to_numpy(dtype=float), [int(s) for s in grouped.index]


def _shared_features(
    prev: pd.DataFrame, cur: pd.DataFrame, id_col: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    shared = [c for c in cur.columns if c in prev.columns and c != id_col]
    numeric = [
        c
        for c in shared
        if pd.api.types.is_numeric_dtype(cur[c]) and pd.api.types.is_numeric_dtype(prev[c])
    ]
    categorical = [
        c
        for c in shared
        if c not in numeric
        and cur[c].nunique() <= 50
        and not pd.api.types.is_datetime64_any_dtype(cur[c])
    ]
    both = pd.concat(
        [prev[numeric + categorical], cur[numeric + categorical]], keys=["prev", "cur"]
    )
    num = both[numeric].astype(float)
    num = (num - num.mean()) / num.std(ddof=0).replace(0, 1.0)
    num = num.fillna(0.0)
    cats = pd.get_dummies(both[categorical].astype("string").fillna("(missing)"), dtype=float)
    feats = pd.concat([num, cats], axis=1)
    return feats.loc["prev"].reset_index(drop=True), feats.loc["cur"].reset_index(drop=True)


def compare_runs(
    previous_run: str | os.PathLike[str], current_run: str | os.PathLike[str]
) -> dict[str, Any]:
    """Compare the segments of ``current_run`` with those of ``previous_run``.

    Returns
    -------
    dict
        ``previous_run`` (folder name), ``rows`` (one dict per segment), ``table`` (the same as a
        DataFrame, written to ``drift.csv``), ``stayed_share`` and ``common_users`` (users in both
        runs and the share that stayed in the matching segment), ``appeared`` and ``vanished``.
    """
    prev_dir, cur_dir = Path(previous_run), Path(current_run)
    prev_users, prev_segs, id_col = _load(prev_dir)
    cur_users, cur_segs, _ = _load(cur_dir)
    prev_users = prev_users.merge(prev_segs[[id_col, "segment"]], on=id_col, how="inner")
    cur_users = cur_users.merge(cur_segs[[id_col, "segment"]], on=id_col, how="inner")
    prev_feats, cur_feats = _shared_features(
        prev_users.drop(columns="segment"), cur_users.drop(columns="segment"), id_col
    )
    prev_c, prev_labels = segment_centroids(prev_feats, prev_users["segment"])
    cur_c, cur_labels = segment_centroids(cur_feats, cur_users["segment"])
    mapping = match_segments(prev_c, cur_c, prev_labels, cur_labels)

    both = prev_segs[[id_col, "segment"]].merge(
        cur_segs[[id_col, "segment"]], on=id_col, suffixes=("_previous", "_current")
    )
    both["matched_previous"] = both["segment_current"].map(mapping)
    both["stayed"] = both["matched_previous"] == both["segment_previous"]
    prev_sizes = prev_segs["segment"].value_counts()
    cur_sizes = cur_segs["segment"].value_counts()

    rows = []
    for seg in cur_labels:
        match = mapping.get(seg)
        members = both[both["segment_current"] == seg]
        distance = (
            float(np.linalg.norm(cur_c[cur_labels.index(seg)] - prev_c[prev_labels.index(match)]))
            if match is not None
            else float("nan")
        )
        previous_size = int(prev_sizes.get(match, 0)) if match is not None else 0
        size = int(cur_sizes.get(seg, 0))
        rows.append(
            {
                "segment": seg,
                "previous_segment": match,
                "size": size,
                "previous_size": previous_size,
                "size_change": (size - previous_size) / previous_size
                if previous_size
                else float("nan"),
                "distance": distance,
                "stayed_share": float(members["stayed"].mean()) if len(members) else float("nan"),
            }
        )
    matched_prev = set(mapping.values())
    for seg in prev_labels:
        if seg not in matched_prev:
            rows.append(
                {
                    "segment": None,
                    "previous_segment": seg,
                    "size": 0,
                    "previous_size": int(prev_sizes.get(seg, 0)),
                    "size_change": -1.0,
                    "distance": float("nan"),
                    "stayed_share": 0.0,
                }
            )
    table = pd.DataFrame(rows)
    return {
        "previous_run": prev_dir.name,
        "rows": rows,
        "table": table,
        "common_users": int(len(both)),
        "stayed_share": float(both["stayed"].mean()) if len(both) else float("nan"),
        "appeared": [s for s in cur_labels if s not in mapping],
        "vanished": [s for s in prev_labels if s not in matched_prev],
    }
