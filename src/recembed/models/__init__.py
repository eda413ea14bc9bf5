"""Estimators: one module per method, all following :class:`EmbeddingEstimator`."""
from .base import EmbeddingEstimator

__all__ = ["EmbeddingEstimator"]
