"""``recembed embed METHOD``: train embeddings from the command line and write them to a file.

One driver serves every method: it checks the output path before any work, times the
run, writes the vectors atomically (format from the extension) and prints one summary
line. A method is two small functions and one entry in :data:`METHODS`::

    def _add_deepwalk(p):            # method-specific options
        p.add_argument("--input", required=True, help="edge list")
        add_word2vec_args(p, basket=False)   # shared option groups
    def _run_deepwalk(args):         # -> Result
        model = DeepWalk(**estimator_params(args, DeepWalk)).fit(args.input)
        return Result(model.embeddings_, n_tokens=..., epochs=model.epochs)
    METHODS["deepwalk"] = Method("DeepWalk: ...", _add_deepwalk, _run_deepwalk)

The driver adds ``--output/--format`` and :func:`add_common_training_args` to every
method. Training options default to :data:`argparse.SUPPRESS`, so an option the user
does not give is not passed and the estimator's own default applies (the help text
states it; a test checks the two agree). Values are validated at parse time (bad
value: argparse's message, exit code 2, nothing written).
"""
from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .._io import InputError

_FORMATS = {".txt": "text", ".emb": "text", ".vec": "text", ".bin": "bin", ".npz": "npz"}
_S = argparse.SUPPRESS


# -- value types: argparse turns ArgumentTypeError into "argument --x: ..." and exit 2 --------
def _number(text: str, kind, what: str, ok: Callable[[float], bool]):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    return _number(text, int, "an integer > 0", lambda v: v > 0)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(text, int, "an integer >= 0", lambda v: v >= 0)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return _number(text, float, "a number > 0", lambda v: v > 0)


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _number(text, float, "a number >= 0", lambda v: v >= 0)


def finite_float(text: str) -> float:
    """argparse type: any finite number."""
    return _number(text, float, "a finite number", lambda v: True)


_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def column_names(text: str) -> list:
    """``user,item,category,event,timestamp`` -> a list of column names (for a log without a header).

    >>> column_names("user, item,timestamp")
    ['user', 'item', 'timestamp']
    """
    names = [t.strip() for t in text.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated column names, got {text!r}")
    return names


NAMES_HELP = ("column names of a CSV/TSV log that has no header line, comma-separated "
              "(e.g. Taobao's UserBehavior.csv: user,item,category,event,timestamp)")


def duration(text: str) -> float | None:
    """argparse type: seconds, or a number with a unit (``90s``, ``30m``, ``1h``, ``2d``), or ``none``.

    Examples
    --------
    >>> duration("30m"), duration("3600"), duration("none")
    (1800.0, 3600.0, None)
    """
    if text.strip().lower() == "none":
        return None
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(s|m|min|h|d)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"must be seconds or a duration like 30m, 1h, 2d, or 'none'; got {text!r}")
    seconds = _number(m.group(1), float, "a duration > 0", lambda v: v > 0)
    return seconds * _UNITS[m.group(2) or ""]


# -- shared option groups ---------------------------------------------------------------------
def add_output_args(parser: argparse.ArgumentParser) -> None:
    """``--output PATH`` (required), ``--format`` and ``--quiet``; the driver adds them to every method.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_output_args(p)
    >>> vars(p.parse_args(["-o", "v.bin"]))
    {'output': 'v.bin', 'format': None, 'quiet': False}
    """
    g = parser.add_argument_group("output")
    g.add_argument("--output", "-o", required=True, metavar="PATH",
                   help="where to write the vectors; the format follows the extension: .txt/.emb/.vec "
                        "word2vec text, .bin word2vec binary, .npz numpy (keys + float32 matrix). "
                        "Written atomically: on any error nothing is written and an existing file is kept")
    g.add_argument("--format", choices=["text", "bin", "npz"], default=None,
                   help="override the format the extension implies")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no progress and no summary line on stderr (errors are still printed)")


