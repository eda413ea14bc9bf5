"""``recembed evaluate KIND``: score embeddings by the protocols users trust.

* ``node-classification``: one-vs-rest logistic regression, Micro/Macro-F1 over random splits
  (DeepWalk / node2vec); labels from a file or a benchmark (``--dataset``).
* ``link-prediction``: hold out edges (residual graph kept connected), train a method on the
  rest, AUC per edge operator (node2vec); or score given vectors on a saved split.

Adding an evaluation (the hook other modules use; ``recall`` is added this way)::

    from recembed.cli.evaluate import add_evaluate_subcommand

    def _add_recall(p):          # options of the sub-command
        p.add_argument("--log", required=True)
    def _run_recall(args):       # -> exit code
        ...
        return 0
    add_evaluate_subcommand("recall", "Recall@K of user/item vectors", _add_recall, _run_recall)

Call it from your module's ``register(subparsers)`` (any order relative to this module) or
at import time; the sub-command appears under ``recembed evaluate``. A name registered
twice keeps the last definition.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable

from .._io import InputError, atomic_write
from .embed import (add_common_training_args, estimator_params, nonnegative_int, positive_float, positive_int)

_S = argparse.SUPPRESS


@dataclass
class Evaluation:
    """One ``recembed evaluate`` sub-command."""

    help: str
    add_args: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None


#: name -> Evaluation; extended by :func:`add_evaluate_subcommand`
EVALUATIONS: dict[str, Evaluation] = {}
_live: dict = {"subparsers": None, "names": set()}


def add_evaluate_subcommand(name: str, help: str, add_args, run, description: str | None = None) -> None:
    """Register ``recembed evaluate NAME``; ``add_args(parser)`` adds options, ``run(args)`` returns an exit code.

    Works before or after this module's :func:`register` ran for the parser being built.
    """
    EVALUATIONS[name] = Evaluation(help, add_args, run, description)
    sub = _live["subparsers"]
    if sub is not None and name not in _live["names"]:
        _add_parser(sub, name, EVALUATIONS[name])


def _add_parser(sub, name: str, ev: Evaluation) -> None:
    p = sub.add_parser(name, help=ev.help, description=ev.description or ev.help)
    ev.add_args(p)
    p.set_defaults(handler=_handle, _evaluation=name)
    _live["names"].add(name)


def _handle(args) -> int:
    return int(EVALUATIONS[args._evaluation].run(args) or 0)


def register(subparsers) -> None:
    """Add ``evaluate`` with every registered evaluation."""
    ev = subparsers.add_parser("evaluate", help="score embeddings: node classification, link prediction, ...",
                               description="Score embeddings with a standard protocol. "
                                           "Run 'recembed evaluate KIND --help' for a protocol's options.")
    sub = ev.add_subparsers(dest="evaluation", metavar="KIND")
    sub.required = True
    _live["subparsers"], _live["names"] = sub, set()
    for name, item in list(EVALUATIONS.items()):
        _add_parser(sub, name, item)


# -- shared helpers ------------------------------------------------------------------------------
def _ratio(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text!r}")
    return v


def _dataset_names():
    from ..datasets.public import LOADERS

    return list(LOADERS)


def _write_json(path, payload) -> None:
    with atomic_write(path, "w") as fh:
        json.dump(payload, fh, indent=1)
        fh.write("\n")


# -- node classification -------------------------------------------------------------------------
def _add_node_classification(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emb", required=True, metavar="PATH",
                   help="embeddings (.txt/.emb/.vec word2vec text, .bin, .npz)")
    src = p.add_argument_group("labels (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", metavar="PATH",
                     help="'node label [label ...]' lines (whitespace or comma separated; a node may repeat "
                          "for several labels; a 'node label' header is skipped)")
    src.add_argument("--dataset", choices=_dataset_names(), metavar="NAME",
                     help=f"labels of a benchmark: {', '.join(_dataset_names())}")
    p.add_argument("--data-dir", metavar="DIR",
                   help="the dataset's folder (default: $RECEMBED_DATA/NAME, else ../shared/data/NAME)")
    p.add_argument("--train-ratio", type=_ratio, nargs="+", default=[0.5], metavar="R",
                   help="share of labelled nodes to train on; several values give one row each (default: 0.5)")
    p.add_argument("--repeats", type=positive_int, default=10, metavar="N",
                   help="random splits per ratio; scores are mean ± std over them (default: 10)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="N", help="split seed (default: 0)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--multilabel", dest="multilabel", action="store_const", const=True, default=None,
                      help="predict each node's top-k labels, k = its true label count (default: when some "
                           "node has several labels)")
    kind.add_argument("--single-label", dest="multilabel", action="store_const", const=False,
                      help="predict the argmax label only")
    p.add_argument("--C", type=positive_float, default=1.0, dest="C", metavar="C",
                   help="inverse regularisation of the logistic regressions (default: 1)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="fit the per-label classifiers in N threads (default: 1)")
    p.add_argument("--json", metavar="PATH", help="also write the results (per repeat too) as JSON")


def _run_node_classification(args) -> int:
    from ..embeddings import Embeddings
    from ..evaluation.node_classification import node_classification, read_labels

    if args.data_dir and not args.dataset:
        raise InputError("--data-dir only applies with --dataset")
    emb = Embeddings.load(args.emb)
    if args.dataset:
        from ..datasets.public import load_dataset

        labels = load_dataset(args.dataset, args.data_dir).labels
    else:
        labels = read_labels(args.labels)
    results = []
    t0 = time.perf_counter()
    for ratio in args.train_ratio:
        res = node_classification(emb, labels, train_ratio=ratio, repeats=args.repeats, seed=args.seed,
                                  multilabel=args.multilabel, C=args.C, n_jobs=args.threads)
        if not results:
            print(str(res).split("\n  Micro")[0])
            print(f"  {'train ratio':>11}  {'Micro-F1':>17}  {'Macro-F1':>17}")
        print(f"  {ratio:>11.2f}  {res.micro_f1_mean:8.4f} ± {res.micro_f1_std:.4f}  "
              f"{res.macro_f1_mean:8.4f} ± {res.macro_f1_std:.4f}")
        sys.stdout.flush()
        results.append(res)
    print(f"  ({args.repeats} random splits per ratio, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    if args.json:
        _write_json(args.json, {"embeddings": str(args.emb), "labels": args.dataset or str(args.labels),
                                "results": [r.to_dict() for r in results]})
    return 0


# -- link prediction -----------------------------------------------------------------------------
#: method name -> (module, class); imported only when used, so a method still being written is
#: simply "not available" rather than breaking the CLI
GRAPH_METHODS = {
    "deepwalk": ("recembed.models.deepwalk", "DeepWalk"),
    "node2vec": ("recembed.models.node2vec", "Node2Vec"),
    "line": ("recembed.models.line", "LINE"),
    "sdne": ("recembed.models.sdne", "SDNE"),
    "struc2vec": ("recembed.models.struc2vec", "Struc2Vec"),
    "spectral": (None, "spectral"),
}

# method options: (flag, estimator parameter, type, help); passed only when given and only to
# estimators whose __init__ has that parameter
_METHOD_OPTIONS = [
    ("--walk-length", "walk_length", positive_int, "walk length (walk methods)"),
    ("--walks-per-node", "walks_per_node", positive_int, "walks started at each node (walk methods)"),
    ("--window", "window", positive_int, "skip-gram window (walk methods)"),
    ("--p", "p", positive_float, "node2vec return parameter"),
    ("--q", "q", positive_float, "node2vec in-out parameter"),
    ("--order", "order", str, "LINE: first, second or both"),
    ("--samples", "samples", positive_float, "LINE: millions of edge samples"),
]


def _add_link_prediction(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("graph (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument("--input", "-i", metavar="PATH", help="edge list: 'src dst [weight]' lines")
    src.add_argument("--dataset", choices=_dataset_names(), metavar="NAME",
                     help=f"a benchmark's graph: {', '.join(_dataset_names())}")
    src.add_argument("--split", metavar="DIR", help="a split saved with --save-split (use with --emb or --method)")
    p.add_argument("--data-dir", metavar="DIR", help="the dataset's folder (with --dataset)")
    p.add_argument("--directed", action="store_true", help="read --input as a directed graph")
    p.add_argument("--test-fraction", type=_ratio, default=0.5, metavar="F",
                   help="share of the (non-self-loop) edges to hold out (default: 0.5)")
    p.add_argument("--split-seed", type=nonnegative_int, default=0, metavar="N",
                   help="seed of the split and of the edge classifier (default: 0); --seed seeds the method")
    p.add_argument("--no-keep-connected", dest="keep_connected", action="store_false",
                   help="hold out any edge (default: keep a random spanning forest so the residual graph "
                        "has the input's connected components)")
    p.add_argument("--max-train", type=positive_int, default=None, metavar="N",
                   help="train the edge classifier on at most N residual edges (+ N non-edges); default: all")
    p.add_argument("--save-split", metavar="DIR",
                   help="write the residual graph and the pairs here (train any tool on DIR/residual.edgelist, "
                        "then score it with --split DIR --emb VECTORS)")
    how = p.add_argument_group("embeddings (one of, unless only --save-split)").add_mutually_exclusive_group()
    how.add_argument("--method", choices=list(GRAPH_METHODS), metavar="METHOD",
                     help=f"train this method on the residual graph: {', '.join(GRAPH_METHODS)} "
                          "(spectral: a no-training SVD baseline)")
    how.add_argument("--emb", metavar="PATH", help="vectors trained on --split DIR's residual graph")
    p.add_argument("--operators", nargs="+", default=["hadamard", "average", "l1", "l2"],
                   choices=["hadamard", "average", "l1", "l2"], metavar="OP",
                   help="edge operators to score (default: hadamard average l1 l2)")
    p.add_argument("--no-heuristics", dest="heuristics", action="store_false",
                   help="skip the reference scores (common neighbours, Jaccard, Adamic-Adar, preferential "
                        "attachment on the residual graph; default: reported next to the embedding's AUC)")
    p.add_argument("--emb-out", metavar="PATH", help="also write the trained vectors here")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    add_common_training_args(p)
    g = p.add_argument_group("method options (passed only to methods that have them)")
    for flag, dest, kind, text in _METHOD_OPTIONS:
        g.add_argument(flag, dest=dest, type=kind, default=_S, metavar="X", help=text)


def _graph_method(name: str):
    module, cls_name = GRAPH_METHODS[name]
    if module is None:
        return None
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise InputError(f"method {name!r} is not available in this installation ({module} is missing)") from None
        raise
    try:
        return getattr(mod, cls_name)
    except AttributeError:
        raise InputError(f"method {name!r} is not available ({module} has no {cls_name})") from None


def _method_params(args):
    """The method's class (``None`` for spectral) and the options to pass; checked before any work."""
    cls = _graph_method(args.method)
    method_opts = {dest for _, dest, _, _ in _METHOD_OPTIONS}
    if cls is None:
        given = sorted(o for o in ("epochs", "threads", *method_opts) if hasattr(args, o))
        if given:
            raise InputError(f"--{given[0].replace('_', '-')} does not apply to --method spectral")
        return None, {"dim": getattr(args, "dim", 128), "seed": getattr(args, "seed", 1)}
    params = estimator_params(args, cls)
    unused = sorted(o for o in method_opts | {"dim", "epochs", "threads", "seed"} if hasattr(args, o) and o not in params)
    if unused:
        raise InputError(f"--{unused[0].replace('_', '-')} does not apply to --method {args.method}")
    return cls, params


