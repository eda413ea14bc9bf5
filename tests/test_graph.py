"""Graph readers and policies: separators, comments, duplicates, self-loops, isolated nodes, round trips."""
import time

import networkx as nx
import numpy as np
import pytest
from scipy import sparse

from recembed import InputError
from recembed.graphs import Graph


def write(tmp_path, text, name="g.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def adjacency(g: Graph) -> dict:
    k = g.vocab.keys
    out = {}
    for i in range(g.n_nodes):
        a, b = g.indptr[i], g.indptr[i + 1]
        out[k[i]] = dict(zip(k[g.indices[a:b]].tolist(), g.weights[a:b].tolist()))
    return out


def test_space_and_comma_separated_with_comments_and_blank_lines(tmp_path):
    text_ws = "# header comment\n\n007 b\t2.5\nb   c 1 # trailing comment\n\n"
    text_c = "# header comment\n\n007,b,2.5\nb, c,1 # trailing comment\n"
    for t in (text_ws, text_c):
        g = Graph.from_edgelist(write(tmp_path, t))
        assert g.vocab.keys.tolist() == ["007", "b", "c"]  # ids kept as given, first-appearance order
        assert adjacency(g) == {"007": {"b": 2.5}, "b": {"007": 2.5, "c": 1.0}, "c": {"b": 1.0}}
        assert g.weighted and not g.directed and g.n_edges == 2


def test_rows_are_sorted_for_binary_search(tmp_path):
    g = Graph.from_edges(["x"] * 5, ["e", "d", "c", "b", "a"])
    row = g.indices[g.indptr[0]:g.indptr[1]]
    assert np.all(np.diff(row) > 0)


def test_duplicates_merge_and_weights_add(tmp_path):
    g = Graph.from_edgelist(write(tmp_path, "a b 1\nb a 2\na b 0.5\n"))
    assert g.edge_weight("a", "b") == g.edge_weight("b", "a") == 3.5 and g.n_edges == 1
    d = Graph.from_edgelist(write(tmp_path, "a b 1\nb a 2\na b 0.5\n"), directed=True)
    assert d.edge_weight("a", "b") == 1.5 and d.edge_weight("b", "a") == 2.0 and d.n_edges == 2
    u = Graph.from_edgelist(write(tmp_path, "a b\nb a\n"))  # unweighted: the same edge twice is one edge
    assert not u.weighted and u.edge_weight("a", "b") == 1.0 and u.n_edges == 1
    m = Graph.from_edges(["a", "b"], ["b", "a"], weighted=True)  # weighted, no weights: multiplicity
    assert m.weighted and m.edge_weight("a", "b") == 2.0


def test_self_loop_is_kept_and_stored_once(tmp_path):
    g = Graph.from_edgelist(write(tmp_path, "a a 2\na b 1\na a 1\n"))
    assert adjacency(g)["a"] == {"a": 3.0, "b": 1.0}
    assert g.degree("a") == 2 and g.n_edges == 2
    assert g.to_scipy()[0, 0] == 3.0
    assert nx.number_of_selfloops(g.to_networkx()) == 1


def test_isolated_nodes_are_kept_with_degree_zero():
    g = Graph.from_edges(["a"], ["b"], nodes=["z", "a"])
    assert g.vocab.keys.tolist() == ["z", "a", "b"] and g.degree("z") == 0 and g.neighbors("z") == []
    assert g.n_nodes == 3 and g.n_edges == 1


def test_weighted_flag(tmp_path):
    p = write(tmp_path, "a b 2\nb c 3\n")
    assert Graph.from_edgelist(p).weighted
    g = Graph.from_edgelist(p, weighted=False)
    assert not g.weighted and g.edge_weight("a", "b") == 1.0
    with pytest.raises(InputError, match=r"g.txt:1: missing weight"):
        Graph.from_edgelist(write(tmp_path, "a b\nb c 3\n"), weighted=True)


def test_zero_weight_edges_are_dropped_nodes_kept(tmp_path):
    g = Graph.from_edgelist(write(tmp_path, "a b 0\nb c 1\n"))
    assert g.n_edges == 1 and "a" in g.vocab and g.degree("a") == 0


@pytest.mark.parametrize("text,line,msg", [
    ("a b 1\nonly\n", 2, "found 1 field"),
    ("a b 1\nc d 1 extra\n", 2, "found 4 field"),
    ("a b 1\nc d 1 x y z\n", 2, "found 6 field"),
    ("# c\na b 1\nc d x\n", 3, "not a number"),
    ("a b 1\nc d nan\n", 2, "finite"),
    ("a b 1\n\nc d -1\n", 3, ">= 0"),
    ("a b 1\nc d inf\n", 2, "finite"),
    ("a,b\nc,,\n", 2, "found"),
])
def test_bad_lines_name_file_and_line(tmp_path, text, line, msg):
    p = write(tmp_path, text)
    with pytest.raises(InputError, match=msg) as e:
        Graph.from_edgelist(p)
    assert e.value.line == line and e.value.path == str(p)


def test_no_edges_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="no edges"):
        Graph.from_edgelist(write(tmp_path, "# only a comment\n\n"))
    with pytest.raises(InputError, match="empty"):
        Graph.from_edgelist(write(tmp_path, ""))
    with pytest.raises(InputError, match="no such file"):
        Graph.from_edgelist(tmp_path / "missing.txt")


