import time

import numpy as np
import pandas as pd
import pytest

from recembed import InputError, read_log, sessionize
from recembed.datasets import synthetic_shop, write_synthetic_shop


@pytest.fixture(scope="module")
def shop():
    return synthetic_shop()


def test_same_seed_same_tables_other_seed_other_tables():
    a_log, a_items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=5)
    b_log, b_items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=5)
    pd.testing.assert_frame_equal(a_log, b_log)
    pd.testing.assert_frame_equal(a_items, b_items)
    c_log, c_items = synthetic_shop(n_users=300, n_items=200, n_categories=8, seed=6)
    assert not a_log.equals(c_log) and not a_items.equals(c_items)


def test_default_generation_is_fast():
    t0 = time.perf_counter()
    synthetic_shop()
    assert time.perf_counter() - t0 < 2.0


def test_columns_types_and_referential_integrity(shop):
    log, items = shop
    assert log.columns.tolist() == ["user", "item", "timestamp", "event"]
    assert items.columns.tolist() == ["item", "category", "brand", "shop", "price"]
    assert len(items) == 1000 and items["item"].is_unique and items["item"].is_monotonic_increasing
    assert set(items["category"]) == set(range(1, 21))
    assert log["user"].nunique() == 2000
    assert log["item"].isin(items["item"]).all()
    assert set(log["event"]) == {"pv", "cart", "fav", "buy"}
    assert (log["event"] == "pv").mean() > 0.7
    assert log["timestamp"].dtype.kind == "i" and log["timestamp"].is_monotonic_increasing
    assert (items["price"] > 0).all()


def test_sessions_are_minutes_inside_and_hours_apart(shop):
    log, _ = shop
    gaps = log.groupby("user")["timestamp"].diff().dropna().to_numpy()
    # pauses stop at 20 minutes, sessions are 2 hours apart: the default 1 h session gap cuts exactly
    # (a second of slack either way for whole-second timestamps)
    assert not ((gaps > 1201) & (gaps < 7199)).any()
    inside = gaps[gaps <= 1200]
    assert 5 < np.median(inside) < 300
    sessions = sessionize(read_log(log), session_gap=3600)
    per_user = len(sessions) / log["user"].nunique()
    assert 2.5 < per_user < 6
    assert 3 < np.diff(sessions.offsets).mean() < 10


def test_item_popularity_is_skewed(shop):
    log, _ = shop
    counts = log["item"].value_counts().to_numpy()
    assert counts[: len(counts) // 10].sum() > 0.3 * counts.sum()


def test_sessions_stay_in_a_category_and_users_have_few_interests(shop):
    log, items = shop
    cat = log["item"].map(items.set_index("item")["category"])
    same_user = log["user"].to_numpy()
    order = np.lexsort((np.arange(len(log)), log["timestamp"].to_numpy(), same_user))
    c, u = cat.to_numpy()[order], same_user[order]
    pairs = u[1:] == u[:-1]
    assert (c[1:] == c[:-1])[pairs].mean() > 0.6
    per_user = cat.groupby(log["user"]).nunique()
    assert per_user.median() <= 5


def test_side_information_predicts_category(shop):
    _, items = shop

    def purity(col):
        return items.groupby(col)["category"].agg(lambda s: s.value_counts().iloc[0] / len(s)).mean()

    assert purity("brand") > 0.6
    assert purity("shop") > 0.5
    logp = np.log(items["price"])
    between = logp.groupby(items["category"]).transform("mean").var()
    assert between / logp.var() > 0.3


def test_actions_repeat_the_item_just_viewed(shop):
    log, _ = shop
    prev = log.groupby("user")["item"].shift()
    acted = log["event"] != "pv"
    assert acted.sum() > 100
    assert (log.loc[acted, "item"] == prev[acted]).all()


def test_write_synthetic_shop_round_trips_through_read_log(tmp_path):
    log_path, items_path = write_synthetic_shop(tmp_path / "shop", n_users=100, n_items=80, n_categories=5, seed=2)
    log, items = synthetic_shop(n_users=100, n_items=80, n_categories=5, seed=2)
    assert log_path.name == "log.csv" and items_path.name == "items.csv"
    pd.testing.assert_frame_equal(pd.read_csv(log_path), log)
    pd.testing.assert_frame_equal(pd.read_csv(items_path), items)
    ev = read_log(log_path, event_col="event")
    assert len(ev) == len(log) and ev.timestamps.tolist() == log["timestamp"].astype(float).tolist()


@pytest.mark.parametrize("kwargs", [dict(n_items=5, n_categories=10), dict(n_users=0), dict(explore=1.5),
                                    dict(session_length=-1), dict(n_categories=2.5)])
def test_bad_parameters_raise_input_error(kwargs):
    with pytest.raises(InputError):
        synthetic_shop(**kwargs)


def test_docstring_examples_run():
    import doctest

    import recembed.datasets.synthetic as mod

    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


def test_default_shop_is_stable_across_versions(shop):
    # the README and other tests quote this data: a change to the generator must be deliberate
    log, items = shop
    assert log.head(3).values.tolist() == [[1425, 44, 1511568299, "pv"], [800, 222, 1511568341, "pv"],
                                           [800, 660, 1511568363, "pv"]]
    assert items.head(2).values.tolist() == [[1, 10, 69, 24, 27.57], [2, 10, 75, 22, 52.06]]
    assert len(log) == 47970 and int(log["timestamp"].sum()) == 72534541550055
