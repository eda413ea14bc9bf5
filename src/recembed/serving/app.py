"""The recall service: FastAPI over an index of item embeddings, with hot version swaps.

A *version* (items, optional users, the built index, optional side table, the 2-D map)
is an immutable snapshot. Every request reads the current snapshot once and uses only
it, so a reload never mixes versions inside one answer; :meth:`RecallService.reload`
builds the next snapshot off to the side (the old one keeps serving) and swaps the
reference under a lock.

Endpoints (all JSON unless noted)
---------------------------------
``GET /health``                      status, version, sizes, index type.
``GET /items/{id}/similar?k=10``     nearest items of an item (itself left out); 404 unknown id,
                                     422 bad ``k`` (an integer in ``1..max_k``, default cap 1000).
``POST /recall``                     ``{"user": id}`` or ``{"vector": [...]}`` or ``{"items": [ids]}``
                                     (history averaged, the YouTube way; the history itself is left
                                     out unless ``"exclude_items": false``) plus ``"k"``.
``GET /metrics``                     Prometheus text: requests by route and status, latency histogram
                                     (``?format=json`` for JSON).
``POST /admin/reload``               ``{"items": path, "users": path?, "item_table": path?, "version": name?}``.
``GET /explorer`` (and ``/``)        the explorer page; its data comes from ``/api/...``.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict

from .._io import InputError
from ..embeddings import Embeddings

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_K = 1000
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _load_embeddings(obj) -> Embeddings | None:
    if obj is None or isinstance(obj, Embeddings):
        return obj
    return Embeddings.load(obj)


def _load_table(obj) -> tuple[dict, list]:
    """Side information: a CSV path or DataFrame whose first (or ``item``) column holds item ids."""
    if obj is None:
        return {}, []
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        df = obj.copy()
    else:
        from .._io import check_readable

        p = check_readable(obj)
        try:
            df = pd.read_csv(p, dtype={"item": str}, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as e:
            raise InputError(f"cannot read item table ({e})", p) from None
    key_col = "item" if "item" in df.columns else df.columns[0]
    df[key_col] = df[key_col].astype(str)
    if df[key_col].duplicated().any():
        raise InputError(f"item table has duplicate ids, e.g. {df[key_col][df[key_col].duplicated()].iloc[0]!r}")
    cols = [c for c in df.columns if c != key_col]
    records = df[cols].to_dict(orient="records")
    table = {k: {c: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
                 for c, v in rec.items()} for k, rec in zip(df[key_col].tolist(), records)}
    return table, [str(c) for c in cols]


def build_index(items: Embeddings, kind: str, metric: str, params: dict | None = None, tune: bool = True):
    """An index of ``kind`` over ``items``, built (and tuned, for LSH) before it is returned."""
    from ..index import make_index

    idx = make_index(kind, metric=metric, **(params or {}))
    idx.add(items.keys, items.vectors)
    if kind == "lsh" and tune and len(items) >= 1000 and not (params or {}).get("n_probes"):
        rng = np.random.default_rng(0)
        sample = items.vectors[rng.choice(len(items), size=min(300, len(items)), replace=False)]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idx.tune(sample, k=10, target_recall=0.95, max_time=20.0)
    idx.build()
    idx.query(items.vectors[0], k=1)  # compile/load the query kernels now, not on the first request
    return idx


@dataclass
class Version:
    """One immutable serving snapshot."""

    name: str
    items: Embeddings
    users: Embeddings | None
    index: object
    table: dict
    columns: list
    loaded_at: float
    _map: dict | None = field(default=None, repr=False)
    _map_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def info(self, key: str) -> dict:
        return self.table.get(key, {})

    def projection(self):
        """PCA basis (mean, 2 x dim) of a sample of the catalogue, computed once per version."""
        with self._map_lock:
            if self._map is None:
                V = self.items.unit_vectors
                rng = np.random.default_rng(0)
                sample = np.sort(rng.choice(len(V), size=min(len(V), 3000), replace=False))
                S = V[sample].astype(np.float64)
                mean = S.mean(axis=0)
                _, _, vt = np.linalg.svd(S - mean, full_matrices=False)
                basis = vt[:2] if len(vt) >= 2 else np.vstack([vt, np.zeros_like(vt)])[:2]
                xy = (S - mean) @ basis.T
                self._map = {"mean": mean, "basis": basis, "sample": sample, "xy": xy}
            return self._map

    def xy(self, keys) -> np.ndarray:
        m = self.projection()
        V = self.items.unit_vectors[[self.items.index_of(k) for k in keys]].astype(np.float64)
        return (V - m["mean"]) @ m["basis"].T


class RecallRequest(BaseModel):
    """Body of ``POST /recall``: exactly one of ``user``, ``vector``, ``items``."""

    model_config = ConfigDict(extra="forbid")
    user: str | int | None = None
    vector: list[float] | None = None
    items: list[str | int] | None = None
    k: int = 10
    exclude_items: bool = True


class ReloadRequest(BaseModel):
    """Body of ``POST /admin/reload``: paths readable by the server."""

    model_config = ConfigDict(extra="forbid")
    items: str
    users: str | None = None
    item_table: str | None = None
    version: str | None = None
    retune: bool = False


class _Metrics:
    """Request counters and a latency histogram per route, in Prometheus' text format."""

    def __init__(self):
        self._lock = threading.Lock()
        self.counts = {}   # (method, route, status) -> n
        self.hist = {}     # route -> [bucket counts..., +Inf], sum, count

    def observe(self, method: str, route: str, status: int, seconds: float):
        with self._lock:
            key = (method, route, str(status))
            self.counts[key] = self.counts.get(key, 0) + 1
            h = self.hist.setdefault(route, [[0] * (len(_BUCKETS) + 1), 0.0, 0])
            for i, b in enumerate(_BUCKETS):
                if seconds <= b:
                    h[0][i] += 1
            h[0][-1] += 1
            h[1] += seconds
            h[2] += 1

    def as_json(self) -> dict:
        with self._lock:
            return {"requests": [{"method": m, "route": r, "status": int(s), "count": n}
                                 for (m, r, s), n in sorted(self.counts.items())],
                    "latency": {r: {"buckets": dict(zip([str(b) for b in _BUCKETS] + ["+Inf"], h[0])),
                                    "sum": h[1], "count": h[2]} for r, h in self.hist.items()}}

    def as_text(self, version: Version) -> str:
        lines = ["# HELP recembed_requests_total HTTP requests by method, route and status.",
                 "# TYPE recembed_requests_total counter"]
        with self._lock:
            for (m, r, s), n in sorted(self.counts.items()):
                lines.append(f'recembed_requests_total{{method="{m}",route="{r}",status="{s}"}} {n}')
            lines += ["# HELP recembed_request_seconds Request latency.",
                      "# TYPE recembed_request_seconds histogram"]
            for r, (b, total, count) in sorted(self.hist.items()):
                for le, c in zip([str(x) for x in _BUCKETS] + ["+Inf"], b):
                    lines.append(f'recembed_request_seconds_bucket{{route="{r}",le="{le}"}} {c}')
                lines.append(f'recembed_request_seconds_sum{{route="{r}"}} {total:.6f}')
                lines.append(f'recembed_request_seconds_count{{route="{r}"}} {count}')
        lines += ["# HELP recembed_items Items in the served version.", "# TYPE recembed_items gauge",
                  f"recembed_items {len(version.items)}",
                  "# HELP recembed_version_info The served version.", "# TYPE recembed_version_info gauge",
                  f'recembed_version_info{{version="{version.name}"}} 1']
        return "\n".join(lines) + "\n"


