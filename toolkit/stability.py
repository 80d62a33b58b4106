"""How stable is each segment? Cluster-wise bootstrap Jaccard and agreement between seeds.

:func:`segment_stability` follows Hennig (2007), "Cluster-wise assessment of cluster
stability": the segmentation method is refitted (same method, same number of segments, same
prepared features) on bootstrap samples of the users; each original segment is matched to the
most similar refitted cluster by the Jaccard index of their members among the bootstrapped
users, and the per-segment mean Jaccard over the refits is its stability. Hennig reads a mean
under 0.5 as a dissolved segment and over 0.75 as a stable one; segments under ``threshold``
(default 0.6) are flagged ``unreliable``. The adjusted Rand index between the segmentation and
refits with other seeds on the same users (``seed_ari``) tells whether the seed matters at all.

Above ``sample_size`` users the check runs on a sample stratified by segment, which makes it
(slightly) conservative: a refit on fewer users varies more.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.segmentation import Segmenter
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 80), rng.normal(8, 1, 40)],
...                    "b": np.r_[rng.normal(0, 1, 80), rng.normal(8, 1, 40)]})
>>> seg = Segmenter(n_segments=2, random_state=0).fit(df)
>>> stab = segment_stability(seg, df, n_bootstrap=5, random_state=0)
>>> stab[["segment", "size", "unreliable"]].values.tolist()
[[1, 80, False], [2, 40, False]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from toolkit.embedding import stratified_positions
from toolkit.errors import ConfigError

__all__ = ["segment_stability", "bootstrap_jaccard", "UNRELIABLE_BELOW"]

#: Segments whose mean bootstrap Jaccard is under this are flagged unreliable.
UNRELIABLE_BELOW = 0.6
#: Default users per refit, by method (the small-data methods refit on fewer users).
_SAMPLE_SIZE = {"kmeans": 20_000, "gmm": 20_000, "kprototypes": 4_000, "hdbscan": 4_000,
                "ward": 4_000}  # fmt: skip


def bootstrap_jaccard(
    reference: np.ndarray, boot_positions: np.ndarray, boot_labels: np.ndarray
) -> dict[int, float]:
    """Best Jaccard match of every reference segment with the clusters of one bootstrap refit.

    Parameters
    ----------
    reference : ndarray
        Reference segment of every sampled user (-1 = unsegmented, never a segment).
    boot_positions : ndarray
        Positions (into ``reference``) of the bootstrap draw, repeats allowed.
    boot_labels : ndarray
        Cluster of each drawn row in the refit (-1 = noise, never matched).

    Returns
    -------
    dict
        ``{segment: Jaccard}`` for the segments present in the draw. Users drawn several times
        count once (Hennig's definition on the set of bootstrapped users).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.array([1, 1, 1, 2, 2, 2])
    >>> bootstrap_jaccard(ref, np.array([0, 1, 2, 3, 4, 5]), np.array([0, 0, 1, 1, 1, 1]))
    {1: 0.6666666666666666, 2: 0.75}
    """
    uniq, first = np.unique(boot_positions, return_index=True)
    ref = np.asarray(reference)[uniq]
    new = np.asarray(boot_labels)[first]
    out = {}
    clusters = [c for c in np.unique(new) if c >= 0]
    for s in np.unique(ref):
        if s < 0:
            continue
        a = ref == s
        best = 0.0
        for c in clusters:
            b = new == c
            inter = np.count_nonzero(a & b)
            if inter:
                best = max(best, float(inter / np.count_nonzero(a | b)))
        out[int(s)] = best
    return out


def segment_stability(
    segmenter,
    table: pd.DataFrame,
    *,
    n_bootstrap: int = 20,
    n_seeds: int = 5,
    sample_size: int | None = None,
    threshold: float = UNRELIABLE_BELOW,
    random_state: int | None = 0,
    n_jobs: int | None = -1,
) -> pd.DataFrame:
    """Per-segment bootstrap stability (Hennig's Jaccard) and agreement between seeds.

    Parameters
    ----------
    segmenter : Segmenter
        A fitted segmenter.
    table : DataFrame
        The users it was fitted on (or comparable users: they are assigned first).
    n_bootstrap : int, default=20
        Bootstrap refits.
    n_seeds : int, default=5
        Refits with other seeds (same users) for ``seed_ari``; 0 skips them.
    sample_size : int, optional
        Users per refit (stratified by segment). Default 20,000 for kmeans/gmm and 4,000
        for the small-data methods.
    threshold : float, default=0.6
        Mean Jaccard under which a segment is ``unreliable``.
    random_state : int or None, default=0
    n_jobs : int, default=-1
        Threads for the refits (-1: one per core); the result does not depend on it.

    Returns
    -------
    DataFrame
        One row per segment: ``segment``, ``size``, ``share``, ``jaccard`` (mean over refits),
        ``jaccard_sd``, ``dissolved`` (share of refits with Jaccard < 0.5), ``recovered``
        (share with Jaccard >= 0.75), ``unreliable`` (``jaccard < threshold``), ``seed_ari``
        (mean ARI between the segmentation and refits with other seeds; the same in every
        row), ``n_bootstrap``. ``attrs`` hold ``seed_ari``, ``threshold`` and ``sample_size``.
    """
    check_is_fitted(segmenter, "labels_")
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be at least 1, got {n_bootstrap}.")
    labels = segmenter.segments_table(table)["segment"].to_numpy()
    rng = np.random.RandomState(random_state)
    size = sample_size or _SAMPLE_SIZE.get(segmenter.method, 20_000)
    pos = stratified_positions(labels, size, random_state=rng.randint(2**31 - 1))
    data = segmenter._stability_data(table, pos)
    ref = labels[pos]
    k = segmenter.n_segments_
    m = len(pos)
    seeds = [int(s) for s in rng.randint(0, 2**31 - 1, size=n_bootstrap + n_seeds)]
    per_seg: dict[int, list[float]] = {s: [] for s in range(1, k + 1)}
    draws = [np.sort(rng.randint(0, m, size=m)) for _ in range(n_bootstrap)]
    jobs = [(data[d], seeds[b]) for b, d in enumerate(draws)]
    jobs += [(data, seeds[n_bootstrap + j]) for j in range(n_seeds)]
    # independent, seeded refits: threads (one core each) change only the wall time
    with threadpool_limits(limits=1):
        refits = Parallel(n_jobs=n_jobs, backend="threading")(
            delayed(segmenter._refit_labels)(x, seed) for x, seed in jobs
        )
    for draw, boot in zip(draws, refits[:n_bootstrap], strict=True):
        for s, j in bootstrap_jaccard(ref, draw, boot).items():
            per_seg[s].append(j)
    aris = [adjusted_rand_score(ref, lab) for lab in refits[n_bootstrap:]]
    seed_ari = float(np.mean(aris)) if aris else float("nan")
    sizes = segmenter.sizes_
    rows = []
    n_all = len(labels)
    for s in range(1, k + 1):
        js = np.array(per_seg[s], dtype=float)
        mean = float(js.mean()) if len(js) else float("nan")
        rows.append(
            {
                "segment": s,
                "size": int((labels == s).sum()) if n_all else int(sizes.loc[s]),
                "share": float((labels == s).mean()) if n_all else float("nan"),
                "jaccard": mean,
                "jaccard_sd": float(js.std(ddof=1)) if len(js) > 1 else float("nan"),
                "dissolved": float((js < 0.5).mean()) if len(js) else float("nan"),
                "recovered": float((js >= 0.75).mean()) if len(js) else float("nan"),
                "unreliable": bool(not mean >= threshold),
                "seed_ari": seed_ari,
                "n_bootstrap": len(js),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update({"seed_ari": seed_ari, "threshold": threshold, "sample_size": m})
    return out
