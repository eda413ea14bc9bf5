"""Pretrained embeddings for CTR prediction: FM -> FNN and GBDT -> LR.

The Q&A's "pretraining methods for embeddings", runnable side by side:

* :class:`FM` (Rendle 2010): ``w0 + sum w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j``, the pairwise
  term computed in O(kn) as ``((sum v x)^2 - sum (v x)^2) / 2``.
* :class:`FNN` (Zhang et al. 2016): one embedding per field, concatenated, then a ReLU MLP.
  Its embedding layer (``[w_i, v_i]`` per feature) can start from a fitted FM's, frozen or
  fine-tuned, or from random values.
* :class:`LR`: logistic regression on the one-hot features.
* :class:`GBDT` and :class:`GBDTLR` (He et al. 2014): the trees are an embedding step;
  each sample's leaf in every tree, one-hot, feeds a logistic regression together with the
  one-hot features. The trees and the LR are fitted on **different** parts of the training
  data, so the LR learns how much to trust leaves whose purity the trees did not see.

Data come as a :class:`CTRData` (fields encoded to global feature indices, 0 = unknown);
:func:`movielens_ctr` builds the MovieLens-100K task (rating >= 4 is a click).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._io import InputError, check_positive


# -- data ----------------------------------------------------------------------------------------
@dataclass
class CTRData:
    """Encoded CTR samples.

    ``single``: ``(n, n_single_fields)`` int64 global feature indices (0 = unknown value);
    ``multi``: ``{field: (n, width)}`` indices padded with 0 (values of a multi-valued field);
    ``dense``: ``(n, d)`` float32 raw features for tree models; ``y``: 0/1 labels.
    """

    single: np.ndarray
    multi: dict
    dense: np.ndarray
    y: np.ndarray
    n_features: int
    single_fields: list
    dense_names: list = field(default_factory=list)
    categorical_dense: list = field(default_factory=list)

    def __len__(self):
        return len(self.y)

    def take(self, idx) -> "CTRData":
        return CTRData(self.single[idx], {k: v[idx] for k, v in self.multi.items()}, self.dense[idx], self.y[idx],
                       self.n_features, self.single_fields, self.dense_names, self.categorical_dense)

    @property
    def fields(self) -> list:
        return list(self.single_fields) + list(self.multi)

    def one_hot(self) -> sp.csr_matrix:
        """Sparse one-hot (multi-valued fields: ``1/k`` on each of the ``k`` values; column 0 unused)."""
        n = len(self)
        rows = [np.repeat(np.arange(n), self.single.shape[1])]
        cols = [self.single.ravel()]
        vals = [np.ones(self.single.size, np.float32)]
        for m in self.multi.values():
            k = np.maximum((m > 0).sum(1, keepdims=True), 1)
            w = np.broadcast_to(1.0 / k, m.shape)
            nz = m > 0
            rows.append(np.broadcast_to(np.arange(n)[:, None], m.shape)[nz])
            cols.append(m[nz])
            vals.append(w[nz].astype(np.float32))
        X = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, self.n_features))
        X.sum_duplicates()
        return X


def encode_ctr(df: pd.DataFrame, label: str, single: list, multi: list = (), dense: list = (),
               categorical_dense: list = (), sep: str = ";") -> CTRData:
    """Encode ``df`` into a :class:`CTRData`.

    ``single``: one-valued fields (ids, categories, bucketed numbers) -> one-hot;
    ``multi``: ``sep``-separated cells; ``dense``: numeric columns for the trees (NaN kept);
    ``categorical_dense``: those of ``dense`` that are category codes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"u": ["a", "b"], "g": ["x;y", "y"], "click": [1, 0]})
    >>> d = encode_ctr(df, "click", ["u"], ["g"])
    >>> d.single.tolist(), d.multi["g"].tolist(), d.n_features
    ([[1], [2]], [[3, 4], [4, 0]], 5)
    """
    offset = 1
    cols = []
    for f in single:
        codes, uniq = pd.factorize(df[f].astype(str), sort=True)
        cols.append(np.where(codes >= 0, codes + offset, 0))
        offset += len(uniq)
    single_arr = np.stack(cols, axis=1).astype(np.int64) if cols else np.zeros((len(df), 0), np.int64)
    multi_arr = {}
    for f in multi:
        lists = [[v for v in str(c).split(sep) if v] if isinstance(c, str) else [] for c in df[f].tolist()]
        vocab = sorted({v for lst in lists for v in lst})
        idx = {v: i + offset for i, v in enumerate(vocab)}
        width = max(1, max(len(x) for x in lists))
        m = np.zeros((len(df), width), np.int64)
        for i, lst in enumerate(lists):
            m[i, :len(lst)] = [idx[v] for v in lst]
        multi_arr[f] = m
        offset += len(vocab)
    dense_arr = np.stack([pd.to_numeric(df[c], errors="coerce").to_numpy(np.float32) for c in dense], axis=1) \
        if dense else np.zeros((len(df), 0), np.float32)
    return CTRData(single_arr, multi_arr, dense_arr, df[label].to_numpy(np.float32), offset, list(single),
                   list(dense), [list(dense).index(c) for c in categorical_dense])


def movielens_ctr(ml, threshold: int = 4) -> CTRData:
    """The MovieLens-100K CTR task: a rating >= ``threshold`` is a click.

    Fields: user id, item id, age (bucketed), gender, occupation, genres (multi-valued),
    release year (bucketed). Tree features: age, gender, occupation, 19 genre flags, year,
    user and item id codes (categorical), and label-free counts (ratings per user / item).
    """
    from ..datasets.movielens import GENRES

    df = ml.log.merge(ml.users, on="user", how="left").merge(ml.items, on="item", how="left")
    df["click"] = (df["rating"] >= threshold).astype(np.float32)
    df["age_b"] = pd.cut(df["age"], [0, 18, 25, 35, 45, 50, 56, 200], right=False).astype(str)
    df["year_b"] = pd.cut(df["year"], [0, 1960, 1970, 1980, 1990, 1994, 1996, 1997, 3000], right=False).astype(str)
    g = df["genres"].fillna("")
    dense = {"age": df["age"], "gender": (df["gender"] == "M").astype(np.float32),
             "occupation": pd.factorize(df["occupation"], sort=True)[0],
             "year": df["year"],
             "user_code": pd.factorize(df["user"], sort=True)[0], "item_code": pd.factorize(df["item"], sort=True)[0],
             "user_count": df.groupby("user")["item"].transform("size"),
             "item_count": df.groupby("item")["user"].transform("size")}
    flags = np.stack([g.str.split(";").apply(lambda lst, n=name: n in lst).to_numpy(np.float32) for name in GENRES], 1)
    for j, name in enumerate(GENRES):
        dense[f"g_{name}"] = flags[:, j]
    # label-free taste profile (which movies a user rated, never how): the share of the user's
    # ratings in each of this movie's genres, and how far its year is from the user's usual
    ucode = dense["user_code"]
    share = np.zeros((ucode.max() + 1, len(GENRES)))
    np.add.at(share, ucode, flags)
    share /= np.bincount(ucode)[:, None]
    nk = np.maximum(flags.sum(1), 1)
    dense["genre_affinity"] = (share[ucode] * flags).sum(1) / nk
    yr = df["year"].to_numpy(np.float64)
    mean_year = pd.Series(yr).groupby(ucode).transform("mean").to_numpy()
    dense["year_gap"] = yr - mean_year
    for k, v in dense.items():
        df[f"d_{k}"] = v
    return encode_ctr(df, "click", ["user", "item", "age_b", "gender", "occupation", "year_b"], ["genres"],
                      dense=[f"d_{k}" for k in dense],
                      categorical_dense=["d_occupation", "d_user_code", "d_item_code"])


# -- metrics -------------------------------------------------------------------------------------
def auc_logloss(y, p) -> dict:
    from sklearn.metrics import log_loss, roc_auc_score

    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return {"AUC": float(roc_auc_score(y, p)), "LogLoss": float(log_loss(y, p))}


# -- torch models --------------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def _tensors(d: CTRData, device):
    torch = _torch()
    return (torch.as_tensor(d.single, device=device),
            {k: torch.as_tensor(v, device=device) for k, v in d.multi.items()},
            torch.as_tensor(d.y, device=device))


class _TorchCTR:
    """Adam, mini-batches, early stopping on a validation set (best epoch's weights kept)."""

    def _train(self, net, train: CTRData, valid: CTRData | None):
        torch = _torch()
        F = torch.nn.functional
        dev = torch.device("cpu")
        gen = np.random.default_rng(self.seed)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        S, M, Y = _tensors(train, dev)
        if valid is not None:
            vS, vM, vY = _tensors(valid, dev)
        best, best_state, bad = np.inf, None, 0
        self.history_ = []
        for epoch in range(self.epochs):
            t0 = time.perf_counter()
            net.train()
            order = torch.as_tensor(gen.permutation(len(train)))
            total = 0.0
            for s in range(0, len(train), self.batch_size):
                b = order[s:s + self.batch_size]
                loss = F.binary_cross_entropy_with_logits(net(S[b], {k: v[b] for k, v in M.items()}), Y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            rec = {"epoch": epoch + 1, "loss": total / len(train), "seconds": time.perf_counter() - t0}
            if valid is not None:
                net.eval()
                with torch.no_grad():
                    vl = float(F.binary_cross_entropy_with_logits(net(vS, vM), vY))
                rec["valid_loss"] = vl
                if vl < best - 1e-5:
                    best, bad = vl, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    bad += 1
            self.history_.append(rec)
            if self.verbose:
                print(f"{type(self).__name__} epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in rec.items()
                                                                                 if k != "epoch"), flush=True)
            if valid is not None and bad >= self.patience:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        return net

    def predict_proba(self, d: CTRData) -> np.ndarray:
        """Click probability of each sample."""
        torch = _torch()
        S, M, _ = _tensors(d, torch.device("cpu"))
        with torch.no_grad():
            return torch.sigmoid(self.net_(S, M)).numpy()


class FM(_TorchCTR):
    """Factorization machine on one-hot fields (multi-valued fields weighted ``1/k``).

    Parameters
    ----------
    dim : int
        Latent factor size ``k``.
    epochs, batch_size, lr, weight_decay, patience : training (Adam, early stopping on ``valid``).
    seed : int
    verbose : bool

    Attributes
    ----------
    w_ : (n_features,) linear weights; v_ : (n_features, dim) factors; history_ : per-epoch losses.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"u": rng.integers(0, 20, 2000).astype(str), "i": rng.integers(0, 20, 2000).astype(str)})
    >>> df["y"] = ((df.u.astype(int) % 2) == (df.i.astype(int) % 2)).astype(float)   # a pure interaction
    >>> d = encode_ctr(df, "y", ["u", "i"])
    >>> fm = FM(dim=4, epochs=30, lr=0.05, seed=1).fit(d.take(np.arange(1500)))
    >>> auc_logloss(d.y[1500:], fm.predict_proba(d.take(np.arange(1500, 2000))))["AUC"] > 0.95
    True
    """

    def __init__(self, dim=16, epochs=20, batch_size=1024, lr=0.01, weight_decay=1e-5, patience=2, seed=1,
                 verbose=False):
        self.dim, self.epochs, self.batch_size, self.lr = dim, epochs, batch_size, lr
        self.weight_decay, self.patience, self.seed, self.verbose = weight_decay, patience, seed, verbose

    def fit(self, train: CTRData, valid: CTRData | None = None):
        torch = _torch()
        nn = torch.nn
        check_positive("dim", self.dim, integer=True)
        torch.manual_seed(self.seed)
        dim, n = self.dim, train.n_features

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.w0 = nn.Parameter(torch.zeros(1))
                self.w = nn.Embedding(n, 1, padding_idx=0)
                nn.init.zeros_(self.w.weight)
                self.v = nn.Embedding(n, dim, padding_idx=0)
                nn.init.normal_(self.v.weight, std=0.01)
                with torch.no_grad():
                    self.v.weight[0].zero_()

            def forward(self, S, M):
                # (index, value) pairs of every field: single fields value 1, multi-valued 1/k
                idx = [S] + list(M.values())
                val = [torch.ones_like(S, dtype=torch.float32)]
                for m in M.values():
                    nz = (m > 0).float()
                    val.append(nz / nz.sum(1, keepdim=True).clamp(min=1))
                idx, val = torch.cat(idx, 1), torch.cat(val, 1)
                vx = self.v(idx) * val.unsqueeze(-1)                  # (B, nnz, k)
                pair = 0.5 * (vx.sum(1).pow(2) - vx.pow(2).sum(1)).sum(1)
                return self.w0 + (self.w(idx).squeeze(-1) * val).sum(1) + pair

        self.net_ = self._train(Net(), train, valid)
        self.w_ = self.net_.w.weight.detach().numpy()[:, 0].copy()
        self.v_ = self.net_.v.weight.detach().numpy().copy()
        return self


class FNN(_TorchCTR):
    """Factorisation-machine supported neural network: field embeddings -> ReLU MLP -> logit.

    Each feature's embedding is ``[w_i, v_i]`` (size ``dim + 1``); a multi-valued field is the
    mean of its values' embeddings; the fields' embeddings are concatenated.

    Parameters
    ----------
    dim : int
        Factor size (the embedding has ``dim + 1`` values, as in the FNN paper).
    hidden : tuple of int
    init : {"random", "fm"}
        ``"fm"`` copies ``fm.w_`` and ``fm.v_`` (pass the fitted :class:`FM` to :meth:`fit`).
    freeze : bool
        Keep the embedding layer fixed (only the MLP learns).
    epochs, batch_size, lr, weight_decay, patience, dropout, seed, verbose : training.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"u": rng.integers(0, 20, 2000).astype(str), "i": rng.integers(0, 20, 2000).astype(str)})
    >>> df["y"] = ((df.u.astype(int) % 2) == (df.i.astype(int) % 2)).astype(float)
    >>> d = encode_ctr(df, "y", ["u", "i"])
    >>> fm = FM(dim=4, epochs=30, lr=0.05, seed=1).fit(d.take(np.arange(1500)))
    >>> fnn = FNN(dim=4, hidden=(16,), init="fm", freeze=True, epochs=30, lr=0.02, batch_size=256, seed=1)
    >>> fnn = fnn.fit(d.take(np.arange(1500)), fm=fm)
    >>> auc_logloss(d.y[1500:], fnn.predict_proba(d.take(np.arange(1500, 2000))))["AUC"] > 0.95
    True
    """

    def __init__(self, dim=16, hidden=(128, 64), init="random", freeze=False, epochs=20, batch_size=1024, lr=1e-3,
                 weight_decay=1e-5, patience=2, dropout=0.0, seed=1, verbose=False):
        self.dim, self.hidden, self.init, self.freeze = dim, hidden, init, freeze
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.patience, self.dropout, self.seed, self.verbose = patience, dropout, seed, verbose

    def fit(self, train: CTRData, valid: CTRData | None = None, fm: FM | None = None):
        torch = _torch()
        nn = torch.nn
        from .features import mean_pool, mlp

        if self.init not in ("random", "fm"):
            raise InputError(f"init must be 'random' or 'fm', got {self.init!r}")
        if self.init == "fm":
            if fm is None or not hasattr(fm, "v_"):
                raise InputError("init='fm' needs a fitted FM passed as fm=")
            if fm.v_.shape != (train.n_features, self.dim):
                raise InputError(f"FM factors have shape {fm.v_.shape}, need ({train.n_features}, {self.dim})")
        torch.manual_seed(self.seed)
        n_fields = train.single.shape[1] + len(train.multi)
        est = self

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(train.n_features, est.dim + 1, padding_idx=0)
                if est.init == "fm":
                    with torch.no_grad():
                        self.emb.weight.copy_(torch.as_tensor(np.hstack([fm.w_[:, None], fm.v_])))
                else:
                    nn.init.normal_(self.emb.weight, std=0.01)
                with torch.no_grad():
                    self.emb.weight[0].zero_()
                self.emb.weight.requires_grad_(not est.freeze)
                self.mlp = mlp(n_fields * (est.dim + 1), est.hidden, 1, est.dropout)

            def forward(self, S, M):
                parts = [self.emb(S).flatten(1)] + [mean_pool(self.emb, m) for m in M.values()]
                return self.mlp(torch.cat(parts, 1)).squeeze(1)

        self.net_ = self._train(Net(), train, valid)
        return self


# -- linear and tree models ----------------------------------------------------------------------
class LR:
    """Logistic regression on one-hot features (scikit-learn, L2, ``C``)."""

    def __init__(self, C=1.0, max_iter=1000):
        self.C, self.max_iter = C, max_iter

    def fit(self, train: CTRData, valid=None):
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(train.one_hot(), train.y)
        return self

    def predict_proba(self, d: CTRData) -> np.ndarray:
        return self.model_.predict_proba(d.one_hot())[:, 1]


class GBDT:
    """Gradient-boosted trees (LightGBM) on the dense features (ids as categorical)."""

    def __init__(self, n_trees=200, num_leaves=31, learning_rate=0.05, min_child_samples=50, exclude=(), seed=1):
        self.n_trees, self.num_leaves, self.learning_rate = n_trees, num_leaves, learning_rate
        self.min_child_samples, self.exclude, self.seed = min_child_samples, exclude, seed

    def _cols(self, d: CTRData):
        keep = [i for i, n in enumerate(d.dense_names) if n not in set(self.exclude)]
        return d.dense[:, keep], [keep.index(c) for c in d.categorical_dense if c in keep]

    def fit(self, train: CTRData, valid=None):
        import lightgbm as lgb

        self.model_ = lgb.LGBMClassifier(n_estimators=self.n_trees, num_leaves=self.num_leaves,
                                         learning_rate=self.learning_rate, min_child_samples=self.min_child_samples,
                                         subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                                         cat_smooth=20, random_state=self.seed, n_jobs=1, verbose=-1)
        X, cat = self._cols(train)
        self.model_.fit(X, train.y, categorical_feature=cat or "auto")
        return self

    def predict_proba(self, d: CTRData) -> np.ndarray:
        return self.model_.predict_proba(self._cols(d)[0])[:, 1]

    def leaves(self, d: CTRData) -> np.ndarray:
        """``(n, n_trees)`` leaf index of each sample in each tree."""
        return self.model_.predict(self._cols(d)[0], pred_leaf=True)


class GBDTLR:
    """GBDT + LR (He et al. 2014): trees on one part of the training data, an LR on the rest
    over ``[one-hot features, one-hot leaf of every tree]``.

    Parameters
    ----------
    tree_fraction : float
        Share of the training samples the trees are fitted on; the LR gets the others.
    cross_fit : bool
        Also fit a second pair with the roles of the two parts swapped and average the two
        models' probabilities, so every sample trains both a forest and an LR (each LR still
        only sees samples its trees were not fitted on).
    exclude : tuple of str
        Dense features the trees leave out.
    n_trees, num_leaves, learning_rate, min_child_samples : the trees.
    C : float
        L2 strength of the LR.
    seed : int
    """

    def __init__(self, tree_fraction=0.5, n_trees=50, num_leaves=15, learning_rate=0.05, min_child_samples=50,
                 exclude=(), C=1.0, cross_fit=True, seed=1):
        self.tree_fraction, self.n_trees, self.num_leaves = tree_fraction, n_trees, num_leaves
        self.learning_rate, self.min_child_samples, self.C, self.seed = learning_rate, min_child_samples, C, seed
        self.exclude, self.cross_fit = exclude, cross_fit

    def fit(self, train: CTRData, valid=None):
        from sklearn.linear_model import LogisticRegression

        if not 0 < self.tree_fraction < 1:
            raise InputError(f"tree_fraction must be in (0, 1), got {self.tree_fraction!r}")
        perm = np.random.default_rng(self.seed).permutation(len(train))
        cut = int(self.tree_fraction * len(train))
        parts = [(perm[:cut], perm[cut:])]
        if self.cross_fit:
            parts.append((perm[cut:], perm[:cut]))
        self.members_ = []
        for tree_idx, lr_idx in parts:
            gbdt = GBDT(self.n_trees, self.num_leaves, self.learning_rate, self.min_child_samples,
                        self.exclude, self.seed).fit(train.take(tree_idx))
            lr_part = train.take(lr_idx)
            lr = LogisticRegression(C=self.C, max_iter=1000).fit(self._features(gbdt, lr_part), lr_part.y)
            self.members_.append((gbdt, lr))
        return self

    def predict_proba(self, d: CTRData) -> np.ndarray:
        return np.mean([lr.predict_proba(self._features(g, d))[:, 1] for g, lr in self.members_], axis=0)

    def _features(self, gbdt, d: CTRData):
        leaves = gbdt.leaves(d)
        n, t = leaves.shape
        # a tree has at most num_leaves leaves: tree j's leaf l is column j * num_leaves + l
        cols = leaves + np.arange(t)[None, :] * self.num_leaves
        L = sp.csr_matrix((np.ones(n * t, np.float32), (np.repeat(np.arange(n), t), cols.ravel())),
                          shape=(n, t * self.num_leaves))
        return sp.hstack([d.one_hot(), L], format="csr")

