"""Choose LSH parameters by measurement: recall@k against exact search, and queries/s.

For each ``n_bits`` the index is built once with the largest ``n_tables`` of the grid;
smaller table counts use its first tables (the projections are drawn so that these are
exactly the tables a smaller build would have), and ``n_probes`` is a query-time
setting, so a whole (n_tables, n_probes) plane costs one build. Within a plane, probes
grow until the target recall is reached (more probes only cost time) or the query time
exceeds the best configuration found so far.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .._io import InputError, check_positive
from ._base import check_k


def recall_at_k(found_rows: np.ndarray, true_rows: np.ndarray) -> float:
    """Mean over queries of |found ∩ true| / |true| (rows as (n_queries, k) integer arrays)."""
    hits = [len(np.intersect1d(a, b, assume_unique=True)) / len(b) for a, b in zip(found_rows, true_rows)]
    return float(np.mean(hits))


def exact_rows(index, queries: np.ndarray, k: int) -> np.ndarray:
    """Ground-truth rows from an :class:`ExactIndex` sharing ``index``'s vectors (no copy)."""
    from .exact import ExactIndex

    ex = ExactIndex(index.metric)
    ex._keys, ex._vectors, ex._key_to_row = index._keys, index._vectors, {}
    ex._dirty = True
    ex.build()
    return ex._search(queries, k)[0]


