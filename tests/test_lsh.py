"""LSHIndex: recall the tuner promises holds on held-out queries; Simple-LSH MIPS; probing."""
import numpy as np
import pytest

from recembed import InputError
from recembed.index import ExactIndex, LSHIndex
from recembed.index.tune import clustered_vectors, recall_at_k


def recall(idx, exact, Q, k=10):
    return recall_at_k(idx.query(Q, k=k)[0], exact.query(Q, k=k)[0])


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_tuned_recall_holds_on_held_out_queries(metric):
    X, Q = clustered_vectors(20000, 32, n_clusters=40, spread=0.6, seed=3, n_queries=800)
    idx = LSHIndex(metric, seed=1).add(range(len(X)), X)
    report = idx.tune(Q[:400], k=10, target_recall=0.9, max_time=300,
                      n_tables_grid=[4, 8, 16], n_probes_grid=[1, 2, 4, 8, 16, 32])
    chosen = [r for r in report if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["recall"] >= 0.9
    assert (idx.n_bits, idx.n_tables, idx.n_probes) == (chosen[0]["n_bits"], chosen[0]["n_tables"],
                                                        chosen[0]["n_probes"])
    assert idx.tune_report_ is report
    exact = ExactIndex(metric).add(range(len(X)), X)
    held_out = recall(idx, exact, Q[400:])
    assert held_out >= chosen[0]["recall"] - 0.02
    # and the tuned index really is selective: far fewer candidates than items
    assert chosen[0]["candidates"] < 0.3 * len(X)


def test_more_probes_more_recall():
    X, Q = clustered_vectors(10000, 32, n_clusters=20, spread=0.6, seed=4, n_queries=200)
    idx = LSHIndex("cosine", n_tables=4, n_bits=12, n_probes=1).add(range(len(X)), X)
    exact = ExactIndex("cosine").add(range(len(X)), X)
    truth = exact.query(Q, k=10)[0]
    recalls = [recall_at_k(idx.query(Q, k=10, n_probes=p)[0], truth) for p in (1, 4, 16, 64)]
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0] + 0.2


def test_simple_lsh_finds_high_inner_product_items():
    rng = np.random.default_rng(5)
    # norms vary a lot: the best inner product is often not the best cosine
    X = (rng.normal(size=(8000, 24)) * rng.lognormal(0, 0.5, size=(8000, 1))).astype(np.float32)
    Q = rng.normal(size=(200, 24)).astype(np.float32)
    idx = LSHIndex("ip", n_tables=16, n_bits=8, n_probes=32).add(range(len(X)), X)
    exact = ExactIndex("ip").add(range(len(X)), X)
    keys, scores = idx.query(Q, k=10)
    ex_keys, ex_scores = exact.query(Q, k=10)
    assert recall_at_k(keys, ex_keys) >= 0.8
    assert np.all(np.diff(scores, axis=1) <= 1e-5)
    np.testing.assert_allclose(scores[:, 0], (X[keys[:, 0]] * Q).sum(1), rtol=1e-4)
    # top-1 by inner product differs from top-1 by cosine for many queries
    cos_top = ExactIndex("cosine").add(range(len(X)), X).query(Q, k=1)[0][:, 0]
    assert (cos_top != ex_keys[:, 0]).mean() > 0.2


def test_batch_equals_single_and_is_deterministic():
    X, Q = clustered_vectors(5000, 16, n_clusters=10, seed=6, n_queries=50)
    a = LSHIndex("cosine", n_tables=6, n_bits=9, n_probes=4, seed=2).add(range(len(X)), X)
    b = LSHIndex("cosine", n_tables=6, n_bits=9, n_probes=4, seed=2).add(range(len(X)), X)
    batch = a.query(Q, k=7)[0]
    single = np.stack([a.query(q, k=7)[0] for q in Q])
    np.testing.assert_array_equal(batch, single)
    np.testing.assert_array_equal(batch, b.query(Q, k=7)[0])


def test_too_few_candidates_falls_back_to_exact():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    idx = LSHIndex("cosine", n_tables=1, n_bits=30, n_probes=1).add(range(300), X)
    keys, _ = idx.query(-X[0], k=20)  # nothing shares its bucket
    assert keys.tolist() == ExactIndex("cosine").add(range(300), X).query(-X[0], k=20)[0].tolist()


def test_bad_parameters():
    with pytest.raises(InputError, match="n_bits"):
        LSHIndex("l2", n_bits=40)
    with pytest.raises(InputError, match="n_tables"):
        LSHIndex("cosine", n_tables=0)
    idx = LSHIndex("cosine").add(range(50), np.random.default_rng(0).normal(size=(50, 4)))
    with pytest.warns(UserWarning, match="rough"):
        idx.tune(np.ones((3, 4)), max_time=5)
    with pytest.raises(InputError, match="target_recall"):
        idx.tune(np.ones((30, 4)), target_recall=1.5)


def test_remove_flags_rows_without_rebuilding(tmp_path):
    X, Q = clustered_vectors(4000, 16, n_clusters=10, seed=8, n_queries=40)
    idx = LSHIndex("cosine", n_tables=6, n_bits=8, n_probes=8).add(range(len(X)), X)
    idx.build()
    tables = idx._tab_ids
    gone = list(range(0, 600, 2))
    idx.remove(gone)
    assert idx._tab_ids is tables and not idx._dirty  # no rebuild
    assert len(idx) == 4000 - 300 and len(idx.keys) == 3700 and 0 not in idx
    keys, _ = idx.query(Q, k=20)
    assert not set(keys.ravel().tolist()) & set(gone)
    # a far-away query falls back to exact search, which skips the removed rows too
    far = idx.query(-X[0] * 100, k=50)[0].tolist()
    assert not set(far) & set(gone)
    idx.save(tmp_path / "i.npz")
    loaded = LSHIndex.load(tmp_path / "i.npz")
    assert len(loaded) == 3700 and loaded.query(Q, k=5)[0].tolist() == idx.query(Q, k=5)[0].tolist()
    idx.add([0], X[:1])  # re-adding a removed key
    assert idx.query(X[0], k=1)[0].tolist() == [0] and len(idx) == 3701
    idx.remove(list(range(1000, 2200)))  # over a quarter: compacted
    assert len(idx) == 2501 and len(idx._keys) == 2501
