"""Segments of users: the :class:`Segmenter` estimator, persistence and assignment.

:class:`Segmenter` prepares the segmentation bases with :class:`~toolkit.features.
FeaturePreparer`, chooses the number of segments from a sweep (see :mod:`toolkit.selection`)
unless the analyst fixes it, fits one of several methods and numbers the segments by size
(1 = largest). :func:`segment_customers` is the notebook-friendly function;
:func:`save_segmenter`/:func:`load_segmenter` persist a fitted segmenter (preparation included)
to one file and :func:`assign_segments` scores new users into the same segments.

Methods (``method=``):

* ``"kmeans"`` (default): Lloyd k-means on all users. Above ``sweep_sample`` users the sweep
  and the choice of the best initialisation run on a random sample; the final fit on all
  users starts from the sample's centres.
* ``"gmm"``: Gaussian mixture with diagonal covariances (soft membership: the confidence is the
  membership probability); same sampling scheme, the sweep adds BIC.
* ``"kprototypes"``: k-prototypes (``kmodes``) on numeric features plus raw categorical codes,
  without one-hot; fitted on a stratified sample above ``max_sample`` (default 10,000) users,
  the rest assigned by the k-prototypes cost.
* ``"hdbscan"``: :class:`sklearn.cluster.HDBSCAN`; users in no dense group are unsegmented
  (label -1). Above ``max_sample`` (default 10,000) users it fits a stratified sample and
  assigns the rest by their nearest fitted neighbours. There is no k to choose.
* ``"ward"``: Ward agglomerative clustering (memory grows with the square of the users), on a
  stratified sample above ``max_sample`` (default 10,000) users; every user is then assigned
  to the nearest segment centre.

Refits of one table with other settings (an interactive explorer) can share a :class:`FitCache`:
``Segmenter.fit(table, cache=cache)`` prepares each choice of bases once and runs each k sweep
once, with results identical to fits without it.

Sampling is always announced by a :class:`~toolkit.errors.DataWarning` and recorded in
``fit_sample_size_``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> table = pd.DataFrame({"spend": np.r_[rng.normal(10, 1, 50), rng.normal(30, 1, 30)],
...                       "visits": np.r_[rng.normal(2, .5, 50), rng.normal(9, .5, 30)]})
>>> seg = Segmenter(random_state=0).fit(table)
>>> seg.n_segments_, seg.sizes_.tolist()
(2, [50, 30])
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted
from threadpoolctl import threadpool_limits

from toolkit.config import DEFAULT_K_RANGE, DEFAULT_RANDOM_STATE, DEFAULT_SILHOUETTE_SAMPLE
from toolkit.errors import ConfigError, DataError, DataWarning
from toolkit.features import FeaturePreparer
from toolkit.selection import recommend_k, sample_silhouettes, sweep_long

__all__ = [
    "METHODS",
    "FitCache",
    "Segmenter",
    "segment_customers",
    "save_segmenter",
    "load_segmenter",
    "assign_segments",
]

METHODS = ("kmeans", "gmm", "kprototypes", "hdbscan", "ward")
#: Largest number of users a method fits directly (None: all users).
SAMPLE_LIMITS = {"kmeans": None, "gmm": None, "kprototypes": 10_000, "hdbscan": 10_000,
                 "ward": 10_000}  # fmt: skip
_MAX_SEED = 2**31 - 1


# --------------------------------------------------------------------------- helpers
def _nearest(Z: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest centre (lowest index on ties), its distance and the margin 1 - d1/d2.

    Computed in float64 in row chunks, the same way at fit and at assignment, so that the
    assignment of the fitted users reproduces ``labels_`` exactly.
    """
    n = len(Z)
    lab = np.empty(n, dtype=np.int64)
    d1 = np.empty(n)
    conf = np.ones(n)
    c = np.asarray(centres, dtype="float64")
    csq = np.einsum("ij,ij->i", c, c)
    for i0 in range(0, n, 100_000):
        z = np.asarray(Z[i0 : i0 + 100_000], dtype="float64")
        d = np.einsum("ij,ij->i", z, z)[:, None] + csq[None, :] - 2.0 * (z @ c.T)
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        rows = np.arange(len(z))
        best = d.argmin(axis=1)
        lab[i0 : i0 + len(z)] = best
        first = d[rows, best]
        d1[i0 : i0 + len(z)] = first
        if d.shape[1] > 1:
            d[rows, best] = np.inf
            second = d.min(axis=1)
            conf[i0 : i0 + len(z)] = np.where(second > 0, 1.0 - first / second, 0.0)
    return lab, d1, conf


