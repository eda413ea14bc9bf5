"""Parquet written by the Spark backend, read locally with pyarrow (no JVM needed).

Layout: a table ``X.parquet`` (a Spark output folder or one file) has its vocabulary
beside it in ``X.vocab.parquet`` with columns ``id`` (string) and ``index`` (int64,
contiguous from 0). Edge tables hold ``src, dst, weight`` with ids as given; walk tables
hold ``walk_id`` and ``walk`` (``array<int>`` of vocabulary indices, or ``array<string>``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import InputError
from ..data.corpus import Corpus
from ..data.vocab import Vocab


def vocab_path(path):
    """Where the vocabulary of table ``path`` lives: ``X.parquet`` -> ``X.vocab.parquet``.

    A :class:`~pathlib.Path` for local paths, a string for URIs (``hdfs://...``, ``s3a://...``).

    Examples
    --------
    >>> str(vocab_path("out/walks.parquet")), vocab_path("hdfs://nn/emb/walks.parquet/")
    ('out/walks.vocab.parquet', 'hdfs://nn/emb/walks.vocab.parquet')
    """
    s = str(path).rstrip("/")
    s = (s[: -len(".parquet")] if s.endswith(".parquet") else s) + ".vocab.parquet"
    return s if is_uri(s) else Path(s)


def is_uri(path) -> bool:
    """Whether ``path`` names a file system by scheme (``hdfs://``, ``s3a://``, ``file://``)."""
    return "://" in str(path)


def exists(spark, path) -> bool:
    """Whether ``path`` exists: locally, or through Hadoop's file system for URIs."""
    if not is_uri(path):
        return Path(path).exists()
    jvm = spark.sparkContext._jvm
    hp = jvm.org.apache.hadoop.fs.Path(str(path))
    return bool(hp.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hp))


def delete(spark, path) -> None:
    """Remove a folder this package created (scratch data), locally or through Hadoop."""
    if not is_uri(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        return
    jvm = spark.sparkContext._jvm
    hp = jvm.org.apache.hadoop.fs.Path(str(path))
    hp.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(hp, True)


def _dataset(path):
    import pyarrow.dataset as ds

    p = Path(path)
    if not p.exists():
        raise InputError("no such file or folder", p)
    try:
        # Spark folders hold _SUCCESS and .crc files next to the part files: skip them
        return ds.dataset(str(p), format="parquet", exclude_invalid_files=True,
                          ignore_prefixes=[".", "_"])
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise InputError(f"cannot read Parquet: {e}", p) from None


def read_vocab(path) -> np.ndarray:
    """Keys of the vocabulary table at ``path``, ordered by ``index`` (object array of str)."""
    t = _dataset(path).to_table(columns=["id", "index"])
    idx = t.column("index").to_numpy()
    keys = np.empty(len(idx), dtype=object)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(idx) or len(np.unique(idx)) != len(idx)):
        raise InputError("vocabulary indices are not contiguous from 0", path)
    keys[idx] = t.column("id").to_pylist()
    return keys


def read_edges(path, vocab=None):
    """``(src, dst, weight, keys)`` of an edge table: int64 codes into ``keys``.

    ``vocab`` (path) defaults to :func:`vocab_path`; without one, codes follow first appearance.
    """
    import pyarrow.compute as pc

    t = _dataset(path).to_table(columns=["src", "dst", "weight"])
    vp = Path(vocab) if vocab is not None else vocab_path(path)
    s = t.column("src").cast("string")
    d = t.column("dst").cast("string")
    if vp.exists():
        keys = read_vocab(vp)
        import pyarrow as pa

        vk = pa.array(keys.tolist(), pa.string())
        sc, dc = pc.index_in(s, value_set=vk), pc.index_in(d, value_set=vk)
        if sc.null_count or dc.null_count:
            raise InputError(f"edge ids missing from the vocabulary {vp}", path)
        sc, dc = sc.to_numpy(zero_copy_only=False), dc.to_numpy(zero_copy_only=False)
    else:
        import pandas as pd

        codes, uniques = pd.factorize(np.concatenate([np.asarray(s.to_pylist(), dtype=object),
                                                      np.asarray(d.to_pylist(), dtype=object)]))
        keys = np.asarray(uniques, dtype=object)
        sc, dc = codes[: len(s)], codes[len(s):]
    w = t.column("weight").to_numpy().astype(np.float64)
    return sc.astype(np.int64), dc.astype(np.int64), w, keys


def read_graph(path, vocab=None):
    """The directed item graph of an edge table as a local :class:`recembed.graphs.Graph`.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> pd.DataFrame({"src": ["a", "b"], "dst": ["b", "c"], "weight": [2.0, 1.0]}).to_parquet(
    ...     os.path.join(d, "e.parquet"))
    >>> g = read_graph(os.path.join(d, "e.parquet"))
    >>> g.edge_weight("a", "b"), g.directed
    (2.0, True)
    """
    from ..graphs.graph import Graph

    s, d, w, keys = read_edges(path, vocab)
    return Graph._from_codes(s, d, w, keys, True, bool(np.any(w != 1)))


def read_walks(path, vocab=None, batch_size: int = 1 << 16) -> Corpus:
    """Walk Parquet -> :class:`recembed.Corpus`, streamed in Arrow record batches.

    Tokens are copied batch by batch into int32 arrays that grow geometrically, so the
    corpus is never held as Python objects (peak ~1.5-2x the final int32 tokens). ``walk``
    is ``array<int>`` of indices into the vocabulary at ``vocab`` (default
    :func:`vocab_path`), or ``array<string>`` of ids (encoded on the fly).

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> pd.DataFrame({"walk_id": [0, 1], "walk": [["a", "b"], ["b", "c", "b"]]}).to_parquet(
    ...     os.path.join(d, "w.parquet"))
    >>> c = read_walks(os.path.join(d, "w.parquet"))
    >>> len(c), c.n_tokens, c.vocab.keys.tolist()
    (2, 5, ['b', 'a', 'c'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ds = _dataset(path)
    if "walk" not in ds.schema.names:
        raise InputError(f"no 'walk' column; columns are {ds.schema.names}", path)
    vtype = ds.schema.field("walk").type
    if not (pa.types.is_list(vtype) or pa.types.is_large_list(vtype)):
        raise InputError(f"'walk' must be a list column, got {vtype}", path)
    as_strings = pa.types.is_string(vtype.value_type) or pa.types.is_large_string(vtype.value_type)
    keys = None
    if not as_strings:
        vp = Path(vocab) if vocab is not None else vocab_path(path)
        if not vp.exists():
            raise InputError(f"integer walks need their vocabulary: {vp} not found", path)
        keys = read_vocab(vp)
    index: dict = {}
    tokens = np.empty(1 << 20, dtype=np.int32)
    lens = np.empty(1 << 16, dtype=np.int64)
    nt = nw = 0
    for batch in ds.to_batches(columns=["walk"], batch_size=batch_size):
        col = batch.column(0)
        if col.null_count:
            col = col.filter(pc.is_valid(col))
        n = len(col)
        if n == 0:
            continue
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False).astype(np.int64)
        values = pc.list_flatten(col)
        if as_strings:
            enc = pc.dictionary_encode(values).combine_chunks() if isinstance(values, pa.ChunkedArray) \
                else pc.dictionary_encode(values)
            # one dict lookup per distinct id of the batch, not per token
            local = np.fromiter((index.setdefault(k, len(index)) for k in enc.dictionary.to_pylist()),
                                dtype=np.int32, count=len(enc.dictionary))
            vals = local[enc.indices.to_numpy(zero_copy_only=False)]
        else:
            vals = values.to_numpy(zero_copy_only=False)
            if len(vals) and (vals.min() < 0 or vals.max() >= len(keys)):
                raise InputError(f"walk token {int(vals.max())} outside a vocabulary of {len(keys)}", path)
        if nt + len(vals) > len(tokens):
            tokens = _grow(tokens, nt + len(vals))
        if nw + n > len(lens):
            lens = _grow(lens, nw + n)
        tokens[nt:nt + len(vals)] = vals
        lens[nw:nw + n] = lengths
        nt += len(vals)
        nw += n
    if nt == 0:
        raise InputError("no walks in the table", path)
    if as_strings:
        keys = np.empty(len(index), dtype=object)
        keys[:] = list(index)
    offsets = np.zeros(nw + 1, dtype=np.int64)
    np.cumsum(lens[:nw], out=offsets[1:])
    tokens = tokens[:nt]
    counts = np.bincount(tokens, minlength=len(keys))
    # order by count like every other corpus reader (word2vec's negative table relies on nothing
    # else, but trimming and output order do)
    vocab, remap = Vocab(keys, counts).trim(1, None)
    used = remap >= 0
    if used.all() and np.array_equal(remap, np.arange(len(keys))):
        return Corpus(tokens, offsets, vocab)
    return Corpus(remap[tokens], offsets, vocab)


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    new = np.empty(max(need, int(len(a) * 1.5)), dtype=a.dtype)
    new[: len(a)] = a
    return new


def _is_path(x) -> bool:
    return isinstance(x, (str, os.PathLike))
