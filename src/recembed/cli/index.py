"""``recembed index build|query|tune``: nearest-neighbour indexes from embeddings files.

Examples::

    recembed index build --items items.emb --out items.lsh.npz --type lsh --metric cosine --tune
    recembed index query --index items.lsh.npz --key item42 -k 10
    recembed index query --index items.lsh.npz --vectors queries.npy -k 10
    recembed index tune  --items items.emb --metric ip --target-recall 0.9 --sample 500
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .._io import InputError, check_readable


def _pos_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer > 0, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be an integer > 0, got {text!r}")
    return v


def _recall(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return v


def _add_lsh_args(p):
    g = p.add_argument_group("LSH parameters (default: chosen by the index or by --tune)")
    g.add_argument("--n-tables", type=_pos_int)
    g.add_argument("--n-bits", type=_pos_int)
    g.add_argument("--n-probes", type=_pos_int)
    g.add_argument("--seed", type=int, default=0)


def _add_tune_args(p):
    p.add_argument("--target-recall", type=_recall, default=0.9, help="recall@k to reach (default 0.9)")
    p.add_argument("-k", "--k", type=_pos_int, default=10, help="k for recall@k (default 10)")
    p.add_argument("--sample", type=_pos_int, default=500, help="sampled items used as queries (default 500)")
    p.add_argument("--max-time", type=float, default=120.0, help="seconds of tuning at most (default 120)")


def register(subparsers):
    p = subparsers.add_parser("index", help="build, query and tune nearest-neighbour indexes",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="index_command", metavar="ACTION")
    sub.required = True

    b = sub.add_parser("build", help="build an index file from embeddings (.emb/.txt/.bin/.npz)")
    b.add_argument("--items", required=True, help="embeddings file")
    b.add_argument("--out", required=True, help="index file to write (.npz)")
    b.add_argument("--type", choices=["exact", "lsh", "hnsw", "faiss"], default="lsh")
    b.add_argument("--metric", choices=["cosine", "ip", "l2"], default="cosine")
    _add_lsh_args(b)
    b.add_argument("--tune", action="store_true", help="LSH: tune parameters on sampled items first")
    _add_tune_args(b)
    b.set_defaults(handler=_build)

    q = sub.add_parser("query", help="nearest keys of a stored key or of vectors from a file")
    q.add_argument("--index", required=True, help="index file written by 'index build'")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument("--key", action="append", help="a stored key (repeatable); the key itself is left out")
    src.add_argument("--vectors", help="query vectors: .npy matrix, or an embeddings file (keys are echoed)")
    q.add_argument("-k", "--k", type=_pos_int, default=10)
    q.add_argument("--json", action="store_true", help="one JSON object per query instead of text")
    q.set_defaults(handler=_query)

    t = sub.add_parser("tune", help="measure LSH recall/speed on sampled items and print the curve")
    t.add_argument("--items", required=True, help="embeddings file")
    t.add_argument("--metric", choices=["cosine", "ip", "l2"], default="cosine")
    t.add_argument("--out", help="also write the tuned index here")
    t.add_argument("--seed", type=int, default=0)
    _add_tune_args(t)
    t.set_defaults(handler=_tune)


def _load_items(path):
    from ..embeddings import Embeddings

    return Embeddings.load(path)


def _sample(items, n, seed):
    rng = np.random.default_rng(seed)
    return items.vectors[rng.choice(len(items), size=min(n, len(items)), replace=False)]


def _print_curve(report):
    cols = ["n_bits", "n_tables", "n_probes", "recall", "qps", "ms_per_query", "candidates", "chosen"]
    print("  ".join(f"{c:>12}" for c in cols))
    for r in report:
        print("  ".join(f"{str(r[c]):>12}" for c in cols))


def _build(args):
    from ..index import make_index

    items = _load_items(args.items)
    params = {}
    if args.type == "lsh":
        params = {k: getattr(args, k) for k in ("n_tables", "n_bits", "n_probes") if getattr(args, k)}
        params["seed"] = args.seed
    t0 = time.perf_counter()
    idx = make_index(args.type, metric=args.metric, **params).add(items.keys, items.vectors)
    if args.tune:
        if args.type != "lsh":
            raise InputError("--tune applies to --type lsh only")
        report = idx.tune(_sample(items, args.sample, args.seed), k=args.k, target_recall=args.target_recall,
                          max_time=args.max_time)
        _print_curve(report)
    idx.build()
    idx.save(args.out)
    print(f"built {args.type} index of {len(idx)} vectors (dim {idx.dim}, {args.metric}) in "
          f"{time.perf_counter() - t0:.2f}s -> {args.out}")
    return 0


def _query(args):
    from ..index import load_index

    idx = load_index(args.index)
    if args.key:
        names, results = args.key, [idx.query_key(k, k=args.k) for k in args.key]
    else:
        p = check_readable(args.vectors)
        if p.suffix == ".npy":
            Q = np.load(p, allow_pickle=False)
            Q = Q[None, :] if Q.ndim == 1 else Q
            names = [str(i) for i in range(len(Q))]
        else:
            emb = _load_items(p)
            Q, names = emb.vectors, emb.keys.tolist()
        keys, scores = idx.query(Q, k=args.k)
        results = list(zip(keys, scores))
    for name, (keys, scores) in zip(names, results):
        if args.json:
            print(json.dumps({"query": str(name), "keys": [str(k) for k in keys.tolist()],
                              "scores": [round(float(s), 6) for s in scores]}))
        else:
            print(f"{name}\t" + " ".join(f"{k}:{s:.4f}" for k, s in zip(keys.tolist(), scores.tolist())))
    return 0


def _tune(args):
    from ..index import LSHIndex

    items = _load_items(args.items)
    idx = LSHIndex(args.metric, seed=args.seed).add(items.keys, items.vectors)
    report = idx.tune(_sample(items, args.sample, args.seed), k=args.k, target_recall=args.target_recall,
                      max_time=args.max_time)
    _print_curve(report)
    best = [r for r in report if r["chosen"]][0]
    print(f"chosen: n_bits={best['n_bits']} n_tables={best['n_tables']} n_probes={best['n_probes']} "
          f"recall@{args.k}={best['recall']} ({best['ms_per_query']} ms/query batched)", file=sys.stderr)
    if args.out:
        idx.save(args.out)
    return 0
