"""Item side information for EGES: categorical, multi-valued and bucketed numeric columns.

An item table (CSV/TSV/Parquet path or DataFrame) has one row per item: the item id
(``item_col``, by default the column named ``item`` or else the first column) and any
number of side-information columns. Each column becomes one *field* of
:class:`SideInfo`:

``categorical``
    one value per item (a category, a brand, a shop);
``multi``
    several values in one cell separated by ``sep`` (``"Action;Comedy"``); EGES pools
    them by their mean, as one field;
``numeric``
    a number, cut into ``n_buckets`` quantile buckets fitted on the training table
    (so ``price`` becomes a price band); each bucket is one value.

Kinds are inferred (a cell holding ``sep`` makes a column ``multi``; numbers with a
fractional part make it ``numeric`` unless it has at most ``n_buckets`` distinct values;
everything else, integer ids such as brand 17 or shop 3 included, is ``categorical``) and
can be overridden with ``kinds={"year": "numeric"}``; ``exclude`` drops columns.

**Reserved index.** In every field, index 0 is ``"<unk>"``: a missing cell, an empty
cell, a number that is not finite, and -- when a fitted :class:`SideInfo` encodes new
items -- a value it has never seen all map to 0. Known values are indexed from 1 in
order of frequency. :meth:`SideInfo.encode` counts how many cells of each field fell
back to 0 because their value was unseen (``unseen_counts``), so callers can warn.

Encoded items are CSR: field ``f`` of item ``i`` holds
``codes[f].indices[codes[f].indptr[i]:codes[f].indptr[i + 1]]`` (exactly one value for
categorical and numeric fields, one or more for multi fields; an empty multi cell is
the single value 0).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, check_readable

KINDS = ("categorical", "multi", "numeric")
UNKNOWN = "<unk>"
UNKNOWN_INDEX = 0


@dataclass
class FieldCodes:
    """One field's values for a list of items, in CSR form (``indptr`` int64, ``indices`` int32)."""

    indptr: np.ndarray
    indices: np.ndarray

    def values(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i]:self.indptr[i + 1]]


@dataclass
class EncodedItems:
    """What :meth:`SideInfo.encode` returns: item ids, one :class:`FieldCodes` per field, fallbacks."""

    items: np.ndarray
    fields: list
    unseen_counts: dict = field(default_factory=dict)
    missing_counts: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)


