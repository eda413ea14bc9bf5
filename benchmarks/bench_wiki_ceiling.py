"""How high can DeepWalk and Node2Vec score on wiki? The matrices they factorise, factorised exactly.

Skip-gram with negative sampling on random walks factorises, in expectation, a shifted PMI matrix
of the walks' windowed co-occurrences (Levy & Goldberg 2014; for DeepWalk in closed form, NetMF,
Qiu et al. 2018)::

    M = log(max(vol(G) / (b T) * (sum_{r=1..T} P^r) D^-1, 1)),   P = D^-1 A,

with ``T`` the window and ``b`` the negatives. Its truncated SVD ``U_d S_d^power`` (NetMF: power
0.5) embeds that matrix in ``d`` dimensions with no sampling or SGD noise: a reference point for
the DeepWalk family, not a bound (the split of the singular values is a free choice, a rank-d SVD
is not SGNS's rank-d optimum, and hierarchical softmax has no closed form). Scored by the same
protocol as ``bench_quality_graph.py`` (80 % labelled, 10 splits, one-vs-rest liblinear, ``C=1``),
it shows where the family stands on wiki at each dimension, against issue 3's targets (Micro-F1
DeepWalk >= 0.73, Node2Vec >= 0.74).

What it runs, on ``load_wiki(directed=False, count_repeats=True)`` (the benchmark's reading):

* ``netmf``: the exact DeepWalk matrix (``T=10, b=1``) at ``--dims``;
* ``node2vec``: Node2Vec's matrix *sampled*: our walks (``--walks``, p and q over ``--grid``),
  co-occurrences within a window of 10 weighted as word2vec's shrinking window weights them
  (distance ``k`` counts ``(11 - k) / 10``), then the same truncated PMI and SVD; the row
  ``p=1, q=1`` is DeepWalk's matrix sampled, a check on the exact one;
* ``sgd``: our DeepWalk, or Node2Vec p = q = 0.25 with ``--sgd-model node2vec``
  (``WIKI_SETTINGS`` of ``bench_quality_graph.py``, ``--threads``) at ``--dims``, the trained
  counterpart of the first rows;
* ``classifier`` (with ``--emb FILE``): whether the scorer holds a file's figure down: our protocol
  at ``C`` of 0.3-100, on raw and on unit-length vectors, and GraphEmbedding's scorer (its
  ``np.random.seed(s)`` permutation of the label file, first 80 % to train, lbfgs one-vs-rest,
  top-k) for ``s`` = 0-9.

Run (about 4 minutes for the first two, plus about a minute per 128 dimensions of ``sgd``)::

    .venv/bin/python benchmarks/bench_wiki_ceiling.py
    .venv/bin/python benchmarks/bench_wiki_ceiling.py --parts netmf,sgd --dims 128,512 --seeds 1,2,3
    .venv/bin/python benchmarks/bench_wiki_ceiling.py --parts classifier --emb wk.emb

Dense ``n x n`` matrices: for graphs of a few thousand nodes only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from bench_quality_graph import WIKI_SETTINGS  # noqa: E402

WINDOW = 10
TARGETS = {"DeepWalk": 0.73, "Node2Vec": 0.74}


def deepwalk_matrix(adjacency: np.ndarray, window: int = WINDOW, negative: float = 1.0,
                    shrink: bool = False) -> np.ndarray:
    """NetMF's closed form of the matrix DeepWalk's skip-gram factorises (dense, float64).

    ``shrink``: weight distance ``r`` by ``(window - r + 1) / window`` as word2vec's shrinking
    window does in expectation (NetMF weighs the distances alike).
    """
    degree = adjacency.sum(1)
    degree[degree == 0] = 1.0
    transition = adjacency / degree[:, None]
    power, total = np.eye(len(adjacency)), np.zeros_like(adjacency)
    weights = [(window - r + 1) / window if shrink else 1.0 for r in range(1, window + 1)]
    for w in weights:
        power = power @ transition
        total += w * power
    shifted = adjacency.sum() / (negative * sum(weights)) * total / degree[None, :]
    return np.log(np.maximum(shifted, 1.0))


def walk_matrix(corpus, order: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Truncated PMI of a walk corpus's co-occurrences, word2vec's shrinking-window weights."""
    n = len(order)
    tokens = order[corpus.tokens].astype(np.int64)
    walk = np.repeat(np.arange(len(corpus)), np.diff(corpus.offsets))
    counts = np.zeros(n * n)
    for k in range(1, window + 1):
        same = walk[k:] == walk[:-k]
        a, b = tokens[:-k][same], tokens[k:][same]
        weight = (window - k + 1) / window
        counts += weight * (np.bincount(a * n + b, minlength=n * n) + np.bincount(b * n + a, minlength=n * n))
    counts = counts.reshape(n, n)
    rows = counts.sum(1)
    rows[rows == 0] = 1.0
    return np.log(np.maximum(counts * counts.sum() / np.outer(rows, rows), 1.0))


