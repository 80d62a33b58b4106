"""A 2-D map of the users for scatter plots: UMAP (default) or PCA, on a stratified sample.

UMAP is compiled by numba in every fresh process (each papermill kernel is one). To make that a
one-time cost across runs, :func:`embed_map` points numba's on-disk cache at
:func:`toolkit.config.numba_cache_dir` (unless ``NUMBA_CACHE_DIR`` is already set) *before*
importing umap, turns on caching for umap's own compiled functions (umap marks few of them
``cache=True``), and hands UMAP an exact nearest-neighbour graph computed with scikit-learn, so
pynndescent's functions, which numba cannot cache, are never compiled. On a fresh machine
``toolkit report`` runs :func:`warm_umap_cache` in a background process beside the first
notebook, and the map waits for it (a lock on the cache folder) instead of compiling the
same functions a second time. Importing this module changes nothing.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(0, 1, (100, 5)), rng.normal(6, 1, (60, 5))]
>>> labels = np.r_[np.ones(100, int), np.full(60, 2)]
>>> m = embed_map(X, labels, method="pca", sample_size=120)
>>> m.columns.tolist(), len(m), m["segment"].value_counts().sort_index().tolist()
(['x', 'y', 'segment'], 120, [70, 50])
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from toolkit.config import DEFAULT_MAP_SAMPLE
from toolkit.errors import ConfigError, DataError

__all__ = [
    "embed_map",
    "segment_map",
    "stratified_positions",
    "umap_cache_ready",
    "warm_umap_cache",
]

_LOCK_FILE = "toolkit-umap.lock"

METHODS = ("umap", "pca")
#: Smallest number of users drawn per segment when the segment has that many.
MIN_PER_SEGMENT = 50


def stratified_positions(
    labels: np.ndarray, size: int, *, random_state: int | None = 0, min_per_group: int = 0
) -> np.ndarray:
    """Row positions of a sample stratified by ``labels`` (proportional allocation).

    Places are shared in proportion to the group sizes (largest remainders), except that every
    group gets at least ``min(min_per_group, group size, size // n_groups)`` rows, taken from
    the others in proportion to their sizes. Sorted positions.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.r_[np.zeros(900, int), np.ones(100, int)]
    >>> pos = stratified_positions(labels, 100, random_state=0)
    >>> np.bincount(labels[pos]).tolist()
    [90, 10]
    """
    labels = np.asarray(labels)
    n = len(labels)
    if size >= n:
        return np.arange(n)
    rng = np.random.RandomState(random_state)
    groups, inv = np.unique(labels, return_inverse=True)
    counts = np.bincount(inv)
    floor = np.minimum(counts, min(min_per_group, size // len(groups)))
    # proportional allocation; groups whose share falls under their floor are fixed at it and
    # the rest is shared again among the others
    fixed = np.zeros(len(groups), dtype=bool)
    while True:
        free = size - int(floor[fixed].sum())
        quota = np.where(fixed, floor, counts * free / max(int(counts[~fixed].sum()), 1))
        under = ~fixed & (quota < floor)
        if not under.any():
            break
        fixed |= under
    alloc = np.minimum(np.floor(quota).astype(int), counts)
    left = size - int(alloc.sum())
    for g in np.argsort(-(quota - np.floor(quota)), kind="stable"):
        if left <= 0:
            break
        if alloc[g] < counts[g]:
            alloc[g] += 1
            left -= 1
    picks = [
        rng.choice(np.flatnonzero(inv == g), size=int(alloc[g]), replace=False)
        for g in range(len(groups))
    ]
    return np.sort(np.concatenate(picks))


def _prepare_umap_import() -> None:
    """Point numba's disk cache at the toolkit's folder, before umap (and numba) import."""
    from toolkit.config import numba_cache_dir

    cache = os.environ.get("NUMBA_CACHE_DIR") or str(numba_cache_dir())
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError:
        return  # read-only location: numba falls back to its own default
    os.environ.setdefault("NUMBA_CACHE_DIR", cache)
    if "numba" in sys.modules:  # imported earlier by someone else: set its config directly
        config = sys.modules["numba"].config
        if not getattr(config, "CACHE_DIR", ""):
            config.CACHE_DIR = cache


def _cache_umap_functions() -> None:
    """Turn on numba's disk cache for umap's compiled functions (most are not cached)."""
    import importlib

    try:
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover - numba layout changed
        return
    for name in ("umap_", "layouts", "utils", "spectral", "distances", "sparse"):
        try:
            mod = importlib.import_module(f"umap.{name}")
        except Exception:  # noqa: BLE001 - an optional umap part failing to import is fine
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, CPUDispatcher) and type(obj._cache).__name__ == "NullCache":
                try:
                    obj.enable_caching()
                except Exception:  # noqa: BLE001 - caching is an optimisation only
                    pass


def _exact_knn(X: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(X)
    dist, idx = nn.kneighbors(X)
    return idx.astype(np.int32), dist.astype(np.float32)


def _cache_folder() -> str | None:
    """numba's cache folder as the toolkit sets it (None when numba falls back to its own)."""
    _prepare_umap_import()
    return os.environ.get("NUMBA_CACHE_DIR") or None


@contextmanager
def _cache_lock(*, exclusive: bool, wait: float = 900.0) -> Iterator[None]:
    """Hold a lock on numba's cache folder: exclusive while :func:`warm_umap_cache` compiles,
    shared while a map is drawn, so a map waits for a warm-up under way instead of compiling
    the same functions beside it. Without ``fcntl`` or a writable folder, or after ``wait``
    seconds, it goes on without the lock (the lock only saves work)."""
    folder = _cache_folder()
    try:
        if folder is None:
            raise OSError("no cache folder to lock")
        import fcntl

        handle = open(os.path.join(folder, _LOCK_FILE), "a+")  # noqa: SIM115
    except (ImportError, OSError):
        yield
        return
    deadline = time.monotonic() + wait
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with handle:
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        yield  # closing the file releases the lock


def _ready_marker() -> str | None:
    from importlib import metadata

    folder = _cache_folder()
    if folder is None:
        return None
    versions = "-".join(metadata.version(p) for p in ("umap-learn", "numba"))
    return os.path.join(folder, f"toolkit-umap-{versions}.ready")


def umap_cache_ready() -> bool:
    """True when UMAP's compiled functions are in numba's disk cache (a map has been drawn
    with these versions of umap-learn and numba)."""
    marker = _ready_marker()
    return marker is not None and os.path.exists(marker)


def warm_umap_cache() -> None:
    """Compile UMAP's functions into numba's disk cache, on a small random sample.

    ``toolkit report`` runs this in a background process beside the first notebook when the
    cache is empty, so the map of ``02-segments`` loads compiled code instead of spending
    about 25 seconds compiling it. Nothing happens when the cache is ready.
    """
    with _cache_lock(exclusive=True):
        if umap_cache_ready():
            return
        X = np.random.default_rng(0).normal(size=(4200, 8)).astype("float32")  # > 4096: the
        _umap_fit(X, 0, 15, 0.1, n_epochs=5)  # large-data path, as for a real audience
        _mark_ready()


def _mark_ready() -> None:
    """Write the marker of :func:`umap_cache_ready` unless it is there."""
    marker = _ready_marker()
    if marker is not None and not os.path.exists(marker):
        try:
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write("UMAP's functions are compiled in this folder.\n")
        except OSError:
            pass


def _umap(
    X: np.ndarray, random_state: int | None, n_neighbors: int, min_dist: float, **kwargs: Any
) -> np.ndarray:
    with _cache_lock(exclusive=False):
        xy = _umap_fit(X, random_state, n_neighbors, min_dist, **kwargs)
    _mark_ready()
    return xy


def _umap_fit(
    X: np.ndarray, random_state: int | None, n_neighbors: int, min_dist: float, **kwargs: Any
) -> np.ndarray:
    _prepare_umap_import()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap's import-time notes about optional extras
        import umap

        _cache_umap_functions()
        n_neighbors = int(min(n_neighbors, len(X) - 1))
        if kwargs.get("n_epochs") is None:
            # UMAP's own default (200) above 10,000 users costs twice as much as 100 epochs for
            # a map that barely changes; below, UMAP's default (500) is cheap anyway
            kwargs["n_epochs"] = 100 if len(X) > 10_000 else None
        idx, dist = _exact_knn(X, n_neighbors)
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=random_state,
            precomputed_knn=(idx, dist, None),
            init=kwargs.pop("init", "pca"),
            **kwargs,
        )
        return reducer.fit_transform(X)


