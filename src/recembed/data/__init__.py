"""Data in: vocabularies, sequence corpora and behaviour logs."""
from .vocab import Vocab
from .corpus import Corpus
from .logs import read_log, sessionize, Sessions

__all__ = ["Vocab", "Corpus", "read_log", "sessionize", "Sessions"]
