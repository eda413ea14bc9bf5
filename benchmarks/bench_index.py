"""Recall@k and speed of recembed's indexes against numpy brute force, faiss and hnswlib.

Default: 1M clustered vectors (d=128, 1000 Zipf-sized Gaussian clusters, spread 0.5),
1,000 held-out queries, recall@10 against exact search; single-query and batched
throughput with 1 and 2 threads; build times. Each approximate index is set to the
cheapest setting measured that reaches --target-recall (LSHIndex by its tuner on a
separate sample of 500 queries; faiss/hnswlib by sweeping their search parameter).

    python benchmarks/bench_index.py --quick            # 100k vectors, a couple of minutes
    python benchmarks/bench_index.py                    # 1M x 128 (about 3 GB RAM; long: HNSW builds)
    python benchmarks/bench_index.py --items items.emb  # real item embeddings (queries: sampled items)
    python benchmarks/bench_index.py --skip hnswlib,faiss_hnsw --json out.json

Timings: wall clock (ms per query for single queries = the mean of a loop of one-vector
calls, Python overhead included; q/s for batches). "cpu ms" is the process CPU time
per query, steadier than wall time on a shared machine.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from recembed.index import ExactIndex, FaissIndex, HNSWIndex, LSHIndex  # noqa: E402
from recembed.index.tune import clustered_vectors, recall_at_k  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


class _Threads:
    """Limit BLAS, numba and faiss threads together."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import numba

        self._tp = threadpool_limits(self.n) if threadpool_limits else None
        self._numba = numba.get_num_threads()
        numba.set_num_threads(min(self.n, numba.config.NUMBA_NUM_THREADS))
        try:
            import faiss

            faiss.omp_set_num_threads(self.n)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self._numba)
        if self._tp is not None:
            self._tp.unregister()


def time_single(fn, Q, n):
    """Mean wall ms and CPU ms per call over the first n queries (after one warm-up call)."""
    fn(Q[0])
    w0, c0 = time.perf_counter(), time.process_time()
    for q in Q[:n]:
        fn(q)
    return 1e3 * (time.perf_counter() - w0) / n, 1e3 * (time.process_time() - c0) / n


def time_batch(fn, Q):
    fn(Q[:16])
    t0 = time.perf_counter()
    out = fn(Q)
    return len(Q) / (time.perf_counter() - t0), out


