"""faiss and hnswlib behind the recembed index surface (optional extras, imported lazily).

Both keep the vectors in :class:`~recembed.index._base.BaseIndex` (so ``remove``,
re-``add`` and ``save``/``load`` work the same everywhere) and build their native index
from them before the first query after a change; ``save`` also stores the native index
(hnswlib's multi-threaded build is not deterministic), so ``load`` answers identically.
Install with ``pip install 'recembed[bench]'`` (or the packages
``faiss-cpu`` / ``hnswlib``).
"""
from __future__ import annotations

import os

import numpy as np

from .._io import InputError, check_positive
from ._base import BaseIndex


def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"this index needs the optional package {package!r}: "
                         f"pip install {package} (or recembed[bench])") from None


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(n > 0, n, 1.0), dtype=np.float32)


class HNSWIndex(BaseIndex):
    """hnswlib's HNSW graph (Malkov & Yashunin) with the recembed surface.

    Parameters
    ----------
    metric : {"cosine", "ip", "l2"}
    M, ef_construction : int
        Graph degree and build beam width (hnswlib's parameters).
    ef : int
        Search beam width (raised to ``k`` when smaller). Higher: more recall, slower.
    seed, n_threads : int
        hnswlib's random seed; threads for building and batched queries (default: all).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    >>> idx = HNSWIndex("l2").add(range(300), X)
    >>> idx.query(X[5], k=1)[0].tolist()
    [5]
    """

    def __init__(self, metric: str = "cosine", M: int = 16, ef_construction: int = 200, ef: int = 64,
                 seed: int = 0, n_threads: int | None = None):
        super().__init__(metric)
        check_positive("M", M, integer=True)
        check_positive("ef", ef, integer=True)
        check_positive("ef_construction", ef_construction, integer=True)
        self.M, self.ef_construction, self.ef, self.seed, self.n_threads = M, ef_construction, ef, seed, n_threads

    def _build(self):
        hnswlib = _require("hnswlib", "hnswlib")
        n = len(self)
        idx = hnswlib.Index(space=self.metric, dim=self.dim)
        idx.init_index(max_elements=n, M=self.M, ef_construction=self.ef_construction, random_seed=self.seed)
        idx.add_items(self._vectors, np.arange(n), num_threads=self.n_threads or -1)
        self._native = idx

    def _extra_state(self):
        # hnswlib's multi-threaded build is not deterministic: store the graph itself
        if self._dirty:
            return {}
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "hnsw.bin")
            self._native.save_index(path)
            with open(path, "rb") as fh:
                return {"native": np.frombuffer(fh.read(), dtype=np.uint8)}

    def _load_extra_state(self, arrays, meta):
        self._dirty = True
        if "native" not in arrays:
            return
        import tempfile

        hnswlib = _require("hnswlib", "hnswlib")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "hnsw.bin")
            arrays["native"].tofile(path)
            idx = hnswlib.Index(space=self.metric, dim=self.dim)
            idx.load_index(path, max_elements=len(self))
        self._native = idx
        self._dirty = False

    def _search(self, Q, k, ef: int | None = None):
        self._native.set_ef(max(ef or self.ef, k))
        labels, dist = self._native.knn_query(Q, k=k, num_threads=self.n_threads or -1)
        if self.metric == "l2":
            scores = np.sqrt(np.maximum(dist, 0))
        else:  # hnswlib's cosine and ip distances are 1 - similarity
            scores = 1.0 - dist
        return labels.astype(np.int64), scores.astype(np.float32)


class FaissIndex(BaseIndex):
    """A faiss index (any ``index_factory`` string) with exact re-ranking of its candidates.

    Parameters
    ----------
    metric : {"cosine", "ip", "l2"}
        ``cosine`` normalises vectors and searches by inner product.
    factory : str
        faiss ``index_factory`` description, e.g. ``"Flat"``, ``"HNSW32"``, ``"IVF1024,Flat"``,
        or ``"LSH<nbits>"`` for ``faiss.IndexLSH`` with random rotation.
    k_factor : int
        faiss returns ``k * k_factor`` candidates, re-ranked exactly here (so the scores
        are true similarities/distances even for a Hamming-distance index like LSH).
    ef_search, nprobe : int, optional
        Set on HNSW / IVF indexes when given.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    >>> idx = FaissIndex("cosine", factory="Flat").add(range(300), X)
    >>> idx.query(X[5], k=1)[0].tolist()
    [5]
    """

    def __init__(self, metric: str = "cosine", factory: str = "HNSW32", k_factor: int = 1,
                 ef_search: int | None = None, nprobe: int | None = None, n_threads: int | None = None):
        super().__init__(metric)
        check_positive("k_factor", k_factor, integer=True)
        self.factory, self.k_factor, self.ef_search, self.nprobe, self.n_threads = \
            factory, k_factor, ef_search, nprobe, n_threads

    def _data(self, X):
        return _unit(X) if self.metric == "cosine" else np.ascontiguousarray(X, dtype=np.float32)

    def _build(self):
        faiss = _require("faiss", "faiss-cpu")
        if self.n_threads:
            faiss.omp_set_num_threads(self.n_threads)
        d = self.dim
        metric = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        if self.factory.upper().startswith("LSH") and self.factory[3:].isdigit():
            idx = faiss.IndexLSH(d, int(self.factory[3:]), True, False)
        else:
            try:
                idx = faiss.index_factory(d, self.factory, metric)
            except RuntimeError as e:
                raise InputError(f"faiss cannot build {self.factory!r}: {e}") from None
        X = self._data(self._vectors)
        if not idx.is_trained:
            idx.train(X)
        idx.add(X)
        if self.ef_search is not None and hasattr(idx, "hnsw"):
            idx.hnsw.efSearch = int(self.ef_search)
        if self.nprobe is not None:
            faiss.extract_index_ivf(idx).nprobe = int(self.nprobe)
        self._native = idx
        self._rr = X  # what candidates are re-ranked against
        self._rr_sq = np.einsum("ij,ij->i", X, X) if self.metric == "l2" else None

    def _extra_state(self):
        if self._dirty:
            return {}
        faiss = _require("faiss", "faiss-cpu")
        return {"native": faiss.serialize_index(self._native)}

    def _load_extra_state(self, arrays, meta):
        self._dirty = True
        if "native" not in arrays:
            return
        faiss = _require("faiss", "faiss-cpu")
        self._native = faiss.deserialize_index(np.ascontiguousarray(arrays["native"]))
        X = self._data(self._vectors)
        self._rr = X
        self._rr_sq = np.einsum("ij,ij->i", X, X) if self.metric == "l2" else None
        self._dirty = False

    def _search(self, Q, k, k_factor: int | None = None):
        n = len(self)
        kk = min(n, k * (k_factor or self.k_factor))
        q = self._data(Q)
        _, labels = self._native.search(q, kk)
        labels = labels.astype(np.int64)
        missing = labels < 0
        if missing.any():  # faiss pads with -1 when it finds fewer; re-ranking drops them
            labels = np.where(missing, 0, labels)
        s = np.einsum("qkd,qd->qk", self._rr[labels], q)
        if self.metric == "l2":
            s = 2 * s - self._rr_sq[labels]
        s = np.where(missing, -np.inf, s)
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        rows = np.take_along_axis(labels, top, axis=1)
        scores = np.take_along_axis(s, top, axis=1).astype(np.float32)
        if self.metric == "l2":
            scores = np.sqrt(np.maximum(np.einsum("ij,ij->i", Q, Q)[:, None] - scores, 0)).astype(np.float32)
        return rows, scores
