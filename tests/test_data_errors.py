"""Bad input: a clear InputError naming file and line, and a CLI that exits 2 writing nothing."""
import numpy as np
import pandas as pd
import pytest

from recembed import Corpus, InputError, read_log, sessionize
from recembed.cli import main

HEADER = "user,item,timestamp\n"


def cli(*argv) -> int:
    """Exit code of ``recembed argv`` run in-process (argparse errors raise SystemExit)."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_cli_fails(tmp_path, capsys, *argv, expect=None):
    """Run ``embed`` with argv plus an output path; exit 2, message on stderr, no output file."""
    out = tmp_path / "out" / "vectors.emb"
    code = cli(*argv, "--output", out, "--epochs", "1", "--dim", "4")
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists() and not out.parent.exists()
    if expect:
        assert expect in err, err
    return err


# -- the library names file and line ---------------------------------------------------------
@pytest.mark.parametrize("reader", [Corpus.from_file, read_log])
def test_missing_file(tmp_path, reader):
    with pytest.raises(InputError, match="no such file") as err:
        reader(tmp_path / "nope.txt")
    assert err.value.path == str(tmp_path / "nope.txt")


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_empty_corpus(tmp_path, content):
    with pytest.raises(InputError, match="empty|no tokens"):
        Corpus.from_file(write(tmp_path, "c.txt", content))


@pytest.mark.parametrize("content, message", [("", "file is empty"), (HEADER, "no events"),
                                              (HEADER + "\n\n", "no events")])
def test_empty_log(tmp_path, content, message):
    with pytest.raises(InputError, match=message):
        read_log(write(tmp_path, "log.csv", content))


@pytest.mark.parametrize("body, line, found", [
    ("u,a,1\nu,b,2,9\nv,c,3\n", 3, 4),       # one line too long
    ("u,a,1\nu,b\nv,c,3\n", 3, 2),           # one line too short
    ("u,a,1,7\nu,b,2,7\n", 2, 4),             # every line too long: pandas would make an index of it
])
def test_wrong_number_of_columns(tmp_path, body, line, found):
    path = write(tmp_path, "log.csv", HEADER + body)
    with pytest.raises(InputError, match=f"expected 3 columns, found {found}") as err:
        read_log(path)
    assert (err.value.path, err.value.line) == (str(path), line)
    assert str(err.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("weight", ["abc", "nan", "NaN", "inf", "-1", ""])
def test_bad_weight(tmp_path, weight):
    path = write(tmp_path, "log.csv", "user,item,timestamp,weight\nu,a,1,1\nu,b,2,0.5\nu,c,3," + weight + "\n")
    with pytest.raises(InputError, match="weight|missing value") as err:
        read_log(path)
    assert err.value.line == 4


def test_zero_weight_is_allowed(tmp_path):
    ev = read_log(write(tmp_path, "log.csv", "user,item,timestamp,weight\nu,a,1,0\nu,b,2,2.5\n"))
    assert ev.weights.tolist() == [0.0, 2.5]


@pytest.mark.parametrize("times, bad", [(["1", "2", "later"], "later"),
                                        (["2021-03-01 10:00", "2021-03-01 10:05", "yesterday"], "yesterday"),
                                        (["1", "2", "2021-13-45"], "2021-13-45")])
def test_unparseable_timestamp(tmp_path, times, bad):
    rows = "".join(f"u,i{k},{t}\n" for k, t in enumerate(times))
    path = write(tmp_path, "log.csv", HEADER + rows)
    with pytest.raises(InputError, match=f"timestamp '{bad}' does not parse") as err:
        read_log(path)
    assert err.value.line == 4


def test_datetimes_parse_to_seconds(tmp_path):
    path = write(tmp_path, "log.csv", HEADER + "u,a,2021-03-01 10:00:00\nu,b,2021-03-01 10:00:30\n")
    ev = read_log(path)
    assert np.diff(ev.timestamps).tolist() == [30.0]


def test_missing_column_names_the_header(tmp_path):
    path = write(tmp_path, "log.csv", "user,product,timestamp\nu,a,1\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['item'\]") as err:
        read_log(path)
    assert err.value.line == 1
    assert len(read_log(path, item_col="product")) == 1


def test_missing_id(tmp_path):
    path = write(tmp_path, "log.csv", HEADER + "u,a,1\n,b,2\n")
    with pytest.raises(InputError, match="missing value in column 'user'") as err:
        read_log(path)
    assert err.value.line == 3


def test_dataframe_errors_name_the_row():
    df = pd.DataFrame({"user": ["u", "u"], "item": ["a", "b"], "timestamp": ["1", "soon"]}, index=[10, 11])
    with pytest.raises(InputError, match=r"'soon' does not parse as a time \(row 11\)"):
        read_log(df)


def test_non_utf8_corpus_names_the_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b\nc d\ne \xff f\n")
    with pytest.raises(InputError, match="UTF-8") as err:
        Corpus.from_file(path)
    assert err.value.line == 3


def test_min_count_that_drops_everything(tmp_path):
    with pytest.raises(InputError, match="min_count=5"):
        Corpus.from_file(write(tmp_path, "c.txt", "a b\nc d\n"), min_count=5)


# -- formats, sessions, dedup -------------------------------------------------------------------
LOG = pd.DataFrame({"user": ["u1", "u2", "u1", "u1", "u2", "u1", "u1"],
                    "item": ["a", "x", "b", "b", "y", "c", "a"],
                    "timestamp": [100, 105, 110, 120, 200, 5000, 5001]})


def _sessions(s):
    keys = s.item_vocab.keys
    return [keys[s.items[s.offsets[i]:s.offsets[i + 1]]].tolist() for i in range(len(s))]


@pytest.mark.parametrize("name", ["log.csv", "log.tsv", "log.parquet"])
def test_csv_tsv_and_parquet_logs_load_the_same(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".parquet"):
        LOG.to_parquet(path)
    else:
        LOG.to_csv(path, sep="\t" if name.endswith(".tsv") else ",", index=False)
    ev = read_log(path)
    assert ev.user_vocab.keys[ev.users].tolist() == LOG["user"].tolist()
    assert ev.item_vocab.keys[ev.items].tolist() == LOG["item"].tolist()
    assert ev.timestamps.tolist() == LOG["timestamp"].astype(float).tolist()
    assert _sessions(sessionize(ev)) == [["a", "b", "b"], ["c", "a"], ["x", "y"]]


def test_tsv_with_commas_in_ids(tmp_path):
    path = write(tmp_path, "log.tsv", "user\titem\ttimestamp\nu\tshoes, red\t1\nu\that\t2\n")
    ev = read_log(path)
    assert ev.item_vocab.keys[ev.items].tolist() == ["shoes, red", "hat"]


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "log.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="cannot read Parquet") as err:
        read_log(path)
    assert err.value.path == str(path)


def test_session_cutting_at_the_gap():
    df = pd.DataFrame({"user": ["u"] * 4, "item": ["a", "b", "c", "d"], "timestamp": [0, 60, 120, 181]})
    ev = read_log(df)
    assert _sessions(sessionize(ev, session_gap=60)) == [["a", "b", "c"], ["d"]]  # a gap of exactly 60 s stays
    assert _sessions(sessionize(ev, session_gap=59)) == [["a"], ["b"], ["c"], ["d"]]
    assert _sessions(sessionize(ev, session_gap=None)) == [["a", "b", "c", "d"]]
    with pytest.raises(InputError, match="session_gap"):
        sessionize(ev, session_gap=0)


def test_sessions_are_time_ordered_per_user_whatever_the_file_order():
    shuffled = LOG.sample(frac=1.0, random_state=3)
    s = sessionize(read_log(shuffled), session_gap=3600)
    assert sorted(_sessions(s)) == [["a", "b", "b"], ["c", "a"], ["x", "y"]]


def test_dedup_drops_consecutive_repeats_inside_a_session_only():
    df = pd.DataFrame({"user": ["u"] * 6, "item": ["a", "a", "b", "a", "a", "a"],
                       "timestamp": [0, 1, 2, 3, 4, 9999]})
    ev = read_log(df)
    assert _sessions(sessionize(ev, session_gap=3600, dedup=True)) == [["a", "b", "a"], ["a"]]
    assert _sessions(sessionize(ev, session_gap=3600)) == [["a", "a", "b", "a", "a"], ["a"]]
    corpus = Corpus.from_log(ev, session_gap=3600, dedup=True)
    assert list(corpus) == [["a", "b", "a"], ["a"]] and corpus.vocab.counts.tolist() == [3, 1]


# -- the CLI exits 2 and writes nothing -----------------------------------------------------------
@pytest.fixture
def corpus_file(tmp_path):
    return write(tmp_path, "corpus.txt", "a b c d\nb c d e\n" * 20)


def test_cli_missing_input(tmp_path, capsys):
    assert_cli_fails(tmp_path, capsys, "embed", "word2vec", "--input", tmp_path / "nope.txt",
                     expect=f"{tmp_path / 'nope.txt'}: no such file")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", tmp_path / "nope.csv", expect="no such file")


def test_cli_empty_input(tmp_path, capsys):
    assert_cli_fails(tmp_path, capsys, "embed", "word2vec", "--input", write(tmp_path, "e.txt", ""),
                     expect="file is empty")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", write(tmp_path, "e.csv", HEADER),
                     expect="log has no events")


def test_cli_bad_log_lines_name_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "log.csv", HEADER + "u,a,1\nu,b,2,x\n")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", path,
                     expect=f"{path}:3: expected 3 columns, found 4")
    path = write(tmp_path, "log2.csv", "user,item,timestamp,weight\nu,a,1,1\nu,b,2,-1\n")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", path, expect=f"{path}:3: weight '-1'")
    path = write(tmp_path, "log3.csv", HEADER + "u,a,1\nu,b,noon\n")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", path, expect=f"{path}:3: timestamp 'noon'")
    path = write(tmp_path, "log4.csv", "user,item\nu,a\n")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", path, expect="missing column(s) ['timestamp']")


@pytest.mark.parametrize("option, value", [("--dim", "0"), ("--dim", "-3"), ("--dim", "abc"), ("--dim", "1.5"),
                                           ("--window", "0"), ("--window", "-1"), ("--epochs", "0"),
                                           ("--negative", "-1"), ("--sample", "-0.1"), ("--alpha", "0"),
                                           ("--alpha", "nan"), ("--threads", "0"), ("--min-count", "0"),
                                           ("--ns-exponent", "inf"), ("--max-vocab", "0")])
def test_cli_invalid_numbers(tmp_path, capsys, corpus_file, option, value):
    args = ["embed", "word2vec", "--input", corpus_file, option, value]
    if option in ("--dim", "--epochs"):  # assert_cli_fails adds valid ones; put the bad one last
        out = tmp_path / "v.emb"
        code = cli(*args[:4], "--output", out, option, value)
        assert code == 2 and not out.exists()
        assert f"argument {option}" in capsys.readouterr().err
    else:
        err = assert_cli_fails(tmp_path, capsys, *args)
        assert f"argument {option}: must be" in err


@pytest.mark.parametrize("argv, expect", [
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--sg", "--cbow"], "not allowed with argument"),
    (["--negative", "0"], "--negative 0 needs --hs"),
    (["--alpha", "0.01", "--min-alpha", "0.1"], "must not exceed --alpha"),
])
def test_cli_bad_option_combinations(tmp_path, capsys, corpus_file, argv, expect):
    assert_cli_fails(tmp_path, capsys, "embed", "word2vec", "--input", corpus_file, *argv, expect=expect)


def test_cli_unknown_method_and_missing_required(tmp_path, capsys, corpus_file):
    assert cli("embed", "glove", "--input", corpus_file, "--output", tmp_path / "v.emb") == 2
    assert cli("embed", "word2vec", "--input", corpus_file) == 2
    assert "--output" in capsys.readouterr().err
    assert cli("embed", "item2vec", "--output", tmp_path / "v.emb") == 2
    assert "one of the arguments --input/-i --log is required" in capsys.readouterr().err
    assert cli("embed", "item2vec", "--input", corpus_file, "--log", corpus_file, "--output", tmp_path / "v.emb") == 2
    assert not (tmp_path / "v.emb").exists()


def test_cli_output_problems_are_caught_before_training(tmp_path, capsys, corpus_file):
    assert cli("embed", "word2vec", "--input", corpus_file, "--output", tmp_path / "v.csv") == 2
    assert "cannot tell the output format from '.csv'" in capsys.readouterr().err
    (tmp_path / "dir.emb").mkdir()
    assert cli("embed", "word2vec", "--input", corpus_file, "--output", tmp_path / "dir.emb") == 2
    assert "is a directory" in capsys.readouterr().err
    assert cli("embed", "word2vec", "--input", corpus_file, "--output", corpus_file, "--format", "text") == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert corpus_file.read_text().startswith("a b c d")


def test_cli_log_options_need_a_log(tmp_path, capsys, corpus_file):
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--input", corpus_file, "--session-gap", "1h",
                     "--dedup", expect="--session-gap, --dedup only apply to --log input")
    for gap in ("0", "-5", "soon", "1w"):
        assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", corpus_file, "--session-gap", gap,
                         expect="argument --session-gap")


def test_cli_item_ids_with_spaces_need_npz(tmp_path, capsys):
    path = write(tmp_path, "log.tsv", "user\titem\ttimestamp\nu\tred shoes\t1\nu\that\t2\n")
    assert_cli_fails(tmp_path, capsys, "embed", "item2vec", "--log", path,
                     expect="item id 'red shoes' is empty or contains whitespace")


def test_cli_failure_keeps_an_existing_output(tmp_path, capsys):
    out = tmp_path / "v.emb"
    out.write_text("precious")
    assert cli("embed", "word2vec", "--input", tmp_path / "nope.txt", "--output", out) == 2
    assert out.read_text() == "precious"


def test_the_data_docs_run_as_written():
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "data.md"
    result = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 20 and result.failed == 0


@pytest.mark.parametrize("module", ["recembed._io", "recembed.embeddings", "recembed.data.vocab",
                                    "recembed.data.corpus", "recembed.data.logs"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
