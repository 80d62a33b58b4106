"""Choosing the number of segments: sweep indices and the recommendation rule.

The sweep itself (fitting every k) lives in :class:`toolkit.segmentation.Segmenter`; this module
holds the indices it reports and :func:`recommend_k`, the documented rule that turns a sweep
into a recommended number of segments with a one-sentence reason.

Indices per k (the ``k_sweep.csv`` table has one row per k and index):

* ``silhouette`` (higher is better) on a fixed-size sample (default 10,000 users): the full
  O(n²) distance matrix is never built. All k are scored from one pass over the sample's
  distances, in row chunks.
* ``calinski_harabasz`` (higher) and ``davies_bouldin`` (lower) on the sweep sample.
* ``bic`` (lower) of a diagonal Gaussian mixture, only for ``method="gmm"``.
* ``stability`` (higher): mean adjusted Rand index between the clustering and refits on random
  half-samples, compared on the silhouette sample.

Examples
--------
>>> import pandas as pd
>>> sweep = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.30, 0.35, 0.20],
...                       "stability": [0.95, 0.92, 0.60]})
>>> recommend_k(sweep)[0]
3
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from toolkit.errors import ConfigError

__all__ = [
    "INDICES",
    "STABLE_ARI",
    "STABILITY_WEIGHT",
    "sample_silhouettes",
    "recommend_k",
    "sweep_long",
    "sweep_wide",
]

#: Index name -> which direction is better.
INDICES = {
    "silhouette": "higher",
    "calinski_harabasz": "higher",
    "davies_bouldin": "lower",
    "bic": "lower",
    "stability": "higher",
    "inertia": "lower",
}
#: A k whose refits on half-samples agree at least this much (mean ARI) counts as reproducible.
STABLE_ARI = 0.80
#: Weight of stability next to silhouette when ranking reproducible k (breaks near-ties only).
STABILITY_WEIGHT = 0.1


def sample_silhouettes(
    Z: np.ndarray,
    labels_by_k: dict[int, np.ndarray],
    *,
    chunk_size: int = 1000,
    n_jobs: int | None = None,
) -> dict[int, float]:
    """Mean silhouette of several labelings of the same (sample) rows, in one distance pass.

    Equivalent to :func:`sklearn.metrics.silhouette_score` (Euclidean) for each labeling, but
    the distance matrix is computed once, in row chunks (memory ``chunk_size * n``), and shared
    by every k. Call it on a sample: the cost grows with the square of the rows.

    Parameters
    ----------
    Z : ndarray of shape (n, p)
    labels_by_k : dict
        ``{k: labels}``, each an integer array of length n.
    chunk_size : int, default=1000
    n_jobs : int, optional
        Threads over the row chunks (the result does not depend on it).

    Returns
    -------
    dict
        ``{k: mean silhouette}``; NaN when a labeling has a single cluster.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> round(sample_silhouettes(Z, {2: np.array([0, 0, 1, 1])})[2], 3)
    0.98
    """
    Z = np.asarray(Z, dtype="float64")
    n = len(Z)
    keys = list(labels_by_k)
    codes, counts, offsets, blocks = {}, {}, {}, []
    start = 0
    for k in keys:
        uniq, inv = np.unique(np.asarray(labels_by_k[k]), return_inverse=True)
        codes[k] = inv
        counts[k] = np.bincount(inv, minlength=len(uniq)).astype("float64")
        offsets[k] = (start, start + len(uniq))
        start += len(uniq)
        h = np.zeros((n, len(uniq)))
        h[np.arange(n), inv] = 1.0
        blocks.append(h)
    H = np.hstack(blocks) if blocks else np.zeros((n, 0))
    sums = np.empty((n, H.shape[1]))
    sq = np.einsum("ij,ij->i", Z, Z)

    def chunk(i0: int) -> None:
        i1 = min(i0 + chunk_size, n)
        d2 = sq[i0:i1, None] + sq[None, :] - 2.0 * (Z[i0:i1] @ Z.T)
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(i1 - i0), np.arange(i0, i1)] = 0.0
        np.sqrt(d2, out=d2)
        sums[i0:i1] = d2 @ H

    Parallel(n_jobs=n_jobs, backend="threading")(
        delayed(chunk)(i0) for i0 in range(0, n, chunk_size)
    )
    out = {}
    rows = np.arange(n)
    for k in keys:
        a0, a1 = offsets[k]
        if a1 - a0 < 2:
            out[k] = float("nan")
            continue
        s = sums[:, a0:a1]
        cnt = counts[k]
        own = codes[k]
        own_n = cnt[own]
        a = s[rows, own] / np.maximum(own_n - 1, 1)
        mean_other = s / cnt[None, :]
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        denom = np.maximum(a, b)
        sil = np.where(denom > 0, (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
        sil[own_n <= 1] = 0.0
        out[k] = float(sil.mean())
    return out


def sweep_wide(sweep: pd.DataFrame) -> pd.DataFrame:
    """The sweep with one row per k and one column per index (accepts long or wide input)."""
    if {"k", "index", "value"} <= set(sweep.columns):
        wide = sweep.pivot_table(index="k", columns="index", values="value", aggfunc="first")
        wide.columns.name = None
        return wide.reset_index().sort_values("k", ignore_index=True)
    if "k" not in sweep.columns:
        raise ConfigError(
            f"A k sweep needs a 'k' column; got columns {list(sweep.columns)}. Pass "
            "Segmenter.k_sweep_."
        )
    return sweep.sort_values("k", ignore_index=True)


def sweep_long(wide: pd.DataFrame, recommended: int | None = None) -> pd.DataFrame:
    """Tidy sweep: one row per k and index, with ``better`` and ``recommended`` columns."""
    rows = []
    for _, r in wide.iterrows():
        for name, better in INDICES.items():
            if name in wide.columns and pd.notna(r[name]):
                rows.append(
                    {
                        "k": int(r["k"]),
                        "index": name,
                        "value": float(r[name]),
                        "better": better,
                        "recommended": recommended is not None and int(r["k"]) == recommended,
                    }
                )
    return pd.DataFrame(rows, columns=["k", "index", "value", "better", "recommended"])


def recommend_k(
    sweep: pd.DataFrame,
    *,
    stable_ari: float = STABLE_ARI,
    stability_weight: float = STABILITY_WEIGHT,
) -> tuple[int, str]:
    """Recommend a number of segments from a sweep, with a one-sentence reason.

    The rule:

    1. **Reproducible** k are those whose stability (mean ARI between refits on half-samples)
       is at least ``stable_ari`` (0.80). If none is, the k within 0.05 of the best stability
       are used, and the reason says that no k was clearly reproducible.
    2. Among them, the k with the highest ``silhouette + stability_weight * stability``
       (weight 0.1); ties go to the smaller k.

    Separation (silhouette, on the fixed silhouette sample) decides; stability only breaks
    near-ties: a k whose silhouette is lower by 0.01 wins only if its stability is higher by
    more than 0.1. Without a silhouette column, Calinski-Harabasz decides alone.

    Why: silhouette alone often favours one big contrast (k = 2) or a noisy group split in
    two, and stability alone is high for any coarse split. A recommended k must reproduce,
    and among those separate the users best.

    Parameters
    ----------
    sweep : DataFrame
        Long (``k, index, value``) or wide (``k`` plus one column per index) sweep.
    stable_ari : float, default=0.80
    stability_weight : float, default=0.1

    Returns
    -------
    (int, str)
        The recommended k and the reason.

    Examples
    --------
    >>> import pandas as pd
    >>> sweep = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.20, 0.24, 0.235, 0.30],
    ...                       "stability": [0.99, 0.85, 0.97, 0.55]})
    >>> k, reason = recommend_k(sweep)
    >>> k
    4
    """
    wide = sweep_wide(sweep)
    if wide.empty:
        raise ConfigError("The k sweep is empty: it needs at least one k with its indices.")
    ks = wide["k"].astype(int).to_numpy()
    stab = wide["stability"].to_numpy(float) if "stability" in wide else np.ones(len(ks))
    stab = np.where(np.isnan(stab), -1.0, stab)
    if "silhouette" in wide and wide["silhouette"].notna().any():
        name, sep, w = "silhouette", wide["silhouette"].to_numpy(float), stability_weight
    elif "calinski_harabasz" in wide:
        name, sep, w = "Calinski-Harabasz index", wide["calinski_harabasz"].to_numpy(float), 0.0
    else:
        name, sep, w = "stability", stab.copy(), 0.0
    sep = np.where(np.isnan(sep), -np.inf, sep)

    stable = stab >= stable_ari
    clear = bool(stable.any())
    if not clear:
        stable = stab >= stab.max() - 0.05
    score = np.where(stable, sep + w * np.maximum(stab, 0.0), -np.inf)
    i = int(np.flatnonzero(score >= score.max())[0])  # ks ascend: ties -> smaller k
    k = int(ks[i])
    j = int(np.flatnonzero(stable & (sep >= sep[stable].max()))[0])  # best separation

    span = _ks_text(ks[stable])
    if j != i:
        how = (
            f"separates the users nearly as well as the best ({name} {sep[i]:.3f} vs "
            f"{sep[j]:.3f} at k = {ks[j]}) and reproduces clearly better (stability "
            f"{stab[i]:.2f} vs {stab[j]:.2f})"
        )
    else:
        how = f"separates the users best ({name} {sep[i]:.3g}; stability {stab[i]:.2f})"
    if clear:
        reason = (
            f"{k} segments: among the numbers of segments that reproduce on half-samples "
            f"(stability ARI ≥ {stable_ari:.2f} at k = {span}), {k} {how}."
        )
    else:
        reason = (
            f"{k} segments, with caution: no number of segments reproduces well on half-samples "
            f"(best stability ARI {stab.max():.2f} < {stable_ari:.2f}); among the most stable "
            f"(k = {span}), {k} {how}."
        )
    return k, reason


def _ks_text(ks: np.ndarray) -> str:
    ks = sorted(int(k) for k in ks)
    if not ks:
        return "none"
    runs, start, prev = [], ks[0], ks[0]
    for k in ks[1:]:
        if k == prev + 1:
            prev = k
            continue
        runs.append((start, prev))
        start = prev = k
    runs.append((start, prev))
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
