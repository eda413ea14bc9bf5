"""Struc2Vec: rings and DTW against brute force, the multilayer graph, mirrored karate, contract."""
import math

import numpy as np
import pytest

from recembed import InputError
from recembed.graphs.structural import (arc_degrees, build_multilayer, candidate_pairs, dtw, graph_arrays,
                                        multilayer_walks, ring_degree_sequence_sets, ring_degree_sequences,
                                        simple_undirected, structural_distances)
from recembed.models.struc2vec import Struc2Vec

from contract import EstimatorContract

nx = pytest.importorskip("networkx")


def _brute_rings(G, node, max_layer=None):
    dist = nx.single_source_shortest_path_length(G, node, cutoff=max_layer)
    rings = {}
    for v, d in dist.items():
        rings.setdefault(d, []).append(G.degree(v))
    return [sorted(rings[k]) for k in sorted(rings)]


def _py_dtw(a, b, ca=None, cb=None):
    ca = ca or [1] * len(a)
    cb = cb or [1] * len(b)
    D = [[math.inf] * (len(b) + 1) for _ in range(len(a) + 1)]
    D[0][0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            c = (max(a[i - 1], b[j - 1]) / min(a[i - 1], b[j - 1]) - 1) * max(ca[i - 1], cb[j - 1])
            D[i][j] = c + min(D[i - 1][j], D[i][j - 1], D[i - 1][j - 1])
    return D[-1][-1]


def _compress(seq):
    vals, counts = np.unique(seq, return_counts=True)
    return vals.tolist(), counts.tolist()


GRAPHS = [nx.karate_club_graph(), nx.barbell_graph(4, 3), nx.gnm_random_graph(40, 90, seed=3),
          nx.balanced_tree(2, 4)]


@pytest.mark.parametrize("G", GRAPHS, ids=["karate", "barbell", "gnm", "tree"])
@pytest.mark.parametrize("max_layer", [None, 2])
def test_ring_degree_sequences_equal_brute_force(G, max_layer):
    G = nx.convert_node_labels_to_integers(G)
    g = simple_undirected(graph_arrays(G))
    rings = ring_degree_sequences(g.indptr, g.indices, max_layer=max_layer, compress=False)
    packed = ring_degree_sequences(g.indptr, g.indices, max_layer=max_layer, compress=True)
    keys = g.keys.tolist()
    for u in range(g.n_nodes):
        want = _brute_rings(G, int(keys[u]), max_layer)
        assert rings.n_layers[u] == len(want)
        for k, seq in enumerate(want):
            assert rings.sequence(u, k)[0].tolist() == seq
            d, c = packed.sequence(u, k)
            assert (d.tolist(), c.tolist()) == _compress(seq)


def test_dtw_equals_plain_python_dtw():
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = rng.integers(1, 30, rng.integers(1, 9)).astype(float)
        b = rng.integers(1, 30, rng.integers(1, 9)).astype(float)
        ca = rng.integers(1, 5, len(a)).astype(float)
        cb = rng.integers(1, 5, len(b)).astype(float)
        assert dtw(a, np.ones(len(a)), b, np.ones(len(b))) == pytest.approx(_py_dtw(list(a), list(b)))
        assert dtw(a, ca, b, cb) == pytest.approx(_py_dtw(list(a), list(b), list(ca), list(cb)))
    assert dtw(np.array([1.0, 2.0]), np.ones(2), np.array([2.0]), np.ones(1)) == 1.0


def test_structural_distances_are_cumulative_dtw_of_rings():
    G = nx.karate_club_graph()
    g = simple_undirected(graph_arrays(G))
    rings = ring_degree_sequences(g.indptr, g.indices, max_layer=3, compress=False)
    pairs = candidate_pairs(np.diff(g.indptr), opt2=False)
    assert len(pairs) == 34 * 33 // 2
    dist = structural_distances(rings, pairs)
    keys = g.keys.tolist()
    for p in range(0, len(pairs), 37):
        u, v = pairs[p]
        ru, rv = _brute_rings(G, int(keys[u]), 3), _brute_rings(G, int(keys[v]), 3)
        acc = 0.0
        for k in range(4):
            if k < min(len(ru), len(rv)):
                acc += _py_dtw(ru[k], rv[k])
                assert dist[p, k] == pytest.approx(acc)
            else:
                assert np.isinf(dist[p, k])


def test_opt2_candidates_are_nearest_in_degree():
    deg = np.array([1, 50, 2, 3, 49, 48, 1, 2, 100, 4, 5, 6, 7, 8, 9, 10])
    pairs = candidate_pairs(deg, opt2=True)
    k = math.ceil(2 * math.log2(len(deg)))
    assert np.all(pairs[:, 0] < pairs[:, 1])
    partners = {u: set() for u in range(len(deg))}
    for u, v in pairs:
        partners[u].add(v)
        partners[v].add(u)
    # node 8 (degree 100) must be paired with the 49/50 nodes, which are nearest to it
    assert {1, 4, 5} <= partners[8]
    assert all(len(p) >= min(k, len(deg) - 1) for p in partners.values())


def test_multilayer_weights_and_move_odds():
    G = nx.barbell_graph(4, 2)
    g = simple_undirected(graph_arrays(G))
    rings = ring_degree_sequences(g.indptr, g.indices, max_layer=2, compress=True)
    pairs = candidate_pairs(np.diff(g.indptr), opt2=False)
    dist = structural_distances(rings, pairs)
    ml = build_multilayer(pairs, dist, g.n_nodes)
    assert ml.n_layers == 3
    # layer 0 weights are exp(-|ratio - 1|) of the degrees; check one row through its alias table
    u = 0
    a, b = ml.indptr[0, u], ml.indptr[0, u + 1]
    assert b - a == g.n_nodes - 1  # all pairs compared, every pair has ring 0
    assert np.all((ml.p_up > 0.5) & (ml.p_up < 1))  # log(Γ + e) >= 1 against 1 for moving down
    tok, off = multilayer_walks(ml, 2, 15, 0.3, seed=5)
    tok2, off2 = multilayer_walks(ml, 2, 15, 0.3, seed=5)
    assert np.array_equal(tok, tok2) and np.array_equal(off, off2)
    assert len(off) == 2 * g.n_nodes + 1 and np.all(np.diff(off) == 15)


def _mirrored_karate():
    K = nx.karate_club_graph()
    G = nx.Graph()
    G.add_edges_from(K.edges())
    G.add_edges_from((u + 34, v + 34) for u, v in K.edges())
    G.add_edge(0, 34)  # join the two copies by one edge (the same node in each)
    return G


def _mirror_share(emb, k=5):
    hits = 0
    for u in range(68):
        mirror = str(u + 34 if u < 34 else u - 34)
        hits += mirror in {key for key, _ in emb.most_similar(str(u), k=k)}
    return hits / 68


def test_mirrored_karate_struc2vec_finds_mirrors_deepwalk_does_not():
    G = _mirrored_karate()
    s2v = Struc2Vec(dim=32, walks_per_node=20, walk_length=40, window=5, epochs=2, seed=1).fit(G)
    share = _mirror_share(s2v.embeddings_)
    deepwalk_mod = pytest.importorskip("recembed.models.deepwalk")
    dw = deepwalk_mod.DeepWalk(dim=32, walks_per_node=20, walk_length=40, window=5, threads=1, seed=1).fit(G)
    dw_share = _mirror_share(dw.embeddings_)
    assert share >= 0.3
    assert share >= 3 * dw_share, (share, dw_share)


def test_cache_dir_is_written_reused_and_kept(tmp_path):
    G = nx.barbell_graph(5, 2)
    a = Struc2Vec(dim=8, walks_per_node=3, walk_length=10, epochs=1, cache_dir=tmp_path / "c", seed=1).fit(G)
    files = list((tmp_path / "c").iterdir())
    assert len(files) == 1
    b = Struc2Vec(dim=8, walks_per_node=3, walk_length=10, epochs=1, cache_dir=tmp_path / "c", seed=1).fit(G)
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)
    assert list((tmp_path / "c").iterdir()) == files


