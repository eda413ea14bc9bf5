"""Word2Vec / Item2Vec: single updates against numpy references, tables, determinism, quality."""
import heapq

import numpy as np
import pandas as pd
import pytest

from recembed import Corpus, InputError
from recembed.word2vec import (Item2Vec, Word2Vec, alias_table, huffman_tree, keep_probabilities,
                               noise_probabilities)
from recembed.word2vec import engine

from contract import EstimatorContract


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def random_weights(v=6, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(v, d)) * 0.5).astype(np.float32), (rng.normal(size=(v, d)) * 0.5).astype(np.float32)


# -- single updates against hand-written references ----------------------------------
def ref_ns(l1, out, targets, labels, lr):
    """word2vec.c's loop for one input vector, in float64: returns (neu1e, new out, loss)."""
    out = out.astype(np.float64).copy()
    neu1e = np.zeros_like(l1, dtype=np.float64)
    loss = 0.0
    for t, lab in zip(targets, labels):
        f = l1 @ out[t]
        g = (lab - sigmoid(f)) * lr
        loss -= np.log(sigmoid(f) if lab else 1 - sigmoid(f))
        neu1e += g * out[t]
        out[t] += g * l1
    return neu1e, out, loss


@pytest.mark.parametrize("batch", [False, True])
def test_sgns_update_matches_reference(batch):
    syn0, syn1 = random_weights()
    exp0, exp1 = syn0.astype(np.float64), syn1.astype(np.float64)
    negs = np.array([3, 4, 2], dtype=np.int32)  # the last equals the word: skipped (word2vec.c)
    neu1e, exp1, exp_loss = ref_ns(exp0[1], exp1, [2, 3, 4], [1, 0, 0], 0.1)
    exp0[1] += neu1e
    loss = engine.sgns_update(syn0, syn1, 1, 2, negs, 0.1, batch)
    np.testing.assert_allclose(syn0, exp0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, exp1, rtol=1e-5, atol=1e-6)
    assert loss == pytest.approx(exp_loss, rel=1e-5)


def test_sgns_window_applies_contexts_in_turn_with_shared_negatives():
    syn0, syn1 = random_weights()
    ctx = np.array([0, 3, 0, 5, 2, 4, 1], dtype=np.int32)  # context 0 twice: its second turn sees the first
    outs, labels, lr = [1, 4, 5, 2, 3, 1], [1, 0, 0, 0, 0, 0], 0.05  # the last negative equals the word: skipped
    exp0, exp1, exp_loss = syn0.astype(np.float64), syn1.astype(np.float64), 0.0
    for c in ctx:
        neu1e, exp1, loss = ref_ns(exp0[c], exp1, outs[:5], labels[:5], lr)
        exp0[c] += neu1e
        exp_loss += loss
    acc = np.empty(5, np.float32)
    gb = np.empty(6, np.float32)
    lp, ls = engine._sgns_window(syn0, syn1, ctx, 7, np.array(outs, dtype=np.int32), 6, lr, acc, gb, 5, 1.0, 0.0)
    np.testing.assert_allclose(syn0, exp0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, exp1, rtol=1e-5, atol=1e-6)
    assert ls - np.log(lp) == pytest.approx(exp_loss, rel=1e-5)


def test_sghs_update_matches_reference():
    counts = np.array([10, 6, 4, 3, 2, 1])
    code_off, codes, points = huffman_tree(counts)
    syn0, syn1 = random_weights()
    syn1 = syn1[:5].copy()
    word, ctx, lr = 4, 0, 0.2
    l1 = syn0[ctx].astype(np.float64)
    out = syn1.astype(np.float64)
    neu1e, loss = np.zeros(5), 0.0
    for n in range(code_off[word], code_off[word + 1]):
        p, c = points[n], codes[n]
        f = l1 @ out[p]
        g = (1 - c - sigmoid(f)) * lr
        loss -= np.log(sigmoid(f) if c == 0 else 1 - sigmoid(f))
        neu1e += g * out[p]
        out[p] += g * l1
    exp0 = syn0.astype(np.float64)
    exp0[ctx] += neu1e
    got = engine.sghs_update(syn0, syn1, ctx, word, codes, points, code_off, lr)
    np.testing.assert_allclose(syn0, exp0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, out, rtol=1e-5, atol=1e-6)
    assert got == pytest.approx(loss, rel=1e-5)
    assert code_off[word + 1] - code_off[word] >= 2  # the path really has several nodes