def svd_embeddings(matrix: np.ndarray, dims, power: float = 0.5) -> dict:
    """``U_d S_d^power`` per ``d``: skip-gram fixes only the product of node and context vectors,
    so how the singular values are split between the two is a choice (NetMF: ``power=0.5``)."""
    u, s, _ = np.linalg.svd(matrix)
    return {d: (u[:, :d] * s[:d] ** power).astype(np.float32) for d in dims}


def graphembedding_scores(vectors_of, label_file, seeds=range(10), train_ratio=0.8):
    """Micro-F1 per seed by GraphEmbedding's ``Classifier.split_train_evaluate`` protocol."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    nodes, labels = [], []
    with open(label_file) as fh:
        for line in fh:
            fields = line.strip().split(" ")
            nodes.append(fields[0])
            labels.append(fields[1:])
    X = np.stack([vectors_of(v) for v in nodes])
    Y = MultiLabelBinarizer().fit_transform(labels)
    n_train = int(train_ratio * len(X))
    out = []
    for seed in seeds:
        order = np.random.RandomState(seed).permutation(len(X))
        train, test = order[:n_train], order[n_train:]
        probs = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(X[train], Y[train]).predict_proba(X[test])
        pred = np.zeros_like(Y[test])
        for i, k in enumerate(Y[test].sum(1)):
            pred[i, np.argsort(probs[i])[-k:]] = 1
        out.append(f1_score(Y[test], pred, average="micro", zero_division=0))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="netmf,node2vec", help="netmf, node2vec, sgd (comma separated)")
    ap.add_argument("--dims", default="128,256,512,768")
    ap.add_argument("--grid", default="0.25,1,4", help="values of p and of q for the node2vec part")
    ap.add_argument("--walks", default="160x20", help="walks per node x length, node2vec part")
    ap.add_argument("--seeds", default="1", help="walk / training seeds (node2vec and sgd parts)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--emb", help="embeddings file for the classifier part")
    ap.add_argument("--powers", default="0.5", help="singular-value exponents of the SVD embeddings")
    ap.add_argument("--shrink", action="store_true", help="netmf: word2vec's shrinking-window weights")
    ap.add_argument("--sgd-model", choices=["deepwalk", "node2vec"], default="deepwalk")
    ap.add_argument("--threads", type=int, default=1, help="sgd part: training threads")
    ap.add_argument("--graphembedding-scorer", action="store_true",
                    help="also print GraphEmbedding's scorer (seeds 0-9 mean) for every row")
    args = ap.parse_args(argv)

    from recembed.datasets.public import data_dir, load_wiki
    from recembed.embeddings import Embeddings
    from recembed.evaluation import node_classification
    from recembed.walks.engine import random_walks

    parts = set(args.parts.split(","))
    dims = [int(d) for d in args.dims.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    wiki = load_wiki(directed=False, count_repeats=True)
    graph = wiki.graph
    keys = list(graph.keys)
    powers = [float(x) for x in args.powers.split(",")]
    label_file = data_dir("wiki") / "wiki_labels.txt"
    rows = []

    def score(what, method, dim, vectors):
        emb = Embeddings(keys, vectors)
        r = node_classification(emb, wiki.labels, train_ratio=0.8, repeats=args.repeats)
        rows.append((what, dim, np.mean(r.micro_f1), np.std(r.micro_f1), np.mean(r.macro_f1), method))
        ge = f"  GraphEmbedding's scorer {np.mean(graphembedding_scores(emb.__getitem__, label_file)):.4f}" \
            if args.graphembedding_scorer else ""
        print(f"{what:<38} dim {dim:>4}  Micro-F1 {rows[-1][2]:.4f} ± {rows[-1][3]:.4f}  "
              f"Macro-F1 {rows[-1][4]:.4f}{ge}", flush=True)

    if "netmf" in parts:
        adjacency = graph.to_scipy().astype(np.float64).toarray()
        matrix = deepwalk_matrix(adjacency, shrink=args.shrink)
        for power in powers:
            for dim, vectors in svd_embeddings(matrix, dims, power).items():
                score(f"DeepWalk matrix, exact, U S^{power:g}", "DeepWalk", dim, vectors)
    if "node2vec" in parts:
        per_node, length = (int(x) for x in args.walks.split("x"))
        grid = [float(x) for x in args.grid.split(",")]
        position = {k: i for i, k in enumerate(keys)}
        for p in grid:
            for q in grid:
                for seed in seeds:
                    corpus = random_walks(graph, per_node, length, p=p, q=q, seed=seed, threads=1)
                    order = np.array([position[k] for k in corpus.vocab.keys])
                    for dim, vectors in svd_embeddings(walk_matrix(corpus, order), dims, powers[0]).items():
                        score(f"Node2Vec matrix, sampled p={p:g} q={q:g} s{seed}", "Node2Vec", dim, vectors)
    if "sgd" in parts:
        from recembed.models.deepwalk import DeepWalk
        from recembed.models.node2vec import Node2Vec

        settings = {k: v for k, v in WIKI_SETTINGS.items() if k != "count_repeats"}
        method, make = ("Node2Vec", lambda **kw: Node2Vec(p=0.25, q=0.25, **kw)) \
            if args.sgd_model == "node2vec" else ("DeepWalk", DeepWalk)
        for dim in dims:
            for seed in seeds:
                t0 = time.perf_counter()
                model = make(dim=dim, threads=args.threads, seed=seed, **settings).fit(graph)
                score(f"{method} trained, seed {seed} ({time.perf_counter() - t0:.0f} s)", method, dim,
                      model.embeddings_.vectors)

    if "classifier" in parts:
        if not args.emb:
            ap.error("the classifier part needs --emb FILE")
        emb = Embeddings.load(args.emb)
        unit = Embeddings(emb.keys, emb.unit_vectors)
        for name, vectors in (("raw", emb), ("unit-length", unit)):
            for C in (0.3, 1, 3, 10, 100):
                r = node_classification(vectors, wiki.labels, train_ratio=0.8, repeats=args.repeats, C=C)
                print(f"ours, {name} vectors, C={C:<4g}  Micro-F1 {np.mean(r.micro_f1):.4f}  "
                      f"Macro-F1 {np.mean(r.macro_f1):.4f}", flush=True)
        ge = graphembedding_scores(emb.__getitem__, label_file)
        print(f"GraphEmbedding's scorer: seed-0 split {ge[0]:.4f}, seeds 0-9 mean {np.mean(ge):.4f} "
              f"(min {min(ge):.4f}, max {max(ge):.4f})")

    if rows:
        print("\n| rows | dim | best Micro-F1 | mean Micro-F1 | target |\n|---|---|---|---|---|")
    for what in dict.fromkeys(r[0].split(",")[0] for r in rows):
        for dim in dims:
            sel = [r for r in rows if r[0].startswith(what) and r[1] == dim]
            if sel:
                best = max(r[2] for r in sel)
                print(f"| {what} ({len(sel)}) | {dim} | {best:.4f} | {np.mean([r[2] for r in sel]):.4f} | "
                      f">= {TARGETS[sel[0][5]]} {'met' if best >= TARGETS[sel[0][5]] else 'not met'} |")


if __name__ == "__main__":
    main()
