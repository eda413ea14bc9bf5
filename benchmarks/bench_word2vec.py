"""Benchmark: recembed Word2Vec against gensim on random walks over a power-law graph.

The graph is a planted-partition graph with power-law expected degrees (a degree-corrected
stochastic block model), so every node has a community label and the embeddings' quality
can be scored: the mean share of a node's 10 nearest neighbours (cosine) that sit in its
own community. Uniform random walks over it are written to a text file (cached), and each
contender runs in its own subprocess (read file, build vocab, train, write ``.emb``) so
that peak RSS and whole-command wall time are its own.

Run (about 4 minutes on 2 busy cores)::

    .venv/bin/python benchmarks/bench_word2vec.py            # 10k nodes, ~8M tokens, 3 runs each
    .venv/bin/python benchmarks/bench_word2vec.py --quick    # small smoke run

Words/s are raw corpus tokens (before subsampling) per second of training, for both tools
(gensim's log reports "effective" words after subsampling; we divide the same raw count by
its training time, so the ratio is a ratio of training times).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


# -- data -------------------------------------------------------------------------
def planted_powerlaw_graph(n, n_comm, avg_deg, mu, gamma, seed):
    """Edges (u, v) of a degree-corrected planted partition; returns (indptr, indices, labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_comm, size=n)
    w = (rng.pareto(gamma - 1, size=n) + 1.0)
    w *= avg_deg / w.mean()
    m = int(n * avg_deg / 2)
    p = w / w.sum()
    u = rng.choice(n, size=m, p=p)
    v = np.empty(m, dtype=np.int64)
    inside = rng.random(m) >= mu
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_comm + 1))
    cw = [np.cumsum(w[order[bounds[c]:bounds[c + 1]]]) for c in range(n_comm)]
    for c in range(n_comm):
        sel = np.flatnonzero(inside & (labels[u] == c))
        r = rng.random(len(sel)) * cw[c][-1]
        v[sel] = order[bounds[c] + np.searchsorted(cw[c], r, side="right").clip(max=len(cw[c]) - 1)]
    out = np.flatnonzero(~inside)
    v[out] = rng.choice(n, size=len(out), p=p)
    keep = u != v
    u, v = u[keep], v[keep]
    a = np.concatenate([u, v])
    b = np.concatenate([v, u])
    o = np.lexsort((b, a))
    a, b = a[o], b[o]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b.astype(np.int32), labels


def random_walks(indptr, indices, n_walks, length, seed):
    rng = np.random.default_rng(seed)
    n = len(indptr) - 1
    deg = np.diff(indptr)
    starts = np.tile(np.flatnonzero(deg > 0), n_walks)
    walks = np.empty((len(starts), length), dtype=np.int32)
    cur = starts
    walks[:, 0] = cur
    for t in range(1, length):
        d = deg[cur]
        cur = indices[indptr[cur] + (rng.random(len(cur)) * d).astype(np.int64)]
        walks[:, t] = cur
    return walks


def make_corpus(out_dir: Path, n_nodes, n_tokens, seed=7):
    tag = f"{n_nodes}_{n_tokens}_{seed}"
    path = out_dir / f"walks_{tag}.txt"
    lab = out_dir / f"labels_{tag}.npy"
    if path.exists() and lab.exists():
        return path, np.load(lab)
    indptr, indices, labels = planted_powerlaw_graph(n_nodes, 10, 10.0, 0.2, 2.5, seed)
    length = 80
    n_walks = max(1, round(n_tokens / (length * n_nodes)))
    walks = random_walks(indptr, indices, n_walks, length, seed + 1)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        for row in walks:
            fh.write(" ".join(map(str, row.tolist())))
            fh.write("\n")
    os.replace(tmp, path)
    np.save(lab, labels)
    return path, labels


# -- contenders (each in its own subprocess) ----------------------------------------
def worker(kind, corpus, out, threads):
    t0 = time.perf_counter()
    if kind == "ours":
        from recembed.word2vec import Word2Vec

        m = Word2Vec(dim=128, window=5, negative=5, sg=True, epochs=1, min_count=1, sample=1e-3,
                     threads=threads, seed=1, progress=False).fit(corpus)
        train_s = m.train_seconds_
        words = int(m.vocab_.counts.sum())
        m.embeddings_.save(out)
    else:
        from gensim.models import Word2Vec as GW
        from gensim.models.word2vec import LineSentence

        g = GW(vector_size=128, window=5, negative=5, sg=1, min_count=1, sample=1e-3, workers=threads, seed=1)
        if kind == "gensim_file":
            g.build_vocab(corpus_file=corpus)
            t1 = time.perf_counter()
            g.train(corpus_file=corpus, total_words=g.corpus_total_words, epochs=1)
        else:
            sents = list(LineSentence(corpus))
            g.build_vocab(sents)
            t1 = time.perf_counter()
            g.train(sents, total_examples=g.corpus_count, epochs=1)
        train_s = time.perf_counter() - t1
        words = int(g.corpus_total_words)
        g.wv.save_word2vec_format(out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"train_s": train_s, "inner_total_s": time.perf_counter() - t0, "rss_mb": rss / 1024,
                      "words": words}))


