"""Local numba path vs Spark (local[N]) for behaviour log -> item graph -> walks -> Word2Vec.

Generates a synthetic shop log (``recembed.datasets.synthetic_shop``; default 10M events,
1M users, 200k items; ``--events`` scales all three), then times each step in its own
subprocess and samples the peak memory (PSS) of its whole process tree (the Spark JVM and Python
workers included). Both paths train the same Word2Vec locally; the embeddings are scored
by the same-category rate of their 10 nearest neighbours.

    python benchmarks/bench_spark.py --events 200000 --master 'local[2]'

Prints one table and writes it as JSON with ``--json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

PY = sys.executable


def _tree_pss(pid: int) -> tuple[int, int]:
    """Proportional set size (bytes) of ``pid`` and all its descendants, and their number.

    PSS, not RSS: Spark forks its Python workers from a daemon and every worker maps the
    same numba/LLVM libraries, so summed RSS would count those shared pages once per worker.
    """
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, count, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        count += 1
                        break
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total, count


def run_step(name: str, code: str, env=None) -> dict:
    """Run ``code`` in a fresh interpreter; wall seconds, peak tree RSS and its last stdout line (JSON)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})
    peak = [0, 0]

    def sample():
        while proc.poll() is None:
            pss, n = _tree_pss(proc.pid)
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], n)
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    th.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(err[-4000:])
        raise SystemExit(f"{name} failed ({proc.returncode})")
    info = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    row = {"step": name, "wall_s": round(wall, 1), "peak_pss_mib": round(peak[0] / 2**20), "max_processes": peak[1],
           **info}
    print(json.dumps(row), flush=True)
    return row


