"""YouTube DNN candidate generation (Covington, Adams & Sargin, RecSys 2016).

The user vector is a ReLU tower over the mean of the user's last ``history`` item
embeddings, user features and the example age; the model is a softmax over the whole
catalogue ("which item does the user take next"), trained with **sampled softmax**:
``num_negatives`` items drawn per batch from ``count ** alpha``, each negative logit
corrected by ``-log(expected count)`` (the logQ correction, which makes the sampled
partition function an unbiased estimate of the full one) and negatives that happen to
be the label removed. Item vectors are the softmax weights (and bias), so serving is an
inner product of user and item rows, with no network at serving time.

Training examples are "rolled back" as in the paper: one per event, with the history
strictly before it; example age is the event's distance to the log end (0 at serving).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from .._io import InputError, check_positive
from ..data.logs import Events, read_log
from ..embeddings import Embeddings
from ..evaluation.recall import holdout_last_mask
from .base import EmbeddingEstimator
from .features import (FeatureEncoder, UserSequences, entity_features, example_age, make_feature_embedder,
                       mean_pool, mlp, resolve_device)


def _as_events(log) -> Events:
    return log if isinstance(log, Events) else read_log(log)


class RecallModel(EmbeddingEstimator):
    """Shared machinery of the torch recall models (data, training loop, export, persistence).

    Subclasses implement ``_build_module``, ``_batch_loss`` and ``_export``.
    """

    # -- data ------------------------------------------------------------------------------------
    def _prepare(self, log, users, items, holdout):
        torch = _torch()
        if holdout not in ("last", None):
            raise InputError(f"holdout must be 'last' or None, got {holdout!r}")
        check_positive("dim", self.dim, integer=True)
        check_positive("history", self.history, integer=True)
        check_positive("epochs", self.epochs, integer=True)
        check_positive("batch_size", self.batch_size, integer=True)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        ev = _as_events(log)
        train_mask = ~holdout_last_mask(ev) if holdout == "last" else np.ones(len(ev), dtype=bool)
        self.user_vocab_ = ev.user_vocab
        self.item_vocab_ = ev.item_vocab
        self.holdout_ = holdout
        seq = UserSequences.from_events(ev, train_mask)
        self._seq = seq
        self.t_min_, self.t_end_ = float(seq.times.min()), float(seq.times.max())
        self._user_enc = self._item_enc = None
        self._user_feats, self._item_feats = {}, {}
        dev = self._device
        if users is not None:
            self._user_enc, arr = entity_features(users, "user", ev.user_vocab)
            self._user_feats = {k: torch.as_tensor(v, device=dev) for k, v in arr.items()}
        if items is not None:
            self._item_enc, arr = entity_features(items, "item", ev.item_vocab)
            # row 0 of item-side arrays is the padding item (codes are shifted by one)
            self._item_feats = {k: torch.as_tensor(np.concatenate([np.zeros_like(v[:1]), v]), device=dev)
                                for k, v in arr.items()}
        self.item_counts_ = np.bincount(seq.items, minlength=len(ev.item_vocab)).astype(np.int64)

    def _user_batch(self, positions):
        """Tensors of the user side for sorted training-event ``positions``."""
        torch = _torch()
        seq, dev = self._seq, self._device
        return {"hist": torch.as_tensor(seq.history(positions, self.history), device=dev),
                "user": torch.as_tensor(seq.user_of[positions], device=dev),
                "age": torch.as_tensor(example_age(seq.times[positions], self.t_min_, self.t_end_), device=dev),
                "feats": self._user_feats}

    def _serving_vectors(self, module, seq, feats, user_ids):
        """The user tower on every user of ``seq`` (full history, example age 0), in blocks.

        ``feats``: user feature tensors, rows aligned with ``seq``'s users; ``user_ids``: each
        user's row in the id table (``user_id=True`` models only).
        """
        torch = _torch()
        dev = self._device
        n = len(seq.start)
        out = []
        for s in range(0, n, 2048):
            rows = np.arange(s, min(n, s + 2048))
            b = {"hist": torch.as_tensor(seq.history_of_users(rows, self.history), device=dev),
                 "user": torch.as_tensor(rows, device=dev),
                 "age": torch.as_tensor(example_age(np.full(len(rows), self.t_end_), self.t_min_, self.t_end_),
                                        device=dev),
                 "feats": feats}
            if user_ids is not None:
                b["uid"] = torch.as_tensor(user_ids[rows], device=dev)
            out.append(module.user(b).cpu())
        U = torch.cat(out).numpy().astype(np.float32) if out else np.zeros((0, self.dim), np.float32)
        return self._user_space(U)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, log, users=None, items=None, holdout="last"):
        """Train on a behaviour log.

        Parameters
        ----------
        log : path, DataFrame or Events
            ``user, item, timestamp`` events (see :func:`recembed.read_log`).
        users, items : path or DataFrame, optional
            Feature tables keyed by ``user`` / ``item``; column kinds are inferred
            (``;`` in a cell: multi-valued; numbers: numeric; else categorical).
        holdout : {"last", None}
            ``"last"`` leaves each user's last event out of training (and out of the
            history of :meth:`user_vectors`), for leave-last-out evaluation.

        Returns
        -------
        self
        """
        torch = _torch()
        threads_before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(int(check_positive("threads", self.threads, integer=True)))
        try:
            self._device = resolve_device(self.device)
            torch.manual_seed(self.seed)
            gen = torch.Generator(device="cpu").manual_seed(int(self.seed))
            rng = np.random.default_rng(self.seed)
            self._prepare(log, users, items, holdout)
            if len(self._seq.items) == 0:
                raise InputError("no training events left after the holdout")
            module = self._build_module().to(self._device)
            self._init_pretrained(module)
            self._module = module
            params = [p for p in module.parameters() if p.requires_grad]
            opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
            self.history_ = []
            n = len(self._seq.items)
            self._begin_training(gen)
            for epoch in range(self.epochs):
                t0 = time.perf_counter()
                module.train()
                order = rng.permutation(n)
                total, count = 0.0, 0
                for s in range(0, n, self.batch_size):
                    pos = order[s:s + self.batch_size]
                    loss = self._batch_loss(module, pos, gen)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(pos)
                    count += len(pos)
                secs = time.perf_counter() - t0
                self.history_.append({"epoch": epoch + 1, "loss": total / count, "seconds": secs})
                if self.verbose:
                    print(f"{type(self).__name__} epoch {epoch + 1}/{self.epochs}: loss {total / count:.4f}, "
                          f"{secs:.1f} s", flush=True)
            module.eval()
            with torch.no_grad():
                self._export(module)
        finally:
            torch.set_num_threads(threads_before)
        return self

    def _begin_training(self, gen):
        pass

    def _init_pretrained(self, module):
        """Copy ``pretrained_items`` rows into the item id table (matching keys), optionally frozen."""
        if self.pretrained_items is None:
            return
        torch = _torch()
        pre = self.pretrained_items
        if not isinstance(pre, Embeddings):
            raise InputError("pretrained_items must be an Embeddings object")
        table = module.item_in
        if pre.dim != table.weight.shape[1]:
            raise InputError(f"pretrained_items have dim {pre.dim}, "
                             f"the model's item embeddings {table.weight.shape[1]}")
        idx = np.array([pre.key_to_index.get(k, -1) for k in self.item_vocab_.keys.tolist()])
        ok = np.flatnonzero(idx >= 0)
        if len(ok) == 0:
            raise InputError("no key of pretrained_items is an item of the log")
        with torch.no_grad():
            # rows are copied as given; items absent from pretrained_items keep their random init
            vec = torch.as_tensor(pre.vectors[idx[ok]], device=table.weight.device)
            table.weight[torch.as_tensor(ok + 1, device=table.weight.device)] = vec
        table.weight.requires_grad_(not self.freeze_pretrained)
        self.pretrained_coverage_ = float(len(ok) / len(idx))

    # -- outputs ---------------------------------------------------------------------------------
    def user_vectors(self, users=None) -> Embeddings:
        """User vectors (history before the held-out event, example age 0); inner product with
        :meth:`item_vectors` rows gives the model's ranking score.

        ``users``: keys to return (default all users of the training log).
        """
        self._check_fitted()
        if users is None:
            return self.user_embeddings_
        return self.user_embeddings_.subset(users)

    def item_vectors(self) -> Embeddings:
        """Item vectors (the same object as ``embeddings_``)."""
        self._check_fitted()
        return self.embeddings_

    def _serve_users(self, module):
        """Vectors of the training log's users (``user_embeddings_``)."""
        ids = np.arange(len(self.user_vocab_)) if self.user_id else None
        return self._serving_vectors(module, self._seq, self._user_feats, ids)

    def transform(self, log, users=None) -> Embeddings:
        """User vectors from the histories in ``log``, in the space of :meth:`item_vectors`.

        For users the model never saw, or known users after more events (the model keeps no
        histories: ``log`` must hold each user's recent events). It works on a model read by
        :meth:`load` (the network is rebuilt from the stored weights, on ``device``). Each user
        of ``log`` gets what :meth:`user_vectors` gives a training user: the tower over the last
        ``history`` events (items the model does not know, or saw only in held-out events, are
        skipped; with none left, the history part is zero), example age 0.

        Parameters
        ----------
        log : path, DataFrame or Events
            ``user, item, timestamp`` events.
        users : path or DataFrame, optional
            The users' feature table; needed when the model was fitted with one (encoded with
            the fitted vocabularies and scales; a user absent from it has every value missing).

        Returns
        -------
        Embeddings keyed by the users of ``log``.

        Examples
        --------
        >>> import pandas as pd
        >>> log = pd.DataFrame({"user": [u for u in "abcd" for _ in range(6)],
        ...                     "item": list("xyzxyz" "xyzxyz" "pqrpqr" "pqrpqr"),
        ...                     "timestamp": list(range(24))})
        >>> m = YouTubeDNN(dim=8, hidden=(16,), epochs=2, full_softmax=True, seed=1).fit(log, holdout=None)
        >>> new = pd.DataFrame({"user": ["e", "e"], "item": ["p", "q"], "timestamp": [0, 1]})
        >>> m.transform(new).keys.tolist()
        ['e']
        """
        self._check_fitted()
        torch = _torch()
        ev = _as_events(log)
        codes = self.item_vocab_.encode(ev.item_vocab.keys.tolist())[ev.items]
        # an item seen only in held-out events has an untrained row: skip it like an unknown one
        known = codes >= 0
        known[known] = self.item_counts_[codes[known]] > 0
        seq = UserSequences.from_events(
            dataclasses.replace(ev, items=np.where(known, codes, 0).astype(np.int32), item_vocab=self.item_vocab_),
            known)
        module = self._network()
        feats = {}
        if self._user_enc is not None:
            if users is None:
                raise InputError("this model was fitted with user features: "
                                 "pass the users' feature table (users=, or --users)")
            _, arr = entity_features(users, "user", ev.user_vocab, encoder=self._user_enc)
            feats = {k: torch.as_tensor(v, device=self._device) for k, v in arr.items()}
        elif users is not None:
            raise InputError("this model was fitted without user features; drop users= (--users)")
        user_ids = None
        if self.user_id:
            user_ids = self.user_vocab_.encode(ev.user_vocab.keys.tolist())
            if (user_ids < 0).any():
                unseen = ev.user_vocab.keys[user_ids < 0]
                raise InputError(f"user_id=True: {len(unseen)} users of the log were not in training "
                                 f"(first: {unseen[0]!r}); such a model embeds known users only")
        with torch.no_grad():
            U = self._serving_vectors(module, seq, feats, user_ids)
        return Embeddings(ev.user_vocab.keys, U)

    def _network(self):
        """The trained network: the one ``fit`` built, or one rebuilt from a loaded file's weights."""
        module = getattr(self, "_module", None)
        if module is None:
            weights = getattr(self, "_module_state", None)
            if not weights:
                raise InputError(f"this {type(self).__name__} holds no network weights")
            torch = _torch()
            self._device = resolve_device(self.device)
            if self._device.type == "cuda" and not torch.cuda.is_available():
                raise InputError(f"the model's device is {self.device!r} but CUDA is not available here: "
                                 f"set device='cpu' (CLI: --device cpu)")
            self._item_feats = {}
            module = self._build_module()
            module.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
            self._module = module.to(self._device)
        self._module.eval()
        return self._module

    # -- persistence -----------------------------------------------------------------------------
    def _state(self) -> dict:
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        # the network's weights as plain arrays (no pickle); a loaded model that has not rebuilt
        # its network passes on the weights it was read with
        module = getattr(self, "_module", None)
        weights = getattr(self, "_module_state", {}) if module is None else \
            {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        for k, v in weights.items():
            state[f"module.{k}"] = v
        for side, enc in (("user", self._user_enc), ("item", self._item_enc)):
            state[f"{side}_features_"] = None if enc is None else enc.to_dict()
        return state

    def _set_state(self, state: dict) -> None:
        self._module_state = {k[len("module."):]: v for k, v in state.items() if k.startswith("module.")}
        for k, v in state.items():
            if not k.startswith("module."):
                setattr(self, k, v)
        self._user_enc = None if state.get("user_features_") is None else \
            FeatureEncoder.from_dict(state["user_features_"])
        self._item_enc = None if state.get("item_features_") is None else \
            FeatureEncoder.from_dict(state["item_features_"])

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (vectors, feature encoders and network weights)."""
        model = super().load(path)
        # JSON has no tuples: give layer widths back the type they were given as
        for name in ("hidden", "item_hidden"):
            if isinstance(getattr(model, name, None), list):
                setattr(model, name, tuple(getattr(model, name)))
        return model

    def save(self, path) -> None:
        """Save parameters and vectors (``.npz``). ``pretrained_items`` is not stored as a parameter:
        its values are already in the learned vectors."""
        pre = self.pretrained_items
        self.pretrained_items = None
        try:
            super().save(path)
        finally:
            self.pretrained_items = pre

    def _add_user_side(self, net, user_layout, tower_name):
        """Give ``net`` the user side both recall models share, in a fixed creation order
        (so seeded initialisation is the same): the item id table that also embeds the
        history, user feature embedders, an optional user id table, then the ReLU tower."""
        nn = _torch().nn
        net.item_in = nn.Embedding(len(self.item_vocab_) + 1, self.dim, padding_idx=0)
        nn.init.normal_(net.item_in.weight, std=0.05)
        net.user_feat = make_feature_embedder(user_layout, self.feature_dim)
        in_dim = self.dim + net.user_feat.out_dim + (3 if self.example_age else 0)
        if self.user_id:
            net.user_emb = nn.Embedding(len(self.user_vocab_), self.dim)
            nn.init.normal_(net.user_emb.weight, std=0.05)
            in_dim += self.dim
        setattr(net, tower_name, mlp(in_dim, self.hidden, self.dim, self.dropout))

    def _user_input(self, net, b):
        """The user tower's input: mean of history item vectors, user features, example age, user id."""
        parts = [mean_pool(net.item_in, b["hist"])]
        if self._user_enc is not None:
            parts.append(net.user_feat(b["feats"], b["user"]))
        if self.example_age:
            parts.append(b["age"])
        if self.user_id:
            parts.append(net.user_emb(b.get("uid", b["user"])))
        return _torch().cat(parts, dim=1)


def _torch():
    import torch

    return torch


class YouTubeDNN(RecallModel):
    """Deep candidate generation: user tower + (sampled) softmax over items.

    Parameters
    ----------
    dim : int
        Size of item embeddings and of the user vector.
    hidden : tuple of int
        Widths of the ReLU layers of the user tower (a final linear layer maps to ``dim``).
    history : int
        Number of most recent items (before the label event) mean-pooled as the user's history.
    epochs, batch_size, lr, weight_decay : training (Adam).
    num_negatives : int
        Negatives per batch for the sampled softmax (shared by the batch).
    alpha : float
        Sampling distribution ``count ** alpha`` over training counts.
    full_softmax : bool
        Exact softmax over the whole catalogue (small catalogues); ignores ``num_negatives``.
    feature_dim : int
        Embedding size of each categorical / multi-valued / bucket feature.
    example_age : bool
        Feed the example age (``[a, a^2, sqrt a]``; 0 at serving).
    user_id : bool
        Also embed the user id in the user tower.
    item_features : bool
        Add a projection of the item's features to its softmax vector (needs ``items``).
    pretrained_items : Embeddings, optional
        Initial values for the history item embeddings (keys = item ids, dim = ``dim``).
    freeze_pretrained : bool
        Keep those embeddings fixed.
    device : str
        ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``...
    threads : int, optional
        torch CPU threads during ``fit`` (restored after).
    seed : int
    verbose : bool
        Print loss and time per epoch.

    Attributes
    ----------
    embeddings_ : Embeddings
        Item vectors ``[w_i, b_i]`` (softmax weight and bias).
    user_embeddings_ : Embeddings
        User vectors ``[u, 1]`` from the history before the held-out event, example age 0.
    history_ : list of dict
        ``{"epoch", "loss", "seconds"}`` per epoch.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"user": [u for u in "abcd" for _ in range(6)],
    ...                     "item": list("xyzxyz" "xyzxyz" "pqrpqr" "pqrpqr"),
    ...                     "timestamp": list(range(24))})
    >>> m = YouTubeDNN(dim=8, hidden=(16,), epochs=2, full_softmax=True, seed=1).fit(log)
    >>> m.item_vectors().dim, len(m.user_vectors())
    (9, 4)
    """

    def __init__(self, dim=64, hidden=(256,), history=50, epochs=10, batch_size=256, lr=2e-3,
                 weight_decay=0.0, num_negatives=1000, alpha=0.75, full_softmax=False, feature_dim=16,
                 example_age=True, user_id=False, item_features=False, dropout=0.0, pretrained_items=None,
                 freeze_pretrained=False, device="auto", threads=None, seed=1, verbose=False):
        self.dim = dim
        self.hidden = hidden
        self.history = history
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.num_negatives = num_negatives
        self.alpha = alpha
        self.full_softmax = full_softmax
        self.feature_dim = feature_dim
        self.example_age = example_age
        self.user_id = user_id
        self.item_features = item_features
        self.dropout = dropout
        self.pretrained_items = pretrained_items
        self.freeze_pretrained = freeze_pretrained
        self.device = device
        self.threads = threads
        self.seed = seed
        self.verbose = verbose

    def _build_module(self):
        torch = _torch()
        nn = torch.nn
        n_items = len(self.item_vocab_)
        user_layout = self._user_enc.layout() if self._user_enc else []
        item_layout = self._item_enc.layout() if (self._item_enc and self.item_features) else []
        est = self

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                est._add_user_side(self, user_layout, "tower")
                self.out_w = nn.Embedding(n_items, est.dim)
                nn.init.normal_(self.out_w.weight, std=0.05)
                self.out_b = nn.Embedding(n_items, 1)
                nn.init.zeros_(self.out_b.weight)
                if item_layout:
                    self.item_feat = make_feature_embedder(item_layout, est.feature_dim)
                    self.item_proj = nn.Linear(self.item_feat.out_dim, est.dim)

            def user(self, b):
                return self.tower(est._user_input(self, b))

            def item(self, idx):
                w = self.out_w(idx)
                if item_layout:
                    w = w + self.item_proj(self.item_feat(est._item_feats, idx + 1))
                return w, self.out_b(idx).squeeze(-1)

        return Net()

    def _begin_training(self, gen):
        torch = _torch()
        check_positive("num_negatives", self.num_negatives, integer=True)
        check_positive("alpha", self.alpha, allow_zero=True)
        q = self.item_counts_.astype(np.float64) ** self.alpha
        q[self.item_counts_ == 0] = 0.0
        self._q = torch.as_tensor(q / q.sum(), dtype=torch.float32)
        self._all_items = torch.arange(len(self.item_vocab_), device=self._device)

    def _batch_loss(self, module, pos, gen):
        torch = _torch()
        F = torch.nn.functional
        b = self._user_batch(positions=pos)
        label = torch.as_tensor(self._seq.items[pos], device=self._device)
        u = module.user(b)
        if self.full_softmax:
            w, bias = module.item(self._all_items)
            return F.cross_entropy(u @ w.T + bias, label)
        neg = torch.multinomial(self._q, self.num_negatives, replacement=True, generator=gen).to(self._device)
        return sampled_softmax_loss(u, module.item, label, neg, self._q.to(self._device))

    def _export(self, module):
        torch = _torch()
        w, bias = module.item(self._all_items)
        items = torch.cat([w, bias.unsqueeze(1)], dim=1).cpu().numpy()
        self.embeddings_ = Embeddings(self.item_vocab_.keys, items)
        self.user_embeddings_ = Embeddings(self.user_vocab_.keys, self._serve_users(module))

    def _user_space(self, U):
        # [u, 1] against the items' [w, b]: the inner product is the softmax logit
        return np.hstack([U, np.ones((len(U), 1), np.float32)])


def sampled_softmax_loss(u, item_fn, label, neg, q):
    """Sampled softmax with logQ correction and accidental hits removed (mean over the batch).

    The true logit is kept as is; each of the ``S`` negatives (drawn with replacement from
    ``q``) gets ``s_j - log(S q_j)``, so ``exp(s_y) + sum_j exp(s_j - log(S q_j))`` is an
    unbiased estimate of the full softmax's partition function once negatives equal to the
    label are masked out.

    Parameters
    ----------
    u : tensor (B, d)
    item_fn : callable ``idx -> (vectors (n, d), bias (n,))``
    label : long tensor (B,)
    neg : long tensor (S,)
    q : tensor (n_items,), the sampling distribution
    """
    torch = _torch()
    w_pos, b_pos = item_fn(label)
    pos_logit = (u * w_pos).sum(dim=1) + b_pos
    w_neg, b_neg = item_fn(neg)
    neg_logit = u @ w_neg.T + b_neg - torch.log(q[neg] * len(neg))
    neg_logit = neg_logit.masked_fill(neg.unsqueeze(0) == label.unsqueeze(1), float("-inf"))
    logits = torch.cat([pos_logit.unsqueeze(1), neg_logit], dim=1)
    return (torch.logsumexp(logits, dim=1) - pos_logit).mean()