#: defaults of the word2vec options, as help text states them; per method, because
#: Item2Vec's differ. tests/test_cli.py checks them against the estimators' signatures.
WORD2VEC_DEFAULTS = dict(dim=100, window=5, sg=True, negative=5, hs=False, ns_exponent=0.75, sample=1e-3,
                         min_alpha=1e-4, epochs=5, min_count=1, max_vocab=None, shrink_windows=True, basket=False,
                         seed=1)
ITEM2VEC_DEFAULTS = dict(WORD2VEC_DEFAULTS, window=20, epochs=10, shrink_windows=False, basket=True)


def add_common_training_args(parser: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """Options every trainer has: ``--dim --epochs --threads --seed``.

    ``defaults`` (``dim``, ``epochs``, ``seed``) only fill the help text: an option left out
    is not passed, so the estimator's own default applies.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_common_training_args(p, {"epochs": 10})
    >>> vars(p.parse_args(["--dim", "64"]))
    {'dim': 64}
    >>> "passes over the data (default: 10)" in " ".join(p.format_help().split())
    True
    """
    d = dict(WORD2VEC_DEFAULTS, **(defaults or {}))
    g = parser.add_argument_group("training")
    g.add_argument("--dim", "--size", type=positive_int, default=_S, metavar="N",
                   help=f"vector size (default: {d['dim']})")
    g.add_argument("--epochs", "--iter", type=positive_int, default=_S, metavar="N",
                   help=f"passes over the data (default: {d['epochs']})")
    g.add_argument("--threads", type=positive_int, default=_S, metavar="N",
                   help=f"worker threads (default: {d.get('threads', 'all cores')}). "
                        + d.get("reproducible", "Only --threads 1 is bit-reproducible for a seed; with more threads "
                                                "the update order varies between runs, as in word2vec.c"))
    g.add_argument("--seed", type=nonnegative_int, default=_S, metavar="N",
                   help=f"random seed (default: {d['seed']})")


def add_word2vec_args(parser: argparse.ArgumentParser, defaults: dict | None = None, basket: bool = True) -> None:
    """The skip-gram/CBOW options, shared by every method that trains word2vec on sequences.

    ``defaults`` override :data:`WORD2VEC_DEFAULTS` in the help text (see
    :func:`add_common_training_args`); ``basket=False`` leaves out ``--basket``.

    Examples
    --------
    Only the options given end up in the namespace (the estimator supplies the rest):

    >>> p = argparse.ArgumentParser()
    >>> add_word2vec_args(p)
    >>> vars(p.parse_args(["--cbow", "--window", "3", "--no-shrink-windows"]))
    {'sg': False, 'window': 3, 'shrink_windows': False}
    """
    d = dict(WORD2VEC_DEFAULTS, **(defaults or {}))
    on_off = {True: "on", False: "off"}
    g = parser.add_argument_group("word2vec")
    arch = g.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_const", const=True, default=_S,
                      help="skip-gram: predict each context token from the centre token"
                           + (" (default)" if d["sg"] else ""))
    arch.add_argument("--cbow", dest="sg", action="store_const", const=False, default=_S,
                      help="CBOW: predict the centre token from the mean of its context"
                           + ("" if d["sg"] else " (default)"))
    g.add_argument("--window", type=positive_int, default=_S, metavar="N",
                   help=f"max distance between centre and context token (default: {d['window']})")
    g.add_argument("--shrink-windows", action=argparse.BooleanOptionalAction, default=_S,
                   help="draw each token's window from 1..N, as word2vec.c does, or always use N "
                        f"(default: {on_off[d['shrink_windows']]})")
    if basket:
        g.add_argument("--basket", action=argparse.BooleanOptionalAction, default=_S,
                       help="treat each sequence as an unordered set (Item2Vec): every other token of a "
                            "sequence is context; a sequence longer than 2*window+1 draws 2*window contexts "
                            f"per token (default: {on_off[d['basket']]})")
    g.add_argument("--negative", type=nonnegative_int, default=_S, metavar="K",
                   help=f"negative samples per positive pair, 0 for none (default: {d['negative']})")
    g.add_argument("--hs", action="store_const", const=True, default=_S,
                   help="hierarchical softmax over a Huffman tree; with --negative 0 for HS only (default: off)")
    g.add_argument("--ns-exponent", type=finite_float, default=_S, metavar="X",
                   help="negatives are drawn with probability proportional to count**X; 0 uniform, "
                        f"negative favours rare tokens (default: {d['ns_exponent']})")
    g.add_argument("--sample", type=nonnegative_float, default=_S, metavar="T",
                   help=f"down-sample tokens more frequent than T of the corpus, 0 to keep all (default: {d['sample']:g})")
    g.add_argument("--alpha", type=positive_float, default=_S, metavar="LR",
                   help="initial learning rate (default: 0.025 skip-gram, 0.05 CBOW)")
    g.add_argument("--min-alpha", type=nonnegative_float, default=_S, metavar="LR",
                   help=f"learning rate at the end, decayed linearly (default: {d['min_alpha']:g})")
    g.add_argument("--min-count", type=positive_int, default=_S, metavar="N",
                   help=f"drop tokens seen fewer than N times (default: {d['min_count']})")
    g.add_argument("--max-vocab", type=positive_int, default=_S, metavar="N",
                   help="keep only the N most frequent tokens (default: no limit)")


