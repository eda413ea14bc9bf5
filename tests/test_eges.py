import warnings

import numpy as np
import pandas as pd
import pytest

from recembed import Corpus, Embeddings, InputError
from recembed.datasets import synthetic_shop
from recembed.models import eges as E
from recembed.models.eges import BGE, EGES, GES

from contract import EstimatorContract

_SHOP = {}


def shop():
    if not _SHOP:
        log, items = synthetic_shop(n_users=300, n_items=150, n_categories=6, seed=3)
        # 10 items that never occur in the log: cold
        extra = items.tail(10).assign(item=[f"cold{i}" for i in range(10)])
        items = pd.concat([items, extra], ignore_index=True)
        items["item"] = items["item"].astype(str)
        _SHOP["data"] = (log, items)
    return _SHOP["data"]


SMALL = dict(dim=8, epochs=1, walks_per_node=3, walk_length=10, threads=1)
FITTED = dict(dim=16, epochs=3, walks_per_node=5, walk_length=20, threads=1)


class TestEGESContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return EGES(seed=seed, **SMALL)

    def make_input(self):
        return shop()


class TestGESContract(TestEGESContract):
    def make_estimator(self, seed=1):
        return GES(seed=seed, **SMALL)


class TestBGEContract(TestEGESContract):
    def make_estimator(self, seed=1):
        return BGE(seed=seed, **SMALL)


@pytest.fixture(scope="module")
def fitted():
    log, items = shop()
    return EGES(seed=2, **FITTED).fit(log, items=items)


# -- the kernel: one step against torch autograd --------------------------------------------------
def _one_step_case(seed=0):
    """Three items, two side-info fields (one multi-valued), random tables (Z non-zero, as mid-training)."""
    rng = np.random.default_rng(seed)
    d = 4
    n_items, sizes = 3, [3, 4]
    from recembed.data.side_info import FieldCodes

    cat = FieldCodes(np.array([0, 1, 2, 3]), np.array([1, 2, 1], dtype=np.int32))
    tags = FieldCodes(np.array([0, 2, 3, 5]), np.array([1, 3, 2, 1, 2], dtype=np.int32))
    offsets = np.array([n_items, n_items + sizes[0]])
    cptr, cidx, F = E._cells([cat, tags], offsets, n_items, id_rows=np.arange(n_items))
    T = rng.normal(size=(n_items + sum(sizes), d)).astype(np.float32)
    Z = rng.normal(size=(n_items, d)).astype(np.float32)
    A = rng.normal(size=(n_items, F)).astype(np.float32)
    return T, Z, A, cptr, cidx, F, d


def _run_kernel(T, Z, A, cptr, cidx, F, d, tokens, learn_a=True, lr=0.1):
    offsets = np.array([0, len(tokens)], dtype=np.int64)
    bufs = (np.empty(len(tokens), np.int32), np.empty(2, np.int32), np.empty(F, np.float64),
            np.empty((F, d), np.float32), np.empty(d, np.float32), np.empty(d, np.float32))
    return E.train_job(T, Z, A, cptr, cidx, F, learn_a, 1.0, 0.0, np.asarray(tokens, np.int32), offsets, 0, 1,
                       np.zeros(0), np.ones(1), np.zeros(1, np.int32), 0, 1, False, lr, lr, 0.0, 1.0, np.uint64(7),
                       *bufs)


