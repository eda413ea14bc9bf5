"""HTTP recall service (FastAPI + uvicorn) and the catalogue explorer page.

Needs the ``serve`` extra (``pip install 'recembed[serve]'``).

Examples
--------
>>> import numpy as np
>>> from recembed import Embeddings
>>> from recembed.serving import create_app
>>> app = create_app(Embeddings(["a", "b", "c"], np.eye(3, dtype=np.float32)), index="exact")
>>> app.state.service.health()["version"]
'1'
"""
from .app import BackgroundServer, RecallService, Version, create_app, serve

__all__ = ["BackgroundServer", "RecallService", "Version", "create_app", "serve"]
