"""Recall metric definitions on hand-made cases, the leave-last-out split, baselines, CLI."""
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recembed import Embeddings, InputError, read_log
from recembed.evaluation.recall import LeaveLastOut, holdout_last_mask, ranking_metrics, top_k


def test_hit_rate_recall_ndcg_single_item():
    top = np.array([[7, 1, 2, 3], [4, 5, 6, 7], [9, 8, 0, 1]])
    m = ranking_metrics(top, np.array([7, 6, 5]), ks=(1, 3, 4))
    # user 0 hits at rank 1, user 1 at rank 3, user 2 never
    assert m["HR@1"] == pytest.approx(1 / 3)
    assert m["HR@3"] == pytest.approx(2 / 3) and m["Recall@3"] == pytest.approx(2 / 3)
    assert m["NDCG@1"] == pytest.approx(1 / 3)
    assert m["NDCG@3"] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert m["users"] == 3


def test_multiple_relevant_items():
    top = np.array([[1, 2, 3, 4]])
    m = ranking_metrics(top, [np.array([2, 4, 9])], ks=(2, 4))
    assert m["HR@2"] == 1.0
    assert m["Recall@2"] == pytest.approx(1 / 3) and m["Recall@4"] == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["NDCG@4"] == pytest.approx(dcg / idcg)
    assert m["NDCG@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_users_without_relevant_items_are_skipped_and_short_rankings_rejected():
    m = ranking_metrics(np.array([[1, 2], [3, 4]]), [np.array([2]), np.array([], dtype=int)], ks=(2,))
    assert m["users"] == 1 and m["HR@2"] == 1.0
    with pytest.raises(InputError):
        ranking_metrics(np.array([[1, 2]]), np.array([1]), ks=(3,))


def test_top_k_excludes_seen_and_breaks_ties_by_index():
    U = np.array([[1.0], [1.0]], dtype=np.float32)
    I = np.array([[3.0], [3.0], [1.0], [5.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[0, 0, 0, 1], [0, 0, 0, 0]]))
    top = top_k(U, I, 3, seen)
    assert top.tolist() == [[0, 1, 2], [3, 0, 1]]


def test_holdout_last_ties_broken_by_file_order():
    log = pd.DataFrame({"user": ["u", "u", "u", "v", "w", "w"], "item": ["a", "b", "c", "a", "x", "y"],
                        "timestamp": [5, 9, 9, 1, 3, 2]})
    mask = holdout_last_mask(read_log(log))
    # u: rows 1 and 2 tie at t=9 -> row 2 is last; v has one event -> kept; w: t=3 (row 4) is last
    assert mask.tolist() == [False, False, True, False, True, False]


def small_log():
    return pd.DataFrame({"user": ["u", "u", "u", "v", "v", "v", "w", "w"],
                         "item": ["a", "b", "c", "a", "b", "d", "b", "c"],
                         "timestamp": [1, 2, 3, 1, 2, 3, 1, 2]})


def test_evaluate_embeddings_perfect_and_missing_user():
    ev = LeaveLastOut(small_log(), ks=(1, 2))
    # held out: u->c, v->d, w->c. Vectors that put c first for u and w, d first for v.
    items = Embeddings(["a", "b", "c", "d"], np.array([[0, 0], [0, 0], [1, 0], [0, 1]], np.float32))
    users = Embeddings(["u", "v", "w"], np.array([[1, 0], [0, 1], [1, 0]], np.float32))
    m = ev.evaluate_embeddings(users, items)
    assert m["HR@1"] == 1.0 and m["NDCG@1"] == 1.0 and m["users"] == 3
    # an item missing from the item vectors is never ranked above known ones
    m2 = ev.evaluate_embeddings(users, items.subset(["a", "b", "c"]))
    assert m2["HR@1"] == pytest.approx(2 / 3)
    with pytest.raises(InputError):
        ev.evaluate_embeddings(users, Embeddings(["a"], np.ones((1, 3))))


def test_popularity_and_item_to_item_baselines():
    ev = LeaveLastOut(small_log(), ks=(1, 2))
    # training counts: a 2, b 3 (u,v,w), c 1 (u? no: u's c is held out) -> b > a > ...
    pop = ev.popularity()
    assert 0 <= pop["HR@2"] <= 1
    emb = Embeddings(["a", "b", "c", "d"], np.array([[1, 0], [1, 0.1], [0.9, 0.2], [0, 1]], np.float32))
    i2i = ev.item_to_item(emb, last_n=1)
    assert i2i["users"] == 3
    hs = ev.history_sum(np.eye(ev.n_items, dtype=np.float32), last_n=1)
    # last training item of u is b, of w is b
    b = ev.events.item_vocab["b"]
    assert hs[ev.events.user_vocab["u"], b] == 1 and hs[ev.events.user_vocab["u"]].sum() == 1


def _write_log_and_users(folder, n_users, length, seed):
    """``log.csv`` (two taste groups of items) and ``users.csv`` (age, gender) for the CLI tests."""
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", f"g{u % 2}-{rng.integers(5)}", t) for u in range(n_users) for t in range(length)]
    pd.DataFrame(rows, columns=["user", "item", "timestamp"]).to_csv(folder / "log.csv", index=False)
    pd.DataFrame({"user": [f"u{u}" for u in range(n_users)], "age": np.arange(n_users) + 20,
                  "gender": ["M", "F"] * (n_users // 2)}).to_csv(folder / "users.csv", index=False)


def test_cli_train_and_evaluate_recall(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from recembed.cli import main

    _write_log_and_users(tmp_path, n_users=20, length=8, seed=0)
    pd.DataFrame({"item": [f"g{g}-{i}" for g in range(2) for i in range(5)],
                  "genres": ["a;b", "a", "b", "c", "a;c"] * 2}).to_csv(tmp_path / "items.csv", index=False)
    for model in ("youtubednn", "twotower"):
        rc = main(["train", model, "--log", str(tmp_path / "log.csv"), "--users", str(tmp_path / "users.csv"),
                   "--items", str(tmp_path / "items.csv"), "--holdout", "last", "--epochs", "1", "--dim", "8",
                   "--output-users", str(tmp_path / "U.emb"), "--output-items", str(tmp_path / "I.emb"),
                   "--threads", "1", "--seed", "1", "--device", "cpu", "--quiet"])
        assert rc == 0
        assert Embeddings.load(tmp_path / "U.emb").dim == Embeddings.load(tmp_path / "I.emb").dim
        rc = main(["evaluate", "recall", "--log", str(tmp_path / "log.csv"), "--users-emb", str(tmp_path / "U.emb"),
                   "--items-emb", str(tmp_path / "I.emb"), "--k", "1", "5"])
        assert rc == 0
        assert "HR@5" in capsys.readouterr().out
    assert main(["train", "youtubednn", "--log", str(tmp_path / "nope.csv"), "--output-users",
                 str(tmp_path / "a.emb"), "--output-items", str(tmp_path / "b.emb")]) == 2


def test_cli_user_vectors_of_a_saved_model(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from recembed.cli import main

    _write_log_and_users(tmp_path, n_users=12, length=6, seed=1)
    assert main(["train", "twotower", "--log", str(tmp_path / "log.csv"), "--users", str(tmp_path / "users.csv"),
                 "--holdout", "none", "--epochs", "1", "--dim", "8", "--output-users", str(tmp_path / "U.npz"),
                 "--output-items", str(tmp_path / "I.npz"), "--model-out", str(tmp_path / "m.npz"),
                 "--threads", "1", "--device", "cpu", "--quiet"]) == 0
    assert main(["user-vectors", "--model", str(tmp_path / "m.npz"), "--log", str(tmp_path / "log.csv"),
                 "--users", str(tmp_path / "users.csv"), "--output", str(tmp_path / "U2.npz")]) == 0
    want, got = Embeddings.load(tmp_path / "U.npz"), Embeddings.load(tmp_path / "U2.npz")
    np.testing.assert_allclose(got.vectors[[got.index_of(k) for k in want.keys]], want.vectors, rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    # the model was trained with user features: without their table it is a one-line error, nothing written
    assert main(["user-vectors", "--model", str(tmp_path / "m.npz"), "--log", str(tmp_path / "log.csv"),
                 "--output", str(tmp_path / "U3.npz")]) == 2
    assert "users=" in capsys.readouterr().err and not (tmp_path / "U3.npz").exists()
    # refused before any work: the model itself, a format no one can read back
    for out in (tmp_path / "m.npz", tmp_path / "U.csv"):
        before = (tmp_path / "m.npz").read_bytes()
        assert main(["user-vectors", "--model", str(tmp_path / "m.npz"), "--log", str(tmp_path / "log.csv"),
                     "--users", str(tmp_path / "users.csv"), "--output", str(out)]) == 2
        assert (tmp_path / "m.npz").read_bytes() == before and not (tmp_path / "U.csv").exists()
    # a fresh process has imported no model module: the file's class must still be found
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "recembed", "user-vectors", "--model", str(tmp_path / "m.npz"),
                          "--log", str(tmp_path / "log.csv"), "--users", str(tmp_path / "users.csv"),
                          "--output", str(tmp_path / "U4.npz"), "--device", "cpu", "--threads", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert np.allclose(Embeddings.load(tmp_path / "U4.npz").vectors, got.vectors, atol=1e-6)