def add_log_args(parser: argparse.ArgumentParser) -> None:
    """Options for reading a behaviour log (CSV, TSV, Parquet) and cutting it into sessions.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_log_args(p)
    >>> vars(p.parse_args(["--session-gap", "30m", "--dedup"]))
    {'session_gap': 1800.0, 'dedup': True}
    """
    g = parser.add_argument_group("behaviour log (with --log)")
    g.add_argument("--user-col", default=_S, metavar="NAME", help="user id column (default: user)")
    g.add_argument("--item-col", default=_S, metavar="NAME", help="item id column (default: item)")
    g.add_argument("--time-col", default=_S, metavar="NAME",
                   help="time column: seconds, or dates/times pandas parses (default: timestamp)")
    g.add_argument("--session-gap", type=duration, default=_S, metavar="GAP",
                   help="start a new session after this much inactivity: seconds or 30m, 1h, 2d; "
                        "'none' for one sequence per user (default: 1h)")
    g.add_argument("--dedup", action="store_const", const=True, default=_S,
                   help="keep an item repeated consecutively within a session once")
    g.add_argument("--names", type=column_names, default=_S, metavar="A,B,...", help=NAMES_HELP)


_LOG_OPTIONS = ("user_col", "item_col", "time_col", "names", "session_gap", "dedup")


# -- the method table ----------------------------------------------------------------------------
@dataclass
class Result:
    """What a method's ``run`` returns to the driver.

    ``n_tokens`` and ``epochs`` give the words/s figure; ``train_seconds`` is the time of
    the training step alone (the driver falls back to the whole run).
    """

    embeddings: object
    n_tokens: int | None = None
    epochs: int | None = None
    n_sequences: int | None = None
    train_seconds: float | None = None


@dataclass
class Method:
    """One ``recembed embed`` sub-command: help text, option adder, runner.

    ``defaults`` fill the help text of :func:`add_common_training_args`.
    """

    help: str
    add_args: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Result]
    description: str | None = None
    defaults: dict | None = None


def estimator_params(args: argparse.Namespace, cls) -> dict:
    """The parsed options named like ``cls.__init__`` parameters (those the user gave).

    Examples
    --------
    >>> class M:
    ...     def __init__(self, dim=100, window=5): pass
    >>> estimator_params(argparse.Namespace(dim=8, output="x"), M)
    {'dim': 8}
    """
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    params = {n: getattr(args, n) for n in names if hasattr(args, n)}
    if "progress" in names and getattr(args, "quiet", False):
        params["progress"] = False
    return params


