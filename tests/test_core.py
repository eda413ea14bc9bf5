import numpy as np
import pandas as pd
import pytest

from recembed import Corpus, Embeddings, InputError, Vocab, read_log, sessionize


def test_vocab_orders_by_count_then_first_seen():
    v = Vocab.from_tokens(["b", "a", "a", "c", "b", "a"])
    assert v.keys.tolist() == ["a", "b", "c"]
    assert v.counts.tolist() == [3, 2, 1]
    assert v["b"] == 1 and "z" not in v
    assert v.encode(["c", "z"]).tolist() == [2, -1]


def test_vocab_trim_min_count_and_max_size():
    v = Vocab(["a", "b", "c", "d"], [5, 1, 3, 3])
    t, remap = v.trim(min_count=2, max_size=2)
    assert t.keys.tolist() == ["a", "c"]
    assert remap.tolist() == [0, -1, 1, -1]


def test_corpus_csr_and_trim_drops_empty_sequences():
    c = Corpus.from_sequences([["a", "b", "a"], ["c"], ["b", "a"]])
    assert c.offsets.tolist() == [0, 3, 4, 6] and c.tokens.dtype == np.int32
    t = c.trim(min_count=2)
    assert list(t) == [["a", "b", "a"], ["b", "a"]]
    assert t.vocab.counts.tolist() == [3, 2]


def test_corpus_from_file(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("x y z\n\n  y   z\n")
    c = Corpus.from_file(p)
    assert list(c) == [["x", "y", "z"], ["y", "z"]]


def test_sessions_cut_at_gap_and_order_ties_by_file_line():
    df = pd.DataFrame({"user": ["u", "u", "u", "u", "v"], "item": ["a", "b", "c", "d", "a"],
                       "timestamp": [0, 10, 10, 10 + 3601, 5]})
    s = sessionize(read_log(df))
    keys = s.item_vocab.keys
    got = [keys[s.items[s.offsets[i]:s.offsets[i + 1]]].tolist() for i in range(len(s))]
    assert got == [["a", "b", "c"], ["d"], ["a"]]
    assert sessionize(read_log(df), session_gap=None).offsets.tolist() == [0, 4, 5]


def test_embeddings_most_similar_and_exclude():
    emb = Embeddings(["a", "b", "c"], np.array([[1, 0], [0.9, 0.1], [0.5, 0.5]], dtype=np.float32))
    assert [k for k, _ in emb.most_similar("a", k=2)] == ["b", "c"]
    assert [k for k, _ in emb.most_similar("a", k=2, exclude=["b"])] == ["c"]
    assert emb.most_similar(np.array([0, 1.0]), k=1)[0][0] == "c"
    with pytest.raises(InputError):
        emb.most_similar(np.ones(3))


def test_read_log_headerless_file_with_names(tmp_path):
    p = tmp_path / "ub.csv"
    p.write_text("1,10,7,pv,100\n1,11,7,buy,160\n2,10,7,pv,50\n")
    ev = read_log(p, names=["user", "item", "category", "event", "timestamp"], event_col="event")
    assert ev.item_vocab.keys[ev.items].tolist() == ["10", "11", "10"]
    assert ev.lines.tolist() == [1, 2, 3]
    bad = tmp_path / "bad.csv"
    bad.write_text("1,10,7,pv,100\n1,11,7,buy\n")
    with pytest.raises(InputError, match=r"bad.csv:2"):
        read_log(bad, names=["user", "item", "category", "event", "timestamp"])


def test_read_real_taobao_slice(shared_data):
    ev = read_log(shared_data / "taobao-userbehavior-slice" / "UserBehavior.csv",
                  names=["user", "item", "category", "event", "timestamp"], event_col="event")
    assert len(ev) == 96168 and len(ev.user_vocab) == 58732 and len(ev.item_vocab) == 75384
