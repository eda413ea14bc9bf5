"""ExactIndex against a brute-force numpy reference; the shared index surface (keys, save/load, errors)."""
import numpy as np
import pytest

from recembed import InputError
from recembed.index import ExactIndex, FaissIndex, HNSWIndex, LSHIndex, load_index

METRICS = ["cosine", "ip", "l2"]


def reference(X, Q, k, metric):
    """Plain numpy: full scores, full sort."""
    if metric == "cosine":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        s = Qn @ Xn.T
        order = np.argsort(-s, axis=1)[:, :k]
    elif metric == "ip":
        s = Q @ X.T
        order = np.argsort(-s, axis=1)[:, :k]
    else:
        s = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
        order = np.argsort(s, axis=1)[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(700, 12)).astype(np.float32), rng.normal(size=(40, 12)).astype(np.float32)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 7, 700])
def test_exact_matches_reference(data, metric, k):
    X, Q = data
    # small chunks so the multi-chunk merge and the thread pool both run
    idx = ExactIndex(metric, query_block=16, item_chunk=128, n_threads=2).add(np.arange(len(X)), X)
    rows, scores = idx.query(Q, k=k)
    ref_rows, ref_scores = reference(X.astype(np.float64), Q.astype(np.float64), k, metric)
    assert rows.shape == (len(Q), k)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-4)
    assert (rows == ref_rows).mean() > 0.999  # float32 vs float64 may swap near-ties
    one_rows, one_scores = idx.query(Q[3], k=k)
    assert one_rows.shape == (k,)
    np.testing.assert_array_equal(one_rows, rows[3])


def test_exact_k_larger_than_index_returns_all(data):
    X, _ = data
    idx = ExactIndex("cosine").add(["a", "b", "c"], X[:3])
    keys, scores = idx.query(X[0], k=10)
    assert keys.tolist()[0] == "a" and len(keys) == 3
    assert np.all(np.diff(scores) <= 1e-6)


def test_l2_scores_ascend(data):
    X, Q = data
    _, d = ExactIndex("l2").add(range(len(X)), X).query(Q, k=5)
    assert np.all(np.diff(d, axis=1) >= 0)


INDEXES = [
    lambda m: ExactIndex(m),
    lambda m: LSHIndex(m, n_tables=6, n_bits=6, n_probes=8),
    lambda m: HNSWIndex(m, M=8, ef_construction=50),
    lambda m: FaissIndex(m, factory="Flat"),
]


@pytest.mark.parametrize("make", INDEXES, ids=["exact", "lsh", "hnsw", "faiss"])
class TestSurface:
    def test_save_load_round_trip(self, data, make, tmp_path):
        X, Q = data
        idx = make("cosine").add([f"i{j}" for j in range(len(X))], X)
        before = idx.query(Q, k=5)
        idx.save(tmp_path / "idx.npz")
        loaded = type(idx).load(tmp_path / "idx.npz")
        after = loaded.query(Q, k=5)
        assert type(loaded) is type(idx) and len(loaded) == len(idx)
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_allclose(after[1], before[1], rtol=1e-6)
        assert type(load_index(tmp_path / "idx.npz")) is type(idx)

    def test_remove_and_readd(self, data, make):
        X, _ = data
        idx = make("cosine").add(range(len(X)), X)
        assert idx.query(X[5], k=1)[0].tolist() == [5]
        idx.remove([5])
        assert len(idx) == len(X) - 1 and 5 not in idx
        assert 5 not in idx.query(X[5], k=3)[0].tolist()
        idx.add([5], X[5:6])
        assert idx.query(X[5], k=1)[0].tolist() == [5]
        # re-adding an existing key replaces its vector
        idx.add([5], X[9:10])
        assert len(idx) == len(X)
        assert set(idx.query(X[9], k=2)[0].tolist()) == {5, 9}

    def test_bad_input(self, data, make):
        X, _ = data
        idx = make("l2")
        with pytest.raises(InputError, match="empty"):
            idx.query(X[0], k=1)
        idx.add(range(len(X)), X)
        with pytest.raises(InputError, match="dim"):
            idx.query(np.zeros(5), k=3)
        for bad_k in (0, -1, 2.5, "3"):
            with pytest.raises(InputError, match="k must"):
                idx.query(X[0], k=bad_k)
        with pytest.raises(InputError, match="unknown key"):
            idx.remove([10_000])
        with pytest.raises(InputError, match="dim"):
            idx.add([1], np.zeros((1, 3)))
        with pytest.raises(InputError, match="NaN"):
            idx.query(np.full(12, np.nan), k=1)


def test_unknown_metric_and_duplicate_keys():
    with pytest.raises(InputError, match="metric"):
        ExactIndex("manhattan")
    with pytest.raises(InputError, match="unique"):
        ExactIndex().add(["a", "a"], np.ones((2, 3)))


def test_query_key_leaves_the_key_out(data):
    X, _ = data
    idx = ExactIndex("cosine").add(range(len(X)), X)
    keys, _ = idx.query_key(4, k=3)
    assert 4 not in keys.tolist() and len(keys) == 3


def test_adapters_name_the_missing_package(monkeypatch, data):
    X, _ = data
    monkeypatch.setitem(__import__("sys").modules, "hnswlib", None)  # import now raises ImportError
    idx = HNSWIndex("cosine").add(range(len(X)), X)
    with pytest.raises(InputError, match="hnswlib"):
        idx.query(X[0], k=1)
