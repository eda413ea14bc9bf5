"""Behaviour logs: read (user, item, timestamp[, weight, event]) events and cut them into sessions.

The session is the unit every method starts from: Item2Vec trains on session
sequences, the item graph links consecutive actions inside a session (the EGES
paper's one-hour gap is the default), the recall models roll history back per user.
"""
from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, check_readable
from .vocab import Vocab


@dataclass
class Events:
    """A behaviour log in file order, ids encoded.

    ``users``/``items`` are int32 codes into ``user_vocab``/``item_vocab``;
    ``timestamps`` are float64 seconds; ``weights`` float32 (1 when the log has none);
    ``lines`` the 1-based line (CSV) or row (Parquet) each event came from.
    """

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray
    user_vocab: Vocab
    item_vocab: Vocab
    lines: np.ndarray
    events: np.ndarray | None = None
    source: str = "<DataFrame>"

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, mask) -> "Events":
        """The events where ``mask`` holds (vocabularies unchanged)."""
        ev = None if self.events is None else self.events[mask]
        return Events(self.users[mask], self.items[mask], self.timestamps[mask], self.weights[mask],
                      self.user_vocab, self.item_vocab, self.lines[mask], ev, self.source)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"user": self.user_vocab.keys[self.users], "item": self.item_vocab.keys[self.items],
                             "timestamp": self.timestamps, "weight": self.weights})


_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_table(path: Path, sep: str | None, names=None) -> tuple[pd.DataFrame, int, str | None]:
    """Read all columns as strings; returns the frame, the line number of its first row and the separator."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a corrupt file
            raise InputError(f"cannot read Parquet: {e}", path) from None
        return df, 1, None
    if sep is None:
        sep = "\t" if suffix in (".tsv", ".tab") else ","
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: otherwise pandas silently turns the first column into the index
            # when every data line has one field more than the header
            df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                             skip_blank_lines=False, engine="c", index_col=False,
                             header=None if names else "infer", names=names)
    except pd.errors.ParserError as e:
        m = _FIELDS_RE.search(str(e))
        if m:
            raise InputError(f"expected {m.group(1)} columns, found {m.group(3)}", path, int(m.group(2))) from None
        raise InputError(f"cannot parse: {e}", path) from None
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not valid UTF-8 ({e.reason})", path) from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # pandas only warns (and drops fields) when a line is longer than the header
        _raise_on_ragged_line(path, sep, len(df.columns), skip_header=not names)
    return df, 1 if names else 2, sep


def _raise_on_ragged_line(path: Path, sep: str, n_columns: int, skip_header: bool = True) -> None:
    """Raise :class:`InputError` at the first non-blank line whose field count differs from the header's.

    Only called on the error path, so a slow pure-Python scan is fine; the ``csv`` module
    follows quoting the way pandas does, and ``line_num`` counts physical lines.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        if skip_header:
            next(reader, None)
        for row in reader:
            if row and len(row) != n_columns:
                raise InputError(f"expected {n_columns} columns, found {len(row)}", path, reader.line_num)


def _line(path, lines: np.ndarray, i: int) -> int | None:
    return int(lines[i]) if path is not None else None


def _row(path, df: pd.DataFrame, i: int) -> str:
    return "" if path is not None else _row_label(df.index, i)


def _row_label(index, i: int) -> str:
    label = index[i]
    label = label.item() if isinstance(label, np.generic) else label
    return f" (row {label!r})"


def _parse_times(col: pd.Series, lines: np.ndarray, path, name: str, time_format: str | None,
                 index=None) -> np.ndarray:
    def fail(i: int, what: str):
        where = _row_label(index, i) if index is not None else ""
        raise InputError(f"{name} {col.iloc[i]!r} {what}{where}", path, _line(path, lines, i))

    num = pd.to_numeric(col, errors="coerce")
    if time_format is None and num.notna().all():
        return _finite(num.to_numpy(dtype=np.float64), fail)
    with warnings.catch_warnings():
        # "could not infer format" is noise: a value that does not parse is reported below
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(col, errors="coerce", format=time_format, utc=True)
    num_ok, date_ok = num.notna().to_numpy(), parsed.notna().to_numpy()
    # a column that is neither all numbers nor all dates: judge it by what most values are
    # (ties: by the first value), and report the first value that is not
    numeric = time_format is None and (num_ok.sum() > date_ok.sum() or (num_ok.sum() == date_ok.sum() and num_ok[0]))
    ok = num_ok if numeric else date_ok
    if not ok.all():
        fail(int(np.flatnonzero(~ok)[0]), "does not parse as a time")
    out = ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    return _finite(out, fail)


def _finite(out: np.ndarray, fail) -> np.ndarray:
    if not np.all(np.isfinite(out)):
        fail(int(np.flatnonzero(~np.isfinite(out))[0]), "is not finite")
    return out


