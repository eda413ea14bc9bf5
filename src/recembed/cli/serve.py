"""``recembed serve``: the HTTP recall service and explorer page over item embeddings.

Example::

    recembed serve --items items.emb --item-table items.csv --index lsh --host 127.0.0.1 --port 8000
    curl 'http://127.0.0.1:8000/items/item42/similar?k=10'
    # browse http://127.0.0.1:8000/explorer
"""
from __future__ import annotations

import argparse


def register(subparsers):
    p = subparsers.add_parser("serve", help="serve recall over HTTP (FastAPI + uvicorn) with an explorer page",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", required=True, help="item embeddings (.emb/.txt/.bin/.npz)")
    p.add_argument("--users", help="user embeddings in the same space, for POST /recall {'user': id}")
    p.add_argument("--item-table", help="CSV of side information: item,<columns>")
    p.add_argument("--index", choices=["exact", "lsh", "hnsw", "faiss"], default="lsh")
    p.add_argument("--metric", choices=["cosine", "ip", "l2"], default="cosine")
    p.add_argument("--max-k", type=int, default=1000, help="largest k a request may ask for (default 1000)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-admin", action="store_true", help="leave out POST /admin/reload")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=_serve)


def _serve(args):
    from .._io import InputError

    if args.max_k <= 0:
        raise InputError(f"--max-k must be > 0, got {args.max_k}")
    try:
        from ..serving import create_app, serve
    except ImportError as e:
        raise InputError(f"serving needs the 'serve' extra (pip install 'recembed[serve]'): {e}") from None
    app = create_app(args.items, users=args.users, index=args.index, item_table=args.item_table,
                     metric=args.metric, max_k=args.max_k, admin=not args.no_admin)
    h = app.state.service.health()
    print(f"serving {h['items']} items (dim {h['dim']}, {args.index} index, version {h['version']}) "
          f"on http://{args.host}:{args.port}  explorer: http://{args.host}:{args.port}/explorer", flush=True)
    serve(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
