"""The command line: help, option plumbing, end-to-end runs of embed and demo."""
import inspect
import re
import subprocess
import sys

import numpy as np
import pytest

import recembed.word2vec
from recembed import Corpus, Embeddings
from recembed.cli import main
from recembed.cli.embed import ITEM2VEC_DEFAULTS, WORD2VEC_DEFAULTS
from recembed.datasets import synthetic_shop, write_synthetic_shop
from recembed.word2vec import Item2Vec, Word2Vec

SUMMARY = re.compile(r"^(word2vec|item2vec): vocab ([\d,]+), ([\d,]+) sequences, ([\d,]+) tokens, (\d+) epochs?, "
                     r"[\d.]+ s \(training [\d.]+ s, [\d.]+[kMG]? words/s\) -> (\S+) \(([\d,]+) x (\d+)\)$")


def cli(*argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


@pytest.fixture(scope="module")
def shop_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("shop")
    write_synthetic_shop(d, n_users=300, n_items=120, n_categories=6, seed=3)
    log, _ = synthetic_shop(n_users=300, n_items=120, n_categories=6, seed=3)
    Corpus.from_log(log).save_text(d / "corpus.txt")
    log.to_parquet(d / "log.parquet")
    return d


@pytest.fixture(scope="module")
def corpus(shop_dir):
    return Corpus.from_file(shop_dir / "corpus.txt")


# -- help ---------------------------------------------------------------------------------------
def test_top_level_help_lists_the_commands():
    res = subprocess.run([sys.executable, "-m", "recembed", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "embed" in res.stdout and "demo" in res.stdout
    res = subprocess.run([sys.executable, "-m", "recembed"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "required" in res.stderr


W2V_OPTIONS = ["--input", "--output", "--format", "--dim", "--window", "--negative", "--hs", "--sg", "--cbow",
               "--epochs", "--min-count", "--max-vocab", "--sample", "--ns-exponent", "--alpha", "--min-alpha",
               "--no-shrink-windows", "--basket", "--threads", "--seed", "--quiet"]
LOG_OPTIONS = ["--log", "--user-col", "--item-col", "--time-col", "--session-gap", "--dedup"]


@pytest.mark.parametrize("method, options", [("word2vec", W2V_OPTIONS), ("item2vec", W2V_OPTIONS + LOG_OPTIONS)])
def test_method_help_lists_every_option(capsys, method, options):
    assert cli("embed", method, "--help") == 0
    out = capsys.readouterr().out
    for opt in options:
        assert re.search(rf"^\s+(\S+, )*{re.escape(opt)}\b", out, re.M), f"{opt} missing from help"


def test_embed_and_demo_help(capsys):
    assert cli("embed", "--help") == 0
    out = capsys.readouterr().out
    assert "word2vec" in out and "item2vec" in out
    assert cli("demo", "--help") == 0
    assert "same-category rate" in capsys.readouterr().out


@pytest.mark.parametrize("cls, defaults", [(Word2Vec, WORD2VEC_DEFAULTS), (Item2Vec, ITEM2VEC_DEFAULTS)])
def test_help_defaults_are_the_estimators_defaults(cls, defaults):
    sig = inspect.signature(cls.__init__).parameters
    for name, value in defaults.items():
        assert sig[name].default == value, name


def test_item2vec_help_states_its_own_defaults(capsys):
    cli("embed", "item2vec", "--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "max distance between centre and context token (default: 20)" in out
    assert "passes over the data (default: 10)" in out


# -- options reach the estimator ------------------------------------------------------------------
class Recorder:
    """Stands in for an estimator: records its parameters, 'trains' instantly."""

    calls = []

    def __init__(self, **params):
        self.params = params
        self.epochs = params.get("epochs", 5)
        Recorder.calls.append(self)

    def fit(self, corpus):
        self.corpus = corpus
        rng = np.random.default_rng(0)
        self.embeddings_ = Embeddings(corpus.vocab.keys, rng.normal(size=(len(corpus.vocab), 3)))
        return self


def _stand_in(real):
    """A Recorder subclass whose __init__ has ``real``'s signature (what estimator_params reads)."""
    def __init__(self, **params):
        Recorder.__init__(self, **params)

    __init__.__signature__ = inspect.signature(real.__init__)
    return type(f"Fake{real.__name__}", (Recorder,), {"__init__": __init__})


@pytest.fixture
def recorder(monkeypatch):
    Recorder.calls = []
    monkeypatch.setattr(recembed.word2vec, "Word2Vec", _stand_in(Word2Vec))
    monkeypatch.setattr(recembed.word2vec, "Item2Vec", _stand_in(Item2Vec))
    return Recorder.calls


def test_every_option_reaches_the_estimator(tmp_path, shop_dir, recorder):
    code = cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", tmp_path / "v.emb",
               "--cbow", "--dim", "16", "--window", "3", "--negative", "7", "--hs", "--epochs", "2",
               "--min-count", "2", "--max-vocab", "50", "--sample", "0", "--ns-exponent", "-0.5",
               "--alpha", "0.03", "--min-alpha", "0.001", "--no-shrink-windows", "--basket", "--threads", "1",
               "--seed", "9", "--quiet")
    assert code == 0
    (model,) = recorder
    assert model.params == dict(sg=False, dim=16, window=3, negative=7, hs=True, epochs=2, min_count=2,
                                max_vocab=50, sample=0.0, ns_exponent=-0.5, alpha=0.03, min_alpha=0.001,
                                shrink_windows=False, basket=True, threads=1, seed=9, progress=False)
    assert len(model.corpus.vocab) == 50 and model.corpus.vocab.counts.min() >= 2


def test_options_left_out_are_not_passed(tmp_path, shop_dir, recorder):
    assert cli("embed", "item2vec", "--input", shop_dir / "corpus.txt", "--output", tmp_path / "v.npz") == 0
    assert recorder[0].params == {}


def test_log_options_shape_the_sessions(tmp_path, shop_dir, recorder, capsys):
    log = shop_dir / "log.csv"
    assert cli("embed", "item2vec", "--log", log, "--output", tmp_path / "a.emb") == 0
    assert cli("embed", "item2vec", "--log", log, "--output", tmp_path / "b.emb", "--dedup") == 0
    assert cli("embed", "item2vec", "--log", log, "--output", tmp_path / "c.emb", "--session-gap", "none") == 0
    assert cli("embed", "item2vec", "--log", log, "--output", tmp_path / "d.emb", "--session-gap", "1s") == 0
    a, b, c, d = (m.corpus for m in recorder)
    assert b.n_tokens < a.n_tokens and len(b) == len(a)
    assert len(c) == 300 and c.n_tokens == a.n_tokens
    assert len(d) > len(a)
    assert recorder[1].params == {"dedup": True} and recorder[2].params == {"session_gap": None}


def test_log_column_names(tmp_path, recorder):
    path = tmp_path / "log.tsv"
    path.write_text("who\twhat\twhen\nu\ta\t2021-01-01 10:00\nu\tb\t2021-01-01 10:01\nv\tb\t2021-01-01 11:00\n")
    assert cli("embed", "item2vec", "--log", path, "--user-col", "who", "--item-col", "what", "--time-col", "when",
               "--output", tmp_path / "v.emb", "--quiet") == 0
    assert list(recorder[0].corpus) == [["a", "b"], ["b"]]


# -- real training, end to end --------------------------------------------------------------------
def test_the_documented_word2vec_command(tmp_path, shop_dir, corpus, capsys):
    out = tmp_path / "OUT.emb"
    code = cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", out, "--sg", "--dim", "128",
               "--window", "5", "--negative", "5", "--epochs", "1", "--min-count", "1", "--sample", "1e-3",
               "--threads", "2", "--seed", "1")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.err.strip().splitlines()
    m = SUMMARY.match(lines[-1])
    assert m, captured.err
    assert m.group(1) == "word2vec" and int(m.group(2).replace(",", "")) == len(corpus.vocab)
    assert int(m.group(4).replace(",", "")) == corpus.n_tokens and m.group(5) == "1"
    assert m.group(6) == str(out) and m.group(8) == "128"
    emb = Embeddings.load(out)
    assert emb.dim == 128 and emb.keys.tolist() == corpus.vocab.keys.tolist()
    assert np.isfinite(emb.vectors).all() and emb.vectors.std() > 0


@pytest.mark.parametrize("flags, ext", [(["--cbow"], ".bin"), (["--hs"], ".npz"), (["--hs", "--negative", "0"], ".vec"),
                                        (["--cbow", "--hs", "--negative", "0"], ".txt")])
def test_cbow_and_hs_write_every_format(tmp_path, shop_dir, corpus, flags, ext):
    out = tmp_path / f"v{ext}"
    assert cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", out, "--dim", "16",
               "--epochs", "1", "--threads", "1", "--quiet", *flags) == 0
    emb = Embeddings.load(out)
    assert len(emb) == len(corpus.vocab) and emb.dim == 16 and np.isfinite(emb.vectors).all()


def test_same_seed_one_thread_same_file(tmp_path, shop_dir):
    def run(name, seed):
        path = tmp_path / name
        assert cli("embed", "item2vec", "--log", shop_dir / "log.parquet", "--output", path, "--dim", "8",
                   "--epochs", "2", "--threads", "1", "--seed", seed, "--quiet") == 0
        return path.read_bytes()

    assert run("a.emb", 4) == run("b.emb", 4)
    assert run("c.emb", 5) != run("a.emb", 4)


def test_item2vec_on_the_shop_log_learns_categories(tmp_path, shop_dir, capsys):
    out = tmp_path / "sub" / "dir" / "items.npz"
    assert cli("embed", "item2vec", "--log", shop_dir / "log.csv", "--output", out, "--dim", "16",
               "--threads", "1", "--dedup") == 0
    assert SUMMARY.match(capsys.readouterr().err.strip().splitlines()[-1])
    emb = Embeddings.load(out)
    import pandas as pd

    items = pd.read_csv(shop_dir / "items.csv").astype({"item": str}).set_index("item")
    assert set(emb.keys.tolist()) <= set(items.index)
    cat = items["category"].reindex(emb.keys).to_numpy()
    hits = [cat[emb.index_of(k)] == cat[i] for i, key in enumerate(emb.keys.tolist())
            for k, _ in emb.most_similar(key, k=5)]
    assert np.mean(hits) > 0.5  # chance is about 1/6


def test_quiet_prints_nothing(tmp_path, shop_dir, capsys):
    assert cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", tmp_path / "v.emb",
               "--dim", "4", "--epochs", "1", "--threads", "1", "--quiet") == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_format_option_overrides_the_extension(tmp_path, shop_dir):
    out = tmp_path / "vectors.data"
    assert cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", out, "--format", "bin",
               "--dim", "4", "--epochs", "1", "--threads", "1", "--quiet") == 0
    assert Embeddings.load(out, format="bin").dim == 4


def test_demo_small(capsys, tmp_path):
    code = cli("demo", "--n-users", "400", "--n-items", "150", "--n-categories", "6", "--epochs", "5",
               "--threads", "1", "--dim", "16", "--output", tmp_path / "demo.npz")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Nearest neighbours" in out and out.count("category") >= 30
    m = re.search(r"sharing the query's category, over all [\d,]+ items: ([\d.]+)% \(chance ([\d.]+)%", out)
    assert m and float(m.group(1)) > 3 * float(m.group(2))
    assert len(Embeddings.load(tmp_path / "demo.npz")) > 100


@pytest.mark.parametrize("module", ["recembed.cli.embed", "recembed.cli.demo"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_a_failed_write_exits_1_and_keeps_the_old_file(tmp_path, shop_dir, recorder, monkeypatch, capsys):
    import os

    out = tmp_path / "v.emb"
    out.write_text("old")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert cli("embed", "word2vec", "--input", shop_dir / "corpus.txt", "--output", out, "--quiet") == 1
    err = capsys.readouterr().err
    assert f"cannot write {out}: No space left on device" in err
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["v.emb"]
