"""Estimators: one module per method, all following :class:`EmbeddingEstimator`.

Names are imported lazily, so ``import recembed.models`` does not pull in PyTorch
until a torch model (SDNE, YouTubeDNN, TwoTower, FM, FNN) is asked for.

>>> from recembed.models import DeepWalk, Node2Vec, LINE, Struc2Vec, EGES  # doctest: +SKIP
"""
import importlib

from .base import EmbeddingEstimator

_WHERE = {
    "DeepWalk": "deepwalk", "Node2Vec": "node2vec", "LINE": "line", "SDNE": "sdne", "Struc2Vec": "struc2vec",
    "EGES": "eges", "GES": "eges", "BGE": "eges", "YouTubeDNN": "youtube_dnn", "TwoTower": "two_tower",
    "FM": "ctr", "FNN": "ctr", "LR": "ctr", "GBDT": "ctr", "GBDTLR": "ctr",
}

__all__ = ["EmbeddingEstimator", *_WHERE]


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