class _MetricsMiddleware:
    """Pure ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs far more per request)."""

    def __init__(self, app, metrics: _Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # the router writes the matched route into this same scope dict
            route = scope.get("route")
            self.metrics.observe(scope["method"], getattr(route, "path", "unmatched"), status[0],
                                 time.perf_counter() - t0)


class RecallService:
    """Holds the served version; answers recall queries; swaps versions safely.

    Parameters
    ----------
    items : Embeddings or path
    users : Embeddings or path, optional
        User vectors in the item space (e.g. a two-tower model's user tower), for ``{"user": id}``.
    index : {"exact", "lsh", "hnsw", "faiss"}
    item_table : path or DataFrame, optional
        Side information (CSV with an ``item`` column first); shown next to neighbours.
    metric : {"cosine", "ip", "l2"}
    max_k : int
        Largest ``k`` a request may ask for; larger is a 422 (not silently cut).
    index_params : dict, optional
        Passed to the index class; an LSH index without ``n_probes`` is tuned (recall 0.95).

    Examples
    --------
    >>> import numpy as np
    >>> from recembed import Embeddings
    >>> emb = Embeddings(["a", "b", "c"], np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32))
    >>> svc = RecallService(emb, index="exact")
    >>> [n["item"] for n in svc.similar("a", k=1)["neighbours"]]
    ['b']
    >>> svc.reload(items=emb, version="v2")
    'v2'
    """

    def __init__(self, items, users=None, index: str = "exact", item_table=None, metric: str = "cosine",
                 max_k: int = DEFAULT_MAX_K, index_params: dict | None = None, version: str | None = None):
        self.index_kind = index
        self.metric = metric
        self.max_k = int(max_k)
        self.index_params = dict(index_params or {})
        self.metrics = _Metrics()
        self._swap_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._n_versions = 0
        self._current = self._make_version(items, users, item_table, version)

    # -- versions -----------------------------------------------------------
    def _make_version(self, items, users, item_table, name, retune: bool = False) -> Version:
        items = _load_embeddings(items)
        users = _load_embeddings(users)
        if items is None or len(items) == 0:
            raise InputError("items embeddings are empty")
        if users is not None and users.dim != items.dim:
            raise InputError(f"user vectors have dim {users.dim}, items have dim {items.dim}")
        table, columns = _load_table(item_table)
        params = dict(self.index_params)
        prev = getattr(self, "_current", None)
        if (not retune and prev is not None and self.index_kind == "lsh" and not params.get("n_probes")
                and 0.8 <= len(items) / len(prev.items) <= 1.25 and prev.items.dim == items.dim):
            # a new version of a catalogue of about the same size: keep the tuned parameters
            # (a swap then costs one build, seconds, instead of a tuning run)
            old = prev.index
            params.update(n_bits=old.n_bits_, n_tables=old.n_tables_, n_probes=old.n_probes_)
        idx = build_index(items, self.index_kind, self.metric, params)
        self._n_versions += 1
        return Version(name=name or str(self._n_versions), items=items, users=users, index=idx,
                       table=table, columns=columns, loaded_at=time.time())

    @property
    def current(self) -> Version:
        return self._current

    def reload(self, items, users=None, item_table=None, version: str | None = None, retune: bool = False) -> str:
        """Load a new version and build its index while the current one keeps serving; then swap.

        An LSH index keeps the tuned parameters of the current version when the catalogue
        size changed by less than 25% (``retune=True`` tunes again). Returns the new
        version's name. On any error the current version stays.
        """
        with self._reload_lock:
            new = self._make_version(items, users, item_table, version, retune=retune)
            with self._swap_lock:
                self._current = new
        return new.name

    # -- queries ------------------------------------------------------------
    def check_k(self, k) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not (1 <= k <= self.max_k):
            raise ValueError(f"k must be an integer between 1 and {self.max_k}, got {k!r}")
        return int(k)

    def _answer(self, v: Version, keys, scores, extra: dict) -> dict:
        out = [{"item": str(key), "score": float(s), **v.info(str(key))} for key, s in zip(keys.tolist(), scores.tolist())]
        return {**extra, "version": v.name, "neighbours": out}

    def similar(self, item_id: str, k: int = 10, v: Version | None = None) -> dict:
        """Nearest items of ``item_id`` (left out of its own list). KeyError if unknown."""
        v = v or self._current
        k = self.check_k(k)
        if item_id not in v.items:
            raise KeyError(f"unknown item {item_id!r}")
        keys, scores = v.index.query_key(item_id, k=k)
        return self._answer(v, keys, scores, {"item": item_id, "k": k})

    def recall(self, user=None, vector=None, items=None, k: int = 10, exclude_items: bool = True) -> dict:
        """Recall for a user id, a raw vector, or a history of item ids (their mean vector)."""
        v = self._current
        k = self.check_k(k)
        given = [x is not None for x in (user, vector, items)]
        if sum(given) != 1:
            raise ValueError("give exactly one of 'user', 'vector' or 'items'")
        skip = set()
        if user is not None:
            if v.users is None:
                raise KeyError("this service has no user embeddings loaded")
            if str(user) not in v.users:
                raise KeyError(f"unknown user {user!r}")
            q = v.users[str(user)]
            what = {"user": str(user)}
        elif vector is not None:
            q = np.asarray(vector, dtype=np.float32)
            if q.ndim != 1 or len(q) != v.items.dim:
                raise ValueError(f"vector must have length {v.items.dim}, got {len(q) if q.ndim == 1 else q.shape}")
            if not np.all(np.isfinite(q)):
                raise ValueError("vector contains NaN or infinity")
            what = {}
        else:
            hist = [str(i) for i in items]
            if not hist:
                raise ValueError("'items' is empty")
            unknown = [i for i in hist if i not in v.items]
            if unknown:
                raise KeyError(f"unknown item(s): {', '.join(map(repr, unknown[:5]))}")
            # mean of unit vectors, so one long vector does not dominate the history
            q = v.items.unit_vectors[[v.items.index_of(i) for i in hist]].mean(axis=0)
            what = {"items": hist}
            if exclude_items:
                skip = set(hist)
        kk = min(len(v.index), k + len(skip))
        keys, scores = v.index.query(q, k=kk)
        if skip:
            keep = np.asarray([str(x) not in skip for x in keys.tolist()], dtype=bool)
            keys, scores = keys[keep][:k], scores[keep][:k]
        return self._answer(v, keys, scores, {**what, "k": k})

    def health(self) -> dict:
        v = self._current
        return {"status": "ok", "version": v.name, "items": len(v.items),
                "users": 0 if v.users is None else len(v.users), "dim": v.items.dim,
                "index": self.index_kind, "metric": self.metric, "max_k": self.max_k,
                "loaded_at": v.loaded_at}


def create_app(items, users=None, index: str = "exact", item_table=None, metric: str = "cosine",
               max_k: int = DEFAULT_MAX_K, index_params: dict | None = None, admin: bool = True):
    """The FastAPI application serving ``items`` (see the module docstring for the endpoints).

    The :class:`RecallService` is ``app.state.service`` (``service.reload(...)`` swaps versions
    from Python). ``admin=False`` leaves out ``POST /admin/reload``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> from recembed import Embeddings
    >>> app = create_app(Embeddings(["a", "b"], np.eye(2, dtype=np.float32)))
    >>> app.state.service.health()["items"]
    2
    """
    service = RecallService(items, users=users, index=index, item_table=item_table, metric=metric,
                            max_k=max_k, index_params=index_params)
    app = FastAPI(title="recembed recall service", version="1")
    app.state.service = service

    app.add_middleware(_MetricsMiddleware, metrics=service.metrics)

    def fail(code: int, e: Exception):
        msg = e.args[0] if e.args else str(e)
        raise HTTPException(status_code=code, detail=str(msg))

    @app.get("/health")
    def health():
        return service.health()

    # LSH/HNSW answers take well under a millisecond: run them on the event loop rather than
    # paying a worker-thread hand-off per request; brute force (and faiss set-ups of unknown
    # cost) can take tens of ms at scale, so they go to the thread pool, never blocking the loop
    inline = index in ("lsh", "hnsw")

    async def _call(fn, *args):
        return fn(*args) if inline else await run_in_threadpool(fn, *args)

    def _similar(item_id: str, k: str):
        try:
            kk = int(k)
        except ValueError:
            raise HTTPException(422, f"k must be an integer between 1 and {service.max_k}, got {k!r}") from None
        try:
            # a JSONResponse skips FastAPI's generic (slow) encoder: the dict is plain JSON already
            return JSONResponse(service.similar(item_id, kk))
        except KeyError as e:
            fail(404, e)
        except (ValueError, InputError) as e:
            fail(422, e)

    @app.get("/items/{item_id}/similar")
    async def similar(item_id: str, k: str = Query("10", description=f"1..{service.max_k}")):
        return await _call(_similar, item_id, k)

    @app.post("/recall")
    def recall(req: RecallRequest):
        try:
            return JSONResponse(service.recall(user=req.user, vector=req.vector, items=req.items, k=req.k,
                                               exclude_items=req.exclude_items))
        except KeyError as e:
            fail(404, e)
        except (ValueError, InputError) as e:
            fail(422, e)

    @app.get("/metrics")
    def metrics(format: str = "prometheus"):
        if format == "json":
            return service.metrics.as_json()
        return PlainTextResponse(service.metrics.as_text(service.current),
                                 media_type="text/plain; version=0.0.4")

    if admin:
        @app.post("/admin/reload")
        def reload(req: ReloadRequest):
            try:
                name = service.reload(req.items, users=req.users, item_table=req.item_table, version=req.version,
                                      retune=req.retune)
            except InputError as e:
                fail(422, e)
            return service.health() | {"version": name}

    # -- explorer ---------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/explorer")

    @app.get("/explorer", include_in_schema=False)
    def explorer():
        return FileResponse(STATIC / "explorer.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        allowed = {"explorer.js": "application/javascript", "explorer.css": "text/css"}
        if name not in allowed:
            raise HTTPException(404, f"no static file {name!r}")
        return FileResponse(STATIC / name, media_type=allowed[name])

    @app.get("/api/meta")
    def meta():
        v = service.current
        return {"version": v.name, "items": len(v.items), "columns": v.columns, "max_k": service.max_k,
                "index": service.index_kind}

    @app.get("/api/suggest")
    def suggest(q: str = "", limit: int = Query(10, ge=1, le=100)):
        v = service.current
        ql = q.lower()
        keys = v.items.keys.tolist()
        out = [k for k in keys if k.lower().startswith(ql)][:limit]
        if len(out) < limit and ql and v.columns:
            seen = set(out)
            for k in keys:
                if k not in seen and any(isinstance(x, str) and ql in x.lower() for x in v.info(k).values()):
                    out.append(k)
                    if len(out) >= limit:
                        break
        return {"query": q, "items": [{"item": k, **v.info(k)} for k in out]}

    @app.get("/api/explore/{item_id}")
    def explore(item_id: str, k: int = Query(10, ge=1)):
        v = service.current
        try:
            ans = service.similar(item_id, k, v=v)
        except KeyError as e:
            fail(404, e)
        except ValueError as e:
            fail(422, e)
        keys = [item_id] + [n["item"] for n in ans["neighbours"]]
        xy = v.xy(keys).tolist()
        ans["info"] = v.info(item_id)
        ans["xy"] = xy[0]
        for n, p in zip(ans["neighbours"], xy[1:]):
            n["xy"] = p
        return ans

    @app.get("/api/map")
    def catalogue_map(color: str | None = None):
        v = service.current
        if color is not None and color not in v.columns:
            raise HTTPException(422, f"unknown column {color!r}; columns: {v.columns}")
        m = v.projection()
        keys = v.items.keys[m["sample"]].tolist()
        values = [v.info(k).get(color) for k in keys] if color else [None] * len(keys)
        numeric = bool(color) and all(isinstance(x, (int, float)) or x is None for x in values)
        return {"version": v.name, "color": color, "numeric": numeric, "total": len(v.items),
                "points": [{"item": k, "x": round(float(x), 5), "y": round(float(y), 5), "c": c}
                           for k, (x, y), c in zip(keys, m["xy"].tolist(), values)]}

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError):
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    return app


def serve(app, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run ``app`` with uvicorn (blocking)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level)


class BackgroundServer:
    """Run an app with uvicorn in a background thread on a loopback port (tests, notebooks).

    ``port=0`` picks a free port; ``url`` is set once the server accepts connections.

    Examples
    --------
    >>> import numpy as np, httpx
    >>> from recembed import Embeddings
    >>> app = create_app(Embeddings(["a", "b"], np.eye(2, dtype=np.float32)))
    >>> with BackgroundServer(app) as srv:
    ...     httpx.get(srv.url + "/health").json()["items"]
    2
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.app, self.host, self.port, self.log_level = app, host, port, log_level
        self.url = None

    def __enter__(self):
        import socket

        import uvicorn

        if self.port == 0:
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level=self.log_level,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="recembed-uvicorn", daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.time() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        self.url = f"http://{self.host}:{self.port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
