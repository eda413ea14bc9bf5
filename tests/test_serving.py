"""The recall service over real HTTP: a uvicorn server on a free 127.0.0.1 port per module."""
import threading

import httpx
import numpy as np
import pandas as pd
import pytest

from recembed import Embeddings
from recembed.index import ExactIndex
from recembed.serving import BackgroundServer, RecallService, create_app

DIM = 16


def make_items(n=600, seed=0, prefix="item"):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(6, DIM))
    labels = rng.integers(0, 6, n)
    X = (centers[labels] + 0.3 * rng.normal(size=(n, DIM))).astype(np.float32)
    return Embeddings([f"{prefix}{j}" for j in range(n)], X), labels


@pytest.fixture(scope="module")
def catalogue():
    items, labels = make_items()
    users = Embeddings(["u1", "u2"], items.vectors[[3, 10]] + 0.01)
    table = pd.DataFrame({"item": items.keys, "genre": [f"g{x}" for x in labels], "price": np.arange(len(items)) / 10})
    return items, users, table


@pytest.fixture(scope="module", params=["exact", "lsh"])
def server(request, catalogue):
    items, users, table = catalogue
    app = create_app(items, users=users, index=request.param, item_table=table, max_k=200)
    with BackgroundServer(app) as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            yield srv, client, app.state.service


def exact_neighbours(items, key, k):
    idx = ExactIndex("cosine").add(items.keys, items.vectors)
    return idx.query_key(key, k=k)[0].tolist()


def test_health(server, catalogue):
    _, client, _ = server
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["items"] == len(catalogue[0]) and h["users"] == 2 and h["dim"] == DIM
    assert h["version"]


