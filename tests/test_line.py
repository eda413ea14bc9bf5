"""LINE: samplers follow their distributions, training learns, contract, input errors."""
import numpy as np
import pytest
from scipy import stats

from recembed import InputError
from recembed.graphs.structural import alias_draw, graph_arrays, next_state, seed_state, uniform
from recembed.models.line import LINE, edge_alias, negative_alias, reconstruct_graph
from numba import njit

from contract import EstimatorContract


@njit(cache=True)
def _draw_many(prob, alias, n_draws, seed):
    out = np.zeros(len(prob), dtype=np.int64)
    s = seed_state(seed, 0)
    for _ in range(n_draws):
        s = next_state(s)
        out[alias_draw(prob, alias, 0, len(prob), uniform(s))] += 1
    return out


def _weighted_graph():
    import networkx as nx

    G = nx.Graph()
    for u, v, w in [(0, 1, 1.0), (1, 2, 5.0), (2, 3, 0.5), (3, 0, 2.0), (0, 2, 10.0), (1, 3, 3.0)]:
        G.add_edge(u, v, weight=w)
    return G


def test_edge_sampler_draws_edges_in_proportion_to_weight():
    g = graph_arrays(_weighted_graph())
    prob, alias = edge_alias(g.weights)
    n = 200_000
    counts = _draw_many(prob, alias, n, 7)
    expected = g.weights.astype(np.float64) / g.weights.astype(np.float64).sum() * n
    chi2, p = stats.chisquare(counts, expected)
    assert p > 1e-3, (counts, expected)


def test_negative_table_follows_degree_power_075():
    g = graph_arrays(_weighted_graph())
    prob, alias = negative_alias(g.indptr, g.weights)
    deg = np.add.reduceat(g.weights.astype(np.float64), g.indptr[:-1])
    n = 200_000
    counts = _draw_many(prob, alias, n, 11)
    expected = deg ** 0.75 / (deg ** 0.75).sum() * n
    chi2, p = stats.chisquare(counts, expected)
    assert p > 1e-3, (counts, expected)
    # and not the plain degree distribution
    plain = deg / deg.sum() * n
    assert stats.chisquare(counts, plain)[1] < 1e-6


def test_reconstruct_adds_second_order_neighbours_to_low_degree_nodes():
    # path 0-1-2-3: node 0 (degree 1) gains node 2 at threshold 2; node 1 (degree 2) is kept
    indptr = np.array([0, 1, 3, 5, 6], dtype=np.int64)
    indices = np.array([1, 0, 2, 1, 3, 2], dtype=np.int32)
    w = np.ones(6, dtype=np.float32)
    p, i, nw = reconstruct_graph(indptr, indices, w, threshold=2)
    assert sorted(i[p[0]:p[1]].tolist()) == [1, 2]
    assert sorted(i[p[1]:p[2]].tolist()) == [0, 2]
    assert nw[p[0]:p[1]][i[p[0]:p[1]] == 1][0] == pytest.approx(1.0)
    assert nw[p[0]:p[1]][i[p[0]:p[1]] == 2][0] == pytest.approx(0.5)  # 1 * (1 / deg(1) = 2)


def test_both_is_two_normalised_halves():
    import networkx as nx

    m = LINE(dim=16, samples=0.2, seed=1).fit(nx.karate_club_graph())
    v = m.embeddings_.vectors
    np.testing.assert_allclose(np.linalg.norm(v[:, :8], axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v[:, 8:], axis=1), 1, rtol=1e-5)


def test_first_order_puts_neighbours_closer_than_strangers():
    import networkx as nx

    G = nx.connected_caveman_graph(6, 8)
    # the plain first-order objective (no reconstruction; 5 negatives: untrained loss 6 log 2)
    m = LINE(dim=16, order="first", samples=0.5, negative=5, reconstruct=0, seed=2).fit(G)
    e = m.embeddings_
    same = np.mean([e.similarity("0", str(j)) for j in range(1, 8)])
    other = np.mean([e.similarity("0", str(j)) for j in range(24, 32)])
    assert same > other + 0.3
    assert m.loss_[0] < 6 * np.log(2)  # below the loss of untrained (zero) scores


def test_bad_input(tmp_path):
    with pytest.raises(InputError):
        LINE(order="third").fit(_weighted_graph())
    with pytest.raises(InputError):
        LINE(dim=15, order="both").fit(_weighted_graph())
    with pytest.raises(InputError):
        LINE().fit(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\nc\n")
    with pytest.raises(InputError):
        LINE().fit(bad)


class TestLINEContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return LINE(dim=8, samples=0.02, threads=1, seed=seed)

    def make_input(self):
        import networkx as nx

        return nx.karate_club_graph()
