import os

import numpy as np
import pytest
from gensim.models import KeyedVectors

from recembed import Embeddings, InputError

EXTS = {"text": ".emb", "bin": ".bin", "npz": ".npz"}


@pytest.fixture
def emb():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 7)).astype(np.float32)
    vectors[0, 0] = 1e-30  # tiny, huge and exact values must survive text too
    vectors[1, 1] = -3.4e38
    vectors[2] = 0.0
    return Embeddings(["a", "b", "café", "商品", "item_17", "42"], vectors)


def _same(a: Embeddings, b: Embeddings):
    assert a.keys.tolist() == b.keys.tolist()
    assert b.vectors.dtype == np.float32
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize("fmt", ["text", "bin", "npz"])
def test_round_trip_is_exact(tmp_path, emb, fmt):
    path = tmp_path / f"v{EXTS[fmt]}"
    emb.save(path)
    _same(emb, Embeddings.load(path))


@pytest.mark.parametrize("fmt", ["text", "bin", "npz"])
def test_explicit_format_overrides_extension(tmp_path, emb, fmt):
    path = tmp_path / "vectors.data"
    emb.save(path, format=fmt)
    _same(emb, Embeddings.load(path, format=fmt))


def test_extensions_choose_the_format(tmp_path, emb):
    for ext in (".txt", ".emb", ".vec"):
        emb.save(tmp_path / f"v{ext}")
        assert (tmp_path / f"v{ext}").read_text(encoding="utf-8").startswith("6 7\n")
    emb.save(tmp_path / "v.bin")
    # word2vec.c layout: header line, then per key "key " + dim little-endian float32 + "\n"
    rows = sum(len(k.encode()) + 1 + 4 * emb.dim + 1 for k in emb.keys.tolist())
    assert len((tmp_path / "v.bin").read_bytes()) == len(b"6 7\n") + rows
    emb.save(tmp_path / "v.npz")
    assert (tmp_path / "v.npz").read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_loads_our_files(tmp_path, emb, binary):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    emb.save(path)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == emb.keys.tolist()
    np.testing.assert_array_equal(kv.vectors, emb.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_we_load_gensim_files(tmp_path, emb, binary):
    kv = KeyedVectors(vector_size=emb.dim)
    kv.add_vectors(emb.keys.tolist(), emb.vectors)
    path = tmp_path / ("g.bin" if binary else "g.txt")
    kv.save_word2vec_format(str(path), binary=binary)
    got = Embeddings.load(path)
    assert got.keys.tolist() == emb.keys.tolist()
    if binary:
        np.testing.assert_array_equal(got.vectors, emb.vectors)
    else:  # gensim writes its own decimal repr; equal to float32 precision
        np.testing.assert_allclose(got.vectors, emb.vectors, rtol=1e-6, atol=1e-45)


def test_we_load_word2vec_c_style_text(tmp_path):
    # word2vec.c writes "%lf " per value: a trailing space and 6 decimals
    path = tmp_path / "c.txt"
    path.write_text("2 3\nx 0.100000 -0.200000 0.300000 \ny 1.000000 2.000000 3.000000 \n")
    got = Embeddings.load(path)
    assert got.keys.tolist() == ["x", "y"]
    np.testing.assert_allclose(got["x"], [0.1, -0.2, 0.3], rtol=1e-6)


def _boom(*args, **kwargs):
    raise OSError("disk full (simulated)")


@pytest.mark.parametrize("fmt", ["text", "bin", "npz"])
def test_failed_write_leaves_no_file(tmp_path, emb, fmt, monkeypatch):
    path = tmp_path / f"v{EXTS[fmt]}"
    monkeypatch.setattr(os, "fsync", _boom)  # fails after every byte has been written
    with pytest.raises(OSError, match="disk full"):
        emb.save(path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", ["text", "bin", "npz"])
def test_failed_write_keeps_the_existing_file(tmp_path, emb, fmt, monkeypatch):
    path = tmp_path / f"v{EXTS[fmt]}"
    old = Embeddings(["old"], np.ones((1, 2)))
    old.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", _boom)
    with pytest.raises(OSError):
        emb.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("keys", [["a", "b"], ['say"hi"', "b"]])  # the Arrow writer, and the fallback
def test_failure_in_the_middle_of_writing_rows(tmp_path, monkeypatch, keys):
    import pyarrow.csv

    def arrow_half_then_fail(table, fh, *args, **kwargs):
        fh.write(b"a 0.5 0.5\n")
        raise RuntimeError("interrupted")

    def numpy_half_then_fail(fh, X, *args, **kwargs):
        fh.write("0.5 0.5\n")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(pyarrow.csv, "write_csv", arrow_half_then_fail)
    monkeypatch.setattr(np, "savetxt", numpy_half_then_fail)
    path = tmp_path / "v.txt"
    with pytest.raises(RuntimeError):
        Embeddings(keys, np.ones((2, 2))).save(path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_keys_with_quotes_round_trip_in_text(tmp_path, emb):
    e = Embeddings(['say"hi"', "x'y", "a,b"], emb.vectors[:3])
    e.save(tmp_path / "q.emb")
    assert (tmp_path / "q.emb").read_text(encoding="utf-8").splitlines()[1].startswith('say"hi" ')
    _same(e, Embeddings.load(tmp_path / "q.emb"))


@pytest.mark.parametrize("body", ["a 1 2 \nb 3 4 \n", "a 1 2\r\nb 3 4\r\n", "a  1 2\nb 3\t4\n", "a 1 2\nb 3 4 \n"])
def test_text_spacing_variants_load(tmp_path, body):
    path = tmp_path / "v.txt"
    path.write_bytes(("2 2\n" + body).encode())
    got = Embeddings.load(path)
    assert got.keys.tolist() == ["a", "b"] and got.vectors.tolist() == [[1, 2], [3, 4]]


def test_written_files_get_ordinary_permissions(tmp_path, emb):
    old = os.umask(0o022)
    try:
        emb.save(tmp_path / "v.emb")
    finally:
        os.umask(old)
    assert (tmp_path / "v.emb").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", ["two words", "tab\there", "new\nline", ""])
@pytest.mark.parametrize("fmt", ["text", "bin"])
def test_keys_with_whitespace_are_rejected_for_word2vec_formats(tmp_path, fmt, bad):
    e = Embeddings(["ok", bad], np.ones((2, 3)))
    path = tmp_path / f"v{EXTS[fmt]}"
    with pytest.raises(InputError, match="whitespace"):
        e.save(path)
    assert not path.exists()


def test_keys_with_whitespace_round_trip_through_npz(tmp_path):
    e = Embeddings(["two words", "tab\there"], np.arange(6).reshape(2, 3))
    e.save(tmp_path / "v.npz")
    _same(e, Embeddings.load(tmp_path / "v.npz"))


def test_unknown_format_is_rejected_before_writing(tmp_path, emb):
    with pytest.raises(InputError, match="unknown embeddings format"):
        emb.save(tmp_path / "v.emb", format="csv")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("content, message, line", [
    ("", "file is empty", None),
    ("three words here\n", "n_keys dim", 1),
    ("2 3\na 1 2 3\n", "header says 2 vectors, file has 1", None),
    ("2 3\na 1 2 3\n\nb 1 2\n", "expected a key and 3 numbers, found 3 fields", 4),
    ("1 2\na 1 x\n", "non-numeric", 2),
    ("2 1\na 1\na 2\n", "'a' appears more than once", None),
    ("1 0\n", "dim > 0", 1),
])
def test_bad_text_files_name_file_and_line(tmp_path, content, message, line):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        Embeddings.load(path)
    assert err.value.path == str(path) and err.value.line == line


def test_truncated_binary_file(tmp_path, emb):
    emb.save(tmp_path / "v.bin")
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) - 20])
    with pytest.raises(InputError, match="truncated binary file at vector 6 of 6"):
        Embeddings.load(tmp_path / "cut.bin")


def test_missing_file_and_foreign_npz(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        Embeddings.load(tmp_path / "nope.emb")
    np.savez(tmp_path / "other.npz", x=np.ones(3))
    with pytest.raises(InputError, match="not a recembed .npz"):
        Embeddings.load(tmp_path / "other.npz")


def test_header_only_file_is_empty_embeddings(tmp_path):
    (tmp_path / "e.txt").write_text("0 4")
    e = Embeddings.load(tmp_path / "e.txt")
    assert len(e) == 0 and e.dim == 4