def test_similar_items_answers_with_side_info(server, catalogue):
    _, client, svc = server
    r = client.get("/items/item7/similar", params={"k": 10})
    assert r.status_code == 200
    body = r.json()
    got = [n["item"] for n in body["neighbours"]]
    assert len(got) == 10 and "item7" not in got
    truth = exact_neighbours(catalogue[0], "item7", 10)
    assert len(set(got) & set(truth)) >= 8  # LSH is tuned to recall 0.95
    assert body["neighbours"][0]["genre"] == catalogue[2].set_index("item").loc["item7", "genre"]
    scores = [n["score"] for n in body["neighbours"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("k", ["0", "-3", "abc", "2.5", "201"])
def test_bad_k_is_422_with_message(server, k):
    _, client, _ = server
    r = client.get("/items/item1/similar", params={"k": k})
    assert r.status_code == 422
    assert "k must be" in r.json()["detail"]


def test_unknown_item_is_404(server):
    _, client, _ = server
    r = client.get("/items/nope/similar")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_recall_by_user_vector_and_history(server, catalogue):
    items = catalogue[0]
    _, client, _ = server
    by_user = client.post("/recall", json={"user": "u1", "k": 5}).json()
    assert by_user["neighbours"][0]["item"] == "item3"
    by_vec = client.post("/recall", json={"vector": items["item10"].tolist(), "k": 5}).json()
    assert by_vec["neighbours"][0]["item"] == "item10"
    hist = client.post("/recall", json={"items": ["item1", "item2"], "k": 5}).json()
    got = [n["item"] for n in hist["neighbours"]]
    assert len(got) == 5 and not {"item1", "item2"} & set(got)
    # errors
    assert client.post("/recall", json={"user": "ghost"}).status_code == 404
    assert client.post("/recall", json={"items": ["item1", "ghost"]}).status_code == 404
    r = client.post("/recall", json={"vector": [1.0, 2.0]})
    assert r.status_code == 422 and "length" in r.json()["detail"]
    assert client.post("/recall", json={"user": "u1", "items": ["item1"]}).status_code == 422
    assert client.post("/recall", json={}).status_code == 422
    assert client.post("/recall", json={"user": "u1", "k": 0}).status_code == 422
    assert client.post("/recall", json={"user": "u1", "k": 1001}).status_code == 422


def test_metrics_count_requests(server):
    _, client, _ = server
    before = client.get("/metrics", params={"format": "json"}).json()

    def count(m, route, status):
        return sum(r["count"] for r in m["requests"] if r["route"] == route and r["status"] == status)

    for _ in range(3):
        client.get("/items/item5/similar?k=3")
    client.get("/items/ghost/similar")
    after = client.get("/metrics", params={"format": "json"}).json()
    route = "/items/{item_id}/similar"
    assert count(after, route, 200) - count(before, route, 200) == 3
    assert count(after, route, 404) - count(before, route, 404) == 1
    text = client.get("/metrics").text
    assert 'recembed_requests_total{method="GET",route="/items/{item_id}/similar",status="200"}' in text
    assert "recembed_request_seconds_bucket" in text and "recembed_version_info" in text


def test_version_swap_during_requests(catalogue, tmp_path):
    items, _, _ = catalogue
    new_items, _ = make_items(n=600, seed=1)  # same keys, new vectors
    path = tmp_path / "v2.npz"
    new_items.save(path)
    app = create_app(items, index="lsh")
    errors, versions, stop = [], set(), threading.Event()
    with BackgroundServer(app) as srv:
        def hammer():
            with httpx.Client(base_url=srv.url, timeout=30) as c:
                while not stop.is_set():
                    r = c.get("/items/item3/similar?k=5")
                    if r.status_code != 200:
                        errors.append(r.status_code)
                    else:
                        versions.add(r.json()["version"])

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            r = c.post("/admin/reload", json={"items": str(path), "version": "v2"})
            assert r.status_code == 200 and r.json()["version"] == "v2"
            # a bad reload keeps the served version
            bad = c.post("/admin/reload", json={"items": str(tmp_path / "missing.emb")})
            assert bad.status_code == 422 and "no such file" in bad.json()["detail"]
            assert c.get("/health").json()["version"] == "v2"
            after = c.get("/items/item3/similar?k=5").json()
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert versions <= {"1", "v2"} and "v2" in versions
    truth = ExactIndex("cosine").add(new_items.keys, new_items.vectors).query_key("item3", k=5)[0].tolist()
    assert len(set(n["item"] for n in after["neighbours"]) & set(truth)) >= 4


def test_python_reload_and_checks():
    items, _ = make_items(n=50)
    svc = RecallService(items, index="exact", max_k=20)
    assert svc.reload(items=make_items(n=60, seed=2)[0]) == "2"
    assert svc.health()["items"] == 60
    with pytest.raises(ValueError, match="k must"):
        svc.similar("item1", k=21)
    with pytest.raises(KeyError):
        svc.similar("item99", k=2)


def test_cli_serve_process(tmp_path):
    """``recembed serve`` as a real process, as an outside check would start it."""
    import socket
    import subprocess
    import sys
    import time

    items, labels = make_items(n=1200)
    items.save(tmp_path / "items.emb")
    pd.DataFrame({"item": items.keys, "genre": labels}).to_csv(tmp_path / "items.csv", index=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "recembed", "serve", "--items", str(tmp_path / "items.emb"),
                             "--item-table", str(tmp_path / "items.csv"), "--index", "lsh",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "server did not start"
            time.sleep(0.2)
        body = httpx.get(url + "/items/item5/similar", params={"k": 10}).json()
        assert len(body["neighbours"]) == 10 and "genre" in body["neighbours"][0]
        assert httpx.get(url + "/items/ghost/similar").status_code == 404
        assert httpx.get(url + "/items/item5/similar", params={"k": 0}).status_code == 422
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_index_build_query_tune(tmp_path, capsys):
    from recembed.cli import main

    items, _ = make_items(n=1500)
    items.save(tmp_path / "items.npz")
    assert main(["index", "build", "--items", str(tmp_path / "items.npz"), "--out", str(tmp_path / "i.npz"),
                 "--type", "lsh", "--tune", "--max-time", "120", "--sample", "100"]) == 0
    capsys.readouterr()
    assert main(["index", "query", "--index", str(tmp_path / "i.npz"), "--key", "item3", "-k", "5"]) == 0
    line = capsys.readouterr().out.strip()
    truth = exact_neighbours(items, "item3", 5)
    got = [x.split(":")[0] for x in line.split("\t")[1].split()]
    assert line.startswith("item3\t") and len(set(got) & set(truth)) >= 4
    assert main(["index", "tune", "--items", str(tmp_path / "items.npz"), "--max-time", "5", "--sample", "50"]) == 0
    out = capsys.readouterr()
    assert "recall" in out.out and "chosen:" in out.err
    assert main(["index", "query", "--index", str(tmp_path / "i.npz"), "--key", "ghost"]) == 2


def test_reload_keeps_tuned_lsh_parameters_for_a_similar_catalogue():
    items, _ = make_items(n=2000)
    svc = RecallService(items, index="lsh")
    first = svc.current.index
    assert hasattr(first, "tune_report_")
    svc.reload(items=make_items(n=2100, seed=3)[0])
    second = svc.current.index
    assert not hasattr(second, "tune_report_")
    assert (second.n_bits, second.n_tables, second.n_probes) == (first.n_bits_, first.n_tables_, first.n_probes_)
    svc.reload(items=make_items(n=2100, seed=4)[0], retune=True)
    assert hasattr(svc.current.index, "tune_report_")


def test_explorer_api(server):
    _, client, _ = server
    sug = client.get("/api/suggest", params={"q": "item1"}).json()["items"]
    assert sug and all(s["item"].startswith("item1") for s in sug) and "genre" in sug[0]
    by_text = client.get("/api/suggest", params={"q": "g3"}).json()["items"]
    assert by_text and all(s["genre"] == "g3" for s in by_text)
    m = client.get("/api/map", params={"color": "price"}).json()
    assert m["numeric"] and len(m["points"]) == 600 and {"x", "y", "c", "item"} <= set(m["points"][0])
    assert client.get("/api/map", params={"color": "nope"}).status_code == 422
    ex = client.get("/api/explore/item4", params={"k": 3}).json()
    assert len(ex["neighbours"]) == 3 and len(ex["xy"]) == 2 and "genre" in ex["info"]
    page = client.get("/explorer")
    assert page.status_code == 200 and "explorer.js" in page.text
    assert client.get("/static/explorer.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
