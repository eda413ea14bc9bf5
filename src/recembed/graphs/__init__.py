"""Graphs: a CSR graph over string ids, and the item graph built from behaviour logs."""
from .graph import Graph, read_edgelist
from .item_graph import ItemGraphSummary, build_item_graph

__all__ = ["Graph", "ItemGraphSummary", "build_item_graph", "read_edgelist"]
