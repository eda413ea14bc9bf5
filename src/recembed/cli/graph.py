"""``recembed graph``: build the item graph from a behaviour log and write it as an edge list."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    from .embed import duration, nonnegative_float, positive_int

    p = subparsers.add_parser(
        "graph", help="build the item graph (consecutive actions in a session) from a behaviour log",
        description="Read a behaviour log (CSV/TSV/Parquet with user, item and time columns), cut each "
                    "user's time-ordered actions into sessions, link consecutive actions A -> B, and write "
                    "'src<TAB>dst<TAB>weight' lines. Prints what was dropped and why.")
    p.add_argument("--log", required=True, metavar="PATH", help="behaviour log (.csv, .tsv, .parquet)")
    p.add_argument("--output", "-o", required=True, metavar="PATH", help="edge list to write (atomically)")
    g = p.add_argument_group("item graph")
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
    r = p.add_argument_group("log columns")
    r.add_argument("--user-col", default="user", metavar="NAME", help="default: user")
    r.add_argument("--item-col", default="item", metavar="NAME", help="default: item")
    r.add_argument("--time-col", default="timestamp", metavar="NAME", help="default: timestamp")
    r.add_argument("--weight-col", default=None, metavar="NAME",
                   help="event weight column (default: 'weight' when the log has one)")
    r.add_argument("--sep", default=None, metavar="CHAR", help="field separator (default: from the extension)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the summary")
    p.set_defaults(handler=_run)


def _run(args) -> int:
    from ..graphs import build_item_graph

    read = dict(user_col=args.user_col, item_col=args.item_col, time_col=args.time_col)
    if args.weight_col:
        read["weight_col"] = args.weight_col
    if args.sep:
        read["sep"] = args.sep
    g, summary = build_item_graph(args.log, session_gap=args.session_gap, dwell_min=args.dwell_min,
                                  max_user_events=args.max_user_events, min_edge_weight=args.min_edge_weight,
                                  min_item_count=args.min_item_count, use_event_weights=args.use_event_weights,
                                  **read)
    g.to_edgelist(args.output, weights=True)
    if not args.quiet:
        print(summary, file=sys.stdout)
        print(f"wrote {g.n_edges:,} edges over {g.n_nodes:,} items -> {args.output}", file=sys.stdout)
    return 0