def _check_word2vec(args) -> None:
    if getattr(args, "negative", None) == 0 and not getattr(args, "hs", False):
        raise InputError("--negative 0 needs --hs: without negative sampling or hierarchical softmax nothing is trained")
    alpha, min_alpha = getattr(args, "alpha", None), getattr(args, "min_alpha", None)
    if alpha is not None and min_alpha is not None and min_alpha > alpha:
        raise InputError(f"--min-alpha ({min_alpha}) must not exceed --alpha ({alpha})")


def _train_word2vec(cls, args, corpus) -> Result:
    params = estimator_params(args, cls)
    model = cls(**params)
    t0 = time.perf_counter()
    model.fit(corpus)
    seconds = getattr(model, "train_seconds_", None) or (time.perf_counter() - t0)
    return Result(model.embeddings_, n_tokens=corpus.n_tokens, epochs=int(model.epochs), n_sequences=len(corpus),
                  train_seconds=seconds)


def _add_word2vec(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("input (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument("--input", "-i", metavar="PATH",
                     help="text corpus: one sequence per line, tokens separated by whitespace, UTF-8")
    src.add_argument("--walks", metavar="WALKS.parquet",
                     help="walk table of 'recembed spark walks' (read in Arrow chunks)")
    add_word2vec_args(p, WORD2VEC_DEFAULTS)


def _run_word2vec(args) -> Result:
    from ..data import Corpus

    _check_word2vec(args)
    if getattr(args, "walks", None):
        from ..spark.io import read_walks  # pyarrow only: no Spark needed to train

        corpus = read_walks(args.walks).trim(getattr(args, "min_count", 1), getattr(args, "max_vocab", None))
    else:
        corpus = Corpus.from_file(args.input, min_count=getattr(args, "min_count", 1),
                                  max_vocab=getattr(args, "max_vocab", None))
    from ..word2vec import Word2Vec  # after reading: bad input is reported without loading the engine

    return _train_word2vec(Word2Vec, args, corpus)


def _add_item2vec(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("input (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument("--input", "-i", metavar="PATH",
                     help="item sequences, one per line, ids separated by whitespace")
    src.add_argument("--log", metavar="PATH",
                     help="behaviour log (.csv, .tsv, .parquet) with user, item and time columns; each "
                          "user's actions are time-ordered and cut into sessions")
    add_word2vec_args(p, ITEM2VEC_DEFAULTS)
    add_log_args(p)


def _run_item2vec(args) -> Result:
    from ..data import Corpus

    _check_word2vec(args)
    trim = dict(min_count=getattr(args, "min_count", 1), max_vocab=getattr(args, "max_vocab", None))
    if args.log is None:
        given = [f"--{o.replace('_', '-')}" for o in _LOG_OPTIONS if hasattr(args, o)]
        if given:
            raise InputError(f"{', '.join(given)} only apply to --log input")
        corpus = Corpus.from_file(args.input, **trim)
    else:
        read = {o: getattr(args, o) for o in ("user_col", "item_col", "time_col", "names") if hasattr(args, o)}
        corpus = Corpus.from_log(args.log, session_gap=getattr(args, "session_gap", 3600.0),
                                 dedup=getattr(args, "dedup", False), **trim, **read)
        if corpus.n_tokens == 0:
            raise InputError(f"no item occurs at least min_count={trim['min_count']} times", args.log)
        _check_keys_fit(corpus.vocab.keys, args)
    from ..word2vec import Item2Vec

    return _train_word2vec(Item2Vec, args, corpus)


def _check_keys_fit(keys, args) -> None:
    """Fail before training when the word2vec formats could not hold a key."""
    if args._format == "npz":
        return
    bad = next((k for k in keys.tolist() if not k or any(c.isspace() for c in k)), None)
    if bad is not None:
        raise InputError(f"item id {bad!r} is empty or contains whitespace, which word2vec text/binary files "
                         f"cannot hold; write .npz instead")


#: method name -> Method; add a line here to add ``recembed embed NAME``
METHODS: dict[str, Method] = {
    "word2vec": Method(
        "Word2Vec (skip-gram or CBOW) on a text corpus",
        _add_word2vec, _run_word2vec,
        "Train word2vec on a whitespace-tokenised corpus (one sequence per line) and write the vectors. "
        "Options follow word2vec.c (-size -> --dim, -iter -> --epochs, -cbow 0/1 -> --sg/--cbow, -hs 1 -> --hs).",
        WORD2VEC_DEFAULTS),
    "item2vec": Method(
        "Item2Vec: word2vec on item sequences or on sessions cut from a behaviour log",
        _add_item2vec, _run_item2vec,
        "Train item embeddings from item sequences (--input) or from a behaviour log (--log): each user's "
        "actions are ordered by time and cut into sessions at gaps longer than --session-gap; every session "
        "is one sequence. Defaults follow Item2Vec: sessions are baskets (--basket), window 20, 10 epochs.",
        ITEM2VEC_DEFAULTS),
}

# graph-walk methods (DeepWalk, Node2Vec) are defined with the graph command
from .graph import walk_methods as _walk_methods  # noqa: E402  (uses the helpers above)

METHODS.update(_walk_methods())


# -- EGES / GES / BGE: the item graph of a log plus side information (recembed.models.eges) ----------
EGES_DEFAULTS = {"dim": 64, "epochs": 3, "seed": 1}


def _add_eges(p: argparse.ArgumentParser, items_required: bool = True) -> None:
    g = p.add_argument_group("input")
    g.add_argument("--log", required=True, metavar="PATH",
                   help="behaviour log (.csv, .tsv, .parquet) with user, item and time columns; consecutive "
                        "actions of a session become weighted edges of the item graph")
    g.add_argument("--items", required=items_required, default=None, metavar="PATH",
                   help="item table (.csv, .tsv, .parquet): item id first (or a column named 'item'), then "
                        "side-info columns; ';' separates values of a multi-valued cell. Every item of the "
                        "table gets a vector, items never in the log from side information alone"
                   + ("" if items_required else " (BGE: the centroid of the graph items)"))
    g.add_argument("--user-col", default=_S, metavar="NAME", help="log user column (default: user)")
    g.add_argument("--log-item-col", dest="log_item_col", default=_S, metavar="NAME",
                   help="log item column (default: item)")
    g.add_argument("--time-col", default=_S, metavar="NAME",
                   help="log time column: seconds or dates/times pandas parses (default: timestamp)")
    g.add_argument("--names", type=column_names, default=_S, metavar="A,B,...", help=NAMES_HELP)
    g.add_argument("--session-gap", type=duration, default=_S, metavar="GAP",
                   help="start a new session after this much inactivity: seconds or 30m, 1h, 2d; 'none' for one "
                        "sequence per user (default: 1h)")
    m = p.add_argument_group("model")
    m.add_argument("--walks-per-node", type=positive_int, default=_S, metavar="N", help="walks per item (default: 10)")
    m.add_argument("--walk-length", type=positive_int, default=_S, metavar="N", help="items per walk (default: 20)")
    m.add_argument("--window", type=positive_int, default=_S, metavar="N", help="skip-gram window (default: 5)")
    m.add_argument("--negative", type=positive_int, default=_S, metavar="K", help="negative samples (default: 5)")
    m.add_argument("--alpha", type=positive_float, default=_S, metavar="LR", help="learning rate (default: 0.025)")
    if items_required:
        m.add_argument("--cold-start", choices=["regression", "attention", "mean"], default=_S,
                       help="how items outside the graph get vectors from side information (default: regression)")


def _run_eges(cls_name: str):
    def run(args) -> Result:
        from ..models import eges

        cls = getattr(eges, cls_name)
        params = {k: v for k, v in estimator_params(args, cls).items() if k != "item_col"}
        read = {k: getattr(args, a) for k, a in (("user_col", "user_col"), ("item_col", "log_item_col"),
                                                  ("time_col", "time_col"), ("names", "names")) if hasattr(args, a)}
        model = cls(**params).fit(args.log, items=args.items, **read)
        _check_keys_fit(model.embeddings_.keys, args)
        return Result(model.embeddings_, n_tokens=model.n_tokens_, epochs=model.epochs,
                      train_seconds=model.train_seconds_)

    return run


METHODS.update({
    "eges": Method(
        "EGES: item graph of a log + side information, learned per-item weights (cold items from side info)",
        _add_eges, _run_eges("EGES"),
        "Enhanced Graph Embedding with Side information (Wang et al., KDD 2018): weighted walks on the session "
        "item graph, skip-gram whose input is a per-item learned weighted mean of the item-id and side-info "
        "embeddings. Items of --items never seen in --log get vectors from their side information.",
        EGES_DEFAULTS),
    "ges": Method(
        "GES: as EGES with a plain mean of the item-id and side-info embeddings",
        _add_eges, _run_eges("GES"), None, EGES_DEFAULTS),
    "bge": Method(
        "BGE: DeepWalk on the weighted session item graph (no side information)",
        lambda p: _add_eges(p, items_required=False), _run_eges("BGE"), None, EGES_DEFAULTS),
})



# -- LINE / SDNE / Struc2Vec (recembed.models.line, .sdne, .struc2vec) -----------------------------
LINE_DEFAULTS = {"dim": "128 per order (256 with --order both)", "seed": 1, "threads": 1}
SDNE_DEFAULTS = {"dim": 128, "epochs": 5, "seed": 1, "threads": "torch's own setting",
                 "reproducible": "A seed gives the same vectors at a given thread count (deterministic torch "
                                 "algorithms on CPU)"}
STRUC2VEC_DEFAULTS = {"dim": 128, "epochs": "max(5, min(20, 1M tokens / walk tokens))", "seed": 1, "threads": 1}


def _add_graph_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", "-i", required=True, metavar="PATH",
                   help="edge list: 'u v' or 'u v weight' per line")
    p.add_argument("--directed", action="store_const", const=True, default=_S,
                   help="read the edge list as directed (default: undirected)")


def _add_line(p: argparse.ArgumentParser) -> None:
    _add_graph_input(p)
    g = p.add_argument_group("LINE")
    g.add_argument("--order", choices=["first", "second", "both"], default=_S,
                   help="first-order, second-order, or both (--dim/2 each, L2-normalised, concatenated) "
                        "(default: both)")
    g.add_argument("--samples", type=positive_float, default=_S, metavar="M",
                   help="edge samples per order, in millions (default: 400 per arc, within 1M..100M)")
    g.add_argument("--negative", type=nonnegative_int, default=_S, metavar="K", help="negatives per sample (default: 10)")
    g.add_argument("--rho", dest="learning_rate", type=positive_float, default=_S, metavar="LR",
                   help="initial learning rate, decayed linearly (default: 0.025)")
    g.add_argument("--reconstruct", type=nonnegative_int, default=_S, metavar="K",
                   help="give vertices with fewer than K neighbours their second-order neighbours (default: 30; 0: off)")


def _run_graph_model(module: str, cls_name: str, no_epochs: bool = False):
    def run(args) -> Result:
        import importlib

        cls = getattr(importlib.import_module(f"..models.{module}", __package__), cls_name)
        if no_epochs and hasattr(args, "epochs"):
            raise InputError(f"--epochs does not apply to {cls_name}; use --samples")
        params = estimator_params(args, cls)
        t0 = time.perf_counter()
        model = cls(**params).fit(args.input)
        epochs = getattr(model, "epochs_", getattr(model, "epochs", None))
        return Result(model.embeddings_, epochs=epochs if not no_epochs else None,
                      train_seconds=time.perf_counter() - t0)

    return run


def _add_sdne(p: argparse.ArgumentParser) -> None:
    _add_graph_input(p)
    g = p.add_argument_group("SDNE")
    g.add_argument("--hidden", type=positive_int, nargs="+", default=_S, metavar="N",
                   help="hidden layer sizes between the input and the embedding (default: 512)")
    g.add_argument("--alpha", type=nonnegative_float, default=_S, help="first-order (Laplacian) weight (default: 300)")
    g.add_argument("--laplacian", choices=["normalized", "plain"], default=_S,
                   help="first-order term over ||y_i/sqrt(d_i) - y_j/sqrt(d_j)||^2 (normalized) or the paper's "
                        "||y_i - y_j||^2 (plain; use an alpha near 30) (default: normalized)")
    g.add_argument("--beta", type=positive_float, default=_S, help="weight of nonzero entries (default: 10)")
    g.add_argument("--nu", type=nonnegative_float, default=_S, help="L2 regularisation (default: 1e-4)")
    g.add_argument("--batch-size", type=positive_int, default=_S, metavar="N", help="arcs or nodes per step (default: 1024)")
    g.add_argument("--batch", choices=["edges", "nodes"], default=_S, help="batch of arcs or nodes (default: edges)")
    g.add_argument("--learning-rate", type=positive_float, default=_S, metavar="LR", help="Adam step (default: 0.002)")
    g.add_argument("--device", default=_S, help="auto (GPU if present), cpu, cuda, ... (default: auto)")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=_S,
                   help="output each dimension as z-scores over the nodes (default: on)")


