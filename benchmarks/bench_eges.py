"""EGES vs GES vs BGE: the paper's offline evaluation, cold-start items, and training speed.

Run (about 2-4 minutes on 2 cores)::

    .venv/bin/python benchmarks/bench_eges.py                       # everything
    .venv/bin/python benchmarks/bench_eges.py --only lp --data shop  # one part

Protocols (seeds: edge split ``--split-seed`` 0, models ``--seed`` 1, walks from the model seed):

* **link prediction** (paper, section 4.1): build the item graph from the log (shop and
  Tianchi: sessions cut at one hour -- on Tianchi a session is one user's day; MovieLens:
  each user's ratings in time order), hold out 1/3 of its edges
  (:func:`recembed.evaluation.link_prediction.split_edges`, ``keep_connected=False`` as in
  the paper, so some items lose every edge and are embedded from side information), sample
  as many non-edges, train each model with its **default hyperparameters** on the residual
  graph, AUC of the cosine of the two items' vectors;
* **cold start**: 10% of the items that occur in the log are held out entirely (all their
  events removed before the graph is built); models train on the rest; AUC of the cosine
  between a cold item's side-info vector and the other end of each full-graph edge
  touching it, against as many (cold item, random graph item) non-edges. Baselines: the
  popularity (training-log event count) of the other end, and random;
* **speed**: EGES and :class:`recembed.word2vec.Word2Vec` on the same walks with the same
  dim/window/negative/epochs/threads; words/s ratio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from recembed.evaluation.link_prediction import roc_auc, split_edges
from recembed.graphs import build_item_graph
from recembed.models.eges import BGE, EGES, GES

MODELS = {"BGE": BGE, "GES": GES, "EGES": EGES}


def load(name):
    if name == "shop":
        from recembed.datasets import synthetic_shop

        log, items = synthetic_shop(seed=0)
        return log, items, 3600.0
    if name == "ml100k":
        from recembed.datasets.movielens import load_movielens_100k

        ml = load_movielens_100k()
        return ml.log[["user", "item", "timestamp"]], ml.items[["item", "genres", "year"]], None
    if name == "tianchi":
        from recembed.datasets.tianchi import load_tianchi

        tc = load_tianchi()
        return tc.log, tc.items, 3600.0
    raise SystemExit(f"unknown data set {name}")


def cosine(emb, pairs_keys):
    U = emb[list(pairs_keys[:, 0])]
    V = emb[list(pairs_keys[:, 1])]
    U = U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-12)
    V = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return np.sum(U * V, axis=1)


def link_prediction(name, threads, seed, split_seed):
    log, items, gap = load(name)
    g, _ = build_item_graph(log, session_gap=gap)
    split = split_edges(g, test_fraction=1 / 3, seed=split_seed, keep_connected=False)
    pos, neg = split.pairs("test_pos"), split.pairs("test_neg")
    res = {}
    for mname, cls in MODELS.items():
        t0 = time.perf_counter()
        m = cls(threads=threads, seed=seed).fit(split.residual, items=items)
        emb = m.embeddings_
        res[mname] = roc_auc(cosine(emb, pos), cosine(emb, neg))
        print(f"  {name:8s} {mname:5s} AUC {res[mname]:.4f}  ({time.perf_counter() - t0:.1f} s, "
              f"{m.n_cold_} items without residual edges embedded from side info)", flush=True)
    print(f"  {name}: graph {g.n_nodes:,} items / {g.n_edges:,} edges, test {len(pos):,} + {len(neg):,} pairs; "
          f"order EGES >= GES > BGE: {res['EGES'] >= res['GES'] > res['BGE']}", flush=True)
    return res


def cold_start(name, threads, seed, split_seed, methods=("regression", "attention", "mean")):
    log, items, gap = load(name)
    g, _ = build_item_graph(log, session_gap=gap)
    rng = np.random.default_rng(split_seed)
    logged = pd.unique(log["item"].astype(str))
    cold = set(rng.choice(logged, size=len(logged) // 10, replace=False).tolist())
    warm_log = log[~log["item"].astype(str).isin(cold)]
    # full-graph edges touching a cold item (each unordered pair once)
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    keys = g.vocab.keys.astype(str)
    a, b = keys[rows], keys[g.indices]
    is_cold = np.isin(keys, list(cold))
    touch = is_cold[rows] | is_cold[g.indices]
    a, b = a[touch], b[touch]
    # put the cold end first
    swap = ~np.isin(a, list(cold))
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    pairs = pd.DataFrame({"a": a, "b": b})
    pairs["k"] = [tuple(sorted(t)) for t in zip(pairs.a, pairs.b)]
    pairs = pairs.drop_duplicates("k")
    pos = pairs[["a", "b"]].to_numpy(dtype=object)
    edge_set = set(map(tuple, np.column_stack([keys[rows], keys[g.indices]]).tolist()))
    neg = []
    while len(neg) < len(pos):
        c = pos[len(neg), 0]
        x = keys[rng.integers(len(keys))]
        if x != c and (c, x) not in edge_set and (x, c) not in edge_set:
            neg.append((c, x))
    neg = np.asarray(neg, dtype=object)
    pop = warm_log["item"].astype(str).value_counts()
    pop_score = lambda p: pop.reindex(p[:, 1]).fillna(0).to_numpy() + 1e-6 * rng.random(len(p))
    res = {"popularity": roc_auc(pop_score(pos), pop_score(neg))}
    print(f"  {name}: {len(cold):,} cold items, {len(pos):,} edges touching them; "
          f"popularity baseline AUC {res['popularity']:.4f}", flush=True)
    for mname in ("GES", "EGES"):
        m = MODELS[mname](threads=threads, seed=seed, session_gap=gap).fit(warm_log, items=items)
        for method in methods:
            m.set_params(cold_start=method)
            m._fit_cold_start(m.side_info_.encode(_warm_table(m, items)))
            emb = m._all_embeddings(items, m.side_info_.item_col)
            res[f"{mname}/{method}"] = roc_auc(cosine(emb, pos), cosine(emb, neg))
            print(f"  {name:8s} {mname:5s} cold_start={method:10s} AUC {res[f'{mname}/{method}']:.4f}", flush=True)
    return res


def _warm_table(m, items):
    """The item table rows of the model's warm items, in its order (unknown where absent)."""
    col = m.side_info_.item_col
    t = items.set_index(items[col].astype(str)).reindex(m.items_.keys.astype(str))
    t[col] = m.items_.keys.astype(str)
    return t.reset_index(drop=True)


