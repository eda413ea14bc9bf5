"""MovieLens-100K CTR: pretrained embeddings (FM -> FNN, GBDT -> LR) against their baselines.

A rating >= 4 is a click (55% of ratings). Fields: user id, item id, age (bucketed),
gender, occupation, genres (multi-valued), release year (bucketed); the trees use the raw
values plus label-free counts and taste-profile features (see
:func:`recembed.models.ctr.movielens_ctr`). Each seed draws a random 80/20 train/test
split; the torch models keep 10% of the training part for early stopping; LR, GBDT and
GBDT+LR train on the whole training part (GBDT+LR: trees on one half, LR on the other,
and the swapped pair averaged). AUC and log loss on the test part, mean ± std over seeds.

Run::

    python benchmarks/bench_ctr_ml100k.py --seeds 1 2 3 4 5 --threads 2
"""
from __future__ import annotations

import argparse
import json
import os
import time

# passive OpenMP waiting: spinning threads are 20-30x slower on a shared machine (set before torch loads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with u.data, u.user, u.item (default ../shared/data/ml-100k)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write per-seed results as JSON")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from recembed.datasets.movielens import load_movielens_100k
    from recembed.models.ctr import FM, FNN, GBDT, GBDTLR, LR, auc_logloss, movielens_ctr

    t_all = time.perf_counter()
    data = movielens_ctr(load_movielens_100k(args.data))
    print(f"MovieLens-100K CTR: {len(data)} samples, {data.n_features} one-hot features, "
          f"{data.y.mean():.3f} positive; seeds {args.seeds}", flush=True)
    names = ["LR", "FM", "FNN (random init)", "FNN (FM init, frozen)", "FNN (FM init, fine-tuned)", "GBDT", "GBDT+LR"]
    res = {n: [] for n in names}
    secs = {n: 0.0 for n in names}
    for seed in args.seeds:
        perm = np.random.default_rng(seed).permutation(len(data))
        n_train = int(0.8 * len(data))
        n_fit = int(0.9 * n_train)
        train, test = data.take(perm[:n_train]), data.take(perm[n_train:])
        fit, valid = data.take(perm[:n_fit]), data.take(perm[n_fit:n_train])

        def run(name, make):
            t = time.perf_counter()
            model = make()
            secs[name] += time.perf_counter() - t
            res[name].append(auc_logloss(test.y, model.predict_proba(test)))
            return model

        run("LR", lambda: LR().fit(train))
        fm = run("FM", lambda: FM(seed=seed).fit(fit, valid))
        run("FNN (random init)", lambda: FNN(seed=seed).fit(fit, valid))
        run("FNN (FM init, frozen)", lambda: FNN(init="fm", freeze=True, seed=seed).fit(fit, valid, fm=fm))
        run("FNN (FM init, fine-tuned)", lambda: FNN(init="fm", freeze=False, seed=seed).fit(fit, valid, fm=fm))
        run("GBDT", lambda: GBDT(seed=seed).fit(train))
        run("GBDT+LR", lambda: GBDTLR(seed=seed).fit(train))
        print(f"seed {seed}: " + ", ".join(f"{n} {res[n][-1]['AUC']:.4f}" for n in names), flush=True)

    print()
    print("| model | AUC | log loss | seconds per seed |\n|---|---|---|---|")
    for n in names:
        auc = np.array([r["AUC"] for r in res[n]])
        ll = np.array([r["LogLoss"] for r in res[n]])
        print(f"| {n} | {auc.mean():.4f} ± {auc.std():.4f} | {ll.mean():.4f} ± {ll.std():.4f} | "
              f"{secs[n] / len(args.seeds):.1f} |")
    lr_auc = np.array([r["AUC"] for r in res["LR"]])
    gl_auc = np.array([r["AUC"] for r in res["GBDT+LR"]])
    print(f"\nGBDT+LR beats LR on AUC in {int((gl_auc > lr_auc).sum())} of {len(lr_auc)} seeds "
          f"(mean gain {float((gl_auc - lr_auc).mean()):+.4f}); total {time.perf_counter() - t_all:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": res, "seeds": args.seeds}, fh, indent=1)


if __name__ == "__main__":
    main()