def _add_struc2vec(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", "-i", required=True, metavar="PATH",
                   help="edge list: 'u v' per line (unweighted for structure)")
    p.add_argument("--directed", action="store_const", const=True, default=_S,
                   help="read the edge list as directed and compare rings by out- and in-degree sequences "
                        "(default: undirected)")
    g = p.add_argument_group("Struc2Vec")
    g.add_argument("--walk-length", type=positive_int, default=_S, metavar="N", help="nodes per walk (default: 80)")
    g.add_argument("--walks-per-node", "--num-walks", type=positive_int, default=_S, metavar="N",
                   help="walks from every node (default: 10)")
    g.add_argument("--window", type=positive_int, default=_S, metavar="N", help="skip-gram window (default: 5)")
    g.add_argument("--stay-prob", type=positive_float, default=_S, metavar="Q",
                   help="probability of a step within the current layer (default: 0.3)")
    g.add_argument("--max-layer", "--until-layer", type=nonnegative_int, default=_S, metavar="K",
                   help="OPT3: use rings 0..K (default: 3)")
    for opt, what in (("opt1", "compressed degree sequences"), ("opt2", "only the --n-candidates nearest-degree candidates"),
                      ("opt3", "cap the layers at --max-layer")):
        g.add_argument(f"--{opt}", action=argparse.BooleanOptionalAction, default=_S, help=f"{what} (default: on)")
    g.add_argument("--n-candidates", type=positive_int, default=_S, metavar="K",
                   help="OPT2 candidates per node (default: max(2 log2 n, min(15%% of n, 200000/n)))")
    g.add_argument("--cache-dir", default=_S, metavar="DIR",
                   help="keep the distances/multilayer graph here and reuse them (never deleted)")