def test_one_step_matches_autograd_and_moves_every_table():
    torch = pytest.importorskip("torch")
    T, Z, A, cptr, cidx, F, d = _one_step_case()
    T0, Z0, A0 = T.copy(), Z.copy(), A.copy()
    v, u, lr = 0, 2, 0.1
    # reference: loss = -log sigmoid(H_v . Z_u), one SGD step on every parameter
    Tt, Zt, At = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (T0, Z0, A0))
    att = torch.softmax(At[v], 0)
    H = sum(att[j] * Tt[torch.as_tensor(cidx[cptr[v * F + j]:cptr[v * F + j + 1]], dtype=torch.long)].mean(0)
            for j in range(F))
    loss = -torch.nn.functional.logsigmoid(H @ Zt[u])
    loss.backward()
    # the walk [v, u] (window 1, no negatives) trains centre v with context u, then centre u with
    # context v; v's own rows and A[v] are touched by the first step only, so they must equal the
    # reference exactly (rows shared with u, such as a common category, are not compared)
    _run_kernel(T, Z, A, cptr, cidx, F, d, [v, u], lr=lr)
    rows_v = np.unique(cidx[cptr[v * F]:cptr[(v + 1) * F]])
    rows_u = np.unique(cidx[cptr[u * F]:cptr[(u + 1) * F]])
    only_v = np.setdiff1d(rows_v, rows_u)
    np.testing.assert_allclose(T[only_v], (Tt - lr * Tt.grad).detach().numpy()[only_v], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(A[v], (At - lr * At.grad).detach().numpy()[v], rtol=1e-4, atol=1e-5)
    # every table moved: the item-id row, each side-info table, A and Z (the DGL example's bug)
    assert not np.allclose(T[v], T0[v])                       # item-id table
    assert not np.allclose(T[3:6], T0[3:6])                   # side-info field 1
    assert not np.allclose(T[6:10], T0[6:10])                 # side-info field 2 (multi-valued)
    assert not np.allclose(A[v], A0[v])
    assert not np.allclose(Z[u], Z0[u])


def test_one_step_z_update_matches_autograd():
    torch = pytest.importorskip("torch")
    T, Z, A, cptr, cidx, F, d = _one_step_case(1)
    T0, Z0, A0 = T.copy(), Z.copy(), A.copy()
    v, u, lr = 1, 0, 0.05
    Tt, Zt, At = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (T0, Z0, A0))
    att = torch.softmax(At[v], 0)
    H = sum(att[j] * Tt[torch.as_tensor(cidx[cptr[v * F + j]:cptr[v * F + j + 1]], dtype=torch.long)].mean(0)
            for j in range(F))
    (-torch.nn.functional.logsigmoid(H @ Zt[u])).backward()
    # tokens [v, u]: Z[u] is only updated by centre v (centre u updates Z[v])
    _run_kernel(T, Z, A, cptr, cidx, F, d, [v, u], lr=lr)
    np.testing.assert_allclose(Z[u], (Zt - lr * Zt.grad).detach().numpy()[u], rtol=1e-4, atol=1e-5)


def test_ges_keeps_uniform_weights():
    T, Z, A, cptr, cidx, F, d = _one_step_case()
    A[:] = 0
    _run_kernel(T, Z, A, cptr, cidx, F, d, [0, 2, 1, 0], learn_a=False)
    assert np.all(A == 0)


# -- the estimators -------------------------------------------------------------------------------
def test_every_item_of_the_table_is_embedded(fitted):
    log, items = shop()
    assert set(fitted.embeddings_.keys.tolist()) == set(items["item"])
    assert fitted.n_cold_ >= 10
    assert np.all(np.isfinite(fitted.embeddings_.vectors))


def test_weights_are_per_item(fitted):
    A = fitted.item_weights_
    assert A.shape == (len(fitted.items_), 1 + len(fitted.side_info_.names))
    # items with different contexts end with different weight rows
    assert len(np.unique(A.round(6), axis=0)) > 0.9 * len(A)
    df = fitted.side_info_weights()
    assert df["field"].tolist() == ["item", "category", "brand", "shop", "price"]
    np.testing.assert_allclose(df["mean_weight"].sum(), 1.0, rtol=1e-5)


