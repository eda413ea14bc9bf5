"""Graph: a CSR adjacency (sorted rows) over string node ids.

Policies (also in ``docs/graphs.md``):

* **Duplicates merge**: repeated edges add their weights. In an undirected graph
  ``a b 1`` and ``b a 2`` are the same edge, of weight 3. In an unweighted graph a
  repeated edge is the same edge (weight 1); ``weighted=True`` without weights makes the
  weight the number of repeats.
* **Undirected graphs store both directions**, so a row lists every neighbour.
* **Self-loops are kept and stored once** (one CSR entry ``u -> u``, also when
  undirected), so a walk at ``u`` stays at ``u`` with probability ``w_uu / sum_x w_ux``
  and ``n_edges`` counts the loop once.
* **Isolated nodes** (given through ``nodes=`` or a networkx/scipy graph, with no edge)
  are kept: they are in ``vocab`` with degree 0, and a walk started there has length 1.
* **Dead ends**: in a directed graph a walk that reaches a node without out-edges stops there.
* **Zero-weight edges are dropped** (a walk could never take them); their nodes stay.
* Rows are sorted by neighbour index, which the Node2Vec walk relies on to test
  "is ``x`` a neighbour of ``t``" by binary search.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, atomic_write, check_readable
from ..data.vocab import Vocab

_MAX_NODES = 2**31 - 1


class Graph:
    """A directed or undirected, weighted or unweighted graph in CSR form.

    Parameters
    ----------
    indptr : int64 array of ``n_nodes + 1`` row boundaries.
    indices : int32 array, the neighbour index of each stored edge, sorted within a row.
    weights : float32 array, one positive weight per stored edge.
    vocab : :class:`~recembed.Vocab` of node ids (counts are out-degrees).
    directed : bool
    weighted : bool; whether weights carry information (``False``: all weights are 1).

    Use the constructors (:meth:`from_edgelist`, :meth:`from_edges`, :meth:`from_scipy`,
    :meth:`from_networkx`), which merge duplicates and sort rows.

    Examples
    --------
    >>> g = Graph.from_edges(["a", "a", "b"], ["b", "c", "c"])
    >>> g.n_nodes, g.n_edges, sorted(g.neighbors("a"))
    (3, 3, ['b', 'c'])
    >>> g.degree("c")
    2
    """

    def __init__(self, indptr, indices, weights, vocab: Vocab, directed: bool = False, weighted: bool | None = None):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.vocab = vocab
        self.directed = bool(directed)
        if weighted is None:
            weighted = bool(len(self.weights)) and not bool(np.all(self.weights == 1))
        self.weighted = bool(weighted)
        if len(self.indptr) != len(vocab) + 1 or self.indptr[0] != 0 or self.indptr[-1] != len(self.indices):
            raise ValueError("indptr must have n_nodes + 1 entries, from 0 to len(indices)")
        if len(self.weights) != len(self.indices):
            raise ValueError("need one weight per edge")

    # -- constructors -------------------------------------------------------
    @classmethod
    def from_edges(cls, src, dst, weight=None, directed: bool = False, weighted: bool | None = None,
                   nodes=None) -> "Graph":
        """From arrays of node ids (any hashable; kept as strings) and optional weights.

        ``nodes`` lists extra node ids (kept as isolated nodes when they have no edge);
        node order is ``nodes`` first, then first appearance in ``src``/``dst``.
        """
        src = np.asarray(src, dtype=object).ravel()
        dst = np.asarray(dst, dtype=object).ravel()
        if len(src) != len(dst):
            raise InputError(f"src and dst differ in length ({len(src)} vs {len(dst)})")
        missing = pd.isna(src) | pd.isna(dst)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InputError(f"edge {i} ({src[i]!r} -> {dst[i]!r}) has a missing node id")
        w = None
        if weight is not None:
            w = np.asarray(weight, dtype=np.float64).ravel()
            if len(w) != len(src):
                raise InputError(f"need one weight per edge ({len(w)} weights, {len(src)} edges)")
            bad = ~np.isfinite(w) | (w < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"edge {i} ({src[i]} -> {dst[i]}) has weight {w[i]!r}; weights must be finite and >= 0")
        extra = np.asarray([] if nodes is None else list(nodes), dtype=object)
        # interleave src/dst so node order follows first appearance along the edge list
        both = np.empty(2 * len(src), dtype=object)
        both[0::2], both[1::2] = src, dst
        allkeys = np.concatenate([extra, both]) if len(extra) else both
        if pd.api.types.infer_dtype(allkeys, skipna=False) != "string":  # ids read from a file already are
            allkeys = pd.Series(allkeys, dtype=object).astype(str).to_numpy(dtype=object)
        codes, uniques = pd.factorize(allkeys)
        codes = codes[len(extra):]
        if len(uniques) > _MAX_NODES:
            raise InputError(f"{len(uniques)} nodes: more than int32 indices can address")
        return cls._from_codes(codes[0::2], codes[1::2], w, np.asarray(uniques, dtype=object), directed, weighted)

    @classmethod
    def _from_codes(cls, s, d, w, keys, directed, weighted, symmetrize: bool | None = None) -> "Graph":
        """Build CSR from int codes: symmetrise, merge duplicates, drop zero weights, sort rows."""
        from scipy import sparse

        n = len(keys)
        s = np.asarray(s, dtype=np.int64)
        d = np.asarray(d, dtype=np.int64)
        if weighted is None:
            weighted = w is not None and bool(np.any(w != 1))
        if w is None or not weighted:
            # weighted=True without weights: duplicates count (weight = multiplicity)
            w = np.ones(len(s), dtype=np.float64)
        if (not directed) if symmetrize is None else symmetrize:
            off = s != d  # a self-loop is stored once, not twice
            s, d, w = np.concatenate([s, d[off]]), np.concatenate([d, s[off]]), np.concatenate([w, w[off]])
        m = sparse.coo_matrix((w, (s, d)), shape=(n, n)).tocsr()
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        if not weighted:
            m.data[:] = 1.0  # an unweighted graph: a repeated edge is the same edge
        vocab = Vocab(keys, np.diff(m.indptr).astype(np.int64))
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32), vocab,
                   directed, bool(weighted))

    @classmethod
    def from_edgelist(cls, path, directed: bool = False, weighted: bool | str | None = None,
                      nodes=None) -> "Graph":
        """Read ``src dst [weight]`` lines, separated by whitespace or by commas.

        ``#`` starts a comment (to the end of the line); blank lines are skipped; ids are
        kept as given (``"007"`` stays ``"007"``). The separator is taken from the first
        data line (a comma there: comma separated). ``weighted=None`` reads weights when
        the file has a third column, ``False`` ignores them, ``True`` requires them, and
        ``"count"`` ignores them and weights each edge by the number of lines that list it
        (undirected: either way round, so a link listed both ways weighs 2).

        Raises :class:`InputError` with ``file:line`` for a line without two ids, with
        more than three fields, or with a weight that is not a finite number >= 0, and
        for a file without edges.
        """
        if weighted not in (None, True, False, "count"):
            raise InputError(f"weighted must be None, True, False or 'count', got {weighted!r}")
        count = weighted == "count"
        if count:
            weighted = False  # parse as unweighted; the repeats become the weights below
        p = check_readable(path)
        sep = _sniff_sep(p)
        # quotes are ordinary characters in an edge list (a stray '"' must not swallow lines)
        kw = dict(header=None, names=[0, 1, 2, 3], dtype=str, comment="#", skip_blank_lines=True,
                  keep_default_na=False, na_values=[""], engine="c", quoting=csv.QUOTE_NONE)
        if sep == ",":
            kw.update(sep=",", skipinitialspace=True)
        else:
            kw.update(sep=r"\s+")
        try:
            df = pd.read_csv(p, **kw)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError):
            _raise_first_bad_line(p, sep, weighted)
            raise InputError("cannot parse edge list", p) from None
        if len(df) == 0:
            raise InputError("no edges in file", p)
        if sep == ",":  # "a ,b" and "a,b " name the nodes a and b, as the slow path reads them
            for c in (0, 1, 2, 3):
                df[c] = df[c].str.strip().replace("", np.nan)
        src, dst = df[0].to_numpy(dtype=object), df[1].to_numpy(dtype=object)
        has_w = df[2].notna().to_numpy()
        problem = pd.isna(src).any() or pd.isna(dst).any() or df[3].notna().any()
        if weighted is None:
            weighted = bool(has_w.any())
        w = None
        if weighted:
            if not has_w.all():
                problem = True
            else:
                w = pd.to_numeric(df[2], errors="coerce").to_numpy(dtype=np.float64)
                problem = problem or bool((~np.isfinite(w) | (w < 0)).any())
        if problem:
            _raise_first_bad_line(p, sep, weighted)
            raise InputError("malformed edge list", p)
        del df
        if count:
            return cls.from_edges(src, dst, None, directed=directed, weighted=True, nodes=nodes)
        return cls.from_edges(src, dst, w, directed=directed, weighted=weighted, nodes=nodes)

    @classmethod
    def from_scipy(cls, matrix, keys=None, directed: bool | None = None, weighted: bool | None = None) -> "Graph":
        """From a square scipy sparse matrix (entry ``(i, j)`` = weight of edge ``i -> j``).

        ``keys`` names the nodes (default ``"0".."n-1"``); every row is a node, so empty rows
        are isolated nodes. ``directed=None`` means undirected when the matrix is symmetric.
        An undirected graph reads the upper triangle (incl. the diagonal) only.
        """
        from scipy import sparse

        m = sparse.csr_matrix(matrix)
        if m.shape[0] != m.shape[1]:
            raise InputError(f"adjacency matrix must be square, got {m.shape}")
        n = m.shape[0]
        keys = np.asarray([str(i) for i in range(n)] if keys is None else [str(k) for k in keys], dtype=object)
        if len(keys) != n:
            raise InputError(f"{len(keys)} keys for a {n} x {n} matrix")
        if len(set(keys.tolist())) != n:
            raise InputError("keys are not unique")
        if directed is None:
            directed = (m != m.T).nnz != 0
        coo = m.tocoo() if directed else sparse.triu(m).tocoo()
        w = coo.data.astype(np.float64)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"entry ({coo.row[i]}, {coo.col[i]}) is {w[i]!r}; weights must be finite and >= 0")
        return cls._from_codes(coo.row, coo.col, w, keys, directed, weighted)

    @classmethod
    def from_networkx(cls, G, weight: str = "weight", weighted: bool | None = None) -> "Graph":
        """From a networkx (Multi)(Di)Graph; node order and isolated nodes are kept.

        ``weighted=None``: weighted when any edge has the ``weight`` attribute (others count 1).
        """
        nodes = list(G.nodes())
        idx = {n: i for i, n in enumerate(nodes)}
        m = G.number_of_edges()
        s = np.empty(m, dtype=np.int64)
        d = np.empty(m, dtype=np.int64)
        w = np.empty(m, dtype=np.float64)
        has = False
        for i, (a, b, data) in enumerate(G.edges(data=True)):
            s[i], d[i] = idx[a], idx[b]
            x = data.get(weight)
            has |= x is not None
            w[i] = 1.0 if x is None else float(x)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise InputError(f"edge {int(np.flatnonzero(bad)[0])} has weight {w[bad][0]!r}; weights must be finite and >= 0")
        keys = np.asarray([str(n) for n in nodes], dtype=object)
        if len(set(keys.tolist())) != len(keys):
            raise InputError("node ids are not unique as strings")
        if weighted is None:
            weighted = has
        return cls._from_codes(s, d, w, keys, G.is_directed(), weighted)

    # -- views ---------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.vocab)

    @property
    def n_edges(self) -> int:
        """Distinct edges; an undirected edge (and any self-loop) counts once."""
        if self.directed:
            return len(self.indices)
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        loops = int(np.count_nonzero(rows == self.indices))
        return (len(self.indices) + loops) // 2

    @property
    def keys(self) -> np.ndarray:
        return self.vocab.keys

    def degree(self, key=None, weighted: bool = False):
        """Out-degree (number of neighbours; a self-loop counts once) of ``key``, or of every node.

        With ``weighted`` the sum of out-edge weights instead.
        """
        if weighted:
            rows = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
            deg = np.bincount(rows, weights=self.weights.astype(np.float64), minlength=self.n_nodes)
        else:
            deg = np.diff(self.indptr)
        if key is None:
            return deg
        v = deg[self.vocab[key]]
        return float(v) if weighted else int(v)

    def neighbors(self, key) -> list:
        """Out-neighbour ids of ``key`` (in index order)."""
        i = self.vocab[key]
        return self.vocab.keys[self.indices[self.indptr[i]:self.indptr[i + 1]]].tolist()

    def edge_weight(self, a, b) -> float:
        """Weight of edge ``a -> b`` (0 when absent)."""
        i, j = self.vocab[a], self.vocab[b]
        row = self.indices[self.indptr[i]:self.indptr[i + 1]]
        k = int(np.searchsorted(row, j))
        return float(self.weights[self.indptr[i] + k]) if k < len(row) and row[k] == j else 0.0

    def edges(self):
        """``(src, dst, weight)`` index arrays, each undirected edge once (``src <= dst``)."""
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int32), np.diff(self.indptr))
        if self.directed:
            return rows, self.indices.copy(), self.weights.copy()
        keep = rows <= self.indices
        return rows[keep], self.indices[keep], self.weights[keep]

    def __repr__(self) -> str:
        kind = ("directed" if self.directed else "undirected") + (", weighted" if self.weighted else "")
        return f"Graph({self.n_nodes} nodes, {self.n_edges} edges, {kind})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Graph) and self.directed == other.directed and self.weighted == other.weighted
                and bool(np.all(self.vocab.keys == other.vocab.keys)) and np.array_equal(self.indptr, other.indptr)
                and np.array_equal(self.indices, other.indices) and np.array_equal(self.weights, other.weights))

    # -- conversion ----------------------------------------------------------
    def to_scipy(self):
        """``scipy.sparse.csr_matrix`` of shape ``(n_nodes, n_nodes)`` (shares no memory)."""
        from scipy import sparse

        return sparse.csr_matrix((self.weights.copy(), self.indices.copy(), self.indptr.copy()),
                                 shape=(self.n_nodes, self.n_nodes))

    def to_networkx(self):
        import networkx as nx

        G = nx.DiGraph() if self.directed else nx.Graph()
        G.add_nodes_from(self.vocab.keys.tolist())
        s, d, w = self.edges()
        k = self.vocab.keys
        if self.weighted:
            G.add_weighted_edges_from(zip(k[s].tolist(), k[d].tolist(), w.astype(float).tolist()))
        else:
            G.add_edges_from(zip(k[s].tolist(), k[d].tolist()))
        return G

    def to_edgelist(self, path, weights: bool | None = None, sep: str = "\t") -> None:
        """Write ``src<sep>dst[<sep>weight]`` lines atomically (undirected edges once).

        ``weights=None`` writes weights when the graph is weighted. Isolated nodes are not
        written (an edge list cannot hold them).
        """
        bad = [k for k in self.vocab.keys.tolist() if not k or any(c.isspace() or c in ",#" for c in k)]
        if bad:
            raise InputError(f"node id {bad[0]!r} is empty or holds whitespace, ',' or '#'; an edge list cannot hold it")
        s, d, w = self.edges()
        k = self.vocab.keys
        cols = {"s": k[s], "d": k[d]}
        if self.weighted if weights is None else weights:
            cols["w"] = w
        with atomic_write(path, "w") as fh:
            # the reader takes quotes literally, so the writer must not add any ('a"b' stays 'a"b')
            pd.DataFrame(cols).to_csv(fh, sep=sep, header=False, index=False, float_format="%.9g",
                                      quoting=csv.QUOTE_NONE)

    # -- editing (link prediction splits) ------------------------------------
    def remove_edges(self, src, dst) -> "Graph":
        """A copy without the given edges (ids); undirected edges go in both directions.

        All nodes stay, so a node can become isolated. Unknown ids raise :class:`InputError`.
        """
        s = self._codes(src)
        d = self._codes(dst)
        n = np.int64(self.n_nodes)
        drop = s * n + d
        if not self.directed:
            drop = np.concatenate([drop, d * n + s])
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        keep = ~np.isin(rows * n + self.indices, drop)
        return self._select(keep, rows)

    def subgraph(self, keys) -> "Graph":
        """The subgraph induced by ``keys`` (their order kept; unknown or repeated ids raise)."""
        codes = self._codes(keys)
        if len(np.unique(codes)) != len(codes):
            dup = self.vocab.keys[np.flatnonzero(np.bincount(codes) > 1)[0]]
            raise InputError(f"node {dup!r} is listed more than once")
        new = np.full(self.n_nodes, -1, dtype=np.int64)
        new[codes] = np.arange(len(codes))
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        keep = (new[rows] >= 0) & (new[self.indices] >= 0)
        keys = self.vocab.keys[codes]
        return Graph._from_codes(new[rows[keep]], new[self.indices[keep]], self.weights[keep].astype(np.float64),
                                 keys, self.directed, self.weighted, symmetrize=False)

    def _select(self, keep, rows) -> "Graph":
        counts = np.bincount(rows[keep], minlength=self.n_nodes)
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        vocab = Vocab(self.vocab.keys, counts.astype(np.int64))
        return Graph(indptr, self.indices[keep], self.weights[keep], vocab, self.directed, self.weighted)

    def _codes(self, keys) -> np.ndarray:
        keys = np.asarray(keys, dtype=object).ravel()
        codes = self.vocab.encode([str(k) for k in keys])
        if (codes < 0).any():
            raise InputError(f"node {keys[np.flatnonzero(codes < 0)[0]]!r} is not in the graph")
        return codes.astype(np.int64)


# -- edge-list parsing helpers ----------------------------------------------------
def _sniff_sep(path: Path) -> str:
    """',' when the first data line holds a comma, else whitespace."""
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.split(b"#", 1)[0].strip()
            if line:
                return "," if b"," in line else " "
    raise InputError("no edges in file (only blank lines and comments)", path)


def _raise_first_bad_line(path: Path, sep: str, weighted: bool | None) -> None:
    """Slow path, run only once the fast reader saw a problem: find the first bad line and raise."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 ({e.reason})", path, lineno) from None
            text = text.split("#", 1)[0]
            fields = [f.strip() for f in text.split(",")] if sep == "," else text.split()
            if sep == "," and not text.strip():
                continue
            if not fields:
                continue
            if len(fields) < 2 or len(fields) > 3 or not all(fields[:2]):
                raise InputError(f"expected 'src dst [weight]', found {len(fields)} field(s): {text.strip()!r}",
                                 path, lineno)
            if weighted is False:
                continue
            if len(fields) == 2:
                if weighted:
                    raise InputError("missing weight (the edge list is weighted)", path, lineno)
                continue
            try:
                w = float(fields[2])
            except ValueError:
                raise InputError(f"weight {fields[2]!r} is not a number", path, lineno) from None
            if not np.isfinite(w) or w < 0:
                raise InputError(f"weight {fields[2]!r} must be a finite number >= 0", path, lineno)


def read_edgelist(path, directed: bool = False, weighted: bool | None = None) -> Graph:
    """Shorthand for :meth:`Graph.from_edgelist`."""
    return Graph.from_edgelist(path, directed=directed, weighted=weighted)


def _is_path(x) -> bool:
    return isinstance(x, (str, os.PathLike))
