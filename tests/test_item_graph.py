"""Item graph from a hand-made log: edges equal the hand-computed ones, filters drop what they say."""
import pandas as pd
import pytest

from recembed import InputError
from recembed.cli import main
from recembed.graphs import Graph, build_item_graph

# user u: a b c | gap > 1h | c d  (c -> c is not a transition: it spans the gap); user v: a b b a (self-transition b->b) ; user w (heavy): 6 events
LOG = pd.DataFrame(
    [("u", "a", 0, 1), ("u", "b", 100, 1), ("u", "c", 150, 3), ("u", "c", 150 + 3601, 1), ("u", "d", 3800, 2),
     ("v", "b", 20, 1), ("v", "a", 10, 1), ("v", "b", 30, 1), ("v", "a", 40, 5),
     ("w", "x", 0, 1), ("w", "a", 1, 1), ("w", "x", 2, 1), ("w", "a", 3, 1), ("w", "x", 4, 1), ("w", "a", 5, 1)],
    columns=["user", "item", "timestamp", "weight"])


def edges(g: Graph) -> dict:
    s, d, w = g.edges()
    k = g.vocab.keys
    return {(k[a], k[b]): float(x) for a, b, x in zip(s, d, w)}


def test_edges_equal_hand_computed_with_session_gaps():
    g, sm = build_item_graph(LOG)
    # u: a->b, b->c | c->d; v (time-sorted a b b a): a->b, b->b dropped, b->a
    # w: x->a, a->x, x->a, a->x, x->a
    assert g.directed
    assert edges(g) == {("a", "b"): 2.0, ("b", "c"): 1.0, ("c", "d"): 1.0, ("b", "a"): 1.0, ("x", "a"): 3.0,
                        ("a", "x"): 2.0}
    assert sm.sessions == 4 and sm.transitions == 11 and sm.self_transitions_dropped == 1
    assert sm.events_in == 15 and sm.users_in == 3 and sm.items_in == 5
    assert sm.nodes == g.n_nodes == 5 and sm.edges == 6 and sm.items_without_edges == 0
    assert "self transitions dropped" in str(sm)


def test_no_gap_links_across_sessions():
    g, sm = build_item_graph(LOG, session_gap=None)
    assert sm.sessions == 3 and sm.self_transitions_dropped == 2  # c -> c now counts (and is dropped)
    assert edges(g)[("c", "d")] == 1.0


def test_heavy_users_rare_items_min_weight_and_event_weights():
    g, sm = build_item_graph(LOG, max_user_events=5)
    assert sm.heavy_users_dropped == 1 and sm.heavy_user_events_dropped == 6 and "x" not in g.vocab
    g, sm = build_item_graph(LOG, min_edge_weight=2)
    assert edges(g) == {("a", "b"): 2.0, ("x", "a"): 3.0, ("a", "x"): 2.0}
    assert sm.edges_below_min_weight_dropped == 3
    g, _ = build_item_graph(LOG, use_event_weights=True, max_user_events=5)
    # weight of the later event: u a->b 1, b->c 3, c->d 2; v a->b 1, b->a 5
    assert edges(g) == {("a", "b"): 2.0, ("b", "c"): 3.0, ("c", "d"): 2.0, ("b", "a"): 5.0}
    g, sm = build_item_graph(LOG, min_item_count=2, max_user_events=5)
    # c has 2 events, d 1: d is dropped, and with it c -> d
    assert sm.rare_items_dropped == 1 and sm.rare_item_events_dropped == 1 and "d" not in g.vocab


def test_short_dwell_events_are_skipped_and_neighbours_linked():
    log = pd.DataFrame({"user": ["u"] * 4, "item": ["a", "b", "c", "d"], "timestamp": [0, 100, 102, 200]})
    g, sm = build_item_graph(log, dwell_min=10)
    # b is followed 2 s later: an accidental click; a and c become consecutive
    assert edges(g) == {("a", "c"): 1.0, ("c", "d"): 1.0} and sm.short_dwell_events_dropped == 1


def test_bad_options_and_empty_graph():
    with pytest.raises(InputError):
        build_item_graph(LOG, session_gap=0)
    with pytest.raises(InputError):
        build_item_graph(LOG, min_item_count=0)
    one = pd.DataFrame({"user": ["u", "v"], "item": ["a", "b"], "timestamp": [0, 1]})
    with pytest.raises(InputError, match="no edges"):
        build_item_graph(one)


def test_cli_graph_writes_tab_separated_edges(tmp_path, capsys):
    log = tmp_path / "log.csv"
    LOG[["user", "item", "timestamp"]].to_csv(log, index=False)
    out = tmp_path / "edges.tsv"
    assert main(["graph", "--log", str(log), "--output", str(out), "--max-user-events", "5"]) == 0
    lines = sorted(out.read_text().splitlines())
    assert lines == ["a\tb\t2", "b\ta\t1", "b\tc\t1", "c\td\t1"]
    printed = capsys.readouterr().out
    assert "heavy users dropped" in printed and "wrote 4 edges" in printed
    g = Graph.from_edgelist(out, directed=True)
    assert edges(g) == {("a", "b"): 2.0, ("b", "a"): 1.0, ("b", "c"): 1.0, ("c", "d"): 1.0}
    assert main(["graph", "--log", str(tmp_path / "missing.csv"), "--output", str(out)]) == 2
    # writing the edge list over the log is refused, and the log survives
    before = log.read_bytes()
    assert main(["graph", "--log", str(log), "--output", str(log)]) == 2
    assert log.read_bytes() == before and "overwrite the input" in capsys.readouterr().err


def test_taobao_slice_builds_quickly(shared_data):
    path = shared_data / "taobao-userbehavior-slice" / "UserBehavior.csv"
    df = pd.read_csv(path, header=None, names=["user", "item", "category", "behavior", "timestamp"])
    g, sm = build_item_graph(df, session_gap=3600)
    assert sm.events_in == len(df) and g.n_edges > 0 and g.n_nodes <= sm.items_in
    assert sm.transitions == sm.events_in - sm.sessions


def test_cli_reads_a_headerless_log_by_names(tmp_path, capsys):
    """``--names`` lets every log-reading command take a CSV without a header line (Taobao's layout)."""
    log = tmp_path / "log.csv"
    cols = ["user", "item", "category", "event", "timestamp"]
    df = LOG.assign(category="c1", event="pv")[cols]
    df.to_csv(log, index=False, header=False)
    names = ",".join(cols)
    with_header = tmp_path / "with_header.csv"
    df.to_csv(with_header, index=False)
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(["graph", "--log", str(log), "--names", names, "--output", str(a), "-q"]) == 0
    assert main(["graph", "--log", str(with_header), "--output", str(b), "-q"]) == 0
    assert sorted(a.read_text().splitlines()) == sorted(b.read_text().splitlines()) != []
    # without --names the first data row is taken for the header and its columns are missing
    assert main(["graph", "--log", str(log), "--output", str(a), "-q"]) == 2
    assert "missing column" in capsys.readouterr().err
    # a repeated name is refused by the parser
    with pytest.raises(SystemExit):
        main(["graph", "--log", str(log), "--names", "user,user,item", "--output", str(a)])
    for method in (["item2vec", "--epochs", "1"], ["deepwalk", "--walks-per-node", "2", "--walk-length", "5"]):
        out = tmp_path / f"{method[0]}.emb"
        assert main(["embed", *method, "--log", str(log), "--names", names, "--dim", "4", "--threads", "1",
                     "--output", str(out), "--quiet"]) == 0
        assert set(out.read_text().split("\n", 1)[1].split()[::5]) == {"a", "b", "c", "d", "x"}
