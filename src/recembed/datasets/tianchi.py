"""The Tianchi e-commerce sample (DyHATR's ``ecomm`` release): behaviour log and item side information.

The data is not bundled (its terms are the Tianchi competition's); it is read from a
folder holding ``ecomm_edge_train.txt`` and ``ecomm_item_feature.txt``, by default
``$RECEMBED_SHARED_DATA/tianchi-ecomm`` or ``../shared/data/tianchi-ecomm`` next to the
repository.

**Time.** Events carry a date only (``YYYYMMDD``). The loader turns it into Unix
seconds at UTC midnight, so every event of a user on one day has the same timestamp and
consecutive days are 86,400 s apart. With the item graph's default one-hour
``session_gap`` a session is therefore exactly *one user's day*; inside a day the order is
the file's order (the release does not keep the true order, so the transitions inside a
day are approximate). Do not use a gap of a day or more: it would merge consecutive days.

**Items.** ``category`` is ``cate_id`` (401 values); ``brand`` is ``brand_id`` with the
release's ``0`` (unknown, 98% of items) turned into a missing value, so it maps to the
side-info unknown index instead of forming one giant brand; ``price`` is numeric (bucketed
by :class:`~recembed.data.side_info.SideInfo`). ``cate_1_id`` has a single value and is
left out.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, check_readable, line_of_row

EVENTS = {1: "click", 2: "collect", 3: "cart", 4: "buy"}


def default_path() -> Path:
    """``$RECEMBED_SHARED_DATA/tianchi-ecomm`` if set, else ``../shared/data/tianchi-ecomm``."""
    env = os.environ.get("RECEMBED_SHARED_DATA")
    if env:
        return Path(env) / "tianchi-ecomm"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tianchi-ecomm"


@dataclass
class Tianchi:
    """``log``: ``user, item, timestamp, event`` (file order, ids as strings, timestamp = UTC midnight
    of the event's date in seconds); ``items``: ``item, category, brand, price``."""

    log: pd.DataFrame
    items: pd.DataFrame


def load_tianchi(path=None, drop_duplicates: bool = True) -> Tianchi:
    """Read the Tianchi e-commerce sample.

    Parameters
    ----------
    path : folder with ``ecomm_edge_train.txt`` and ``ecomm_item_feature.txt``.
    drop_duplicates : drop exact duplicate event rows (4,270 in the release), keeping the first.

    Examples
    --------
    >>> tc = load_tianchi()                                   # doctest: +SKIP
    >>> len(tc.log), len(tc.items)                            # doctest: +SKIP
    (80943, 36224)
    >>> tc.items.columns.tolist()                             # doctest: +SKIP
    ['item', 'category', 'brand', 'price']
    """
    d = Path(path) if path is not None else default_path()
    if not d.is_dir():
        raise InputError("Tianchi e-commerce folder not found (expected ecomm_edge_train.txt, "
                         "ecomm_item_feature.txt)", d)
    p_log, p_item = (check_readable(d / n) for n in ("ecomm_edge_train.txt", "ecomm_item_feature.txt"))
    try:
        raw = pd.read_csv(p_log, sep="\t", header=None, names=["user", "item", "type", "date"],
                          dtype={"user": str, "item": str, "type": np.int64, "date": str})
        feat = pd.read_csv(p_item, sep="\t", header=None, names=["item", "cate_1", "category", "brand", "price"],
                           dtype={"item": str, "cate_1": str, "category": str, "brand": str, "price": np.float64})
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"not the Tianchi e-commerce release ({e})", d) from None
    if drop_duplicates:
        raw = raw.drop_duplicates(keep="first")
    bad = ~raw["type"].isin(list(EVENTS))
    # raw keeps the reader's row index through drop_duplicates; line_of_row maps it past blank lines
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"edge type {int(raw['type'].iloc[i])} is not 1..4", p_log,
                         line_of_row(p_log, int(raw.index[i])))
    dates = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce", utc=True)
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise InputError(f"date {raw['date'].iloc[i]!r} is not YYYYMMDD", p_log,
                         line_of_row(p_log, int(raw.index[i])))
    ts = ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype(np.int64)
    log = pd.DataFrame({"user": raw["user"].to_numpy(), "item": raw["item"].to_numpy(), "timestamp": ts.to_numpy(),
                        "event": raw["type"].map(EVENTS).to_numpy()})
    brand = feat["brand"].where(feat["brand"] != "0")
    items = pd.DataFrame({"item": feat["item"], "category": feat["category"], "brand": brand,
                          "price": feat["price"]}).drop_duplicates("item", keep="first").reset_index(drop=True)
    return Tianchi(log.reset_index(drop=True), items)
