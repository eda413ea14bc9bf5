"""``recembed graph``: build the item graph from a behaviour log and write it as an edge list."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "graph", help="build the item graph (consecutive actions in a session) from a behaviour log",
        description="Read a behaviour log (CSV/TSV/Parquet with user, item and time columns), cut each "
                    "user's time-ordered actions into sessions, link consecutive actions A -> B, and write "
                    "'src<TAB>dst<TAB>weight' lines. Prints what was dropped and why.")
    p.add_argument("--log", required=True, metavar="PATH", help="behaviour log (.csv, .tsv, .parquet)")
    p.add_argument("--output", "-o", required=True, metavar="PATH", help="edge list to write (atomically)")
    add_item_graph_args(p, "item graph")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the summary")
    p.set_defaults(handler=_run)


def add_item_graph_args(parser, title: str) -> None:
    """The item-graph filters and log-column options, shared by ``recembed graph`` and ``recembed spark graph``."""
    from .embed import NAMES_HELP, column_names, duration, nonnegative_float, positive_int

    g = parser.add_argument_group(title)
    g.add_argument("--session-gap", type=duration, default=3600.0, metavar="GAP",
                   help="new session after this much inactivity: seconds or 30m, 1h, 2d; 'none' for one "
                        "session per user (default: 1h)")
    g.add_argument("--dwell-min", type=nonnegative_float, default=None, metavar="SECONDS",
                   help="drop an action followed by the next one in under SECONDS (default: keep all)")
    g.add_argument("--max-user-events", type=positive_int, default=None, metavar="N",
                   help="drop users with more than N events (crawlers, shared accounts; default: keep all)")
    g.add_argument("--min-edge-weight", type=nonnegative_float, default=1.0, metavar="W",
                   help="drop edges whose merged weight is below W (default: 1)")
    g.add_argument("--min-item-count", type=positive_int, default=1, metavar="N",
                   help="drop items with fewer than N events (default: 1)")
    g.add_argument("--use-event-weights", action="store_true",
                   help="an edge A -> B gains the weight of the event on B (the log's weight column) "
                        "instead of 1")
    r = parser.add_argument_group("log columns")
    r.add_argument("--user-col", default="user", metavar="NAME", help="default: user")
    r.add_argument("--item-col", default="item", metavar="NAME", help="default: item")
    r.add_argument("--time-col", default="timestamp", metavar="NAME", help="default: timestamp")
    r.add_argument("--weight-col", default=None, metavar="NAME",
                   help="event weight column (default: 'weight' when the log has one)")
    r.add_argument("--sep", default=None, metavar="CHAR", help="field separator (default: from the extension)")
    r.add_argument("--names", type=column_names, default=None, metavar="A,B,...", help=NAMES_HELP)


def item_graph_kwargs(args) -> dict:
    """Keyword arguments of ``build_item_graph`` / ``build_item_graph_spark`` from :func:`add_item_graph_args`."""
    kw = dict(session_gap=args.session_gap, dwell_min=args.dwell_min, max_user_events=args.max_user_events,
              min_edge_weight=args.min_edge_weight, min_item_count=args.min_item_count,
              use_event_weights=args.use_event_weights,
              user_col=args.user_col, item_col=args.item_col, time_col=args.time_col)
    for name in ("weight_col", "sep", "names"):
        if getattr(args, name):
            kw[name] = getattr(args, name)
    return kw


def _run(args) -> int:
    from ..graphs import build_item_graph
    from .embed import check_output_path

    check_output_path(args.output, [args.log])
    g, summary = build_item_graph(args.log, **item_graph_kwargs(args))
    g.to_edgelist(args.output, weights=True)
    if not args.quiet:
        print(summary, file=sys.stdout)
        print(f"wrote {g.n_edges:,} edges over {g.n_nodes:,} items -> {args.output}", file=sys.stdout)
    return 0


# -- `recembed embed deepwalk|node2vec` (entries of recembed.cli.embed.METHODS) --------------------
WALK_DEFAULTS = dict(dim=128, epochs=1, seed=1, window=10, negative=10, ns_exponent=0.75, sample=1e-3, alpha=0.04,
                     min_alpha=1e-4, walks_per_node=10, walk_length=80, p=1.0, q=1.0)


def _add_walk_args(p, node2vec: bool) -> None:
    import argparse

    from .embed import (NAMES_HELP, column_names, duration, finite_float, nonnegative_float, nonnegative_int,
                        positive_float, positive_int)

    S, d = argparse.SUPPRESS, WALK_DEFAULTS
    src = p.add_argument_group("input (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument("--input", "-i", metavar="EDGES",
                     help="edge list: 'src dst [weight]' per line, whitespace or comma separated, '#' comments")
    src.add_argument("--log", metavar="PATH",
                     help="behaviour log (.csv, .tsv, .parquet; user, item, time columns): walks run on the "
                          "item graph of consecutive actions in a session (see 'recembed graph')")
    g = p.add_argument_group("graph")
    g.add_argument("--weighted", action="store_const", const=True, default=S,
                   help="walk proportionally to edge weights (default: when the edge list has a weight column)")
    g.add_argument("--unweighted", dest="weighted", action="store_const", const=False, default=S,
                   help="ignore edge weights")
    g.add_argument("--count-repeats", dest="weighted", action="store_const", const="count", default=S,
                   help="weight each edge by the number of lines listing it (undirected: either way round); "
                        "weights in the file are ignored")
    g.add_argument("--directed", action="store_const", const=True, default=S,
                   help="read the edge list as directed (a walk stops at a node without out-edges; "
                        "default: undirected). An item graph is always directed")
    w = p.add_argument_group("walks")
    if node2vec:
        w.add_argument("--p", type=positive_float, default=S, metavar="P",
                       help="return parameter: 1/P weighs stepping back (default: 1)")
        w.add_argument("--q", type=positive_float, default=S, metavar="Q",
                       help="in-out parameter: 1/Q weighs moving away; Q < 1 explores (homophily), "
                            "Q > 1 stays local (structure) (default: 1)")
        w.add_argument("--mode", choices=["auto", "rejection", "alias"], default=S,
                       help="second-order sampler: rejection (O(E) memory) or per-edge alias tables "
                            "(small graphs) (default: auto = rejection unless p = q = 1)")
    w.add_argument("--walks-per-node", type=positive_int, default=S, metavar="N",
                   help=f"walks started from every node (default: {d['walks_per_node']})")
    w.add_argument("--walk-length", type=positive_int, default=S, metavar="N",
                   help=f"nodes per walk (default: {d['walk_length']})")
    s = p.add_argument_group("skip-gram")
    s.add_argument("--window", type=positive_int, default=S, metavar="N", help=f"default: {d['window']}")
    s.add_argument("--negative", type=nonnegative_int, default=S, metavar="K", help=f"default: {d['negative']}")
    s.add_argument("--hs", action="store_const", const=True, default=S,
                   help="hierarchical softmax (DeepWalk's original); with --negative 0 for HS only")
    s.add_argument("--ns-exponent", type=finite_float, default=S, metavar="X", help=f"default: {d['ns_exponent']}")
    s.add_argument("--sample", type=nonnegative_float, default=S, metavar="T", help=f"default: {d['sample']:g}")
    s.add_argument("--alpha", type=positive_float, default=S, metavar="LR", help=f"default: {d['alpha']}")
    s.add_argument("--min-alpha", type=nonnegative_float, default=S, metavar="LR", help=f"default: {d['min_alpha']:g}")
    lg = p.add_argument_group("behaviour log (with --log)")
    lg.add_argument("--user-col", default=S, metavar="NAME", help="default: user")
    lg.add_argument("--item-col", default=S, metavar="NAME", help="default: item")
    lg.add_argument("--time-col", default=S, metavar="NAME", help="default: timestamp")
    lg.add_argument("--names", type=column_names, default=S, metavar="A,B,...", help=NAMES_HELP)
    lg.add_argument("--session-gap", type=duration, default=S, metavar="GAP", help="default: 1h")
    lg.add_argument("--min-edge-weight", type=nonnegative_float, default=S, metavar="W", help="default: 1")
    lg.add_argument("--max-user-events", type=positive_int, default=S, metavar="N", help="default: no limit")
    lg.add_argument("--dwell-min", type=nonnegative_float, default=S, metavar="SECONDS", help="default: none")
    lg.add_argument("--min-item-count", type=positive_int, default=S, metavar="N", help="default: 1")


_READ = ("user_col", "item_col", "time_col", "names")
_ITEM_GRAPH = ("session_gap", "min_edge_weight", "max_user_events", "dwell_min", "min_item_count")


def _run_walk_method(cls, args):
    from ..graphs import Graph, build_item_graph
    from .._io import InputError
    from .embed import Result, _check_keys_fit, estimator_params

    if getattr(args, "negative", None) == 0 and not getattr(args, "hs", False):
        raise InputError("--negative 0 needs --hs: without negative sampling or hierarchical softmax nothing is trained")
    given = [o for o in _READ + _ITEM_GRAPH if hasattr(args, o)]
    if args.log is None:
        if given:
            raise InputError(f"{', '.join('--' + o.replace('_', '-') for o in given)} only apply to --log input")
        graph = Graph.from_edgelist(args.input, directed=getattr(args, "directed", False),
                                    weighted=getattr(args, "weighted", None))
    else:
        if getattr(args, "directed", False):
            raise InputError("--directed applies to --input edge lists; an item graph is always directed")
        graph, summary = build_item_graph(args.log, **{o: getattr(args, o) for o in given})
        if not args.quiet:
            print(summary, file=sys.stderr)
    _check_keys_fit(graph.vocab.keys, args)
    params = estimator_params(args, cls)
    params.pop("directed", None)
    if params.get("weighted") == "count":
        params["weighted"] = None  # the graph already holds the counts as weights
    model = cls(**params).fit(graph)
    return Result(model.embeddings_, n_tokens=model.n_tokens_, epochs=int(model.epochs), n_sequences=model.n_walks_,
                  train_seconds=model.train_seconds_)


def walk_methods() -> dict:
    """The ``deepwalk`` and ``node2vec`` entries of :data:`recembed.cli.embed.METHODS`."""
    from .embed import Method

    def run_deepwalk(args):
        from ..models.deepwalk import DeepWalk

        return _run_walk_method(DeepWalk, args)

    def run_node2vec(args):
        from ..models.node2vec import Node2Vec

        return _run_walk_method(Node2Vec, args)

    return {
        "deepwalk": Method(
            "DeepWalk: random walks on a graph (or on the item graph of a log) + skip-gram",
            lambda p: _add_walk_args(p, node2vec=False), run_deepwalk,
            "Uniform (or edge-weighted) random walks from every node, trained with skip-gram. Input is an edge "
            "list (--input) or a behaviour log (--log), whose item graph links consecutive actions in a session.",
            WALK_DEFAULTS),
        "node2vec": Method(
            "Node2Vec: second-order biased walks (--p return, --q in-out) + skip-gram",
            lambda p: _add_walk_args(p, node2vec=True), run_node2vec,
            "Second-order random walks: having come from t to v, step to x with weight w_vx / p if x = t, "
            "w_vx if t -> x is an edge, w_vx / q otherwise. --q < 1 explores outward (homophily), --q > 1 "
            "stays local (structural roles). Weighted graphs use O(E)-memory rejection sampling.",
            WALK_DEFAULTS),
    }
