"""Node classification, link prediction, plots and the evaluate/plot commands.

Each check has a known right answer: hand-computed F1, embeddings that encode the labels
(F1 = 1) or nothing (chance), an oracle embedding (AUC = 1), graph facts checked by scipy.
"""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components

from recembed import Embeddings, InputError
from recembed.cli import main
from recembed.evaluation import (EdgeSplit, as_label_pairs, edge_features, f1_scores, link_prediction,
                                 node_classification, read_labels, roc_auc, spectral_embeddings, split_edges,
                                 top_k_predictions)
from recembed.graphs.graph import Graph

pytest.importorskip("sklearn")


# -- F1 and top-k --------------------------------------------------------------------------------
def test_f1_hand_made_multilabel():
    # 3 nodes, 3 labels. truth: {0}, {1, 2}, {0, 2}; prediction: {0}, {1}, {2, 1}
    t = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 1]], bool)
    p = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1]], bool)
    # TP: label0 1, label1 1, label2 1 -> 3; FP: label1 1 -> 1; FN: label0 1, label2 1 -> 2
    micro, macro = f1_scores(t, p)
    assert micro == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    # per label: 0: 2/(2+0+1)=2/3; 1: 2/(2+1+0)=2/3; 2: 2/(2+0+1)=2/3
    assert macro == pytest.approx(2 / 3)


def test_f1_agrees_with_sklearn_and_skips_absent_labels():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    t = rng.random((50, 6)) < 0.3
    p = rng.random((50, 6)) < 0.3
    t[:, 5] = p[:, 5] = False  # a label nobody has and nobody predicts: no defined F1, left out
    micro, macro = f1_scores(t, p)
    assert micro == pytest.approx(f1_score(t, p, average="micro"))
    assert macro == pytest.approx(f1_score(t[:, :5], p[:, :5], average="macro"))


def test_top_k_uses_each_rows_k():
    s = np.array([[0.9, 0.8, 0.1, 0.5],
                  [0.1, 0.2, 0.3, 0.4],
                  [0.5, 0.5, 0.5, 0.5]])
    pred = top_k_predictions(s, np.array([2, 1, 3]))
    assert pred.astype(int).tolist() == [[1, 1, 0, 0], [0, 0, 0, 1], [1, 1, 1, 0]]
    assert pred.sum(axis=1).tolist() == [2, 1, 3]


# -- node classification ---------------------------------------------------------------------------
def _multilabel_data(n=400, n_labels=6, seed=0):
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, n_labels), bool)
    for i in range(n):
        Y[i, rng.choice(n_labels, rng.integers(1, 4), replace=False)] = True
    labels = {f"n{i}": [f"L{j}" for j in np.flatnonzero(Y[i])] for i in range(n)}
    return Y, labels, rng


def test_perfect_embeddings_give_f1_one_multilabel():
    Y, labels, rng = _multilabel_data()
    # the vector is the label indicator (plus noise): a linear classifier separates every label,
    # and top-k with the true k then predicts exactly the true set
    emb = Embeddings(list(labels), 4.0 * Y + 0.05 * rng.normal(size=Y.shape))
    res = node_classification(emb, labels, train_ratio=0.5, repeats=3, seed=0)
    assert res.multilabel
    assert res.micro_f1_mean == pytest.approx(1.0, abs=1e-9)
    assert res.macro_f1_mean == pytest.approx(1.0, abs=1e-9)
    assert res.micro_f1.shape == (3,) and res.n_train == 200 and res.n_test == 200
    assert "Micro-F1 1.0000" in str(res)


@pytest.mark.parametrize("multi", [True, False])
def test_node_classification_matches_a_one_vs_rest_reference(multi):
    # the GraphEmbedding / OpenNE scorer: sklearn OneVsRestClassifier(LogisticRegression()) (lbfgs),
    # predict_proba, the k highest labels per node, sklearn's f1_score; same splits as ours
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier

    if multi:
        Y, labels, rng = _multilabel_data(n=300, seed=7)
    else:
        rng = np.random.default_rng(8)
        Y = np.eye(5, dtype=bool)[rng.integers(0, 5, 300)]
        labels = {f"n{i}": [f"L{j}" for j in np.flatnonzero(Y[i])] for i in range(300)}
    X = (Y + 1.2 * rng.normal(size=Y.shape)).astype(np.float32)
    emb = Embeddings(list(labels), X)
    res = node_classification(emb, labels, train_ratio=0.8, repeats=3, seed=4, solver="lbfgs")
    assert res.multilabel == multi
    n_train = int(round(0.8 * len(X)))
    for r in range(3):
        perm = np.random.default_rng([4, r]).permutation(len(X))
        tr, te = perm[:n_train], perm[n_train:]
        clf = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(X[tr], Y[tr].astype(int))
        probs = clf.predict_proba(X[te])
        k = Y[te].sum(axis=1)
        pred = np.zeros_like(Y[te])
        for i in range(len(te)):
            pred[i, np.argsort(probs[i])[::-1][:k[i]]] = True
        present = np.flatnonzero(Y[te].any(axis=0) | pred.any(axis=0))
        assert res.micro_f1[r] == pytest.approx(f1_score(Y[te], pred, average="micro"), abs=1e-12)
        assert res.macro_f1[r] == pytest.approx(f1_score(Y[te], pred, average="macro", labels=present), abs=1e-12)