def test_from_edges_rejects_bad_weights():
    with pytest.raises(InputError, match="finite"):
        Graph.from_edges(["a"], ["b"], [np.nan])
    with pytest.raises(InputError, match="finite"):
        Graph.from_edges(["a"], ["b"], [-1.0])


def test_networkx_round_trip():
    G = nx.Graph()
    G.add_nodes_from(["iso", 1, 2, 3])
    G.add_weighted_edges_from([(1, 2, 0.5), (2, 3, 2.0), (3, 3, 1.5)])
    g = Graph.from_networkx(G)
    assert g.vocab.keys.tolist() == ["iso", "1", "2", "3"] and g.weighted and not g.directed
    assert g.n_edges == G.number_of_edges() == 3
    H = g.to_networkx()
    assert set(H.nodes()) == {"iso", "1", "2", "3"}
    assert {(min(a, b), max(a, b), d["weight"]) for a, b, d in H.edges(data=True)} == \
        {("1", "2", 0.5), ("2", "3", 2.0), ("3", "3", 1.5)}
    D = nx.DiGraph([("a", "b"), ("b", "c")])
    gd = Graph.from_networkx(D)
    assert gd.directed and not gd.weighted and gd.neighbors("b") == ["c"] and gd.neighbors("c") == []


def test_scipy_round_trip():
    m = sparse.csr_matrix(np.array([[0, 1, 0, 0], [1, 2, 3, 0], [0, 3, 0, 0], [0, 0, 0, 0]], dtype=float))
    g = Graph.from_scipy(m, keys=list("abcd"))
    assert not g.directed and g.weighted and g.degree("d") == 0 and g.n_edges == 3
    assert (g.to_scipy() != m).nnz == 0
    d = sparse.csr_matrix(np.array([[0, 1], [0, 0]], dtype=float))
    gd = Graph.from_scipy(d)
    assert gd.directed and (gd.to_scipy() != d).nnz == 0


