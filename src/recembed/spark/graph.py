"""The item graph on Spark: the same edges as :func:`recembed.graphs.build_item_graph`.

Every step of the local pipeline becomes a window or an aggregation over the log, so
nothing is collected to the driver and no step sorts the whole log in one partition:

1. heavy users: ``count(*) over (partition by user)``;
2. sessions: ``lag(time) over (partition by user order by time, row)``, a cut where the
   gap exceeds ``session_gap``, and a running sum of cuts as the session number. ``row``
   is a monotonically increasing id taken right after the reader, so ties on time keep
   file order as the local ``lexsort((lines, timestamps, users))`` does;
3. short dwell: ``lead(time)`` inside the session;
4. rare items: ``count(*) over (partition by item)``;
5. transitions: ``lead(item)`` (and ``lead(weight)``) inside the session, self-loops
   dropped, ``group by (src, dst)``, ``min_edge_weight``.

Node indices come from ``zipWithIndex`` over the distinct ids: one job counts each
partition's rows, then every partition numbers its own rows from its offset.
"""
from __future__ import annotations

from .._io import InputError
from . import get_spark, require_pyspark
from .io import exists, vocab_path

ROW = "_recembed_row"


def read_log_spark(spark, log, *, user_col: str = "user", item_col: str = "item", time_col: str = "timestamp",
                   weight_col: str | None = None, sep: str | None = None, names=None):
    """A behaviour log as a DataFrame ``(user string, item string, t double, w double, row long)``.

    ``log`` is a Spark or pandas DataFrame, or a CSV/TSV/Parquet path (a file, a Spark
    folder, or a URI such as ``hdfs://...``). ``names`` gives the columns of a CSV/TSV
    without a header line, as :func:`recembed.read_log` does.
    Times are numbers (seconds) or timestamps Spark parses (read as UTC). Weights are
    rounded to float32, as :func:`recembed.read_log` stores them, so sums match exactly.
    Raises :class:`InputError` for missing columns, missing values, unparsable times and
    weights that are not finite numbers >= 0 (one Spark job checks them all).
    """
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    import pandas as pd

    if isinstance(log, pd.DataFrame):
        # row order of the pandas frame is its "file order" for ties on time
        log = spark.createDataFrame(log.astype({c: str for c in log.columns if log[c].dtype == object}))
    if isinstance(log, DataFrame):
        df, where = log, None
    else:
        if not exists(spark, log):
            raise InputError("no such file", log)
        where = log
        name = str(log).rstrip("/").lower()
        if name.endswith((".parquet", ".pq")):
            df = spark.read.parquet(str(log))
        else:
            if sep is None:
                sep = "\t" if name.endswith((".tsv", ".tab")) else ","
            # every column as a string: ids keep leading zeros, as the local reader keeps them
            if names:
                schema = ", ".join(f"`{c}` STRING" for c in names)
                df = spark.read.option("header", False).option("sep", sep).option("mode", "FAILFAST") \
                    .schema(schema).csv(str(log))
            else:
                df = spark.read.option("header", True).option("inferSchema", False).option("sep", sep) \
                    .option("mode", "FAILFAST").csv(str(log))
    # the row id must be taken before any shuffle: it carries file order for ties on time
    if ROW not in df.columns:
        df = df.withColumn(ROW, F.monotonically_increasing_id())
    if weight_col is None and "weight" in df.columns and weight_col != "":
        weight_col = "weight"
    needed = [c for c in (user_col, item_col, time_col, weight_col) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; columns are {[c for c in df.columns if c != ROW]}", where)
    t_raw = F.col(time_col)
    # try_cast: Spark 4 (ANSI) fails the job on a bad value instead of giving null
    t_num = t_raw.try_cast("double")
    w = F.col(weight_col).try_cast("double") if weight_col else F.lit(1.0)
    checks = [F.sum(F.col(c).isNull().cast("long")).alias(c) for c in needed]
    checks += [F.sum((t_raw.isNotNull() & t_num.isNull()).cast("long")).alias("_t_not_num"),
               F.count(F.lit(1)).alias("_n")]
    if weight_col:
        bad_w = F.col(weight_col).isNotNull() & (w.isNull() | F.isnan(w) | (w < 0) | (F.abs(w) == float("inf")))
        checks.append(F.sum(bad_w.cast("long")).alias("_bad_w"))
    res = df.agg(*checks).first().asDict()
    if not res["_n"]:
        raise InputError("log has no events", where)
    for c in needed:
        if res[c]:
            raise InputError(f"missing value in column {c!r} ({res[c]} rows)", where)
    if weight_col and res["_bad_w"]:
        raise InputError(f"{res['_bad_w']} weights are not finite numbers >= 0 (column {weight_col!r})", where)
    if res["_t_not_num"]:
        # like the local reader: a column that is not all numbers is read as dates (UTC)
        t = F.unix_micros(F.try_to_timestamp(t_raw.cast("string"))) / 1e6
        bad = df.filter(t.isNull()).select(F.col(time_col).cast("string")).limit(1).collect()
        if bad:
            raise InputError(f"{time_col} {bad[0][0]!r} does not parse as a time", where)
    else:
        t = t_num
    return df.select(F.col(user_col).cast("string").alias("user"), F.col(item_col).cast("string").alias("item"),
                     t.cast("double").alias("t"), w.cast("float").cast("double").alias("w"), F.col(ROW).alias("row"))


def build_item_graph_spark(log, output=None, *, spark=None, session_gap: float | None = 3600.0,
                           dwell_min: float | None = None, max_user_events: int | None = None,
                           min_edge_weight: float = 1, min_item_count: int = 1, use_event_weights: bool = False,
                           vocab_output=None, **read_kwargs):
    """Build the directed, weighted item graph of a behaviour log on Spark.

    Same parameters and the same edges as :func:`recembed.graphs.build_item_graph`
    (the module docstring lists the steps). ``read_kwargs`` go to :func:`read_log_spark`.

    Parameters
    ----------
    log : Spark or pandas DataFrame, or path (CSV/TSV/Parquet; local or a URI).
    output : where to write the edge table ``src, dst, weight`` (Parquet); ``None``: do not write.
    vocab_output : vocabulary table ``id, index, out_degree``; default :func:`recembed.spark.vocab_path`.
    spark : SparkSession (default: the active one, or a new ``local[*]``).

    Returns
    -------
    (edges, vocab) : Spark DataFrames (read back from Parquet when written).

    Examples
    --------
    >>> import pandas as pd  # doctest: +SKIP
    >>> log = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "b"],
    ...                     "timestamp": [0, 10, 20, 0, 5]})
    >>> edges, vocab = build_item_graph_spark(spark.createDataFrame(log))
    >>> sorted(map(tuple, edges.collect()))
    [('a', 'b', 2.0), ('b', 'c', 1.0)]
    """
    require_pyspark()
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if session_gap is not None and not session_gap > 0:
        raise InputError(f"session_gap must be > 0 seconds or None, got {session_gap!r}")
    if dwell_min is not None and not dwell_min >= 0:
        raise InputError(f"dwell_min must be >= 0 seconds or None, got {dwell_min!r}")
    if max_user_events is not None and not (isinstance(max_user_events, int) and max_user_events > 0):
        raise InputError(f"max_user_events must be a positive integer or None, got {max_user_events!r}")
    if not (min_edge_weight == min_edge_weight and min_edge_weight >= 0):
        raise InputError(f"min_edge_weight must be >= 0, got {min_edge_weight!r}")
    if not (isinstance(min_item_count, int) and min_item_count >= 1):
        raise InputError(f"min_item_count must be an integer >= 1, got {min_item_count!r}")
    spark = spark or get_spark()
    ev = read_log_spark(spark, log, **read_kwargs)

    # 1. heavy users
    if max_user_events is not None:
        ev = ev.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy("user"))) \
            .filter(F.col("_n") <= max_user_events).drop("_n")
    # 2. sessions
    by_user = Window.partitionBy("user").orderBy("t", "row")
    prev_t = F.lag("t").over(by_user)
    cut = prev_t.isNull()
    if session_gap is not None:
        cut = cut | ((F.col("t") - prev_t) > float(session_gap))
    ev = ev.withColumn("_cut", cut.cast("long")) \
        .withColumn("session", F.sum("_cut").over(by_user.rowsBetween(Window.unboundedPreceding, 0))).drop("_cut")
    by_session = Window.partitionBy("user", "session").orderBy("t", "row")
    # 3. short dwell (the session's last event has no measured dwell and stays)
    if dwell_min is not None:
        nxt = F.lead("t").over(by_session)
        ev = ev.withColumn("_short", nxt.isNotNull() & ((nxt - F.col("t")) < float(dwell_min))) \
            .filter(~F.col("_short")).drop("_short")
    # 4. rare items (counted after the filters above, as locally)
    if min_item_count > 1:
        ev = ev.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy("item"))) \
            .filter(F.col("_n") >= min_item_count).drop("_n")
    # 5.-7. transitions between consecutive surviving events, self-loops, merge, min weight
    ev = ev.withColumn("dst", F.lead("item").over(by_session)).withColumn("_wn", F.lead("w").over(by_session))
    ew = F.col("_wn") if use_event_weights else F.lit(1.0)
    edges = ev.filter(F.col("dst").isNotNull() & (F.col("item") != F.col("dst"))) \
        .groupBy(F.col("item").alias("src"), "dst").agg(F.sum(ew).alias("weight")) \
        .filter((F.col("weight") >= float(min_edge_weight)) & (F.col("weight") > 0))
    if output is None:
        edges = edges.persist()
        if edges.limit(1).count() == 0:
            edges.unpersist()
            raise InputError("the item graph has no edges left (all transitions filtered out)")
        return edges, index_vocab(edges)
    out = str(output)
    edges.write.mode("overwrite").parquet(out)
    edges = spark.read.parquet(out)
    if edges.limit(1).count() == 0:
        raise InputError("the item graph has no edges left (all transitions filtered out)")
    vocab = index_vocab(edges)
    vp = str(vocab_output or vocab_path(out))
    vocab.write.mode("overwrite").parquet(vp)
    return edges, spark.read.parquet(vp)


def index_vocab(edges):
    """``(id string, index long, out_degree long)`` of the nodes of an edge table.

    Indices are contiguous from 0 and assigned by ``zipWithIndex`` over the distinct ids
    (one small job counts each partition; no single-partition sort).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark = edges.sparkSession
    ids = edges.select(F.col("src").alias("id")).union(edges.select(F.col("dst").alias("id"))).distinct()
    indexed = ids.rdd.map(lambda r: r[0]).zipWithIndex()
    schema = StructType([StructField("id", StringType(), False), StructField("index", LongType(), False)])
    vocab = spark.createDataFrame(indexed, schema)
    deg = edges.groupBy(F.col("src").alias("id")).agg(F.count(F.lit(1)).alias("out_degree"))
    return vocab.join(deg, "id", "left").select("id", "index", F.coalesce("out_degree", F.lit(0)).alias("out_degree"))
