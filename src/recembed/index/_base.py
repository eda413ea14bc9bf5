"""What every recembed index shares: keys, validation, the query front end and persistence.

Subclasses hold the vectors here and implement ``_build()`` (make the search structure
from ``self._vectors``) and ``_search(Q, k)`` (rows and scores, best first). Adding or
removing keys marks the index dirty; the structure is rebuilt before the next query,
so a batch of changes costs one rebuild.
"""
from __future__ import annotations

import json
import threading

import numpy as np

from .._io import InputError, atomic_write, check_readable

METRICS = ("cosine", "ip", "l2")
_FORMAT = "recembed-index-1"


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"k must be an integer, got {k!r}")
    if k <= 0:
        raise InputError(f"k must be > 0, got {k}")
    return int(k)


def _as_key_array(keys) -> np.ndarray:
    """Integer keys stay int64, anything else becomes str (as :class:`Embeddings` does)."""
    arr = np.asarray(keys)
    if arr.ndim != 1:
        arr = np.asarray(list(keys))
    if arr.ndim != 1:
        raise InputError(f"keys must be a 1-D sequence, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise InputError("keys must be strings or integers, not booleans")
    return np.asarray([str(k) for k in arr.tolist()], dtype=object)


class BaseIndex:
    """Keyed vector index: ``add``/``remove``/``query``/``save``/``load``.

    Scores are ordered best first: cosine similarity and inner product descending,
    ``l2`` Euclidean distance ascending.
    """

    def __init__(self, metric: str = "cosine"):
        self.metric = check_metric(metric)
        self._keys = None            # 1-D int64 or object array, one per row
        self._vectors = None         # (n, dim) float32, as added (not normalised)
        self._key_to_row = {}
        self._dirty = True
        self._build_lock = threading.Lock()

    # -- params (scikit-learn style: the constructor's keyword arguments) ----
    def get_params(self) -> dict:
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {n: getattr(self, n) for n in sig.parameters if n != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params}; {len(self)} vectors)"

    # -- contents -----------------------------------------------------------
    def __len__(self) -> int:
        return 0 if self._keys is None else len(self._keys)

    def __contains__(self, key) -> bool:
        return self._norm_key(key) in self._key_to_row

    @property
    def dim(self) -> int | None:
        return None if self._vectors is None else self._vectors.shape[1]

    @property
    def keys(self) -> np.ndarray:
        return np.zeros(0, dtype=object) if self._keys is None else self._keys.copy()

    def _norm_key(self, key):
        if self._keys is not None and self._keys.dtype.kind == "i":
            if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                return int(key)
            return key
        return str(key)

    def get_vector(self, key) -> np.ndarray:
        """The vector stored for ``key`` (a copy); :class:`InputError` if unknown."""
        return self._vectors[self._row_of(key)].copy()

    def _row_of(self, key) -> int:
        try:
            return self._key_to_row[self._norm_key(key)]
        except KeyError:
            raise InputError(f"unknown key {key!r}") from None

    def add(self, keys, vectors) -> "BaseIndex":
        """Add vectors under ``keys``; a key already present has its vector replaced.

        Parameters
        ----------
        keys : sequence of str or int, length n (unique)
        vectors : array-like (n, dim)

        Returns
        -------
        self
        """
        keys = _as_key_array(keys)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim == 1 and len(keys) == 1:
            vectors = vectors[None, :]
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise InputError(f"need a (n_keys, dim) matrix for {len(keys)} keys, got shape {vectors.shape}")
        if len(keys) == 0:
            return self
        if not np.all(np.isfinite(vectors)):
            raise InputError("vectors contain NaN or infinity")
        if len(np.unique(keys.astype(str) if keys.dtype == object else keys)) != len(keys):
            raise InputError("keys passed to add() are not unique")
        if self._keys is None:
            self._keys = keys.copy()
            self._vectors = np.ascontiguousarray(vectors)
            self._key_to_row = {k: i for i, k in enumerate(keys.tolist())}
        else:
            if vectors.shape[1] != self.dim:
                raise InputError(f"vectors have dim {vectors.shape[1]}, index has dim {self.dim}")
            if (keys.dtype == object) != (self._keys.dtype == object):
                raise InputError("cannot mix integer and string keys in one index")
            rows = np.fromiter((self._key_to_row.get(k, -1) for k in keys.tolist()), dtype=np.int64, count=len(keys))
            old = rows >= 0
            self._vectors[rows[old]] = vectors[old]
            new = ~old
            if new.any():
                start = len(self._keys)
                self._keys = np.concatenate([self._keys, keys[new]])
                self._vectors = np.ascontiguousarray(np.vstack([self._vectors, vectors[new]]))
                for i, k in enumerate(keys[new].tolist()):
                    self._key_to_row[k] = start + i
        self._dirty = True
        return self

    def remove(self, keys) -> "BaseIndex":
        """Remove ``keys``; :class:`InputError` names the first unknown one (nothing is removed then)."""
        if isinstance(keys, (str, int, np.integer)):
            keys = [keys]
        rows = np.asarray([self._row_of(k) for k in keys], dtype=np.int64)
        if len(rows) == 0:
            return self
        keep = np.ones(len(self._keys), dtype=bool)
        keep[rows] = False
        self._keys = self._keys[keep]
        self._vectors = np.ascontiguousarray(self._vectors[keep])
        self._key_to_row = {k: i for i, k in enumerate(self._keys.tolist())}
        self._dirty = True
        return self

    def build(self) -> "BaseIndex":
        """Build the search structure now (otherwise done by the first query after a change)."""
        with self._build_lock:
            if self._dirty:
                if len(self) == 0:
                    raise InputError("index is empty: add() vectors first")
                self._build()
                self._dirty = False
        return self

    # -- queries ------------------------------------------------------------
    def _prepare_queries(self, vectors):
        if len(self) == 0:
            raise InputError("index is empty: add() vectors first")
        q = np.asarray(vectors, dtype=np.float32)
        single = q.ndim == 1
        if single:
            q = q[None, :]
        if q.ndim != 2:
            raise InputError(f"query must be a vector or a matrix, got shape {q.shape}")
        if q.shape[1] != self.dim:
            raise InputError(f"query has dim {q.shape[1]}, index has dim {self.dim}")
        if not np.all(np.isfinite(q)):
            raise InputError("query contains NaN or infinity")
        return np.ascontiguousarray(q), single

    def query(self, vectors, k: int = 10, **kwargs):
        """The ``k`` nearest keys of each query vector, best first.

        Parameters
        ----------
        vectors : array-like (dim,) or (n_queries, dim)
        k : int > 0; more than ``len(self)`` returns ``len(self)`` results

        Returns
        -------
        keys, scores : arrays, 1-D for one vector, (n_queries, k) for a matrix.
            Scores: cosine similarity / inner product (descending) or L2 distance (ascending).
        """
        k = check_k(k)
        q, single = self._prepare_queries(vectors)
        if self._dirty:
            self.build()
        k = min(k, len(self))
        rows, scores = self._search(q, k, **kwargs)
        keys = self._keys[rows]
        if single:
            return keys[0], scores[0]
        return keys, scores

    def query_key(self, key, k: int = 10, **kwargs):
        """Nearest neighbours of a stored key, leaving the key itself out."""
        k = check_k(k)
        keys, scores = self.query(self.get_vector(key), k=min(k + 1, len(self)), **kwargs)
        nk = self._norm_key(key)
        mask = np.asarray([x != nk for x in keys.tolist()], dtype=bool)
        return keys[mask][:k], scores[mask][:k]

    def tune(self, sample_queries, k: int = 10, target_recall: float = 0.9, **kwargs) -> list:
        """Exact indexes have nothing to tune; returns a one-row report with recall 1."""
        return [{"recall": 1.0, "chosen": True}]

    # -- persistence --------------------------------------------------------
    def _extra_state(self) -> dict:
        """Arrays beyond keys and vectors to save (override)."""
        return {}

    def _load_extra_state(self, arrays: dict, meta: dict) -> None:
        self._dirty = True

    def save(self, path) -> None:
        """Write one ``.npz`` (no pickle): parameters, keys, vectors and any built structure."""
        if len(self) == 0:
            raise InputError("index is empty: nothing to save")
        meta = {"format": _FORMAT, "class": type(self).__name__, "params": self.get_params(),
                "key_type": "int" if self._keys.dtype.kind == "i" else "str", "extra": self._extra_meta()}
        keys = self._keys if self._keys.dtype.kind == "i" else self._keys.astype(str)
        arrays = {"keys": keys, "vectors": self._vectors, "meta": np.asarray(json.dumps(meta))}
        for name, arr in self._extra_state().items():
            arrays["x_" + name] = arr
        with atomic_write(path, "wb") as fh:
            np.savez(fh, **arrays)

    def _extra_meta(self) -> dict:
        return {}

    @classmethod
    def load(cls, path) -> "BaseIndex":
        """Read an index written by :meth:`save` (of this class, or of any class on ``BaseIndex``)."""
        p = check_readable(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                keys = z["keys"]
                vectors = z["vectors"]
                extra = {n[2:]: z[n] for n in z.files if n.startswith("x_")}
        except (KeyError, ValueError, OSError) as e:
            raise InputError(f"not a recembed index file ({e})", p) from None
        if meta.get("format") != _FORMAT:
            raise InputError(f"not a recembed index file (format {meta.get('format')!r})", p)
        target = cls
        if cls is BaseIndex or cls.__name__ != meta["class"]:
            from . import INDEX_CLASSES

            if meta["class"] not in INDEX_CLASSES:
                raise InputError(f"unknown index class {meta['class']!r}", p)
            target = INDEX_CLASSES[meta["class"]]
            if cls is not BaseIndex and not issubclass(target, cls):
                raise InputError(f"file holds a {meta['class']}, not a {cls.__name__}", p)
        obj = target(**meta["params"])
        keys = keys.astype(np.int64) if meta["key_type"] == "int" else keys.astype(object)
        obj._keys = keys
        obj._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        obj._key_to_row = {k: i for i, k in enumerate(keys.tolist())}
        obj._dirty = True
        obj._load_extra_state(extra, meta.get("extra", {}))
        return obj
