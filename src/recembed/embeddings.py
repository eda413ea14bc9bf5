"""Embeddings: keys + a float32 matrix, the one output every recembed method returns.

Kept apart from any trainer (as gensim's ``KeyedVectors`` is), so a user keeps the
vectors and drops the training state. Formats follow the file extension:
``.txt``/``.emb``/``.vec`` word2vec text, ``.bin`` word2vec binary, ``.npz`` numpy.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ._io import InputError, atomic_write, check_readable


def _format_of(path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix == ".bin":
        return "bin"
    if suffix == ".npz":
        return "npz"
    return "text"


class Embeddings:
    """Vectors addressed by string keys.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embeddings(["a", "b", "c"], np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32))
    >>> [k for k, _ in emb.most_similar("a", k=1)]
    ['b']
    >>> round(emb.similarity("a", "c"), 3)
    0.0
    """

    def __init__(self, keys, vectors):
        self.keys = np.asarray([str(k) for k in keys], dtype=object)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.keys):
            raise ValueError(f"need a (n_keys, dim) matrix, got {self.vectors.shape} for {len(self.keys)} keys")
        self._index = None
        self._unit = None

    # -- lookups ----------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def key_to_index(self) -> dict:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys.tolist())}
            if len(self._index) != len(self.keys):
                raise ValueError("keys are not unique")
        return self._index

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key) -> bool:
        return str(key) in self.key_to_index

    def index_of(self, key) -> int:
        try:
            return self.key_to_index[str(key)]
        except KeyError:
            raise KeyError(f"key {key!r} not in embeddings") from None

    def __getitem__(self, key):
        if isinstance(key, (list, tuple, np.ndarray)):
            return self.vectors[[self.index_of(k) for k in key]]
        return self.vectors[self.index_of(key)]

    def __repr__(self) -> str:
        return f"Embeddings({len(self)} keys, dim {self.dim})"

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit L2 norm (zero rows stay zero); cached."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.where(norms > 0, norms, 1.0)
        return self._unit

    def similarity(self, a, b) -> float:
        """Cosine similarity of two keys."""
        u = self.unit_vectors
        return float(u[self.index_of(a)] @ u[self.index_of(b)])

    def most_similar(self, key_or_vector, k: int = 10, exclude=None) -> list[tuple[str, float]]:
        """The ``k`` keys with the highest cosine similarity, best first.

        A key query excludes the key itself; ``exclude`` names more keys to leave out.
        """
        if k <= 0:
            raise InputError(f"k must be > 0, got {k}")
        skip = set()
        if isinstance(key_or_vector, (str, int, np.integer)) and not isinstance(key_or_vector, bool):
            i = self.index_of(key_or_vector)
            query = self.unit_vectors[i]
            skip.add(i)
        else:
            query = np.asarray(key_or_vector, dtype=np.float32).ravel()
            if query.shape[0] != self.dim:
                raise InputError(f"query vector has length {query.shape[0]}, embeddings have dim {self.dim}")
            n = np.linalg.norm(query)
            query = query / n if n > 0 else query
        for e in exclude or ():
            if e in self:
                skip.add(self.index_of(e))
        scores = self.unit_vectors @ query
        if skip:
            scores[list(skip)] = -np.inf
        kk = min(k, len(self) - len(skip))
        if kk <= 0:
            return []
        top = np.argpartition(-scores, kk - 1)[:kk]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.keys[i], float(scores[i])) for i in top]

    # -- combination ------------------------------------------------------
    def concat(self, other: "Embeddings") -> "Embeddings":
        """Side-by-side features: rows of the keys both share, ``[self | other]``."""
        common = [k for k in self.keys.tolist() if k in other]
        return Embeddings(common, np.hstack([self[common], other[common]]))

    def subset(self, keys) -> "Embeddings":
        keys = [str(k) for k in keys]
        return Embeddings(keys, self[keys])

    # -- persistence ------------------------------------------------------
    def save(self, path, format: str | None = None) -> None:
        """Save atomically; ``format`` is ``text``, ``bin`` or ``npz`` (default: from the extension)."""
        fmt = _format_of(path, format)
        if fmt not in ("text", "bin", "npz"):
            raise InputError(f"unknown embeddings format {fmt!r} (text, bin, npz)")
        if fmt == "npz":
            with atomic_write(path, "wb") as fh:
                np.savez(fh, keys=self.keys.astype(str), vectors=self.vectors)
            return
        bad = [k for k in self.keys.tolist() if not k or any(c.isspace() for c in k)]
        if bad:
            raise InputError(f"key {bad[0]!r} is empty or has whitespace; word2vec formats cannot hold it (use .npz)")
        header = f"{len(self)} {self.dim}\n".encode()
        with atomic_write(path, "wb") as fh:
            fh.write(header)
            if fmt == "bin":
                vecs = self.vectors.astype("<f4")
                for key, row in zip(self.keys.tolist(), vecs):
                    fh.write(key.encode("utf-8") + b" " + row.tobytes() + b"\n")
            elif fmt == "text" and not any('"' in k for k in self.keys.tolist()):
                self._write_text_arrow(fh)
            elif fmt == "text":
                buf = io.StringIO()
                body = np.char.add(self.keys.astype(str), " ") if len(self) else np.zeros(0, dtype=str)
                # the slow path, for keys Arrow would have to quote; 9 significant digits identify
                # a float32 exactly, so text round-trips bit for bit (word2vec.c's 6 decimals do not)
                np.savetxt(buf, self.vectors, fmt="%.9g", delimiter=" ")
                rows = buf.getvalue().split("\n")[: len(self)]
                fh.write("\n".join(k + r for k, r in zip(body.tolist(), rows)).encode("utf-8"))
                if len(self):
                    fh.write(b"\n")
            else:
                raise InputError(f"unknown embeddings format {fmt!r} (text, bin, npz)")

    def _write_text_arrow(self, fh) -> None:
        """Rows ``key v1 ... vd`` through Arrow's CSV writer: C++ speed, and the shortest
        decimal that reads back as the same float32, so text round-trips bit for bit."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        columns = {"key": pa.array(self.keys.tolist(), pa.string())}
        columns.update({f"v{j}": pa.array(self.vectors[:, j]) for j in range(self.dim)})
        pcsv.write_csv(pa.table(columns), fh,
                       pcsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none"))

    @staticmethod
    def _read_text_arrow(body: bytes, n: int, dim: int):
        """Fast path for a well-formed text body; None when Arrow cannot read it as
        ``n`` rows of a key and ``dim`` numbers (the line-by-line reader then names the problem)."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        types = {"f0": pa.string(), **{f"f{j}": pa.float32() for j in range(1, dim + 1)}}
        try:
            table = pcsv.read_csv(
                pa.py_buffer(body), read_options=pcsv.ReadOptions(autogenerate_column_names=True),
                parse_options=pcsv.ParseOptions(delimiter=" ", quote_char=False),
                convert_options=pcsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        extra = table.column_names[dim + 1:]
        # word2vec.c ends every line with a space: one trailing all-empty column is fine
        if len(extra) > 1 or (extra and set(table.column(extra[0]).to_pylist()) != {""}):
            return None
        if table.num_rows != n or table.num_columns < dim + 1:
            return None
        keys = table.column(0).to_pylist()
        if any(not k for k in keys):
            return None
        rows = np.empty((n, dim), dtype=np.float32)
        for j in range(dim):
            rows[:, j] = table.column(j + 1).to_numpy()
        return keys, rows

    @classmethod
    def load(cls, path, format: str | None = None) -> "Embeddings":
        """Load from word2vec text/binary (as written by word2vec.c, gensim or :meth:`save`) or ``.npz``."""
        p = check_readable(path)
        fmt = _format_of(p, format)
        if fmt == "npz":
            try:
                with np.load(p, allow_pickle=False) as z:
                    return cls(z["keys"].tolist(), z["vectors"])
            except (KeyError, ValueError, OSError) as e:
                raise InputError(f"not a recembed .npz embeddings file ({e})", p) from None
        data = p.read_bytes()
        nl = data.find(b"\n")
        if nl < 0:
            nl = len(data)
        try:
            n, dim = (int(x) for x in data[:nl].split())
        except ValueError:
            raise InputError("first line must be 'n_keys dim'", p, 1) from None
        if n < 0 or dim <= 0:
            raise InputError(f"first line must be 'n_keys dim' with dim > 0, got {n} {dim}", p, 1)
        try:
            keys, rows = cls._parse_bin(data, nl, n, dim, p) if fmt == "bin" else cls._parse_text(data, nl, n, dim, p)
        except UnicodeDecodeError as e:
            raise InputError(f"a key is not valid UTF-8 ({e.reason})", p) from None
        if len(set(keys)) != len(keys):
            seen = set()
            dup = next(k for k in keys if k in seen or seen.add(k))
            raise InputError(f"key {dup!r} appears more than once", p)
        return cls(keys, rows)

    @staticmethod
    def _parse_bin(data: bytes, nl: int, n: int, dim: int, p):
        keys, rows, pos = [], np.empty((n, dim), dtype=np.float32), nl + 1
        width = 4 * dim
        for i in range(n):
            sp = data.find(b" ", pos)
            if sp < 0 or sp + 1 + width > len(data):
                raise InputError(f"truncated binary file at vector {i + 1} of {n}", p)
            # word2vec.c ends each vector with "\n", gensim does not: accept both
            keys.append(data[pos:sp].decode("utf-8").lstrip("\n"))
            rows[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=sp + 1)
            pos = sp + 1 + width
            if pos < len(data) and data[pos:pos + 1] == b"\n":
                pos += 1
        return keys, rows

    @classmethod
    def _parse_text(cls, data: bytes, nl: int, n: int, dim: int, p):
        fast = cls._read_text_arrow(data[nl + 1:], n, dim) if n else None
        if fast is not None:
            return fast
        # split on "\n" only (not str.splitlines) so reported line numbers match an editor's
        lines = data[nl + 1:].decode("utf-8").split("\n")
        numbered = [(i + 2, ln) for i, ln in enumerate(lines) if ln.strip()]
        if len(numbered) != n:
            raise InputError(f"header says {n} vectors, file has {len(numbered)}", p)
        keys, rows = [], np.empty((n, dim), dtype=np.float32)
        for i, (lineno, ln) in enumerate(numbered):
            parts = ln.split()
            if len(parts) != dim + 1:
                raise InputError(f"expected a key and {dim} numbers, found {len(parts)} fields", p, lineno)
            keys.append(parts[0])
            try:
                rows[i] = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise InputError("non-numeric vector value", p, lineno) from None
        return keys, rows
