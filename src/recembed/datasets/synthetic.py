"""A seeded synthetic shop: a behaviour log with sessions and an item table with side information.

The generator is small and fast, but built so the structure the methods are meant to
find is really there, and known:

* items belong to categories; popularity inside a category is Zipf-like, so a few
  items get most views while the tail gets a handful (hold some out for cold-start tests);
* brands and shops are correlated with categories (a brand mostly sells in its home
  category, a shop covers one to three categories), prices depend on category and brand,
  so side information predicts where an item belongs;
* each user has a few category interests; a session mostly stays in one of them,
  sometimes switches to a second one half-way, and now and then glances elsewhere;
* sessions are hours to days apart, actions within a session seconds to minutes apart
  (always under the default one-hour session gap);
* after viewing an item a user may cart, favourite or buy it, which repeats the item
  consecutively (what ``dedup`` removes).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, atomic_write, check_positive

_ACTIONS = np.array(["cart", "fav", "buy"], dtype=object)


def synthetic_shop(n_users: int = 2000, n_items: int = 1000, n_categories: int = 20, *,
                   sessions_per_user: float = 4.0, session_length: float = 6.0, interests_per_user: float = 2.0,
                   popularity_exponent: float = 1.0, explore: float = 0.05, action_rate: float = 0.15,
                   n_brands: int | None = None, n_shops: int | None = None, start: str = "2017-11-25",
                   days: float = 14.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a behaviour log and an item table for a synthetic shop.

    Parameters
    ----------
    n_users, n_items, n_categories : int
        Sizes; ``n_items >= n_categories`` (every category has an item).
    sessions_per_user : float
        Mean sessions per user (at least one each; activity is heavy-tailed).
    session_length : float
        Mean actions per session (geometric, at least one).
    interests_per_user : float
        Mean number of categories a user cares about (at least one).
    popularity_exponent : float
        Zipf exponent of item popularity within a category (0: uniform).
    explore : float
        Probability that a session, or a single view, goes to a category outside the
        user's interests (drawn by category popularity).
    action_rate : float
        Probability that an action is a cart/fav/buy of the item just viewed instead of a new view.
    n_brands, n_shops : int, optional
        Defaults: ``4 * n_categories`` and ``2 * n_categories``.
    start : str
        Date of the first possible action (UTC).
    days : float
        Span over which sessions are spread.
    seed : int
        Seed of the generator; the same arguments give the same tables.

    Returns
    -------
    log : DataFrame
        Columns ``user, item, timestamp, event``, ordered by time (ties by user), one row
        per action; ``timestamp`` is integer Unix seconds, ``event`` one of
        ``pv, cart, fav, buy``; ids are integers.
    items : DataFrame
        Columns ``item, category, brand, shop, price``, one row per item, ordered by id;
        includes items that never occur in the log.

    Examples
    --------
    >>> log, items = synthetic_shop(n_users=50, n_items=40, n_categories=4, seed=1)
    >>> log.columns.tolist(), items.columns.tolist()
    (['user', 'item', 'timestamp', 'event'], ['item', 'category', 'brand', 'shop', 'price'])
    >>> sorted(log.event.unique().tolist())
    ['buy', 'cart', 'fav', 'pv']
    >>> bool(log.item.isin(items.item).all())
    True
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_categories", n_categories)):
        check_positive(name, value, integer=True)
    for name, value in (("sessions_per_user", sessions_per_user), ("session_length", session_length),
                        ("interests_per_user", interests_per_user), ("days", days)):
        check_positive(name, value)
    check_positive("popularity_exponent", popularity_exponent, allow_zero=True)
    for name, value in (("explore", explore), ("action_rate", action_rate)):
        if not 0 <= value < 1:
            raise InputError(f"{name} must be in [0, 1), got {value!r}")
    if n_items < n_categories:
        raise InputError(f"n_items ({n_items}) must be >= n_categories ({n_categories})")
    n_brands = 4 * n_categories if n_brands is None else check_positive("n_brands", n_brands, integer=True)
    n_shops = 2 * n_categories if n_shops is None else check_positive("n_shops", n_shops, integer=True)
    rng = np.random.default_rng(seed)

    items, item_cat, cat_items, cat_cum, cat_pop = _items(rng, n_items, n_categories, n_brands, n_shops,
                                                          popularity_exponent)
    log = _log(rng, n_users, n_categories, item_cat, cat_items, cat_cum, cat_pop, items["item"].to_numpy(),
               sessions_per_user, session_length, interests_per_user, explore, action_rate,
               pd.Timestamp(start, tz="UTC"), days)
    return log, items.sort_values("item", kind="stable").reset_index(drop=True)


def _zipf_cum(rng, n: int, exponent: float) -> np.ndarray:
    """Cumulative probabilities of ``n`` outcomes with Zipf weights in a random order."""
    w = 1.0 / np.arange(1, n + 1) ** exponent
    w = w[rng.permutation(n)]
    c = np.cumsum(w)
    return c / c[-1]


def _draw(rng, cum: np.ndarray, size=None) -> np.ndarray:
    # searchsorted on a cumulative table: faster than rng.choice(p=...) for repeated draws
    return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), len(cum) - 1)


def _items(rng, n_items, n_categories, n_brands, n_shops, exponent):
    # category sizes vary (gamma weights), with at least one item each
    sizes = 1 + rng.multinomial(n_items - n_categories, rng.dirichlet(np.full(n_categories, 2.0)))
    item_cat = rng.permutation(np.repeat(np.arange(n_categories), sizes))
    # categories differ in appeal beyond their size, so some small categories are busy
    cat_pop = sizes * rng.gamma(2.0, 1.0, n_categories)
    cat_pop = cat_pop / cat_pop.sum()
    cat_items, cat_cum = [], []
    for c in range(n_categories):
        members = np.flatnonzero(item_cat == c)
        cat_items.append(members)
        cat_cum.append(_zipf_cum(rng, len(members), exponent))

    # brands: each has a home category; 85% of an item's brands come from its category's brands
    brand_home = np.concatenate([np.arange(n_categories), rng.integers(0, n_categories, max(n_brands - n_categories, 0))])
    brand_home = brand_home[:n_brands][rng.permutation(n_brands)]
    brand = np.empty(n_items, dtype=np.int64)
    own_brand = rng.random(n_items) < 0.85
    for c in range(n_categories):
        home = np.flatnonzero(brand_home == c)
        sel = np.flatnonzero((item_cat == c) & own_brand)
        if len(home) == 0:
            own_brand[sel] = False
            continue
        brand[sel] = home[_draw(rng, _zipf_cum(rng, len(home), 1.0), len(sel))]
    other = np.flatnonzero(~own_brand)
    brand[other] = rng.integers(0, n_brands, len(other))

    # shops: each covers one to three categories; 90% of items sit in a shop covering their category
    shop_cats = [rng.choice(n_categories, size=min(1 + rng.poisson(0.8), 3, n_categories), replace=False)
                 for _ in range(n_shops)]
    for c in range(n_categories):  # every category is sold by some shop
        if not any(c in sc for sc in shop_cats):
            s = rng.integers(n_shops)
            shop_cats[s] = np.append(shop_cats[s], c)
    shop = rng.integers(0, n_shops, n_items)
    in_own_shop = rng.random(n_items) < 0.9
    for c in range(n_categories):
        covering = np.array([s for s in range(n_shops) if c in shop_cats[s]], dtype=np.int64)
        sel = np.flatnonzero((item_cat == c) & in_own_shop)
        if len(covering):
            shop[sel] = covering[rng.integers(0, len(covering), len(sel))]

    cat_price = rng.lognormal(3.5, 1.0, n_categories)
    brand_premium = rng.lognormal(0.0, 0.35, n_brands)
    price = np.round(cat_price[item_cat] * brand_premium[brand] * rng.lognormal(0.0, 0.25, n_items), 2)
    ids = rng.permutation(n_items) + 1  # ids carry no information about category
    items = pd.DataFrame({"item": ids, "category": item_cat + 1, "brand": brand + 1, "shop": shop + 1,
                          "price": np.maximum(price, 0.01)})
    return items, item_cat, cat_items, cat_cum, cat_pop


def _log(rng, n_users, n_categories, item_cat, cat_items, cat_cum, cat_pop, item_ids, sessions_per_user,
         session_length, interests_per_user, explore, action_rate, t0, days):
    pop_cum = np.cumsum(cat_pop)
    pop_cum /= pop_cum[-1]

    # interests: k_u categories drawn by popularity without replacement (Gumbel top-k), Dirichlet weights
    k = np.minimum(1 + rng.poisson(interests_per_user - 1, n_users), n_categories)
    kmax = int(k.max())
    gumbel = np.log(cat_pop)[None, :] - np.log(-np.log(rng.random((n_users, n_categories))))
    interests = np.argsort(-gumbel, axis=1, kind="stable")[:, :kmax]
    weight = rng.gamma(1.0, 1.0, (n_users, kmax)) * (np.arange(kmax)[None, :] < k[:, None])
    interest_cum = np.cumsum(weight, axis=1)
    interest_cum /= interest_cum[:, -1:]

    def pick_interest(users):
        u = rng.random(len(users))
        j = np.minimum((interest_cum[users] < u[:, None]).sum(axis=1), kmax - 1)
        cats = interests[users, j]
        away = rng.random(len(users)) < explore
        cats[away] = _draw(rng, pop_cum, int(away.sum()))
        return cats

    # heavy-tailed activity: a few users have many sessions
    activity = rng.lognormal(0.0, 0.7, n_users)
    activity /= activity.mean()
    n_sess = 1 + rng.poisson((sessions_per_user - 1) * activity)
    s_user = np.repeat(np.arange(n_users), n_sess)
    n_s = len(s_user)
    s_len = rng.geometric(1.0 / session_length, n_s)
    s_cat1 = pick_interest(s_user)
    s_cat2 = pick_interest(s_user)
    # 30% of sessions move to a second interest part-way through
    s_switch = np.where(rng.random(n_s) < 0.3, rng.integers(1, np.maximum(s_len, 2)), np.iinfo(np.int64).max)

    e_sess = np.repeat(np.arange(n_s), s_len)
    n_e = len(e_sess)
    e_first = np.r_[0, np.cumsum(s_len)[:-1]]
    pos = np.arange(n_e) - np.repeat(e_first, s_len)
    cat = np.where(pos >= s_switch[e_sess], s_cat2[e_sess], s_cat1[e_sess])
    glance = rng.random(n_e) < explore / 2
    cat[glance] = _draw(rng, pop_cum, int(glance.sum()))
    action = (pos > 0) & (rng.random(n_e) < action_rate)

    item = np.full(n_e, -1, dtype=np.int64)
    viewed = ~action
    for c in range(n_categories):
        sel = np.flatnonzero(viewed & (cat == c))
        if len(sel):
            item[sel] = cat_items[c][_draw(rng, cat_cum[c], len(sel))]
    # an action repeats the item of the latest view in its session (forward fill)
    last_view = np.maximum.accumulate(np.where(viewed, np.arange(n_e), 0))
    item = item[last_view]
    event = np.full(n_e, "pv", dtype=object)
    event[action] = _ACTIONS[_draw(rng, np.array([0.5, 0.7, 1.0]), int(action.sum()))]

    # within a session: lognormal pauses, median ~30 s, capped well under an hour
    pause = np.minimum(rng.lognormal(np.log(30.0), 1.0, n_e), 1200.0)
    pause[e_first] = 0.0
    within = np.cumsum(pause)
    within -= np.repeat(within[e_first], s_len)
    duration = within[np.r_[e_first[1:], n_e] - 1]

    # sessions: the first within the first 30% of the span, each next one 2 h + exponential
    # after the previous one ended (so the default 1 h session gap recovers them exactly)
    span = days * 86400.0
    first = rng.random(n_users) * 0.3 * span
    mean_gap = 0.7 * span / n_sess
    step = 7200.0 + rng.exponential(1.0, n_s) * mean_gap[s_user]
    step[1:] += duration[:-1]
    s_first = np.r_[0, np.cumsum(n_sess)[:-1]]
    step[s_first] = first
    running = np.cumsum(step)
    # restart the running sum at each user's first session
    s_start = running - np.repeat(running[s_first] - first, n_sess)
    ts = np.floor(t0.timestamp() + s_start[e_sess] + within).astype(np.int64)

    user_ids = rng.permutation(n_users) + 1
    log = pd.DataFrame({"user": user_ids[s_user[e_sess]], "item": item_ids[item], "timestamp": ts,
                        "event": event})
    order = np.lexsort((log["user"].to_numpy(), ts))
    return log.iloc[order].reset_index(drop=True)


def write_synthetic_shop(directory, **kwargs) -> tuple[Path, Path]:
    """Write :func:`synthetic_shop` tables as ``log.csv`` and ``items.csv`` in ``directory``.

    Parameters
    ----------
    directory : path
        Created if missing; existing files of those names are replaced (atomically).
    **kwargs
        Passed to :func:`synthetic_shop`.

    Returns
    -------
    (log_path, items_path)

    Examples
    --------
    >>> import tempfile
    >>> from recembed import read_log
    >>> log_path, items_path = write_synthetic_shop(tempfile.mkdtemp(), n_users=20, n_items=30, n_categories=3)
    >>> len(read_log(log_path)) > 0
    True
    """
    directory = Path(directory)
    log, items = synthetic_shop(**kwargs)
    paths = directory / "log.csv", directory / "items.csv"
    for frame, path in zip((log, items), paths):
        with atomic_write(path, "w") as fh:
            frame.to_csv(fh, index=False, lineterminator="\n")
    return paths