def test_cold_items_are_deterministic_and_near_their_category(fitted):
    log, items = shop()
    cold = items[items["item"].str.startswith("cold")]
    a = fitted.embed_items(cold)
    b = fitted.embed_items(cold)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.vectors, fitted.embeddings_[cold["item"].tolist()])
    # a model fitted again with the same seed (one thread) gives the same cold vectors
    again = EGES(seed=2, **FITTED).fit(*shop())
    np.testing.assert_array_equal(again.embed_items(cold).vectors, a.vectors)
    # nearest warm items of a cold item share its category more often than chance
    cat = items.set_index("item")["category"]
    warm = fitted.embeddings_.subset(fitted.items_.keys.tolist())
    hits = []
    for key, vec in zip(a.keys, a.vectors):
        near = [k for k, _ in warm.most_similar(vec, k=5)]
        hits.append(np.mean(cat[near].to_numpy() == cat[key]))
    base = (cat.value_counts(normalize=True) ** 2).sum()
    assert np.mean(hits) > 1.5 * base    # measured 0.56 vs chance 0.31


def test_unseen_side_info_falls_back_to_unknown_with_a_warning(fitted):
    log, items = shop()
    row = items.iloc[[0]].assign(item="newbie")
    unseen = row.assign(brand="brand-never-seen", shop="shop-never-seen")
    missing = row.assign(brand=None, shop=None)
    with pytest.warns(UserWarning, match="2 side-info value"):
        a = fitted.embed_items(unseen)
    assert fitted.last_unseen_counts_ == {"brand": 1, "shop": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = fitted.embed_items(missing)          # missing values are not "unseen": no warning
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert np.all(np.isfinite(a.vectors))


@pytest.mark.parametrize("method", E.COLD_START)
def test_cold_start_methods(method):
    log, items = shop()
    m = EGES(seed=1, cold_start=method, **SMALL).fit(log, items=items)
    v = m.embed_items(items.tail(3)).vectors
    assert v.shape == (3, SMALL["dim"]) and np.all(np.isfinite(v)) and v.std() > 0


def test_loaded_model_embeds_new_items_identically(fitted, tmp_path):
    log, items = shop()
    fitted.save(tmp_path / "eges.npz")
    loaded = EGES.load(tmp_path / "eges.npz")
    new = items.tail(12).assign(item=[f"n{i}" for i in range(12)])
    np.testing.assert_array_equal(loaded.embed_items(new).vectors, fitted.embed_items(new).vectors)
    assert loaded.side_info_ == fitted.side_info_
    np.testing.assert_array_equal(loaded.item_weights_, fitted.item_weights_)
    for a, b in zip(loaded.side_tables_, fitted.side_tables_):
        np.testing.assert_array_equal(a, b)


def test_fit_on_walks_and_graph_inputs():
    log, items = shop()
    walks = Corpus.from_sequences([["1", "2", "3", "2", "1"], ["3", "4", "5"]])
    t = pd.DataFrame({"item": ["1", "2", "3", "4", "5", "6"], "color": ["r", "r", "g", "g", "b", "b"]})
    m = EGES(dim=4, epochs=2, threads=1).fit_walks(walks, t)
    assert sorted(m.embeddings_.keys.tolist()) == ["1", "2", "3", "4", "5", "6"]
    assert m.n_cold_ == 1
    # a log as Events, and a ready item graph, give the same model as the DataFrame
    from recembed import read_log
    from recembed.graphs import build_item_graph

    a = EGES(seed=4, **SMALL).fit(log, items=items)
    b = EGES(seed=4, **SMALL).fit(read_log(log), items=items)
    c = EGES(seed=4, **SMALL).fit(build_item_graph(log)[0], items=items)
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)
    np.testing.assert_array_equal(a.embeddings_.vectors, c.embeddings_.vectors)


def test_needs_side_info_and_valid_params():
    log, items = shop()
    with pytest.raises(InputError, match="side information"):
        EGES(**SMALL).fit(log)
    with pytest.raises(InputError, match="cold_start"):
        EGES(cold_start="magic").fit(log, items=items)
    with pytest.raises(InputError, match="cannot embed"):
        BGE(**SMALL).fit(log).embed_items(items)


