"""Feature specs and training examples for the recall models (YouTubeDNN, TwoTower).

Three pieces:

* :class:`FeatureSpec` / :class:`FeatureEncoder`: user or item side features from a
  table (CSV or DataFrame): ``categorical`` (one value), ``multi`` (several values in one
  cell separated by ``;``, mean-pooled), ``numeric`` (standardised) or ``bucket``
  (numeric cut at training quantiles, then embedded). Unknown or missing values map to
  the reserved index 0 (an all-zero embedding); a missing number maps to the mean (0).
* :func:`rolled_back_examples`: one training example per event whose history is the
  user's last ``N`` items **strictly before** it (the YouTube paper's "rolled back"
  examples), so no label or later event can leak into its own input.
* :class:`FeatureEmbedder`: the torch module turning encoded features into one vector.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .._io import InputError, check_readable
from ..data.logs import Events
from ..data.vocab import Vocab

KINDS = ("categorical", "multi", "numeric", "bucket")


@dataclass
class FeatureSpec:
    """How one column becomes a feature.

    Parameters
    ----------
    name : str
        Column name in the table.
    kind : {"categorical", "multi", "numeric", "bucket"}
    sep : str
        Separator of values in a ``multi`` cell.
    n_buckets : int
        Quantile buckets of a ``bucket`` feature.

    Examples
    --------
    >>> FeatureSpec("genres", "multi").kind
    'multi'
    """

    name: str
    kind: str
    sep: str = ";"
    n_buckets: int = 10

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"feature {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")


def read_table(table, key: str) -> pd.DataFrame:
    """A feature table as strings (``None`` for empty cells) with a unique ``key`` column."""
    if isinstance(table, pd.DataFrame):
        df = table.copy()
        path = None
    else:
        path = check_readable(table)
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise InputError(f"cannot parse feature table: {e}", path) from None
    if key not in df.columns:
        raise InputError(f"feature table needs a {key!r} column; columns are {list(df.columns)}", path)
    df[key] = df[key].astype(str)
    dup = df[key].duplicated()
    if dup.any():
        raise InputError(f"{key} {df[key][dup].iloc[0]!r} appears twice in the feature table", path,
                         int(np.flatnonzero(dup.to_numpy())[0]) + 2 if path else None)
    return df


def infer_specs(df: pd.DataFrame, key: str, max_unique_ratio: float = 0.5) -> list[FeatureSpec]:
    """Guess a spec per column (except ``key``): a cell with ``;`` makes it ``multi``, all-numeric
    makes it ``numeric``, otherwise ``categorical``.

    A categorical column whose distinct values exceed ``max_unique_ratio`` of the rows (a zip
    code, a title) is a second id that only memorises; it is left out, and listed in the
    second return value.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": ["1", "2", "3"], "genres": ["a;b", "a", None], "year": ["1990", "", "1995"],
    ...                    "studio": ["x", "x", "y"]})
    >>> [(s.name, s.kind) for s in infer_specs(df, "item")]
    [('genres', 'multi'), ('year', 'numeric'), ('studio', 'categorical')]
    """
    specs = []
    for col in df.columns:
        if col == key:
            continue
        vals = df[col].dropna().astype(str)
        vals = vals[vals != ""]
        if len(vals) == 0:
            continue
        if vals.str.contains(";", regex=False).any():
            specs.append(FeatureSpec(col, "multi"))
        elif pd.to_numeric(vals, errors="coerce").notna().all():
            specs.append(FeatureSpec(col, "numeric"))
        elif vals.nunique() <= max(2, max_unique_ratio * len(df)):
            specs.append(FeatureSpec(col, "categorical"))
    return specs


class FeatureEncoder:
    """Learns value vocabularies / scales from a table and encodes rows into arrays.

    ``transform`` returns ``{name: array}``: int64 codes (0 = unknown/missing) for
    ``categorical`` and ``bucket``, an int64 ``(n, max_values)`` matrix padded with 0 for
    ``multi`` (values indexed by frequency, 1 = most frequent), float32 standardised values for ``numeric``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["a;b", "b", None], "x": [1.0, 3.0, None]})
    >>> enc = FeatureEncoder([FeatureSpec("g", "multi"), FeatureSpec("x", "numeric")]).fit(df)
    >>> out = enc.transform(df)
    >>> out["g"].tolist(), out["x"].tolist()
    ([[2, 1], [1, 0], [0, 0]], [-1.0, 1.0, 0.0])
    """

    def __init__(self, specs):
        self.specs = [s if isinstance(s, FeatureSpec) else FeatureSpec(**s) for s in specs]
        self.values: dict[str, list[str]] = {}
        self.stats: dict[str, list[float]] = {}

    @staticmethod
    def _split(col: pd.Series, sep: str) -> list[list[str]]:
        return [[v.strip() for v in str(c).split(sep) if v.strip()] if c is not None and c == c else []
                for c in col.tolist()]

    def fit(self, df: pd.DataFrame) -> "FeatureEncoder":
        for s in self.specs:
            if s.name not in df.columns:
                raise InputError(f"feature column {s.name!r} not in table; columns are {list(df.columns)}")
            col = df[s.name]
            if s.kind == "categorical":
                vals = col.dropna().astype(str)
                self.values[s.name] = Vocab.from_tokens(vals[vals != ""].tolist()).keys.tolist()
            elif s.kind == "multi":
                toks = [v for row in self._split(col, s.sep) for v in row]
                self.values[s.name] = Vocab.from_tokens(toks).keys.tolist() if toks else []
            else:
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
                bad = col.notna().to_numpy() & ~np.isfinite(x) & (col.astype(str) != "").to_numpy()
                if bad.any():
                    raise InputError(f"feature {s.name!r}: value {col[bad].iloc[0]!r} is not a number")
                x = x[np.isfinite(x)]
                if s.kind == "numeric":
                    mean = float(x.mean()) if len(x) else 0.0
                    std = float(x.std()) if len(x) else 1.0
                    self.stats[s.name] = [mean, std if std > 0 else 1.0]
                else:
                    qs = np.quantile(x, np.linspace(0, 1, s.n_buckets + 1)[1:-1]) if len(x) else np.zeros(0)
                    self.stats[s.name] = np.unique(qs).tolist()
        return self

    def transform(self, df: pd.DataFrame) -> dict:
        out = {}
        for s in self.specs:
            col = df[s.name]
            if s.kind == "categorical":
                idx = {v: i + 1 for i, v in enumerate(self.values[s.name])}
                out[s.name] = np.array([idx.get(str(v), 0) if v is not None and v == v else 0 for v in col],
                                       dtype=np.int64)
            elif s.kind == "multi":
                idx = {v: i + 1 for i, v in enumerate(self.values[s.name])}
                rows = [[idx.get(v, 0) for v in r] for r in self._split(col, s.sep)]
                rows = [[c for c in r if c] for r in rows]
                width = max(1, max((len(r) for r in rows), default=1))
                m = np.zeros((len(rows), width), dtype=np.int64)
                for i, r in enumerate(rows):
                    m[i, :len(r)] = r
                out[s.name] = m
            else:
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
                ok = np.isfinite(x)
                if s.kind == "numeric":
                    mean, std = self.stats[s.name]
                    out[s.name] = np.where(ok, (x - mean) / std, 0.0).astype(np.float32)
                else:
                    edges = np.asarray(self.stats[s.name])
                    out[s.name] = np.where(ok, np.searchsorted(edges, np.where(ok, x, 0), side="right") + 1,
                                           0).astype(np.int64)
        return out

    def layout(self) -> list[tuple[str, str, int]]:
        """``(name, kind, size)`` per feature: vocabulary size incl. index 0, or 1 for numeric."""
        out = []
        for s in self.specs:
            if s.kind in ("categorical", "multi"):
                out.append((s.name, s.kind, len(self.values[s.name]) + 1))
            elif s.kind == "bucket":
                out.append((s.name, s.kind, len(self.stats[s.name]) + 2))
            else:
                out.append((s.name, s.kind, 1))
        return out

    def to_dict(self) -> dict:
        return {"specs": [asdict(s) for s in self.specs], "values": self.values, "stats": self.stats}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureEncoder":
        enc = cls(d["specs"])
        enc.values, enc.stats = dict(d["values"]), dict(d["stats"])
        return enc


def entity_features(table, key: str, vocab: Vocab, specs=None,
                    encoder: FeatureEncoder | None = None) -> tuple[FeatureEncoder, dict]:
    """Encode a feature table for the entities of ``vocab`` (arrays aligned with its codes).

    ``table`` is a CSV path or DataFrame with a ``key`` column; ``specs`` a list of
    :class:`FeatureSpec` (default: :func:`infer_specs`). An entity absent from the table
    gets the missing value of every feature. ``encoder``: a fitted encoder to use as it is
    (serving new entities with a trained model's vocabularies and scales).
    """
    df = read_table(table, key)
    if encoder is not None:
        missing = [s.name for s in encoder.specs if s.name not in df.columns]
        if missing:
            raise InputError(f"{key} feature table lacks the model's columns {missing}; "
                             f"columns are {list(df.columns)}")
        enc = encoder
    else:
        enc = FeatureEncoder(infer_specs(df, key) if specs is None else specs).fit(df)
    pos = pd.Series(np.arange(len(df)), index=df[key].to_numpy())
    rows = pos.reindex(vocab.keys.tolist()).to_numpy()
    present = ~np.isnan(rows)
    aligned = pd.DataFrame({s.name: [None] * len(vocab) for s in enc.specs}, dtype=object)
    if present.any():
        sub = df.iloc[rows[present].astype(np.int64)]
        for s in enc.specs:
            col = aligned[s.name].to_numpy(dtype=object).copy()
            col[present] = sub[s.name].to_numpy(dtype=object)
            aligned[s.name] = col
    return enc, enc.transform(aligned)


# -- rolled-back examples -------------------------------------------------------------------------

@dataclass
class UserSequences:
    """Training events grouped per user in time order (ties: file order).

    ``items``/``times`` are the sorted events; user code ``u`` owns
    ``items[start[u]:end[u]]``; ``user_of[j]`` is the user of sorted event ``j``.
    """

    items: np.ndarray
    times: np.ndarray
    user_of: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def from_events(cls, events: Events, mask=None) -> "UserSequences":
        idx = np.arange(len(events)) if mask is None else np.flatnonzero(mask)
        order = idx[np.lexsort((events.lines[idx], events.timestamps[idx], events.users[idx]))]
        users = events.users[order].astype(np.int64)
        n_users = len(events.user_vocab)
        start = np.searchsorted(users, np.arange(n_users), side="left")
        end = np.searchsorted(users, np.arange(n_users), side="right")
        return cls(events.items[order].astype(np.int64), events.timestamps[order].astype(np.float64),
                   users, start.astype(np.int64), end.astype(np.int64))

    def history(self, positions: np.ndarray, max_len: int) -> np.ndarray:
        """``(n, max_len)`` item codes + 1 of the events strictly before each sorted position
        (most recent first, 0 = padding), never crossing into another user's events.

        ``positions`` may equal ``end[u]`` to get the full history of user ``u`` (serving).
        """
        positions = np.asarray(positions, dtype=np.int64)
        users = self.user_of[np.minimum(positions, len(self.user_of) - 1)] if len(self.user_of) else positions
        return self._history(positions, self.start[users], max_len)

    def history_of_users(self, users: np.ndarray, max_len: int) -> np.ndarray:
        """Full-history matrix (as :meth:`history`) of each user code in ``users``."""
        users = np.asarray(users, dtype=np.int64)
        return self._history(self.end[users], self.start[users], max_len)

    def _history(self, positions, starts, max_len):
        idx = positions[:, None] - np.arange(1, max_len + 1)[None, :]
        valid = idx >= starts[:, None]
        return np.where(valid, self.items[np.clip(idx, 0, None)] + 1, 0) if len(self.items) else \
            np.zeros((len(positions), max_len), dtype=np.int64)


def example_age(times: np.ndarray, t_min: float, t_end: float) -> np.ndarray:
    """The YouTube paper's example-age feature: ``a = (t_end - t) / (t_end - t_min)`` in [0, 1]
    as ``[a, a**2, sqrt(a)]`` (float32, ``(n, 3)``); serve with ``times = t_end`` (age 0)."""
    span = max(float(t_end - t_min), 1e-9)
    a = np.clip((t_end - np.asarray(times, dtype=np.float64)) / span, 0.0, 1.0)
    return np.stack([a, a * a, np.sqrt(a)], axis=1).astype(np.float32)


# -- torch module --------------------------------------------------------------------------------

def _torch():
    import torch

    return torch


def make_feature_embedder(layout, dim: int):
    """A torch module embedding the features of ``layout`` (from :meth:`FeatureEncoder.layout`)
    into one concatenated vector: categorical/bucket -> ``dim``, multi -> mean of ``dim`` vectors
    (padding excluded), numeric -> the value itself."""
    torch = _torch()
    nn = torch.nn

    class _FeatureEmbedder(nn.Module):
        def __init__(self):
            super().__init__()
            self.names = [n for n, _, _ in layout]
            self.kinds = {n: k for n, k, _ in layout}
            self.tables = nn.ModuleDict({n: nn.Embedding(size, dim, padding_idx=0)
                                         for n, k, size in layout if k != "numeric"})
            for t in self.tables.values():
                nn.init.normal_(t.weight, std=0.05)
                with torch.no_grad():
                    t.weight[0].zero_()
            self.out_dim = sum(1 if k == "numeric" else dim for _, k, _ in layout)

        def forward(self, feats: dict, rows):
            parts = []
            for n in self.names:
                x = feats[n][rows]
                k = self.kinds[n]
                if k == "numeric":
                    parts.append(x.unsqueeze(1))
                elif k == "multi":
                    parts.append(mean_pool(self.tables[n], x))
                else:
                    parts.append(self.tables[n](x))
            if not parts:
                return torch.zeros((len(rows), 0), device=rows.device)
            return torch.cat(parts, dim=1)

    return _FeatureEmbedder()


def mean_pool(table, codes):
    """Mean of ``table(codes)`` over the non-zero codes of each row (a row of zeros -> zero vector)."""
    mask = (codes > 0).unsqueeze(-1).to(table.weight.dtype)
    summed = (table(codes) * mask).sum(dim=1)
    return summed / mask.sum(dim=1).clamp(min=1.0)


def mlp(in_dim: int, hidden, out_dim: int, dropout: float = 0.0):
    """ReLU tower ``in -> hidden... -> out`` (the last layer linear)."""
    torch = _torch()
    nn = torch.nn
    layers, d = [], in_dim
    for h in hidden:
        layers += [nn.Linear(d, int(h)), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = int(h)
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def resolve_device(device: str):
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    torch = _torch()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