def test_edgelist_round_trip_is_atomic_and_exact(tmp_path):
    g = Graph.from_edges(["a", "b", "c", "c"], ["b", "c", "a", "c"], [0.1, 2.0, 3.25, 1.0])
    out = tmp_path / "e.tsv"
    g.to_edgelist(out)
    assert all(len(line.split("\t")) == 3 for line in out.read_text().splitlines())
    assert Graph.from_edgelist(out) == g
    bad = Graph.from_edges(["a b"], ["c"])
    with pytest.raises(InputError):
        bad.to_edgelist(tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()


def test_remove_edges_and_subgraph():
    g = Graph.from_edges(["a", "a", "b", "c"], ["b", "c", "c", "d"])
    h = g.remove_edges(["b", "d"], ["a", "c"])
    assert h.n_nodes == 4 and h.n_edges == 2 and h.neighbors("a") == ["c"] and h.neighbors("d") == []
    s = g.subgraph(["c", "a", "b"])
    assert s.vocab.keys.tolist() == ["c", "a", "b"] and s.n_edges == 3 and not s.directed
    with pytest.raises(InputError):
        g.subgraph(["zz"])


def test_blogcatalog_reads_fast(shared_data):
    path = shared_data / "blogcatalog" / "edges.csv"
    Graph.from_edgelist(path)  # warm the page cache
    # CPU time, not wall time: the test machine's cores are shared
    t = time.process_time()
    g = Graph.from_edgelist(path)
    seconds = time.process_time() - t
    assert g.n_nodes == 10312 and g.n_edges == 333983 and not g.weighted
    assert len(g.indices) == 2 * 333983
    assert seconds < 1.5, f"reading BlogCatalog took {seconds:.2f} s of CPU"  # ~0.5 s on an idle core


def test_docs_graphs_md_examples_run():
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "graphs.md"
    result = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10


@pytest.mark.parametrize("module", ["recembed.graphs.graph", "recembed.graphs.item_graph", "recembed.walks.engine",
                                    "recembed.models.deepwalk", "recembed.models.node2vec"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_edge_list_fields_are_stripped_and_quotes_are_plain_characters(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("a ,b\nb,c \n")
    assert Graph.from_edgelist(p).vocab.keys.tolist() == ["a", "b", "c"]
    q = tmp_path / "q.txt"
    q.write_text('"x y\nb c\nd e\n')  # a stray quote must not swallow the next lines
    g = Graph.from_edgelist(q)
    assert g.n_edges == 3 and '"x' in g.vocab.keys.tolist()


def test_a_missing_node_id_is_a_clear_error(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("a,b\n,c\n")
    with pytest.raises(InputError, match=r"e.csv:2:"):
        Graph.from_edgelist(p)
    with pytest.raises(InputError, match="missing node id"):
        Graph.from_edges(["a", None], ["b", "c"])


def test_subgraph_rejects_repeated_ids():
    g = Graph.from_edges(["a", "b", "c"], ["b", "c", "a"])
    assert g.subgraph(["a", "b"]).n_edges == 1
    with pytest.raises(InputError, match="more than once"):
        g.subgraph(["a", "a", "b"])
    with pytest.raises(InputError, match="node 'b' is listed more than once"):
        g.subgraph(["b", "c", "b"])
    with pytest.raises(InputError, match="node 'c'"):
        g.subgraph(["c", "c"])


def test_an_id_with_a_quote_round_trips_through_an_edge_list(tmp_path):
    g = Graph.from_edges(['a"b', "c"], ["c", "'d"])
    p = tmp_path / "e.tsv"
    g.to_edgelist(p)
    assert Graph.from_edgelist(p).vocab.keys.tolist() == ['a"b', "c", "'d"]


def test_count_repeats_weights_edges_by_how_often_they_are_listed(tmp_path):
    p = write(tmp_path, "a b 5\nb a 1\na b 2\nb c 1\n")
    g = Graph.from_edgelist(p, weighted="count")  # weights in the file ignored
    assert g.weighted and g.edge_weight("a", "b") == 3.0 and g.edge_weight("b", "c") == 1.0
    d = Graph.from_edgelist(p, directed=True, weighted="count")
    assert d.edge_weight("a", "b") == 2.0 and d.edge_weight("b", "a") == 1.0
    with pytest.raises(InputError, match="weighted must be"):
        Graph.from_edgelist(p, weighted="sum")


def test_cli_count_repeats(tmp_path):
    from recembed.cli import main
    from recembed.embeddings import Embeddings

    p = write(tmp_path, "".join(f"{i} {(i + 1) % 30}\n{(i + 1) % 30} {i}\n" for i in range(30)))
    out = tmp_path / "o.emb"
    assert main(["embed", "deepwalk", "--input", str(p), "--output", str(out), "--count-repeats", "--dim", "8",
                 "--walks-per-node", "2", "--walk-length", "10", "--threads", "1", "-q"]) == 0
    assert Embeddings.load(out).vectors.shape == (30, 8)
