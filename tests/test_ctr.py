"""CTR models: FM's pairwise trick, FNN initialised from FM (frozen / fine-tuned), GBDT+LR splits."""
import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from recembed import InputError  # noqa: E402
from recembed.models.ctr import FM, FNN, GBDTLR, LR, auc_logloss, encode_ctr  # noqa: E402

torch.set_num_threads(1)


def interaction_data(n=3000, seed=0):
    """Click iff the parities of user and item agree (an interaction: no linear model can fit it)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"u": rng.integers(0, 30, n).astype(str), "i": rng.integers(0, 30, n).astype(str),
                       "g": rng.choice(["a", "a;b", "b;c", "c"], n)})
    df["y"] = ((df.u.astype(int) % 2) == (df.i.astype(int) % 2)).astype(float)
    df["pu"], df["pi"] = df.u.astype(int) % 2, df.i.astype(int) % 2
    df["row"] = np.arange(n)
    return encode_ctr(df, "y", ["u", "i"], ["g"], dense=["pu", "pi", "row"])


def test_encoding_and_one_hot():
    d = encode_ctr(pd.DataFrame({"u": ["a", "b", "a"], "g": ["x;y", "y", None], "y": [1, 0, 1]}), "y", ["u"], ["g"])
    X = d.one_hot().toarray()
    assert X.shape == (3, 5)
    np.testing.assert_allclose(X[0], [0, 1, 0, 0.5, 0.5])
    np.testing.assert_allclose(X[2], [0, 1, 0, 0, 0])   # missing genres: nothing on


def test_fm_pairwise_trick_equals_explicit_sum():
    d = interaction_data(200)
    fm = FM(dim=3, epochs=1, seed=1).fit(d)
    with torch.no_grad():
        torch.nn.init.normal_(fm.net_.v.weight)
        torch.nn.init.normal_(fm.net_.w.weight)
        fm.net_.v.weight[0].zero_()
        fm.net_.w.weight[0].zero_()
    v = fm.net_.v.weight.detach().numpy()
    w = fm.net_.w.weight.detach().numpy()[:, 0]
    X = d.one_hot().toarray()[:20]
    expect = []
    for x in X:
        nz = np.flatnonzero(x)
        pair = sum(x[a] * x[b] * v[a] @ v[b] for ai, a in enumerate(nz) for b in nz[ai + 1:])
        expect.append(float(fm.net_.w0.detach()) + w @ x + pair)
    with torch.no_grad():
        got = fm.net_(torch.as_tensor(d.single[:20]), {k: torch.as_tensor(m[:20]) for k, m in d.multi.items()})
    np.testing.assert_allclose(got.numpy(), expect, rtol=1e-4, atol=1e-4)


def test_fm_and_fnn_learn_an_interaction_lr_cannot():
    d = interaction_data()
    tr, te = d.take(np.arange(2400)), d.take(np.arange(2400, 3000))
    fm = FM(dim=4, epochs=30, lr=0.05, patience=30, seed=1).fit(tr)
    assert auc_logloss(te.y, fm.predict_proba(te))["AUC"] > 0.95
    assert auc_logloss(te.y, LR().fit(tr).predict_proba(te))["AUC"] < 0.65
    frozen = FNN(dim=4, hidden=(16,), init="fm", freeze=True, epochs=10, lr=0.01, seed=1).fit(tr, fm=fm)
    # frozen: the embedding layer is exactly [w, v] of the FM
    emb = frozen.net_.emb.weight.detach().numpy()
    np.testing.assert_allclose(emb[1:], np.hstack([fm.w_[:, None], fm.v_])[1:], rtol=1e-6)
    assert auc_logloss(te.y, frozen.predict_proba(te))["AUC"] > 0.9
    tuned = FNN(dim=4, hidden=(16,), init="fm", freeze=False, epochs=3, seed=1).fit(tr, fm=fm)
    assert not np.allclose(tuned.net_.emb.weight.detach().numpy(), emb)
    with pytest.raises(InputError):
        FNN(dim=4, init="fm").fit(tr)
    with pytest.raises(InputError):
        FNN(dim=5, init="fm").fit(tr, fm=fm)


def test_fnn_early_stopping_keeps_best_epoch():
    d = interaction_data()
    tr, va = d.take(np.arange(2000)), d.take(np.arange(2000, 2500))
    m = FNN(dim=4, hidden=(8,), epochs=6, patience=1, seed=1).fit(tr, va)
    assert 1 <= len(m.history_) <= 6 and all("valid_loss" in h for h in m.history_)


def test_gbdt_lr_fits_trees_and_lr_on_disjoint_parts():
    pytest.importorskip("lightgbm")
    d = interaction_data()
    rows_seen = []
    import recembed.models.ctr as ctr

    orig_tree, orig_feat = ctr.GBDT.fit, ctr.GBDTLR._features

    def spy_tree(self, train, valid=None):
        rows_seen.append(("trees", set(train.dense[:, 2].astype(int))))
        return orig_tree(self, train, valid)

    def spy_lr(self, gbdt, part):
        rows_seen.append(("lr", set(part.dense[:, 2].astype(int))))
        return orig_feat(self, gbdt, part)

    ctr.GBDT.fit, ctr.GBDTLR._features = spy_tree, spy_lr
    try:
        m = GBDTLR(n_trees=10, num_leaves=4, min_child_samples=5, exclude=("row",), seed=1).fit(d.take(np.arange(2400)))
    finally:
        ctr.GBDT.fit, ctr.GBDTLR._features = orig_tree, orig_feat
    (k1, t1), (k2, l1), (k3, t2), (k4, l2) = rows_seen
    assert (k1, k2, k3, k4) == ("trees", "lr", "trees", "lr") and len(m.members_) == 2
    assert not t1 & l1 and not t2 & l2 and t1 | l1 == set(range(2400)) and t2 == l1
    te = d.take(np.arange(2400, 3000))
    assert auc_logloss(te.y, m.predict_proba(te))["AUC"] > 0.9     # the trees supply the interaction
    with pytest.raises(InputError):
        GBDTLR(tree_fraction=1.0).fit(d)
