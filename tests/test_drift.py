"""Drift between runs: Hungarian matching of segment centroids and users who moved."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from toolkit.drift import compare_runs, match_segments


def _write_run(folder, users, segments):
    folder.mkdir()
    users.to_parquet(folder / "users.parquet", index=False)
    segments.to_csv(folder / "segments.csv", index=False)
    (folder / "columns.json").write_text(json.dumps({"id": "user_id"}))
    return folder


def _users(rng, n=600):
    centres = {1: (0.0, 0.0), 2: (6.0, 0.0), 3: (0.0, 6.0)}
    labels = np.repeat([1, 2, 3], n // 3)
    xy = np.array([centres[s] for s in labels]) + rng.normal(0, 0.5, (len(labels), 2))
    ids = [f"{i:05d}" for i in range(len(labels))]
    users = pd.DataFrame({"user_id": ids, "x": xy[:, 0], "y": xy[:, 1]})
    users["city_size"] = np.where(labels == 3, "rural", "big city")
    return users, labels


def test_match_segments_is_a_permutation():
    prev = np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]])
    cur = np.array([[9.1, 0.2], [0.1, -0.1], [5.2, 4.9]])
    assert match_segments(prev, cur, [1, 2, 3], [1, 2, 3]) == {1: 3, 2: 1, 3: 2}


def test_relabelled_segments_are_matched_and_users_stay(tmp_path, rng):
    users, labels = _users(rng)
    prev = _write_run(
        tmp_path / "run1", users, pd.DataFrame({"user_id": users.user_id, "segment": labels})
    )
    relabel = {1: 2, 2: 3, 3: 1}
    cur_labels = np.array([relabel[s] for s in labels])
    cur = _write_run(
        tmp_path / "run2", users, pd.DataFrame({"user_id": users.user_id, "segment": cur_labels})
    )
    drift = compare_runs(prev, cur)
    assert drift["stayed_share"] == 1.0
    assert drift["common_users"] == len(users)
    mapping = {row["segment"]: row["previous_segment"] for row in drift["rows"]}
    assert mapping == {2: 1, 3: 2, 1: 3}
    assert drift["appeared"] == [] and drift["vanished"] == []


def test_moved_users_and_vanished_segment_are_reported(tmp_path, rng):
    users, labels = _users(rng)
    prev = _write_run(
        tmp_path / "run1", users, pd.DataFrame({"user_id": users.user_id, "segment": labels})
    )
    merged = np.where(labels == 3, 1, labels)  # segment 3 merged into 1
    cur = _write_run(
        tmp_path / "run2", users, pd.DataFrame({"user_id": users.user_id, "segment": merged})
    )
    drift = compare_runs(prev, cur)
    assert len(drift["vanished"]) == 1
    assert np.isclose(drift["stayed_share"], 2 / 3, atol=0.01)
    assert set(drift["table"].columns) >= {
        "segment",
        "previous_segment",
        "size",
        "size_change",
        "stayed_share",
    }
