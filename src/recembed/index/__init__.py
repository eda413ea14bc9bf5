"""Nearest-neighbour recall: exact top-k, multi-probe LSH, a tuner, and faiss/hnswlib adapters.

Every index has the same surface (as hnswlib's and annoy's do): ``add(keys, vectors)``,
``query(vector_or_matrix, k) -> (keys, scores)``, ``remove(keys)``, ``save(path)``,
``Index.load(path)``, ``len(index)``. Scores come best first: cosine similarity and
inner product descending, L2 distance ascending.

Examples
--------
>>> import numpy as np
>>> from recembed.index import ExactIndex, LSHIndex
>>> X = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
>>> exact = ExactIndex("cosine").add(range(500), X)
>>> lsh = LSHIndex("cosine", n_tables=8, n_bits=6, n_probes=8).add(range(500), X)
>>> exact.query(X[3], k=1)[0].tolist(), lsh.query(X[3], k=1)[0].tolist()
([3], [3])
"""
from ._base import BaseIndex
from .adapters import FaissIndex, HNSWIndex
from .exact import ExactIndex
from .lsh import LSHIndex

INDEX_CLASSES = {c.__name__: c for c in (ExactIndex, LSHIndex, FaissIndex, HNSWIndex)}
INDEX_TYPES = {"exact": ExactIndex, "lsh": LSHIndex, "faiss": FaissIndex, "hnsw": HNSWIndex}


def load_index(path) -> BaseIndex:
    """Load any index written by ``save`` (the file names its class)."""
    return BaseIndex.load(path)


def make_index(kind: str, metric: str = "cosine", **params) -> BaseIndex:
    """``make_index("lsh", "ip", n_tables=8)``: an empty index of the named type."""
    from .._io import InputError

    if kind not in INDEX_TYPES:
        raise InputError(f"index type must be one of {sorted(INDEX_TYPES)}, got {kind!r}")
    return INDEX_TYPES[kind](metric=metric, **params)


__all__ = ["BaseIndex", "ExactIndex", "FaissIndex", "HNSWIndex", "LSHIndex", "load_index", "make_index"]