def test_random_embeddings_are_near_chance():
    rng = np.random.default_rng(1)
    n = 1200
    y = rng.integers(0, 4, n)
    emb = Embeddings([str(i) for i in range(n)], rng.normal(size=(n, 16)))
    res = node_classification(emb, pd.DataFrame({"node": np.arange(n).astype(str), "label": y}), repeats=4)
    assert not res.multilabel
    assert 0.18 < res.micro_f1_mean < 0.32  # chance is 0.25 for 4 balanced classes
    assert res.micro_f1_std < 0.05


def test_only_nodes_with_both_are_used_and_counted():
    rng = np.random.default_rng(2)
    emb = Embeddings([f"v{i}" for i in range(100)], rng.normal(size=(100, 4)))
    labels = {f"v{i}": "a" if i % 2 else "b" for i in range(60)}
    labels.update({f"ghost{i}": "a" for i in range(7)})
    res = node_classification(emb, labels, repeats=1)
    assert res.n_nodes == 60
    assert res.n_labelled_without_vector == 7
    assert res.n_vectors_without_label == 40
    assert "7 labelled nodes without a vector" in str(res)


def test_label_forms_agree_and_results_are_reproducible(tmp_path):
    Y, labels, rng = _multilabel_data(n=120, seed=3)
    emb = Embeddings(list(labels), Y + 0.8 * rng.normal(size=Y.shape))
    f = tmp_path / "labels.txt"
    f.write_text("node label\n" + "".join(f"{n} {' '.join(ls)}\n" for n, ls in labels.items()))
    pairs = as_label_pairs(labels)
    runs = [node_classification(emb, form, repeats=2, seed=5) for form in (labels, pairs, f, str(f))]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.micro_f1, runs[0].micro_f1)
        np.testing.assert_array_equal(r.macro_f1, runs[0].macro_f1)
    other = node_classification(emb, labels, repeats=2, seed=6)
    assert not np.array_equal(other.micro_f1, runs[0].micro_f1)


def test_read_labels_formats_and_errors(tmp_path):
    f = tmp_path / "l.txt"
    f.write_text("# comment\n007,x\n\n008 y z\n007 x\n")
    assert read_labels(f).values.tolist() == [["007", "x"], ["008", "y"], ["008", "z"]]
    bad = tmp_path / "bad.txt"
    bad.write_text("a x\nlonely\n")
    with pytest.raises(InputError, match=r"bad.txt:2:"):
        read_labels(bad)


@pytest.mark.parametrize("kw", [{"train_ratio": 0}, {"train_ratio": 1.0}, {"repeats": 0}])
def test_node_classification_rejects_bad_parameters(kw):
    emb = Embeddings(["a", "b", "c"], np.eye(3))
    with pytest.raises(InputError):
        node_classification(emb, {"a": 1, "b": 2, "c": 1}, **kw)


def test_no_overlap_is_a_clear_error():
    emb = Embeddings(["a", "b"], np.eye(2))
    with pytest.raises(InputError, match="ids match"):
        node_classification(emb, {"x": 1, "y": 2})


# -- link prediction: the split ---------------------------------------------------------------------
def _random_graph(n=300, m=1500, seed=0, directed=False):
    rng = np.random.default_rng(seed)
    # a ring guarantees connectivity; random chords make it non-trivial
    s = np.r_[np.arange(n), rng.integers(0, n, m)]
    d = np.r_[(np.arange(n) + 1) % n, rng.integers(0, n, m)]
    return Graph.from_edges(s.astype(str), d.astype(str), directed=directed)


