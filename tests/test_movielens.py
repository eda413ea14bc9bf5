"""MovieLens-100K loader (reads ../shared/data/ml-100k; never bundled)."""
import pandas as pd
import pytest

from recembed import InputError
from recembed.datasets.movielens import GENRES, load_movielens_100k


@pytest.fixture(scope="module")
def ml(shared_data):
    return load_movielens_100k(shared_data / "ml-100k")


def test_counts_and_types(ml):
    assert len(ml.log) == 100_000 and ml.log.user.nunique() == 943 and ml.log.item.nunique() == 1682
    assert len(ml.users) == 943 and len(ml.items) == 1682
    assert ml.log.rating.value_counts().sort_index().tolist() == [6110, 11370, 27145, 34174, 21201]
    assert ml.log.timestamp.min() == 874724710
    assert set(ml.users.gender) == {"M", "F"} and ml.users.occupation.nunique() == 21


def test_items_genres_year_and_latin1(ml):
    toy = ml.items.set_index("item").loc["1"]
    assert toy.genres == "Animation;Children's;Comedy" and toy.year == 1995
    assert ml.items.year.isna().sum() == 1          # item 267 has no release date
    assert ml.items.title.str.contains("Misérables").any()
    assert set(g for gs in ml.items.genres for g in gs.split(";") if g) <= set(GENRES)


def test_csv_export_round_trips_through_the_cli_format(ml, tmp_path):
    paths = ml.to_csv(tmp_path)
    log = pd.read_csv(paths["log"], dtype=str)
    assert list(log.columns) == ["user", "item", "timestamp", "rating"] and len(log) == 100_000
    items = pd.read_csv(paths["items"], dtype=str, keep_default_na=False)
    assert list(items.columns) == ["item", "genres", "year"]
    assert items.loc[0, "year"] == "1995"
    users = pd.read_csv(paths["users"], dtype=str)
    assert list(users.columns) == ["user", "age", "gender", "occupation"]


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        load_movielens_100k(tmp_path / "none")
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    with pytest.raises(InputError):
        load_movielens_100k(tmp_path)
