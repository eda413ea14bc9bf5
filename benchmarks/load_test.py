"""Load test of ``recembed serve``: fixed concurrency on ``/items/{id}/similar?k=50``, loopback only.

Starts the service as a separate process (so the load generator does not share its GIL)
on a free 127.0.0.1 port with an LSH index over synthetic clustered item embeddings,
then keeps ``--concurrency`` requests in flight for ``--duration`` seconds (and at most
``--max-requests``), optionally swapping to a new embeddings version half-way through
(``POST /admin/reload``). Prints throughput, p50/p90/p99 latency, errors by status and
the versions seen; exits 1 on any error.

    python benchmarks/load_test.py                       # 100k items, 30 s, swap mid-run
    python benchmarks/load_test.py --quick               # 20k items, 10 s
    python benchmarks/load_test.py --no-swap --concurrency 32
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from recembed import Embeddings  # noqa: E402
from recembed.index.tune import clustered_vectors  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server CPU per request."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def wait_ready(url: str, proc, timeout: float = 300):
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError("server did not become ready")


async def run_load(url, keys, k, concurrency, duration, max_requests, swap_path):
    import httpx

    lat, statuses, versions = [], {}, {}
    sent = 0
    t_end = time.perf_counter() + duration
    hard_end = t_end + duration  # a slow swap extends the run, at most to twice the duration
    swap_info = {}
    rng = random.Random(0)
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        async def worker():
            nonlocal sent
            while time.perf_counter() < t_end and sent < max_requests:
                sent += 1
                key = keys[rng.randrange(len(keys))]
                t0 = time.perf_counter()
                try:
                    r = await client.get(f"/items/{key}/similar", params={"k": k})
                    code = r.status_code
                    if code == 200:
                        v = r.json()["version"]
                        versions[v] = versions.get(v, 0) + 1
                except httpx.HTTPError as e:
                    code = type(e).__name__
                lat.append(time.perf_counter() - t0)
                statuses[code] = statuses.get(code, 0) + 1

        async def swapper():
            await asyncio.sleep(duration / 2)
            t0 = time.perf_counter()
            r = await client.post("/admin/reload", json={"items": str(swap_path), "version": "v2"}, timeout=600)
            swap_info.update(status=r.status_code, seconds=time.perf_counter() - t0,
                             at=duration / 2, body=r.json() if r.status_code == 200 else r.text)
            nonlocal t_end
            # keep the load on for a while after the swap, so the new version is served too
            t_end = min(hard_end, max(t_end, time.perf_counter() + min(5.0, duration / 4)))

        t_start = time.perf_counter()
        tasks = [worker() for _ in range(concurrency)] + ([swapper()] if swap_path else [])
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t_start
    return np.asarray(lat), statuses, versions, elapsed, swap_info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--max-requests", type=int, default=2_000_000)
    ap.add_argument("--index", default="lsh", choices=["exact", "lsh", "hnsw"])
    ap.add_argument("--no-swap", action="store_true")
    ap.add_argument("--quick", action="store_true", help="20k items, 10 s")
    args = ap.parse_args(argv)
    if args.quick:
        args.items, args.duration = min(args.items, 20_000), min(args.duration, 10.0)

    tmp = Path(tempfile.mkdtemp(prefix="recembed-load-"))
    X = clustered_vectors(args.items, args.dim, n_clusters=max(10, args.items // 1000), seed=1)
    keys = [f"item{i}" for i in range(args.items)]
    Embeddings(keys, X).save(tmp / "v1.npz")
    swap_path = None
    if not args.no_swap:
        rng = np.random.default_rng(2)
        Embeddings(keys, X + 0.05 * rng.standard_normal(X.shape).astype(np.float32)).save(tmp / "v2.npz")
        swap_path = tmp / "v2.npz"

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "recembed", "serve", "--items", str(tmp / "v1.npz"),
                             "--index", args.index, "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    try:
        wait_ready(url, proc)
        print(f"server ready in {time.perf_counter() - t0:.1f}s ({args.items} items, dim {args.dim}, "
              f"{args.index} index)", flush=True)
        cpu0 = cpu_seconds(proc.pid)
        lat, statuses, versions, elapsed, swap = asyncio.run(
            run_load(url, keys, args.k, args.concurrency, args.duration, args.max_requests, swap_path))
        server_cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()

    n = len(lat)
    errors = {s: c for s, c in statuses.items() if s != 200}
    p50, p90, p99 = (np.percentile(lat, q) * 1e3 for q in (50, 90, 99))
    print(f"requests {n} in {elapsed:.1f}s at concurrency {args.concurrency}: {n / elapsed:.0f} req/s; "
          f"latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {lat.max() * 1e3:.1f} ms")
    print(f"server CPU {1e3 * server_cpu / max(n, 1):.2f} ms per request (swap work included); "
          f"load average at end {os.getloadavg()[0]:.1f}")
    print(f"statuses {statuses}; versions served {versions}")
    if swap:
        print(f"swap to v2 requested at {swap['at']:.0f}s: HTTP {swap['status']} after {swap['seconds']:.1f}s "
              "(old version served meanwhile)")
    if errors or (swap and swap["status"] != 200):
        print(f"FAILED: errors {errors}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
