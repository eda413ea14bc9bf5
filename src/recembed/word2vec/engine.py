"""Numba kernels for word2vec training: skip-gram/CBOW, negative sampling/hierarchical softmax.

Everything that runs per token lives here, compiled with ``nogil=True`` so that several
Python threads can run :func:`train_job` at once on different sequences of the same
CSR corpus, updating the shared weight matrices without locks (hogwild, as word2vec.c).

Design notes (the *why*):

* The random stream of a job (a run of whole sequences) is seeded from
  ``(seed, epoch, job)``, never from the thread, so one thread gives bit-identical
  runs and more threads differ only by the order in which racing updates land.
* The learning rate is a function of the token's position in the corpus and the
  epoch, not of a shared progress counter, for the same reason.
* Sigmoid and log-sigmoid are computed exactly (no 1000-entry table), so a tiny numpy
  reference reproduces an update to float32 rounding.
* Skip-gram with negative sampling shares one draw of ``K`` negatives among the contexts
  of a window (Ji et al. 2016, "Parallelizing Word2Vec in Shared and Distributed
  Memory"), so the ``K+1`` output rows of a centre word stay in L1 while its contexts
  train against them. Unlike Ji et al. the contexts are applied one after the other
  (each sees the output rows the previous one left), not summed from the same old
  values: the summed form lost 1.7 points of Micro-F1 on wiki for 10-20 % speed.
* The loss is the negative log-likelihood of every (input, output) term, accumulated
  in float64. To avoid a ``log`` per term, probabilities are multiplied into a float64
  running product that is flushed through one ``log`` when it gets small.

Other kernels (EGES) call ``job_seed``, ``_next``, ``_uniform``, ``_randint``, ``_pair_update``,
``_sig_term``, ``_take``, ``alias_table``, ``noise_probabilities`` and
``keep_probabilities``: keep their signatures. numba's on-disk cache does not track
imports across files, so after changing one of these, clear the callers' caches too.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types

from .._alias import alias_table  # noqa: F401  (the noise sampler's tables; re-exported)
from numba.core import cgutils
from numba.extending import intrinsic

_JIT = dict(nogil=True, cache=True, fastmath=True, error_model="numpy")

#: running-product floor below which the accumulated probability is flushed into the loss
_FLUSH = 1e-200


# -- cache prefetch ------------------------------------------------------------
@intrinsic
def _prefetch_row(typingctx, arr, row):
    """Ask the CPU to start loading row ``row`` of a C-contiguous 2-D array (every 64-byte line).

    Rows of the weight matrices are picked at random, so without this each centre word
    waits on a dozen L2/L3 misses; issuing them one centre ahead overlaps the latency.
    """
    sig = types.void(arr, row)

    def codegen(context, builder, signature, args):
        aryty, rowty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        r = context.cast(builder, args[1], rowty, types.intp)
        shape = cgutils.unpack_tuple(builder, ary.shape)
        ptr = cgutils.get_item_pointer2(context, builder, ary.data, shape, cgutils.unpack_tuple(builder, ary.strides),
                                        aryty.layout, [r, zero])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        base = builder.bitcast(ptr, i8p)
        nbytes = builder.mul(shape[1], context.get_constant(types.intp, aryty.dtype.bitwidth // 8))
        with cgutils.for_range_slice(builder, zero, nbytes, context.get_constant(types.intp, 64)) as (off, _):
            # read access, high temporal locality, data cache
            builder.call(fn, [builder.gep(base, [off]), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# -- random numbers -----------------------------------------------------------
@njit(**_JIT)
def _splitmix(x):
    x = (x + np.uint64(0x9E3779B97F4A7C15))
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**_JIT)
def job_seed(seed, epoch, job):
    """Seed of one job's random stream: a hash of (seed, epoch, job), never 0."""
    s = _splitmix(np.uint64(seed))
    s = _splitmix(s ^ np.uint64(epoch))
    s = _splitmix(s ^ np.uint64(job))
    if s == np.uint64(0):
        s = np.uint64(0x2545F4914F6CDD1D)
    return s


@njit(**_JIT)
def _next(state):
    # xorshift64*: cheap, full period, good enough high bits for sampling
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state, state * np.uint64(2685821657736338717)