def embed_map(
    X_prepared: pd.DataFrame | np.ndarray,
    labels: pd.Series | np.ndarray,
    *,
    method: str = "umap",
    sample_size: int = DEFAULT_MAP_SAMPLE,
    random_state: int | None = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    **kwargs: Any,
) -> pd.DataFrame:
    """Embed a stratified sample of users in 2-D for a map coloured by segment.

    Parameters
    ----------
    X_prepared : DataFrame or ndarray of shape (n_users, n_features)
        Prepared segmentation features (``Segmenter.transform(table)``).
    labels : Series or ndarray of length n_users
        Segment of each user (row order as ``X_prepared``; -1 = unsegmented).
    method : {"umap", "pca"}, default="umap"
        ``"pca"`` is the quick alternative (first two principal components).
    sample_size : int, default=20,000
        Users drawn, stratified by segment (every segment keeps at least 50 users or all).
    random_state : int or None, default=0
        Seed of the sample and the embedding: same inputs and seed, same map.
    n_neighbors, min_dist : UMAP parameters.
    **kwargs
        Further :class:`umap.UMAP` parameters (e.g. ``init``, default ``"pca"``; ``n_epochs``,
        default 100 above 10,000 users, else UMAP's default).

    Returns
    -------
    DataFrame
        ``x``, ``y``, ``segment``; one row per sampled user, no ids.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(30, 4))
    >>> embed_map(X, np.ones(30, int), method="pca").shape
    (30, 3)
    """
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not supported; use one of {list(METHODS)}.")
    X = np.asarray(X_prepared, dtype="float32")
    lab = np.asarray(labels)
    if X.ndim != 2 or len(X) != len(lab):
        raise DataError(
            f"X_prepared has shape {X.shape} but labels has {len(lab)} entries; pass the prepared "
            "features of the same users, in the same order, as their segments."
        )
    if len(X) < 3:
        raise DataError(f"A map needs at least 3 users, got {len(X)}.")
    if not np.isfinite(X).all():
        raise DataError(
            "X_prepared holds missing or infinite values; pass Segmenter.transform(table), "
            "which imputes them."
        )
    pos = stratified_positions(
        lab, int(sample_size), random_state=random_state, min_per_group=MIN_PER_SEGMENT
    )
    Xs = X[pos]
    if method == "pca" or Xs.shape[1] < 2:
        from sklearn.decomposition import PCA

        k = min(2, Xs.shape[1])
        xy = PCA(n_components=k, random_state=random_state).fit_transform(Xs)
        if k < 2:
            xy = np.column_stack([xy, np.zeros(len(xy))])
    else:
        xy = _umap(Xs, random_state, n_neighbors, min_dist, **kwargs)
    out = pd.DataFrame(
        {"x": xy[:, 0].astype("float64"), "y": xy[:, 1].astype("float64"), "segment": lab[pos]}
    )
    out.attrs["method"] = method
    return out