def _centre_distance(Z: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row to the centre of its label (nearest centre for -1)."""
    out = np.empty(len(Z))
    c = np.asarray(centres, dtype="float64")
    for i0 in range(0, len(Z), 100_000):
        z = np.asarray(Z[i0 : i0 + 100_000], dtype="float64")
        lab = labels[i0 : i0 + 100_000]
        d = np.sqrt(((z - c[np.maximum(lab, 0)]) ** 2).sum(axis=1))
        if (lab < 0).any():
            _, dn, _ = _nearest(z[lab < 0], c)
            d[lab < 0] = dn
        out[i0 : i0 + len(z)] = d
    return out


def _seeds(rng: np.random.RandomState, n: int) -> list[int]:
    return [int(s) for s in rng.randint(0, _MAX_SEED, size=n)]


def _stratified_sample(
    Z: np.ndarray, size: int, rng: np.random.RandomState, strata: np.ndarray | None = None
) -> np.ndarray:
    """Row positions of a sample stratified by ``strata`` (default: a quick 16-group k-means),
    proportional allocation with at least one row per stratum; sorted."""
    n = len(Z)
    if size >= n:
        return np.arange(n)
    if strata is None:
        probe = rng.choice(n, size=min(n, 20_000), replace=False)
        km = KMeans(min(16, len(probe)), n_init=1, random_state=_seeds(rng, 1)[0])
        km.fit(Z[probe])
        strata, _, _ = _nearest(Z, km.cluster_centers_)
    groups, inv = np.unique(strata, return_inverse=True)
    counts = np.bincount(inv)
    quota = counts * size / n
    alloc = np.maximum(np.floor(quota).astype(int), 1)
    alloc = np.minimum(alloc, counts)
    left = size - alloc.sum()
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    for g in order:
        if left <= 0:
            break
        if alloc[g] < counts[g]:
            alloc[g] += 1
            left -= 1
    picks = []
    for g in range(len(groups)):
        members = np.flatnonzero(inv == g)
        picks.append(rng.choice(members, size=alloc[g], replace=False))
    return np.sort(np.concatenate(picks))


def _relabel_by_size(labels: np.ndarray) -> tuple[dict[int, int], np.ndarray]:
    """Map raw cluster ids to 1..k by size (largest first; ties by lowest mean row position)."""
    raw = np.unique(labels[labels >= 0])
    pos = np.arange(len(labels))
    keys = []
    for r in raw:
        members = labels == r
        keys.append((-int(members.sum()), float(pos[members].mean()), int(r)))
    keys.sort()
    mapping = {r: i + 1 for i, (_, _, r) in enumerate(keys)}
    sizes = np.array([-s for s, _, _ in keys], dtype=np.int64)
    return mapping, sizes


def _apply_map(labels: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    lut = np.full(max(mapping, default=-1) + 2, -1, dtype=np.int64)
    for r, s in mapping.items():
        lut[r] = s
    out = np.full(len(labels), -1, dtype=np.int64)
    ok = labels >= 0
    out[ok] = lut[labels[ok]]
    return out


# --------------------------------------------------------------------------- engines
class _KMeansEngine:
    """k-means; sample fit with n_init, full fit from the best sample centres."""

    def __init__(self, n_init: int, params: Mapping[str, Any]):
        self.n_init = n_init
        self.params = dict(params)

    def fit(self, Z, k, seed, init=None):
        if init is None:
            km = KMeans(k, n_init=self.n_init, random_state=seed, **self.params)
        else:
            km = KMeans(k, init=init, n_init=1, random_state=seed, **self.params)
        km.fit(Z)
        self.model = km
        self.centres = km.cluster_centers_.astype("float64")
        return self

    def labels(self, Z):
        return self.model.labels_.astype(np.int64)

    def predict(self, Z):
        lab, _, conf = _nearest(Z, self.centres)
        return lab, conf


class _GMMEngine:
    """Gaussian mixture with diagonal covariances."""

    def __init__(self, n_init: int, params: Mapping[str, Any]):
        self.n_init = n_init
        self.params = {"reg_covar": 0.1, "max_iter": 200, **dict(params)}

    def fit(self, Z, k, seed, init=None):
        from sklearn.mixture import GaussianMixture

        if init is None:
            gm = GaussianMixture(
                k, covariance_type="diag", n_init=self.n_init, random_state=seed, **self.params
            )
        else:
            gm = GaussianMixture(
                k,
                covariance_type="diag",
                n_init=1,
                random_state=seed,
                weights_init=init.weights_,
                means_init=init.means_,
                precisions_init=init.precisions_,
                **self.params,
            )
        gm.fit(np.asarray(Z, dtype="float64"))
        self.model = gm
        self.centres = gm.means_.astype("float64")
        return self

    def labels(self, Z):
        return self.predict(Z)[0]

    def predict(self, Z):
        out_l = np.empty(len(Z), dtype=np.int64)
        out_c = np.empty(len(Z))
        for i0 in range(0, len(Z), 200_000):
            p = self.model.predict_proba(np.asarray(Z[i0 : i0 + 200_000], dtype="float64"))
            out_l[i0 : i0 + len(p)] = p.argmax(axis=1)
            out_c[i0 : i0 + len(p)] = p.max(axis=1)
        return out_l, out_c

    def bic(self, Z):
        return float(self.model.bic(np.asarray(Z, dtype="float64")))


class _WardEngine:
    """Ward linkage on (a sample of) the users; assignment to the nearest segment centre."""

    def __init__(self, params: Mapping[str, Any]):
        self.params = dict(params)

    def tree(self, Z):
        from scipy.cluster.hierarchy import linkage

        self.linkage = linkage(np.asarray(Z, dtype="float64"), method="ward")
        self._tree_n = len(Z)
        return self

    def fit(self, Z, k, seed, init=None):
        from scipy.cluster.hierarchy import fcluster

        if getattr(self, "_tree_n", None) != len(Z) or not hasattr(self, "linkage"):
            self.tree(Z)
            self._tree_n = len(Z)
        lab = fcluster(self.linkage, t=k, criterion="maxclust").astype(np.int64) - 1
        self._labels = lab
        self.centres = np.vstack(
            [np.asarray(Z[lab == c], dtype="float64").mean(axis=0) for c in range(lab.max() + 1)]
        )
        return self

    def labels(self, Z):
        return self._labels

    def predict(self, Z):
        lab, _, conf = _nearest(Z, self.centres)
        return lab, conf


class _KPrototypesEngine:
    """k-prototypes (Huang 1998) on numeric features + categorical codes, without one-hot.

    Batch (Lloyd-style) iterations, vectorised with numpy: assign every user to the prototype
    of least cost, then move each prototype to its members' numeric means and categorical
    modes. Cost = squared Euclidean distance on the numeric features + ``gamma_c`` per
    mismatching categorical variable, where ``gamma_c = 1 / Gini impurity`` of the variable by
    default, so that a categorical variable weighs as much as a numeric one of variance 1 (the
    ``balance="variable"`` scheme of the one-hot features). ``method_params={"gamma": g}`` sets
    one weight for all (as in ``kmodes``); ``{"engine": "kmodes"}`` uses the (much slower)
    ``kmodes`` package instead. Seeding: k-means++ on the same cost.
    """

    def __init__(self, n_init: int, categorical: list[int], params: Mapping[str, Any]):
        self.n_init = n_init
        self.categorical = categorical
        self.params = {"max_iter": 100, **dict(params)}

    def _cost(self, num, cat, num_c, cat_c, w):
        d = np.einsum("ij,ij->i", num, num)[:, None] + np.einsum("ij,ij->i", num_c, num_c)[None]
        d -= 2.0 * (num @ num_c.T)
        np.maximum(d, 0.0, out=d)
        for j in range(cat.shape[1]):
            d += w[j] * (cat[:, j, None] != cat_c[None, :, j])
        return d

    def fit(self, Zm, k, seed, init=None):
        Zm = np.asarray(Zm, dtype="float64")
        self.num = [j for j in range(Zm.shape[1]) if j not in self.categorical]
        num, cat = Zm[:, self.num], Zm[:, self.categorical].astype(np.int64)
        params = dict(self.params)
        if params.pop("engine", None) == "kmodes":
            return self._fit_kmodes(Zm, k, seed, params)
        gamma = params.get("gamma")
        if gamma is None:
            w = []
            for j in range(cat.shape[1]):
                p = np.bincount(cat[:, j] - cat[:, j].min()) / len(cat)
                w.append(1.0 / max(1.0 - float((p**2).sum()), 1e-3))
            self.weights = np.array(w)
        else:
            self.weights = np.full(cat.shape[1], float(gamma))
        rng = np.random.RandomState(seed)
        n_levels = [int(cat[:, j].max()) + 1 for j in range(cat.shape[1])]
        best = (np.inf, None, None, None)
        for _ in range(max(1, self.n_init)):
            # k-means++ seeding on the mixed cost
            idx = [int(rng.randint(len(Zm)))]
            d = self._cost(num, cat, num[idx], cat[idx], self.weights)[:, 0]
            for _c in range(1, k):
                p = d / d.sum() if d.sum() > 0 else np.full(len(d), 1 / len(d))
                idx.append(int(rng.choice(len(Zm), p=p)))
                d = np.minimum(d, self._cost(num, cat, num[[idx[-1]]], cat[[idx[-1]]],
                                             self.weights)[:, 0])  # fmt: skip
            num_c, cat_c = num[idx].copy(), cat[idx].copy()
            labels = None
            for _it in range(int(params.get("max_iter", 100))):
                cost = self._cost(num, cat, num_c, cat_c, self.weights)
                new = cost.argmin(axis=1)
                if labels is not None and (new == labels).all():
                    break
                labels = new
                counts = np.bincount(labels, minlength=k)
                for c in np.flatnonzero(counts == 0):  # empty: restart at the costliest user
                    far = int(cost[np.arange(len(cost)), labels].argmax())
                    labels[far] = c
                    counts = np.bincount(labels, minlength=k)
                num_c = np.zeros((k, num.shape[1]))
                np.add.at(num_c, labels, num)
                num_c /= counts[:, None]
                for j, L in enumerate(n_levels):
                    tab = np.bincount(labels * L + cat[:, j], minlength=k * L).reshape(k, L)
                    cat_c[:, j] = tab.argmax(axis=1)
            total = float(self._cost(num, cat, num_c, cat_c, self.weights)[
                np.arange(len(num)), labels].sum())  # fmt: skip
            if total < best[0]:
                best = (total, num_c, cat_c, labels)
        _, self.num_centres, self.cat_centres, self._labels = best
        self.centres = None  # set by the Segmenter in the one-hot space
        return self

    def _fit_kmodes(self, Zm, k, seed, params):
        from kmodes.kprototypes import KPrototypes

        kp = KPrototypes(n_clusters=k, n_init=self.n_init, random_state=seed, n_jobs=1, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kp.fit(Zm, categorical=self.categorical)
        self.weights = np.full(len(self.categorical), float(kp.gamma))
        cents = np.asarray(kp.cluster_centroids_, dtype="float64")
        self.num_centres = cents[:, : len(self.num)]
        self.cat_centres = cents[:, len(self.num) :]
        self._labels = np.asarray(kp.labels_, dtype=np.int64)
        self.centres = None
        return self

    def labels(self, Zm):
        return self._labels

    def predict(self, Zm):
        n = len(Zm)
        lab = np.empty(n, dtype=np.int64)
        conf = np.empty(n)
        for i0 in range(0, n, 100_000):
            z = np.asarray(Zm[i0 : i0 + 100_000], dtype="float64")
            cost = self._cost(z[:, self.num], z[:, self.categorical], self.num_centres,
                              self.cat_centres, self.weights)  # fmt: skip
            lab[i0 : i0 + len(z)] = cost.argmin(axis=1)
            if cost.shape[1] > 1:
                srt = np.sqrt(np.sort(cost, axis=1)[:, :2])
                conf[i0 : i0 + len(z)] = np.where(srt[:, 1] > 0, 1 - srt[:, 0] / srt[:, 1], 0.0)
            else:
                conf[i0 : i0 + len(z)] = 1.0
        return lab, conf


class _HDBSCANEngine:
    """HDBSCAN on (a sample of) the users; the rest by a vote of the nearest fitted users."""

    def __init__(self, params: Mapping[str, Any], n_neighbors: int = 10):
        self.params = dict(params)
        self.n_neighbors = n_neighbors

    def fit(self, Z, k, seed, init=None):
        from sklearn.cluster import HDBSCAN

        params = {"min_cluster_size": max(15, len(Z) // 100), "min_samples": 5, "copy": True,
                  **self.params}  # fmt: skip
        hd = HDBSCAN(**params).fit(np.asarray(Z, dtype="float64"))
        self._labels = hd.labels_.astype(np.int64)
        self.points = np.asarray(Z, dtype="float32")
        self.point_labels = self._labels
        n_clusters = int(self._labels.max()) + 1
        self.centres = (
            np.vstack([self.points[self._labels == c].mean(axis=0) for c in range(n_clusters)])
            if n_clusters > 0
            else np.zeros((0, Z.shape[1]))
        )
        return self

    def labels(self, Z):
        return self._labels

    def predict(self, Z):
        from sklearn.neighbors import NearestNeighbors

        k = min(self.n_neighbors, len(self.points))
        nn = NearestNeighbors(n_neighbors=k).fit(self.points)
        _, idx = nn.kneighbors(np.asarray(Z, dtype="float32"))
        votes = self.point_labels[idx]
        n_lab = int(self.point_labels.max()) + 2
        counts = np.zeros((len(Z), n_lab))
        for j in range(k):
            counts[np.arange(len(Z)), votes[:, j] + 1] += 1
        win = counts.argmax(axis=1)
        return win - 1, counts.max(axis=1) / k


# --------------------------------------------------------------------------- cache
class FitCache:
    """Work that refits of one table share: prepared bases and the fits of the k sweep.

    Pass the same cache to every :meth:`Segmenter.fit` (or :func:`segment_customers`) of one
    table and column catalogue, e.g. in an interactive explorer. Each choice of bases is then
    prepared once, and each sweep (bases, method, seed, k range) runs once, so changing only
    ``n_segments`` refits in a fraction of a second. Results are identical to fits without a
    cache. Fits with ``random_state=None`` (or a ``RandomState``) do not use it.

    Parameters
    ----------
    defer_sweep : bool, default=False
        When ``n_segments`` is fixed and its sweep is not cached yet, fit only that k of the
        sweep (the very fit the full sweep would make, so the labels are the same) and leave
        ``k_sweep_`` empty; the full sweep runs when ``n_segments="auto"`` needs it.
    max_entries : int, default=8
        Prepared tables and sweeps kept (the oldest are dropped first).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 60), rng.normal(8, 1, 40)]})
    >>> cache = FitCache()
    >>> first = Segmenter(random_state=0).fit(df, cache=cache)
    >>> again = Segmenter(n_segments=3, random_state=0, sweep=True).fit(df, cache=cache)
    >>> (again.k_sweep_.equals(first.k_sweep_), len(cache))
    (True, 2)
    """

    def __init__(self, *, defer_sweep: bool = False, max_entries: int = 8):
        self.defer_sweep = bool(defer_sweep)
        self.max_entries = int(max_entries)
        self._prepared: dict[tuple, tuple] = {}
        self._sweeps: dict[tuple, tuple] = {}
        self._fits: dict[tuple, Any] = {}

    def __len__(self) -> int:
        """Cached items: prepared tables plus sweeps."""
        return len(self._prepared) + len(self._sweeps)

    def clear(self) -> None:
        """Forget everything."""
        self._prepared.clear()
        self._sweeps.clear()
        self._fits.clear()

    def _put(self, store: dict, key: tuple, value: Any, limit: int) -> None:
        store.pop(key, None)
        store[key] = value
        while len(store) > max(limit, 1):
            store.pop(next(iter(store)))


def _frozen(value: Any) -> str:
    """A hashable, order-stable text form of a parameter (lists, dicts, catalogues)."""
    if isinstance(value, pd.DataFrame):
        text = value.astype(str).to_csv()
        return hashlib.sha1(text.encode("utf-8")).hexdigest()
    return json.dumps(value, sort_keys=True, default=repr)


# --------------------------------------------------------------------------- Segmenter
class Segmenter(ClusterMixin, BaseEstimator):
    """Segment users from their prepared bases, choosing the number of segments by evidence.

    Parameters
    ----------
    n_segments : int or "auto", default="auto"
        Number of segments; ``"auto"`` recommends one from the sweep (:func:`~toolkit.selection.
        recommend_k`). Ignored by ``method="hdbscan"``, which finds its own number.
    method : {"kmeans", "gmm", "kprototypes", "hdbscan", "ward"}, default="kmeans"
    k_range : (int, int), default=(2, 10)
        Smallest and largest k of the sweep.
    bases : sequence of str, optional
        Roles and/or columns that form the segments (default: ``demographic`` + ``behaviour``
        with a catalogue or roles, else every column).
    weights : dict, optional
        Variance-share multipliers per role or column (see :class:`~toolkit.features.
        FeaturePreparer`).
    columns : DataFrame, optional
        The column catalogue (``Audience.columns``).
    roles : dict, optional
        ``{column: role}`` when there is no catalogue.
    random_state : int, RandomState or None, default=None
        Seed: the same data, parameters and seed give identical labels.
    n_init : int, default=4
        Initialisations per fit (k-means, mixture, k-prototypes); the best one is kept.
    max_sample : int, optional
        Largest number of users the method fits directly; above it a stratified sample is
        fitted and the rest assigned. Default per method: no limit for kmeans/gmm, 10,000 for
        kprototypes, hdbscan and ward.
    sweep : bool or "auto", default="auto"
        Run the k sweep: ``"auto"`` only when ``n_segments="auto"``; ``True`` also when k is
        fixed (to show the evidence next to the analyst's choice).
    sweep_sample : int, default=25,000
        Users (random sample) on which the sweep fits every k.
    silhouette_sample : int, default=10,000
        Users (random subset of the sweep sample) on which silhouettes and stability are scored.
    n_stability : int, default=3
        Half-sample refits per k for the sweep's stability index.
    method_params : dict, optional
        Extra keyword arguments for the underlying estimator (e.g. ``min_cluster_size``).
    id_column : str, optional
        Column holding the user id (default: the first table column not in the catalogue, or
        the ``id`` role).
    balance : {"variable", "role", "none"}, default="variable"
        How the prepared features are weighted (see :class:`~toolkit.features.FeaturePreparer`).
    n_jobs : int, default=-1
        Threads for the sweep's fits (-1: one per core). Each fit runs single-threaded (on
        shared cores many small multi-threaded fits are several times slower), and every fit
        is seeded on its own, so the result does not depend on ``n_jobs``.

    Attributes
    ----------
    preparer_ : FeaturePreparer
    labels_ : ndarray of int
        Segment of every fitted user: 1..k by size, -1 = unsegmented.
    confidence_ : ndarray of float
        Confidence of each fitted user's segment (0-1; see :meth:`assign`).
    n_segments_ : int
    sizes_ : Series
        Users per segment (index: segment).
    k_sweep_ : DataFrame
        One row per k and index (``k, index, value, better, recommended``); empty without sweep.
    recommended_k_ : int or None
    recommended_reason_ : str
    cluster_centers_ : ndarray of shape (n_segments_, n_features)
        Segment centres in the prepared feature space (row i = segment i + 1).
    radius_ : ndarray of shape (n_segments_,)
        Largest distance of a fitted member to its centre; new users farther away than this
        from their segment's centre are unsegmented.
    fit_seconds_ : dict
        Wall time of the fit's steps: ``prepare``, ``sweep``, ``final_fit``.
    fit_sample_size_ : int
        Users the method was fitted on (smaller than the data when it sampled).
    base_columns_ : list of str
    feature_names_out_ : ndarray of str
        Prepared feature names.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 60), rng.normal(8, 1, 40)]})
    >>> seg = Segmenter(n_segments=2, random_state=0).fit(df)
    >>> seg.assign(df.head(2)).columns.tolist()
    ['segment', 'confidence', 'distance', 'unsegmented']
    """

    def __init__(
        self,
        n_segments: int | str = "auto",
        method: str = "kmeans",
        k_range: tuple[int, int] = DEFAULT_K_RANGE,
        bases: Sequence[str] | None = None,
        weights: Mapping[str, float] | None = None,
        columns: pd.DataFrame | None = None,
        roles: Mapping[str, Any] | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_init: int = 4,
        max_sample: int | None = None,
        sweep: bool | str = "auto",
        sweep_sample: int = 25_000,
        silhouette_sample: int = DEFAULT_SILHOUETTE_SAMPLE,
        n_stability: int = 3,
        method_params: Mapping[str, Any] | None = None,
        id_column: str | None = None,
        balance: str = "variable",
        n_jobs: int | None = -1,
    ):
        self.n_segments = n_segments
        self.method = method
        self.k_range = k_range
        self.bases = bases
        self.weights = weights
        self.columns = columns
        self.roles = roles
        self.random_state = random_state
        self.n_init = n_init
        self.max_sample = max_sample
        self.sweep = sweep
        self.sweep_sample = sweep_sample
        self.silhouette_sample = silhouette_sample
        self.n_stability = n_stability
        self.method_params = method_params
        self.id_column = id_column
        self.balance = balance
        self.n_jobs = n_jobs

    # -- validation ---------------------------------------------------------------------------
    def _check_params(self, n: int) -> tuple[int, int]:
        if self.method not in METHODS:
            raise ConfigError(
                f"method={self.method!r} is not supported; choose one of {list(METHODS)}."
            )
        if not (isinstance(self.n_segments, str) and self.n_segments == "auto"):
            if not isinstance(self.n_segments, int | np.integer) or self.n_segments < 1:
                raise ConfigError(
                    f"n_segments must be 'auto' or a positive integer, got {self.n_segments!r}."
                )
        try:
            lo, hi = (int(v) for v in self.k_range)
        except (TypeError, ValueError):
            raise ConfigError(
                f"k_range must be two integers (smallest, largest), got {self.k_range!r}."
            ) from None
        if lo < 2 or hi < lo:
            raise ConfigError(f"k_range must satisfy 2 <= smallest <= largest; got {(lo, hi)}.")
        if n < 2:
            raise DataError(
                f"Segmenting needs at least 2 users, got n_samples={n}. Check the table and "
                "its filters."
            )
        if self.sweep not in (True, False, "auto"):
            raise ConfigError(f"sweep must be True, False or 'auto', got {self.sweep!r}.")
        return lo, min(hi, n - 1)

    def _as_frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            if len(X) == 0:
                raise DataError(
                    "The table has 0 users (rows); segmenting needs a non-empty table."
                )
            return X
        arr = check_array(X, dtype=None, ensure_all_finite="allow-nan", accept_sparse=False)
        if hasattr(self, "n_features_in_") and arr.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {arr.shape[1]} features, but Segmenter is expecting "
                f"{self.n_features_in_} features as input."
            )
        return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])

    def _engine(self):
        params = dict(self.method_params or {})
        if self.method == "kmeans":
            return _KMeansEngine(self.n_init, params)
        if self.method == "gmm":
            return _GMMEngine(self.n_init, params)
        if self.method == "ward":
            return _WardEngine(params)
        if self.method == "hdbscan":
            return _HDBSCANEngine(params)
        return _KPrototypesEngine(self.n_init, self._cat_idx, params)

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y=None, *, cache: FitCache | None = None) -> Segmenter:
        """Prepare the bases, run the sweep when asked, fit the final segmentation.

        Numerical libraries run single-threaded inside (the sweep runs its independent fits
        in ``n_jobs`` threads instead): on shared cores many multi-threaded steps are slower,
        and the labels then do not depend on the machine's number of cores.

        ``cache`` (a :class:`FitCache`) reuses the preparation and the sweep of earlier fits of
        the same table; the result is the same as without it.
        """
        with threadpool_limits(limits=1):
            return self._fit(X, cache)

    def _cache_key(self, df: pd.DataFrame, cache: FitCache | None) -> tuple | None:
        """Key of the prepared table in ``cache`` (None: do not cache)."""
        seeded = isinstance(self.random_state, int | np.integer) and not isinstance(
            self.random_state, bool
        )
        if cache is None or not seeded:
            return None
        return (
            _fingerprint(df, self._id_col(df)),
            tuple(map(str, df.columns)),
            _frozen(self.columns) if self.columns is not None else "",
            _frozen(self.roles),
            _frozen(self.bases),
            _frozen(self.weights),
            str(self.balance),
            self.method == "kprototypes",
        )

    def _prepare(self, df: pd.DataFrame, key: tuple | None, cache: FitCache | None):
        """Fit the feature preparation (or take it from the cache): ``Z`` and, for
        k-prototypes, the mixed matrix ``Zm``."""
        hit = cache._prepared.get(key) if key is not None else None
        if hit is not None:
            self.preparer_, Z, mixed, Zm = hit
            if mixed is not None:
                self._mixed_ = mixed
            return Z, Zm
        prep_args = dict(columns=self.columns, roles=self.roles, bases=self.bases,
                         weights=self.weights, balance=self.balance)  # fmt: skip
        self.preparer_ = FeaturePreparer(**prep_args)
        Z = self.preparer_.fit_transform(df).to_numpy(dtype="float32")
        mixed, Zm = None, None
        if self.method == "kprototypes":
            mixed = self._mixed_ = FeaturePreparer(**prep_args, categorical="codes")
            Zm = self._mixed_.fit_transform(df).to_numpy(dtype="float64")
        if key is not None:
            cache._put(cache._prepared, key, (self.preparer_, Z, mixed, Zm), cache.max_entries)
        return Z, Zm

    def _fit(self, X: pd.DataFrame, cache: FitCache | None = None) -> Segmenter:
        df = self._as_frame(X)
        k_lo, k_hi = self._check_params(len(df))
        if isinstance(self.n_segments, int | np.integer) and len(df) < self.n_segments:
            raise DataError(
                f"n_segments={self.n_segments} but the table has only {len(df)} users."
            )
        rng = check_random_state(self.random_state)
        marks = [time.perf_counter()]
        self.n_features_in_ = df.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        key = self._cache_key(df, cache)
        Z, Zm = self._prepare(df, key, cache)
        self.base_columns_ = list(self.preparer_.base_columns_)
        self.feature_names_out_ = self.preparer_.get_feature_names_out()
        self._cat_idx = []
        if self.method == "kprototypes":
            self._cat_idx = list(self._mixed_.categorical_features_)
            if not self._cat_idx:
                raise ConfigError(
                    "method='kprototypes' needs at least one categorical base column; the bases "
                    f"{self.base_columns_[:8]} are all numeric. Use method='kmeans'."
                )
        n = len(Z)
        limit = self.max_sample if self.max_sample is not None else SAMPLE_LIMITS[self.method]
        seeds = _seeds(rng, 3)

        # users the method fits directly (sample-limited methods: a stratified sample)
        fit_idx = np.arange(n)
        if self.method not in ("kmeans", "gmm") and limit is not None and n > limit:
            fit_idx = _stratified_sample(Z, int(limit), np.random.RandomState(seeds[0]))
            warnings.warn(
                f"method={self.method!r} fits a stratified sample of {len(fit_idx):,} of {n:,} "
                "users and assigns the rest (raise max_sample to fit more users, at the cost "
                "of time and memory).",
                DataWarning,
                stacklevel=2,
            )
        self.fit_sample_size_ = len(fit_idx)
        marks.append(time.perf_counter())

        # --- sweep -----------------------------------------------------------------------
        if self.method == "hdbscan" and self.n_segments != "auto":
            warnings.warn(
                "method='hdbscan' finds its own number of segments; n_segments is ignored.",
                DataWarning,
                stacklevel=2,
            )
        run_sweep = self.method != "hdbscan" and (
            self.sweep is True or (self.sweep == "auto" and self.n_segments == "auto")
        )
        wide, sweep_fits, sweep_idx = None, {}, None
        self.recommended_k_, rec_reason = None, ""
        self.sweep_sample_size_ = 0
        if run_sweep:
            wide, sweep_fits, sweep_idx = self._cached_sweep(
                Z, Zm, fit_idx, range(k_lo, k_hi + 1), seeds[1], key, cache
            )
            if wide is not None and len(wide):
                self.recommended_k_, rec_reason = recommend_k(wide)

        # --- final k -----------------------------------------------------------------------
        if self.method == "hdbscan":
            k = None
        elif self.n_segments == "auto":
            k = self.recommended_k_ if self.recommended_k_ is not None else k_lo
        else:
            k = int(self.n_segments)

        # --- final fit --------------------------------------------------------------------
        marks.append(time.perf_counter())
        raw, conf = self._final_fit(Z, Zm, k, fit_idx, seeds[2], sweep_fits, sweep_idx)
        mapping, sizes = _relabel_by_size(raw)
        labels = _apply_map(raw, mapping)
        if not mapping:
            warnings.warn(
                "No segment was found: every user is unsegmented. Try method='kmeans' or a "
                "smaller min_cluster_size (method_params).",
                DataWarning,
                stacklevel=2,
            )
        order = sorted(mapping, key=mapping.get)
        centres = np.asarray(self._engine_.centres, dtype="float64")
        self.cluster_centers_ = centres[order] if order else np.zeros((0, Z.shape[1]))
        self._raw_to_segment = mapping
        self.labels_ = labels
        self.confidence_ = np.where(labels > 0, conf, 0.0)
        self.n_segments_ = len(mapping)
        self.sizes_ = pd.Series(sizes, index=pd.Index(range(1, len(sizes) + 1), name="segment"),
                                name="users")  # fmt: skip
        dist = _centre_distance(Z, self.cluster_centers_, labels - 1) if order else np.zeros(n)
        self.radius_ = np.array(
            [dist[labels == s].max() for s in range(1, self.n_segments_ + 1)], dtype="float64"
        )
        self.k_sweep_ = sweep_long(
            wide if wide is not None else pd.DataFrame({"k": []}), recommended=self.recommended_k_
        )
        self.recommended_reason_ = self._reason(k, rec_reason, n)
        self._fingerprint = _fingerprint(df, self._id_col(df))
        marks.append(time.perf_counter())
        self._fit_marks = tuple(marks)
        self.fit_seconds_ = dict(
            zip(("prepare", "sweep", "final_fit"), np.diff(marks).round(3).tolist(), strict=True)
        )
        return self

    def _reason(self, k: int | None, rec_reason: str, n: int) -> str:
        if self.method == "hdbscan":
            noise = float((self.labels_ < 0).mean())
            return (
                f"{self.n_segments_} segments: the dense groups HDBSCAN found; {noise:.0%} of "
                "users lie in no dense group and are unsegmented."
            )
        if self.n_segments == "auto":
            if self.recommended_k_ is None:
                return f"{k} segments: too few users ({n}) for a sweep."
            return rec_reason
        reason = f"{k} segments, as chosen by the analyst."
        if self.recommended_k_ is None:
            return reason
        if self.recommended_k_ == k:
            return f"{reason} The evidence agrees: {rec_reason}"
        return f"{reason} The evidence alone would recommend {rec_reason}"

    def _id_col(self, df: pd.DataFrame) -> str | None:
        if self.id_column is not None:
            return self.id_column if self.id_column in df.columns else None
        if self.columns is not None:
            cat = self.columns.set_index("column") if "column" in self.columns else self.columns
            others = [c for c in df.columns if c not in cat.index]
            return others[0] if others else None
        if self.roles is not None:
            for c, r in self.roles.items():
                role = r.get("role") if isinstance(r, Mapping) else r
                if role == "id" and c in df.columns:
                    return c
        return None

    def _cached_sweep(self, Z, Zm, fit_idx, ks, seed, key, cache):
        """The sweep (wide table, fits by k, sample positions), through ``cache`` when given.

        With ``cache.defer_sweep`` and a fixed k whose sweep is not cached, only that k's fit
        of the sweep is made and the table is None.
        """
        if key is None:
            return self._sweep(Z, Zm, fit_idx, ks, np.random.RandomState(seed))
        skey = (key, self.method, _frozen(self.method_params), self.n_init, self.max_sample,
                self.sweep_sample, self.silhouette_sample, self.n_stability,
                int(self.random_state), tuple(ks))  # fmt: skip
        hit = cache._sweeps.get(skey)
        if hit is not None:
            wide, fits, idx, self.sweep_sample_size_ = hit
            return wide, {k: copy.copy(e) for k, e in fits.items()}, idx
        rng = np.random.RandomState(seed)
        known = {k: copy.copy(e) for (sk, k), e in cache._fits.items() if sk == skey}
        if cache.defer_sweep and self.n_segments != "auto":
            k = int(self.n_segments)
            idx, _, ks_fit, seeds, _ = self._sweep_plan(fit_idx, ks, rng)
            self.sweep_sample_size_ = len(idx)
            if k not in ks_fit:
                return None, {}, idx
            if k not in known:
                data = Zm[idx] if Zm is not None else Z[idx]
                eng = self._engine()
                if self.method == "ward" and known:  # the tree does not depend on k
                    eng = _copy_ward(next(iter(known.values())))
                # in a worker thread, as in the sweep: the fit is then the same to the last bit
                (eng,) = Parallel(n_jobs=self.n_jobs, backend="threading")(
                    [delayed(eng.fit)(data, k, seeds[ks_fit.index(k)])]
                )
                cache._put(cache._fits, (skey, k), eng, 8 * cache.max_entries)
                known[k] = eng
            return None, {k: copy.copy(known[k])}, idx
        wide, fits, idx = self._sweep(Z, Zm, fit_idx, ks, rng, known=known)
        stored = {k: copy.copy(e) for k, e in fits.items()}
        cache._put(cache._sweeps, skey, (wide, stored, idx, self.sweep_sample_size_),
                   cache.max_entries)  # fmt: skip
        return wide, fits, idx

    def _sweep_plan(self, fit_idx, ks, rng):
        """Every random draw of the sweep, in order: the sweep sample's positions, the scored
        subset, the k values, the seeds of all fits and the half-samples for stability."""
        n_fit = len(fit_idx)
        size = min(n_fit, self.sweep_sample)
        idx = fit_idx
        if size < n_fit:
            idx = fit_idx[np.sort(rng.choice(n_fit, size=size, replace=False))]
        m = len(idx)
        t_idx = np.sort(rng.choice(m, size=min(m, self.silhouette_sample), replace=False))
        ks = [k for k in ks if k < m]
        seeds = _seeds(rng, len(ks) * (1 + self.n_stability))
        half = max(2, m // 2)
        subs = [np.sort(rng.choice(m, size=half, replace=False)) for _ in range(self.n_stability)]
        return idx, t_idx, ks, seeds, subs

    def _sweep(self, Z, Zm, fit_idx, ks, rng, known=None):
        """Fit every k on the sweep sample; score silhouette, CH, DB, BIC and stability.

        ``known`` holds main fits already made (by k), which are not made again.
        """
        known = known or {}
        idx, t_idx, ks, seeds, subs = self._sweep_plan(fit_idx, ks, rng)
        ZS = Z[idx]
        data = Zm[idx] if Zm is not None else ZS
        m = len(idx)
        tree, sub_trees = None, {}
        if self.method == "ward" and ks:
            tree = _WardEngine(self.method_params or {}).tree(data)
            sub_trees = {
                j: _WardEngine(self.method_params or {}).tree(data[sub])
                for j, sub in enumerate(subs)
            }
        t_data = data[t_idx]

        def fit_main(i: int, k: int):
            if k in known:
                return known[k]
            eng = _copy_ward(tree) if tree is not None else self._engine()
            return eng.fit(data, k, seeds[i])

        def fit_sub(i: int, k: int, j: int):
            se = _copy_ward(sub_trees[j]) if tree is not None else self._engine()
            se.fit(data[subs[j]], k, seeds[len(ks) + i * self.n_stability + j])
            return se.predict(t_data)[0]

        # every fit is independent and seeded, so threads change nothing but the wall time;
        # the larger k first, as they take longest
        tasks = [(i, k, None) for i, k in enumerate(ks)]
        tasks += [(i, k, j) for i, k in enumerate(ks) for j in range(self.n_stability)]
        order = sorted(range(len(tasks)), key=lambda t: -tasks[t][1])
        results = Parallel(n_jobs=self.n_jobs, backend="threading")(
            delayed(fit_main if tasks[t][2] is None else fit_sub)(*(a for a in tasks[t] if a
                                                                    is not None))
            for t in order
        )  # fmt: skip
        done = dict(zip(order, results, strict=True))
        rows, fits, labels_t = [], {}, {}
        for t, (i, k, j) in enumerate(tasks):
            if j is not None:
                continue
            eng = done[t]
            lab = eng.labels(data)
            fits[k] = eng
            row: dict[str, float] = {"k": k}
            if len(np.unique(lab)) > 1:
                row["calinski_harabasz"] = float(calinski_harabasz_score(ZS, lab))
                row["davies_bouldin"] = float(davies_bouldin_score(ZS, lab))
            if self.method == "kmeans":
                row["inertia"] = float(eng.model.inertia_)
            if self.method == "gmm":
                row["bic"] = eng.bic(ZS)
            labels_t[k] = lab[t_idx]
            aris = [
                adjusted_rand_score(labels_t[k], done[u])
                for u, (i2, _, j2) in enumerate(tasks)
                if j2 is not None and i2 == i
            ]
            row["stability"] = float(np.mean(aris)) if aris else np.nan
            rows.append(row)
        sils = sample_silhouettes(ZS[t_idx], labels_t, n_jobs=self.n_jobs)
        for row in rows:
            row["silhouette"] = sils.get(row["k"], np.nan)
        self.sweep_sample_size_ = m
        return pd.DataFrame(rows), fits, idx

    def _final_fit(self, Z, Zm, k, fit_idx, seed, sweep_fits, sweep_idx):
        n = len(Z)
        data = Zm if Zm is not None else Z
        reuse = k in sweep_fits and sweep_idx is not None and len(sweep_idx) == len(fit_idx)
        if self.method in ("kmeans", "gmm"):
            if reuse:
                eng = sweep_fits[k]
            else:
                eng = sweep_fits.get(k)
                if eng is None and n > self.sweep_sample:
                    sub = np.sort(check_random_state(seed).choice(n, self.sweep_sample, False))
                    eng = self._engine().fit(Z[sub], k, seed)
                if eng is None:
                    eng = self._engine().fit(Z, k, seed)
                else:
                    init = eng.centres if self.method == "kmeans" else eng.model
                    eng = self._engine().fit(Z, k, seed, init=init)
            self._engine_ = eng
            if self.method == "kmeans":
                raw, _, conf = _nearest(Z, eng.centres)  # the rule assign() applies
                return raw, conf
            return eng.predict(Z)
        # sample-limited methods: fit on fit_idx, assign everybody
        eng = sweep_fits[k] if reuse else self._engine().fit(data[fit_idx], k, seed)
        self._engine_ = eng
        if self.method == "hdbscan":
            raw = np.empty(n, dtype=np.int64)
            conf = np.empty(n)
            raw[fit_idx] = eng.labels(data[fit_idx])
            conf[fit_idx] = 1.0
            rest = np.setdiff1d(np.arange(n), fit_idx)
            if len(rest):
                raw[rest], conf[rest] = eng.predict(data[rest])
            return raw, conf
        raw, conf = eng.predict(data)
        if self.method == "kprototypes":
            eng.centres = _group_means(Z, raw, n_groups=k)
        return raw, conf

    # -- use ------------------------------------------------------------------------------------
    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The prepared segmentation features of ``X`` (DataFrame with feature names)."""
        check_is_fitted(self, "labels_")
        return self.preparer_.transform(self._as_frame(X))

    def fit_transform(self, X: pd.DataFrame, y=None) -> pd.DataFrame:
        """Fit and return the prepared segmentation features of ``X``."""
        return self.fit(X).transform(X)

    def assign(self, X: pd.DataFrame) -> pd.DataFrame:
        """Assign users to the fitted segments, with a confidence.

        Returns
        -------
        DataFrame
            Indexed like ``X``: ``segment`` (1..k, -1 = unsegmented), ``confidence`` (0-1:
            the distance margin ``1 - d_nearest / d_second`` for centre-based methods, the
            membership probability for ``gmm``, the neighbours' vote for ``hdbscan``; 0 when
            unsegmented), ``distance`` (to the segment's centre in the prepared space) and
            ``unsegmented`` (noise, or farther from the nearest centre than any fitted member
            of that segment).
        """
        check_is_fitted(self, "labels_")
        with threadpool_limits(limits=1):  # same arithmetic on every machine
            return self._assign(self._as_frame(X))

    def _assign(self, df: pd.DataFrame) -> pd.DataFrame:
        Z = self.preparer_.transform(df).to_numpy(dtype="float32")
        data = Z
        if self.method == "kprototypes":
            data = self._mixed_.transform(df).to_numpy(dtype="float64")
        if self.method == "kmeans":
            raw, _, conf = _nearest(Z, self._engine_.centres)
        else:
            raw, conf = self._engine_.predict(data)
        seg = _apply_map(raw, self._raw_to_segment)
        dist = _centre_distance(Z, self.cluster_centers_, seg - 1) if self.n_segments_ else (
            np.full(len(Z), np.nan))  # fmt: skip
        far = np.zeros(len(Z), dtype=bool)
        ok = seg > 0
        if self.n_segments_:
            far[ok] = dist[ok] > self.radius_[seg[ok] - 1] * (1 + 1e-9) + 1e-12
        unseg = (seg < 0) | far
        seg = np.where(unseg, -1, seg)
        return pd.DataFrame(
            {
                "segment": seg.astype(np.int64),
                "confidence": np.where(unseg, 0.0, conf),
                "distance": dist,
                "unsegmented": unseg,
            },
            index=df.index,
        )

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Segment of each user (1..k, -1 = unsegmented); see :meth:`assign`."""
        return self.assign(X)["segment"].to_numpy()

    def fit_predict(self, X: pd.DataFrame, y=None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    @available_if(lambda self: self.method == "gmm")
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Soft membership per segment (columns 1..k); only with ``method="gmm"``."""
        check_is_fitted(self, "labels_")
        Z = self.preparer_.transform(self._as_frame(X)).to_numpy(dtype="float32")
        p = self._engine_.model.predict_proba(Z)
        order = sorted(self._raw_to_segment, key=self._raw_to_segment.get)
        return p[:, order]

    def segments_table(self, table: pd.DataFrame) -> pd.DataFrame:
        """The segments table (id column, ``segment``, ``confidence``) for ``table``.

        For the table the segmenter was fitted on this is ``labels_``/``confidence_``;
        for any other table the users are assigned (:meth:`assign`).
        """
        check_is_fitted(self, "labels_")
        df = self._as_frame(table)
        id_col = self._id_col(df)
        if _fingerprint(df, id_col) == self._fingerprint:
            seg, conf = self.labels_, self.confidence_
        else:
            a = self.assign(df)
            seg, conf = a["segment"].to_numpy(), a["confidence"].to_numpy()
        out = {}
        if id_col is not None:
            out[id_col] = df[id_col].to_numpy()
        out["segment"] = seg
        out["confidence"] = conf
        return pd.DataFrame(out)

    # -- refits (used by toolkit.stability) -------------------------------------------------
    def _stability_data(self, table: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """The matrix the method clusters, for the rows at ``positions`` of ``table``."""
        df = self._as_frame(table).iloc[positions]
        if self.method == "kprototypes":
            return self._mixed_.transform(df).to_numpy(dtype="float64")
        return self.preparer_.transform(df).to_numpy(dtype="float32")

    def _refit_labels(self, data: np.ndarray, seed: int) -> np.ndarray:
        """Refit the method (same k, same parameters, another seed) and label ``data``."""
        eng = self._engine()
        eng.fit(data, max(self.n_segments_, 1), seed)
        if self.method in ("kmeans", "hdbscan", "ward", "kprototypes"):
            return eng.labels(data)
        return eng.predict(data)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags


def _copy_ward(eng: _WardEngine) -> _WardEngine:
    new = _WardEngine(eng.params)
    new.linkage = eng.linkage
    new._tree_n = eng._tree_n
    return new


def _group_means(Z: np.ndarray, labels: np.ndarray, n_groups: int | None = None) -> np.ndarray:
    n_groups = int(labels.max()) + 1 if n_groups is None else n_groups
    out = np.zeros((n_groups, Z.shape[1]))
    for g in range(n_groups):
        members = labels == g
        if members.any():
            out[g] = np.asarray(Z[members], dtype="float64").mean(axis=0)
    return out


def _fingerprint(df: pd.DataFrame, id_col: str | None) -> tuple[int, int]:
    """Cheap identity of a table's rows: length + hash of the id column (or the index)."""
    key = df[id_col] if id_col is not None else df.index.to_series()
    h = pd.util.hash_pandas_object(key, index=False).to_numpy()
    return len(df), int(np.bitwise_xor.reduce(h * np.arange(1, len(h) + 1, dtype=np.uint64)))


# --------------------------------------------------------------------------- functions
def segment_customers(
    table: pd.DataFrame,
    columns: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    n_segments: int | str = "auto",
    method: str = "kmeans",
    bases: Sequence[str] | None = None,
    k_range: tuple[int, int] = DEFAULT_K_RANGE,
    weights: Mapping[str, float] | None = None,
    random_state: int | None = DEFAULT_RANDOM_STATE,
    sweep: bool = True,
    cache: FitCache | None = None,
    **params: Any,
) -> Segmenter:
    """Segment the users of ``table``: the notebook-friendly face of :class:`Segmenter`.

    Parameters
    ----------
    table : DataFrame
        One row per user (``Audience.table``).
    columns : DataFrame or dict, optional
        The column catalogue (``Audience.columns``) or a ``{column: role}`` dict.
    n_segments : int or "auto", default="auto"
        ``"auto"`` (or 0) chooses the number from the evidence.
    method : str, default="kmeans"
    bases : sequence of str, optional
        Roles or columns forming the segments (default: demographic + behaviour).
    k_range : (int, int), default=(2, 10)
    weights : dict, optional
    random_state : int, default=0
    sweep : bool, default=True
        Run the k sweep even when ``n_segments`` is fixed, to show the evidence.
    cache : FitCache, optional
        Reuse the preparation and sweep of earlier fits of the same table (same result).
    **params
        Further :class:`Segmenter` parameters (``n_init``, ``max_sample``, ...).

    Returns
    -------
    Segmenter
        Fitted; see ``labels_``, ``n_segments_``, ``k_sweep_``, ``recommended_reason_``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame({"user_id": [f"{i:03d}" for i in range(90)],
    ...                       "visits": np.r_[rng.normal(2, .3, 60), rng.normal(9, .3, 30)]})
    >>> seg = segment_customers(table, {"user_id": "id", "visits": "behaviour"})
    >>> seg.segments_table(table).columns.tolist()
    ['user_id', 'segment', 'confidence']
    """
    kw: dict[str, Any] = {}
    if isinstance(columns, pd.DataFrame):
        kw["columns"] = columns
    elif columns is not None:
        kw["roles"] = dict(columns)
    if n_segments in (0, None):
        n_segments = "auto"
    seg = Segmenter(
        n_segments=n_segments,
        method=method,
        k_range=tuple(k_range),
        bases=bases,
        weights=weights,
        random_state=random_state,
        sweep=True if sweep else "auto",
        **kw,
        **params,
    )
    return seg.fit(table, cache=cache)


def save_segmenter(segmenter: Segmenter, path: str | os.PathLike[str]) -> None:
    """Save a fitted segmenter, its feature preparation included, to one file (joblib).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd
    >>> df = pd.DataFrame({"a": np.r_[np.zeros(20), np.ones(20) * 5] + np.arange(40) * .01})
    >>> seg = Segmenter(n_segments=2, random_state=0).fit(df)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "segmenter.joblib"
    >>> save_segmenter(seg, path)
    >>> (load_segmenter(path).predict(df) == seg.labels_).all()
    np.True_
    """
    import joblib

    check_is_fitted(segmenter, "labels_")
    joblib.dump(segmenter, os.fspath(path), compress=3)


def load_segmenter(path: str | os.PathLike[str]) -> Segmenter:
    """Load a segmenter saved by :func:`save_segmenter`."""
    import joblib

    if not os.path.isfile(path):
        raise ConfigError(
            f"No saved segmenter at {os.fspath(path)!r}; run the segments notebook first or "
            "check the run folder."
        )
    obj = joblib.load(os.fspath(path))
    if not isinstance(obj, Segmenter):
        raise ConfigError(
            f"{os.fspath(path)!r} holds a {type(obj).__name__}, not a Segmenter; pass a file "
            "written by save_segmenter()."
        )
    return obj


def assign_segments(segmenter: Segmenter, table: pd.DataFrame) -> pd.DataFrame:
    """Score users of ``table`` into the segmenter's segments.

    Returns
    -------
    DataFrame
        The id column (when known), ``segment``, ``confidence``, ``distance``,
        ``unsegmented``; one row per user of ``table``.
    """
    out = segmenter.assign(table)
    df = segmenter._as_frame(table)
    id_col = segmenter._id_col(df)
    if id_col is not None:
        out.insert(0, id_col, df[id_col].to_numpy())
    return out.reset_index(drop=True)