METHODS.update({
    "line": Method(
        "LINE: first/second-order proximity by edge sampling (Tang et al. 2015)",
        _add_line, _run_graph_model("line", "LINE", no_epochs=True),
        "LINE, as the reference C++: weighted edge sampling (alias table), degree^0.75 negatives, hogwild SGD "
        "with a linear learning-rate decay over --samples million edge samples per order.",
        LINE_DEFAULTS),
    "sdne": Method(
        "SDNE: deep autoencoder of adjacency rows with a Laplacian first-order term (PyTorch)",
        _add_sdne, _run_graph_model("sdne", "SDNE"), None, SDNE_DEFAULTS),
    "struc2vec": Method(
        "Struc2Vec: structural identity via a multilayer graph of DTW distances, then skip-gram",
        _add_struc2vec, _run_graph_model("struc2vec", "Struc2Vec"), None, STRUC2VEC_DEFAULTS),
})


# -- the driver ----------------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``embed`` and one sub-command per entry of :data:`METHODS`."""
    embed = subparsers.add_parser("embed", help="train embeddings and write them to a file",
                                  description="Train embeddings with one method and write them to --output. "
                                              "Run 'recembed embed METHOD --help' for a method's options.")
    methods = embed.add_subparsers(dest="method", metavar="METHOD")
    methods.required = True
    for name, method in METHODS.items():
        p = methods.add_parser(name, help=method.help, description=method.description or method.help)
        method.add_args(p)
        add_common_training_args(p, method.defaults)
        add_output_args(p)
        p.set_defaults(handler=_handle, _method=name)


