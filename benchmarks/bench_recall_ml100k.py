"""MovieLens-100K leave-last-out recall: popularity, Item2Vec, YouTubeDNN, TwoTower.

Each user's last rating (timestamp, ties by file order) is held out; every model ranks
the full catalogue (1,682 movies) with the user's training movies excluded. YouTubeDNN
and TwoTower run with their **default** hyperparameters (user features age, gender,
occupation; item features genres, year), as ``recembed train`` does.

``--new-users F`` instead trains both torch models on the other users only (all their
events) and scores the held-out fraction ``F`` of users, whom the models never saw: their
vectors come from ``transform`` (the saved model run on their histories before the held-out
rating, with their features), against popularity over the same users.

Run::

    python benchmarks/bench_recall_ml100k.py --threads 2 --seed 1
    python benchmarks/bench_recall_ml100k.py --threads 2 --seed 1 --new-users 0.2
    python benchmarks/bench_recall_ml100k.py --new-users 0.2 --youtubednn '{"example_age": false}'

The data is read from ``../shared/data/ml-100k`` (or ``--data``); it is never bundled.
"""
from __future__ import annotations

import argparse
import json
import os
import time

# passive OpenMP waiting: spinning threads are 20-30x slower on a shared machine (set before torch loads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with u.data, u.user, u.item (default ../shared/data/ml-100k)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the results as JSON")
    ap.add_argument("--new-users", type=float, help="score this fraction of users, unseen in training")
    ap.add_argument("--youtubednn", type=json.loads, default={},
                    help='extra YouTubeDNN hyperparameters as JSON, e.g. \'{"example_age": false}\'')
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from recembed.datasets.movielens import load_movielens_100k
    from recembed.evaluation.recall import LeaveLastOut, format_table
    from recembed.models.two_tower import TwoTower
    from recembed.models.youtube_dnn import YouTubeDNN

    t_all = time.perf_counter()
    ml = load_movielens_100k(args.data)
    ev = LeaveLastOut(ml.log)
    users = ml.users[["user", "age", "gender", "occupation"]]
    items = ml.items[["item", "genres", "year"]]
    print(f"MovieLens-100K: {len(ml.log)} ratings, {ev.n_users} users, {ev.n_items} items; "
          f"{len(ev.test_items)} held out; seed {args.seed}, {args.threads} threads", flush=True)
    rows, timing = {}, {}
    if args.new_users:
        return _new_users(ml, users, items, args)

    t = time.perf_counter()
    rows["Popularity"] = ev.popularity()
    timing["Popularity"] = time.perf_counter() - t

    try:
        from recembed.word2vec import Item2Vec
    except ImportError:
        Item2Vec = None
        print("Item2Vec not available: row skipped")
    if Item2Vec is not None:
        t = time.perf_counter()
        # one sequence per user (no session cut: ratings are not browsing sessions)
        i2v = Item2Vec(dim=64, seed=args.seed, threads=args.threads, session_gap=None)
        i2v.fit(ev.train.to_frame())
        rows["Item2Vec (i2i, last 5)"] = ev.item_to_item(i2v.embeddings_, last_n=5)
        timing["Item2Vec (i2i, last 5)"] = time.perf_counter() - t

    for name, cls in (("YouTubeDNN", YouTubeDNN), ("TwoTower", TwoTower)):
        t = time.perf_counter()
        extra = args.youtubednn if cls is YouTubeDNN else {}
        m = cls(seed=args.seed, threads=args.threads, verbose=True, **extra).fit(ev.events, users=users, items=items,
                                                                                   holdout="last")
        rows[name] = ev.evaluate_embeddings(m.user_vectors(), m.item_vectors())
        timing[name] = time.perf_counter() - t
        per_epoch = [h["seconds"] for h in m.history_]
        print(f"{name}: {len(per_epoch)} epochs, {sum(per_epoch) / len(per_epoch):.1f} s per epoch", flush=True)

    print()
    print(format_table(rows, extra=("NDCG@10", "NDCG@50")))
    print()
    print("| model | seconds |\n|---|---|\n" + "\n".join(f"| {k} | {v:.1f} |" for k, v in timing.items()))
    pop = rows["Popularity"]["HR@50"]
    for name in ("YouTubeDNN", "TwoTower"):
        ratio = rows[name]["HR@50"] / pop
        beats = all(rows[name]["HR@50"] > r["HR@50"] for k, r in rows.items() if k.startswith("Item2Vec"))
        print(f"{name}: HR@50 = {ratio:.2f} x popularity; above Item2Vec: {beats}")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": rows, "seconds": timing, "seed": args.seed, "threads": args.threads}, fh, indent=1)


def _new_users(ml, users, items, args):
    """Train on (1 - F) of the users, embed the other F with ``transform``, leave-last-out on them."""
    import tempfile

    import numpy as np

    from recembed.evaluation.recall import LeaveLastOut, format_table
    from recembed.models.two_tower import TwoTower
    from recembed.models.youtube_dnn import YouTubeDNN

    ids = np.sort(ml.log["user"].unique())
    new = set(np.random.default_rng(args.seed).choice(ids, int(round(args.new_users * len(ids))), replace=False))
    is_new = ml.log["user"].isin(new).to_numpy()
    ev = LeaveLastOut(ml.log[is_new])
    history = ev.train.to_frame()
    print(f"{len(new)} new users ({is_new.sum()} ratings), models trained on {len(ids) - len(new)} others", flush=True)
    rows = {"Popularity (new users' own training ratings)": ev.popularity()}
    for name, cls in (("YouTubeDNN", YouTubeDNN), ("TwoTower", TwoTower)):
        t = time.perf_counter()
        extra = args.youtubednn if cls is YouTubeDNN else {}
        m = cls(seed=args.seed, threads=args.threads, **extra).fit(ml.log[~is_new], users=users, items=items,
                                                                   holdout=None)
        with tempfile.TemporaryDirectory() as tmp:   # served as a deployment would: from the saved file
            m.save(f"{tmp}/m.npz")
            m = cls.load(f"{tmp}/m.npz")
        rows[f"{name}, transform"] = ev.evaluate_embeddings(m.transform(history, users=users), m.item_vectors())
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    print()
    print(format_table(rows, extra=("NDCG@10", "NDCG@50")))
    pop = rows["Popularity (new users' own training ratings)"]["HR@50"]
    for name in ("YouTubeDNN", "TwoTower"):
        print(f"{name}: HR@50 on unseen users = {rows[name + ', transform']['HR@50'] / pop:.2f} x popularity")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"new_users": rows, "seed": args.seed, "fraction": args.new_users}, fh, indent=1)


if __name__ == "__main__":
    main()
