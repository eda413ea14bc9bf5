"""Two-tower retrieval with in-batch softmax and streaming logQ correction (Yi et al., RecSys 2019).

A user tower (history mean, user features, example age) and an item tower (item id,
item features such as genres and year) each end in an L2-normalised vector; the score is
their cosine divided by a temperature. Training uses the other items of the batch as
negatives. Popular items are over-represented among in-batch negatives, so each logit
is corrected by ``-log p_j``, where ``p_j`` -- the probability that item ``j`` is in a
batch -- is estimated on the fly by :class:`StreamingFrequency` (the paper's arrays
``A``, last step an item was seen, and ``B``, the moving average of its gap; ``p = 1/B``).
Duplicates of the label inside the batch are masked, so an item is never its own negative.
"""
from __future__ import annotations

import numpy as np

from .._io import InputError, check_positive
from ..embeddings import Embeddings
from .features import make_feature_embedder, mlp
from .youtube_dnn import RecallModel, _torch


class StreamingFrequency:
    """Streaming estimate of how often each item appears in a batch (Yi et al. 2019, Algorithm 2).

    Items are hashed into ``n_buckets``; per bucket ``A`` holds the last step it was seen and
    ``B`` an exponential moving average (rate ``alpha``) of the gap between sightings. The
    probability that the item is in a batch is ``1 / B``. The first sighting at step ``t``
    sets ``B = t`` (it took ``t`` steps to appear), later ones ``B <- (1-alpha) B + alpha (t - A)``.

    Examples
    --------
    >>> import numpy as np
    >>> f = StreamingFrequency(n_buckets=64, alpha=0.1)
    >>> for t in range(200):
    ...     f.update(np.array([1, 2] if t % 2 == 0 else [1]))   # item 1 every step, item 2 every other
    >>> np.round(f.probability(np.array([1, 2])), 2).tolist()
    [1.0, 0.5]
    """

    def __init__(self, n_buckets: int = 1 << 20, alpha: float = 0.05):
        check_positive("freq_buckets", n_buckets, integer=True)
        if not 0 < alpha <= 1:
            raise InputError(f"freq_alpha must be in (0, 1], got {alpha!r}")
        self.n_buckets = int(n_buckets)
        self.alpha = float(alpha)
        self.A = np.zeros(self.n_buckets, dtype=np.int64)
        self.B = np.zeros(self.n_buckets, dtype=np.float64)
        self.step = 0

    def _hash(self, ids) -> np.ndarray:
        # multiplicative hashing: spreads consecutive ids; identity-like collisions only past n_buckets
        ids = np.asarray(ids, dtype=np.uint64)
        return ((ids * np.uint64(2654435761)) % np.uint64(self.n_buckets)).astype(np.int64)

    def update(self, ids) -> None:
        """Record one batch (an item repeated in the batch counts once)."""
        self.step += 1
        t = self.step
        h = np.unique(self._hash(ids))
        seen = self.A[h] > 0
        gap = (t - self.A[h]).astype(np.float64)
        self.B[h] = np.where(seen, (1 - self.alpha) * self.B[h] + self.alpha * gap, float(t))
        self.A[h] = t

    def probability(self, ids) -> np.ndarray:
        """Estimated per-batch probability of each id (1 for an id never seen)."""
        b = self.B[self._hash(ids)]
        return np.where(b > 0, 1.0 / np.maximum(b, 1.0), 1.0)