def run_worker(kind, corpus, out, threads):
    t0 = time.perf_counter()
    r = subprocess.run([PY, __file__, "--worker", kind, "--corpus", str(corpus), "--out", str(out),
                        "--threads", str(threads)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


def run_cli(corpus, out, threads):
    """Our whole command through the CLI, if the ``embed word2vec`` command exists."""
    cmd = [PY, "-m", "recembed", "embed", "word2vec", "--input", str(corpus), "-o", str(out), "--dim", "128", "--window", "5",
           "--negative", "5", "--epochs", "1", "--min-count", "1", "--sample", "1e-3", "--threads", str(threads),
           "--seed", "1", "--quiet"]
    wrapper = ("import resource,subprocess,sys,json,time; t=time.perf_counter(); r=subprocess.run(sys.argv[1:], "
               "capture_output=True, text=True); print(json.dumps({'rc': r.returncode, 'err': r.stderr[-2000:], "
               "'wall_s': time.perf_counter()-t, "
               "'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))")
    r = subprocess.run([PY, "-c", wrapper, *cmd], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        return None, " ".join(cmd), res["err"]
    return res, " ".join(cmd), ""


def quality(emb_path, labels, n_query=2000, k=10, seed=0):
    from recembed import Embeddings

    emb = Embeddings.load(emb_path)
    keys = np.asarray([int(x) for x in emb.keys.tolist()])
    lab = labels[keys]
    u = emb.unit_vectors
    rng = np.random.default_rng(seed)
    q = rng.choice(len(keys), size=min(n_query, len(keys)), replace=False)
    s = u[q] @ u.T
    s[np.arange(len(q)), q] = -np.inf
    top = np.argpartition(-s, k, axis=1)[:, :k]
    return float((lab[top] == lab[q][:, None]).mean())


def load_avg():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (2k nodes, 400k tokens, 1 run)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--tokens", type=int, default=8_000_000)
    ap.add_argument("--out-dir", default=os.path.join(tempfile.gettempdir(), "recembed_bench_w2v"))
    ap.add_argument("--skip-memory-mode", action="store_true", help="skip gensim's in-memory mode")
    ap.add_argument("--worker")
    ap.add_argument("--corpus")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.corpus, args.out, args.threads)
        return
    if args.quick:
        args.nodes, args.tokens, args.runs = 2000, 400_000, 1
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus, labels = make_corpus(out_dir, args.nodes, args.tokens)
    print(f"corpus {corpus} ({corpus.stat().st_size / 1e6:.0f} MB); load average {load_avg():.2f}")
    # warm the JIT cache once, outside the timings (cache=True: later processes load it)
    run_worker("ours", corpus, out_dir / "warm.emb", args.threads)

    kinds = ["ours", "gensim_file"] + ([] if args.skip_memory_mode else ["gensim_mem"])
    results = {k: [] for k in kinds}
    cli = []
    cli_cmd = cli_err = ""
    for r in range(args.runs):
        for k in kinds:
            res = run_worker(k, corpus, out_dir / f"{k}.emb", args.threads)
            res["load"] = load_avg()
            results[k].append(res)
            print(f"run {r + 1} {k:12s} train {res['train_s']:.2f}s  whole {res['wall_s']:.2f}s  "
                  f"rss {res['rss_mb']:.0f} MB  load {res['load']:.2f}", flush=True)
        c, cli_cmd, cli_err = run_cli(corpus, out_dir / "cli.emb", args.threads)
        if c is not None:
            cli.append(c)
            print(f"run {r + 1} ours via CLI  whole {c['wall_s']:.2f}s  rss {c['rss_mb']:.0f} MB", flush=True)

    def med(k, f):
        return statistics.median(x[f] for x in results[k])

    words = results["ours"][0]["words"]
    print(f"\n{words} tokens, dim 128, window 5, negative 5, sg, 1 epoch, {args.threads} threads, min_count 1, "
          f"sample 1e-3; medians of {args.runs}")
    for k in kinds:
        print(f"{k:12s} train {med(k, 'train_s'):6.2f}s  {words / med(k, 'train_s') / 1e6:6.2f} M words/s  "
              f"whole {med(k, 'wall_s'):6.2f}s  peak RSS {med(k, 'rss_mb'):6.0f} MB  "
              f"top-10 same-community {quality(out_dir / f'{k}.emb', labels):.3f}")
    base = min((k for k in kinds if k != "ours"), key=lambda k: med(k, "train_s"))
    base_whole = min((k for k in kinds if k != "ours"), key=lambda k: med(k, "wall_s"))
    print(f"baseline (fastest gensim mode): train {base}, whole {base_whole}")
    print(f"training speed ratio ours/gensim: {med(base, 'train_s') / med('ours', 'train_s'):.2f}x")
    print(f"whole-command ratio (API in subprocess): {med(base_whole, 'wall_s') / med('ours', 'wall_s'):.2f}x")
    if cli:
        cw = statistics.median(c["wall_s"] for c in cli)
        print(f"whole-command ratio (CLI: {cli_cmd}): {med(base_whole, 'wall_s') / cw:.2f}x, "
              f"peak RSS {statistics.median(c['rss_mb'] for c in cli):.0f} MB, "
              f"top-10 same-community {quality(out_dir / 'cli.emb', labels):.3f}")
    elif cli_err:
        print(f"(CLI not usable: {cli_err.strip().splitlines()[-1] if cli_err.strip() else 'unknown error'})")
    print(f"load average at end {load_avg():.2f}")


if __name__ == "__main__":
    main()
