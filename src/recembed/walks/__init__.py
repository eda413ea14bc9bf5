"""Random walks (DeepWalk, Node2Vec) on CSR graphs, written into int32 corpora."""
from .engine import Walker, random_walks

__all__ = ["Walker", "random_walks"]
