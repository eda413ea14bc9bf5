"""``recembed train youtubednn|twotower`` and ``recembed evaluate recall``.

Train a recall model on a behaviour log (``user,item,timestamp[,rating]``) with optional
user/item feature tables, and write user and item vectors whose inner product is the
model's score::

    recembed train youtubednn --log log.csv --users users.csv --items items.csv --holdout last \\
        --output-users U.emb --output-items I.emb --threads 2 --seed 1
    recembed evaluate recall --log log.csv --users-emb U.emb --items-emb I.emb
    recembed user-vectors --model M.npz --log new.csv --users users.csv --output U2.emb

With ``--holdout last`` each user's last event (timestamp, then file order) is left out
of training and each user vector is built from the history before it, which is exactly
what ``evaluate recall`` holds out. Options not given keep the model's defaults.
``user-vectors`` runs a model saved with ``--model-out`` on the histories of another log
(new users, or known users after more events: the log holds their recent events), without
training.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .._io import InputError, atomic_write

_S = argparse.SUPPRESS

# OpenMP threads that spin while waiting make small torch models 20-30x slower on a busy
# machine (measured: 2 threads, load 13 on 2 cores); passive waiting costs nothing when idle.
# Must be set before torch is imported, which this module does lazily.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _positive(kind):
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return v
    return parse


def _nonneg_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return v


def _widths(text):
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}") from None
    if any(w <= 0 for w in out):
        raise argparse.ArgumentTypeError(f"widths must be > 0, got {text!r}")
    return out


_MODELS = {"youtubednn": ("recembed.models.youtube_dnn", "YouTubeDNN",
                          "YouTube DNN: user tower + sampled softmax with logQ correction"),
           "twotower": ("recembed.models.two_tower", "TwoTower",
                        "two-tower model: in-batch softmax with streaming logQ correction")}


def _model_class(name):
    import importlib

    mod, cls, _ = _MODELS[name]
    return getattr(importlib.import_module(mod), cls)


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a recall model (YouTubeDNN, TwoTower) on a behaviour log",
                              description="Train a recall model and write user and item vectors "
                                          "(score = inner product).")
    sub = p.add_subparsers(dest="model", metavar="MODEL")
    sub.required = True
    for name, (_, _, help_) in _MODELS.items():
        m = sub.add_parser(name, help=help_, description=help_)
        m.add_argument("--log", required=True, help="CSV user,item,timestamp[,rating] (or TSV/Parquet)")
        m.add_argument("--users", help="CSV user,<features...> (';' separates values of a multi-valued cell)")
        m.add_argument("--items", help="CSV item,<features...>")
        m.add_argument("--holdout", choices=["last", "none"], default="last",
                       help="leave each user's last event out of training (default: last)")
        m.add_argument("--output-users", required=True, help="user vectors (.emb/.txt, .bin or .npz)")
        m.add_argument("--output-items", required=True, help="item vectors")
        m.add_argument("--model-out", help="also save the fitted model (.npz)")
        m.add_argument("--dim", type=_positive(int), default=_S, help="vector size (default: 64)")
        m.add_argument("--hidden", type=_widths, default=_S, help="user-tower widths, e.g. 256,128")
        m.add_argument("--history", type=_positive(int), default=_S, help="items of history (default: 50)")
        m.add_argument("--epochs", type=_positive(int), default=_S, help="passes over the log")
        m.add_argument("--batch-size", dest="batch_size", type=_positive(int), default=_S)
        m.add_argument("--lr", type=_positive(float), default=_S)
        m.add_argument("--weight-decay", dest="weight_decay", type=_nonneg_float, default=_S)
        if name == "youtubednn":
            m.add_argument("--num-negatives", dest="num_negatives", type=_positive(int), default=_S,
                           help="sampled-softmax negatives per batch")
            m.add_argument("--full-softmax", dest="full_softmax", action="store_true", default=_S)
        else:
            m.add_argument("--temperature", type=_positive(float), default=_S)
            m.add_argument("--random-negatives", dest="num_random_negatives", type=int, default=_S)
        m.add_argument("--device", default=_S, help="auto (CUDA if present), cpu, cuda")
        m.add_argument("--threads", type=_positive(int), default=_S, help="torch CPU threads")
        m.add_argument("--seed", type=int, default=_S, help="random seed (default: 1)")
        m.add_argument("--quiet", action="store_true", help="no per-epoch progress")
        m.set_defaults(handler=_run_train)
    u = subparsers.add_parser("user-vectors", help="user vectors of a saved recall model for the histories in a log",
                              description="Run a recall model saved by 'recembed train ... --model-out' on "
                                          "each user's history in LOG (no training) and write their vectors, "
                                          "in the space of the model's item vectors.")
    u.add_argument("--model", required=True, help="model file (.npz) from 'recembed train ... --model-out'")
    u.add_argument("--log", required=True, help="CSV user,item,timestamp (or TSV/Parquet)")
    u.add_argument("--users", help="the users' feature table (needed when the model was trained with one)")
    u.add_argument("--output", required=True, help="user vectors (.emb/.txt, .bin or .npz)")
    u.add_argument("--device", default="auto", help="auto (CUDA if present; the default), cpu, cuda")
    u.add_argument("--threads", type=_positive(int), help="torch CPU threads")
    u.set_defaults(handler=_run_user_vectors)
    try:
        from .evaluate import add_evaluate_subcommand
    except ImportError:  # the evaluate module is optional while the CLI is being assembled
        return
    add_evaluate_subcommand("recall", "leave-last-out HR/Recall/NDCG@K of user and item vectors",
                            _add_recall_args, _run_recall,
                            description="Hold out each user's last event of LOG, rank the full catalogue "
                                        "by inner product of the user's and items' vectors (training items "
                                        "excluded) and print HR@K, Recall@K and NDCG@K.")


def _run_train(args) -> int:
    import inspect

    from .embed import check_output_path, output_format

    inputs = [args.log, args.users, args.items]
    for out in (args.output_users, args.output_items, args.model_out):
        if out:
            check_output_path(out, inputs)
    output_format(args.output_users), output_format(args.output_items)
    cls = _model_class(args.model)
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    params = {k: v for k, v in vars(args).items() if k in names}
    params["verbose"] = not args.quiet
    t0 = time.perf_counter()
    model = cls(**params).fit(args.log, users=args.users, items=args.items,
                              holdout=None if args.holdout == "none" else "last")
    model.user_vectors().save(args.output_users)
    model.item_vectors().save(args.output_items)
    if args.model_out:
        model.save(args.model_out)
    print(f"{cls.__name__}: {len(model.user_vectors())} users, {len(model.item_vectors())} items, "
          f"dim {model.item_vectors().dim}, {len(model.history_)} epochs in {time.perf_counter() - t0:.1f} s "
          f"-> {args.output_users}, {args.output_items}", file=sys.stderr)
    return 0


def _run_user_vectors(args) -> int:
    from ..models.base import EmbeddingEstimator
    from ..models.youtube_dnn import RecallModel

    from .embed import check_output_path, output_format

    check_output_path(args.output, [args.model, args.log, args.users])
    output_format(args.output)
    model = EmbeddingEstimator.load(args.model)
    if not isinstance(model, RecallModel):
        raise InputError(f"holds a {type(model).__name__}, not a recall model (YouTubeDNN, TwoTower)", args.model)
    model.device = args.device
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    vectors = model.transform(args.log, users=args.users)
    vectors.save(args.output)
    print(f"{type(model).__name__}: {len(vectors)} users, dim {vectors.dim} -> {args.output}", file=sys.stderr)
    return 0


def _add_recall_args(p) -> None:
    p.add_argument("--log", required=True, help="the log the model was trained on (user,item,timestamp)")
    p.add_argument("--users-emb", required=True, help="user vectors (history before the held-out event)")
    p.add_argument("--items-emb", required=True, help="item vectors")
    p.add_argument("--k", type=_positive(int), nargs="+", default=[10, 50, 100], help="cut-offs (default: 10 50 100)")
    p.add_argument("--json", help="also write the metrics as JSON")


def _run_recall(args) -> int:
    from ..embeddings import Embeddings
    from ..evaluation.recall import LeaveLastOut

    ev = LeaveLastOut(args.log, ks=args.k)
    m = ev.evaluate_embeddings(Embeddings.load(args.users_emb), Embeddings.load(args.items_emb))
    print(f"leave-last-out over {m['users']} users, {ev.n_items} items (training items excluded)")
    for k in ev.ks:
        print(f"HR@{k} {m[f'HR@{k}']:.4f}  Recall@{k} {m[f'Recall@{k}']:.4f}  NDCG@{k} {m[f'NDCG@{k}']:.4f}")
    if args.json:
        with atomic_write(args.json, "w") as fh:
            json.dump(m, fh, indent=1)
    return 0
