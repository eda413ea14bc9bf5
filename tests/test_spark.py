"""Spark backend: item graph equal to the local one, walks with the local transition law.

One ``local[2]`` session for the module (JVM start dominates); data is tiny. Skipped,
visibly, without pyspark or a Java runtime.
"""
from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from recembed._io import InputError

pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'recembed[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)", allow_module_level=True)


@pytest.fixture(scope="session")
def spark():
    from recembed.spark import get_spark

    # adaptive execution re-plans every stage: pure overhead on data this small
    s = get_spark("local[2]", shuffle_partitions=4, app_name="recembed-tests",
                  conf={"spark.sql.adaptive.enabled": "false", "spark.default.parallelism": "2",
                        "spark.sql.codegen.wholeStage": "false"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def _log(n=1500, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    log = pd.DataFrame({"user": rng.integers(0, 40, n).astype(str), "item": rng.integers(0, 30, n).astype(str),
                        "timestamp": rng.integers(0, 30000, n), "weight": rng.choice([1.0, 2.0, 0.5], n)})
    # ties on time: only file order says whether x -> y or y -> x
    ties = pd.DataFrame({"user": ["t"] * 4, "item": ["x", "y", "z", "x"], "timestamp": [5, 5, 5, 7],
                         "weight": [1.0, 1.0, 2.0, 1.0]})
    return pd.concat([ties, log, ties.assign(user="u", item=["y", "x", "x", "z"])], ignore_index=True)


def _triples(g):
    k = g.vocab.keys
    s, d, w = g.edges()
    return sorted(zip(k[s].tolist(), k[d].tolist(), w.tolist()))


def test_graph_equals_local_cli_and_api(spark, tmp_path):
    from recembed.cli import main
    from recembed.graphs import build_item_graph
    from recembed.graphs.graph import Graph
    from recembed.spark.graph import build_item_graph_spark
    from recembed.spark.io import read_graph

    log = tmp_path / "log.csv"
    _log().to_csv(log, index=False)
    # the CLIs, default options (1h gap, ties in file order)
    assert main(["graph", "--log", str(log), "--output", str(tmp_path / "local.tsv"), "-q"]) == 0
    assert main(["spark", "graph", "--log", str(log), "--output", str(tmp_path / "e.parquet"), "-q"]) == 0
    local = Graph.from_edgelist(tmp_path / "local.tsv", directed=True)
    sg = read_graph(tmp_path / "e.parquet")
    assert _triples(sg) == _triples(local) and len(_triples(local)) > 100
    assert ("x", "y", 1.0) in _triples(sg) and ("y", "x", 1.0) in _triples(sg)
    vocab = pd.read_parquet(tmp_path / "e.vocab.parquet")
    assert sorted(vocab["index"]) == list(range(len(vocab))) == list(range(sg.n_nodes))
    # every filter, event weights, a short gap
    kw = dict(session_gap=900, dwell_min=20, max_user_events=60, min_item_count=40, min_edge_weight=1.5,
              use_event_weights=True)
    g, _ = build_item_graph(log, **kw)
    build_item_graph_spark(str(log), str(tmp_path / "f.parquet"), spark=spark, **kw)
    assert _triples(read_graph(tmp_path / "f.parquet")) == _triples(g)
    # a log without a header line, columns named by --names (Taobao's layout), equals the local graph
    bare = tmp_path / "bare.csv"
    frame = pd.read_csv(log, dtype=str)
    frame.to_csv(bare, index=False, header=False)
    names = ",".join(frame.columns)
    assert main(["spark", "graph", "--log", str(bare), "--names", names, "--output", str(tmp_path / "n.parquet"),
                 "-q"]) == 0
    assert _triples(read_graph(tmp_path / "n.parquet")) == _triples(local)


def test_graph_from_frames_and_bad_input(spark, tmp_path):
    from recembed.spark.graph import build_item_graph_spark

    log = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "b"], "timestamp": [0, 10, 20, 0, 5]})
    edges, vocab = build_item_graph_spark(log, spark=spark)
    assert sorted(map(tuple, edges.collect())) == [("a", "b", 2.0), ("b", "c", 1.0)]
    assert sorted(r["index"] for r in vocab.collect()) == [0, 1, 2]

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"user": [1, 2], "item": ["a", "b"], "timestamp": ["1", "soon"]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="does not parse as a time"):
        build_item_graph_spark(str(bad), spark=spark)
    with pytest.raises(InputError, match="missing column"):
        build_item_graph_spark(str(bad), spark=spark, user_col="uid")


