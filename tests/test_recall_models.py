"""YouTubeDNN and TwoTower: estimator contract, sampled softmax, streaming logQ, no leakage."""
import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from contract import EstimatorContract  # noqa: E402
from recembed import Embeddings, InputError, read_log  # noqa: E402
from recembed.models.features import UserSequences  # noqa: E402
from recembed.models.two_tower import StreamingFrequency, TwoTower  # noqa: E402
from recembed.models.youtube_dnn import YouTubeDNN, sampled_softmax_loss  # noqa: E402

torch.set_num_threads(1)


def tiny_log(n_users=24, length=8, seed=0):
    """Two taste groups: even users take items g0-*, odd users g1-*."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for t in range(length):
            rows.append((f"u{u}", f"g{u % 2}-{rng.integers(6)}", 100 * u + t))
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def tiny_tables(log):
    users = pd.DataFrame({"user": log.user.unique()})
    users["age"] = np.arange(len(users)) % 50 + 18
    users["gender"] = np.where(np.arange(len(users)) % 3, "M", "F")
    items = pd.DataFrame({"item": sorted(log.item.unique())})
    items["genres"] = [("a;b" if i.startswith("g0") else "c") for i in items.item]
    items["year"] = [1990 + k for k in range(len(items))]
    return users, items


SMALL = dict(dim=8, hidden=(16,), epochs=2, batch_size=16, device="cpu", threads=1)


class TestYouTubeDNNContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return YouTubeDNN(num_negatives=20, seed=seed, **SMALL)

    def make_input(self):
        return tiny_log()


class TestTwoTowerContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return TwoTower(item_hidden=(16,), num_random_negatives=4, seed=seed, **SMALL)

    def make_input(self):
        return tiny_log()


@pytest.mark.parametrize("cls", [YouTubeDNN, TwoTower])
def test_features_and_user_vectors(cls, tmp_path):
    log = tiny_log()
    users, items = tiny_tables(log)
    m = cls(seed=2, **SMALL).fit(log, users=users, items=items, holdout="last")
    U, I = m.user_vectors(), m.item_vectors()
    assert U.dim == I.dim and len(U) == log.user.nunique() and len(I) == log.item.nunique()
    assert m.user_vectors(["u3"]).keys.tolist() == ["u3"]
    assert len(m.history_) == 2 and all(h["seconds"] >= 0 for h in m.history_)
    m.save(tmp_path / "m.npz")
    back = cls.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.user_vectors().vectors, U.vectors)
    assert back._user_enc.to_dict() == m._user_enc.to_dict()
    assert set(back._module_state) == set(m._module.state_dict())


@pytest.mark.parametrize("cls", [YouTubeDNN, TwoTower])
@pytest.mark.parametrize("loaded", [False, True])
def test_transform_gives_training_users_their_serving_vectors(cls, loaded, tmp_path):
    # the training log through transform must give exactly user_vectors: same histories,
    # features, age 0; after load the network comes back from the stored weights
    log = tiny_log()
    users, items = tiny_tables(log)
    m = cls(seed=3, dropout=0.2, **SMALL).fit(log, users=users, items=items, holdout="last")
    if loaded:
        m.save(tmp_path / "m.npz")
        m = cls.load(tmp_path / "m.npz")
    seen = log.drop(log.groupby("user").tail(1).index)        # what training and user_vectors saw
    got = m.transform(seen.sample(frac=1.0, random_state=0), users=users)   # row order must not matter
    want = m.user_vectors(got.keys.tolist())
    np.testing.assert_allclose(got.vectors, want.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [YouTubeDNN, TwoTower])
def test_transform_embeds_new_users_from_known_items(cls, tmp_path):
    log = tiny_log()
    m = cls(seed=1, **SMALL).fit(log, holdout=None)
    m.save(tmp_path / "m.npz")
    back = cls.load(tmp_path / "m.npz")
    # a new user whose history copies u0's last 8 events gets u0's vector; unknown items are skipped
    u0 = log[log.user == "u0"]
    new = pd.concat([u0.assign(user="new"),
                     pd.DataFrame({"user": ["new"], "item": ["never-seen"], "timestamp": [10 ** 6]}),
                     pd.DataFrame({"user": ["cold"], "item": ["never-seen"], "timestamp": [0]})])
    out = back.transform(new)
    assert sorted(out.keys.tolist()) == ["cold", "new"]
    np.testing.assert_allclose(out["new"], m.user_vectors(["u0"]).vectors[0], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(out["cold"])) and not np.allclose(out["cold"], out["new"])


def test_transform_aligns_user_ids_and_survives_a_second_save(tmp_path):
    log = tiny_log()
    m = YouTubeDNN(seed=1, user_id=True, **SMALL).fit(log, holdout=None)
    m.save(tmp_path / "a.npz")
    YouTubeDNN.load(tmp_path / "a.npz").save(tmp_path / "b.npz")     # loaded, never rebuilt, saved again
    back = YouTubeDNN.load(tmp_path / "b.npz")
    got = back.transform(log.sample(frac=1.0, random_state=1).iloc[::-1])   # users met in another order
    np.testing.assert_allclose(got.vectors, m.user_vectors(got.keys.tolist()).vectors, rtol=1e-5, atol=1e-6)


def test_transform_skips_items_seen_only_in_held_out_events():
    log = tiny_log()
    last = log.groupby("user").tail(1).index
    log.loc[last, "item"] = [f"secret-{u}" for u in log.loc[last, "user"]]
    m = YouTubeDNN(seed=1, **SMALL).fit(log, holdout="last")
    assert "secret-u0" in m.item_vocab_      # in the vocabulary, but its row was never trained
    probe = pd.DataFrame({"user": ["a", "b", "b"], "item": ["unknown", "g0-1", "secret-u0"], "timestamp": [0, 0, 1]})
    alone = pd.DataFrame({"user": ["a", "b"], "item": ["unknown", "g0-1"], "timestamp": [0, 0]})
    with_secret, without = m.transform(probe), m.transform(alone)
    for user in ("a", "b"):
        np.testing.assert_array_equal(with_secret[user], without[user])


def test_transform_refuses_a_cuda_model_without_cuda(tmp_path, monkeypatch):
    m = TwoTower(seed=1, **SMALL).fit(tiny_log())
    m.save(tmp_path / "m.npz")
    back = TwoTower.load(tmp_path / "m.npz")
    back.device = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="device='cpu'"):
        back.transform(tiny_log())


def test_transform_input_errors():
    log = tiny_log()
    users, _ = tiny_tables(log)
    with_features = YouTubeDNN(seed=1, **SMALL).fit(log, users=users)
    with pytest.raises(InputError, match="users="):
        with_features.transform(log)
    with pytest.raises(InputError, match="age"):
        with_features.transform(log, users=users.drop(columns="age"))
    with pytest.raises(InputError, match="without user features"):
        YouTubeDNN(seed=1, **SMALL).fit(log).transform(log, users=users)
    with_ids = YouTubeDNN(seed=1, user_id=True, **SMALL).fit(log)
    assert len(with_ids.transform(log)) == log.user.nunique()
    with pytest.raises(InputError, match="not in training"):
        with_ids.transform(pd.DataFrame({"user": ["zz"], "item": ["g0-1"], "timestamp": [0]}))


def test_learns_taste_groups():
    """Users of group 0 must score group-0 items above group-1 items."""
    log = tiny_log(n_users=40, length=10)
    m = YouTubeDNN(dim=8, hidden=(16,), epochs=15, batch_size=32, full_softmax=True, device="cpu", threads=1,
                   seed=1).fit(log, holdout=None)
    U, I = m.user_vectors(), m.item_vectors()
    scores = U.vectors @ I.vectors.T
    g_item = np.array([k.startswith("g1") for k in I.keys])
    g_user = np.array([int(k[1:]) % 2 == 1 for k in U.keys])
    own = np.where(g_user[:, None] == g_item[None, :], scores, np.nan)
    other = np.where(g_user[:, None] != g_item[None, :], scores, np.nan)
    assert np.mean(np.nanmean(own, axis=1) > np.nanmean(other, axis=1)) > 0.9


def test_sampled_softmax_with_logq_matches_full_softmax_in_expectation():
    g = torch.Generator().manual_seed(0)
    n, d, batch = 30, 6, 5
    w = torch.randn(n, d, generator=g)
    b = torch.randn(n, generator=g)
    u = torch.randn(batch, d, generator=g, requires_grad=True)
    label = torch.tensor([0, 3, 7, 7, 29])
    q = torch.rand(n, generator=g) ** 3 + 0.01   # a skewed sampler
    q = q / q.sum()

    def item_fn(idx):
        return w[idx], b[idx]

    full = torch.nn.functional.cross_entropy(u @ w.T + b, label)
    g_full, = torch.autograd.grad(full, u)
    full = full.detach()
    losses, grads, naive = [], [], []
    for _ in range(400):
        neg = torch.multinomial(q, 300, replacement=True, generator=g)
        loss = sampled_softmax_loss(u, item_fn, label, neg, q)
        losses.append(float(loss.detach()))
        grads.append(torch.autograd.grad(loss, u)[0])
        # without the correction the sampler's skew biases the loss
        naive.append(float(sampled_softmax_loss(u, item_fn, label, neg, torch.full((n,), 1.0 / len(neg))).detach()))
    assert abs(np.mean(losses) - float(full)) < 0.02 * float(full)
    assert torch.allclose(torch.stack(grads).mean(0), g_full, atol=0.03)
    assert abs(np.mean(naive) - float(full)) > 5 * abs(np.mean(losses) - float(full))


def test_sampled_softmax_masks_accidental_hits():
    w, b = torch.eye(3), torch.zeros(3)
    u = torch.tensor([[5.0, 0.0, 0.0]])
    q = torch.full((3,), 1 / 3)
    only_label = sampled_softmax_loss(u, lambda i: (w[i], b[i]), torch.tensor([0]), torch.tensor([0, 0]), q)
    assert float(only_label) == pytest.approx(0.0, abs=1e-6)   # the label is never its own negative


def test_streaming_frequency_tracks_true_frequencies():
    rng = np.random.default_rng(0)
    n_items, batch = 200, 32
    f = 1.0 / np.arange(1, n_items + 1) ** 1.1
    f /= f.sum()
    est = StreamingFrequency(n_buckets=4096, alpha=0.01)
    for _ in range(6000):
        est.update(rng.choice(n_items, size=batch, p=f))
    truth = 1 - (1 - f) ** batch     # probability an item is in a batch
    top = np.arange(20)
    rel = np.abs(est.probability(top) - truth[top]) / truth[top]
    assert np.median(rel) < 0.1 and rel.max() < 0.35
    # ranks agree across the catalogue
    assert np.corrcoef(np.log(est.probability(np.arange(100))), np.log(truth[:100]))[0, 1] > 0.95


def test_streaming_frequency_hash_collisions_share_a_bucket():
    est = StreamingFrequency(n_buckets=1, alpha=0.5)
    est.update([1])
    est.update([2])
    assert est.probability([1])[0] == est.probability([2])[0]


def test_history_is_strictly_before_the_label():
    rng = np.random.default_rng(1)
    log = pd.DataFrame({"user": rng.integers(0, 5, 300).astype(str), "item": rng.integers(0, 40, 300).astype(str),
                        "timestamp": rng.integers(0, 20, 300)})   # many ties on timestamp
    ev = read_log(log)
    seq = UserSequences.from_events(ev)
    order = np.lexsort((ev.lines, ev.timestamps, ev.users))
    hist = seq.history(np.arange(len(seq.items)), 7)
    for pos in range(len(order)):
        u = seq.user_of[pos]
        before = [p for p in range(seq.start[u], pos)]          # sorted positions strictly earlier
        expect = [seq.items[p] + 1 for p in reversed(before)][:7]
        got = [h for h in hist[pos] if h]
        assert got == expect
        e_label = order[pos]
        for p in before:
            e = order[p]
            assert (ev.timestamps[e], ev.lines[e]) < (ev.timestamps[e_label], ev.lines[e_label])


@pytest.mark.parametrize("cls", [YouTubeDNN, TwoTower])
def test_holdout_event_never_reaches_training_or_serving_history(cls):
    log = tiny_log()
    last = log.groupby("user").tail(1).index
    log.loc[last, "item"] = [f"secret-{u}" for u in log.loc[last, "user"]]
    m = cls(seed=1, **SMALL).fit(log, holdout="last")
    secret = np.array([k.startswith("secret") for k in m.item_vocab_.keys])
    assert m.item_counts_[secret].sum() == 0
    hist = m._seq.history_of_users(np.arange(len(m.user_vocab_)), 50)
    assert not np.isin(np.flatnonzero(secret) + 1, hist).any()


@pytest.mark.parametrize("cls", [YouTubeDNN, TwoTower])
def test_pretrained_items_frozen_stay_fixed(cls):
    log = tiny_log()
    keys = sorted(log.item.unique())
    pre = Embeddings(keys, np.random.default_rng(0).normal(size=(len(keys), 8)).astype(np.float32))
    m = cls(seed=1, pretrained_items=pre, freeze_pretrained=True, **SMALL).fit(log)
    table = m._module.item_in.weight.detach().numpy()
    rows = np.array([m.item_vocab_[k] + 1 for k in keys])
    np.testing.assert_allclose(table[rows], pre.vectors, rtol=1e-6)
    assert m.pretrained_coverage_ == 1.0
    with pytest.raises(InputError):
        cls(pretrained_items=Embeddings(keys, np.ones((len(keys), 3))), **SMALL).fit(log)


def test_bad_holdout_is_rejected():
    with pytest.raises(InputError):
        YouTubeDNN(**SMALL).fit(tiny_log(), holdout="first")


def test_youtube_item_vectors_can_include_item_features():
    log = tiny_log()
    users, items = tiny_tables(log)
    m = YouTubeDNN(item_features=True, seed=1, **SMALL).fit(log, users=users, items=items)
    assert "item_proj.weight" in m._module.state_dict()
    # two items with the same id weights would still differ through their features
    assert np.all(np.isfinite(m.item_vectors().vectors))