def segment_map(
    segmenter: Any,
    table: pd.DataFrame,
    *,
    method: str = "umap",
    sample_size: int = DEFAULT_MAP_SAMPLE,
    random_state: int | None = 0,
    **kwargs: Any,
) -> pd.DataFrame:
    """The map of a fitted segmenter's users, preparing only the sampled users.

    Same result as ``embed_map(segmenter.transform(table), segments, ...)`` but the features
    are computed for the stratified sample only, which matters for large tables.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    table : DataFrame
        Its users (the fitted table, or others: they are assigned first).
    method, sample_size, random_state, **kwargs
        As in :func:`embed_map`.

    Returns
    -------
    DataFrame
        ``x``, ``y``, ``segment``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.segmentation import Segmenter
    >>> df = pd.DataFrame({"a": np.r_[np.zeros(30), np.ones(30) * 9] + np.arange(60) / 60,
    ...                    "b": np.arange(60) % 7})
    >>> seg = Segmenter(n_segments=2, random_state=0).fit(df)
    >>> segment_map(seg, df, method="pca", sample_size=20)["segment"].value_counts().tolist()
    [10, 10]
    """
    labels = segmenter.segments_table(table)["segment"].to_numpy()
    pos = stratified_positions(
        labels, int(sample_size), random_state=random_state, min_per_group=MIN_PER_SEGMENT
    )
    X = segmenter.transform(table.iloc[pos])
    return embed_map(
        X, labels[pos], method=method, sample_size=len(pos), random_state=random_state, **kwargs
    )