def read_item_table(table, item_col: str | None = None, sep: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read an item table as strings (``None`` for empty cells); returns it and the item column name.

    ``item_col`` defaults to ``"item"`` when present, else the first column. Item ids
    must be unique and not missing.
    """
    path = None
    if isinstance(table, pd.DataFrame):
        df = table.copy()
    else:
        path = check_readable(table)
        suffix = path.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                df = pd.read_parquet(path)
            else:
                if sep is None:
                    sep = "\t" if suffix in (".tsv", ".tab") else ","
                df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                                 index_col=False)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"cannot read item table: {e}", path) from None
    if df.shape[1] == 0 or len(df) == 0:
        raise InputError("item table is empty", path)
    if item_col is None:
        item_col = "item" if "item" in df.columns else str(df.columns[0])
    if item_col not in df.columns:
        raise InputError(f"item table has no column {item_col!r}; columns are {list(df.columns)}", path)
    ids = df[item_col]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError(f"missing item id in row {i}", path, i + 2 if path else None)
    df[item_col] = ids.astype(str).str.strip()
    dup = df[item_col].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"item {df[item_col].iloc[i]!r} appears twice in the item table", path,
                         i + 2 if path else None)
    return df.reset_index(drop=True), item_col


def _cells(col: pd.Series) -> list:
    """Cells as stripped strings, ``None`` for missing/empty; an integral float (``7.0``, what a
    missing value does to an integer column) reads as ``"7"``, so ids match however they were typed."""
    out = []
    for v in col.tolist():
        if v is None or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            s = str(v).strip()
            out.append(s if s and s.lower() not in ("nan", "none") else None)
    return out


def _split(cells: list, sep: str) -> list:
    return [[] if c is None else [t.strip() for t in c.split(sep) if t.strip()] for c in cells]


def _to_numbers(cells: list) -> np.ndarray:
    return pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


class SideInfo:
    """Fitted side-information vocabularies: one field per side-info column.

    Parameters
    ----------
    n_buckets : int
        Quantile buckets per numeric column.
    sep : str
        Separator of values in a multi-valued cell.
    kinds : dict, optional
        ``{column: kind}`` overriding inference; kind is one of ``categorical``,
        ``multi``, ``numeric``.
    exclude : list, optional
        Columns to leave out.
    item_col : str, optional
        The item id column (default: ``item`` if present, else the first column).

    Attributes
    ----------
    names : list of str
        Field (column) names, in table order.
    kinds_ : list of str
        Kind of each field.
    vocabs : list of list of str
        Values of each field; entry 0 is always ``"<unk>"``. For numeric fields the
        values are bucket labels such as ``"[10,25)"``.
    edges : list of list of float
        Inner bucket edges of each numeric field (empty for other kinds).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"item": ["a", "b", "c"], "genres": ["x;y", "y", None],
    ...                       "brand": ["p", "q", "p"], "price": [1.5, 5.25, 9.0]})
    >>> si = SideInfo(n_buckets=2).fit(table)
    >>> list(zip(si.names, si.kinds_))
    [('genres', 'multi'), ('brand', 'categorical'), ('price', 'numeric')]
    >>> si.vocabs[1]
    ['<unk>', 'p', 'q']
    >>> enc = si.encode(pd.DataFrame({"item": ["d"], "genres": ["y;z"], "brand": ["new"], "price": [2.0]}))
    >>> enc.fields[0].values(0).tolist(), enc.fields[1].values(0).tolist(), enc.unseen_counts
    ([1], [0], {'genres': 1, 'brand': 1})
    """

    def __init__(self, n_buckets: int = 10, sep: str = ";", kinds: dict | None = None, exclude=None,
                 item_col: str | None = None):
        self.n_buckets = n_buckets
        self.sep = sep
        self.kinds = dict(kinds or {})
        self.exclude = list(exclude or [])
        self.item_col = item_col
        self.names: list = []
        self.kinds_: list = []
        self.vocabs: list = []
        self.edges: list = []
        for k, v in self.kinds.items():
            if v not in KINDS:
                raise InputError(f"side-info column {k!r}: kind must be one of {KINDS}, got {v!r}")
        if not (isinstance(n_buckets, (int, np.integer)) and n_buckets >= 1):
            raise InputError(f"n_buckets must be an integer >= 1, got {n_buckets!r}")

    # -- fitting ------------------------------------------------------------------------------
    def _infer(self, cells: list) -> str | None:
        vals = [c for c in cells if c is not None]
        if not vals:
            return None
        if any(self.sep in c for c in vals):
            return "multi"
        x = _to_numbers(vals)
        # integers are ids (brand 17, shop 3) unless told otherwise; fractional numbers are quantities
        if np.isfinite(x).all() and np.any(x != np.round(x)) and len(np.unique(x)) > self.n_buckets:
            return "numeric"
        return "categorical"

    def fit(self, table) -> "SideInfo":
        """Learn the fields' kinds, vocabularies and bucket edges from an item table."""
        df, self.item_col = read_item_table(table, self.item_col)
        unknown = [c for c in list(self.kinds) + self.exclude if c not in df.columns]
        if unknown:
            raise InputError(f"side-info column(s) {unknown} not in the item table; columns are {list(df.columns)}")
        self.names, self.kinds_, self.vocabs, self.edges = [], [], [], []
        for col in df.columns:
            if col == self.item_col or col in self.exclude:
                continue
            cells = _cells(df[col])
            kind = self.kinds.get(col) or self._infer(cells)
            if kind is None:  # an all-empty column carries nothing
                continue
            edges: list = []
            if kind == "categorical":
                vals = pd.Series([c for c in cells if c is not None], dtype=object)
                vocab = vals.value_counts(sort=True).index.tolist() if len(vals) else []
            elif kind == "multi":
                toks = pd.Series([t for row in _split(cells, self.sep) for t in row], dtype=object)
                vocab = toks.value_counts(sort=True).index.tolist() if len(toks) else []
            else:
                x = _to_numbers(cells)
                bad = [c for c, v in zip(cells, x) if c is not None and not np.isfinite(v)]
                if bad:
                    raise InputError(f"side-info column {col!r} is numeric but {bad[0]!r} is not a number")
                x = x[np.isfinite(x)]
                qs = np.quantile(x, np.linspace(0, 1, self.n_buckets + 1)[1:-1]) if len(x) else np.zeros(0)
                edges = np.unique(qs).tolist()
                bounds = [-np.inf, *edges, np.inf]
                vocab = [f"[{_fmt(lo)},{_fmt(hi)})" for lo, hi in zip(bounds[:-1], bounds[1:])]
            self.names.append(str(col))
            self.kinds_.append(kind)
            self.vocabs.append([UNKNOWN] + [str(v) for v in vocab])
            self.edges.append([float(e) for e in edges])
        if not self.names:
            raise InputError("the item table has no side-information column besides the item id")
        self._index = None
        return self

    # -- encoding -----------------------------------------------------------------------------
    @property
    def n_fields(self) -> int:
        return len(self.names)

    @property
    def sizes(self) -> list:
        """Vocabulary size of each field, the reserved index 0 included."""
        return [len(v) for v in self.vocabs]

    def _lookup(self, f: int) -> dict:
        if getattr(self, "_index", None) is None:
            self._index = [None] * self.n_fields
        if self._index[f] is None:
            self._index[f] = {v: i for i, v in enumerate(self.vocabs[f]) if i > 0}
        return self._index[f]

    def encode(self, table) -> EncodedItems:
        """Encode an item table's rows (columns found by name; a missing column is all-unknown).

        Returns
        -------
        EncodedItems
            ``items`` (object array of ids), ``fields`` (one :class:`FieldCodes` per field),
            ``unseen_counts`` (per field, cells whose value was never seen in fit, mapped to
            index 0), ``missing_counts`` (per field, missing cells, also index 0).
        """
        self._check_fitted()
        df, item_col = read_item_table(table, self.item_col if self.item_col in getattr(table, "columns", [])
                                       or not isinstance(table, pd.DataFrame) else None)
        n = len(df)
        out, unseen, missing = [], {}, {}
        for f, (name, kind) in enumerate(zip(self.names, self.kinds_)):
            cells = _cells(df[name]) if name in df.columns else [None] * n
            n_missing = sum(c is None for c in cells)
            if kind == "numeric":
                x = _to_numbers(cells)
                ok = np.isfinite(x)
                codes = np.where(ok, np.searchsorted(np.asarray(self.edges[f]), np.where(ok, x, 0), side="right") + 1,
                                 0).astype(np.int32)
                n_missing = int((~ok).sum())
                indptr = np.arange(n + 1, dtype=np.int64)
                n_unseen = 0
            else:
                lut = self._lookup(f)
                rows = [[c] if c is not None else [] for c in cells] if kind == "categorical" \
                    else _split(cells, self.sep)
                n_unseen = 0
                flat, lens = [], np.empty(n, dtype=np.int64)
                for i, r in enumerate(rows):
                    got = [lut.get(t, 0) for t in r]
                    n_unseen += sum(1 for g in got if g == 0)
                    known = [g for g in got if g]
                    # a multi cell keeps its known values (unseen ones are dropped and counted);
                    # a cell with none left is the unknown index
                    known = list(dict.fromkeys(known)) or [0]
                    flat.extend(known)
                    lens[i] = len(known)
                indptr = np.zeros(n + 1, dtype=np.int64)
                np.cumsum(lens, out=indptr[1:])
                codes = np.asarray(flat, dtype=np.int32)
            out.append(FieldCodes(indptr, codes))
            if n_unseen:
                unseen[name] = int(n_unseen)
            if n_missing:
                missing[name] = int(n_missing)
        return EncodedItems(df[item_col].to_numpy(dtype=object), out, unseen, missing)

    def _check_fitted(self):
        if not self.names:
            raise InputError("SideInfo is not fitted: call fit() first")

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-serialisable description (saved with a model; see :meth:`from_dict`)."""
        return {"n_buckets": self.n_buckets, "sep": self.sep, "kinds": self.kinds, "exclude": self.exclude,
                "item_col": self.item_col, "names": self.names, "kinds_": self.kinds_, "vocabs": self.vocabs,
                "edges": self.edges}

    @classmethod
    def from_dict(cls, d: dict) -> "SideInfo":
        si = cls(d["n_buckets"], d["sep"], d["kinds"], d["exclude"], d["item_col"])
        si.names, si.kinds_, si.vocabs, si.edges = (list(d["names"]), list(d["kinds_"]),
                                                    [list(v) for v in d["vocabs"]], [list(e) for e in d["edges"]])
        si._index = None
        return si

    def save(self, path) -> None:
        """Write the vocabularies as JSON (atomically)."""
        from .._io import atomic_write

        with atomic_write(path, "w") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False)

    @classmethod
    def load(cls, path) -> "SideInfo":
        p = check_readable(path)
        try:
            return cls.from_dict(json.loads(Path(p).read_text(encoding="utf-8")))
        except (ValueError, KeyError) as e:
            raise InputError(f"not a side-info file ({e})", p) from None

    def __eq__(self, other) -> bool:
        return isinstance(other, SideInfo) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        parts = [f"{n}:{k}[{len(v)}]" for n, k, v in zip(self.names, self.kinds_, self.vocabs)]
        return f"SideInfo({', '.join(parts) or 'not fitted'})"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:.6g}"