def test_cache_is_keyed_by_seed_and_a_broken_file_is_recomputed(tmp_path):
    # OPT2 breaks degree ties at random: a fit with another seed must not reuse the file
    G = nx.random_regular_graph(3, 40, seed=0)  # every node ties on degree
    kw = dict(dim=8, walks_per_node=3, walk_length=10, epochs=1, threads=1, n_candidates=4)
    fresh = Struc2Vec(seed=2, **kw).fit(G)
    Struc2Vec(seed=1, cache_dir=tmp_path, **kw).fit(G)
    cached = Struc2Vec(seed=2, cache_dir=tmp_path, **kw).fit(G)
    assert len(list(tmp_path.iterdir())) == 2
    np.testing.assert_array_equal(fresh.embeddings_.vectors, cached.embeddings_.vectors)
    for f in tmp_path.iterdir():
        f.write_bytes(f.read_bytes()[:100])  # truncated, as after a crash mid-copy
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again = Struc2Vec(seed=2, cache_dir=tmp_path, **kw).fit(G)
    np.testing.assert_array_equal(fresh.embeddings_.vectors, again.embeddings_.vectors)


def test_directed_rings_sort_out_and_in_degrees_over_undirected_hops():
    D = nx.gnm_random_graph(30, 70, seed=5, directed=True)
    D.add_edge(0, 0)  # a self-loop counts in neither degree
    arcs = graph_arrays(D)
    out_deg, in_deg = arc_degrees(arcs)
    g = simple_undirected(arcs)
    keys = [int(k) for k in g.keys.tolist()]
    U = D.to_undirected()
    U.remove_edges_from(nx.selfloop_edges(U))
    # one BFS per node fills both sets; each must equal its own single-set run and the brute force
    both = ring_degree_sequence_sets(g.indptr, g.indices, [out_deg, in_deg], max_layer=3, compress=False)
    for degrees, rings, want_of in ((out_deg, both[0], lambda v: D.out_degree(v) - D.has_edge(v, v)),
                                    (in_deg, both[1], lambda v: D.in_degree(v) - D.has_edge(v, v))):
        alone = ring_degree_sequences(g.indptr, g.indices, max_layer=3, compress=False, degrees=degrees)
        assert np.array_equal(rings.seq_ptr, alone.seq_ptr) and np.array_equal(rings.degrees, alone.degrees)
        for u in range(g.n_nodes):
            hops = nx.single_source_shortest_path_length(U, keys[u], cutoff=3)
            for k in range(rings.n_layers[u]):
                want = sorted(want_of(v) for v, d in hops.items() if d == k)
                assert rings.sequence(u, k)[0].tolist() == want


