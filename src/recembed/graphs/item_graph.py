"""The item graph of DeepWalk/EGES: consecutive actions in a session become weighted edges.

Pipeline (all vectorised numpy, no Python loop per event):

1. drop every event of *heavy users* (more than ``max_user_events`` events: crawlers, shared
   accounts), which would otherwise link unrelated items;
2. sort each user's events by time (ties: file order) and cut sessions at gaps longer
   than ``session_gap`` seconds;
3. drop *short-dwell* events: an event followed, in its session, by the next action less
   than ``dwell_min`` seconds later (an accidental click; Airbnb's listing embeddings do
   the same). A session's last event has no measured dwell and is kept;
4. drop events of *rare items* (fewer than ``min_item_count`` events left);
5. link each remaining event to the next remaining event of the same session:
   edge ``A -> B`` gains 1, or the weight of the event on ``B`` with ``use_event_weights``.
   Dropped events are skipped, so their neighbours become consecutive;
6. drop *self-transitions* ``A -> A`` (a refresh says nothing about similarity);
7. drop edges whose merged weight is under ``min_edge_weight``.

Nodes are the items with at least one edge left.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._io import InputError
from .graph import Graph


@dataclass
class ItemGraphSummary:
    """What :func:`build_item_graph` kept and dropped, and why. ``print()`` it for a table."""

    events_in: int = 0
    users_in: int = 0
    items_in: int = 0
    heavy_users_dropped: int = 0
    heavy_user_events_dropped: int = 0
    sessions: int = 0
    short_dwell_events_dropped: int = 0
    rare_items_dropped: int = 0
    rare_item_events_dropped: int = 0
    transitions: int = 0
    self_transitions_dropped: int = 0
    distinct_edges: int = 0
    edges_below_min_weight_dropped: int = 0
    items_without_edges: int = 0
    nodes: int = 0
    edges: int = 0
    total_weight: float = 0.0

    def __str__(self) -> str:
        width = max(len(f.name) for f in fields(self))
        rows = [f"{f.name.replace('_', ' '):<{width}}  {getattr(self, f.name):>12,}" if f.name != "total_weight"
                else f"{'total weight':<{width}}  {self.total_weight:>12,.6g}" for f in fields(self)]
        return "item graph summary\n" + "\n".join(rows)


def build_item_graph(log_or_events, session_gap: float | None = 3600.0, dwell_min: float | None = None,
                     max_user_events: int | None = None, min_edge_weight: float = 1, min_item_count: int = 1,
                     use_event_weights: bool = False, **read_kwargs) -> tuple[Graph, ItemGraphSummary]:
    """Build the directed, weighted item graph from a behaviour log.

    Parameters
    ----------
    log_or_events : path (CSV/TSV/Parquet), DataFrame or :class:`recembed.data.logs.Events`.
    session_gap : seconds of inactivity that end a session (``None``: one session per user).
    dwell_min : drop events followed by the next action in under this many seconds.
    max_user_events : drop all events of users with more events than this.
    min_edge_weight : drop edges whose merged weight is below this.
    min_item_count : drop events of items with fewer events than this (after the filters above).
    use_event_weights : an edge gains the weight of its later event instead of 1.
    read_kwargs : passed to :func:`recembed.read_log` (``user_col``, ``sep``, ...).

    Returns
    -------
    (Graph, ItemGraphSummary)

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "b"],
    ...                     "timestamp": [0, 10, 20, 0, 5]})
    >>> g, summary = build_item_graph(log)
    >>> g.edge_weight("a", "b"), g.edge_weight("b", "c"), g.directed
    (2.0, 1.0, True)
    """
    from ..data.logs import read_log

    if session_gap is not None and not session_gap > 0:
        raise InputError(f"session_gap must be > 0 seconds or None, got {session_gap!r}")
    if dwell_min is not None and not dwell_min >= 0:
        raise InputError(f"dwell_min must be >= 0 seconds or None, got {dwell_min!r}")
    if max_user_events is not None and not (isinstance(max_user_events, (int, np.integer)) and max_user_events > 0):
        raise InputError(f"max_user_events must be a positive integer or None, got {max_user_events!r}")
    if not (min_edge_weight == min_edge_weight and min_edge_weight >= 0):
        raise InputError(f"min_edge_weight must be >= 0, got {min_edge_weight!r}")
    if not (isinstance(min_item_count, (int, np.integer)) and min_item_count >= 1):
        raise InputError(f"min_item_count must be an integer >= 1, got {min_item_count!r}")

    ev = log_or_events if hasattr(log_or_events, "item_codes") or hasattr(log_or_events, "item_vocab") \
        else read_log(log_or_events, **read_kwargs)
    n_items = len(ev.item_vocab)
    sm = ItemGraphSummary(events_in=len(ev), users_in=len(np.unique(ev.users)), items_in=len(np.unique(ev.items)))

    users, items, ts, w, lines = ev.users, ev.items, ev.timestamps, ev.weights, ev.lines
    # 1. heavy users
    if max_user_events is not None:
        per_user = np.bincount(users, minlength=len(ev.user_vocab))
        heavy = per_user > max_user_events
        drop = heavy[users]
        sm.heavy_users_dropped = int(heavy.sum())
        sm.heavy_user_events_dropped = int(drop.sum())
        keep = ~drop
        users, items, ts, w, lines = users[keep], items[keep], ts[keep], w[keep], lines[keep]

    # 2. sessions: sort by (user, time, file line); a session id per event
    order = np.lexsort((lines, ts, users))
    users, items, ts, w = users[order], items[order], ts[order], w[order]
    cut = np.ones(len(items), dtype=bool)
    cut[1:] = users[1:] != users[:-1]
    if session_gap is not None:
        cut[1:] |= (ts[1:] - ts[:-1]) > session_gap
    session = np.cumsum(cut) - 1
    sm.sessions = int(cut.sum())

    # 3. short dwell: time to the next action of the same session
    if dwell_min is not None and len(items):
        same_next = np.zeros(len(items), dtype=bool)
        same_next[:-1] = session[1:] == session[:-1]
        dwell = np.full(len(items), np.inf)
        dwell[:-1] = ts[1:] - ts[:-1]
        short = same_next & (dwell < dwell_min)
        sm.short_dwell_events_dropped = int(short.sum())
        keep = ~short
        items, w, session = items[keep], w[keep], session[keep]

    # 4. rare items
    if min_item_count > 1 and len(items):
        cnt = np.bincount(items, minlength=n_items)
        rare = (cnt > 0) & (cnt < min_item_count)
        drop = rare[items]
        sm.rare_items_dropped = int(rare.sum())
        sm.rare_item_events_dropped = int(drop.sum())
        keep = ~drop
        items, w, session = items[keep], w[keep], session[keep]

    # 5. transitions between consecutive surviving events of a session
    link = session[1:] == session[:-1]
    a, b = items[:-1][link].astype(np.int64), items[1:][link].astype(np.int64)
    ew = w[1:][link].astype(np.float64) if use_event_weights else np.ones(len(a), dtype=np.float64)
    sm.transitions = int(len(a))
    # 6. self-transitions
    loop = a == b
    sm.self_transitions_dropped = int(loop.sum())
    a, b, ew = a[~loop], b[~loop], ew[~loop]

    # 7. merge duplicates, then min weight
    key = a * n_items + b
    uniq, inv = np.unique(key, return_inverse=True)
    weight = np.bincount(inv, weights=ew, minlength=len(uniq))
    sm.distinct_edges = int(len(uniq))
    ok = (weight >= min_edge_weight) & (weight > 0)
    sm.edges_below_min_weight_dropped = int((~ok).sum())
    uniq, weight = uniq[ok], weight[ok]
    if len(uniq) == 0:
        raise InputError(f"the item graph has no edges left: {sm.transitions} transitions, "
                         f"{sm.self_transitions_dropped} self-transitions, "
                         f"{sm.edges_below_min_weight_dropped} edges under min_edge_weight={min_edge_weight}",
                         None if not hasattr(ev, "source") or ev.source.startswith("<") else ev.source)
    src, dst = uniq // n_items, uniq % n_items
    used = np.unique(np.concatenate([src, dst]))
    remap = np.full(n_items, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    present = np.zeros(n_items, dtype=bool)
    present[items] = True
    sm.items_without_edges = int(present.sum()) - len(used)
    g = Graph._from_codes(remap[src], remap[dst], weight, ev.item_vocab.keys[used], True,
                          bool(np.any(weight != 1)))
    sm.nodes, sm.edges, sm.total_weight = g.n_nodes, g.n_edges, float(weight.sum())
    return g, sm
