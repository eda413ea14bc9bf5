import numpy as np
import pandas as pd
import pytest

from recembed import InputError
from recembed.data.side_info import SideInfo, read_item_table


def table():
    return pd.DataFrame({"item": ["a", "b", "c", "d"],
                         "genres": ["x;y", "y", None, "z;y"],
                         "brand": ["p", "q", "p", None],
                         "price": [1.5, 5.0, 9.0, 20.0],
                         "year": ["1990", "1991", "1990", "1990"]})


def test_kinds_inferred_and_overridden():
    si = SideInfo(n_buckets=2).fit(table())
    assert dict(zip(si.names, si.kinds_)) == {"genres": "multi", "brand": "categorical", "price": "numeric",
                                              "year": "categorical"}
    si = SideInfo(n_buckets=2, kinds={"year": "numeric"}, exclude=["brand"]).fit(table())
    assert dict(zip(si.names, si.kinds_)) == {"genres": "multi", "price": "numeric", "year": "numeric"}


def test_reserved_unknown_index_for_missing_and_unseen():
    si = SideInfo(n_buckets=2).fit(table())
    assert all(v[0] == "<unk>" for v in si.vocabs)
    enc = si.encode(table())
    genres, brand = enc.fields[0], enc.fields[1]
    assert genres.values(2).tolist() == [0]          # missing multi cell
    assert brand.values(3).tolist() == [0]           # missing categorical
    assert sorted(si.vocabs[0][i] for i in genres.values(0)) == ["x", "y"]
    assert enc.missing_counts == {"genres": 1, "brand": 1}
    new = pd.DataFrame({"item": ["n"], "genres": ["y;w"], "brand": ["zz"], "price": [np.nan], "year": ["2000"]})
    enc = si.encode(new)
    assert [f.values(0).tolist() for f in enc.fields] == [[si.vocabs[0].index("y")], [0], [0], [0]]
    assert enc.unseen_counts == {"genres": 1, "brand": 1, "year": 1}


def test_numeric_quantile_buckets():
    si = SideInfo(n_buckets=2).fit(table())
    f = si.names.index("price")
    assert len(si.edges[f]) == 1 and si.sizes[f] == 3
    codes = si.encode(table()).fields[f].indices.tolist()
    assert codes == [1, 1, 2, 2]


def test_multi_valued_csr():
    si = SideInfo().fit(table())
    g = si.encode(table()).fields[0]
    assert g.indptr.tolist() == [0, 2, 3, 4, 6]


def test_round_trip(tmp_path):
    si = SideInfo(n_buckets=2).fit(table())
    si.save(tmp_path / "si.json")
    back = SideInfo.load(tmp_path / "si.json")
    assert back == si
    a, b = si.encode(table()), back.encode(table())
    for fa, fb in zip(a.fields, b.fields):
        np.testing.assert_array_equal(fa.indices, fb.indices)


def test_reads_csv_and_checks_ids(tmp_path):
    p = tmp_path / "items.csv"
    p.write_text("item,genres,brand\n1,a;b,x\n2,b,\n")
    df, col = read_item_table(p)
    assert col == "item" and df["brand"].isna().tolist() == [False, True]
    p.write_text("item,brand\n1,x\n1,y\n")
    with pytest.raises(InputError, match="twice"):
        read_item_table(p)
    with pytest.raises(InputError, match="no side-information"):
        SideInfo().fit(pd.DataFrame({"item": ["a"]}))
