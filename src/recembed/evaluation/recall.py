"""Recall evaluation: leave-last-out per user, full-catalogue ranking, HR/Recall/NDCG@K.

Protocol (the usual one for next-item recall, e.g. YouTube DNN's offline metrics):

* each user's **last** event is held out; "last" is by timestamp, ties broken by file
  order (a later row is later); users with a single event keep it for training;
* every item of the catalogue is scored for the user; items the user already has in
  the training part are excluded (they cannot be the held-out item on logs without
  repeats, and leaving them in only measures memorisation);
* HR@K: share of users with at least one held-out item in the top K;
  Recall@K: share of a user's held-out items in the top K, averaged over users;
  NDCG@K: binary-relevance DCG over the top K divided by the ideal DCG.
  With one held-out item HR@K == Recall@K and NDCG@K = 1/log2(rank+1) when hit.

Scores are inner products of user and item vectors, so any model that exports
:class:`~recembed.Embeddings` for users and items can be compared in one table with
the baselines here (popularity, Item2Vec item-to-item).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._io import InputError
from ..data.logs import Events, read_log
from ..embeddings import Embeddings

DEFAULT_KS = (10, 50, 100)


def _order(events: Events) -> np.ndarray:
    """Event indices sorted by (user, timestamp, file line)."""
    return np.lexsort((events.lines, events.timestamps, events.users))


def holdout_last_mask(events: Events) -> np.ndarray:
    """Boolean mask of each user's last event (timestamp, then file order); users with one event get none.

    Examples
    --------
    >>> import pandas as pd
    >>> from recembed import read_log
    >>> ev = read_log(pd.DataFrame({"user": ["u", "u", "u", "v"], "item": ["a", "b", "c", "a"],
    ...                             "timestamp": [5, 9, 9, 1]}))
    >>> holdout_last_mask(ev).tolist()     # two events at t=9: the later row is last
    [False, False, True, False]
    """
    order = _order(events)
    u = events.users[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = u[:-1] != u[1:]
    first = np.ones(len(order), dtype=bool)
    first[1:] = u[1:] != u[:-1]
    last &= ~first  # a single-event user has first == last: keep it for training
    mask = np.zeros(len(order), dtype=bool)
    mask[order[last]] = True
    return mask


def ranking_metrics(top: np.ndarray, relevant, ks=DEFAULT_KS) -> dict:
    """HR@K, Recall@K and NDCG@K from ranked lists.

    Parameters
    ----------
    top : int array (n_users, >= max(ks))
        Ranked item indices per user, best first.
    relevant : sequence of int arrays, or int array (n_users,)
        The held-out item(s) of each user; a user with none is skipped.
    ks : iterable of int

    Returns
    -------
    dict
        ``{"HR@10": ..., "Recall@10": ..., "NDCG@10": ..., ..., "users": n}``.

    Examples
    --------
    >>> import numpy as np
    >>> top = np.array([[3, 1, 2], [0, 2, 1]])
    >>> m = ranking_metrics(top, [np.array([1]), np.array([5])], ks=(1, 3))
    >>> m["HR@1"], m["HR@3"], round(m["NDCG@3"], 4)   # user 0 hits at rank 2: 1/log2(3)
    (0.0, 0.5, 0.3155)
    """
    ks = sorted(int(k) for k in ks)
    top = np.asarray(top)
    if top.ndim != 2 or top.shape[1] < ks[-1]:
        raise InputError(f"need rankings of at least {ks[-1]} items, got shape {top.shape}")
    if isinstance(relevant, np.ndarray) and relevant.ndim == 1 and relevant.dtype != object:
        relevant = [relevant[i:i + 1] for i in range(len(relevant))]
    if len(relevant) != len(top):
        raise InputError(f"{len(top)} rankings but {len(relevant)} relevant sets")
    discount = 1.0 / np.log2(np.arange(2, ks[-1] + 2))
    sums = {f"{name}@{k}": 0.0 for k in ks for name in ("HR", "Recall", "NDCG")}
    n = 0
    for row, rel in zip(top, relevant):
        rel = np.unique(np.asarray(rel))
        if len(rel) == 0:
            continue
        n += 1
        hit = np.isin(row[:ks[-1]], rel)
        for k in ks:
            h = hit[:k]
            nh = int(h.sum())
            sums[f"HR@{k}"] += float(nh > 0)
            sums[f"Recall@{k}"] += nh / len(rel)
            idcg = discount[:min(len(rel), k)].sum()
            sums[f"NDCG@{k}"] += float(discount[:k][h].sum() / idcg)
    out = {key: (v / n if n else float("nan")) for key, v in sums.items()}
    out["users"] = n
    return out


def top_k(user_vectors: np.ndarray, item_vectors: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
          batch: int = 1024) -> np.ndarray:
    """Top-``k`` items per user by inner product, excluding ``exclude``'s non-zeros (users x items).

    Ties are broken by item index so results are deterministic.
    """
    n_items = item_vectors.shape[0]
    k = min(k, n_items)
    out = np.empty((len(user_vectors), k), dtype=np.int64)
    iv = np.asarray(item_vectors, dtype=np.float32)
    for s in range(0, len(user_vectors), batch):
        scores = np.asarray(user_vectors[s:s + batch], dtype=np.float32) @ iv.T
        if exclude is not None:
            blk = exclude[s:s + batch].tocoo()
            scores[blk.row, blk.col] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(scores, part, axis=1)
        o = np.lexsort((part, -ps), axis=1)
        out[s:s + batch] = np.take_along_axis(part, o, axis=1)
    return out


class LeaveLastOut:
    """A leave-last-out split of a behaviour log, ready to score models and baselines.

    Parameters
    ----------
    log : path, DataFrame or :class:`~recembed.data.logs.Events`
        Columns ``user, item, timestamp`` (see :func:`recembed.read_log`).
    ks : iterable of int
        Cut-offs for HR/Recall/NDCG.

    Attributes
    ----------
    events : Events
    test_mask : bool array, the held-out events (one per user with >= 2 events)
    seen : csr_matrix (n_users, n_items), 1 where the user has the item in training
    test_users, test_items : int arrays, codes of the held-out (user, item) pairs

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> log = pd.DataFrame({"user": ["u", "u", "v", "v", "w", "w"],
    ...                     "item": ["a", "b", "a", "b", "a", "c"], "timestamp": [1, 2, 1, 2, 1, 2]})
    >>> ev = LeaveLastOut(log, ks=(1, 2))
    >>> ev.popularity()["HR@1"]    # "a" is seen by all, so "b" (ties by item order) is ranked first
    0.6666666666666666
    """

    def __init__(self, log, ks=DEFAULT_KS):
        self.events = log if isinstance(log, Events) else read_log(log)
        self.ks = tuple(sorted(int(k) for k in ks))
        self.test_mask = holdout_last_mask(self.events)
        ev = self.events
        tr = ~self.test_mask
        self.n_users, self.n_items = len(ev.user_vocab), len(ev.item_vocab)
        self.seen = sp.csr_matrix((np.ones(int(tr.sum()), dtype=np.float32), (ev.users[tr], ev.items[tr])),
                                  shape=(self.n_users, self.n_items))
        self.seen.data[:] = 1.0
        self.test_users = ev.users[self.test_mask]
        self.test_items = ev.items[self.test_mask]

    @property
    def train(self) -> Events:
        return self.events.subset(~self.test_mask)

    # -- scoring ------------------------------------------------------------
    def evaluate_scores(self, user_rows: np.ndarray, item_rows: np.ndarray) -> dict:
        """Metrics for user/item vector matrices aligned with this log's user and item codes.

        ``user_rows[u]`` is the vector of user code ``u``; ``item_rows[i]`` of item code ``i``.
        """
        top = top_k(user_rows[self.test_users], item_rows, max(self.ks), self.seen[self.test_users])
        return ranking_metrics(top, self.test_items.astype(np.int64), self.ks)

    def _align(self, emb: Embeddings, vocab, fill_missing: float) -> tuple[np.ndarray, int]:
        rows = np.full((len(vocab), emb.dim), 0.0, dtype=np.float32)
        idx = np.array([emb.key_to_index.get(k, -1) for k in vocab.keys.tolist()], dtype=np.int64)
        ok = idx >= 0
        rows[ok] = emb.vectors[idx[ok]]
        rows[~ok] = fill_missing
        return rows, int((~ok).sum())

    def evaluate_embeddings(self, user_emb: Embeddings, item_emb: Embeddings) -> dict:
        """Metrics for inner-product scores of user and item :class:`Embeddings` (keys = log ids).

        A test user missing from ``user_emb`` scores all items equal (ties by item order),
        an item missing from ``item_emb`` is never ranked above a known one.
        """
        if user_emb.dim != item_emb.dim:
            raise InputError(f"user vectors have dim {user_emb.dim}, item vectors {item_emb.dim}")
        U, _ = self._align(user_emb, self.events.user_vocab, 0.0)
        I, missing = self._align(item_emb, self.events.item_vocab, 0.0)
        out = self._rank_with_missing_items(U, I, missing_mask=None if not missing else
                                            ~np.isin(self.events.item_vocab.keys, item_emb.keys))
        return out

    def _rank_with_missing_items(self, U, I, missing_mask):
        if missing_mask is None:
            return self.evaluate_scores(U, I)
        # push unknown items below every known one by an extra coordinate
        U2 = np.hstack([U, np.ones((len(U), 1), np.float32)])
        I2 = np.hstack([I, np.where(missing_mask, -1e30, 0.0).astype(np.float32)[:, None]])
        return self.evaluate_scores(U2, I2)

    # -- baselines ----------------------------------------------------------
    def popularity(self) -> dict:
        """Most-popular baseline: training-event counts, seen items excluded."""
        counts = np.bincount(self.events.items[~self.test_mask], minlength=self.n_items).astype(np.float32)
        U = np.ones((self.n_users, 1), np.float32)
        return self.evaluate_scores(U, counts[:, None])

    def item_to_item(self, item_emb: Embeddings, last_n: int = 5) -> dict:
        """Item-to-item baseline: score = sum of cosine similarities to the user's last ``last_n`` training items.

        Equivalent to ranking by the inner product of unit item vectors with the sum of
        the user's last items' unit vectors, so it runs as one matrix product.
        """
        I, _ = self._align(item_emb, self.events.item_vocab, 0.0)
        norms = np.linalg.norm(I, axis=1, keepdims=True)
        I = I / np.where(norms > 0, norms, 1.0)
        U = self.history_sum(I, last_n)
        return self.evaluate_scores(U, I)

    def history_sum(self, item_rows: np.ndarray, last_n: int) -> np.ndarray:
        """Per user, the sum of ``item_rows`` over the last ``last_n`` training items."""
        ev = self.events
        tr = np.flatnonzero(~self.test_mask)
        order = tr[np.lexsort((ev.lines[tr], ev.timestamps[tr], ev.users[tr]))]
        u, it = ev.users[order], ev.items[order]
        # position from the end within each user's sequence
        ends = np.r_[np.flatnonzero(u[1:] != u[:-1]), len(u) - 1]
        end_of = np.empty(len(u), dtype=np.int64)
        starts = np.r_[0, ends[:-1] + 1]
        for s, e in zip(starts, ends):
            end_of[s:e + 1] = e
        keep = (end_of - np.arange(len(u))) < last_n
        U = np.zeros((self.n_users, item_rows.shape[1]), np.float32)
        np.add.at(U, u[keep], item_rows[it[keep]])
        return U


def evaluate_recall(log, user_emb: Embeddings, item_emb: Embeddings, ks=DEFAULT_KS) -> dict:
    """Leave-last-out HR/Recall/NDCG@K of inner-product scores of ``user_emb`` and ``item_emb``.

    ``user_emb`` should hold each user's vector built from the history **before** the
    held-out last event (e.g. from a model fitted with ``holdout="last"``).
    """
    return LeaveLastOut(log, ks).evaluate_embeddings(user_emb, item_emb)


def format_table(rows: dict, ks=DEFAULT_KS, extra=("NDCG@10",)) -> str:
    """Markdown table of ``{name: metrics}`` with HR@K columns and ``extra`` ones."""
    cols = [f"HR@{k}" for k in ks] + [c for c in extra if c not in {f"HR@{k}" for k in ks}]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[c]:.4f}" for c in cols) + " |")
    return "\n".join(lines)
