"""MovieLens-100K: read the GroupLens files into log / users / items tables.

The data is never bundled (its licence forbids redistribution); it is read from a
directory holding ``u.data``, ``u.user`` and ``u.item``, by default
``../shared/data/ml-100k`` next to the repository (or ``$RECEMBED_SHARED_DATA/ml-100k``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, atomic_write, check_readable

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western"]


def default_path() -> Path:
    """``$RECEMBED_SHARED_DATA/ml-100k`` if set, else ``../shared/data/ml-100k`` relative to the repository."""
    env = os.environ.get("RECEMBED_SHARED_DATA")
    if env:
        return Path(env) / "ml-100k"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ml-100k"


@dataclass
class MovieLens:
    """The three MovieLens tables.

    ``log``: ``user, item, timestamp, rating`` in file order (ids as strings);
    ``users``: ``user, age, gender, occupation, zip``;
    ``items``: ``item, title, genres`` (``;``-separated genre names), ``year`` (float, NaN when unknown).
    """

    log: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame

    def to_csv(self, directory, user_columns=("age", "gender", "occupation"),
               item_columns=("genres", "year")) -> dict:
        """Write ``log.csv``, ``users.csv``, ``items.csv`` in the ``recembed train`` format.

        The default columns leave out near-unique ones (zip code, title) that would act as
        a second id; returns ``{"log": path, "users": path, "items": path}``.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = {}
        frames = {"log": self.log[["user", "item", "timestamp", "rating"]],
                  "users": self.users[["user", *user_columns]],
                  "items": self.items[["item", *item_columns]]}
        for name, df in frames.items():
            path = d / f"{name}.csv"
            with atomic_write(path, "w") as fh:
                df.to_csv(fh, index=False, float_format="%.10g")
            out[name] = path
        return out


def load_movielens_100k(path=None) -> MovieLens:
    """Read MovieLens-100K from ``path`` (a folder with ``u.data``, ``u.user``, ``u.item``).

    ``u.data`` is tab separated; ``u.user`` and ``u.item`` are ``|`` separated and
    ``u.item`` is latin-1. The 19 genre flags become one ``;``-separated ``genres`` cell,
    the release date becomes ``year``.

    Examples
    --------
    >>> ml = load_movielens_100k()          # doctest: +SKIP
    >>> len(ml.log), len(ml.users), len(ml.items)  # doctest: +SKIP
    (100000, 943, 1682)
    """
    d = Path(path) if path is not None else default_path()
    if not d.is_dir():
        raise InputError("MovieLens-100K folder not found (expected u.data, u.user, u.item)", d)
    p_data, p_user, p_item = (check_readable(d / n) for n in ("u.data", "u.user", "u.item"))
    try:
        log = pd.read_csv(p_data, sep="\t", header=None, names=["user", "item", "rating", "timestamp"],
                          dtype={"user": str, "item": str, "rating": np.int64, "timestamp": np.int64})
        users = pd.read_csv(p_user, sep="|", header=None, names=["user", "age", "gender", "occupation", "zip"],
                            dtype={"user": str, "age": np.int64, "gender": str, "occupation": str, "zip": str})
        raw = pd.read_csv(p_item, sep="|", header=None, encoding="latin-1", dtype=str, keep_default_na=False,
                          names=["item", "title", "release", "video_release", "url", *GENRES])
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"not MovieLens-100K data ({e})", d) from None
    if raw.shape[1] != 24 or len(raw) == 0:
        raise InputError(f"u.item must have 24 fields, found {raw.shape[1]}", p_item)
    flags = raw[GENRES].to_numpy() == "1"
    genres = [";".join(g for g, f in zip(GENRES, row) if f) for row in flags]
    year = pd.to_datetime(raw["release"], format="%d-%b-%Y", errors="coerce").dt.year.astype(float)
    items = pd.DataFrame({"item": raw["item"], "title": raw["title"], "genres": genres, "year": year})
    return MovieLens(log[["user", "item", "timestamp", "rating"]], users, items)
