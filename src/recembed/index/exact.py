"""Exact top-k search: float32 BLAS matrix products and a partial sort. The ground truth.

Queries are processed in blocks and the catalogue in chunks, so the score matrix held
at once is at most ``query_block x item_chunk`` floats (32 MB by default) whatever the
catalogue size; blocks run on a thread pool (numpy's BLAS and ``argpartition`` release
the GIL), and each product is itself multi-threaded by BLAS.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._base import BaseIndex


def _blas_threads(n: int):
    """Limit BLAS threads within a block (threadpoolctl when installed; otherwise a no-op)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(n, user_api="blas")


def _normalise(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0).astype(np.float32)


def _topk_rows(s: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest values per row, unordered (argpartition, O(n))."""
    if k >= s.shape[1]:
        return np.broadcast_to(np.arange(s.shape[1]), s.shape).copy()
    return np.argpartition(-s, k - 1, axis=1)[:, :k]


class ExactIndex(BaseIndex):
    """Brute-force nearest neighbours; the reference every approximate index is measured against.

    Parameters
    ----------
    metric : {"cosine", "ip", "l2"}
        ``cosine``: similarity of unit vectors, higher first; ``ip``: inner product,
        higher first; ``l2``: Euclidean distance, smaller first.
    n_threads : int, optional
        Threads over query blocks (default: all cores). BLAS adds its own threads.
    query_block, item_chunk : int
        Block sizes; the score matrix held per thread is ``query_block * item_chunk`` floats.

    Examples
    --------
    >>> import numpy as np
    >>> idx = ExactIndex(metric="cosine")
    >>> _ = idx.add(["a", "b", "c"], np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32))
    >>> keys, scores = idx.query(np.array([1.0, 0.0]), k=2)
    >>> keys.tolist(), [round(float(s), 3) for s in scores]
    (['a', 'b'], [1.0, 0.994])
    >>> idx.query(np.eye(2), k=1)[0].tolist()
    [['a'], ['c']]
    """

    def __init__(self, metric: str = "cosine", n_threads: int | None = None,
                 query_block: int = 256, item_chunk: int = 131072):
        super().__init__(metric)
        self.n_threads = n_threads
        self.query_block = query_block
        self.item_chunk = item_chunk

    def _build(self) -> None:
        # cosine: scale scores by 1/|x| instead of holding a second, normalised copy
        self._data = self._vectors
        norms = np.linalg.norm(self._vectors, axis=1)
        self._inv_norms = (1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32) if self.metric == "cosine" else None
        self._sqnorms = np.einsum("ij,ij->i", self._vectors, self._vectors) if self.metric == "l2" else None

    def _search(self, Q: np.ndarray, k: int, n_threads: int | None = None):
        data, sqn, inv = self._data, self._sqnorms, self._inv_norms
        if self.metric == "cosine":
            Q = _normalise(Q)
        nq, n = len(Q), len(data)
        rows = np.empty((nq, k), dtype=np.int64)
        scores = np.empty((nq, k), dtype=np.float32)
        # fewer queries per block when the catalogue is big, to bound memory
        qb = max(1, min(self.query_block, (32 << 20) // (4 * min(n, self.item_chunk))))

        def block(start):
            q = Q[start:start + qb]
            cand_r, cand_s = [], []
            for c0 in range(0, n, self.item_chunk):
                s = q @ data[c0:c0 + self.item_chunk].T
                if inv is not None:
                    s *= inv[c0:c0 + self.item_chunk]
                if sqn is not None:
                    # rank by 2 q.x - |x|^2 = |q|^2 - |q - x|^2 (higher is nearer)
                    s *= 2
                    s -= sqn[c0:c0 + self.item_chunk]
                top = _topk_rows(s, k)
                cand_r.append(top + c0)
                cand_s.append(np.take_along_axis(s, top, axis=1))
            r = np.hstack(cand_r) if len(cand_r) > 1 else cand_r[0]
            s = np.hstack(cand_s) if len(cand_s) > 1 else cand_s[0]
            if s.shape[1] > k:
                top = _topk_rows(s, k)
                r, s = np.take_along_axis(r, top, axis=1), np.take_along_axis(s, top, axis=1)
            # final order: best first, ties by row for determinism
            order = np.lexsort((r, -s), axis=1) if s.shape[1] > 1 else np.zeros_like(r)
            rows[start:start + len(q)] = np.take_along_axis(r, order, axis=1)
            scores[start:start + len(q)] = np.take_along_axis(s, order, axis=1)

        starts = range(0, nq, qb)
        threads = n_threads or self.n_threads or os.cpu_count() or 1
        if threads > 1 and len(starts) > 1:
            # one BLAS thread per pool thread: pool x BLAS threads would oversubscribe the cores
            with _blas_threads(1), ThreadPoolExecutor(min(threads, len(starts))) as pool:
                list(pool.map(block, starts))
        else:
            for s0 in starts:
                block(s0)
        if self.metric == "l2":
            qn = np.einsum("ij,ij->i", Q, Q)[:, None]
            scores = np.sqrt(np.maximum(qn - scores, 0.0)).astype(np.float32)
        return rows, scores
