"""DeepWalk / Node2Vec random walks on Spark, in two modes.

``mode="broadcast"`` (the graph fits in an executor's memory)
    The driver builds the CSR and the alias tables once (:class:`recembed.walks.Walker`),
    broadcasts them, and every partition of walk ids runs the local numba kernel
    (:func:`recembed.walks.engine._walk_kernel`) through ``mapInArrow``. A walk's random
    stream is the local engine's: ``hash(seed, walk id)``, so a retried task writes the
    same walks.

``mode="join"`` (graphs larger than an executor)
    The graph is a vertex table ``(node, salt, nbrs, w, cum)`` with each row's sorted
    neighbours and (cumulative) weights. Walkers ``(walk_id, cur, prev, path)`` advance
    one step per join: join on ``cur`` (and, for Node2Vec, on ``prev`` for the return /
    in-out test), draw the next node in a numba kernel over the Arrow batch, append it.
    The uniform of a step is ``hash(seed, walk id, step)``, so the result does not depend
    on partitioning or retries. Every ``checkpoint_every`` steps the walkers are written
    to Parquet and read back, which truncates the lineage, and the path chunk walked so
    far is left there (finished walkers drop out). Hot vertices (in-degree at least
    ``hot_degree``) are replicated ``salt`` times and a walker on one picks a replica from
    its hash, so one hub does not put all its walkers in one task.

Walk ``i`` starts at node ``(a_r * j + b_r) mod n`` with ``r, j = divmod(i, n)``: every
round visits every node once, in an order shuffled from the seed (as the local engine's
rounds), and both modes start walk ``i`` at the same node.
"""
from __future__ import annotations

import math
import tempfile
import uuid
from pathlib import Path

import numpy as np
from numba import njit

from .._io import InputError, check_positive
from ..walks.engine import _GOLD, _mix, _n2v_bias, _walk_state
from . import get_spark, require_pyspark
from .io import delete, exists, is_uri, vocab_path

_INV53 = 1.0 / 9007199254740992.0