def tune_lsh(index, sample_queries, k: int = 10, target_recall: float = 0.9, max_time: float = 60.0,
             n_bits_grid=None, n_tables_grid=None, n_probes_grid=None, verbose: bool = False) -> list:
    """Measure a grid of LSH configurations on ``sample_queries``; keep the fastest that reaches the target.

    Parameters
    ----------
    index : LSHIndex
        Holding the catalogue; rebuilt with the chosen ``n_bits``/``n_tables``/``n_probes``
        (which are also written to its parameters, so ``save``/``load`` keep them).
    sample_queries : array (n, dim)
        Queries like the ones to be served (e.g. a sample of item vectors); 200-1000 is plenty.
    k : int
        Recall is measured at this k.
    target_recall : float in (0, 1]
    max_time : float
        Seconds; exploration stops when exceeded and the best configuration so far is used.
    n_bits_grid, n_tables_grid, n_probes_grid : sequences of int, optional
        Override the default grids.

    Returns
    -------
    list of dict
        One row per measured configuration: ``n_bits``, ``n_tables``, ``n_probes``,
        ``recall``, ``ms_per_query`` (CPU time of one thread per query) and ``qps`` (its
        inverse: one thread's throughput), ``candidates`` (mean re-ranked per query),
        ``build_s``, ``chosen``. Also stored as ``index.tune_report_``
        (``pandas.DataFrame(report)`` gives the curve).

    Examples
    --------
    >>> import numpy as np
    >>> from recembed.index import LSHIndex
    >>> rng = np.random.default_rng(0)
    >>> centers = rng.normal(size=(20, 16))
    >>> X = (centers[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 16))).astype(np.float32)
    >>> idx = LSHIndex("cosine").add(range(3000), X)
    >>> report = idx.tune(X[:100], k=10, target_recall=0.9, max_time=20)
    >>> best = [r for r in report if r["chosen"]][0]
    >>> best["recall"] >= 0.9
    True
    """
    k = check_k(k)
    check_positive("max_time", max_time)
    if not (0 < target_recall <= 1):
        raise InputError(f"target_recall must be in (0, 1], got {target_recall}")
    if hasattr(index, "_compact"):
        index._compact()  # removed rows must not count as ground truth
    q, _ = index._prepare_queries(sample_queries)
    if len(q) < 20:
        warnings.warn(f"tuning on {len(q)} sample queries: the recall estimate is rough "
                      "(200-1000 queries give a steady one)", stacklevel=3)
    k = min(k, len(index))
    t_start = time.perf_counter()
    truth = exact_rows(index, q, k)

    n = len(index)
    from .lsh import _default_bits

    b0 = _default_bits(n, index.metric)
    max_bits = 32 if index.metric == "l2" else 64
    bits_grid = list(n_bits_grid or sorted({max(2, min(max_bits, b)) for b in (b0, b0 - 2, b0 + 2, b0 - 4)},
                                           key=lambda b: abs(b - b0)))
    tables_grid = sorted(n_tables_grid or [4, 8, 12, 16, 24, 32])
    probes_grid = sorted(n_probes_grid or [1, 2, 4, 8, 16, 32, 64, 128, 256])
    L_max = tables_grid[-1]

    saved = (index.n_bits, index.n_tables, index.n_probes)
    report = []
    best_ms = math.inf
    out_of_time = False
    for b in bits_grid:
        index.n_bits, index.n_tables, index.n_probes = b, L_max, probes_grid[0]
        index._dirty = True
        t0 = time.perf_counter()
        index.build()
        build_s = time.perf_counter() - t0
        index._search(q[:2], k, serial=True)  # compile / warm caches outside the timing
        for L in tables_grid:
            for P in probes_grid:
                # one thread, CPU time: the per-query cost, steady on a busy machine
                t0 = time.process_time()
                rows, _, cand = index._search(q, k, n_probes=P, n_tables=L, return_candidates=True, serial=True)
                dt = max(time.process_time() - t0, 1e-9)
                ms = 1e3 * dt / len(q)
                rec = recall_at_k(rows, truth)
                row = {"n_bits": b, "n_tables": L, "n_probes": P, "recall": round(rec, 4),
                       "qps": round(len(q) / dt, 1), "ms_per_query": round(ms, 4),
                       "candidates": round(float(cand.mean()), 1), "build_s": round(build_s, 3), "chosen": False}
                report.append(row)
                if verbose:
                    print(row)
                if rec >= target_recall:
                    best_ms = min(best_ms, ms)
                    break
                if ms > best_ms or time.perf_counter() - t_start > max_time:
                    break
            if time.perf_counter() - t_start > max_time:
                out_of_time = True
                break
            if report[-1]["n_probes"] == probes_grid[0] and report[-1]["recall"] >= target_recall:
                break  # more tables only cost time once one probe suffices
        if out_of_time:
            break

    ok = [r for r in report if r["recall"] >= target_recall]
    if ok:
        best = min(ok, key=lambda r: r["ms_per_query"])
    else:
        best = max(report, key=lambda r: (r["recall"], -r["ms_per_query"]))
        warnings.warn(f"LSH tuning did not reach recall {target_recall} (best {best['recall']}); "
                      "using the highest-recall configuration measured", stacklevel=3)
    best["chosen"] = True
    index.n_bits, index.n_tables, index.n_probes = best["n_bits"], best["n_tables"], best["n_probes"]
    index._dirty = True
    try:
        index.build()
    except Exception:
        index.n_bits, index.n_tables, index.n_probes = saved
        raise
    index.tune_report_ = report
    return report


def clustered_vectors(n: int, dim: int, n_clusters: int = 1000, spread: float = 0.5, seed: int = 0,
                      n_queries: int = 0):
    """Synthetic catalogue for tests and benchmarks: Gaussian clusters around Gaussian centres.

    Cluster sizes follow a Zipf-like law (a few big genres, many niches). Returns
    ``X`` (n, dim) float32, or ``(X, Q)`` with ``n_queries`` held-out queries drawn the
    same way when ``n_queries > 0``.

    Examples
    --------
    >>> X, Q = clustered_vectors(1000, 8, n_clusters=10, n_queries=5)
    >>> X.shape, Q.shape, X.dtype
    ((1000, 8), (5, 8), dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    p = 1.0 / np.arange(1, n_clusters + 1) ** 0.5
    p /= p.sum()

    def draw(m):
        out = np.empty((m, dim), dtype=np.float32)
        block = 1 << 16
        for s in range(0, m, block):
            c = rng.choice(n_clusters, size=min(block, m - s), p=p)
            out[s:s + len(c)] = centers[c] + spread * rng.standard_normal((len(c), dim), dtype=np.float32)
        return out

    X = draw(n)
    return (X, draw(n_queries)) if n_queries else X