def test_cbow_ns_update_matches_reference():
    syn0, syn1 = random_weights()
    ctx = np.array([0, 1, 3], dtype=np.int32)
    negs = np.array([4, 5], dtype=np.int32)
    h = syn0[ctx].astype(np.float64).mean(axis=0)
    neu1e, exp1, exp_loss = ref_ns(h, syn1, [2, 4, 5], [1, 0, 0], 0.05)
    exp0 = syn0.astype(np.float64)
    exp0[ctx] += neu1e  # word2vec.c: the full error to every context
    loss = engine.cbow_ns_update(syn0, syn1, ctx, 2, negs, 0.05)
    np.testing.assert_allclose(syn0, exp0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, exp1, rtol=1e-5, atol=1e-6)
    assert loss == pytest.approx(exp_loss, rel=1e-5)


def test_loss_is_finite_for_extreme_logits():
    syn0 = np.full((3, 4), 30.0, dtype=np.float32)
    syn1 = np.full((3, 4), -30.0, dtype=np.float32)  # logit -3600: sigmoid underflows
    loss = engine.sgns_update(syn0, syn1, 0, 1, np.array([2], dtype=np.int32), 0.0, True)
    assert np.isfinite(loss) and loss > 100


# -- tables ----------------------------------------------------------------------------
def alias_distribution(prob, alias):
    """The exact distribution an alias table samples."""
    n = len(prob)
    q = prob / n
    np.add.at(q, alias, (1 - prob) / n)
    return q


@pytest.mark.parametrize("exponent", [0.75, 0.0, -0.5, 1.0])
def test_noise_distribution_formula(exponent):
    counts = np.array([100, 40, 7, 3, 1])
    p = noise_probabilities(counts, exponent)
    expected = counts.astype(float) ** exponent
    np.testing.assert_allclose(p, expected / expected.sum(), rtol=1e-12)
    prob, alias = alias_table(p)
    np.testing.assert_allclose(alias_distribution(prob, alias), p, rtol=1e-12, atol=1e-15)


def test_noise_sampler_draws_the_distribution():
    counts = np.array([100, 40, 7, 3, 1, 0])
    p = noise_probabilities(counts, 0.75)
    prob, alias = alias_table(p)
    assert prob[-1] == 0  # a zero-count word is never kept ...
    assert alias_distribution(prob, alias)[-1] == 0  # ... nor anybody's alias
    n = 400_000
    draws = engine.sample_noise_many(5, prob, alias, n)
    freq = np.bincount(draws, minlength=len(counts)) / n
    assert freq[-1] == 0
    assert np.all(np.abs(freq - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-9)


def test_alias_table_on_a_large_skewed_distribution():
    counts = np.random.default_rng(1).zipf(1.5, size=50_000).astype(float)
    p = noise_probabilities(counts, 0.75)
    prob, alias = alias_table(p)
    np.testing.assert_allclose(alias_distribution(prob, alias), p, rtol=1e-9, atol=1e-18)


def test_explicit_noise_distribution_and_bad_values():
    seqs = [["a", "b", "c"]] * 30
    m = Word2Vec(dim=4, epochs=1, threads=1, noise_distribution={"a": 1.0, "b": 0.0, "c": 3.0}).fit(seqs)
    assert m.embeddings_.vectors.std() > 0
    with pytest.raises(InputError, match="noise_distribution"):
        Word2Vec(dim=4, epochs=1, threads=1, noise_distribution=[1.0, 2.0]).fit(seqs)
    with pytest.raises(InputError, match="noise_distribution"):
        Word2Vec(dim=4, epochs=1, threads=1, noise_distribution=[1.0, -2.0, 1.0]).fit(seqs)


def test_keep_probabilities_formula():
    counts = np.array([5000, 800, 100, 10, 1])
    s = 1e-3
    t = s * counts.sum()
    expected = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    np.testing.assert_allclose(keep_probabilities(counts, s), expected, rtol=1e-12)
    assert expected[0] < 1 and expected[-1] == 1.0
    assert keep_probabilities(counts, 0).size == 0


def test_huffman_codes_are_valid_and_optimal():
    rng = np.random.default_rng(3)
    counts = rng.zipf(1.7, size=200).clip(max=10_000)
    code_off, codes, points = huffman_tree(counts)
    lens = np.diff(code_off)
    words = ["".join(map(str, codes[code_off[i]:code_off[i + 1]])) for i in range(len(counts))]
    assert len(set(words)) == len(words)
    srt = sorted(words)
    assert not any(b.startswith(a) for a, b in zip(srt, srt[1:]))  # prefix-free
    assert np.sum(2.0 ** -lens) == pytest.approx(1.0)  # a full binary tree (Kraft equality)
    assert points.min() >= 0 and points.max() == len(counts) - 2
    assert np.all(points[code_off[:-1]] == len(counts) - 2)  # every path starts at the root
    # optimal: same total weighted length as a textbook heap build
    heap = [(int(c), i, None) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    cost, k = 0, len(counts)
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a[0] + b[0]
        heapq.heappush(heap, (a[0] + b[0], k, None))
        k += 1
    assert int(np.sum(lens * counts)) == cost
    # a more frequent word never has a longer code
    order = np.argsort(-counts, kind="stable")
    assert np.all(np.diff(lens[order]) >= 0)


def test_huffman_small_cases():
    off, codes, _ = huffman_tree(np.array([5, 3, 1, 1]))
    assert np.diff(off).tolist() == [1, 2, 3, 3]
    off, codes, points = huffman_tree(np.array([7]))
    assert np.diff(off).tolist() == [1]


# -- estimator behaviour ----------------------------------------------------------------
def cluster_corpus(n_clusters=5, size=8, n_seq=400, length=20, seed=0):
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n_seq):
        c = rng.integers(n_clusters)
        seqs.append([f"c{c}_{i}" for i in rng.integers(size, size=length)])
    return seqs


@pytest.mark.parametrize("kw", [dict(), dict(_shared_negatives=False), dict(sg=False), dict(hs=True, negative=0),
                                dict(sg=False, hs=True, negative=0), dict(basket=True)])
def test_planted_clusters_are_neighbours(kw):
    seqs = cluster_corpus()
    kw = dict(kw)
    shared = kw.pop("_shared_negatives", True)
    m = Word2Vec(dim=16, window=3, epochs=3, sample=0, threads=1, seed=2, **kw)
    m._shared_negatives = shared
    m.fit(seqs)
    hits = []
    for key in m.vocab_.keys.tolist():
        nn = [k for k, _ in m.most_similar(key, k=5)]
        hits += [n.split("_")[0] == key.split("_")[0] for n in nn]
    assert np.mean(hits) > 0.9, kw
    assert m.loss_[-1] < m.loss_[0]


def test_threads1_bit_identical_and_seed_matters():
    seqs = cluster_corpus(n_seq=200)
    a = Word2Vec(dim=8, epochs=2, threads=1, seed=5).fit(seqs)
    b = Word2Vec(dim=8, epochs=2, threads=1, seed=5).fit(seqs)
    c = Word2Vec(dim=8, epochs=2, threads=1, seed=6).fit(seqs)
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)
    np.testing.assert_array_equal(a.output_vectors_, b.output_vectors_)
    assert a.loss_ == b.loss_
    assert not np.array_equal(a.embeddings_.vectors, c.embeddings_.vectors)