# -- starts ------------------------------------------------------------------------------
def _round_params(n: int, walks_per_node: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per round, ``a`` coprime with ``n`` and an offset ``b``: ``j -> (a j + b) mod n`` is a bijection."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5A2C])
    a = np.empty(walks_per_node, dtype=np.int64)
    b = np.empty(walks_per_node, dtype=np.int64)
    for r in range(walks_per_node):
        x = int(rng.integers(1, max(n, 2)))
        while math.gcd(x, n) != 1:
            x = x % (n - 1) + 1 if n > 2 else 1
        a[r], b[r] = x, int(rng.integers(0, n))
    return a, b


def start_nodes(walk_ids: np.ndarray, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Start node of each walk id (see the module docstring).

    Examples
    --------
    >>> a, b = _round_params(5, 2, seed=1)
    >>> s = start_nodes(np.arange(10), 5, a, b)
    >>> sorted(s[:5].tolist()) == sorted(s[5:].tolist()) == [0, 1, 2, 3, 4]
    True
    """
    r, j = np.divmod(np.asarray(walk_ids, dtype=np.int64), n)
    return ((a[r] * j + b[r]) % n).astype(np.int32)


def _start_col(F, n: int, a: np.ndarray, b: np.ndarray):
    r = (F.col("walk_id") / n).cast("long")
    j = F.col("walk_id") % n
    ar = F.element_at(F.array(*[F.lit(int(x)) for x in a]), (r + 1).cast("int"))
    br = F.element_at(F.array(*[F.lit(int(x)) for x in b]), (r + 1).cast("int"))
    return ((ar * j + br) % n).cast("int")


# -- loading the graph ---------------------------------------------------------------------
def load_graph_tables(spark, graph, vocab=None):
    """``(edges with int src/dst, vocab)`` DataFrames from an edge table (path or DataFrame).

    ``vocab`` defaults to :func:`recembed.spark.vocab_path` of ``graph``, or is indexed
    on the fly (:func:`recembed.spark.graph.index_vocab`) when absent.
    """
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from .graph import index_vocab

    if isinstance(graph, DataFrame):
        edges = graph
        v = vocab if vocab is not None else index_vocab(edges)
    else:
        if not exists(spark, graph):
            raise InputError("no such file or folder", graph)
        edges = spark.read.parquet(str(graph))
        vp = vocab if vocab is not None else vocab_path(graph)
        v = spark.read.parquet(str(vp)) if exists(spark, vp) else index_vocab(edges)
    missing = [c for c in ("src", "dst", "weight") if c not in edges.columns]
    if missing:
        raise InputError(f"edge table lacks column(s) {missing}; columns are {edges.columns}")
    v = v.select(F.col("id").cast("string").alias("id"), F.col("index").cast("long").alias("index"))
    vs = v.select(F.col("id").alias("src"), F.col("index").cast("int").alias("s"))
    vd = v.select(F.col("id").alias("dst"), F.col("index").cast("int").alias("d"))
    e = edges.select(F.col("src").cast("string").alias("src"), F.col("dst").cast("string").alias("dst"),
                     F.col("weight").cast("double").alias("w")) \
        .join(vs, "src").join(vd, "dst").select("s", "d", "w")
    return e, v


# -- mode="broadcast" ----------------------------------------------------------------------
def _broadcast_payload(walker) -> dict:
    g = walker.graph
    return dict(indptr=g.indptr, indices=g.indices, weights=g.weights, wsum=walker._wsum, weighted=g.weighted,
                directed=g.directed, aprob=walker._aprob, aidx=walker._aidx, eptr=walker._eptr,
                eprob=walker._eprob, ealias=walker._ealias, mode=walker._mode_code, p=walker.p, q=walker.q)


def walk_partition(batches, payload: dict, n: int, a, b, walk_length: int, seed_hash):
    """The ``mapInArrow`` body of ``mode="broadcast"``: walk ids in, ``(walk_id, walk)`` out.

    Pure function of its inputs: running it twice on the same partition (a retried task)
    yields the same batches.
    """
    import pyarrow as pa

    from ..walks.engine import _compact, _threads, _walk_kernel

    P = payload
    inv_p, inv_q = 1.0 / P["p"], 1.0 / P["q"]
    bound = max(1.0, inv_q)
    lower = min(1.0, inv_q, min(inv_p, bound))
    for batch in batches:
        ids = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if len(ids) == 0:
            continue
        out = np.empty(len(ids) * walk_length, dtype=np.int32)
        lengths = np.empty(len(ids), dtype=np.int64)
        starts = start_nodes(ids, n, a, b)
        # the kernel numbers walks first_id + i: feed it runs of consecutive ids
        cuts = np.flatnonzero(np.diff(ids) != 1) + 1
        bounds = np.concatenate([[0], cuts, [len(ids)]])
        with _threads(1):  # one task per core: no nested numba threads
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                _walk_kernel(out[lo * walk_length:hi * walk_length], lengths[lo:hi], starts[lo:hi],
                             np.int64(ids[lo]), np.int64(walk_length), seed_hash, P["mode"], P["indptr"],
                             P["indices"], P["weights"], P["wsum"], P["weighted"], P["directed"], P["aprob"],
                             P["aidx"], P["eptr"], P["eprob"], P["ealias"], inv_p, inv_q, bound, lower)
        used = _compact(out, lengths, walk_length) if lengths.min() < walk_length else len(out)
        offsets = np.zeros(len(ids) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        walks = pa.ListArray.from_arrays(pa.array(offsets), pa.array(out[:used]))
        yield pa.RecordBatch.from_arrays([pa.array(ids), walks], ["walk_id", "walk"])


def _broadcast_walks(spark, e, n, keys, p, q, walks_per_node, walk_length, seed, partitions):
    from ..graphs.graph import Graph
    from ..walks.engine import Walker

    t = e.toArrow()
    s = t.column("s").to_numpy().astype(np.int64)
    d = t.column("d").to_numpy().astype(np.int64)
    w = t.column("w").to_numpy().astype(np.float64)
    g = Graph._from_codes(s, d, w, keys, True, bool(np.any(w != 1)))
    walker = Walker(g, p=p, q=q)
    _, seed_hash = walker._plan(walks_per_node, walk_length, seed, None)
    bc = spark.sparkContext.broadcast(_broadcast_payload(walker))
    a, b = _round_params(n, walks_per_node, seed)

    def fn(batches):
        return walk_partition(batches, bc.value, n, a, b, walk_length, seed_hash)

    ids = spark.range(0, n * walks_per_node, numPartitions=partitions).withColumnRenamed("id", "walk_id")
    return ids.mapInArrow(fn, "walk_id long, walk array<int>"), bc


# -- mode="join" ---------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _step_uniform(seed_hash, walk_id, step):
    z = _mix(_walk_state(seed_hash, walk_id) ^ _mix(np.uint64(step) + _GOLD))
    return np.float64(z >> np.uint64(11)) * _INV53


@njit(cache=True, nogil=True)
def _join_step(walk_ids, cur, prev, n_off, n_val, w_val, c_val, t_off, t_val, step, seed_hash, second, inv_p, inv_q,
               path_off, path_val, new_off, new_val):
    """Next node of each walker (-1: dead end or finished) and its path with the node appended."""
    m = len(walk_ids)
    nxt = np.full(m, -1, dtype=np.int32)
    o = 0
    for i in range(m):
        v = cur[i]
        a, b = n_off[i], n_off[i + 1]
        if v >= 0 and b > a:
            u = _step_uniform(seed_hash, walk_ids[i], step)
            if not second or prev[i] < 0:
                r = u * c_val[b - 1]
                lo, hi = a, b - 1  # first k with cum[k] > r
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if c_val[mid] > r:
                        hi = mid
                    else:
                        lo = mid + 1
                nxt[i] = n_val[lo]
            else:
                t = prev[i]
                ta, tb = t_off[i], t_off[i + 1]
                total = 0.0
                for k in range(a, b):
                    x = n_val[k]
                    al = _n2v_bias(t_val, ta, tb, t, x, inv_p, inv_q)
                    total += w_val[k] * al
                r = u * total
                acc = 0.0
                pick = n_val[b - 1]
                for k in range(a, b):
                    x = n_val[k]
                    al = _n2v_bias(t_val, ta, tb, t, x, inv_p, inv_q)
                    acc += w_val[k] * al
                    if r < acc:
                        pick = x
                        break
                nxt[i] = pick
        new_off[i] = o
        for k in range(path_off[i], path_off[i + 1]):
            new_val[o] = path_val[k]
            o += 1
        if nxt[i] >= 0:
            new_val[o] = nxt[i]
            o += 1
    new_off[m] = o
    return nxt, o


@njit(cache=True, nogil=True)
def _segment_cumsum(off, vals):
    out = np.empty(len(vals), dtype=np.float64)
    for i in range(len(off) - 1):
        acc = 0.0
        for k in range(off[i], off[i + 1]):
            acc += vals[k]
            out[k] = acc
    return out


def _list_parts(col):
    """(offsets int64, values) of an Arrow list column (sliced arrays handled; nulls read empty)."""
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    off = col.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    vals = col.values.to_numpy(zero_copy_only=False)
    return off, vals


def step_partition(batches, step: int, seed_hash, second: bool, inv_p: float, inv_q: float):
    """The ``mapInArrow`` body of one join step (pure: a retried task gives the same rows)."""
    import pyarrow as pa

    for batch in batches:
        cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
        wid = cols["walk_id"].to_numpy(zero_copy_only=False).astype(np.int64)
        cur = cols["cur"].to_numpy(zero_copy_only=False).astype(np.int32)
        prev = cols["prev"].to_numpy(zero_copy_only=False).astype(np.int32)
        n_off, n_val = _list_parts(cols["nbrs"])
        _, w_val = _list_parts(cols["w"])
        _, c_val = _list_parts(cols["cum"])
        if second:
            t_off, t_val = _list_parts(cols["tnbrs"])
        else:
            t_off, t_val = np.zeros(len(wid) + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
        p_off, p_val = _list_parts(cols["path"])
        # the values of a slice may start past 0: index them through the offsets as given
        new_off = np.empty(len(wid) + 1, dtype=np.int64)
        new_val = np.empty(int(p_off[-1] - p_off[0]) + len(wid), dtype=np.int32)
        nxt, used = _join_step(wid, cur, prev, n_off, n_val.astype(np.int32), w_val.astype(np.float64),
                               c_val.astype(np.float64), t_off, t_val.astype(np.int32), np.int64(step), seed_hash,
                               second, inv_p, inv_q, p_off, p_val.astype(np.int32), new_off, new_val)
        path = pa.ListArray.from_arrays(pa.array(new_off.astype(np.int32)), pa.array(new_val[:used]))
        moved = nxt >= 0
        new_prev = np.where(moved, cur, -1).astype(np.int32)
        yield pa.RecordBatch.from_arrays([pa.array(wid), pa.array(nxt), pa.array(new_prev), path],
                                         ["walk_id", "cur", "prev", "path"])


def _join_walks(spark, e, n, p, q, walks_per_node, walk_length, seed, partitions, work: str, checkpoint_every,
                salt, hot_degree):
    from pyspark.sql import functions as F

    from ..walks.engine import Walker

    seed_hash = Walker.__new__(Walker)._plan(1, 1, seed, None)[1]
    second = not (p == 1 and q == 1)
    # vertex table: sorted neighbours, weights and running sums per node
    rows = e.groupBy(F.col("s").alias("node")).agg(F.array_sort(F.collect_list(F.struct("d", "w"))).alias("nw"))
    rows = rows.select("node", F.col("nw.d").alias("nbrs"), F.col("nw.w").alias("w"))

    def add_cum(batches):
        import pyarrow as pa

        for batch in batches:
            off, vals = _list_parts(batch.column(2))
            cum = _segment_cumsum(off, vals.astype(np.float64))
            c = pa.ListArray.from_arrays(pa.array((off - off[0]).astype(np.int32)), pa.array(cum[off[0]:off[-1]]))
            yield pa.RecordBatch.from_arrays([batch.column(0), batch.column(1), batch.column(2), c],
                                             ["node", "nbrs", "w", "cum"])

    rows = rows.mapInArrow(add_cum, "node int, nbrs array<int>, w array<double>, cum array<double>")
    # hubs: replicas 0..salt-1 of each hot vertex, replica 0 only of the others
    indeg = e.groupBy(F.col("d").alias("node")).agg(F.count(F.lit(1)).alias("indeg"))
    hot = indeg.filter(F.col("indeg") >= hot_degree).select("node", F.lit(salt).alias("n_salt"))
    hot = F.broadcast(hot.persist())
    reps = rows.join(hot, "node", "left").withColumn("n_salt", F.coalesce("n_salt", F.lit(1))) \
        .withColumn("salt", F.explode(F.sequence(F.lit(0), F.col("n_salt") - 1))).drop("n_salt")
    vpath = f"{work}/vertices"
    reps.write.mode("overwrite").parquet(vpath)
    V = spark.read.parquet(vpath)

    def salted(df, key, k):
        # replica of the vertex in ``key`` this walker joins: hash(walk id, step, k) among n_salt
        h = F.abs(F.xxhash64("walk_id", F.lit(k)))
        return df.join(hot.withColumnRenamed("node", key), key, "left") \
            .withColumn(f"salt_{k}", F.when(F.col("n_salt").isNull(), 0).otherwise(h % F.col("n_salt")).cast("int")) \
            .drop("n_salt")

    a, b = _round_params(n, walks_per_node, seed)
    W = spark.range(0, n * walks_per_node, numPartitions=partitions).withColumnRenamed("id", "walk_id") \
        .select("walk_id", _start_col(F, n, a, b).alias("cur"), F.lit(-1).cast("int").alias("prev"))
    W = W.withColumn("path", F.array("cur"))
    empty_i = F.array().cast("array<int>")
    empty_d = F.array().cast("array<double>")
    chunks = []
    schema = "walk_id long, cur int, prev int, path array<int>"
    for step in range(1, walk_length):
        J = salted(W, "cur", 0)
        J = J.join(V.select(F.col("node").alias("cur"), F.col("salt").alias("salt_0"), "nbrs", "w", "cum"),
                   ["cur", "salt_0"], "left")
        cols = ["walk_id", "cur", "prev", F.coalesce("nbrs", empty_i).alias("nbrs"),
                F.coalesce("w", empty_d).alias("w"), F.coalesce("cum", empty_d).alias("cum")]
        if second:
            J = salted(J, "prev", 1)
            J = J.join(V.select(F.col("node").alias("prev"), F.col("salt").alias("salt_1"),
                                F.col("nbrs").alias("tnbrs")), ["prev", "salt_1"], "left")
            cols.append(F.coalesce("tnbrs", empty_i).alias("tnbrs"))
        cols.append("path")
        J = J.select(*cols)

        def fn(batches, step=step):
            return step_partition(batches, step, seed_hash, second, 1.0 / p, 1.0 / q)

        W = J.mapInArrow(fn, schema)
        if step % checkpoint_every == 0 or step == walk_length - 1:
            # truncate the lineage; the path chunk stays in this folder, finished walkers drop out
            spath = f"{work}/state_{step:06d}"
            W.write.mode("overwrite").parquet(spath)
            chunks.append((step, spath))
            W = spark.read.parquet(spath).filter(F.col("cur") >= 0).withColumn("path", empty_i)
    parts = [spark.read.parquet(sp).select("walk_id", F.lit(s).alias("chunk"), "path") for s, sp in chunks]
    allc = parts[0]
    for part in parts[1:]:
        allc = allc.unionByName(part)
    walks = allc.groupBy("walk_id").agg(F.array_sort(F.collect_list(F.struct("chunk", "path"))).alias("c")) \
        .select("walk_id", F.flatten(F.col("c.path")).alias("walk"))
    return walks


# -- public --------------------------------------------------------------------------------
def spark_walks(graph, output=None, *, spark=None, method: str = "deepwalk", p: float = 1.0, q: float = 1.0,
                walks_per_node: int = 10, walk_length: int = 80, seed: int = 1, mode: str = "broadcast",
                partitions: int | None = None, checkpoint_every: int = 5, salt: int = 8,
                hot_degree: int | None = None, work_dir=None, vocab=None):
    """Random walks on an item graph with Spark; written as Parquet ``(walk_id, walk array<int>)``.

    Parameters
    ----------
    graph : edge table (Parquet path or DataFrame) with ``src, dst, weight``; the graph is directed.
    output : where to write the walks (its vocabulary goes to :func:`recembed.spark.vocab_path`);
        ``None``: return the DataFrame without writing (``mode="join"`` needs ``work_dir`` then).
    method : ``"deepwalk"`` (first order, weighted) or ``"node2vec"`` (``p``, ``q``).
    mode : ``"broadcast"`` (CSR broadcast, local numba kernel) or ``"join"`` (one join per step).
    partitions : partitions of walk ids (default: ``spark.default.parallelism``, at least 2).
    checkpoint_every : ``mode="join"``: write walkers to Parquet every this many steps. With a
        broadcast vertex table the steps in between run pipelined in one stage, each with
        its own Python worker per task (~250 MB with numba), so this also bounds memory.
    salt, hot_degree : ``mode="join"``: vertices with in-degree >= ``hot_degree`` (default:
        edges / (4 * shuffle partitions), at least 1000) get ``salt`` replicas.
    work_dir : ``mode="join"`` scratch folder (default: a new folder beside ``output``,
        removed after success; a given folder is left as it is).

    Returns
    -------
    (walks, vocab) : DataFrames; walks read back from ``output`` when written.

    Examples
    --------
    >>> walks, vocab = spark_walks("edges.parquet", "walks.parquet", walk_length=20)  # doctest: +SKIP
    >>> from recembed.spark import read_walks  # doctest: +SKIP
    >>> corpus = read_walks("walks.parquet")  # doctest: +SKIP
    """
    require_pyspark()
    if method not in ("deepwalk", "node2vec"):
        raise InputError(f"method must be 'deepwalk' or 'node2vec', got {method!r}")
    if mode not in ("broadcast", "join"):
        raise InputError(f"mode must be 'broadcast' or 'join', got {mode!r}")
    check_positive("p", p)
    check_positive("q", q)
    if method == "deepwalk" and (p != 1 or q != 1):
        raise InputError(f"deepwalk walks are first order; got p={p}, q={q} (use method='node2vec')")
    for name, v in (("walks_per_node", walks_per_node), ("walk_length", walk_length),
                    ("checkpoint_every", checkpoint_every), ("salt", salt)):
        check_positive(name, v, integer=True)
    spark = spark or get_spark()
    e, v = load_graph_tables(spark, graph, vocab)
    vt = v.toArrow()
    idx = vt.column("index").to_numpy()
    n = len(idx)
    if n == 0:
        raise InputError("the graph has no nodes")
    keys = np.empty(n, dtype=object)
    keys[idx] = vt.column("id").to_pylist()
    partitions = partitions or max(2, spark.sparkContext.defaultParallelism)
    created = None
    bc = None
    try:
        if mode == "broadcast":
            walks, bc = _broadcast_walks(spark, e, n, keys, p, q, walks_per_node, walk_length, seed, partitions)
        else:
            if work_dir is None:
                if output is None:
                    raise InputError("mode='join' without output needs work_dir")
                if is_uri(output):
                    created = str(output).rstrip("/") + f".work-{uuid.uuid4().hex[:8]}"
                else:
                    parent = Path(output).resolve().parent
                    parent.mkdir(parents=True, exist_ok=True)
                    created = tempfile.mkdtemp(prefix=f".{Path(output).name}.work.", dir=parent)
                work = created
            else:
                work = str(work_dir)
            if hot_degree is None:
                shuffle = int(spark.conf.get("spark.sql.shuffle.partitions"))
                hot_degree = max(1000, e.count() // (4 * shuffle))
            e = e.persist()
            walks = _join_walks(spark, e, n, p, q, walks_per_node, walk_length, seed, partitions, work,
                                checkpoint_every, salt, hot_degree)
        vocab_df = v.select("id", "index")
        if output is None:
            return walks, vocab_df
        out = str(output)
        walks.write.mode("overwrite").parquet(out)
        vocab_df.write.mode("overwrite").parquet(str(vocab_path(out)))
        return spark.read.parquet(out), spark.read.parquet(str(vocab_path(out)))
    finally:
        if created is not None:
            delete(spark, created)  # our own scratch folder only
        if bc is not None and output is not None:
            bc.unpersist()