def numpy_brute(X, metric, k):
    """The baseline a user writes first: one matrix-vector product and argpartition."""
    if metric == "cosine":
        X = X / np.linalg.norm(X, axis=1, keepdims=True)

    def search(q):
        s = X @ (q / np.linalg.norm(q) if metric == "cosine" else q)
        top = np.argpartition(-s, k)[:k]
        return top[np.argsort(-s[top])]

    return search


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=None, help="default n / 1000")
    ap.add_argument("--spread", type=float, default=0.5)
    ap.add_argument("--items", help="real item embeddings (.emb/.npz) instead of synthetic clusters")
    ap.add_argument("--quick", action="store_true", help="100k vectors, 500 queries")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--target-recall", type=float, default=0.9)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--single", type=int, default=200, help="queries timed one by one (default 200)")
    ap.add_argument("--faiss-lsh-bits", default="256,512,1024,2048",
                    help="IndexLSH code lengths tried in turn until one reaches the target recall")
    ap.add_argument("--skip", default="", help="comma list of: numpy,exact,lsh,lsh_ip,faiss_lsh,faiss_hnsw,hnswlib")
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.queries = min(args.n, 100_000), min(args.queries, 500)
    skip = set(filter(None, args.skip.split(",")))
    threads = [int(t) for t in args.threads.split(",")]
    k = args.k

    t0 = time.perf_counter()
    if args.items:
        from recembed import Embeddings

        emb = Embeddings.load(args.items)
        X = emb.vectors
        rng = np.random.default_rng(0)
        pick = rng.choice(len(X), size=min(len(X), args.queries + 500), replace=False)
        noise = 0.05 * X.std() * rng.standard_normal((len(pick), X.shape[1])).astype(np.float32)
        QQ = X[pick] + noise
        data_desc = f"{args.items}: {len(X)} x {X.shape[1]}"
    else:
        X, QQ = clustered_vectors(args.n, args.dim, n_clusters=args.clusters or max(10, args.n // 1000),
                                  spread=args.spread, seed=1, n_queries=args.queries + 500)
        data_desc = (f"clustered: {args.n} x {args.dim}, {args.clusters or max(10, args.n // 1000)} clusters, "
                     f"spread {args.spread}")
    Qtune, Q = QQ[:500], QQ[500:]
    keys = np.arange(len(X))
    print(f"data {data_desc}; {len(Q)} queries; generated in {time.perf_counter() - t0:.1f}s", flush=True)
    results = []

    def record(name, metric, build_s=None, recall=None, single=None, batch=None, note=""):
        row = {"index": name, "metric": metric, "build_s": build_s, "recall": recall, "note": note}
        if single:
            row["single_ms"], row["single_cpu_ms"] = single
            row["single_qps"] = 1e3 / single[0]
        for t, qps in (batch or {}).items():
            row[f"batch_qps_{t}t"] = qps
        results.append(row)
        single_txt = f"single {single[0]:.3f} ms ({1e3 / single[0]:.0f} q/s, cpu {single[1]:.3f} ms)" if single else ""
        batch_txt = " ".join(f"batch[{t}t] {q:.0f} q/s" for t, q in (batch or {}).items())
        rec_txt = f"recall@{k} {recall:.3f}" if recall is not None else ""
        b_txt = f"build {build_s:.1f}s" if build_s is not None else ""
        print(f"  {name:<22} {metric:<6} {rec_txt:<16} {b_txt:<13} {single_txt} {batch_txt} {note}", flush=True)

    for metric in ("cosine", "ip"):
        if metric == "ip" and "lsh_ip" in skip:
            continue
        print(f"\n== metric {metric} ==", flush=True)
        exact = ExactIndex(metric).add(keys, X)
        t0 = time.perf_counter()
        exact.build()
        with _Threads(max(threads)):
            qps, (truth, _) = time_batch(lambda q: exact.query(q, k=k), Q)
        if "exact" not in skip:
            batch = {max(threads): qps}
            single = None
            for t in threads:
                with _Threads(t):
                    if t == 1:
                        single = time_single(lambda q: exact.query(q, k=k), Q, min(args.single, 50))
                    if t != max(threads):
                        batch[t] = time_batch(lambda q: exact.query(q, k=k), Q)[0]
            record("ExactIndex", metric, 0.0, 1.0, single, dict(sorted(batch.items())))
        if "numpy" not in skip:
            search = numpy_brute(X, metric, k)
            for t in threads:
                with _Threads(t):
                    record(f"numpy brute [{t}t]", metric, None, 1.0, time_single(search, Q, min(args.single, 50)))
            del search
            gc.collect()

        name = "lsh" if metric == "cosine" else "lsh_ip"
        if name not in skip:
            lsh = LSHIndex(metric, seed=0).add(keys, X)
            t0 = time.perf_counter()
            lsh.build()
            build_default = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = lsh.tune(Qtune, k=k, target_recall=args.target_recall, max_time=300)
            tune_s = time.perf_counter() - t0
            chosen = [r for r in report if r["chosen"]][0]
            t0 = time.perf_counter()
            lsh._dirty = True
            lsh.build()
            build_s = time.perf_counter() - t0
            found = lsh.query(Q, k=k)[0]
            batch = {}
            for t in threads:
                with _Threads(t):
                    batch[t] = time_batch(lambda q: lsh.query(q, k=k), Q)[0]
            single = time_single(lambda q: lsh.query(q, k=k), Q, args.single)
            record(f"LSHIndex", metric, build_s, recall_at_k(found, truth), single, batch,
                   note=f"n_bits={lsh.n_bits} n_tables={lsh.n_tables} n_probes={lsh.n_probes} "
                        f"(tuner promised {chosen['recall']:.3f}; tuning {tune_s:.0f}s, "
                        f"{len(report)} configs; {chosen['candidates']:.0f} candidates/query)")
            del lsh
            gc.collect()

        if metric != "cosine":
            continue
        if "faiss_lsh" not in skip:
            bit_list = [int(b) for b in args.faiss_lsh_bits.split(",")]
            for nbits in bit_list:
                fl = FaissIndex("cosine", factory=f"LSH{nbits}", k_factor=10).add(keys, X)
                t0 = time.perf_counter()
                fl.build()
                build_s = time.perf_counter() - t0
                with _Threads(max(threads)):
                    qps, (found, _) = time_batch(lambda q: fl.query(q, k=k), Q)
                rec = recall_at_k(found, truth)
                if rec >= args.target_recall or nbits == bit_list[-1]:
                    batch = {max(threads): qps}
                    for t in threads:
                        if t != max(threads):
                            with _Threads(t):
                                batch[t] = time_batch(lambda q: fl.query(q, k=k), Q)[0]
                    with _Threads(1):
                        single = time_single(lambda q: fl.query(q, k=k), Q, min(args.single, 50))
                    record("faiss IndexLSH", metric, build_s, rec, single, dict(sorted(batch.items())),
                           note=f"nbits={nbits}, rotation, {10 * k} candidates re-ranked")
                    del fl
                    gc.collect()
                    break
                print(f"    (faiss IndexLSH nbits={nbits}: recall {rec:.3f} < target)", flush=True)
                del fl
                gc.collect()
        for name, make, param in (("faiss_hnsw", lambda: FaissIndex("cosine", factory="HNSW32"), "ef_search"),
                                  ("hnswlib", lambda: HNSWIndex("cosine", M=16, ef_construction=200), "ef")):
            if name in skip:
                continue
            idx = make().add(keys, X)
            if name == "faiss_hnsw":
                idx.ef_search = 16
            t0 = time.perf_counter()
            with _Threads(max(threads)):
                idx.build()
            build_s = time.perf_counter() - t0
            for ef in (16, 24, 32, 48, 64, 96, 128, 256):
                if name == "faiss_hnsw":
                    idx._native.hnsw.efSearch = ef
                else:
                    idx.ef = ef
                with _Threads(max(threads)):
                    qps, (found, _) = time_batch(lambda q: idx.query(q, k=k), Q)
                rec = recall_at_k(found, truth)
                if rec >= args.target_recall or ef == 256:
                    break
            batch = {max(threads): qps}
            for t in threads:
                if t != max(threads):
                    with _Threads(t):
                        if name == "hnswlib":
                            idx.n_threads = t
                        batch[t] = time_batch(lambda q: idx.query(q, k=k), Q)[0]
            with _Threads(1):
                if name == "hnswlib":
                    idx.n_threads = 1
                single = time_single(lambda q: idx.query(q, k=k), Q, args.single)
            record("faiss HNSW32" if name == "faiss_hnsw" else "hnswlib M=16", metric, build_s, rec, single,
                   dict(sorted(batch.items())), note=f"{param}={ef}, built with {max(threads)} threads")
            del idx
            gc.collect()
        del exact
        gc.collect()

    # ratios at the target recall
    def get(name, metric):
        return next((r for r in results if r["index"] == name and r["metric"] == metric), None)

    print("\n== ratios ==")
    lsh, brute = get("LSHIndex", "cosine"), get("numpy brute [1t]", "cosine")
    if lsh and brute:
        print(f"  LSHIndex vs numpy brute force, single query, 1 thread: {lsh['single_qps'] / brute['single_qps']:.1f}x "
              f"(target >= 30x at 1M)")
        b2 = get(f"numpy brute [{max(threads)}t]", "cosine")
        if b2:
            print(f"  LSHIndex (1 thread) vs numpy brute force ({max(threads)} threads): "
                  f"{lsh['single_qps'] / b2['single_qps']:.1f}x")
    fl = get("faiss IndexLSH", "cosine")
    if lsh and fl:
        print(f"  LSHIndex vs faiss IndexLSH, single query: {lsh['single_qps'] / fl['single_qps']:.1f}x; "
              f"batched: {lsh[f'batch_qps_{max(threads)}t'] / fl[f'batch_qps_{max(threads)}t']:.1f}x")
    for hn in ("hnswlib M=16", "faiss HNSW32"):
        h = get(hn, "cosine")
        if lsh and h:
            print(f"  build: {hn} {h['build_s']:.1f}s / LSHIndex {lsh['build_s']:.1f}s = "
                  f"{h['build_s'] / lsh['build_s']:.1f}x (target >= 20x); "
                  f"single query: {hn} is {h['single_qps'] / lsh['single_qps']:.1f}x LSHIndex")
    lip, bip = get("LSHIndex", "ip"), get("numpy brute [1t]", "ip")
    if lip and bip:
        print(f"  LSHIndex MIPS vs numpy brute force, single query: {lip['single_qps'] / bip['single_qps']:.1f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"data": data_desc, "k": k, "target_recall": args.target_recall, "results": results}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
