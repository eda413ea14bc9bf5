"""Word2Vec and Item2Vec estimators over the numba engine in :mod:`recembed.word2vec.engine`."""
from __future__ import annotations

import itertools
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .._io import InputError, check_positive
from ..data.corpus import Corpus
from ..embeddings import Embeddings
from ..models.base import EmbeddingEstimator
from . import engine

_LOG_SUFFIXES = {".csv", ".tsv", ".tab", ".parquet", ".pq"}


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_number(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")



def run_jobs(n_jobs: int, threads: int, buffers, run_job) -> None:
    """Run ``run_job(j, bufs)`` for ``j in range(n_jobs)`` on ``threads`` Python threads.

    Each thread gets its own scratch ``bufs = buffers()`` and pulls the next job index, so the
    nogil kernels run in parallel (hogwild) while the assignment of jobs stays seed-determined
    per job. One thread runs in order in the caller's thread. The first error (or Ctrl-C) stops
    the remaining jobs and is re-raised once every worker has finished its current job.
    Shared by every skip-gram trainer (Word2Vec, EGES).
    """
    if threads == 1:
        bufs = buffers()
        for j in range(n_jobs):
            run_job(j, bufs)
        return
    counter = itertools.count()
    errors = []

    def worker():
        bufs = buffers()
        try:
            while True:
                j = next(counter)
                if j >= n_jobs or errors:
                    return
                run_job(j, bufs)
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    try:
        for t in pool:
            t.join()
    except BaseException as e:  # Ctrl-C: let the workers finish their job, then stop
        errors.append(e)
        for t in pool:
            t.join()
    if errors:
        raise errors[0]

class Word2Vec(EmbeddingEstimator):
    """word2vec (skip-gram or CBOW; negative sampling and/or hierarchical softmax).

    Parameters
    ----------
    dim : int
        Vector size.
    window : int
        Maximum distance between a word and its contexts. With ``basket=True``, a sequence
        of at most ``2 * window + 1`` tokens uses all pairs; a longer one draws
        ``2 * window`` contexts per token uniformly from the rest of the sequence.
    sg : bool
        Skip-gram (True) or CBOW (False, mean of the contexts).
    hs : bool
        Hierarchical softmax over a Huffman tree of the counts.
    negative : int
        Negative samples per positive example (0 disables; needs ``hs=True`` then).
    ns_exponent : float
        Noise distribution ``count ** ns_exponent`` (0 = uniform, negative favours rare words).
    noise_distribution : array-like or dict, optional
        Explicit noise weights: an array aligned with ``vocab_`` (after ``min_count``) or a
        dict ``key -> weight`` (missing keys get 0). Overrides ``ns_exponent``.
    sample : float
        Subsampling threshold (word2vec.c formula); 0 disables.
    alpha : float, optional
        Initial learning rate; None means 0.025 for skip-gram, 0.05 for CBOW.
    min_alpha : float
        Final learning rate; decays linearly over ``epochs * n_tokens`` words.
    epochs : int
        Passes over the corpus.
    min_count, max_vocab : int
        Drop tokens seen fewer than ``min_count`` times; keep at most ``max_vocab`` most frequent.
    shrink_windows : bool
        Draw each token's effective window uniformly from ``1..window`` (word2vec.c).
    basket : bool
        Treat each sequence as an unordered set: every other token is a context (Item2Vec).
    threads : int, optional
        Most worker threads (None: all cores); fewer when there are fewer jobs, or fewer than 256
        vocabulary words per thread: on a tiny vocabulary hogwild threads write the same rows all
        the time (struc2vec on Brazil's 131 airports: 2 threads train 1.18x faster than 1, on USA's
        1,190 1.90x), so one thread costs little and gives reproducible vectors. ``threads_`` is
        the count used. Only a run on one thread is bit-reproducible.
    seed : int
        Seed of the initial vectors and of every random draw.
    progress : bool, optional
        Show a tqdm bar; None shows it for long runs (> 5 M words) or when stderr is a terminal.
    callbacks : sequence of callables
        ``cb(epoch, loss, model)`` after each epoch; returning True stops training.

    Attributes
    ----------
    embeddings_ : Embeddings
        Input vectors, keys in vocabulary order.
    vocab_ : Vocab
    output_vectors_ : ndarray
        ``syn1neg`` (or ``syn1`` for ``hs=True, negative=0``).
    loss_ : list of float
        Mean negative log-likelihood per training example (skip-gram: per (context, word)
        pair; CBOW: per predicted word), one value per epoch.
    words_per_second_, train_seconds_ : float
        Raw corpus tokens (before subsampling) times epochs, per second of training.
    examples_ : list of int
        Training examples per epoch (after subsampling).
    stopped_early_ : bool

    Examples
    --------
    >>> from recembed.word2vec import Word2Vec
    >>> seqs = [["a", "b", "c", "d"], ["x", "y", "z"]] * 200
    >>> m = Word2Vec(dim=16, window=2, sample=0, epochs=5, threads=1, seed=1).fit(seqs)
    >>> m.most_similar("a", k=2)[0][0] in {"b", "c", "d"}
    True
    """

    #: skip-gram with negative sampling draws one set of negatives per window (Ji et al.);
    #: set False on an instance for fresh negatives per pair (word2vec.c's loop)
    _shared_negatives = True
    #: tokens per unit of work handed to a thread
    _job_words = 20000
    #: vocabulary words per training thread at least (see ``threads``)
    _words_per_thread = 256

    def __init__(self, dim=100, window=5, sg=True, hs=False, negative=5, ns_exponent=0.75, noise_distribution=None,
                 sample=1e-3, alpha=None, min_alpha=1e-4, epochs=5, min_count=1, max_vocab=None,
                 shrink_windows=True, basket=False, threads=None, seed=1, progress=None, callbacks=()):
        self.dim = dim
        self.window = window
        self.sg = sg
        self.hs = hs
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.noise_distribution = noise_distribution
        self.sample = sample
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.epochs = epochs
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.shrink_windows = shrink_windows
        self.basket = basket
        self.threads = threads
        self.seed = seed
        self.progress = progress
        self.callbacks = callbacks

    # -- validation -----------------------------------------------------------
    def _validate(self) -> None:
        check_positive("dim", self.dim, integer=True)
        check_positive("window", self.window, integer=True)
        check_positive("negative", self.negative, integer=True, allow_zero=True)
        check_positive("epochs", self.epochs, integer=True)
        check_positive("min_count", self.min_count, integer=True, allow_zero=True)
        check_positive("sample", self.sample, allow_zero=True)
        check_positive("min_alpha", self.min_alpha, allow_zero=True)
        if self.alpha is not None:
            check_positive("alpha", self.alpha)
        if self.max_vocab is not None:
            check_positive("max_vocab", self.max_vocab, integer=True)
        if self.threads is not None:
            check_positive("threads", self.threads, integer=True)
        for name in ("sg", "hs", "shrink_windows", "basket"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.progress is not None and not isinstance(self.progress, (bool, np.bool_)):
            raise InputError(f"progress must be None, True or False, got {self.progress!r}")
        if not self.hs and self.negative == 0:
            raise InputError("nothing to train: negative=0 needs hs=True")
        _check_number("ns_exponent", self.ns_exponent)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not all(callable(cb) for cb in (self.callbacks or ())):
            raise InputError("callbacks must be callables cb(epoch, loss, model)")

    # -- input ----------------------------------------------------------------
    def _as_corpus(self, X) -> Corpus:
        if isinstance(X, Corpus):
            corpus = X.trim(self.min_count, self.max_vocab)
        elif isinstance(X, (str, os.PathLike)):
            corpus = Corpus.from_file(X, min_count=self.min_count, max_vocab=self.max_vocab)
        elif isinstance(X, (bytes, np.ndarray)) and getattr(X, "ndim", 2) != 2:
            raise InputError("X must be a Corpus, a path, or an iterable of sequences")
        else:
            try:
                seqs = iter(X)
            except TypeError:
                raise InputError(f"X must be a Corpus, a path, or an iterable of sequences, got {type(X).__name__}") from None
            seqs = list(seqs)
            if any(isinstance(s, str) for s in seqs):
                raise InputError("each sequence must be a list of tokens, not a string (split it first)")
            corpus = Corpus.from_sequences(seqs, min_count=self.min_count, max_vocab=self.max_vocab)
        if corpus.n_tokens == 0:
            raise InputError(f"no token occurs at least min_count={self.min_count} times")
        return corpus

    def _noise(self, vocab) -> np.ndarray:
        nd = self.noise_distribution
        if nd is not None:
            if isinstance(nd, dict):
                idx = vocab.index
                w = np.zeros(len(vocab), dtype=np.float64)
                for k, v in nd.items():
                    i = idx.get(str(k))
                    if i is not None:
                        w[i] = v
            else:
                w = np.asarray(nd, dtype=np.float64).ravel()
                if w.shape[0] != len(vocab):
                    raise InputError(f"noise_distribution has {w.shape[0]} weights, the vocabulary has {len(vocab)} "
                                     "keys (after min_count/max_vocab); pass a dict key -> weight instead")
            if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise InputError("noise_distribution must be finite, >= 0 and not all zero")
            return engine.noise_probabilities(None, noise_distribution=w)
        return engine.noise_probabilities(vocab.counts, float(self.ns_exponent))

    # -- training ---------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn vectors from ``X``: a :class:`Corpus`, a text file path or an iterable of sequences."""
        self._validate()
        corpus = self._as_corpus(X)
        return self._fit_corpus(corpus)

    def _fit_corpus(self, corpus: Corpus):
        vocab = corpus.vocab
        v, d = len(vocab), int(self.dim)
        # the kernels index without bounds checks: refuse a corpus that would write out of bounds
        if corpus.n_tokens and (int(corpus.tokens.min()) < 0 or int(corpus.tokens.max()) >= v):
            raise InputError(f"corpus has token ids outside its vocabulary of {v} keys")
        if corpus.weights is not None and not (np.all(np.isfinite(corpus.weights)) and np.all(corpus.weights >= 0)):
            raise InputError("sequence weights must be finite and >= 0")
        neg = int(self.negative)
        alpha = float(self.alpha) if self.alpha is not None else (0.025 if self.sg else 0.05)
        min_alpha = min(float(self.min_alpha), alpha)
        threads = int(self.threads) if self.threads is not None else _n_cpus()

        noise_prob, noise_alias = engine.alias_table(self._noise(vocab) if neg > 0 else np.ones(1, dtype=np.float64))
        keep = engine.keep_probabilities(vocab.counts, float(self.sample))
        if self.hs:
            code_off, codes, points = engine.huffman_tree(vocab.counts)
        else:
            code_off, codes, points = np.zeros(1, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int32)

        # word2vec.c's initialisation: inputs uniform in [-0.5, 0.5)/dim, outputs zero
        rng = np.random.default_rng(self.seed)
        syn0 = ((rng.random((v, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d)).astype(np.float32)
        syn1neg = np.zeros((v if neg > 0 else 0, d), dtype=np.float32)
        syn1 = np.zeros((max(v - 1, 1) if self.hs else 0, d), dtype=np.float32)
        weights = corpus.weights if corpus.weights is not None else np.zeros(0, dtype=np.float32)

        offsets, tokens = corpus.offsets, corpus.tokens
        n_tok = corpus.n_tokens
        # jobs: runs of whole sequences of about _job_words tokens (a longer sequence is one job)
        marks = np.arange(0, n_tok, self._job_words, dtype=np.int64)
        starts = np.unique(np.searchsorted(offsets[:-1], marks, side="right") - 1)
        bounds = np.append(starts, len(corpus)).astype(np.int64)
        n_jobs = len(bounds) - 1
        threads = max(1, min(threads, n_jobs, v // self._words_per_thread))
        self.threads_ = threads
        max_len = int(np.diff(offsets).max())
        max_ctx = 2 * int(self.window)  # contexts of one token, windowed or basket
        shared_negs = bool(self.sg and not self.hs and neg > 0 and self._shared_negatives)
        total_words = float(n_tok) * int(self.epochs)

        def buffers():
            return (np.empty(max_len, np.int32), np.empty(max_ctx, np.int32), np.empty(2 * (neg + 1), np.int32),
                    np.empty(d, np.float32), np.empty(d, np.float32), np.empty(neg + 1, np.float32))

        show = self.progress
        if show is None:
            show = total_words > 5e6 or sys.stderr.isatty()
        bar = None
        if show:
            try:
                from tqdm.auto import tqdm

                bar = tqdm(total=int(total_words), unit="w", unit_scale=True, desc=type(self).__name__, leave=False)
            except ImportError:  # tqdm is optional
                bar = None

        self.vocab_ = vocab
        self.loss_ = []
        self.examples_ = []
        self.stopped_early_ = False
        lock = threading.Lock()
        train_time = 0.0
        words_done = 0
        try:
            for epoch in range(int(self.epochs)):
                totals = np.zeros(2, dtype=np.float64)  # loss sum, examples

                def run_job(j, bufs):
                    s0, s1 = int(bounds[j]), int(bounds[j + 1])
                    res = engine.train_job(
                        syn0, syn1neg, syn1, tokens, offsets, weights, keep, noise_prob, noise_alias, codes, points, code_off,
                        s0, s1, bool(self.sg), bool(self.hs), neg, int(self.window), bool(self.shrink_windows),
                        bool(self.basket), shared_negs, alpha, min_alpha, float(epoch * n_tok + offsets[s0]), total_words,
                        np.uint64(engine.job_seed(int(self.seed), epoch, j)), *bufs)
                    with lock:
                        totals[0] += res[0]
                        totals[1] += res[2]
                        if bar is not None:
                            bar.update(int(offsets[s1] - offsets[s0]))

                t0 = time.perf_counter()
                run_jobs(n_jobs, threads, buffers, run_job)
                train_time += time.perf_counter() - t0
                words_done += n_tok
                loss = float(totals[0] / totals[1]) if totals[1] > 0 else float("nan")
                self.loss_.append(loss)
                self.examples_.append(int(totals[1]))
                self._publish(vocab, syn0, syn1neg, syn1, train_time, words_done)
                stop = False
                for cb in self.callbacks or ():
                    if cb(epoch, loss, self) is True:
                        stop = True
                if stop:
                    self.stopped_early_ = epoch + 1 < int(self.epochs)
                    break
        finally:
            if bar is not None:
                bar.close()
        self._publish(vocab, syn0, syn1neg, syn1, train_time, words_done)
        return self

    def _publish(self, vocab, syn0, syn1neg, syn1, train_time, words_done):
        self.embeddings_ = Embeddings(vocab.keys, syn0)
        self.output_vectors_ = syn1neg if syn1neg.shape[0] > 0 else syn1
        self.train_seconds_ = float(train_time)
        self.words_per_second_ = float(words_done / train_time) if train_time > 0 else 0.0

    @classmethod
    def load(cls, path):
        model = super().load(path)
        # JSON turns the callbacks tuple into a list; keep the value the constructor got
        if isinstance(model.callbacks, list):
            model.callbacks = tuple(model.callbacks)
        return model

    # -- conveniences -----------------------------------------------------------
    def most_similar(self, key, k: int = 10):
        """Shortcut for ``embeddings_.most_similar``."""
        self._check_fitted()
        return self.embeddings_.most_similar(key, k=k)

    def transform(self, keys) -> np.ndarray:
        """Vectors of ``keys`` (a list), as a ``(len(keys), dim)`` array."""
        self._check_fitted()
        return self.embeddings_[list(keys)]


class Item2Vec(Word2Vec):
    """Item2Vec (Barkan & Koenigstein, 2016): skip-gram over sessions treated as baskets.

    Same engine as :class:`Word2Vec`, with item-friendly defaults: ``basket=True`` (every
    other item of a session is a context; sessions longer than ``2 * window + 1`` items draw
    ``2 * window`` contexts per item), no window shrinking, 10 epochs. ``ns_exponent`` is
    worth tuning for recommendation (Caselles-Dupré et al., 2018). :meth:`fit` also takes a
    behaviour log (a CSV/TSV/Parquet path or a DataFrame), cut into sessions with
    ``session_gap`` seconds and optional ``dedup`` of consecutive repeats.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from recembed.word2vec import Item2Vec
    >>> rng = np.random.default_rng(0)
    >>> log = pd.DataFrame({"user": np.repeat(np.arange(200), 5),
    ...                     "item": [f"{'ab'[u % 2]}{i}" for u in range(200) for i in rng.integers(6, size=5)],
    ...                     "timestamp": np.tile(np.arange(5) * 60, 200)})
    >>> m = Item2Vec(dim=8, epochs=5, sample=0, threads=1).fit(log)
    >>> [key[0] for key, _ in m.most_similar("a0", k=3)]
    ['a', 'a', 'a']
    """

    def __init__(self, dim=100, window=20, sg=True, hs=False, negative=5, ns_exponent=0.75, noise_distribution=None,
                 sample=1e-3, alpha=None, min_alpha=1e-4, epochs=10, min_count=1, max_vocab=None,
                 shrink_windows=False, basket=True, threads=None, seed=1, progress=None, callbacks=(),
                 session_gap=3600.0, dedup=False):
        super().__init__(dim=dim, window=window, sg=sg, hs=hs, negative=negative, ns_exponent=ns_exponent,
                         noise_distribution=noise_distribution, sample=sample, alpha=alpha, min_alpha=min_alpha,
                         epochs=epochs, min_count=min_count, max_vocab=max_vocab, shrink_windows=shrink_windows,
                         basket=basket, threads=threads, seed=seed, progress=progress, callbacks=callbacks)
        self.session_gap = session_gap
        self.dedup = dedup

    def fit(self, X, y=None, **read_kwargs):
        """Learn item vectors from a behaviour log (path with a CSV/TSV/Parquet suffix, or a
        DataFrame; ``read_kwargs`` go to :func:`recembed.read_log`), a :class:`Corpus`, a text
        file of sequences, or an iterable of sequences."""
        self._validate()
        if self.session_gap is not None:
            check_positive("session_gap", self.session_gap)
        is_log = (hasattr(X, "columns") and hasattr(X, "iloc")) or (
            isinstance(X, (str, os.PathLike)) and Path(X).suffix.lower() in _LOG_SUFFIXES)
        if is_log:
            corpus = Corpus.from_log(X, session_gap=self.session_gap, dedup=bool(self.dedup),
                                     min_count=self.min_count, max_vocab=self.max_vocab, **read_kwargs)
            if corpus.n_tokens == 0:
                raise InputError(f"no item occurs at least min_count={self.min_count} times")
        else:
            if read_kwargs:
                raise InputError(f"options {sorted(read_kwargs)} only apply to a behaviour log")
            corpus = self._as_corpus(X)
        return self._fit_corpus(corpus)