def test_multithreaded_run_trains():
    seqs = cluster_corpus(n_seq=600)
    m = Word2Vec(dim=8, epochs=2, threads=2, seed=5)
    m._job_words = 500  # many jobs, so both threads work
    m._words_per_thread = 1  # and let them work on a 40-word vocabulary
    m.fit(seqs)
    assert m.threads_ == 2
    assert np.all(np.isfinite(m.embeddings_.vectors)) and m.words_per_second_ > 0
    assert m.examples_[0] > 0


def test_a_tiny_vocabulary_trains_on_one_thread_and_reproducibly():
    seqs = cluster_corpus(n_seq=600)  # 40 words
    a = Word2Vec(dim=8, epochs=2, threads=2, seed=5)
    a._job_words = 500
    a.fit(seqs)
    b = Word2Vec(dim=8, epochs=2, threads=1, seed=5)
    b._job_words = 500
    b.fit(seqs)
    assert a.threads_ == 1
    np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)


def window_pairs(n, w):
    return sum(min(i, w) + min(n - 1 - i, w) for i in range(n))


def test_long_sequences_are_used_in_full():
    # one sequence of 12,000 tokens; 'late' only appears after position 10,000
    rng = np.random.default_rng(0)
    toks = [f"t{i}" for i in rng.integers(50, size=12_000)]
    for p in range(10_500, 12_000, 100):
        toks[p] = "late"
    m = Word2Vec(dim=8, window=3, epochs=1, sample=0, shrink_windows=False, threads=1,
                 noise_distribution={f"t{i}": 1.0 for i in range(50)})  # 'late' is never a negative
    m.fit([toks])
    assert m.examples_ == [window_pairs(12_000, 3)]
    late = m.vocab_["late"]
    assert np.abs(m.output_vectors_[late]).sum() > 0  # trained as a centre word


def test_basket_pairs_rule():
    seqs = [list("abcde"), list("fghijklmnopqrstuvwxyz")]  # 5 items: all pairs; 21 items > 2*3+1: 6 each
    m = Word2Vec(dim=4, window=3, basket=True, sample=0, epochs=1, threads=1).fit(seqs)
    assert m.examples_ == [5 * 4 + 21 * 6]
    m = Word2Vec(dim=4, window=3, basket=False, shrink_windows=False, sample=0, epochs=1, threads=1).fit(seqs)
    assert m.examples_ == [window_pairs(5, 3) + window_pairs(21, 3)]
    m = Word2Vec(dim=4, window=3, sg=False, sample=0, epochs=1, threads=1).fit(seqs)
    assert m.examples_ == [26]  # CBOW: one example per predicted word