def test_directed_struc2vec_tells_a_source_from_a_sink():
    # two stars joined at a leaf: undirected, the centres are structurally identical; directed,
    # one sends every arc and the other receives every arc
    D = nx.DiGraph()
    D.add_edges_from((0, i) for i in range(1, 6))
    D.add_edges_from((i, 10) for i in range(11, 16))
    D.add_edge(5, 11)
    both = nx.DiGraph(D.to_undirected())  # every arc both ways
    kw = dict(dim=8, walks_per_node=3, walk_length=10, epochs=1, threads=1, seed=1, opt2=False)

    def centre_distance(G, directed):
        arcs = graph_arrays(G)
        g = simple_undirected(arcs)
        out_in = arc_degrees(arcs) if directed else None
        rings = ring_degree_sequence_sets(g.indptr, g.indices, out_in if directed else [np.diff(g.indptr)], 3, True)
        keys = g.keys.tolist()
        pair = np.array([sorted((keys.index("0"), keys.index("10")))])
        return structural_distances(rings, pair)[0, 0]

    assert centre_distance(D, False) == 0.0
    assert centre_distance(D, True) > 1.0
    # a graph with every arc both ways: the directed distances are the undirected ones
    a = Struc2Vec(directed=True, **kw).fit(both)
    b = Struc2Vec(directed=False, **kw).fit(both)
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)
    c = Struc2Vec(directed=True, **kw).fit(D)
    assert not np.array_equal(c.embeddings_.vectors, b.embeddings_.vectors)


def test_cli_struc2vec_directed(tmp_path):
    from recembed.cli import main
    from recembed.embeddings import Embeddings

    edges = tmp_path / "e.txt"
    edges.write_text("".join(f"0 {i}\n{i + 10} 10\n" for i in range(1, 6)) + "5 11\n")
    for flag in ([], ["--directed"]):
        out = tmp_path / f"o{len(flag)}.emb"
        rc = main(["embed", "struc2vec", "--input", str(edges), "--output", str(out), "--dim", "8",
                   "--walks-per-node", "3", "--walk-length", "10", "--epochs", "1", "--threads", "1", "--seed", "1"]
                  + flag)
        assert rc == 0
        assert Embeddings.load(out).vectors.shape == (12, 8)


def test_bad_input(tmp_path):
    with pytest.raises(InputError):
        Struc2Vec(stay_prob=0).fit(nx.path_graph(4))
    with pytest.raises(InputError):
        Struc2Vec().fit(tmp_path / "nope.edgelist")
    G = nx.Graph()
    G.add_edge(1, 1)
    with pytest.raises(InputError):
        Struc2Vec().fit(G)


class TestStruc2VecContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return Struc2Vec(dim=8, walks_per_node=3, walk_length=10, epochs=1, threads=1, seed=seed)

    def make_input(self):
        return nx.barbell_graph(5, 2)


def test_max_layer_beyond_any_ring_is_clamped_to_the_graph():
    g = simple_undirected(graph_arrays(nx.path_graph(5)))
    huge = ring_degree_sequences(g.indptr, g.indices, max_layer=10**9)  # would allocate (n, 10**9) before
    every = ring_degree_sequences(g.indptr, g.indices, max_layer=None)
    assert huge.seq_ptr.shape == every.seq_ptr.shape == (5, 6)
    np.testing.assert_array_equal(huge.degrees, every.degrees)
    # on a bigger graph a deep cap is sized to the largest eccentricity (a star: 2 hops)
    star = simple_undirected(graph_arrays(nx.star_graph(99)))
    assert ring_degree_sequences(star.indptr, star.indices, max_layer=50).seq_ptr.shape == (100, 4)


def test_all_pairs_on_a_large_graph_is_refused_before_any_work():
    G = nx.path_graph(6_400)  # 20,476,800 pairs
    with pytest.raises(InputError, match="opt2=False compares all 20,476,800 node pairs"):
        Struc2Vec(opt2=False).fit(G)
    with pytest.raises(ValueError, match="integers"):
        g = simple_undirected(graph_arrays(nx.path_graph(3)))
        ring_degree_sequence_sets(g.indptr, g.indices, [np.array([1.5, 2.0, 1.0])])
