"""word2vec for sequences of ids: the engine every walk-based method reuses.

:class:`Word2Vec` trains on any :class:`~recembed.data.Corpus` (DeepWalk, Node2Vec and
Struc2Vec build one from their walks and call ``Word2Vec(...).fit(corpus)``; no Python
runs per token). :class:`Item2Vec` adds behaviour-log input and basket contexts.
"""
from .engine import alias_table, huffman_tree, keep_probabilities, noise_probabilities
from .model import Item2Vec, Word2Vec


def train_sgns(corpus, **params):
    """Fit a skip-gram negative-sampling :class:`Word2Vec` on a corpus and return it.

    ``params`` are :class:`Word2Vec` hyperparameters (``dim``, ``window``, ``seed`` ...).
    """
    return Word2Vec(**params).fit(corpus)


__all__ = ["Item2Vec", "Word2Vec", "alias_table", "huffman_tree", "keep_probabilities", "noise_probabilities",
           "train_sgns"]