def _train(cls, params, graph):
    """Train on ``graph``; returns ``(Embeddings, seconds)``."""
    import inspect

    from ..evaluation.link_prediction import spectral_embeddings

    t0 = time.perf_counter()
    if cls is None:
        return spectral_embeddings(graph, **params), time.perf_counter() - t0
    params = dict(params)
    if "directed" in inspect.signature(cls.__init__).parameters:
        params.setdefault("directed", graph.directed)
    model = cls(**params).fit(graph)
    return model.embeddings_, time.perf_counter() - t0


def _run_link_prediction(args) -> int:
    import warnings

    from ..embeddings import Embeddings
    from ..evaluation.link_prediction import EdgeSplit, link_heuristics, link_prediction, split_edges

    if args.data_dir and not args.dataset:
        raise InputError("--data-dir only applies with --dataset")
    if args.directed and not args.input:
        raise InputError("--directed only applies to --input (datasets and splits know their direction)")
    if args.emb and not args.split:
        raise InputError("--emb needs --split DIR: vectors must be trained on that split's residual graph "
                         "(score them on a fresh split and the held-out edges were seen in training)")
    method = _method_params(args) if args.method else None
    if args.split:
        split = EdgeSplit.load(args.split)
        source = args.split
    else:
        from ..graphs.graph import Graph

        if args.dataset:
            from ..datasets.public import load_dataset

            graph = load_dataset(args.dataset, args.data_dir).graph
            source = args.dataset
        else:
            graph = Graph.from_edgelist(args.input, directed=args.directed)
            source = args.input
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            split = split_edges(graph, test_fraction=args.test_fraction, seed=args.split_seed,
                                keep_connected=args.keep_connected, n_train=args.max_train)
        for w in caught:
            print(f"recembed: warning: {w.message}", file=sys.stderr)
        print(f"split {source}: {graph!r} -> residual {split.residual.n_edges:,} edges, "
              f"held out {len(split.test_pos):,} edges + {len(split.test_neg):,} non-edges "
              f"(split seed {args.split_seed})", file=sys.stderr)
    if args.save_split:
        split.save(args.save_split)
        print(f"split written to {args.save_split}", file=sys.stderr)
    if not args.method and not args.emb:
        if args.save_split:
            return 0
        raise InputError("give --method to train on the residual graph, or --split DIR --emb VECTORS")
    if args.emb:
        emb, seconds, label = Embeddings.load(args.emb), None, str(args.emb)
    else:
        emb, seconds = _train(*method, split.residual)
        label = args.method
        print(f"{args.method}: trained on the residual graph in {seconds:.1f} s ({len(emb):,} x {emb.dim})",
              file=sys.stderr)
        if args.emb_out:
            emb.save(args.emb_out)
    res = link_prediction(emb, split, operators=args.operators, seed=args.split_seed)
    print(f"{label} on {source}")
    print(res)
    heur = None
    if args.heuristics:
        heur = link_heuristics(split)
        print("  reference, no embedding (scores on the residual graph):")
        for name, value in heur.items():
            print(f"  {name:<24} {value:7.4f}")
    if args.json:
        _write_json(args.json, {"graph": str(source), "embeddings": label, "train_seconds": seconds,
                                **res.to_dict(), "heuristics": heur, "split": split.params})
    return 0


add_evaluate_subcommand(
    "node-classification", "Micro/Macro-F1 of one-vs-rest logistic regression (DeepWalk/node2vec protocol)",
    _add_node_classification, _run_node_classification,
    "Node classification as in DeepWalk and node2vec: the labelled nodes with a vector are split at random "
    "(--train-ratio), one logistic regression per label is fitted on the training nodes, each test node gets "
    "its top-k labels (k = its true label count; argmax for single-label data), and Micro/Macro-F1 are "
    "averaged over --repeats splits.")
add_evaluate_subcommand(
    "link-prediction", "hold out edges, train a method on the rest, AUC per edge operator (node2vec protocol)",
    _add_link_prediction, _run_link_prediction,
    "Link prediction as in node2vec: hold out --test-fraction of the edges (keeping a random spanning forest, "
    "so the residual graph stays connected), sample as many non-edges, train --method on the residual graph, "
    "then report the AUC of a logistic regression on Hadamard/average/L1/L2 edge features and of the plain "
    "dot product and cosine.")
