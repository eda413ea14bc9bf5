"""DeepWalk and Node2Vec: the estimator contract, inputs (graph, path, log), communities, features, CLI."""
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from contract import EstimatorContract
from recembed import Embeddings, InputError
from recembed.cli import main
from recembed.graphs import Graph
from recembed.models.deepwalk import DeepWalk
from recembed.models.node2vec import Node2Vec, node2vec_features

SMALL = dict(dim=16, walks_per_node=5, walk_length=20, window=3, threads=1)


def two_communities() -> Graph:
    """Two 8-cliques joined by one bridge edge."""
    G = nx.barbell_graph(8, 0)
    return Graph.from_networkx(G)


class TestDeepWalkContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return DeepWalk(seed=seed, **SMALL)

    def make_input(self):
        return two_communities()


class TestNode2VecContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return Node2Vec(p=0.5, q=2.0, seed=seed, **SMALL)

    def make_input(self):
        return two_communities()


def community_gap(emb: Embeddings) -> float:
    u = emb.unit_vectors[[emb.index_of(str(i)) for i in range(16)]]
    sim = u @ u.T
    same = np.add.outer(np.arange(16) < 8, np.arange(16) < 8) != 1
    off = ~np.eye(16, dtype=bool)
    return sim[same & off].mean() - sim[~same].mean()


@pytest.mark.parametrize("cls,kw", [(DeepWalk, {}), (Node2Vec, dict(p=1, q=0.5)), (Node2Vec, dict(p=0.25, q=4))])
def test_nodes_of_one_community_are_closer(cls, kw):
    # sample=0: with 16 nodes every node is "frequent" and sample=1e-3 would drop most tokens
    model = cls(dim=16, walks_per_node=20, walk_length=20, window=4, sample=0, threads=1, seed=3, **kw)
    model.fit(two_communities())
    assert sorted(model.embeddings_.keys.tolist(), key=int) == [str(i) for i in range(16)]
    assert community_gap(model.embeddings_) > 0.3
    assert model.n_walks_ == 16 * 20 and model.n_tokens_ == 16 * 20 * 20


def test_fit_on_edge_list_path_and_on_behaviour_log(tmp_path):
    edges = tmp_path / "edges.txt"
    two_communities().to_edgelist(edges)
    a = DeepWalk(**SMALL).fit(edges)
    b = DeepWalk(**SMALL).fit(two_communities())
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)
    log = tmp_path / "log.csv"
    pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": ["a", "b", "c", "b", "c", "d"],
                  "timestamp": [0, 1, 2, 0, 1, 2]}).to_csv(log, index=False)
    m = Node2Vec(p=1, q=2, **SMALL).fit(log)
    assert sorted(m.embeddings_.keys.tolist()) == ["a", "b", "c", "d"]
    assert "transitions" in m.graph_summary_
    m2 = Node2Vec(p=1, q=2, item_graph=dict(session_gap=None), **SMALL).fit(pd.read_csv(log))
    assert m2.embeddings_.keys.tolist() == m.embeddings_.keys.tolist()


def test_weighted_false_ignores_weights():
    g = Graph.from_edges(["a", "b", "c"], ["b", "c", "a"], [100.0, 1.0, 1.0])
    m = DeepWalk(weighted=False, **SMALL).fit(g)
    u = DeepWalk(**SMALL).fit(Graph.from_edges(["a", "b", "c"], ["b", "c", "a"]))
    np.testing.assert_array_equal(m.embeddings_.vectors, u.embeddings_.vectors)


def test_node2vec_features_concat_and_separate():
    g = two_communities()
    both = node2vec_features(g, **SMALL)
    h, s = node2vec_features(g, combine="separate", **SMALL)
    assert both.dim == 32 and h.dim == s.dim == 16
    np.testing.assert_array_equal(both["0"], np.concatenate([h["0"], s["0"]]))
    assert not np.array_equal(h.vectors, s.vectors)
    with pytest.raises(InputError):
        node2vec_features(g, combine="zip")


@pytest.mark.parametrize("kw", [dict(p=0), dict(q=-1), dict(p=float("nan")), dict(walk_length=0),
                                dict(walks_per_node=1.5), dict(weighted="yes"), dict(mode="dense")])
def test_bad_parameters(kw):
    with pytest.raises(InputError):
        Node2Vec(**{**SMALL, **kw}).fit(two_communities())


def test_bad_inputs(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a b 1\nb c -2\n")
    with pytest.raises(InputError, match=r"bad.txt:2"):
        DeepWalk(**SMALL).fit(bad)
    with pytest.raises(InputError, match="no edges"):
        DeepWalk(**SMALL).fit(Graph.from_edges([], [], nodes=["a", "b"]))
    with pytest.raises(InputError):
        DeepWalk(**SMALL).fit(42)


def test_cli_embed_node2vec_and_deepwalk(tmp_path):
    edges = tmp_path / "edges.txt"
    two_communities().to_edgelist(edges)
    out = tmp_path / "n2v.emb"
    assert main(["embed", "node2vec", "--input", str(edges), "--output", str(out), "--p", "0.5", "--q", "2",
                 "--walks-per-node", "5", "--walk-length", "20", "--window", "3", "--dim", "8", "--threads", "1",
                 "--seed", "2", "--quiet"]) == 0
    emb = Embeddings.load(out)
    assert emb.dim == 8 and len(emb) == 16
    log = tmp_path / "log.csv"
    pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "b", "c"],
                  "timestamp": [0, 1, 2, 0, 1]}).to_csv(log, index=False)
    out2 = tmp_path / "dw.npz"
    assert main(["embed", "deepwalk", "--log", str(log), "--output", str(out2), "--dim", "4",
                 "--walks-per-node", "2", "--walk-length", "5", "--quiet"]) == 0
    assert sorted(Embeddings.load(out2).keys.tolist()) == ["a", "b", "c"]
    with pytest.raises(SystemExit) as e:  # argparse rejects q <= 0 before any work
        main(["embed", "node2vec", "--input", str(edges), "--output", str(out), "--q", "0"])
    assert e.value.code == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\nc\n")
    assert main(["embed", "deepwalk", "--input", str(bad), "--output", str(tmp_path / "x.emb")]) == 2
    assert not (tmp_path / "x.emb").exists()