def _keys(pairs, n, directed):
    u, v = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    if not directed:
        u, v = np.minimum(u, v), np.maximum(u, v)
    return u * n + v


@pytest.mark.parametrize("directed", [False, True])
def test_split_keeps_connected_and_holds_out_the_fraction(directed):
    g = _random_graph(directed=directed)
    n = g.n_nodes
    s, d, _ = g.edges()
    loops = int(np.count_nonzero(s == d))
    m = g.n_edges - loops
    split = split_edges(g, test_fraction=0.5, seed=3)
    r = split.residual
    # directed: a reciprocal pair leaves as one unit, so the count can overshoot by one arc
    assert round(0.5 * m) <= len(split.test_pos) <= round(0.5 * m) + directed
    assert r.n_edges == g.n_edges - len(split.test_pos)
    assert np.array_equal(r.vocab.keys, g.vocab.keys)
    conn = "weak" if directed else "strong"
    assert connected_components(r.to_scipy(), directed=directed, connection=conn)[0] == \
        connected_components(g.to_scipy(), directed=directed, connection=conn)[0] == 1
    edge_keys = set(_keys(np.column_stack([s, d]), n, directed).tolist())
    rs, rd, _ = r.edges()
    residual_keys = set(_keys(np.column_stack([rs, rd]), n, directed).tolist())
    test_keys = _keys(split.test_pos, n, directed)
    assert set(test_keys.tolist()) <= edge_keys and not set(test_keys.tolist()) & residual_keys
    assert len(set(test_keys.tolist())) == len(test_keys)
    # negatives: as many, distinct, not edges, no self-pairs, train and test disjoint
    for name in ("test_neg", "train_neg"):
        neg = getattr(split, name)
        k = _keys(neg, n, directed)
        assert (neg[:, 0] != neg[:, 1]).all()
        assert len(set(k.tolist())) == len(k)
        assert not set(k.tolist()) & edge_keys
    assert len(split.test_neg) == len(split.test_pos)
    assert len(split.train_neg) == len(split.train_pos) == r.n_edges - int(np.count_nonzero(rs == rd))
    assert not set(_keys(split.test_neg, n, directed).tolist()) & set(_keys(split.train_neg, n, directed).tolist())
    assert not set(_keys(split.train_pos, n, directed).tolist()) & set(test_keys.tolist())


def test_directed_split_holds_out_both_arcs_of_a_reciprocal_pair():
    # the edge operators are symmetric: a held-out u -> v whose v -> u stayed in training would be
    # a test positive the classifier has already seen labelled 1
    rng = np.random.default_rng(4)
    n = 200
    s = np.r_[np.arange(n), rng.integers(0, n, 800)]
    d = np.r_[(np.arange(n) + 1) % n, rng.integers(0, n, 800)]
    both = rng.random(len(s)) < 0.5  # half the arcs also go back
    g = Graph.from_edges(np.r_[s, d[both]].astype(str), np.r_[d, s[both]].astype(str), directed=True)
    split = split_edges(g, test_fraction=0.5, seed=0)
    test_rev = set(_keys(split.test_pos[:, ::-1], n, True).tolist())
    rs, rd, _ = split.residual.edges()
    assert not test_rev & set(_keys(np.column_stack([rs, rd]), n, True).tolist())
    assert not test_rev & set(_keys(split.train_pos, n, True).tolist())
    gs, gd, _ = g.edges()
    edges = set(_keys(np.column_stack([gs, gd]), n, True).tolist())
    assert len(test_rev & edges) > 50  # reciprocal pairs did go to the test set, both arcs


def test_split_rejects_a_bad_n_train():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="n_train"):
            split_edges(_random_graph(), n_train=bad)


def test_split_is_seeded():
    g = _random_graph(seed=4)
    a, b, c = split_edges(g, seed=1), split_edges(g, seed=1), split_edges(g, seed=2)
    assert np.array_equal(a.test_pos, b.test_pos) and np.array_equal(a.test_neg, b.test_neg)
    assert not np.array_equal(a.test_pos, c.test_pos)


def test_split_caps_at_the_spanning_forest_and_warns():
    # a 20-node path plus two chords: only 2 edges can go without disconnecting
    s = [str(i) for i in range(19)] + ["0", "5"]
    d = [str(i + 1) for i in range(19)] + ["2", "9"]
    g = Graph.from_edges(s, d)
    with pytest.warns(UserWarning, match="only 2 edges can be held out"):
        split = split_edges(g, test_fraction=0.5, seed=0)
    assert len(split.test_pos) == 2 and split.residual.n_edges == 19
    assert connected_components(split.residual.to_scipy(), directed=False)[0] == 1


