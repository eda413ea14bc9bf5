"""Walk generation and Node2Vec end to end: recembed vs PecanPy (SparseOTF) + gensim.

Every measurement runs in a fresh subprocess (so peak RSS is that run's own) with
``NUMBA_NUM_THREADS`` set to ``--threads``; the figure is the median of ``--repeats``.

* walks: time to generate ``walks_per_node x walk_length`` walks from every node, after the
  graph is loaded. recembed: ``Walker(...).walks()`` into an int32 Corpus (numba functions
  come from the on-disk cache). PecanPy: ``SparseOTF.simulate_walks()`` (lists of str);
  PecanPy builds its numba step function per call, so its figure includes that compile
  (``--pecanpy-warm`` also times a second call in the same process, without it).
* end to end: read the edge list, walk, train skip-gram (window 10, dim 128, 1 epoch).
  recembed: ``Node2Vec(...).fit(path)``; PecanPy: ``read_edg`` + ``embed()`` (gensim).

PecanPy needs numpy < 2, so it lives in its own venv::

    python3 -m venv .venv-peers && .venv-peers/bin/pip install pecanpy==2.0.9 gensim==4.4.0

Run (BlogCatalog, the issue's setting)::

    .venv/bin/python benchmarks/bench_walks.py --threads 2 --repeats 3
    .venv/bin/python benchmarks/bench_walks.py --scale          # 1M nodes / 10M edges, ours only
    .venv/bin/python benchmarks/bench_walks.py --scale --scale-train 1   # + Node2Vec fit, 1 walk per node

The machine may be shared: the load average before and after each run is printed with it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EDGES = REPO.parent / "shared" / "data" / "blogcatalog" / "edges.csv"

OURS_WALKS = """
import json, resource, sys, time
t0 = time.perf_counter()
from recembed.graphs import Graph
from recembed.walks import Walker
a = json.loads(sys.argv[1])
t1 = time.perf_counter()
g = Graph.from_edgelist(a["edges"], directed=a["directed"], weighted=a["weighted"])
t2 = time.perf_counter()
w = Walker(g, p=a["p"], q=a["q"], mode=a["mode"])
w.walks(walks_per_node=1, walk_length=2, seed=a["seed"], threads=a["threads"])  # loads the numba cache
tw = time.perf_counter()
c = w.walks(walks_per_node=a["walks_per_node"], walk_length=a["walk_length"], seed=a["seed"], threads=a["threads"])
t3 = time.perf_counter()
print(json.dumps(dict(load=t2 - t1, walks_cold=t3 - t2, walks=t3 - tw, tokens=int(c.n_tokens), walks_n=len(c),
                      rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

PEER_WALKS = """
import json, resource, sys, time
from pecanpy import pecanpy
a = json.loads(sys.argv[1])
t1 = time.perf_counter()
g = pecanpy.SparseOTF(p=a["p"], q=a["q"], workers=a["threads"], verbose=False, random_state=a["seed"])
g.read_edg(a["edges"], weighted=bool(a["weighted"]), directed=a["directed"], delimiter=a["delimiter"])
t2 = time.perf_counter()
walks = g.simulate_walks(num_walks=a["walks_per_node"], walk_length=a["walk_length"])
t3 = time.perf_counter()
second = None
if a.get("warm"):
    walks = None
    walks = g.simulate_walks(num_walks=a["walks_per_node"], walk_length=a["walk_length"])
    second = time.perf_counter() - t3
print(json.dumps(dict(load=t2 - t1, walks=t3 - t2, walks_second_call=second, tokens=sum(map(len, walks)),
                      walks_n=len(walks), rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

OURS_E2E = """
import json, resource, sys, time
t0 = time.perf_counter()
from recembed.models.node2vec import Node2Vec
a = json.loads(sys.argv[1])
t1 = time.perf_counter()
m = Node2Vec(p=a["p"], q=a["q"], walks_per_node=a["walks_per_node"], walk_length=a["walk_length"],
             window=a["window"], dim=a["dim"], epochs=a["epochs"], threads=a["threads"], seed=a["seed"],
             directed=a["directed"], weighted=a["weighted"], mode=a["mode"]).fit(a["edges"])
t2 = time.perf_counter()
print(json.dumps(dict(total=t2 - t1, walks=m.walk_seconds_, train=m.train_seconds_, nodes=len(m.embeddings_),
                      rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

PEER_E2E = """
import json, resource, sys, time
from pecanpy import pecanpy
a = json.loads(sys.argv[1])
t1 = time.perf_counter()
g = pecanpy.SparseOTF(p=a["p"], q=a["q"], workers=a["threads"], verbose=False, random_state=a["seed"])
g.read_edg(a["edges"], weighted=bool(a["weighted"]), directed=a["directed"], delimiter=a["delimiter"])
emb = g.embed(dim=a["dim"], num_walks=a["walks_per_node"], walk_length=a["walk_length"], window_size=a["window"],
              epochs=a["epochs"])
t2 = time.perf_counter()
print(json.dumps(dict(total=t2 - t1, nodes=len(emb),
                      rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""

OURS_SCALE = """
import json, resource, sys, time
import numpy as np
from recembed.graphs import Graph
from recembed.walks import Walker
a = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
n, m = a["scale_nodes"], a["scale_edges"]
# Chung-Lu style power law: endpoints drawn proportionally to Pareto(alpha=2.1) weights
w = rng.pareto(1.1, n) + 1.0
cdf = np.cumsum(w) / w.sum()
s = np.searchsorted(cdf, rng.random(m)).astype(np.int64)
d = np.searchsorted(cdf, rng.random(m)).astype(np.int64)
keys = np.arange(n).astype(str).astype(object)
t1 = time.perf_counter()
g = Graph._from_codes(s, d, rng.random(m) + 0.5 if a["weighted"] else None, keys, False, bool(a["weighted"]))
t2 = time.perf_counter()
wk = Walker(g, p=a["p"], q=a["q"], mode=a["mode"])
wk.walks(walks_per_node=1, walk_length=2, threads=a["threads"])  # loads the numba cache
t2w = time.perf_counter()
tot = 0
for chunk in wk.iter_walks(walks_per_node=a["walks_per_node"], walk_length=a["walk_length"], seed=1,
                           threads=a["threads"]):
    tot += chunk.n_tokens  # a trainer would consume the chunk here; memory stays bounded
t3 = time.perf_counter()
out = dict(build=t2 - t1, walks=t3 - t2w, nodes=g.n_nodes, edges=g.n_edges, tokens=int(tot),
           max_degree=int(np.diff(g.indptr).max()),
           rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
if a["scale_train"]:
    # end to end: the estimator materialises its walks (int32 corpus) and trains skip-gram on them
    from recembed.models import DeepWalk, Node2Vec
    kw = dict(walks_per_node=a["scale_train"], walk_length=a["walk_length"], window=a["window"], dim=a["dim"],
              epochs=a["epochs"], threads=a["threads"], seed=1)
    est = DeepWalk(**kw) if a["p"] == a["q"] == 1 else Node2Vec(p=a["p"], q=a["q"], **kw)
    t4 = time.perf_counter()
    est.fit(g)
    out.update(fit=time.perf_counter() - t4, fit_walk=est.walk_seconds_, fit_train=est.train_seconds_,
               fit_tokens=est.n_tokens_, fit_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run_child(python: str, code: str, args: dict, threads: int, timeout: float) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env.setdefault("PYTHONPATH", str(REPO / "src"))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(textwrap.dedent(code))
        script = fh.name
    try:
        before = loadavg()
        res = subprocess.run([python, script, json.dumps(args)], capture_output=True, text=True, timeout=timeout,
                             env=env)
    finally:
        os.unlink(script)
    if res.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["loadavg"] = f"{before} -> {loadavg()}"
    return out


def runs(results: list[dict], key: str) -> str:
    return ", ".join(f"{r[key]:.2f}" for r in results)


def median_of(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", default=str(DEFAULT_EDGES))
    ap.add_argument("--delimiter", default=" ", help="PecanPy's delimiter for --edges (BlogCatalog: space)")
    ap.add_argument("--directed", action="store_true")
    ap.add_argument("--weighted", action="store_true")
    ap.add_argument("--p", type=float, default=0.25)
    ap.add_argument("--q", type=float, default=0.25)
    ap.add_argument("--mode", default="auto")
    ap.add_argument("--walks-per-node", type=int, default=10)
    ap.add_argument("--walk-length", type=int, default=80)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--what", choices=["walks", "e2e", "both"], default="both")
    ap.add_argument("--ours-python", default=sys.executable)
    ap.add_argument("--peers-python", default=str(REPO / ".venv-peers" / "bin" / "python"))
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--skip-ours", action="store_true", help="only the PecanPy side of --what e2e")
    ap.add_argument("--pecanpy-warm", action="store_true", help="also time PecanPy's second call (no JIT)")
    ap.add_argument("--scale", action="store_true", help="1M-node / 10M-edge power-law graph, recembed only")
    ap.add_argument("--scale-nodes", type=int, default=1_000_000)
    ap.add_argument("--scale-edges", type=int, default=10_000_000)
    ap.add_argument("--scale-train", type=int, default=0, metavar="W",
                    help="with --scale: also fit DeepWalk (p = q = 1) or Node2Vec end to end with W walks per node")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", help="also write the raw results here")
    a = ap.parse_args(argv)
    args = dict(edges=a.edges, delimiter=a.delimiter, directed=a.directed, weighted=True if a.weighted else None,
                p=a.p, q=a.q, mode=a.mode, walks_per_node=a.walks_per_node, walk_length=a.walk_length,
                window=a.window, dim=a.dim, epochs=a.epochs, threads=a.threads, seed=a.seed,
                scale_nodes=a.scale_nodes, scale_edges=a.scale_edges, scale_train=a.scale_train,
                warm=a.pecanpy_warm)
    print(f"# {' '.join(sys.argv)}")
    print(f"# cpus {os.cpu_count()}, load {loadavg()}, p={a.p} q={a.q} walks {a.walks_per_node} x {a.walk_length}, "
          f"threads {a.threads}, repeats {a.repeats}")
    report = {"argv": sys.argv, "args": args}

    if a.scale:
        args["weighted"] = a.weighted
        r = run_child(a.ours_python, OURS_SCALE, args, a.threads, a.timeout)
        print(f"scale: {r['nodes']:,} nodes, {r['edges']:,} edges (max degree {r['max_degree']:,}); build "
              f"{r['build']:.1f} s, walks {r['walks']:.1f} s ({r['tokens'] / r['walks'] / 1e6:.1f}M steps/s), "
              f"peak RSS {r['rss_mib']:.0f} MiB (load {r['loadavg']})")
        if "fit" in r:
            print(f"scale fit ({a.scale_train} walks per node, window {a.window}, dim {a.dim}, {a.epochs} epoch): "
                  f"{r['fit']:.1f} s (walks {r['fit_walk']:.1f} s, skip-gram {r['fit_train']:.1f} s, "
                  f"{r['fit_tokens'] / r['fit_train'] / 1e6:.2f}M tokens/s), peak RSS {r['fit_rss_mib']:.0f} MiB")
        report["scale"] = r
    else:
        peers = not a.skip_peers and Path(a.peers_python).exists()
        if not peers and not a.skip_peers:
            print(f"# {a.peers_python} not found: PecanPy skipped (see the module docstring)")
        if a.what in ("walks", "both"):
            ours = [run_child(a.ours_python, OURS_WALKS, args, a.threads, a.timeout) for _ in range(a.repeats)]
            report["walks_ours"] = ours
            line = (f"walks  recembed: {median_of(ours, 'walks'):.2f} s (runs "
                    f"{runs(ours, 'walks')}), first call incl. numba cache load "
                    f"{median_of(ours, 'walks_cold'):.2f} s, load graph {median_of(ours, 'load'):.2f} s, "
                    f"peak RSS {median_of(ours, 'rss_mib'):.0f} MiB")
            print(line, flush=True)
            if peers:
                theirs = [run_child(a.peers_python, PEER_WALKS, args, a.threads, a.timeout)
                          for _ in range(a.repeats)]
                report["walks_pecanpy"] = theirs
                extra = ""
                if a.pecanpy_warm:
                    extra = f", second call {median_of(theirs, 'walks_second_call'):.2f} s"
                print(f"walks  PecanPy SparseOTF: {median_of(theirs, 'walks'):.2f} s (runs "
                      f"{runs(theirs, 'walks')}){extra}, load graph "
                      f"{median_of(theirs, 'load'):.2f} s, peak RSS {median_of(theirs, 'rss_mib'):.0f} MiB")
                ratio = median_of(theirs, "walks") / median_of(ours, "walks_cold")
                warm = ""
                if a.pecanpy_warm:
                    warm = f", warm vs warm {median_of(theirs, 'walks_second_call') / median_of(ours, 'walks'):.1f}x"
                print(f"walks  speed-up (first calls) {ratio:.1f}x{warm}, RSS {median_of(ours, 'rss_mib'):.0f} vs "
                      f"{median_of(theirs, 'rss_mib'):.0f} MiB", flush=True)
        if a.what in ("e2e", "both"):
            ours = [] if a.skip_ours else [run_child(a.ours_python, OURS_E2E, args, a.threads, a.timeout)
                                           for _ in range(a.repeats)]
            report["e2e_ours"] = ours
            if ours:
                print(f"e2e    recembed Node2Vec: {median_of(ours, 'total'):.2f} s (walks {median_of(ours, 'walks'):.2f} "
                      f"s, skip-gram {median_of(ours, 'train'):.2f} s), peak RSS {median_of(ours, 'rss_mib'):.0f} MiB",
                      flush=True)
            if peers:
                theirs = [run_child(a.peers_python, PEER_E2E, args, a.threads, a.timeout) for _ in range(a.repeats)]
                report["e2e_pecanpy"] = theirs
                print(f"e2e    PecanPy + gensim: {median_of(theirs, 'total'):.2f} s, peak RSS "
                      f"{median_of(theirs, 'rss_mib'):.0f} MiB")
                if ours:
                    print(f"e2e    speed-up {median_of(theirs, 'total') / median_of(ours, 'total'):.1f}x")
        print(f"# load after: {loadavg()}")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