def output_format(path, explicit: str | None = None) -> str:
    """The embeddings format for ``path``: ``explicit`` or the one its extension names.

    Examples
    --------
    >>> output_format("vectors.emb"), output_format("v.bin"), output_format("v.data", "npz")
    ('text', 'bin', 'npz')
    """
    if explicit:
        return explicit
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the output format from {Path(path).suffix or 'no extension'!r}: "
                         f"use .txt, .emb or .vec (word2vec text), .bin (word2vec binary), .npz, or --format")
    return fmt


def check_output_path(out, inputs=()) -> Path:
    """Refuse an output path that cannot be written, or that is one of ``inputs``, before any work."""
    out = Path(out)
    if out.is_dir():
        raise InputError("output is a directory, expected a file path", out)
    for src in filter(None, inputs):
        if out.exists() and Path(src).exists() and out.resolve() == Path(src).resolve():
            raise InputError("output would overwrite the input", out)
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {str(parent)!r}", out)
    return out


def _check_output(args) -> None:
    """Refuse an output we could not write before spending time on training."""
    args._format = output_format(Path(args.output), args.format)
    check_output_path(args.output, [getattr(args, n, None) for n in ("input", "log")])


def _handle(args) -> int:
    method = METHODS[args._method]
    _check_output(args)
    t0 = time.perf_counter()
    result = method.run(args)
    try:
        result.embeddings.save(args.output, format=args._format)
    except OSError as e:  # disk full, permissions changed during training: the old file is intact
        print(f"recembed: error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    total = time.perf_counter() - t0
    if not args.quiet:
        print(summary_line(args._method, result, total, args.output), file=sys.stderr)
    return 0


def summary_line(name: str, result: Result, total_seconds: float, output) -> str:
    """``word2vec: vocab 71,290, 17,005,207 tokens, 1 epoch, 12.3 s (1.38M words/s) -> out.emb``.

    Examples
    --------
    >>> import numpy as np
    >>> from recembed import Embeddings
    >>> emb = Embeddings(["a", "b"], np.zeros((2, 4)))
    >>> summary_line("word2vec", Result(emb, n_tokens=2_000_000, epochs=2, train_seconds=4.0), 4.5, "v.emb")
    'word2vec: vocab 2, 2,000,000 tokens, 2 epochs, 4.5 s (training 4.0 s, 1.00M words/s) -> v.emb (2 x 4)'
    """
    emb = result.embeddings
    parts = [f"{name}: vocab {len(emb):,}"]
    if result.n_sequences is not None:
        parts.append(f"{result.n_sequences:,} sequences")
    if result.n_tokens is not None:
        parts.append(f"{result.n_tokens:,} tokens")
    if result.epochs is not None:
        parts.append(f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}")
    train = result.train_seconds if result.train_seconds is not None else total_seconds
    timing = f"{total_seconds:.1f} s"
    if result.n_tokens is not None and train > 0:
        rate = result.n_tokens * (result.epochs or 1) / train
        timing += f" (training {train:.1f} s, {_si(rate)} words/s)"
    return ", ".join(parts) + f", {timing} -> {output} ({len(emb):,} x {emb.dim})"


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:.0f}"