SCORE = """
import numpy as np, pandas as pd
def same_category_rate(emb, items_path, k=10, sample=2000, seed=0):
    cat = pd.read_parquet(items_path).set_index("item")["category"]
    keys = emb.keys
    c = cat.reindex(pd.Index(keys.astype(np.int64))).to_numpy()
    v = emb.vectors / np.maximum(np.linalg.norm(emb.vectors, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed)
    q = rng.choice(len(keys), size=min(sample, len(keys)), replace=False)
    hits = 0
    for a in range(0, len(q), 100):  # blocks of queries: the score matrix stays ~100 x n floats
        b = q[a:a + 100]
        s = v[b] @ v.T
        s[np.arange(len(b)), b] = -np.inf
        top = np.argpartition(-s, k, axis=1)[:, :k]
        hits += int((c[top] == c[b][:, None]).sum())
    return hits / (len(q) * k)
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--walks-per-node", type=int, default=5)
    ap.add_argument("--walk-length", type=int, default=40)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--driver-memory", default="6g", help="spark.driver.memory (local mode: the JVM heap cap)")
    ap.add_argument("--join", action="store_true", help="also time mode='join' walks (slow: one job per step)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--steps", default="graph,walks",
                    help="comma list of graph, walks: rerun only these (a --workdir keeps the earlier outputs)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="bench_spark."))
    work.mkdir(parents=True, exist_ok=True)
    n_users, n_items = max(100, a.events // 10), max(50, a.events // 50)
    log, items = work / "log.parquet", work / "items.parquet"
    rows = []
    if not log.exists():
        rows.append(run_step("generate log", f"""
            import json
            from recembed.datasets import synthetic_shop
            log, items = synthetic_shop({n_users}, {n_items}, {max(20, n_items // 1000)},
                                        sessions_per_user=4, session_length=2.5, seed=0)
            log[["user", "item", "timestamp"]].to_parquet({str(log)!r}, index=False)
            items.to_parquet({str(items)!r}, index=False)
            print(json.dumps({{"events": len(log)}}))
        """))
    spark_conf = f"""
            from recembed.spark import get_spark
            spark = get_spark({a.master!r}, 4 * {a.threads}, conf={{"spark.driver.memory": {a.driver_memory!r},
                              "spark.sql.adaptive.enabled": "true"}})
            spark.sparkContext.setLogLevel("ERROR")
    """
    steps = set(a.steps.split(","))
    if "graph" in steps:
        rows.append(run_step("local graph", f"""
            import json, time
            t = time.perf_counter()
            from recembed.graphs import build_item_graph
            g, sm = build_item_graph({str(log)!r})
            g.to_edgelist({str(work / 'local.tsv')!r}, weights=True)
            print(json.dumps({{"nodes": g.n_nodes, "edges": g.n_edges, "inner_s": round(time.perf_counter() - t, 1)}}))
    """))
        rows.append(run_step("spark graph", f"""
            import json, time
            t0 = time.perf_counter()
            {spark_conf.strip()}
            t = time.perf_counter()
            from recembed.spark.graph import build_item_graph_spark
            e, v = build_item_graph_spark({str(log)!r}, {str(work / 'edges.parquet')!r}, spark=spark)
            print(json.dumps({{"nodes": v.count(), "edges": e.count(), "jvm_s": round(t - t0, 1),
                              "inner_s": round(time.perf_counter() - t, 1)}}))
    """))
    train = f"""
            from recembed.word2vec import Word2Vec
            t = time.perf_counter()
            m = Word2Vec(dim={a.dim}, window=5, epochs={a.epochs}, threads={a.threads}, seed=1).fit(corpus)
            train_s = round(time.perf_counter() - t, 1)
            {SCORE.strip().replace(chr(10), chr(10) + ' ' * 12)}
            rate = same_category_rate(m.embeddings_, {str(items)!r})
    """
    local_walks = work / "walks-local.npz"
    modes = (["broadcast"] + (["join"] if a.join else [])) if "walks" in steps else []
    if "walks" in steps:
        rows.append(run_step("local walks", f"""
            import json, time
            import numpy as np
            from recembed.graphs.graph import Graph
            from recembed.walks.engine import random_walks
            t0 = time.perf_counter()
            g = Graph.from_edgelist({str(work / 'local.tsv')!r}, directed=True)
            t = time.perf_counter()
            corpus = random_walks(g, walks_per_node={a.walks_per_node}, walk_length={a.walk_length}, seed=1,
                                  threads={a.threads})
            walk_s = round(time.perf_counter() - t, 1)
            np.savez({str(local_walks)!r}, tokens=corpus.tokens, offsets=corpus.offsets,
                     keys=np.asarray(corpus.vocab.keys, dtype=str))
            print(json.dumps({{"walks": len(corpus), "tokens": corpus.n_tokens, "read_graph_s": round(t - t0, 1),
                              "walk_s": walk_s}}))
    """))
        rows.append(run_step("local walks: train", f"""
            import json, time
            import numpy as np
            from recembed.data.corpus import Corpus
            from recembed.data.vocab import Vocab
            z = np.load({str(local_walks)!r})
            corpus = Corpus(z["tokens"], z["offsets"], Vocab(z["keys"].astype(object)))
            {train.strip()}
            print(json.dumps({{"walks": len(corpus), "tokens": corpus.n_tokens, "train_s": train_s,
                              "same_category@10": round(rate, 4)}}))
    """))
    for mode in modes:
        out = work / f"walks-{mode}.parquet"
        rows.append(run_step(f"spark walks ({mode})", f"""
            import json, time
            t0 = time.perf_counter()
            {spark_conf.strip()}
            t = time.perf_counter()
            from recembed.spark.walks import spark_walks
            w, _ = spark_walks({str(work / 'edges.parquet')!r}, {str(out)!r}, spark=spark, mode={mode!r},
                               walks_per_node={a.walks_per_node}, walk_length={a.walk_length}, seed=1)
            print(json.dumps({{"jvm_s": round(t - t0, 1), "inner_s": round(time.perf_counter() - t, 1)}}))
        """))
        rows.append(run_step(f"read {mode} walks+train", f"""
            import json, time
            from recembed.spark.io import read_walks
            t = time.perf_counter()
            corpus = read_walks({str(out)!r})
            read_s = round(time.perf_counter() - t, 1)
            {train.strip()}
            print(json.dumps({{"walks": len(corpus), "tokens": corpus.n_tokens, "read_s": read_s, "train_s": train_s,
                              "same_category@10": round(rate, 4)}}))
        """))
    print(f"\nwork dir: {work}  events={a.events:,} users={n_users:,} items={n_items:,} master={a.master}")
    for r in rows:
        print(r)
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
