"""``recembed demo``: Item2Vec on the built-in synthetic shop, end to end, in seconds.

Generates the shop (:func:`recembed.datasets.synthetic_shop`), cuts its log into
sessions, trains Item2Vec, prints a few items' nearest neighbours with their side
information, and scores the embeddings: how often an item's top-10 neighbours share its
category, against the rate a random neighbour would. The generator knows the categories
but the model never sees them, so a rate far above chance means the vectors learned the
shop's structure from behaviour alone. Exit code 1 if they did not.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from .embed import nonnegative_int, positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="train Item2Vec on the built-in synthetic shop and show neighbours",
        description="Generate the seeded synthetic shop log, train Item2Vec on its sessions, print five "
                    "items' nearest neighbours with category/brand, and the same-category rate of every "
                    "item's top-10 neighbours against chance. Exits 1 if the rate is not well above chance.")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the shop and the model (default: 0)")
    p.add_argument("--n-users", type=positive_int, default=2000, metavar="N", help="users (default: 2000)")
    p.add_argument("--n-items", type=positive_int, default=1000, metavar="N", help="items (default: 1000)")
    p.add_argument("--n-categories", type=positive_int, default=20, metavar="N", help="categories (default: 20)")
    p.add_argument("--dim", type=positive_int, default=32, metavar="N", help="vector size (default: 32)")
    p.add_argument("--epochs", type=positive_int, default=10, metavar="N", help="training passes (default: 10)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="training threads (default: 1, which makes the output identical on every run)")
    p.add_argument("--output", "-o", default=None, metavar="PATH",
                   help="also write the item vectors here (.txt/.emb/.vec, .bin or .npz)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..data import Corpus
    from ..datasets import synthetic_shop
    from ..word2vec import Item2Vec
    from .embed import output_format

    out = sys.stdout
    fmt = None if args.output is None else output_format(args.output)
    log, items = synthetic_shop(n_users=args.n_users, n_items=args.n_items, n_categories=args.n_categories,
                                seed=args.seed)
    corpus = Corpus.from_log(log, session_gap=3600.0, dedup=True)
    print(f"Synthetic shop (seed {args.seed}): {args.n_users:,} users, {args.n_items:,} items in "
          f"{args.n_categories} categories; {len(log):,} events -> {len(corpus):,} sessions "
          f"(1 h gap, consecutive repeats dropped), {corpus.n_tokens:,} tokens", file=out)

    model = Item2Vec(dim=args.dim, epochs=args.epochs, threads=args.threads, seed=args.seed + 1, progress=False)
    t0 = time.perf_counter()
    model.fit(corpus)
    seconds = time.perf_counter() - t0
    emb = model.embeddings_
    print(f"Item2Vec (skip-gram, sessions as baskets, dim {model.dim}, window {model.window}, {model.epochs} epochs, "
          f"{model.negative} negatives): {len(emb):,} item vectors in {seconds:.1f} s", file=out)
    if args.output is not None:
        emb.save(args.output, format=fmt)
        print(f"wrote {args.output}", file=out)

    info = items.assign(key=items["item"].astype(str)).set_index("key")
    cat = info["category"].reindex(emb.keys).to_numpy()
    brand = info["brand"].reindex(emb.keys).to_numpy()

    rng = np.random.default_rng(args.seed)
    counts = corpus.vocab.counts[[corpus.vocab[k] for k in emb.keys.tolist()]]
    # five items from five different categories, among those seen often enough to judge
    candidates = rng.permutation(np.flatnonzero(counts >= 10))
    shown, seen_cats = [], set()
    for i in candidates:
        if cat[i] not in seen_cats:
            shown.append(i)
            seen_cats.add(cat[i])
        if len(shown) == 5:
            break
    print("\nNearest neighbours by cosine (* = same category as the query):", file=out)
    for i in shown:
        key = emb.keys[i]
        print(f"  item {key:>5}  category {cat[i]:>2}  brand {brand[i]:>3}  (seen {counts[i]} times)", file=out)
        for rank, (nk, score) in enumerate(emb.most_similar(key, k=5), 1):
            j = emb.index_of(nk)
            mark = "*" if cat[j] == cat[i] else " "
            print(f"     {rank}. {mark} item {nk:>5}  category {cat[j]:>2}  brand {brand[j]:>3}  {score:.3f}",
                  file=out)

    rate, chance, brand_rate, brand_chance = same_group_rates(emb.unit_vectors, cat, brand, k=10)
    print(f"\nTop-10 neighbours sharing the query's category, over all {len(emb):,} items: "
          f"{rate:.1%} (chance {chance:.1%}, {rate / chance:.1f}x)", file=out)
    print(f"Top-10 neighbours sharing the query's brand: {brand_rate:.1%} (chance {brand_chance:.1%})", file=out)
    if rate < 3 * chance:
        print("recembed demo: the embeddings did not learn the categories (rate < 3x chance)", file=sys.stderr)
        return 1
    return 0


def same_group_rates(unit: np.ndarray, cat: np.ndarray, brand: np.ndarray, k: int = 10):
    """Share of each item's ``k`` nearest neighbours in its own category/brand, and the chance rates.

    Chance is the share a uniformly random other item would have: the mean over items of
    ``(size of its group - 1) / (n - 1)``.

    Examples
    --------
    >>> unit = np.eye(4, dtype=np.float32)[[0, 0, 1, 1]]
    >>> same_group_rates(unit, np.array([1, 1, 2, 2]), np.array([1, 2, 3, 4]), k=1)
    (1.0, 0.3333333333333333, 0.0, 0.0)
    """
    n = len(unit)
    k = min(k, n - 1)
    top = np.empty((n, k), dtype=np.int64)
    for lo in range(0, n, 1024):  # blocks of rows: never an n x n matrix
        sims = unit[lo:lo + 1024] @ unit.T
        sims[np.arange(len(sims)), np.arange(lo, lo + len(sims))] = -np.inf
        top[lo:lo + len(sims)] = np.argpartition(-sims, k - 1, axis=1)[:, :k]

    def rates(groups):
        hit = float((groups[top] == groups[:, None]).mean())
        _, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
        return hit, float(((sizes[inverse] - 1) / (n - 1)).mean())

    return (*rates(cat), *rates(brand))
