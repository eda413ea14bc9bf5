"""Readers for the public graph benchmarks: BlogCatalog, Wiki, airports, Cora, PPI.

Each reader returns a :class:`GraphDataset` (graph + ``(node, label)`` pairs, and features
for Cora) from a folder laid out as the original release. The folder is, in order: the
``path`` argument; ``$RECEMBED_DATA/<name>``; ``<repository>/../shared/data/<name>``. The
data is never bundled with the package (licences differ; see each folder's README).

Node ids are kept as the strings in the files (PPI, which has no ids, uses the row numbers
``"0".."3889"``); labels are strings too.

Examples
--------
>>> from recembed.datasets.public import load_dataset
>>> ds = load_dataset("airports-brazil")                            # doctest: +SKIP
>>> ds.graph.n_nodes, ds.n_labels                                  # doctest: +SKIP
(131, 4)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, check_readable, line_of_row

_REPO_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@dataclass
class GraphDataset:
    """A graph with node labels (and optionally node features).

    Attributes
    ----------
    name : e.g. ``"blogcatalog"``.
    graph : :class:`~recembed.graphs.graph.Graph`.
    labels : DataFrame with string columns ``node`` and ``label``, one row per membership.
    multilabel : whether a node may have several labels.
    features : :class:`~recembed.Embeddings` of node features (Cora's bag of words), or ``None``.
    """

    name: str
    graph: object
    labels: pd.DataFrame
    multilabel: bool
    features: object = None

    @property
    def n_labels(self) -> int:
        return int(self.labels["label"].nunique())

    def label_map(self) -> dict:
        """``node -> [labels]``."""
        return self.labels.groupby("node", sort=False)["label"].agg(list).to_dict()

    def __repr__(self) -> str:
        extra = f", features {self.features.dim}" if self.features is not None else ""
        kind = "multi-label" if self.multilabel else "single-label"
        return f"GraphDataset({self.name!r}, {self.graph!r}, {self.n_labels} labels, {kind}{extra})"


def data_dir(name: str, path=None) -> Path:
    """The folder to read dataset ``name`` from (see the module docstring); it must exist."""
    if path is not None:
        p = Path(path)
    elif os.environ.get("RECEMBED_DATA"):
        p = Path(os.environ["RECEMBED_DATA"]) / name
    else:
        p = _REPO_DATA / name
    if not p.is_dir():
        raise InputError(f"dataset folder for {name!r} not found; pass path=... or set RECEMBED_DATA to the "
                         f"folder that holds '{name}/'", p)
    return p


def _file(folder: Path, name: str) -> Path:
    return check_readable(folder / name)


def _read_pairs(path: Path, header: bool = False, sep=r"\s+") -> pd.DataFrame:
    """Two string columns from a whitespace-separated file; bad lines raise with their number."""
    try:
        df = pd.read_csv(path, sep=sep, header=None, skiprows=1 if header else 0, dtype=str,
                         keep_default_na=False, engine="c", names=[0, 1, 2])
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"cannot parse ({e})", path) from None
    bad = (df[1] == "") | df[1].isna() | (df[2].notna() & (df[2] != ""))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError("expected two fields", path, line_of_row(path, i, int(header)))
    return df[[0, 1]]


def _label_frame(nodes, labels) -> pd.DataFrame:
    return pd.DataFrame({"node": np.asarray(nodes, dtype=object).astype(str),
                         "label": np.asarray(labels, dtype=object).astype(str)}).drop_duplicates(ignore_index=True)


def _graph_from_pairs(df: pd.DataFrame, directed: bool, nodes=None, count_repeats: bool = False):
    from ..graphs.graph import Graph

    # by default repeated lines are one edge of weight 1 (as networkx reads them); count_repeats
    # makes the weight the number of lines listing the edge (either direction when undirected)
    if not count_repeats:
        df = df.drop_duplicates()
    return Graph.from_edges(df[0].to_numpy(dtype=object), df[1].to_numpy(dtype=object), directed=directed,
                            weighted=bool(count_repeats), nodes=nodes)


def load_blogcatalog(path=None) -> GraphDataset:
    """BlogCatalog: 10,312 bloggers, 333,983 undirected friendships, 39 groups (multi-label).

    Reads ``edges.csv`` and ``group-edges.csv``, which are *space* separated despite the name.
    """
    d = data_dir("blogcatalog", path)
    edges = _read_pairs(_file(d, "edges.csv"))
    groups = _read_pairs(_file(d, "group-edges.csv"))
    nodes = None
    if (d / "nodes.csv").exists():
        nodes = pd.read_csv(d / "nodes.csv", header=None, dtype=str)[0].to_numpy(dtype=object)
    g = _graph_from_pairs(edges, directed=False, nodes=nodes)
    return GraphDataset("blogcatalog", g, _label_frame(groups[0], groups[1]), True)


def load_wiki(path=None, directed: bool = True, count_repeats: bool = False) -> GraphDataset:
    """Wiki: 2,405 pages, hyperlinks (16,523 distinct directed pairs), 17 categories (one each).

    Directed by default, as the README and the reference code (OpenNE, GraphEmbedding) read
    it; repeated lines merge into one edge of weight 1; self-loops are kept. ``count_repeats``
    weights each edge by the number of lines that list it (read undirected, a link both ways
    counts 2; weights 1-8), which scores slightly higher on wiki (docs/graphs.md).
    """
    d = data_dir("wiki", path)
    edges = _read_pairs(_file(d, "Wiki_edgelist.txt"))
    labels = _read_pairs(_file(d, "wiki_labels.txt"))
    g = _graph_from_pairs(edges, directed=directed, nodes=labels[0].to_numpy(dtype=object),
                          count_repeats=count_repeats)
    return GraphDataset("wiki", g, _label_frame(labels[0], labels[1]), False)


AIRPORTS = ("usa", "brazil", "europe")


def load_airports(country: str = "usa", path=None) -> GraphDataset:
    """Air-traffic network of ``usa``, ``brazil`` or ``europe`` (undirected), 4 activity classes.

    Reads ``<country>-airports.edgelist`` and ``labels-<country>-airports.txt`` (header
    ``node label``); self-loops in the edge list are kept.
    """
    country = country.lower()
    if country not in AIRPORTS:
        raise InputError(f"unknown airports network {country!r}; choose from {', '.join(AIRPORTS)}")
    d = data_dir("airports", path)
    edges = _read_pairs(_file(d, f"{country}-airports.edgelist"))
    lab_path = _file(d, f"labels-{country}-airports.txt")
    with lab_path.open("rb") as fh:
        first = fh.readline().split()
    labels = _read_pairs(lab_path, header=[f.lower() for f in first] == [b"node", b"label"])
    g = _graph_from_pairs(edges, directed=False, nodes=labels[0].to_numpy(dtype=object))
    return GraphDataset(f"airports-{country}", g, _label_frame(labels[0], labels[1]), False)


def load_cora(path=None, directed: bool = False) -> GraphDataset:
    """Cora: 2,708 papers, 5,429 citations, 7 classes, 1,433 binary word features.

    ``cora.cites`` lines are ``cited <TAB> citing``; a directed graph has edges
    citing -> cited. Undirected by default, as embedding papers use it (5,278 edges).
    ``features`` holds the bag-of-words vectors (float32, keys = paper ids).
    """
    from ..embeddings import Embeddings

    d = data_dir("cora", path)
    content_path = _file(d, "cora.content")
    with content_path.open("rb") as fh:
        n_fields = len(fh.readline().split(b"\t"))
    try:
        # ids and classes as strings, the 0/1 word columns as small ints: 10x faster than all-str
        content = pd.read_csv(content_path, sep="\t", header=None, engine="c",
                              dtype={i: (str if i in (0, n_fields - 1) else np.float32) for i in range(n_fields)})
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"expected 'paper_id <TAB> {n_fields - 2} numbers <TAB> class' lines ({e})",
                         content_path) from None
    if content.shape[1] < 3 or content.iloc[:, 1:-1].isna().any().any():
        raise InputError("expected 'paper_id <TAB> features... <TAB> class' lines", content_path)
    ids = content[0].to_numpy(dtype=object)
    feats = content.iloc[:, 1:-1].to_numpy(dtype=np.float32)
    cites = _read_pairs(_file(d, "cora.cites"), sep="\t")
    cites = cites[[1, 0]]  # citing -> cited
    cites.columns = [0, 1]
    g = _graph_from_pairs(cites, directed=directed, nodes=ids)
    return GraphDataset("cora", g, _label_frame(ids, content.iloc[:, -1]), False, Embeddings(ids, feats))


def load_ppi(path=None) -> GraphDataset:
    """PPI (Homo sapiens, node2vec): 3,890 proteins, 37,845 edges + 894 self-loops, 50 labels.

    Reads ``Homo_sapiens.mat`` (``network`` adjacency, ``group`` memberships) with
    :func:`scipy.io.loadmat`. Nodes are named by row number, ``"0"`` .. ``"3889"``.
    """
    from scipy import io as sio
    from scipy import sparse

    from ..graphs.graph import Graph

    d = data_dir("ppi", path)
    p = _file(d, "Homo_sapiens.mat")
    try:
        mat = sio.loadmat(p)
        network, group = mat["network"], mat["group"]
    except (KeyError, ValueError, OSError) as e:
        raise InputError(f"expected a MAT-file with 'network' and 'group' matrices ({e})", p) from None
    n = network.shape[0]
    keys = [str(i) for i in range(n)]
    g = Graph.from_scipy(sparse.csr_matrix(network), keys=keys, directed=False, weighted=False)
    gc = sparse.coo_matrix(group)
    order = np.lexsort((gc.col, gc.row))
    return GraphDataset("ppi", g, _label_frame(gc.row[order], gc.col[order]), True)


#: dataset name -> loader (``path`` is the dataset folder)
LOADERS = {
    "blogcatalog": load_blogcatalog,
    "wiki": load_wiki,
    "airports-usa": lambda path=None: load_airports("usa", path),
    "airports-brazil": lambda path=None: load_airports("brazil", path),
    "airports-europe": lambda path=None: load_airports("europe", path),
    "cora": load_cora,
    "ppi": load_ppi,
}


def load_dataset(name: str, path=None) -> GraphDataset:
    """Load a benchmark by name: one of :data:`LOADERS` (``blogcatalog``, ``wiki``,
    ``airports-usa``, ``airports-brazil``, ``airports-europe``, ``cora``, ``ppi``)."""
    key = name.lower()
    if key not in LOADERS:
        raise InputError(f"unknown dataset {name!r}; choose from {', '.join(LOADERS)}")
    return LOADERS[key](path=path)
