"""``recembed spark graph|walks``: the item graph and random walks on Spark (see docs/spark.md)."""
from __future__ import annotations

import importlib.util
import sys

_MISSING = ("pyspark is not installed: pip install 'recembed[spark]' (needs a Java 17+ runtime, "
            "e.g. apt-get install openjdk-17-jre-headless)")


def register(subparsers) -> None:
    from .embed import positive_float, positive_int
    from .graph import add_item_graph_args

    have = importlib.util.find_spec("pyspark") is not None
    note = "" if have else f" NOTE: {_MISSING}."
    p = subparsers.add_parser(
        "spark", help="item graph and random walks on Spark (past one machine)",
        description="Build the item graph of a behaviour log and random walks on it with Spark; train "
                    "locally with 'recembed embed word2vec --walks WALKS.parquet'." + note)
    sub = p.add_subparsers(dest="spark_command", metavar="STEP")
    sub.required = True

    g = sub.add_parser("graph", help="behaviour log -> item graph edge table (Parquet)",
                       description="Same edges as 'recembed graph' (sessions, ties, filters), computed with "
                                   "Spark window functions. Writes 'src, dst, weight' to OUTPUT and the "
                                   "vocabulary 'id, index, out_degree' to OUTPUT with .vocab.parquet." + note)
    g.add_argument("--log", required=True, metavar="PATH", help="behaviour log (.csv, .tsv, .parquet or a Spark folder)")
    g.add_argument("--output", "-o", required=True, metavar="EDGES.parquet", help="edge table to write")
    add_item_graph_args(g, "item graph (as 'recembed graph')")
    _spark_args(g)
    g.set_defaults(handler=_run_graph)

    w = sub.add_parser("walks", help="edge table -> random walks (Parquet)",
                       description="DeepWalk (first order, weighted) or Node2Vec (--p, --q) walks on an edge "
                                   "table. --mode broadcast runs the local numba kernel on every executor "
                                   "(graph fits an executor); --mode join advances walkers one join per step. "
                                   "Writes 'walk_id, walk array<int>' and OUTPUT's .vocab.parquet." + note)
    w.add_argument("--graph", required=True, metavar="EDGES.parquet", help="edge table ('recembed spark graph')")
    w.add_argument("--output", "-o", required=True, metavar="WALKS.parquet")
    w.add_argument("--method", choices=["deepwalk", "node2vec"], default="deepwalk")
    w.add_argument("--mode", choices=["broadcast", "join"], default="broadcast")
    w.add_argument("--p", type=positive_float, default=1.0, metavar="P", help="node2vec return parameter (default: 1)")
    w.add_argument("--q", type=positive_float, default=1.0, metavar="Q", help="node2vec in-out parameter (default: 1)")
    w.add_argument("--walks-per-node", type=positive_int, default=10, metavar="N", help="default: 10")
    w.add_argument("--walk-length", type=positive_int, default=80, metavar="N", help="default: 80")
    w.add_argument("--seed", type=int, default=1, help="default: 1")
    w.add_argument("--partitions", type=positive_int, default=None, metavar="N",
                   help="partitions of walk ids (default: Spark's default parallelism)")
    j = w.add_argument_group("join mode")
    j.add_argument("--checkpoint-every", type=positive_int, default=5, metavar="STEPS",
                   help="write walkers to Parquet every STEPS steps (truncates the lineage; steps in between "
                        "run pipelined, one Python worker each per task; default: 5)")
    j.add_argument("--salt", type=positive_int, default=8, metavar="K", help="replicas of a hot vertex (default: 8)")
    j.add_argument("--hot-degree", type=positive_int, default=None, metavar="D",
                   help="vertices with in-degree >= D are salted (default: edges / (4 x shuffle partitions), "
                        "at least 1000)")
    j.add_argument("--work-dir", default=None, metavar="DIR",
                   help="scratch folder (default: a new one beside OUTPUT, removed after success)")
    _spark_args(w)
    w.set_defaults(handler=_run_walks)


def _spark_args(p) -> None:
    s = p.add_argument_group("spark")
    s.add_argument("--master", default=None, metavar="URL",
                   help="Spark master (default: the one spark-submit set, else local[*])")
    s.add_argument("--shuffle-partitions", type=int, default=None, metavar="N",
                   help="spark.sql.shuffle.partitions (default: Spark's, 200)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def _session(args):
    from ..spark import get_spark

    spark = get_spark(args.master, args.shuffle_partitions)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _run_graph(args) -> int:
    from ..spark import require_pyspark, vocab_path

    require_pyspark()
    from ..spark.graph import build_item_graph_spark
    from .graph import item_graph_kwargs

    edges, vocab = build_item_graph_spark(args.log, args.output, spark=_session(args), **item_graph_kwargs(args))
    if not args.quiet:
        print(f"wrote {edges.count():,} edges over {vocab.count():,} items -> {args.output} "
              f"(vocabulary {vocab_path(args.output)})", file=sys.stdout)
    return 0


def _run_walks(args) -> int:
    from ..spark import require_pyspark, vocab_path

    require_pyspark()
    from ..spark.walks import spark_walks

    walks, _ = spark_walks(args.graph, args.output, spark=_session(args), method=args.method, p=args.p, q=args.q,
                           walks_per_node=args.walks_per_node, walk_length=args.walk_length, seed=args.seed,
                           mode=args.mode, partitions=args.partitions, checkpoint_every=args.checkpoint_every,
                           salt=args.salt, hot_degree=args.hot_degree, work_dir=args.work_dir)
    if not args.quiet:
        print(f"wrote {walks.count():,} walks -> {args.output} (vocabulary {vocab_path(args.output)})",
              file=sys.stdout)
    return 0