# -- walks -------------------------------------------------------------------------------------
EDGES = pd.DataFrame({"src": list("aabbccddae"), "dst": list("bcacdaabde"[:-1] + "a"),
                      "weight": [1.0, 3.0, 2.0, 1.0, 1.0, 4.0, 1.0, 2.0, 1.0, 5.0]})
P, Q = 0.5, 2.0


def _law(edges, p=1.0, q=1.0):
    """Exact next-step probabilities: {(prev or None, cur): {next: prob}}."""
    out = {}
    nb = {}
    for s, d, w in edges.itertuples(index=False):
        nb.setdefault(s, {})[d] = nb.get(s, {}).get(d, 0) + w
    for v, row in nb.items():
        tot = sum(row.values())
        out[(None, v)] = {x: w / tot for x, w in row.items()}
        for t in nb:
            if v not in nb[t]:
                continue
            a = {x: w * (1 / p if x == t else (1.0 if x in nb.get(t, {}) else 1 / q)) for x, w in row.items()}
            tot2 = sum(a.values())
            out[(t, v)] = {x: w / tot2 for x, w in a.items()}
    return out


def _counts(walks, second):
    c = Counter()
    for w in walks:
        for i in range(1, len(w)):
            prev = w[i - 2] if (second and i >= 2) else None
            c[(prev, w[i - 1], w[i])] += 1
    return c


def _chi2_p(counts, law, second):
    from scipy import stats

    stat, dof = 0.0, 0
    for ctx, probs in law.items():
        if (ctx[0] is not None) != second:
            continue  # node2vec: second-order contexts only (first steps are checked by the deepwalk runs)
        obs = np.array([counts.get((*ctx, x), 0) for x in probs], dtype=float)
        n = obs.sum()
        if n < 30 or len(probs) < 2:
            continue
        exp = n * np.array(list(probs.values()))
        stat += float(((obs - exp) ** 2 / exp).sum())
        dof += len(probs) - 1
    assert dof > 3
    return stats.chi2.sf(stat, dof)


@pytest.fixture(scope="module")
def walk_runs(spark, tmp_path_factory):
    from recembed.spark import read_walks
    from recembed.spark.walks import spark_walks

    d = tmp_path_factory.mktemp("walks")
    EDGES.to_parquet(d / "edges.parquet")
    runs = {}
    for mode, length in (("broadcast", 8), ("join", 4)):
        for method, p, q in (("deepwalk", 1.0, 1.0), ("node2vec", P, Q)):
            out = d / f"{mode}-{method}.parquet"
            spark_walks(str(d / "edges.parquet"), str(out), spark=spark, method=method, p=p, q=q, mode=mode,
                        walks_per_node=400, walk_length=length, seed=3, checkpoint_every=2, salt=3, hot_degree=2)
            c = read_walks(out)
            runs[mode, method] = list(c)
    return runs


@pytest.mark.parametrize("mode", ["broadcast", "join"])
def test_walks_follow_the_transition_law(walk_runs, mode):
    dw, n2v = walk_runs[mode, "deepwalk"], walk_runs[mode, "node2vec"]
    assert len(dw) == 5 * 400 and Counter(w[0] for w in dw) == {k: 400 for k in "abcde"}
    assert _chi2_p(_counts(dw, False), _law(EDGES), False) > 1e-3
    assert _chi2_p(_counts(n2v, True), _law(EDGES, P, Q), True) > 1e-3


def test_local_walks_follow_the_same_law():
    from recembed.graphs.graph import Graph
    from recembed.walks.engine import random_walks

    g = Graph.from_edges(EDGES.src, EDGES.dst, EDGES.weight, directed=True)
    walks = list(random_walks(g, walks_per_node=400, walk_length=5, p=P, q=Q, seed=3))
    assert _chi2_p(_counts(walks, True), _law(EDGES, P, Q), True) > 1e-3


