"""Multi-probe locality-sensitive hashing with exact re-ranking.

* ``cosine``: random-hyperplane sign hashes (Charikar 2002), one bit per hyperplane.
* ``ip`` (maximum inner product): Simple-LSH (Neyshabur & Srebro 2015): items are
  scaled by the largest norm ``M`` and given an extra coordinate
  ``sqrt(1 - |x|^2 / M^2)`` so they lie on the unit sphere; queries are normalised and
  get a 0. Inner product then orders items as cosine does, and sign hashes apply.
* ``l2``: p-stable hashes (E2LSH, Datar et al. 2004): ``floor((a.x + b) / w)`` with
  Gaussian ``a``; the ``n_bits`` integers of a table are combined into one 64-bit code
  by a random linear hash (so a +/-1 perturbation of one of them is one addition).

Each of ``n_tables`` tables keeps its items sorted by code (CSR: unique codes,
bucket begin/end, item rows), searched by binary search. A query probes ``n_probes``
buckets per table in the order of Lv et al.'s (2007) query-directed perturbation
sequences: for sign hashes the bits whose projections lie closest to the hyperplane
are flipped first (score = sum of squared margins); for p-stable hashes each integer
moves by -1 or +1 towards its nearer boundary first. Candidates are deduplicated with a
per-thread array of seen-flags and re-ranked exactly against the stored vectors, keeping a
size-k heap; all of it is one numba function per query, so no Python runs per item.
"""
from __future__ import annotations

import math
import os
import threading

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._io import InputError, check_positive
from .._search import find_sorted
from ._base import BaseIndex

_SIGN, _PSTABLE = 0, 1
_U1 = np.uint64(1)


# --------------------------------------------------------------------------- hashing
@njit(cache=True, nogil=True, parallel=True)
def _pack_codes(Z, n_tables, n_bits, mode, offs, inv_w, mults, out):
    """Rows of projections -> one uint64 code per table (bits, or a linear hash of integers)."""
    for i in prange(Z.shape[0]):
        for t in range(n_tables):
            base = t * n_bits
            c = np.uint64(0)
            if mode == _SIGN:
                for j in range(n_bits):
                    if Z[i, base + j] > 0:
                        c |= _U1 << np.uint64(j)
            else:
                for j in range(n_bits):
                    h = np.int64(math.floor((Z[i, base + j] + offs[base + j]) * inv_w))
                    c += np.uint64(h) * mults[base + j]
            out[i, t] = c


@njit(cache=True, nogil=True)
def _code_of(z, t, n_bits, mode, offs, inv_w, mults):
    base = t * n_bits
    c = np.uint64(0)
    if mode == _SIGN:
        for j in range(n_bits):
            if z[base + j] > 0:
                c |= _U1 << np.uint64(j)
    else:
        for j in range(n_bits):
            h = np.int64(math.floor((z[base + j] + offs[base + j]) * inv_w))
            c += np.uint64(h) * mults[base + j]
    return c


