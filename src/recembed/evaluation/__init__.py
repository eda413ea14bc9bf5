"""Evaluations: node classification and link prediction (the graph-embedding papers' protocols).

scikit-learn is needed for the classifiers (``pip install 'recembed[ml]'``); it is imported
only when an evaluation runs. Recall@K for recommenders lives in :mod:`recembed.evaluation.recall`.
"""
from .link_prediction import (HEURISTICS, OPERATORS, EdgeSplit, LinkPredictionResult, edge_features,
                              heuristic_scores, link_heuristics, link_prediction, roc_auc, spectral_embeddings,
                              split_edges)
from .node_classification import (NodeClassificationResult, as_label_pairs, f1_scores, node_classification,
                                  read_labels, top_k_predictions)

__all__ = ["HEURISTICS", "OPERATORS", "EdgeSplit", "heuristic_scores", "link_heuristics", "LinkPredictionResult", "NodeClassificationResult", "as_label_pairs",
           "edge_features", "f1_scores", "link_prediction", "node_classification", "read_labels", "roc_auc",
           "spectral_embeddings", "split_edges", "top_k_predictions"]