def test_modes_agree_in_distribution(walk_runs):
    from scipy import stats

    for method in ("deepwalk", "node2vec"):
        # same starts, walk prefixes of the join runs' length: compare next-node counts per context
        a = _counts([w[:4] for w in walk_runs["broadcast", method]], True)
        b = _counts(walk_runs["join", method], True)
        stat, dof = 0.0, 0
        for ctx in {k[:2] for k in a} | {k[:2] for k in b}:
            xs = sorted({k[2] for k in (*a, *b) if k[:2] == ctx})
            table = np.array([[a.get((*ctx, x), 0) for x in xs], [b.get((*ctx, x), 0) for x in xs]], dtype=float)
            if len(xs) < 2 or table.sum(axis=1).min() < 30:
                continue
            s, _, df, _ = stats.chi2_contingency(table, correction=False)
            stat, dof = stat + s, dof + df
        assert dof > 3 and stats.chi2.sf(stat, dof) > 1e-3


def test_walks_identical_across_retries(spark):
    """A recomputed (retried) partition writes the same walks, whatever the partitioning."""
    import pyarrow as pa

    from recembed.spark.walks import spark_walks, step_partition

    e = spark.createDataFrame(EDGES)
    w1, _ = spark_walks(e, spark=spark, method="node2vec", p=P, q=Q, walks_per_node=3, walk_length=6, seed=9,
                        partitions=2)
    w2, _ = spark_walks(e, spark=spark, method="node2vec", p=P, q=Q, walks_per_node=3, walk_length=6, seed=9,
                        partitions=3)
    t1 = w1.toArrow().sort_by("walk_id")
    assert t1.equals(w2.toArrow().sort_by("walk_id"))
    assert t1.equals(w1.toArrow().sort_by("walk_id"))  # recomputed from scratch
    # one join step run twice on the same batch (what a task retry does)
    batch = pa.RecordBatch.from_pydict({
        "walk_id": pa.array([0, 1, 2], pa.int64()), "cur": pa.array([0, 1, -1], pa.int32()),
        "prev": pa.array([1, -1, -1], pa.int32()),
        "nbrs": pa.array([[1, 2], [0], []], pa.list_(pa.int32())),
        "w": pa.array([[1.0, 3.0], [2.0], []], pa.list_(pa.float64())),
        "cum": pa.array([[1.0, 4.0], [2.0], []], pa.list_(pa.float64())),
        "tnbrs": pa.array([[0], [], []], pa.list_(pa.int32())),
        "path": pa.array([[1, 0], [1], [4]], pa.list_(pa.int32()))})
    runs = [list(step_partition(iter([batch]), 5, np.uint64(77), True, 2.0, 0.5)) for _ in range(2)]
    assert runs[0][0].equals(runs[1][0])
    out = runs[0][0].to_pydict()
    assert out["cur"][1] == 0 and out["cur"][2] == -1 and out["path"][2] == [4]
    assert out["path"][0] == [1, 0, out["cur"][0]] and out["prev"][0] == 0


def test_train_from_walks_cli(walk_runs, tmp_path):
    from recembed.cli import main
    from recembed.spark.io import read_walks
    from recembed.spark.walks import spark_walks  # noqa: F401

    pd.DataFrame({"walk_id": np.arange(len(walk_runs["broadcast", "deepwalk"])),
                  "walk": walk_runs["broadcast", "deepwalk"]}).to_parquet(tmp_path / "w.parquet")
    c = read_walks(tmp_path / "w.parquet", batch_size=100)  # many small batches: the growing buffers
    assert len(c) == 2000 and [c.vocab.keys[t] for t in c.sequence(7)] == walk_runs["broadcast", "deepwalk"][7]
    out = tmp_path / "v.emb"
    assert main(["embed", "word2vec", "--walks", str(tmp_path / "w.parquet"), "--output", str(out), "--dim", "8",
                 "--threads", "2", "--seed", "1"]) == 0
    assert out.read_text().splitlines()[0].split() == ["5", "8"]


def test_help_without_pyspark(monkeypatch, capsys):
    import importlib.util
    import sys

    from recembed.cli import build_parser
    from recembed.spark import require_pyspark

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["spark", "--help"])
    assert "pip install 'recembed[spark]'" in capsys.readouterr().out.replace("\n", " ")
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(InputError, match="needs pyspark"):
        require_pyspark()


@pytest.mark.parametrize("module", ["recembed.spark.io", "recembed.spark.walks"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