def speed(threads, seed):
    from recembed.walks import random_walks
    from recembed.word2vec import Word2Vec

    log, items, gap = load("shop")
    g, _ = build_item_graph(log, session_gap=gap)
    e = EGES(threads=threads, seed=seed)
    walks = random_walks(g, walks_per_node=e.walks_per_node, walk_length=e.walk_length, seed=seed)
    # warm up both JITs on a small run first
    EGES(threads=1, epochs=1).fit_walks(walks, items)
    Word2Vec(dim=e.dim, window=e.window, negative=e.negative, sample=0, epochs=1, threads=1).fit(walks)
    rates = {}
    for rep in range(2):
        w = Word2Vec(dim=e.dim, window=e.window, negative=e.negative, sample=0, epochs=e.epochs, threads=threads,
                     seed=seed, alpha=e.alpha, progress=False).fit(walks)
        m = EGES(threads=threads, seed=seed).fit_walks(walks, items)
        rates.setdefault("word2vec", []).append(w.words_per_second_)
        rates.setdefault("eges", []).append(m.words_per_second_)
    w2v, eg = max(rates["word2vec"]), max(rates["eges"])
    print(f"  walks: {walks.n_tokens:,} tokens x {e.epochs} epochs, {threads} threads; Word2Vec {w2v / 1e3:.0f}k "
          f"words/s, EGES {eg / 1e3:.0f}k words/s, ratio {eg / w2v:.2f} (target >= 0.33)", flush=True)
    return eg / w2v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["lp", "cold", "speed"], action="append")
    ap.add_argument("--data", choices=["shop", "ml100k", "tianchi"], action="append")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1,
                    help="link prediction: also run split seeds split-seed+1.. with model seeds seed+1.. and "
                         "print mean, standard deviation and how often the order held")
    args = ap.parse_args(argv)
    parts = args.only or ["lp", "cold", "speed"]
    data = args.data or ["shop", "ml100k", "tianchi"]
    if "lp" in parts:
        print("link prediction (1/3 of edges held out, cosine AUC)")
        for d in data:
            runs = [link_prediction(d, args.threads, args.seed + r, args.split_seed + r) for r in range(args.repeats)]
            if args.repeats > 1:
                summary = ", ".join(f"{m} {np.mean([r[m] for r in runs]):.4f} +- {np.std([r[m] for r in runs]):.4f}"
                                    for m in MODELS)
                held = sum(r["EGES"] >= r["GES"] > r["BGE"] for r in runs)
                ges_bge = sum(r["GES"] > r["BGE"] for r in runs)
                print(f"  {d}: {args.repeats} splits: {summary}; EGES >= GES > BGE in {held}/{args.repeats}, "
                      f"GES > BGE in {ges_bge}/{args.repeats}", flush=True)
    if "cold" in parts:
        print("cold start (10% of items held out of the log)")
        for d in data:
            cold_start(d, args.threads, args.seed, args.split_seed)
    if "speed" in parts:
        print("speed (same walks)")
        speed(args.threads, args.seed)


if __name__ == "__main__":
    main()