def test_split_keeps_components_and_self_loops():
    # two components, each with a self-loop: components stay two, loops are never held out
    g = Graph.from_edges(["a", "b", "c", "a", "x", "y", "z", "x", "x"],
                         ["b", "c", "a", "a", "y", "z", "x", "w", "x"])
    split = split_edges(g, test_fraction=0.25, seed=0)  # 7 edges, forest of 5: 2 can go
    assert connected_components(split.residual.to_scipy(), directed=False)[0] == 2
    assert split.residual.edge_weight("a", "a") == 1 and split.residual.edge_weight("x", "x") == 1
    assert (split.test_pos[:, 0] != split.test_pos[:, 1]).all()


def test_split_without_keeping_connected_can_remove_any_edge():
    g = Graph.from_edges(["a", "b", "c"], ["b", "c", "d"])
    split = split_edges(g, test_fraction=0.6, seed=0, keep_connected=False)
    assert len(split.test_pos) == 2 and split.residual.n_edges == 1


def test_split_on_a_dense_graph_enumerates_non_edges():
    # complete graph on 12 nodes minus a perfect matching: exactly 6 non-edges exist
    nodes = [str(i) for i in range(12)]
    matching = {(str(i), str(i + 1)) for i in range(0, 12, 2)}
    pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:] if (a, b) not in matching]
    g = Graph.from_edges(*zip(*pairs))
    split = split_edges(g, test_fraction=0.05, seed=0, n_train=3)  # 3 test + 3 train negatives: all six
    keys = g.vocab.keys
    got = {tuple(sorted(p)) for p in keys[np.vstack([split.test_neg, split.train_neg])].tolist()}
    assert got == {tuple(sorted(p)) for p in matching}
    with pytest.raises(InputError, match="non-edges"):
        split_edges(g, test_fraction=0.05, seed=0)  # as many train negatives as residual edges: too many


def test_split_save_load_round_trip(tmp_path):
    g = _random_graph(n=60, m=200, seed=5)
    split = split_edges(g, 0.3, seed=0)
    split.save(tmp_path / "s")
    back = EdgeSplit.load(tmp_path / "s")
    assert back.residual == split.residual
    for name in ("test_pos", "test_neg", "train_pos", "train_neg"):
        np.testing.assert_array_equal(back.pairs(name), split.pairs(name))


# -- link prediction: scoring -----------------------------------------------------------------------
def _cliques(k=5, size=8):
    s, d = [], []
    for c in range(k):
        for i in range(size):
            for j in range(i + 1, size):
                s.append(f"c{c}_{i}")
                d.append(f"c{c}_{j}")
    return Graph.from_edges(s, d)


def test_oracle_embedding_gets_auc_one():
    g = _cliques()
    split = split_edges(g, test_fraction=0.5, seed=0)
    # every non-edge joins two cliques; the community one-hot separates them perfectly
    comm = np.array([int(k.split("_")[0][1:]) for k in g.keys])
    oracle = Embeddings(g.keys, np.eye(5)[comm])
    res = link_prediction(oracle, split)
    assert set(res.auc) == {"hadamard", "average", "l1", "l2", "dot", "cosine"}
    for name in ("hadamard", "l1", "l2", "dot", "cosine"):
        assert res.auc[name] == pytest.approx(1.0), name
    assert res.n_pairs_dropped == 0
    # random vectors: chance
    rnd = Embeddings(g.keys, np.random.default_rng(0).normal(size=(g.n_nodes, 8)))
    assert abs(link_prediction(rnd, split, operators=()).auc["cosine"] - 0.5) < 0.15


def test_missing_vectors_are_dropped_and_counted():
    g = _cliques(k=3, size=6)
    split = split_edges(g, test_fraction=0.5, seed=1)
    keys = [k for k in g.keys if k != "c0_0"]
    emb = Embeddings(keys, np.random.default_rng(0).normal(size=(len(keys), 4)))
    res = link_prediction(emb, split)
    involved = sum(int(np.count_nonzero((getattr(split, n) == g.vocab["c0_0"]).any(axis=1)))
                   for n in ("test_pos", "test_neg", "train_pos", "train_neg"))
    assert res.n_pairs_dropped == involved > 0


def test_roc_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40), rng.integers(0, 4, 60)
    y = np.r_[np.ones(40), np.zeros(60)]
    assert roc_auc(pos, neg) == pytest.approx(roc_auc_score(y, np.r_[pos, neg]))


