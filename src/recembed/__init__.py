"""recembed: embeddings from user behaviour for recommender systems."""
from ._io import InputError
from .data import Corpus, Vocab, read_log, sessionize
from .embeddings import Embeddings

__version__ = "0.1.0"
__all__ = ["Corpus", "Embeddings", "InputError", "Vocab", "read_log", "sessionize"]