# --------------------------------------------------------------------------- probing
@njit(cache=True, nogil=True)
def _probe_sequence(z, t, n_bits, mode, offs, inv_w, mults, n_probes, out_codes):
    """Write the base code and up to n_probes-1 perturbed codes, most likely first.

    Lv et al.'s generation: perturbations are sorted by score; a perturbation set is
    a set of positions in that order, grown from {0} by "shift" (move its last
    position one on) and "expand" (add the next position), popped from a min-heap of
    set scores, so sets come out in score order without enumerating them all.
    """
    c0 = _code_of(z, t, n_bits, mode, offs, inv_w, mults)
    out_codes[0] = c0
    if n_probes <= 1:
        return 1
    base = t * n_bits
    m = n_bits if mode == _SIGN else 2 * n_bits
    sc = np.empty(m, dtype=np.float64)
    bit = np.empty(m, dtype=np.int64)
    delta = np.empty(m, dtype=np.int64)
    if mode == _SIGN:
        for j in range(n_bits):
            v = z[base + j]
            sc[j] = v * v           # distance to the hyperplane, squared
            bit[j] = j
            delta[j] = 0
    else:
        for j in range(n_bits):
            f = (z[base + j] + offs[base + j]) * inv_w
            frac = f - math.floor(f)  # position inside the slot, in [0, 1)
            sc[2 * j] = frac * frac
            bit[2 * j] = j
            delta[2 * j] = -1
            sc[2 * j + 1] = (1.0 - frac) * (1.0 - frac)
            bit[2 * j + 1] = j
            delta[2 * j + 1] = 1
    order = np.argsort(sc)
    s_sorted = sc[order]
    cap = 4 * n_probes + 8
    h_s = np.empty(cap, dtype=np.float64)
    h_mask = np.empty(cap, dtype=np.uint64)
    h_max = np.empty(cap, dtype=np.int64)
    hn = 0
    # push {0}
    h_s[0] = s_sorted[0]
    h_mask[0] = _U1
    h_max[0] = 0
    hn = 1
    n_out = 1
    pops = 0
    while n_out < n_probes and hn > 0 and pops < 4 * n_probes:
        # pop the minimum
        s, mask, mx = h_s[0], h_mask[0], h_max[0]
        hn -= 1
        if hn > 0:
            h_s[0], h_mask[0], h_max[0] = h_s[hn], h_mask[hn], h_max[hn]
            i = 0
            while True:
                l = 2 * i + 1
                if l >= hn:
                    break
                r = l + 1
                c = r if (r < hn and h_s[r] < h_s[l]) else l
                if h_s[c] < h_s[i]:
                    h_s[i], h_s[c] = h_s[c], h_s[i]
                    h_mask[i], h_mask[c] = h_mask[c], h_mask[i]
                    h_max[i], h_max[c] = h_max[c], h_max[i]
                    i = c
                else:
                    break
        pops += 1
        if mx + 1 < m:
            nxt = mx + 1
            for kind in range(2):
                if kind == 0:   # shift
                    ns = s - s_sorted[mx] + s_sorted[nxt]
                    nm = (mask ^ (_U1 << np.uint64(mx))) | (_U1 << np.uint64(nxt))
                else:           # expand
                    ns = s + s_sorted[nxt]
                    nm = mask | (_U1 << np.uint64(nxt))
                i = hn
                h_s[i], h_mask[i], h_max[i] = ns, nm, nxt
                hn += 1
                while i > 0:
                    p = (i - 1) // 2
                    if h_s[i] < h_s[p]:
                        h_s[i], h_s[p] = h_s[p], h_s[i]
                        h_mask[i], h_mask[p] = h_mask[p], h_mask[i]
                        h_max[i], h_max[p] = h_max[p], h_max[i]
                        i = p
                    else:
                        break
        # apply the set; for p-stable hashes a set moving one integer both ways is invalid
        c = c0
        used = np.uint64(0)
        valid = True
        for p in range(mx + 1):
            if mask & (_U1 << np.uint64(p)):
                e = order[p]
                j = bit[e]
                if mode == _SIGN:
                    c ^= _U1 << np.uint64(j)
                else:
                    if used & (_U1 << np.uint64(j)):
                        valid = False
                        break
                    used |= _U1 << np.uint64(j)
                    if delta[e] > 0:
                        c += mults[base + j]
                    else:
                        c -= mults[base + j]
        if valid:
            out_codes[n_out] = c
            n_out += 1
    return n_out


# --------------------------------------------------------------------------- search
@intrinsic
def _prefetch(typingctx, arr, row, col):
    """Hint the CPU to fetch ``arr[row, col]``'s cache line (LLVM's prefetch; never faults)."""
    sig = types.void(arr, row, col)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, a, t, types.intp) for a, t in zip(args[1:], signature.args[1:])]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


_PREFETCH_AHEAD = 8


@njit(cache=True, nogil=True, fastmath=True)
def _score(data, row, q, inv, sqn, kind):
    s = np.float32(0.0)
    for j in range(q.shape[0]):
        s += data[row, j] * q[j]
    if kind == 1:       # cosine: scale by 1/|x|
        return s * inv[row]
    if kind == 2:       # l2: 2 q.x - |x|^2, higher is nearer
        return 2.0 * s - sqn[row]
    return s


@njit(cache=True, nogil=True)
def _heap_push(hs, hr, cnt, k, s, row):
    """Size-k min-heap of the best scores; returns the new count."""
    if cnt < k:
        i = cnt
        hs[i] = s
        hr[i] = row
        while i > 0:
            p = (i - 1) // 2
            if hs[i] < hs[p]:
                hs[i], hs[p] = hs[p], hs[i]
                hr[i], hr[p] = hr[p], hr[i]
                i = p
            else:
                break
        return cnt + 1
    if s <= hs[0]:
        return cnt
    hs[0] = s
    hr[0] = row
    i = 0
    while True:
        l = 2 * i + 1
        if l >= k:
            break
        r = l + 1
        c = r if (r < k and hs[r] < hs[l]) else l
        if hs[c] < hs[i]:
            hs[i], hs[c] = hs[c], hs[i]
            hr[i], hr[c] = hr[c], hr[i]
            i = c
        else:
            break
    return cnt