def test_edge_operators():
    u, v = np.array([[1.0, -2.0]]), np.array([[3.0, 4.0]])
    assert edge_features(u, v, "hadamard").tolist() == [[3.0, -8.0]]
    assert edge_features(u, v, "average").tolist() == [[2.0, 1.0]]
    assert edge_features(u, v, "l1").tolist() == [[2.0, 6.0]]
    assert edge_features(u, v, "l2").tolist() == [[4.0, 36.0]]
    with pytest.raises(InputError, match="unknown edge operator"):
        edge_features(u, v, "concat")


def test_heuristics_agree_with_networkx():
    import networkx as nx

    from recembed.evaluation import heuristic_scores, link_heuristics

    g = _random_graph(n=80, m=300, seed=7)
    split = split_edges(g, test_fraction=0.3, seed=0)
    G = split.residual.to_networkx()
    G.remove_edges_from(nx.selfloop_edges(G))
    keys = g.vocab.keys
    pairs = np.vstack([split.test_pos[:20], split.test_neg[:20]])
    ours = heuristic_scores(split.residual, pairs)
    named = [(keys[a], keys[b]) for a, b in pairs]
    ref = {"jaccard": [p for *_, p in nx.jaccard_coefficient(G, named)],
           "adamic_adar": [p for *_, p in nx.adamic_adar_index(G, named)],
           "preferential_attachment": [p for *_, p in nx.preferential_attachment(G, named)],
           "common_neighbors": [len(list(nx.common_neighbors(G, a, b))) for a, b in named]}
    for name, values in ref.items():
        np.testing.assert_allclose(ours[name], values, err_msg=name)
    assert set(link_heuristics(split)) == {"common_neighbors", "jaccard", "adamic_adar", "preferential_attachment"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectral_baseline_with_repeated_singular_values(seed):
    # 4 disjoint cliques: singular value 1 four times; the embedding must span all four components
    g = _cliques(k=4, size=8)
    split = split_edges(g, test_fraction=0.5, seed=0)
    assert link_prediction(spectral_embeddings(split.residual, dim=4, seed=seed), split).auc["dot"] == 1.0


def test_spectral_baseline_beats_chance():
    g = _cliques(k=6, size=10)
    split = split_edges(g, test_fraction=0.3, seed=0)
    res = link_prediction(spectral_embeddings(split.residual, dim=8), split, operators=("hadamard",))
    assert res.auc["hadamard"] > 0.9 and res.auc["dot"] > 0.9


# -- commands -----------------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n"


def _write_emb(tmp_path, n_per=30, k=3, seed=0):
    rng = np.random.default_rng(seed)
    keys = [f"n{i}" for i in range(n_per * k)]
    y = np.repeat(np.arange(k), n_per)
    emb = Embeddings(keys, rng.normal(size=(len(keys), 8)) + 4 * np.eye(8)[y])
    path = tmp_path / "v.emb"
    emb.save(path)
    lab = tmp_path / "labels.txt"
    lab.write_text("node label\n" + "".join(f"{kk} c{c}\n" for kk, c in zip(keys, y)))
    return path, lab


def test_plot_command_writes_png(tmp_path, capsys):
    emb, lab = _write_emb(tmp_path)
    out = tmp_path / "map.png"
    assert main(["plot", str(emb), "--labels", str(lab), "-o", str(out), "--perplexity", "10"]) == 0
    data = out.read_bytes()
    assert data[:8] == PNG and len(data) > 5000
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.shape[0] > 400 and img.shape[1] > 400
    assert "tsne map: 90 of 90 vectors, 90 labelled, 3 colours" in capsys.readouterr().err


def test_plot_map_title_sample_and_groups(tmp_path):
    from recembed.evaluation.plot import plot_embeddings

    emb, _ = _write_emb(tmp_path)
    info = plot_embeddings(emb, tmp_path / "m.png", labels={"n0": "a", "n1": "b"}, method="pca", max_points=50)
    assert info["n_points"] == 50 and info["n_total"] == 90 and info["n_labelled"] <= 2
    assert info["title"] == "v.emb: PCA map, 50 of 90 points (random sample)"


def test_plot_refuses_a_non_png_path_before_projecting(tmp_path, monkeypatch):
    from recembed.evaluation import plot

    emb, _ = _write_emb(tmp_path)
    monkeypatch.setattr(plot, "project_2d", lambda *a, **k: pytest.fail("projected before checking the path"))
    with pytest.raises(InputError, match="PNG"):
        plot.plot_embeddings(emb, tmp_path / "m.jpg", method="tsne")
    assert not (tmp_path / "m.jpg").exists()


def test_plot_loss_from_csv_json_and_model(tmp_path):
    from recembed.evaluation.plot import read_losses

    csv = tmp_path / "l.csv"
    csv.write_text("epoch,loss\n1,3.0\n2,2.0\n3,1.5\n")
    js = tmp_path / "l.json"
    js.write_text(json.dumps({"loss": [3.0, 2.0]}))
    plain = tmp_path / "l.txt"
    plain.write_text("4\n3\n")
    for src in (csv, js, plain):
        out = tmp_path / f"{src.suffix[1:]}.png"
        assert main(["plot", "--loss", str(src), "-o", str(out)]) == 0
        assert out.read_bytes()[:8] == PNG
    assert read_losses(plain)["loss"].tolist() == [4.0, 3.0]
    # a saved model's loss_
    from recembed.models.base import EmbeddingEstimator

    class _Toy(EmbeddingEstimator):
        def __init__(self, dim=2):
            self.dim = dim

    toy = _Toy()
    toy.embeddings_ = Embeddings(["a"], np.zeros((1, 2)))
    toy.loss_ = [2.5, 1.25]
    toy.save(tmp_path / "m.npz")
    assert read_losses(tmp_path / "m.npz")["loss"].tolist() == [2.5, 1.25]


def test_plot_command_errors(tmp_path, capsys):
    emb, _ = _write_emb(tmp_path)
    assert main(["plot", str(emb), "-o", str(tmp_path / "x.jpg"), "--method", "pca"]) == 2
    assert "PNG" in capsys.readouterr().err
    assert main(["plot", "-o", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()


def test_evaluate_node_classification_command(tmp_path, capsys):
    emb, lab = _write_emb(tmp_path)
    out = tmp_path / "r.json"
    rc = main(["evaluate", "node-classification", "--emb", str(emb), "--labels", str(lab),
               "--train-ratio", "0.3", "0.7", "--repeats", "2", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "0.30" in text and "0.70" in text and "Micro-F1" in text
    res = json.loads(out.read_text())["results"]
    assert [r["train_ratio"] for r in res] == [0.3, 0.7]
    assert res[0]["micro_f1_mean"] > 0.9 and len(res[0]["micro_f1"]) == 2


def test_evaluate_link_prediction_command_with_saved_split(tmp_path, capsys):
    g = _cliques(k=4, size=8)
    edges = tmp_path / "g.edgelist"
    g.to_edgelist(edges)
    rc = main(["evaluate", "link-prediction", "--input", str(edges), "--method", "spectral", "--dim", "4",
               "--save-split", str(tmp_path / "split"), "--emb-out", str(tmp_path / "s.emb"),
               "--json", str(tmp_path / "r.json")])
    assert rc == 0
    first = json.loads((tmp_path / "r.json").read_text())
    assert first["heuristics"]["common_neighbors"] > 0.9  # cliques: every held-out edge has common neighbours
    assert first["auc"]["hadamard"] > 0.9 and first["n_test_pos"] == round(0.5 * g.n_edges)
    capsys.readouterr()
    rc = main(["evaluate", "link-prediction", "--split", str(tmp_path / "split"), "--emb", str(tmp_path / "s.emb"),
               "--json", str(tmp_path / "r2.json")])
    assert rc == 0
    assert json.loads((tmp_path / "r2.json").read_text())["auc"] == pytest.approx(first["auc"])
    # vectors without their split would be scored on edges they were trained on: refused
    assert main(["evaluate", "link-prediction", "--input", str(edges), "--emb", str(tmp_path / "s.emb")]) == 2
    assert main(["evaluate", "link-prediction", "--input", str(edges), "--method", "spectral",
                 "--walk-length", "5"]) == 2
    assert "does not apply" in capsys.readouterr().err


def test_evaluate_hook_adds_a_subcommand(capsys):
    from recembed.cli import evaluate as ev

    calls = []
    ev.add_evaluate_subcommand("toy-metric", "a toy", lambda p: p.add_argument("--k", type=int, default=1),
                               lambda args: calls.append(args.k) or 0)
    try:
        assert main(["evaluate", "toy-metric", "--k", "7"]) == 0
        assert calls == [7]
    finally:
        ev.EVALUATIONS.pop("toy-metric")
    with pytest.raises(SystemExit):
        main(["evaluate", "toy-metric"])
    capsys.readouterr()