@njit(**_JIT)
def _uniform(state):
    state, r = _next(state)
    return state, (r >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(**_JIT)
def subsample_into(tokens, start, end, keep_prob, subsample, rng, seqbuf):
    """Copy ``tokens[start:end]`` into ``seqbuf``, each kept with ``keep_prob[token]``.

    Subsampling happens before windows are laid, so windows span what is kept (word2vec.c,
    gensim). Returns the advanced RNG state and the number of tokens kept. Shared by the
    Word2Vec and EGES kernels.
    """
    n = 0
    for p in range(start, end):
        w = tokens[p]
        if subsample:
            kp = keep_prob[w]
            if kp < 1.0:
                rng, u = _uniform(rng)
                if u >= kp:
                    continue
        seqbuf[n] = w
        n += 1
    return rng, n


@njit(**_JIT)
def _randint(state, n):
    # multiply-shift instead of a modulo: no division on the per-token path
    state, r = _next(state)
    return state, np.int64(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(**_JIT)
def _sample_noise(state, prob, alias):
    """Index i drawn from the noise distribution encoded by Walker's alias tables.

    O(1) per draw (one random number, two loads), where a binary search on the
    cumulative table costs ~log2(V) dependent loads per negative.
    """
    state, r = _next(state)
    n = prob.shape[0]
    i = np.int64(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
    u = (r & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0)
    if u < prob[i]:
        return state, i
    return state, np.int64(alias[i])


# -- small math ---------------------------------------------------------------
@njit(**_JIT)
def _dot(a, b, d):
    s = np.float32(0.0)
    for j in range(d):
        s += a[j] * b[j]
    return s


@njit(**_JIT)
def _sig_term(x, label):
    """(gradient factor label - sigmoid(x), probability of the label) computed without overflow."""
    e = math.exp(-abs(x))
    inv = 1.0 / (1.0 + e)
    if x >= 0.0:
        s = inv
    else:
        s = e * inv
    if label:
        return 1.0 - s, s
    return -s, 1.0 - s


@njit(**_JIT)
def _take(prob, loss_prod, loss_sum):
    """Multiply a probability into the running product; flush into loss_sum when small."""
    if prob < 1e-300:
        # exp underflowed: -log(prob) is huge; count a large finite penalty instead of inf
        loss_sum += 690.0
        return loss_prod, loss_sum
    loss_prod *= prob
    if loss_prod < _FLUSH:
        loss_sum -= math.log(loss_prod)
        loss_prod = 1.0
    return loss_prod, loss_sum


# -- single updates (also the building blocks of the job kernel) --------------
@njit(inline="always", **_JIT)
def _pair_update(row, l1, g, neu1e, d):
    """``neu1e += g * row; row += g * l1`` in one pass: the input's gradient uses the old row."""
    for j in range(d):
        o = row[j]
        neu1e[j] += g * o
        row[j] = o + g * l1[j]


@njit(**_JIT)
def _ns_pair(l1, syn1neg, word, negs, n_negs, lr, neu1e, d, loss_prod, loss_sum):
    """Negative sampling for one input vector ``l1`` and target ``word``; gradient into neu1e.

    ``negs[:n_negs]`` are the negatives; one equal to ``word`` is skipped, as word2vec.c does.
    """
    for k in range(n_negs + 1):
        if k == 0:
            t = word
            label = True
        else:
            t = negs[k - 1]
            if t == word:
                continue
            label = False
        row = syn1neg[t]
        f = _dot(l1, row, d)
        gf, p = _sig_term(f, label)
        loss_prod, loss_sum = _take(p, loss_prod, loss_sum)
        _pair_update(row, l1, np.float32(gf * lr), neu1e, d)
    return loss_prod, loss_sum


@njit(**_JIT)
def _hs_pair(l1, syn1, word, codes, points, code_off, lr, neu1e, d, loss_prod, loss_sum):
    """Hierarchical softmax along the Huffman path of ``word``; gradient into neu1e."""
    for n in range(code_off[word], code_off[word + 1]):
        row = syn1[points[n]]
        f = _dot(l1, row, d)
        # code 0 = the branch whose probability is sigmoid(f), as in word2vec.c
        gf, p = _sig_term(f, codes[n] == 0)
        loss_prod, loss_sum = _take(p, loss_prod, loss_sum)
        _pair_update(row, l1, np.float32(gf * lr), neu1e, d)
    return loss_prod, loss_sum


@njit(**_JIT)
def _dot4(a, r0, r1, r2, r3, d):
    # four dot products sharing the loads of ``a``: fewer memory operations per FLOP
    s0 = np.float32(0.0)
    s1 = np.float32(0.0)
    s2 = np.float32(0.0)
    s3 = np.float32(0.0)
    for j in range(d):
        aj = a[j]
        s0 += aj * r0[j]
        s1 += aj * r1[j]
        s2 += aj * r2[j]
        s3 += aj * r3[j]
    return s0, s1, s2, s3


@njit(**_JIT)
def _dot2(a, r0, r1, d):
    s0 = np.float32(0.0)
    s1 = np.float32(0.0)
    for j in range(d):
        aj = a[j]
        s0 += aj * r0[j]
        s1 += aj * r1[j]
    return s0, s1


@njit(**_JIT)
def _sgns_window(syn0, syn1neg, ctx, nb, outs, n_out, lr, acc, gbuf, d, loss_prod, loss_sum):
    """Skip-gram NS for one window: inputs ``syn0[ctx[:nb]]``, outputs ``syn1neg[outs[:n_out]]``.

    ``outs[0]`` is the true word (label 1), the rest negatives shared by the window (label
    0; one equal to the word is skipped, as word2vec.c does). Contexts are applied one after
    the other, each seeing the output rows as the previous context left them: the same
    updates as word2vec.c's per-pair loop with its negatives drawn once per window.
    ``acc`` (dim) and ``gbuf`` (``n_out``) are scratch.
    """
    word = outs[0]
    for b in range(nb):
        a = syn0[ctx[b]]
        k = 0
        while k + 4 <= n_out:
            s0, s1, s2, s3 = _dot4(a, syn1neg[outs[k]], syn1neg[outs[k + 1]], syn1neg[outs[k + 2]],
                                   syn1neg[outs[k + 3]], d)
            gbuf[k] = s0
            gbuf[k + 1] = s1
            gbuf[k + 2] = s2
            gbuf[k + 3] = s3
            k += 4
        if k + 2 <= n_out:
            s0, s1 = _dot2(a, syn1neg[outs[k]], syn1neg[outs[k + 1]], d)
            gbuf[k] = s0
            gbuf[k + 1] = s1
            k += 2
        if k < n_out:
            gbuf[k] = _dot(a, syn1neg[outs[k]], d)
        for j in range(d):
            acc[j] = 0.0
        for k in range(n_out):
            if k > 0 and outs[k] == word:
                continue
            gf, p = _sig_term(gbuf[k], k == 0)
            loss_prod, loss_sum = _take(p, loss_prod, loss_sum)
            _pair_update(syn1neg[outs[k]], a, np.float32(gf * lr), acc, d)
        for j in range(d):
            a[j] += acc[j]
    return loss_prod, loss_sum


# -- the job kernel -----------------------------------------------------------
@njit(**_JIT)
def train_job(syn0, syn1neg, syn1, tokens, offsets, weights, keep_prob, noise_prob, noise_alias,
              codes, points, code_off, s_start, s_end, sg, hs, negative, window, shrink,
              basket, shared_negs, alpha, min_alpha, word_base, total_words, rng,
              seqbuf, ctxbuf, negbuf, neu1, neu1e, gbuf):
    """Train on sequences ``s_start:s_end`` of a CSR corpus; return (loss, n_terms, n_examples, n_kept).

    An example is a (context, word) pair for skip-gram and a predicted word for CBOW.

    ``word_base`` is the number of corpus tokens processed before this job in the whole run
    (``epoch * n_tokens + offsets[s_start]``); the learning rate of the token at corpus
    position ``p`` is ``alpha - (alpha - min_alpha) * (word_base' + p) / total_words``.
    ``weights`` is empty or one float per sequence. ``keep_prob`` is empty when there is no
    subsampling. ``noise_prob``/``noise_alias`` are :func:`alias_table` of the noise
    distribution. Buffers: ``seqbuf`` (int32, longest sequence), ``ctxbuf`` (int32,
    2 * window), ``negbuf`` (int32, 2 * (negative + 1)), ``neu1``/``neu1e`` (dim),
    ``gbuf`` (float32, negative + 1).
    """
    d = syn0.shape[1]
    loss_prod = 1.0
    loss_sum = 0.0
    n_terms = 0
    n_pairs = 0
    n_kept = 0
    slope = (alpha - min_alpha) / total_words
    use_w = weights.shape[0] > 0
    subsample = keep_prob.shape[0] > 0
    base0 = offsets[s_start]
    max_ctx = 2 * window
    per_pair = 1 + negative if negative > 0 else 0
    for s in range(s_start, s_end):
        start = offsets[s]
        end = offsets[s + 1]
        # subsampling first, windows over what is kept (word2vec.c / gensim)
        rng, n = subsample_into(tokens, start, end, keep_prob, subsample, rng, seqbuf)
        n_kept += n
        if n < 2:
            continue
        sw = weights[s] if use_w else 1.0
        pending = -1
        lr_seq = alpha - slope * (word_base + (start - base0))
        lr_step = slope * (end - start) / n
        for i in range(n):
            lr = lr_seq - lr_step * i
            if lr < min_alpha:
                lr = min_alpha
            lr *= sw
            word = seqbuf[i]
            # gather the contexts of position i
            nc = 0
            if basket:
                if n - 1 <= max_ctx:
                    for j in range(n):
                        if j != i:
                            ctxbuf[nc] = seqbuf[j]
                            nc += 1
                else:
                    for c in range(max_ctx):
                        rng, j = _randint(rng, n - 1)
                        if j >= i:
                            j += 1
                        ctxbuf[nc] = seqbuf[j]
                        nc += 1
            else:
                b = window
                if shrink:
                    rng, r = _randint(rng, window)
                    b = window - r
                lo = i - b if i - b > 0 else 0
                hi = i + b + 1 if i + b + 1 < n else n
                for j in range(lo, hi):
                    if j != i:
                        ctxbuf[nc] = seqbuf[j]
                        nc += 1
            if nc == 0:
                continue
            n_pairs += nc if sg else 1
            if sg:
                if shared_negs:
                    # negatives are drawn one centre ahead (two slots of negbuf) so that the rows
                    # of the next centre can be prefetched while this one computes
                    k1 = negative + 1
                    cur = negbuf[(i & 1) * k1:(i & 1) * k1 + k1]
                    nxt = negbuf[((i + 1) & 1) * k1:((i + 1) & 1) * k1 + k1]
                    if i == 0 or pending != i:
                        for k in range(1, k1):
                            rng, t = _sample_noise(rng, noise_prob, noise_alias)
                            cur[k] = t
                    if i + 1 < n:
                        for k in range(1, k1):
                            rng, t = _sample_noise(rng, noise_prob, noise_alias)
                            nxt[k] = t
                            _prefetch_row(syn1neg, t)
                        _prefetch_row(syn1neg, seqbuf[i + 1])
                        if not basket and i + window + 1 < n:
                            _prefetch_row(syn0, seqbuf[i + window + 1])
                        pending = i + 1
                    cur[0] = word
                    loss_prod, loss_sum = _sgns_window(syn0, syn1neg, ctxbuf, nc, cur, k1, lr, neu1e, gbuf, d,
                                                       loss_prod, loss_sum)
                    n_terms += nc * per_pair
                else:
                    for c in range(nc):
                        l1 = syn0[ctxbuf[c]]
                        for j in range(d):
                            neu1e[j] = 0.0
                        if hs:
                            loss_prod, loss_sum = _hs_pair(l1, syn1, word, codes, points, code_off, lr, neu1e, d,
                                                           loss_prod, loss_sum)
                            n_terms += code_off[word + 1] - code_off[word]
                        if negative > 0:
                            for k in range(negative):
                                rng, t = _sample_noise(rng, noise_prob, noise_alias)
                                negbuf[k] = t
                            loss_prod, loss_sum = _ns_pair(l1, syn1neg, word, negbuf, negative, lr, neu1e, d,
                                                           loss_prod, loss_sum)
                            n_terms += per_pair
                        for j in range(d):
                            l1[j] += neu1e[j]
            else:
                # CBOW: mean of the contexts predicts the centre; the full error goes to every context
                inv = np.float32(1.0 / nc)
                for j in range(d):
                    neu1[j] = 0.0
                    neu1e[j] = 0.0
                for c in range(nc):
                    row = syn0[ctxbuf[c]]
                    for j in range(d):
                        neu1[j] += row[j]
                for j in range(d):
                    neu1[j] *= inv
                if hs:
                    loss_prod, loss_sum = _hs_pair(neu1, syn1, word, codes, points, code_off, lr, neu1e, d,
                                                   loss_prod, loss_sum)
                    n_terms += code_off[word + 1] - code_off[word]
                if negative > 0:
                    for k in range(negative):
                        rng, t = _sample_noise(rng, noise_prob, noise_alias)
                        negbuf[k] = t
                    loss_prod, loss_sum = _ns_pair(neu1, syn1neg, word, negbuf, negative, lr, neu1e, d,
                                                   loss_prod, loss_sum)
                    n_terms += per_pair
                for c in range(nc):
                    row = syn0[ctxbuf[c]]
                    for j in range(d):
                        row[j] += neu1e[j]
    loss_sum -= math.log(loss_prod)
    return loss_sum, n_terms, n_pairs, n_kept


# -- single-update entry points (tests and references) ------------------------
@njit(**_JIT)
def sgns_update(syn0, syn1neg, context, word, negs, lr, batch):
    """One skip-gram negative-sampling step for ``context`` predicting ``word``; returns the loss.

    With ``batch`` the shared-negatives window path is used (identical for a single context).
    """
    d = syn0.shape[1]
    neu1e = np.zeros(d, dtype=np.float32)
    if batch:
        ctx = np.empty(1, dtype=np.int32)
        ctx[0] = context
        outs = np.empty(negs.shape[0] + 1, dtype=np.int32)
        outs[0] = word
        outs[1:] = negs
        gbuf = np.empty(negs.shape[0] + 1, dtype=np.float32)
        lp, ls = _sgns_window(syn0, syn1neg, ctx, 1, outs, outs.shape[0], lr, neu1e, gbuf, d, 1.0, 0.0)
    else:
        l1 = syn0[context]
        lp, ls = _ns_pair(l1, syn1neg, word, negs, negs.shape[0], lr, neu1e, d, 1.0, 0.0)
        for j in range(d):
            l1[j] += neu1e[j]
    return ls - math.log(lp)


@njit(**_JIT)
def sghs_update(syn0, syn1, context, word, codes, points, code_off, lr):
    """One skip-gram hierarchical-softmax step; returns the loss."""
    d = syn0.shape[1]
    neu1e = np.zeros(d, dtype=np.float32)
    l1 = syn0[context]
    lp, ls = _hs_pair(l1, syn1, word, codes, points, code_off, lr, neu1e, d, 1.0, 0.0)
    for j in range(d):
        l1[j] += neu1e[j]
    return ls - math.log(lp)


@njit(**_JIT)
def cbow_ns_update(syn0, syn1neg, contexts, word, negs, lr):
    """One CBOW negative-sampling step (mean of ``contexts`` predicts ``word``); returns the loss."""
    d = syn0.shape[1]
    neu1 = np.zeros(d, dtype=np.float32)
    neu1e = np.zeros(d, dtype=np.float32)
    for c in range(contexts.shape[0]):
        for j in range(d):
            neu1[j] += syn0[contexts[c], j]
    inv = np.float32(1.0 / contexts.shape[0])
    for j in range(d):
        neu1[j] *= inv
    lp, ls = _ns_pair(neu1, syn1neg, word, negs, negs.shape[0], lr, neu1e, d, 1.0, 0.0)
    for c in range(contexts.shape[0]):
        for j in range(d):
            syn0[contexts[c], j] += neu1e[j]
    return ls - math.log(lp)


@njit(**_JIT)
def sample_noise_many(seed, prob, alias, n):
    """``n`` draws from the noise distribution (for checking the sampler)."""
    rng = job_seed(seed, 0, 0)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        rng, t = _sample_noise(rng, prob, alias)
        out[i] = t
    return out


# -- tables built once per fit -------------------------------------------------
def noise_probabilities(counts, ns_exponent=0.75, noise_distribution=None) -> np.ndarray:
    """Noise probabilities: ``count**ns_exponent`` normalised, or the given weights normalised."""
    if noise_distribution is not None:
        w = np.asarray(noise_distribution, dtype=np.float64)
    else:
        c = np.asarray(counts, dtype=np.float64)
        # count**0 = 1 (uniform); a negative exponent favours rare words; zero counts get no mass
        w = np.where(c > 0, np.power(np.where(c > 0, c, 1.0), ns_exponent), 0.0)
    return w / w.sum()


def keep_probabilities(counts, sample) -> np.ndarray:
    """word2vec.c's subsampling keep probability ``(sqrt(f/(s*T)) + 1) * (s*T)/f``, capped at 1.

    Returns an empty array when ``sample == 0`` (no subsampling).
    """
    c = np.asarray(counts, dtype=np.float64)
    if sample == 0 or c.size == 0:
        return np.zeros(0, dtype=np.float64)
    thr = sample * c.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.sqrt(c / thr) + 1.0) * thr / c
    p = np.where(c > 0, p, 1.0)
    return np.minimum(p, 1.0)


@njit(**_JIT)
def _huffman(counts_desc):
    """Huffman tree over counts sorted descending (word2vec.c's two-queue O(V) build).

    Returns (code_off, codes, points): for word i, ``codes[code_off[i]:code_off[i+1]]`` are
    its branch bits from the root down and ``points[...]`` the inner nodes (rows of syn1,
    0..V-2, root = V-2) on that path.
    """
    v = counts_desc.shape[0]
    count = np.empty(2 * v, dtype=np.int64)
    for i in range(v):
        count[i] = counts_desc[i]
    for i in range(v, 2 * v):
        count[i] = np.iinfo(np.int64).max
    parent = np.zeros(2 * v, dtype=np.int64)
    binary = np.zeros(2 * v, dtype=np.uint8)
    pos1 = v - 1  # smallest leaf not yet merged (leaves are descending)
    pos2 = v      # oldest inner node not yet merged
    for a in range(v - 1):
        if pos1 >= 0 and count[pos1] < count[pos2]:
            m1 = pos1
            pos1 -= 1
        else:
            m1 = pos2
            pos2 += 1
        if pos1 >= 0 and count[pos1] < count[pos2]:
            m2 = pos1
            pos1 -= 1
        else:
            m2 = pos2
            pos2 += 1
        count[v + a] = count[m1] + count[m2]
        parent[m1] = v + a
        parent[m2] = v + a
        binary[m2] = 1
    root = 2 * v - 2
    lens = np.zeros(v + 1, dtype=np.int64)
    for i in range(v):
        n = 0
        b = i
        while b != root:
            n += 1
            b = parent[b]
        lens[i + 1] = n
    code_off = np.cumsum(lens)
    codes = np.empty(code_off[v], dtype=np.uint8)
    points = np.empty(code_off[v], dtype=np.int32)
    for i in range(v):
        n = code_off[i + 1] - code_off[i]
        b = i
        k = n - 1
        while b != root:
            codes[code_off[i] + k] = binary[b]
            points[code_off[i] + k] = parent[b] - v
            k -= 1
            b = parent[b]
    return code_off, codes, points


def huffman_tree(counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huffman codes for ``counts`` (any order): (code_off int64, codes uint8, points int32).

    A single-word vocabulary gets a one-bit code through inner node 0 so it still trains.
    """
    counts = np.asarray(counts, dtype=np.int64)
    v = counts.shape[0]
    if v == 1:
        return np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.uint8), np.zeros(1, dtype=np.int32)
    order = np.argsort(-counts, kind="stable")
    off_s, codes_s, points_s = _huffman(counts[order])
    if np.array_equal(order, np.arange(v)):
        return off_s, codes_s, points_s  # a Vocab is already sorted by count
    # back to the caller's order
    lens_s = np.diff(off_s)
    lens = np.empty(v, dtype=np.int64)
    lens[order] = lens_s
    code_off = np.zeros(v + 1, dtype=np.int64)
    np.cumsum(lens, out=code_off[1:])
    codes = np.empty_like(codes_s)
    points = np.empty_like(points_s)
    for rank, w in enumerate(order.tolist()):
        codes[code_off[w]:code_off[w + 1]] = codes_s[off_s[rank]:off_s[rank + 1]]
        points[code_off[w]:code_off[w + 1]] = points_s[off_s[rank]:off_s[rank + 1]]
    return code_off, codes, points