@njit(cache=True, nogil=True, fastmath=True)
def _search_one(z, q, n_tables, n_bits, n_probes, mode, offs, inv_w, mults,
                tab_ids, tcodes, tbegin, tend, tstart, data, inv, sqn, kind,
                k, stamps, stamp, cand, cscore, out_rows, out_scores):
    # 1. gather the distinct candidate rows (sequential reads of the tables); when the
    # probes find fewer than k, probe 4x wider (the rows already seen stay flagged)
    n_cand = 0
    n_p_want = n_probes
    while True:
        probes = np.empty(n_p_want, dtype=np.uint64)
        for t in range(n_tables):
            n_p = _probe_sequence(z, t, n_bits, mode, offs, inv_w, mults, n_p_want, probes)
            lo, hi = tstart[t], tstart[t + 1]
            for pi in range(n_p):
                b = find_sorted(tcodes, lo, hi, probes[pi])
                if b < 0:
                    continue
                for r in range(tbegin[b], tend[b]):
                    row = tab_ids[t, r]
                    if stamps[row] != stamp:
                        stamps[row] = stamp
                        cand[n_cand] = row
                        n_cand += 1
        if n_cand >= k or n_p_want >= 4096:
            break
        n_p_want *= 4
    # 2. score them in a branch-free loop: the vector reads are cache misses, and
    # independent iterations let the CPU overlap them (a heap push per row would not)
    d = data.shape[1]
    for i in range(n_cand):
        if i + _PREFETCH_AHEAD < n_cand:
            # ask for a row a few iterations ahead: its lines arrive while we compute
            nxt = cand[i + _PREFETCH_AHEAD]
            for j in range(0, d, 16):
                _prefetch(data, nxt, j)
        cscore[i] = _score(data, cand[i], q, inv, sqn, kind)
    # clear the flags of this query's candidates: a 1-byte flag array stays in cache where a
    # 4-byte per-query stamp array would not, and clearing touches only the rows just seen
    for i in range(n_cand):
        stamps[cand[i]] = 0
    # 3. keep the best k
    hs = np.empty(k, dtype=np.float32)
    hr = np.empty(k, dtype=np.int64)
    cnt = 0
    if n_cand >= k:
        for i in range(n_cand):
            cnt = _heap_push(hs, hr, cnt, k, cscore[i], cand[i])
    else:
        # still too few candidates (a tiny index, an empty region): answer exactly instead
        for row in range(data.shape[0]):
            if stamps[row] == 0:  # flags left set here mark removed rows
                cnt = _heap_push(hs, hr, cnt, k, _score(data, row, q, inv, sqn, kind), row)
        n_cand = data.shape[0]
    order = np.argsort(-hs[:cnt])
    for i in range(cnt):
        out_rows[i] = hr[order[i]]
        out_scores[i] = hs[order[i]]
    return n_cand


@njit(cache=True, nogil=True)
def _search_serial(Z, Q, n_tables, n_bits, n_probes, mode, offs, inv_w, mults,
                   tab_ids, tcodes, tbegin, tend, tstart, data, inv, sqn, kind,
                   k, stamps, cand, cscore, out_rows, out_scores, out_cand):
    for i in range(Q.shape[0]):
        out_cand[i] = _search_one(Z[i], Q[i], n_tables, n_bits, n_probes, mode, offs, inv_w, mults,
                                  tab_ids, tcodes, tbegin, tend, tstart, data, inv, sqn, kind,
                                  k, stamps, np.uint8(1), cand, cscore, out_rows[i], out_scores[i])