class TwoTower(RecallModel):
    """Two-tower (dual encoder) recall model with in-batch softmax and logQ correction.

    Parameters
    ----------
    dim : int
        Output size of both towers and of the item id embeddings.
    hidden, item_hidden : tuple of int
        ReLU layer widths of the user and of the item tower.
    history : int
        Most recent items (strictly before the label event) mean-pooled in the user tower.
    temperature : float
        Scores are ``cos(u, v) / temperature``.
    epochs, batch_size, lr, weight_decay : training (Adam); the batch is the negative pool.
    logq : bool
        Subtract ``log p_j`` (streaming estimate) from every logit during training.
    freq_alpha, freq_buckets : streaming frequency estimator (see :class:`StreamingFrequency`).
    num_random_negatives : int
        Extra uniformly drawn negatives per batch (corrected by ``log(S / n_items)``), which
        give rare items, absent from most batches, some negative signal.
    feature_dim : int
        Embedding size of each categorical / multi-valued / bucket feature.
    example_age, user_id : bool
        User-tower inputs: example age (0 at serving), user id embedding.
    pretrained_items : Embeddings, optional
        Initial item id embeddings (shared by the item tower and the user's history).
    freeze_pretrained : bool
    device, threads, seed, verbose : as :class:`~recembed.models.youtube_dnn.YouTubeDNN`.

    Attributes
    ----------
    embeddings_ : Embeddings
        Item vectors (unit length).
    user_embeddings_ : Embeddings
        User vectors (unit length divided by the temperature), so an inner product is the
        model's logit.
    history_ : list of dict

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"user": [u for u in "abcd" for _ in range(6)],
    ...                     "item": list("xyzxyz" "xyzxyz" "pqrpqr" "pqrpqr"),
    ...                     "timestamp": list(range(24))})
    >>> items = pd.DataFrame({"item": list("xyzpqr"), "genres": ["a;b", "a", "b", "c", "c;d", "d"]})
    >>> m = TwoTower(dim=8, hidden=(16,), item_hidden=(16,), epochs=2, batch_size=8, seed=1)
    >>> m.fit(log, items=items).item_vectors().dim
    8
    """

    def __init__(self, dim=64, hidden=(256,), item_hidden=(256,), history=50, temperature=0.05, epochs=8,
                 batch_size=256, lr=2e-3, weight_decay=0.0, logq=True, freq_alpha=0.05, freq_buckets=1 << 20,
                 num_random_negatives=0, feature_dim=16, example_age=True, user_id=False, dropout=0.0,
                 pretrained_items=None, freeze_pretrained=False, device="auto", threads=None, seed=1,
                 verbose=False):
        self.dim = dim
        self.hidden = hidden
        self.item_hidden = item_hidden
        self.history = history
        self.temperature = temperature
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.logq = logq
        self.freq_alpha = freq_alpha
        self.freq_buckets = freq_buckets
        self.num_random_negatives = num_random_negatives
        self.feature_dim = feature_dim
        self.example_age = example_age
        self.user_id = user_id
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
        F = nn.functional
        user_layout = self._user_enc.layout() if self._user_enc else []
        item_layout = self._item_enc.layout() if self._item_enc else []
        est = self

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                # one id table for the item tower and the user's history: both see the same items
                est._add_user_side(self, user_layout, "user_tower")
                self.item_feat = make_feature_embedder(item_layout, est.feature_dim)
                self.item_tower = mlp(est.dim + self.item_feat.out_dim, est.item_hidden, est.dim, est.dropout)

            def user(self, b):
                return F.normalize(self.user_tower(est._user_input(self, b)), dim=1)

            def item(self, idx):
                parts = [self.item_in(idx + 1)]
                if est._item_feats:
                    parts.append(self.item_feat(est._item_feats, idx + 1))
                return F.normalize(self.item_tower(torch.cat(parts, dim=1)), dim=1)

        return Net()

    def _begin_training(self, gen):
        check_positive("temperature", self.temperature)
        check_positive("num_random_negatives", self.num_random_negatives, integer=True, allow_zero=True)
        self._freq = StreamingFrequency(self.freq_buckets, self.freq_alpha)
        self._all_items = _torch().arange(len(self.item_vocab_), device=self._device)

    def _batch_loss(self, module, pos, gen):
        torch = _torch()
        F = torch.nn.functional
        dev = self._device
        labels_np = self._seq.items[pos]
        label = torch.as_tensor(labels_np, device=dev)
        u = module.user(self._user_batch(positions=pos))
        v = module.item(label)
        logits = u @ v.T / self.temperature
        # an item appearing twice in the batch must not be a negative for itself
        same = label.unsqueeze(0) == label.unsqueeze(1)
        eye = torch.eye(len(pos), dtype=torch.bool, device=dev)
        if self.logq:
            self._freq.update(labels_np)
            p = torch.as_tensor(self._freq.probability(labels_np), dtype=logits.dtype, device=dev)
            logits = logits - torch.log(p).unsqueeze(0)
        logits = logits.masked_fill(same & ~eye, float("-inf"))
        if self.num_random_negatives:
            n_items = len(self.item_vocab_)
            neg = torch.randint(0, n_items, (self.num_random_negatives,), generator=gen).to(dev)
            extra = u @ module.item(neg).T / self.temperature
            if self.logq:
                extra = extra - float(np.log(self.num_random_negatives / n_items))
            extra = extra.masked_fill(neg.unsqueeze(0) == label.unsqueeze(1), float("-inf"))
            logits = torch.cat([logits, extra], dim=1)
        target = torch.arange(len(pos), device=dev)
        return F.cross_entropy(logits, target)

    def _export(self, module):
        items = []
        for s in range(0, len(self._all_items), 4096):
            items.append(module.item(self._all_items[s:s + 4096]).cpu())
        self.embeddings_ = Embeddings(self.item_vocab_.keys, _torch().cat(items).numpy())
        self.user_embeddings_ = Embeddings(self.user_vocab_.keys, self._serve_users(module))

    def _user_space(self, U):
        return U / self.temperature
