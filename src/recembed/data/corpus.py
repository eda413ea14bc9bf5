"""Corpus: sequences of tokens stored as CSR int32 arrays (offsets + tokens).

Training never touches a Python object per token: every trainer reads
``corpus.tokens[corpus.offsets[i]:corpus.offsets[i + 1]]``.
"""
from __future__ import annotations

import itertools
import os

import numpy as np

from .._io import InputError, check_readable
from .vocab import Vocab


class Corpus:
    """Sequences of vocabulary indices in CSR form.

    Parameters
    ----------
    tokens : int32 array, the concatenated sequences (indices into ``vocab``).
    offsets : int64 array of ``n_sequences + 1`` boundaries into ``tokens``.
    vocab : :class:`Vocab` whose counts are the token counts of this corpus.
    weights : optional float32 array, one weight per sequence (scales its gradient).

    Examples
    --------
    >>> c = Corpus.from_sequences([["a", "b", "c"], ["b", "c"]])
    >>> len(c), c.n_tokens, c.vocab.keys.tolist()
    (2, 5, ['b', 'c', 'a'])
    """

    def __init__(self, tokens, offsets, vocab: Vocab, weights=None):
        self.tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.vocab = vocab
        self.weights = None if weights is None else np.ascontiguousarray(weights, dtype=np.float32)
        if self.offsets.ndim != 1 or len(self.offsets) < 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.tokens):
            raise ValueError("offsets must start at 0 and end at len(tokens)")
        if self.weights is not None and len(self.weights) != len(self):
            raise ValueError("need one weight per sequence")

    # -- construction -----------------------------------------------------
    @classmethod
    def from_sequences(cls, sequences, weights=None, min_count: int = 1, max_vocab: int | None = None) -> "Corpus":
        """From an iterable of sequences of hashable keys (converted to ``str``)."""
        seqs = [list(s) for s in sequences]
        if not seqs or not any(seqs):
            raise InputError("corpus is empty: no sequence has a token")
        lens = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        flat = np.empty(int(lens.sum()), dtype=object)
        flat[:] = [str(t) for t in itertools.chain.from_iterable(seqs)]
        vocab, codes = Vocab.encode_new(flat)
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        return cls(codes, offsets, vocab, weights).trim(min_count, max_vocab)

    @classmethod
    def from_arrays(cls, tokens, offsets, vocab: Vocab | None = None, weights=None, recount: bool = True) -> "Corpus":
        """From integer token arrays; ``vocab`` defaults to keys ``"0".."max"``.

        With ``recount`` the vocabulary's counts are replaced by the counts in ``tokens``.
        """
        tokens = np.asarray(tokens)
        if tokens.size and (tokens.min() < 0):
            raise InputError("token ids must be >= 0")
        n = (int(tokens.max()) + 1 if tokens.size else 0) if vocab is None else len(vocab)
        if vocab is None:
            vocab = Vocab([str(i) for i in range(n)])
        elif tokens.size and tokens.max() >= n:
            raise InputError(f"token id {int(tokens.max())} outside a vocabulary of {n}")
        if recount:
            vocab = Vocab(vocab.keys, np.bincount(tokens.astype(np.int64), minlength=n))
        return cls(tokens, offsets, vocab, weights)

    @classmethod
    def from_file(cls, path, min_count: int = 1, max_vocab: int | None = None) -> "Corpus":
        """One sequence per line, tokens separated by whitespace; blank lines are skipped.

        Tokenising and counting run in Arrow, without a Python object per token: a
        text8-sized file (17 M tokens) reads in seconds and a few hundred MB.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        p = check_readable(path)
        data = p.read_bytes()
        try:
            text = pa.array([data], pa.large_binary()).cast(pa.large_string())
        except pa.ArrowInvalid:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 ({e.reason})", p, data[: e.start].count(b"\n") + 1) from None
            raise
        del data
        lines = pc.split_pattern(text, "\n").flatten()
        del text
        per_line = pc.utf8_split_whitespace(lines)
        del lines
        lens = pc.list_value_length(per_line).to_numpy(zero_copy_only=False).astype(np.int64)
        tokens = per_line.flatten()
        # an empty or blank line splits into one empty token: drop those, then the empty lines
        nonempty = pc.greater(pc.binary_length(tokens), 0)
        if not pc.all(nonempty).as_py():
            line_of = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
            keep = nonempty.to_numpy(zero_copy_only=False)
            lens = np.bincount(line_of[keep], minlength=len(lens)).astype(np.int64)
            tokens = tokens.filter(nonempty)
        lens = lens[lens > 0]
        if len(tokens) == 0:
            raise InputError("no tokens in file", p)
        encoded = pc.dictionary_encode(tokens)
        vocab, codes = Vocab.from_codes(encoded.indices.to_numpy(zero_copy_only=False),
                                        encoded.dictionary.to_pylist())
        offsets = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        corpus = cls(codes, offsets, vocab).trim(min_count, max_vocab)
        if corpus.n_tokens == 0:
            raise InputError(f"no token occurs at least min_count={min_count} times", p)
        return corpus

    @classmethod
    def from_log(cls, log, *, session_gap: float | None = 3600.0, dedup: bool = False, min_count: int = 1,
                 max_vocab: int | None = None, **read_kwargs) -> "Corpus":
        """Per-user, time-ordered item sequences cut into sessions (see :func:`recembed.data.sessionize`).

        ``log`` is a path (CSV, TSV, Parquet), a DataFrame or the ``Events`` of
        :func:`recembed.data.read_log`; ``read_kwargs`` go to
        :func:`recembed.data.read_log` (column names and so on).
        """
        from .logs import Events, read_log, sessionize

        events = log if isinstance(log, Events) else read_log(log, **read_kwargs)
        sessions = sessionize(events, session_gap=session_gap, dedup=dedup)
        return sessions.to_corpus().trim(min_count, max_vocab)

    # -- views ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def sequence(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]: self.offsets[i + 1]]

    def __iter__(self):
        keys = self.vocab.keys
        for i in range(len(self)):
            yield keys[self.sequence(i)].tolist()

    def __repr__(self) -> str:
        return f"Corpus({len(self)} sequences, {self.n_tokens} tokens, vocab {len(self.vocab)})"

    def trim(self, min_count: int = 1, max_vocab: int | None = None) -> "Corpus":
        """Drop rare tokens (and the sequences left empty); indices re-sorted by count."""
        if min_count <= 1 and (max_vocab is None or max_vocab >= len(self.vocab)):
            return self
        vocab, remap = self.vocab.trim(min_count, max_vocab)
        new = remap[self.tokens]
        keep = new >= 0
        seq_id = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))
        lens = np.bincount(seq_id[keep], minlength=len(self))
        nonempty = lens > 0
        offsets = np.zeros(int(nonempty.sum()) + 1, dtype=np.int64)
        np.cumsum(lens[nonempty], out=offsets[1:])
        weights = None if self.weights is None else self.weights[nonempty]
        return Corpus(new[keep], offsets, vocab, weights)

    def save_text(self, path) -> None:
        """Write one sequence per line (keys separated by spaces), atomically."""
        from .._io import atomic_write

        keys = self.vocab.keys
        with atomic_write(path, "w") as fh:
            for i in range(len(self)):
                fh.write(" ".join(keys[self.sequence(i)].tolist()))
                fh.write("\n")


def _is_path(x) -> bool:
    return isinstance(x, (str, os.PathLike))