@njit(cache=True, nogil=True, parallel=True)
def _search_parallel(Z, Q, n_tables, n_bits, n_probes, mode, offs, inv_w, mults,
                     tab_ids, tcodes, tbegin, tend, tstart, data, inv, sqn, kind,
                     k, stamps2, cand2, cscore2, out_rows, out_scores, out_cand):
    n_chunks = stamps2.shape[0]
    nq = Q.shape[0]
    size = (nq + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        stamps = stamps2[c]
        for i in range(c * size, min(nq, (c + 1) * size)):
            out_cand[i] = _search_one(Z[i], Q[i], n_tables, n_bits, n_probes, mode, offs, inv_w, mults,
                                      tab_ids, tcodes, tbegin, tend, tstart, data, inv, sqn, kind,
                                      k, stamps, np.uint8(1), cand2[c], cscore2[c], out_rows[i], out_scores[i])


class _StampPool:
    """Per-call scratch, reused and thread-safe: a seen-flag byte per item ("already a
    candidate", cleared again for the candidates after each query) plus candidate and
    score buffers.

    Allocating and zeroing ``n`` bytes per query would cost more than the search at 1M
    items. Single queries take one scratch set from a free list; batches take a
    (threads, n) block, one row per parallel chunk.
    """

    def __init__(self, n):
        self.n = n
        self._free = []
        self._blocks = []
        self._lock = threading.Lock()
        self._dead = np.zeros(n, dtype=bool)

    def _new(self, rows):
        st = np.zeros((rows, self.n), dtype=np.uint8)
        st[:, self._dead] = 1  # removed rows look "already seen" forever, so they are skipped
        return st, np.empty((rows, self.n), dtype=np.int32), np.empty((rows, self.n), dtype=np.float32)

    def mark_dead(self, rows):
        with self._lock:
            self._dead[rows] = True
            for st, _, _ in self._free:
                st[rows] = 1
            for blk in self._blocks:
                blk[0][:, rows] = 1

    def take_one(self):
        with self._lock:
            if self._free:
                return self._free.pop()
        st, cb, cs = self._new(1)
        return st[0], cb[0], cs[0]

    def give_one(self, item):
        with self._lock:
            self._free.append(item)

    def take_block(self, rows):
        with self._lock:
            for i, blk in enumerate(self._blocks):
                if blk[0].shape[0] == rows:
                    return self._blocks.pop(i)
        return self._new(rows)

    def give_block(self, blk):
        with self._lock:
            if len(self._blocks) < 2:
                self._blocks.append(blk)


def _default_bits(n: int, metric: str) -> int:
    # about 16-64 random items per bucket before clustering; probes widen from there
    return int(min(32 if metric == "l2" else 40, max(4, round(math.log2(max(n, 2))) - 5)))


class LSHIndex(BaseIndex):
    """Multi-probe LSH over several hash tables, candidates re-ranked exactly.

    Parameters
    ----------
    metric : {"cosine", "ip", "l2"}
        Sign hashes for cosine, Simple-LSH + sign hashes for inner product, p-stable
        hashes for Euclidean distance. Scores as :class:`ExactIndex` (best first).
    n_tables : int, optional
        Hash tables (default 12). More tables: higher recall, more memory (4 bytes per
        item per table) and more time.
    n_bits : int, optional
        Hash functions per table (bits for sign hashes; at most 64, or 32 for ``l2``).
        Default ``round(log2 n) - 5``. More bits: smaller buckets.
    n_probes : int, optional
        Buckets visited per table, the base bucket included (default 16). Query-time
        only: changing it needs no rebuild.
    seed : int
        Seed of the random projections; same seed and data give the same index.
    bucket_width : float, optional
        ``l2`` only: slot width ``w``; default 4 x the median distance to the 10th
        nearest neighbour of 200 sampled items.
    n_threads : int, optional
        Threads for batched queries and building (default: numba's default, all cores).

    Attributes
    ----------
    n_tables_, n_bits_, n_probes_ : int
        The values in use (after defaults or :meth:`tune`).
    tune_report_ : list of dict
        The recall/speed curve measured by the last :meth:`tune`.

    Notes
    -----
    Memory: the vectors (``4 n d`` bytes) + per table the sorted item rows (``4 n``)
    and the bucket codes/bounds (``16 x buckets``, at most ``16 n``) + the projection
    matrix (``4 d n_tables n_bits``), plus ``9 n`` bytes of scratch per querying thread.
    A query whose probes find fewer than ``k`` candidates probes 4x more buckets, up to
    4096 per table, and is answered exactly if that still finds too few.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 16)).astype(np.float32)
    >>> idx = LSHIndex(metric="cosine", n_tables=8, n_bits=8, n_probes=8)
    >>> _ = idx.add([f"i{j}" for j in range(2000)], X)
    >>> keys, scores = idx.query(X[7], k=3)
    >>> str(keys[0]), round(float(scores[0]), 3)
    ('i7', 1.0)
    >>> idx.query(X[:5], k=3)[0].shape
    (5, 3)
    """

    def __init__(self, metric: str = "cosine", n_tables: int | None = None, n_bits: int | None = None,
                 n_probes: int | None = None, seed: int = 0, bucket_width: float | None = None,
                 n_threads: int | None = None):
        super().__init__(metric)
        for name, v in (("n_tables", n_tables), ("n_bits", n_bits), ("n_probes", n_probes),
                        ("n_threads", n_threads)):
            if v is not None:
                check_positive(name, v, integer=True)
        if bucket_width is not None:
            check_positive("bucket_width", bucket_width)
        max_bits = 32 if metric == "l2" else 64
        if n_bits is not None and n_bits > max_bits:
            raise InputError(f"n_bits must be <= {max_bits} for metric {metric!r}, got {n_bits}")
        self.n_tables = n_tables
        self.n_bits = n_bits
        self.n_probes = n_probes
        self.bucket_width = bucket_width
        self.seed = seed
        self.n_threads = n_threads

    # -- removal by tombstones ---------------------------------------------------
    # remove() on a built index only flags rows (the tables stay valid); the flagged rows
    # are dropped at the next rebuild, forced once a quarter of the rows are removed.
    def __len__(self) -> int:
        return super().__len__() - getattr(self, "_n_dead", 0)

    @property
    def keys(self) -> np.ndarray:
        keys = super().keys
        dead = getattr(self, "_dead", None)
        if dead is not None and self._n_dead:
            keep = np.ones(len(keys), dtype=bool)
            keep[: len(dead)] = ~dead
            keys = keys[keep]
        return keys

    def _compact(self):
        """Drop the flagged rows for real (before any change that renumbers rows)."""
        if not getattr(self, "_n_dead", 0):
            return
        keep = np.ones(len(self._keys), dtype=bool)
        keep[: len(self._dead)] = ~self._dead
        self._keys = self._keys[keep]
        self._vectors = np.ascontiguousarray(self._vectors[keep])
        self._key_to_row = {k: i for i, k in enumerate(self._keys.tolist())}
        self._dead = np.zeros(len(self._keys), dtype=bool)
        self._n_dead = 0
        self._dirty = True

    def add(self, keys, vectors) -> "LSHIndex":
        self._compact()
        return super().add(keys, vectors)

    def remove(self, keys) -> "LSHIndex":
        """Remove ``keys``; :class:`InputError` names the first unknown one (nothing is removed then).

        On a built index this is O(len(keys)): the rows are flagged and skipped by queries.
        """
        if self._dirty or not hasattr(self, "_stamps"):
            self._compact()
            return super().remove(keys)
        if isinstance(keys, (str, int, np.integer)):
            keys = [keys]
        rows = np.unique(np.asarray([self._row_of(k) for k in keys], dtype=np.int64))
        if len(rows) == 0:
            return self
        for k in keys:
            self._key_to_row.pop(self._norm_key(k), None)
        self._dead[rows] = True
        self._n_dead = int(self._dead.sum())
        self._stamps.mark_dead(rows)
        if self._n_dead > 0.25 * len(self._dead) or len(self) == 0:
            self._compact()
        return self

    def save(self, path) -> None:
        if getattr(self, "_n_dead", 0):
            self._compact()
            self.build()
        super().save(path)

    # -- build --------------------------------------------------------------
    def _resolve(self):
        n = len(self)
        self.n_tables_ = int(self.n_tables or 12)
        self.n_bits_ = int(self.n_bits or _default_bits(n, self.metric))
        self.n_probes_ = int(self.n_probes or 16)

    def _hash_input(self, X: np.ndarray, queries: bool) -> np.ndarray:
        """The vectors the hash functions see (Simple-LSH transform for ip)."""
        if self.metric != "ip":
            return X
        if queries:
            n = np.linalg.norm(X, axis=1, keepdims=True)
            return X / np.where(n > 0, n, 1.0).astype(np.float32)
        return X / np.float32(self._max_norm)

    def _project(self, X: np.ndarray, queries: bool, n_tables: int | None = None) -> np.ndarray:
        cols = (n_tables or self.n_tables_) * self.n_bits_
        P = self._proj[:, :cols]
        H = self._hash_input(X, queries)
        Z = H @ P[: X.shape[1]]
        if self.metric == "ip" and not queries:
            # the appended coordinate sqrt(1 - |x|^2/M^2) (queries append 0)
            tail = np.sqrt(np.maximum(0.0, 1.0 - np.einsum("ij,ij->i", H, H))).astype(np.float32)
            Z += tail[:, None] * P[X.shape[1]][None, :]
        return np.ascontiguousarray(Z, dtype=np.float32)

    def _make_projections(self):
        # each random array comes from its own stream, drawn row by row, so the first L
        # tables of an index built with more tables are identical (the tuner relies on it)
        L, b, d = self.n_tables_, self.n_bits_, self.dim
        streams = np.random.SeedSequence(self.seed).spawn(4)
        g = [np.random.default_rng(s) for s in streams]
        self._proj = np.ascontiguousarray(g[0].standard_normal((L * b, d + (self.metric == "ip")),
                                                               dtype=np.float32).T)
        if self.metric == "l2":
            w = self.bucket_width or self._auto_width(g[1])
            self._width = float(w)
            self._offs = (g[2].random(L * b) * w).astype(np.float32)
            self._mults = g[3].integers(1, 2**63 - 1, size=L * b, dtype=np.int64).astype(np.uint64) | np.uint64(1)
        else:
            self._width = 1.0
            self._offs = np.zeros(L * b, dtype=np.float32)
            self._mults = np.ones(L * b, dtype=np.uint64)

    def _auto_width(self, rng) -> float:
        from .exact import ExactIndex

        n = len(self)
        sample = self._vectors[rng.choice(n, size=min(200, n), replace=False)]
        ex = ExactIndex("l2")
        ex._keys, ex._vectors, ex._dirty = np.arange(n), self._vectors, True
        ex.build()
        kk = min(11, n)
        _, d = ex._search(sample, kk)
        r = float(np.median(d[:, -1]))
        return 4.0 * r if r > 0 else 1.0

    def _build(self) -> None:
        self._compact()
        self._resolve()
        n = len(self)
        X = self._vectors
        if self.metric == "ip":
            norms = np.linalg.norm(X, axis=1)
            self._max_norm = float(norms.max()) or 1.0
        self._make_projections()
        self._hash_all()
        self._finish_build()

    def _hash_all(self):
        n, L = len(self), self.n_tables_
        codes = np.empty((n, L), dtype=np.uint64)
        block = max(1024, (64 << 20) // (4 * L * self.n_bits_))
        with self._threads():
            for s in range(0, n, block):
                Z = self._project(self._vectors[s:s + block], queries=False)
                _pack_codes(Z, L, self.n_bits_, self._mode, self._offs, np.float32(1.0 / self._width),
                            self._mults, codes[s:s + block])
        tab_ids = np.empty((L, n), dtype=np.int32)

        def sort_table(t):
            col = np.ascontiguousarray(codes[:, t])
            order = np.argsort(col, kind="stable")  # stable: rows ascending inside a bucket
            sc = col[order]
            tab_ids[t] = order
            cut = np.flatnonzero(sc[1:] != sc[:-1]) + 1
            b = np.concatenate([[0], cut]).astype(np.int32)
            return sc[b], b, np.concatenate([cut, [n]]).astype(np.int32)

        # numpy's sort releases the GIL: tables sort in parallel
        workers = min(L, self.n_threads or os.cpu_count() or 1)
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(sort_table, range(L)))
        else:
            parts = [sort_table(t) for t in range(L)]
        ucodes = [p[0] for p in parts]
        begins = [p[1] for p in parts]
        ends = [p[2] for p in parts]
        tstart = np.concatenate([[0], np.cumsum([len(b) for b in begins])])
        self._tab_ids = tab_ids
        self._tcodes = np.concatenate(ucodes)
        self._tbegin = np.concatenate(begins)
        self._tend = np.concatenate(ends)
        self._tstart = np.asarray(tstart, dtype=np.int64)

    def _finish_build(self):
        X = self._vectors
        norms = np.linalg.norm(X, axis=1)
        self._inv = (1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._sqn = (norms.astype(np.float64) ** 2).astype(np.float32)
        self._kind = {"ip": 0, "cosine": 1, "l2": 2}[self.metric]
        self._dead = np.zeros(len(self._keys), dtype=bool)
        self._n_dead = 0
        self._stamps = _StampPool(len(self._keys))

    @property
    def _mode(self):
        return _PSTABLE if self.metric == "l2" else _SIGN

    def _threads(self):
        outer = self

        class _Ctx:
            def __enter__(self):
                self.prev = numba.get_num_threads()
                if outer.n_threads:
                    numba.set_num_threads(min(outer.n_threads, numba.config.NUMBA_NUM_THREADS))

            def __exit__(self, *exc):
                numba.set_num_threads(self.prev)

        return _Ctx()

    # -- search -------------------------------------------------------------
    def _search(self, Q: np.ndarray, k: int, n_probes: int | None = None, n_tables: int | None = None,
                return_candidates: bool = False, serial: bool = False):
        L = min(n_tables or self.n_tables_, self.n_tables_)
        P = int(n_probes or self.n_probes or self.n_probes_)  # n_probes may change after a build
        Z = self._project(Q, queries=True, n_tables=L)
        if self.metric == "ip":
            qr = Q
        elif self.metric == "cosine":
            n = np.linalg.norm(Q, axis=1, keepdims=True)
            qr = np.ascontiguousarray(Q / np.where(n > 0, n, 1.0).astype(np.float32))
        else:
            qr = Q
        nq = len(Q)
        rows = np.empty((nq, k), dtype=np.int64)
        scores = np.empty((nq, k), dtype=np.float32)
        cand = np.empty(nq, dtype=np.int64)
        args = (Z, qr, L, self.n_bits_, P, self._mode, self._offs, np.float32(1.0 / self._width), self._mults,
                self._tab_ids, self._tcodes, self._tbegin, self._tend, self._tstart,
                self._vectors, self._inv, self._sqn, self._kind, k)
        threads = min(self.n_threads or numba.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
        if nq < 8 or threads == 1 or serial:
            scratch = self._stamps.take_one()
            try:
                _search_serial(*args, *scratch, rows, scores, cand)
            finally:
                self._stamps.give_one(scratch)
        else:
            block = self._stamps.take_block(min(threads, nq))
            try:
                with self._threads():
                    _search_parallel(*args, *block, rows, scores, cand)
            finally:
                self._stamps.give_block(block)
        if self.metric == "l2":
            qn = np.einsum("ij,ij->i", Q, Q)[:, None]
            scores = np.sqrt(np.maximum(qn - scores, 0.0)).astype(np.float32)
        if return_candidates:
            return rows, scores, cand
        return rows, scores

    # -- tuning -------------------------------------------------------------
    def tune(self, sample_queries, k: int = 10, target_recall: float = 0.9, max_time: float = 60.0,
             n_bits_grid=None, n_tables_grid=None, n_probes_grid=None, verbose: bool = False) -> list:
        """Pick the fastest (n_bits, n_tables, n_probes) reaching ``target_recall`` on a sample.

        See :func:`recembed.index.tune.tune_lsh`; the index is rebuilt with the chosen
        configuration and the measured curve is returned and kept in ``tune_report_``.
        """
        from .tune import tune_lsh

        return tune_lsh(self, sample_queries, k=k, target_recall=target_recall, max_time=max_time,
                        n_bits_grid=n_bits_grid, n_tables_grid=n_tables_grid,
                        n_probes_grid=n_probes_grid, verbose=verbose)

    # -- persistence --------------------------------------------------------
    def _extra_meta(self):
        if self._dirty:
            return {}
        return {"n_tables_": self.n_tables_, "n_bits_": self.n_bits_, "n_probes_": self.n_probes_,
                "width": self._width, "max_norm": getattr(self, "_max_norm", 1.0)}

    def _extra_state(self):
        if self._dirty:
            return {}
        return {"proj": self._proj, "offs": self._offs, "mults": self._mults, "tab_ids": self._tab_ids,
                "tcodes": self._tcodes, "tbegin": self._tbegin, "tend": self._tend, "tstart": self._tstart}

    def _load_extra_state(self, arrays, meta):
        if not meta or "proj" not in arrays:
            self._dirty = True
            return
        self.n_tables_, self.n_bits_ = int(meta["n_tables_"]), int(meta["n_bits_"])
        self.n_probes_ = int(meta["n_probes_"])
        self._width, self._max_norm = float(meta["width"]), float(meta["max_norm"])
        for name in ("proj", "offs", "mults", "tab_ids", "tcodes", "tbegin", "tend", "tstart"):
            setattr(self, "_" + name, np.ascontiguousarray(arrays[name]))
        self._finish_build()
        self._dirty = False
