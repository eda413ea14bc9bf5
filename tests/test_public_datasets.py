"""The benchmark readers on the real files in ../shared/data: counts as their READMEs state."""
import numpy as np
import pytest

from recembed import InputError
from recembed.datasets.public import (LOADERS, data_dir, load_airports, load_blogcatalog, load_cora, load_dataset,
                                      load_ppi, load_wiki)


def _label_stats(ds):
    per_node = ds.labels.groupby("node").size()
    return len(ds.labels), ds.n_labels, int(per_node.max()), len(per_node)


def _self_loops(g):
    s, d, _ = g.edges()
    return int(np.count_nonzero(s == d))


def test_blogcatalog(shared_data):
    ds = load_blogcatalog(shared_data / "blogcatalog")
    g = ds.graph
    assert (g.n_nodes, g.n_edges, g.directed, g.weighted) == (10_312, 333_983, False, False)
    assert _self_loops(g) == 0
    # 14,476 memberships, 39 groups, at most 11 per node, every node labelled
    assert _label_stats(ds) == (14_476, 39, 11, 10_312)
    assert ds.multilabel
    assert sorted(ds.labels["label"].unique(), key=int) == [str(i) for i in range(1, 40)]
    assert g.neighbors("1")[:1] and "1" in g.vocab  # ids kept as the strings in the file


def test_wiki_directed_as_the_readme_says(shared_data):
    ds = load_wiki(shared_data / "wiki")
    g = ds.graph
    # 17,981 lines, 1,458 repeats merged: 16,523 distinct directed pairs (1,165 self-loops), weight 1
    assert (g.n_nodes, g.n_edges, g.directed, g.weighted) == (2_405, 16_523, True, False)
    assert _self_loops(g) == 1_165
    assert _label_stats(ds) == (2_405, 17, 1, 2_405)
    sizes = ds.labels["label"].value_counts()
    assert sizes["1"] == 406 and sizes["12"] == 9
    und = load_wiki(shared_data / "wiki", directed=False).graph
    assert und.n_edges == 11_596 + 1_165


@pytest.mark.parametrize("country, nodes, edges, loops, sizes", [
    ("brazil", 131, 1_074, 71, [32, 32, 32, 35]),
    ("europe", 399, 5_995, 2, [99, 99, 99, 102]),
    ("usa", 1_190, 13_599, 0, [297, 297, 297, 299]),
])
def test_airports(shared_data, country, nodes, edges, loops, sizes):
    ds = load_airports(country, shared_data / "airports")
    g = ds.graph
    assert (g.n_nodes, g.n_edges, g.directed) == (nodes, edges, False)
    assert _self_loops(g) == loops
    assert ds.labels.groupby("label").size().sort_index().tolist() == sizes
    assert "node" not in ds.labels["node"].values  # the header line is not a node
    assert set(ds.labels["node"]) == set(g.keys.tolist())


def test_cora_graph_labels_features(shared_data):
    ds = load_cora(shared_data / "cora")
    g = ds.graph
    assert (g.n_nodes, g.n_edges, g.directed) == (2_708, 5_278, False)
    sizes = ds.labels["label"].value_counts().to_dict()
    assert sizes == {"Neural_Networks": 818, "Probabilistic_Methods": 426, "Genetic_Algorithms": 418,
                     "Theory": 351, "Case_Based": 298, "Reinforcement_Learning": 217, "Rule_Learning": 180}
    assert ds.features.vectors.shape == (2_708, 1_433)
    assert int(ds.features.vectors.sum()) == 49_216
    directed = load_cora(shared_data / "cora", directed=True).graph
    assert directed.n_edges == 5_429
    # "35 <TAB> 1033" means 1033 cites 35: the directed edge runs citing -> cited
    assert directed.edge_weight("1033", "35") == 1 and directed.edge_weight("35", "1033") == 0


def test_ppi(shared_data):
    ds = load_ppi(shared_data / "ppi")
    g = ds.graph
    assert (g.n_nodes, g.directed) == (3_890, False)
    assert _self_loops(g) == 894
    assert g.n_edges == 37_845 + 894
    assert len(g.indices) == 76_584  # stored entries: both directions, loops once
    assert _label_stats(ds) == (6_640, 50, 10, 3_890)
    assert ds.multilabel


def test_load_dataset_by_name_and_env(shared_data, monkeypatch):
    monkeypatch.setenv("RECEMBED_DATA", str(shared_data))
    assert set(LOADERS) == {"blogcatalog", "wiki", "airports-usa", "airports-brazil", "airports-europe", "cora", "ppi"}
    ds = load_dataset("airports-brazil")
    assert ds.name == "airports-brazil" and ds.graph.n_nodes == 131
    assert data_dir("wiki") == shared_data / "wiki"


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RECEMBED_DATA", str(tmp_path))
    with pytest.raises(InputError, match="RECEMBED_DATA"):
        load_dataset("wiki")
    (tmp_path / "wiki").mkdir()
    with pytest.raises(InputError, match="Wiki_edgelist.txt: no such file"):
        load_wiki()
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("karate")
    with pytest.raises(InputError, match="unknown airports"):
        load_airports("mars", tmp_path)


def _folder(tmp_path, name, files):
    """A dataset folder ``tmp_path/name`` holding ``files`` (file name -> text)."""
    d = tmp_path / name
    d.mkdir()
    for file, text in files.items():
        (d / file).write_text(text)
    return d


def test_malformed_file_names_the_line(tmp_path):
    d = _folder(tmp_path, "wiki", {"Wiki_edgelist.txt": "0 1\n1 2 3\n", "wiki_labels.txt": "0 a\n1 b\n2 c\n"})
    with pytest.raises(InputError, match=r"Wiki_edgelist.txt:2: expected two fields"):
        load_wiki(d)
    # blank lines before the bad one do not shift its number
    (d / "Wiki_edgelist.txt").write_text("0 1\n\n\n1 2\n2 0 5\n")
    with pytest.raises(InputError, match=r"Wiki_edgelist.txt:5: expected two fields"):
        load_wiki(d)
    # tab-separated too: pandas skips a line of spaces, the count follows it
    c = _folder(tmp_path, "cora", {"cora.cites": "1\t2\n   \n5\n2\t3\n", "cora.content": "1\t0\ta\n2\t1\tb\n3\t0\ta\n"})
    with pytest.raises(InputError, match=r"cora.cites:3: expected two fields"):
        load_cora(c)


def test_wiki_can_weight_edges_by_how_often_they_are_listed(tmp_path):
    d = _folder(tmp_path, "wiki", {"Wiki_edgelist.txt": "0 1\n1 0\n0 1\n1 2\n", "wiki_labels.txt": "0 a\n1 b\n2 c\n"})
    plain = load_wiki(d, directed=False).graph
    counted = load_wiki(d, directed=False, count_repeats=True).graph
    assert not plain.weighted and plain.edge_weight("0", "1") == 1.0
    assert counted.edge_weight("0", "1") == 3.0 and counted.edge_weight("1", "2") == 1.0
    assert load_wiki(d, count_repeats=True).graph.edge_weight("0", "1") == 2.0  # directed: 0 -> 1 twice