def test_plot_side_info_weights(fitted, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "weights.png"
    fitted.plot_side_info_weights(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("method", ["eges", "ges", "bge"])
def test_cli_embeds_every_item_of_the_table(tmp_path, method):
    from recembed.cli import main

    log, items = shop()
    log[["user", "item", "timestamp"]].to_csv(tmp_path / "log.csv", index=False)
    # a multi-valued column as the CLI reads it: ';' inside one cell
    t = items.assign(tags=[f"t{i % 3};t{i % 5}" for i in range(len(items))])
    t.to_csv(tmp_path / "items.csv", index=False)
    out = tmp_path / "out.emb"
    rc = main(["embed", method, "--log", str(tmp_path / "log.csv"), "--items", str(tmp_path / "items.csv"),
               "--output", str(out), "--threads", "2", "--seed", "1", "--dim", "8", "--epochs", "1", "-q"])
    assert rc == 0
    emb = Embeddings.load(out)
    assert set(emb.keys.tolist()) == set(t["item"].astype(str))
    assert np.all(np.isfinite(emb.vectors))


def test_int_columns_with_missing_values_keep_their_codes():
    from recembed.data.side_info import SideInfo

    t = pd.DataFrame({"item": ["a", "b", "c"], "brand": [7, 8, 7]})
    si = SideInfo().fit(t)
    shifted = t.astype(object).set_index("item").reindex(["a", "zz"]).reset_index()   # 7 -> 7.0, NaN
    enc = si.encode(shifted)
    assert enc.fields[0].indices.tolist() == [si.vocabs[0].index("7"), 0]


def test_cli_help_states_the_estimator_defaults(capsys):
    from recembed.cli import main

    with pytest.raises(SystemExit):
        main(["embed", "eges", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    p = EGES().get_params()
    for opt, name in (("walks per item", "walks_per_node"), ("items per walk", "walk_length"),
                      ("skip-gram window", "window"), ("negative samples", "negative"), ("learning rate", "alpha"),
                      ("vector size", "dim"), ("passes over the data", "epochs")):
        assert f"{opt} (default: {p[name]})" in text, opt
    assert f"(default: {p['cold_start']})" in text


def test_tianchi_loader_names_the_file_line_after_duplicates(tmp_path):
    from recembed.datasets.tianchi import load_tianchi

    (tmp_path / "ecomm_item_feature.txt").write_text("i1\t1\t2\t3\t1.5\n")
    # line 2 repeats line 1 and is dropped; the bad date is on line 4, the bad type on line 3 of the other
    (tmp_path / "ecomm_edge_train.txt").write_text("u\ti1\t1\t20190101\nu\ti1\t1\t20190101\n"
                                                  "u\ti1\t2\t20190102\nu\ti1\t3\t2019xx03\n")
    with pytest.raises(InputError, match=r"ecomm_edge_train.txt:4: date '2019xx03'"):
        load_tianchi(tmp_path)
    (tmp_path / "ecomm_edge_train.txt").write_text("u\ti1\t1\t20190101\nu\ti1\t1\t20190101\n\n"
                                                  "u\ti1\t9\t20190102\n")
    with pytest.raises(InputError, match=r"ecomm_edge_train.txt:4: edge type 9"):  # after a blank line
        load_tianchi(tmp_path)


def test_tianchi_loader(shared_data):
    from recembed.datasets.tianchi import load_tianchi
    from recembed.graphs import build_item_graph

    tc = load_tianchi(shared_data / "tianchi-ecomm")
    assert len(tc.log) == 85213 - 4270 and len(tc.items) == 36224
    assert tc.items.columns.tolist() == ["item", "category", "brand", "price"]
    assert tc.items["brand"].notna().sum() == 36224 - 35544          # brand 0 = unknown -> missing
    assert (tc.log["timestamp"] % 86400 == 0).all()                  # dates only: UTC midnight
    assert set(tc.log["event"]) == {"click", "collect", "cart", "buy"}
    # with the default one-hour gap a session is one user's day
    _, summary = build_item_graph(tc.log)
    assert summary.sessions == len(tc.log.groupby(["user", "timestamp"]))
