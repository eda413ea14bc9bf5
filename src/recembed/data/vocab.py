"""Vocab: arbitrary string ids <-> contiguous int32 indices, with counts."""
from __future__ import annotations

import numpy as np
import pandas as pd


class Vocab:
    """String keys mapped to contiguous int32 indices, with an occurrence count each.

    Indices follow the order given; :meth:`from_tokens` orders by count
    (descending, ties by first appearance), as word2vec.c and gensim do.

    Examples
    --------
    >>> v = Vocab.from_tokens(["a", "b", "a"])
    >>> v.keys.tolist(), v.counts.tolist(), v["a"]
    (['a', 'b'], [2, 1], 0)
    """

    def __init__(self, keys, counts=None):
        self.keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=object)
        if counts is None:
            counts = np.ones(len(self.keys), dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        if self.counts.shape != self.keys.shape:
            raise ValueError("keys and counts differ in length")
        self._index = None

    # -- construction -----------------------------------------------------
    @classmethod
    def from_tokens(cls, tokens) -> tuple["Vocab", np.ndarray] | "Vocab":
        """Vocabulary of an iterable of keys, ordered by count (desc, ties by first appearance)."""
        vocab, _ = cls.encode_new(tokens)
        return vocab

    @classmethod
    def encode_new(cls, tokens) -> tuple["Vocab", np.ndarray]:
        """Build a vocabulary from ``tokens`` and return it with the tokens' int32 codes."""
        tokens = tokens if isinstance(tokens, (np.ndarray, list)) else list(tokens)
        codes, uniques = pd.factorize(np.asarray(tokens, dtype=object) if not isinstance(tokens, np.ndarray) else tokens)
        return cls.from_codes(codes, uniques)

    @classmethod
    def from_codes(cls, codes, uniques) -> tuple["Vocab", np.ndarray]:
        """Vocabulary of factorised tokens: ``uniques[codes]`` are the tokens, ``uniques`` in
        order of first appearance. Returns it with the tokens' int32 codes in the new order.

        Examples
        --------
        >>> v, codes = Vocab.from_codes([0, 1, 1], ["x", "y"])
        >>> v.keys.tolist(), codes.tolist()
        (['y', 'x'], [1, 0, 0])
        """
        codes = np.asarray(codes)
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
        order = np.argsort(-counts, kind="stable")
        remap = np.empty(len(order), dtype=np.int32)
        remap[order] = np.arange(len(order), dtype=np.int32)
        keys = np.asarray([str(k) for k in np.asarray(uniques, dtype=object)[order]], dtype=object)
        return cls(keys, counts[order]), remap[codes]

    # -- lookups ----------------------------------------------------------
    @property
    def index(self) -> dict:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys.tolist())}
        return self._index

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key) -> bool:
        return str(key) in self.index

    def __getitem__(self, key) -> int:
        try:
            return self.index[str(key)]
        except KeyError:
            raise KeyError(f"key {key!r} not in vocabulary") from None

    def encode(self, keys, missing: int = -1) -> np.ndarray:
        """int32 codes of ``keys``; unknown keys get ``missing``."""
        idx = self.index
        return np.fromiter((idx.get(str(k), missing) for k in keys), dtype=np.int32, count=len(keys))

    def decode(self, codes) -> np.ndarray:
        return self.keys[np.asarray(codes, dtype=np.int64)]

    def __eq__(self, other) -> bool:
        return (isinstance(other, Vocab) and len(self) == len(other)
                and bool(np.all(self.keys == other.keys)) and bool(np.all(self.counts == other.counts)))

    def __repr__(self) -> str:
        return f"Vocab({len(self)} keys, {int(self.counts.sum())} occurrences)"

    # -- trimming ---------------------------------------------------------
    def trim(self, min_count: int = 1, max_size: int | None = None) -> tuple["Vocab", np.ndarray]:
        """Drop keys with count < ``min_count`` and keep at most ``max_size`` most frequent.

        Returns the new vocabulary (re-sorted by count) and an int32 array mapping each
        old index to its new index, or -1 for dropped keys.
        """
        keep = self.counts >= min_count
        order = np.argsort(-self.counts, kind="stable")
        order = order[keep[order]]
        if max_size is not None:
            order = order[:max_size]
        remap = np.full(len(self), -1, dtype=np.int32)
        remap[order] = np.arange(len(order), dtype=np.int32)
        return Vocab(self.keys[order], self.counts[order]), remap
