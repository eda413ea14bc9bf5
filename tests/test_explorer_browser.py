"""The explorer page end to end in headless Chromium: search on load, neighbours in the DOM.

Chromium is driven with ``--dump-dom`` and a virtual-time budget (the page's fetches finish
before the DOM is dumped). Without chromium the test skips, except under CI=true, where
it fails: CI must install it (``apt-get install -y chromium``).
"""
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from recembed import Embeddings
from recembed.index import ExactIndex
from recembed.serving import BackgroundServer, create_app

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio"]


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed (CI=true): apt-get install -y chromium")
    pytest.skip("chromium is not installed: apt-get install -y chromium")


def dump_dom(binary, url, tmp_path):
    out = subprocess.run([binary, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=15000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture(scope="module")
def site():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 8))
    labels = rng.integers(0, 5, 400)
    items = Embeddings([f"item{j}" for j in range(400)], centers[labels] + 0.3 * rng.normal(size=(400, 8)))
    table = pd.DataFrame({"item": items.keys, "genre": [f"genre{x}" for x in labels],
                          "title": [f"Title number {j}" for j in range(400)]})
    app = create_app(items, index="exact", item_table=table)
    with BackgroundServer(app) as srv:
        yield srv.url, items, table


def test_search_on_load_lists_the_neighbours(site, tmp_path):
    binary = chromium_binary()
    url, items, table = site
    dom = dump_dom(binary, f"{url}/explorer?q=item42&k=5&color=genre", tmp_path)
    assert 'data-ready="1"' in dom, dom[-2000:]
    found = re.findall(r'<li class="neighbour" data-item="([^"]+)"', dom)
    truth = ExactIndex("cosine").add(items.keys, items.vectors).query_key("item42", k=5)[0].tolist()
    assert found == truth
    # side information next to each neighbour, and the map drawn with them highlighted
    genre = table.set_index("item").loc[truth[0], "genre"]
    assert f"genre: {genre}" in dom
    assert re.search(r'<canvas id="map"[^>]*data-points="400"', dom)
    assert re.search(r'<canvas id="map"[^>]*data-highlighted="5"', dom)
    assert 'data-item="item42"' in dom  # the searched item's header


def test_unknown_item_shows_the_error(site, tmp_path):
    binary = chromium_binary()
    url, _, _ = site
    dom = dump_dom(binary, f"{url}/explorer?q=nosuchitem", tmp_path)
    assert re.search(r'<div id="status"[^>]*class="error"[^>]*>[^<]*unknown item', dom), dom[-2000:]
    assert re.search(r'<ol id="neighbours"></ol>', dom)