def test_sequence_weights_scale_the_gradient():
    seqs = [["a", "b", "c"], ["x", "y", "z"]] * 20
    base = Corpus.from_sequences(seqs)
    zero = Corpus(base.tokens, base.offsets, base.vocab, weights=np.tile([1.0, 0.0], 20))
    m = Word2Vec(dim=4, epochs=2, sample=0, threads=1, seed=3).fit(zero)
    v = len(base.vocab)
    init = (np.random.default_rng(3).random((v, 4), dtype=np.float32) - np.float32(0.5)) / np.float32(4)
    xyz = [m.vocab_[k] for k in "xyz"]
    abc = [m.vocab_[k] for k in "abc"]
    np.testing.assert_array_equal(m.embeddings_.vectors[xyz], init[xyz])  # weight 0: no update
    assert not np.allclose(m.embeddings_.vectors[abc], init[abc])


def test_callbacks_stop_early():
    seen = []

    def cb(epoch, loss, model):
        seen.append((epoch, loss))
        assert model.embeddings_.vectors.shape == (len(model.vocab_), 4)
        return epoch == 1

    m = Word2Vec(dim=4, epochs=5, threads=1, callbacks=[cb]).fit([["a", "b", "c"]] * 10)
    assert [e for e, _ in seen] == [0, 1] and len(m.loss_) == 2 and m.stopped_early_ is True


def test_inputs_path_corpus_and_min_count(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("a b c a\n\nb c d\nrare a b\n")
    m = Word2Vec(dim=4, epochs=1, min_count=2, threads=1).fit(p)
    assert sorted(m.vocab_.keys.tolist()) == ["a", "b", "c"]
    m2 = Word2Vec(dim=4, epochs=1, min_count=2, threads=1).fit(Corpus.from_file(p))
    np.testing.assert_array_equal(m.embeddings_.vectors, m2.embeddings_.vectors)
    with pytest.raises(InputError, match="min_count"):
        Word2Vec(dim=4, min_count=10, threads=1).fit(p)
    with pytest.raises(InputError):
        Word2Vec(dim=4).fit(["a b c"])


@pytest.mark.parametrize("kw, word", [
    (dict(dim=0), "dim"), (dict(dim=2.5), "dim"), (dict(window=0), "window"), (dict(negative=-1), "negative"),
    (dict(hs=False, negative=0), "negative=0"), (dict(epochs=0), "epochs"), (dict(sample=-1e-3), "sample"),
    (dict(alpha=0), "alpha"), (dict(min_alpha=-1), "min_alpha"), (dict(threads=0), "threads"),
    (dict(min_count=-1), "min_count"), (dict(max_vocab=0), "max_vocab"), (dict(sg="yes"), "sg"),
    (dict(ns_exponent=float("nan")), "ns_exponent"), (dict(seed=-1), "seed"), (dict(callbacks=[1]), "callbacks"),
])
def test_bad_hyperparameters(kw, word, tmp_path):
    with pytest.raises(InputError, match=word):
        Word2Vec(**kw).fit([["a", "b"]])


def test_item2vec_from_log():
    rng = np.random.default_rng(0)
    rows = []
    for u in range(150):
        group = "ab"[u % 2]
        for t, i in enumerate(rng.integers(6, size=5)):
            rows.append((u, f"{group}{i}", t * 10.0))
    log = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    m = Item2Vec(dim=8, epochs=5, threads=1, sample=0).fit(log)
    assert m.basket and len(m.vocab_) == 12
    same = np.mean([n[0] == k[0] for k in m.vocab_.keys.tolist() for n, _ in m.most_similar(k, k=3)])
    assert same > 0.9
    with pytest.raises(InputError, match="log"):
        Item2Vec(dim=4).fit([["a", "b"]], user_col="u")


# -- the shared contract ------------------------------------------------------------------
class TestWord2VecContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return Word2Vec(dim=8, window=2, epochs=2, threads=1, seed=seed)

    def make_input(self):
        return cluster_corpus(n_seq=60)


class TestItem2VecContract(EstimatorContract):
    def make_estimator(self, seed=1):
        return Item2Vec(dim=8, epochs=2, threads=1, seed=seed)

    def make_input(self):
        return cluster_corpus(n_seq=60)


def test_corpus_with_bad_ids_or_weights_is_refused():
    c = Corpus.from_sequences([["a", "b", "c"]])
    bad = Corpus(np.array([0, 1, 7], dtype=np.int32), c.offsets, c.vocab)
    with pytest.raises(InputError, match="outside"):
        Word2Vec(dim=4, threads=1).fit(bad)
    neg = Corpus(c.tokens, c.offsets, c.vocab, weights=[-1.0])
    with pytest.raises(InputError, match="weights"):
        Word2Vec(dim=4, threads=1).fit(neg)
