"""SDNE: the loss equals a hand computation, no N x N tensor on a 50k-node graph, contract."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nx = pytest.importorskip("networkx")

from recembed import InputError  # noqa: E402
from recembed.graphs.structural import CSRGraph, _csr_from_edges, graph_arrays  # noqa: E402
from recembed.models.sdne import SDNE, _AutoEncoder, dense_rows, inverse_sqrt_degrees, sdne_loss  # noqa: E402

from contract import EstimatorContract  # noqa: E402


def test_dense_rows_match_the_adjacency():
    G = nx.karate_club_graph()
    g = graph_arrays(G)
    A = nx.to_numpy_array(G, nodelist=[int(k) for k in g.keys], weight="weight")
    crow, col, val = (torch.as_tensor(g.indptr), torch.as_tensor(g.indices.astype(np.int64)),
                      torch.as_tensor(g.weights))
    rows = torch.tensor([5, 0, 33, 5])
    np.testing.assert_allclose(dense_rows(crow, col, val, rows, g.n_nodes).numpy(), A[[5, 0, 33, 5]], rtol=1e-6)


def test_loss_equals_hand_computation():
    # path a - b - c; one-layer encoder 3 -> 2 (linear embedding layer), decoder 2 -> 3 (linear)
    enc, dec = _AutoEncoder.build(3, (), 2)
    W1 = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]], dtype=np.float32)
    b1 = np.array([0.1, 0.2], dtype=np.float32)
    W2 = np.array([[0.2, -0.1], [0.7, 0.3], [-0.4, 0.5]], dtype=np.float32)
    b2 = np.array([0.0, 0.1, -0.1], dtype=np.float32)
    with torch.no_grad():
        enc[0].weight.copy_(torch.from_numpy(W1))
        enc[0].bias.copy_(torch.from_numpy(b1))
        dec[0].weight.copy_(torch.from_numpy(W2))
        dec[0].bias.copy_(torch.from_numpy(b2))
    X = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32)
    alpha, beta, nu = 0.3, 5.0, 0.01
    ei, ej, ew = np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1]), np.ones(4, dtype=np.float32)
    total, second, first, reg = sdne_loss(enc, dec, torch.from_numpy(X), beta, torch.from_numpy(ei),
                                          torch.from_numpy(ej), torch.from_numpy(ew), alpha, nu)
    # by hand
    Y = X @ W1.T + b1
    Xh = Y @ W2.T + b2
    B = np.where(X > 0, beta, 1.0)
    want_second = (((Xh - X) * B) ** 2).sum()
    want_first = sum(((Y[i] - Y[j]) ** 2).sum() for i, j in zip(ei, ej))
    want_reg = 0.5 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    second, first, reg = second.detach(), first.detach(), reg.detach()
    total = total.detach()
    assert float(second) == pytest.approx(want_second, rel=1e-5)
    assert float(first) == pytest.approx(want_first, rel=1e-5)
    assert float(reg) == pytest.approx(want_reg, rel=1e-5)
    assert float(total) == pytest.approx(want_second + alpha * want_first + nu * want_reg, rel=1e-5)
    # the first-order term is 2 tr(Y^T L Y) of the path's Laplacian
    A = X
    L = np.diag(A.sum(1)) - A
    assert want_first == pytest.approx(2 * np.trace(Y.T @ L @ Y), rel=1e-5)


def test_normalized_laplacian_first_order_term():
    # star with an extra edge: degrees differ, so the normalised term is not a rescaled plain one
    A = np.array([[0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32)
    torch.manual_seed(0)
    enc, dec = _AutoEncoder.build(4, (), 3)
    ei, ej = np.nonzero(A)
    ew = A[ei, ej]
    d = A.sum(1)
    s = 1 / np.sqrt(d)
    _, _, first, _ = sdne_loss(enc, dec, torch.from_numpy(A), 5.0, torch.from_numpy(ei), torch.from_numpy(ej),
                               torch.from_numpy(ew), 1.0, 0.0, torch.from_numpy(s.astype(np.float32)))
    with torch.no_grad():
        Y = enc(torch.from_numpy(A)).numpy().astype(np.float64)
    want = sum(w * ((Y[i] * s[i] - Y[j] * s[j]) ** 2).sum() for i, j, w in zip(ei, ej, ew))
    assert float(first.detach()) == pytest.approx(want, rel=1e-5)
    # = 2 tr(Y^T L_sym Y), L_sym = I - D^-1/2 A D^-1/2
    L_sym = np.eye(4) - A / np.sqrt(np.outer(d, d))
    assert want == pytest.approx(2 * np.trace(Y.T @ L_sym @ Y), rel=1e-5)


@pytest.mark.parametrize("batch", ["edges", "nodes"])
def test_laplacian_options_train(batch):
    G = nx.connected_caveman_graph(4, 8)
    for lap in ("plain", "normalized"):
        m = SDNE(dim=8, hidden=32, epochs=3, batch=batch, batch_size=64, laplacian=lap, seed=1, device="cpu",
                 threads=1).fit(G)
        assert np.all(np.isfinite(m.embeddings_.vectors)) and m.loss_[-1] < m.loss_[0]
    with pytest.raises(InputError):
        SDNE(laplacian="sym").fit(G)


class _MaxTensor(torch.utils._python_dispatch.TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in torch.utils._pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


def test_50k_node_graph_trains_without_an_n_by_n_tensor(monkeypatch):
    batch = "edges"
    n = 50_000
    rng = np.random.default_rng(0)
    src = rng.integers(0, n, 100_000)
    dst = rng.integers(0, n, 100_000)
    keep = src != dst
    indptr, indices, w = _csr_from_edges(src[keep], dst[keep], np.ones(keep.sum()), n, directed=False)
    g = CSRGraph(indptr, indices, w, np.array([str(i) for i in range(n)], dtype=object), False)
    bs, hidden = 128, 16
    monkeypatch.setattr(SDNE, "_max_steps", 2)
    mode = _MaxTensor()
    with mode:
        m = SDNE(dim=8, hidden=(hidden,), epochs=1, batch=batch, batch_size=bs, device="cpu", threads=1, seed=1).fit(g)
    assert m.embeddings_.vectors.shape == (n, 8)
    rows = 2 * bs if batch == "edges" else bs
    assert mode.max_numel <= max(rows, hidden) * n  # a batch of rows, or the first weight matrix
    assert mode.max_numel < n * n / 100


def test_training_lowers_the_loss_and_separates_communities():
    G = nx.connected_caveman_graph(4, 8)
    m = SDNE(dim=8, hidden=32, epochs=15, batch_size=64, seed=1, device="cpu", threads=1).fit(G)
    assert m.loss_[-1] < m.loss_[0]
    e = m.embeddings_
    same = np.mean([e.similarity("0", str(j)) for j in range(1, 8)])
    other = np.mean([e.similarity("0", str(j)) for j in range(16, 24)])
    assert same > other


def test_bad_input(tmp_path):
    with pytest.raises(InputError):
        SDNE(batch="rows").fit(nx.path_graph(3))
    with pytest.raises(InputError):
        SDNE(hidden=(0,)).fit(nx.path_graph(3))
    with pytest.raises(InputError):
        SDNE().fit(tmp_path / "missing.txt")


class TestSDNEContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return SDNE(dim=4, hidden=8, epochs=2, batch_size=32, device="cpu", threads=1, seed=seed)

    def make_input(self):
        return nx.karate_club_graph()


def test_standardize_gives_z_scores_of_the_encoder_output():
    G = nx.karate_club_graph()
    kw = dict(dim=6, hidden=12, epochs=3, batch_size=16, seed=2, device="cpu", threads=1)
    raw = SDNE(standardize=False, **kw).fit(G).embeddings_.vectors.astype(np.float64)
    z = SDNE(**kw).fit(G).embeddings_.vectors.astype(np.float64)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, rtol=1e-4)
    np.testing.assert_allclose(z, (raw - raw.mean(0)) / raw.std(0), rtol=1e-4, atol=1e-4)


def test_cli_sdne_writes_vectors_with_either_laplacian(tmp_path):
    from recembed.cli import main
    from recembed.embeddings import Embeddings

    edges = tmp_path / "e.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 12}\n{i} {(i + 5) % 12}\n" for i in range(12)))
    for lap in ("normalized", "plain"):
        out = tmp_path / f"{lap}.emb"
        rc = main(["embed", "sdne", "--input", str(edges), "--output", str(out), "--laplacian", lap, "--dim", "8",
                   "--hidden", "16", "--epochs", "2", "--threads", "1", "--seed", "1"])
        assert rc == 0
        emb = Embeddings.load(out)
        assert emb.vectors.shape == (12, 8) and np.isfinite(emb.vectors).all()
    with pytest.raises(SystemExit):
        main(["embed", "sdne", "--input", str(edges), "--output", str(tmp_path / "x.emb"), "--laplacian", "random"])
    assert not (tmp_path / "x.emb").exists()


def test_two_thread_fits_with_one_seed_are_identical():
    # torch accumulates the gathers' gradients in thread order unless deterministic algorithms
    # are on; fit turns them on (CPU) and restores the caller's setting afterwards
    # large enough batches (1024 arcs x 128 dims) for torch to split the accumulation over threads
    G = nx.barabasi_albert_graph(1500, 4, seed=0)
    kw = dict(dim=128, hidden=128, epochs=1, batch_size=1024, seed=3, device="cpu", threads=2)
    before = torch.are_deterministic_algorithms_enabled()
    a = SDNE(**kw).fit(G).embeddings_.vectors
    b = SDNE(**kw).fit(G).embeddings_.vectors
    assert np.array_equal(a, b)
    assert torch.are_deterministic_algorithms_enabled() == before


def test_normalised_laplacian_degrees_are_symmetrised_on_directed_graphs():
    # undirected (both arcs stored): the weighted degree itself
    g = graph_arrays(nx.path_graph(3))
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    np.testing.assert_allclose(inverse_sqrt_degrees(src, g.indices, g.weights, g.n_nodes),
                               1 / np.sqrt(np.diff(g.indptr)))
    # directed 0 -> 2, 1 -> 2 (weight 3): the sink 2 has no out-arcs but in-degree 4
    src, dst, w = np.array([0, 1]), np.array([2, 2]), np.array([1.0, 3.0])
    np.testing.assert_allclose(inverse_sqrt_degrees(src, dst, w, 4), [1 / np.sqrt(0.5), 1 / np.sqrt(1.5),
                                                                        1 / np.sqrt(2.0), 0.0])


def test_cli_reports_divergence_in_one_line_and_writes_nothing(tmp_path, capsys):
    from recembed.cli import main

    edges = tmp_path / "e.txt"
    edges.write_text("0 1\n1 2\n2 3\n3 0\n0 2\n")
    out = tmp_path / "o.emb"
    rc = main(["embed", "sdne", "--input", str(edges), "--output", str(out), "--dim", "4", "--hidden", "8",
               "--epochs", "2", "--threads", "1", "--learning-rate", "1e30"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "Traceback" not in err
    assert not out.exists()