def read_log(log, *, user_col: str = "user", item_col: str = "item", time_col: str = "timestamp",
             weight_col: str | None = None, event_col: str | None = None, event_weights: dict | None = None,
             sep: str | None = None, time_format: str | None = None, names=None) -> Events:
    """Read a behaviour log from CSV/TSV/Parquet (by extension) or a DataFrame.

    Columns are found by name (``user_col`` ...); ids are kept as strings. A column
    named ``weight`` is used as the event weight when ``weight_col`` is not given.
    ``event_weights`` maps values of ``event_col`` (e.g. ``{"pv": 1, "buy": 4}``) to weights.
    Times are numbers (seconds) or anything :func:`pandas.to_datetime` parses.
    ``names`` gives the column names of a CSV/TSV file that has no header line
    (e.g. Taobao's ``UserBehavior.csv``: ``["user", "item", "category", "event", "timestamp"]``).

    Raises :class:`InputError` naming the file, line and problem for: a missing file or
    column, an empty log, a line with the wrong number of columns, a missing id, a weight
    that is not a finite number >= 0, a time that does not parse.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = read_log(pd.DataFrame({"user": [1, 1], "item": ["a", "b"], "timestamp": [0, 5]}))
    >>> ev.item_vocab.keys[ev.items].tolist()
    ['a', 'b']
    """
    if isinstance(log, pd.DataFrame):
        # a DataFrame has no lines: errors name the 0-based row label in the message instead
        df, first_line, path, sep = log.astype(str).where(log.notna(), None), 1, None, None
        source = "<DataFrame>"
    else:
        path = check_readable(log)
        df, first_line, sep = _read_table(path, sep, names)
        df = df.astype(object).where(df.notna(), None)
        source = str(path)
    lines = np.arange(len(df), dtype=np.int64) + first_line
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        df, lines = df[~blank], lines[~blank]
    if len(df) == 0:
        raise InputError("log has no events", path)
    if weight_col is None and "weight" in df.columns and weight_col != "":
        weight_col = "weight"
    needed = [c for c in (user_col, item_col, time_col, weight_col, event_col) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        header_line = 1 if sep is not None else None  # CSV/TSV: the header; Parquet has no lines
        raise InputError(f"missing column(s) {missing}; columns are {list(df.columns)}", path, header_line)
    for c in needed:
        null = df[c].isna().to_numpy()
        if null.any():
            if sep is not None:
                # a short line reads as trailing missing values: say so when that is the cause
                _raise_on_ragged_line(path, sep, len(df.columns))
            i = int(np.flatnonzero(null)[0])
            raise InputError(f"missing value in column {c!r}{_row(path, df, i)}", path, _line(path, lines, i))
    ts = _parse_times(df[time_col].astype(str), lines, path, time_col, time_format,
                      None if path is not None else df.index)
    weights = np.ones(len(df), dtype=np.float32)
    if weight_col:
        w = pd.to_numeric(df[weight_col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"weight {df[weight_col].iloc[i]!r} must be a finite number >= 0{_row(path, df, i)}",
                             path, _line(path, lines, i))
        weights = w.astype(np.float32)
    events = None
    if event_col:
        events = df[event_col].astype(str).to_numpy(dtype=object)
        if event_weights:
            ew = pd.Series(events).map({str(k): float(v) for k, v in event_weights.items()})
            if ew.isna().any():
                i = int(np.flatnonzero(ew.isna().to_numpy())[0])
                raise InputError(f"event {events[i]!r} has no weight in event_weights{_row(path, df, i)}",
                                 path, _line(path, lines, i))
            weights = weights * ew.to_numpy(dtype=np.float32)
    user_vocab, users = Vocab.encode_new(df[user_col].astype(str).to_numpy(dtype=object))
    item_vocab, items = Vocab.encode_new(df[item_col].astype(str).to_numpy(dtype=object))
    return Events(users, items, ts, weights, user_vocab, item_vocab, lines, events, source)


@dataclass
class Sessions:
    """Events grouped per user and time-ordered, cut at inactivity gaps.

    CSR layout: session ``s`` holds ``items[offsets[s]:offsets[s+1]]`` (with matching
    ``timestamps``/``weights``); ``users[s]`` is its user code.
    """

    items: np.ndarray
    offsets: np.ndarray
    users: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray
    item_vocab: Vocab
    user_vocab: Vocab

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def to_corpus(self):
        from .corpus import Corpus

        return Corpus.from_arrays(self.items, self.offsets, self.item_vocab, recount=True)


def sessionize(events: Events, session_gap: float | None = 3600.0, dedup: bool = False) -> Sessions:
    """Sort events by (user, time, file order) and cut a session wherever the user changes
    or more than ``session_gap`` seconds pass between two actions (``None``: one session per user).

    With ``dedup`` an item repeated consecutively within a session is kept once
    (its first occurrence).
    """
    if session_gap is not None and not session_gap > 0:
        raise InputError(f"session_gap must be > 0 seconds or None, got {session_gap!r}")
    order = np.lexsort((events.lines, events.timestamps, events.users))
    users = events.users[order]
    ts = events.timestamps[order]
    items = events.items[order]
    w = events.weights[order]
    cut = np.ones(len(order), dtype=bool)
    cut[1:] = users[1:] != users[:-1]
    if session_gap is not None:
        cut[1:] |= (ts[1:] - ts[:-1]) > session_gap
    if dedup:
        keep = np.ones(len(order), dtype=bool)
        keep[1:] = cut[1:] | (items[1:] != items[:-1])
        users, ts, items, w, cut = users[keep], ts[keep], items[keep], w[keep], cut[keep]
    starts = np.flatnonzero(cut)
    offsets = np.append(starts, len(items)).astype(np.int64)
    return Sessions(items.astype(np.int32), offsets, users[starts].astype(np.int32), ts, w.astype(np.float32),
                    events.item_vocab, events.user_vocab)
