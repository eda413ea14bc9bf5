"""Pictures: a 2-D map of embeddings coloured by label, and a training-loss curve.

The map projects the vectors with t-SNE (scikit-learn; vectors of more than 50 dimensions are
first reduced to 50 by PCA, the usual t-SNE preprocessing) or with UMAP when ``umap-learn`` is
installed and asked for. Figures are drawn with matplotlib's Agg backend (no display needed)
and written atomically as PNG.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import InputError, atomic_write, check_readable
from ..embeddings import Embeddings

#: colours for the most frequent labels; the rest are drawn grey as "other"
MAX_CLASSES = 18


def _palette(n: int, plt) -> list:
    """``n`` distinct colours without the greys (grey means "other / unlabelled")."""
    if n <= 9:
        return [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7][:n]
    return [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)][:n]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError("plotting needs matplotlib: pip install 'recembed[ml]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def project_2d(vectors: np.ndarray, method: str = "tsne", seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D coordinates of the rows of ``vectors`` by ``tsne``, ``umap`` or ``pca``.

    ``auto`` picks UMAP when installed, else t-SNE. t-SNE uses PCA initialisation and, for
    more than 50 dimensions, a PCA reduction to 50 first; perplexity is capped below the
    number of points.

    Examples
    --------
    >>> xy = project_2d(np.random.default_rng(0).normal(size=(40, 8)), method="pca")
    >>> xy.shape
    (40, 2)
    """
    X = np.asarray(vectors, dtype=np.float64)
    n = len(X)
    if n < 3:
        raise InputError(f"need at least 3 vectors to draw a map, got {n}")
    if method == "auto":
        method = "umap" if _umap_available() else "tsne"
    if method == "umap":
        if not _umap_available():
            raise InputError("method 'umap' needs umap-learn (pip install umap-learn); or use tsne")
        import umap

        return umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, n - 1)).fit_transform(X)
    from sklearn.decomposition import PCA

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(X)
    if method != "tsne":
        raise InputError(f"unknown projection {method!r}; choose tsne, umap, pca or auto")
    from sklearn.manifold import TSNE

    if X.shape[1] > 50:
        X = PCA(n_components=50, random_state=seed).fit_transform(X)
    perplexity = min(float(perplexity), (n - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(X)


def plot_embeddings(embeddings, path, labels=None, method: str = "tsne", seed: int = 0, perplexity: float = 30.0,
                    max_points: int | None = None, title: str | None = None, point_size: float | None = None) -> dict:
    """Draw a 2-D map of ``embeddings`` coloured by ``labels`` and write it as PNG.

    Parameters
    ----------
    embeddings : :class:`~recembed.Embeddings` or a path to an embeddings file.
    path : output ``.png``.
    labels : optional labels (any form :func:`~recembed.evaluation.as_label_pairs` takes). A node
        with several labels is coloured by its most frequent one; the :data:`MAX_CLASSES` most
        frequent labels get colours, nodes of other labels are dark grey, unlabelled ones light grey.
    method : ``tsne`` (default), ``umap``, ``pca`` or ``auto``.
    max_points : draw a seeded random sample of this many vectors (stated in the title);
        ``None``: all.
    title : figure title (default: file name, method and counts).

    Returns
    -------
    dict with ``n_points``, ``n_total``, ``n_labelled``, ``classes`` (drawn in colour), ``method``,
    ``title``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rng = np.random.default_rng(0)
    >>> emb = Embeddings([str(i) for i in range(60)], rng.normal(size=(60, 4)) + np.repeat(np.eye(4)[:3] * 5, 20, 0))
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.png"
    >>> info = plot_embeddings(emb, out, {str(i): str(i // 20) for i in range(60)}, method="pca")
    >>> out.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n", info["classes"]
    (True, ['0', '1', '2'])
    """
    from .node_classification import as_label_pairs

    _check_png_path(path)  # before the projection, which can take minutes
    name = str(embeddings) if isinstance(embeddings, (str, os.PathLike)) else "embeddings"
    emb = embeddings if isinstance(embeddings, Embeddings) else Embeddings.load(embeddings)
    n_total = len(emb)
    rows = np.arange(n_total)
    if max_points is not None and max_points < n_total:
        rows = np.sort(np.random.default_rng(seed).choice(n_total, int(max_points), replace=False))
    keys = emb.keys[rows]
    color_of = pd.Series(["" for _ in rows], index=pd.Index(keys), dtype=object)
    classes: list[str] = []
    if labels is not None:
        pairs = as_label_pairs(labels)
        freq = pairs["label"].value_counts()
        # a multi-label node takes its most frequent label, so big classes stay readable
        pairs = pairs.assign(f=pairs["label"].map(freq)).sort_values(["f", "label"], ascending=[False, True])
        first = pairs.drop_duplicates("node").set_index("node")["label"]
        color_of = first.reindex(keys).fillna("")
        present = color_of[color_of != ""].value_counts()
        classes = sorted(present.index[:MAX_CLASSES].tolist(), key=lambda c: (-present[c], c))
    xy = project_2d(emb.vectors[rows], method=method, seed=seed, perplexity=perplexity)
    used = method if method != "auto" else ("umap" if _umap_available() else "tsne")

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 7.5) if classes else (7.5, 7.5), dpi=120)
    size = point_size if point_size is not None else float(np.clip(12000 / len(rows), 2, 30))
    lab = color_of.to_numpy(dtype=object)
    unlabelled = lab == ""
    other = ~unlabelled & ~np.isin(lab, classes)
    for mask, colour, group in ((unlabelled, "#e0e0e0", "unlabelled"), (other, "#a8a8a8", "other labels")):
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], s=size, c=colour, linewidths=0,
                       label=f"{group} ({mask.sum():,})" if classes or labels is not None else None,
                       rasterized=True)
    for c, colour in zip(classes, _palette(len(classes), plt)):
        m = lab == c
        ax.scatter(xy[m, 0], xy[m, 1], s=size, color=colour, linewidths=0, label=f"{c} ({m.sum():,})",
                   rasterized=True)
    if classes or labels is not None:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, markerscale=max(1.0, 30 / size) ** 0.5,
                  frameon=False, title="label (points)")
    shown = f"{len(rows):,} of {n_total:,} points (random sample)" if len(rows) < n_total else f"{n_total:,} points"
    pretty = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA"}[used]
    title = title or f"{Path(name).name}: {pretty} map, {shown}"
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    _save_png(fig, path)
    plt.close(fig)
    return {"n_points": len(rows), "n_total": n_total, "n_labelled": int(np.count_nonzero(lab != "")),
            "classes": classes, "method": used, "title": title}


def _check_png_path(path) -> None:
    if Path(path).suffix.lower() != ".png":
        raise InputError("the figure is written as PNG: give a path ending in .png", path)


def _save_png(fig, path) -> None:
    _check_png_path(path)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")


# -- loss curves ----------------------------------------------------------------------------------
def read_losses(path) -> dict[str, np.ndarray]:
    """Per-epoch losses from a file: ``{series name: values}``.

    * ``.json``: a list of numbers, or an object whose ``loss``/``loss_``/``losses`` entry is one
      (or a list of lists / an object of lists: several series);
    * ``.npz``: a model saved by a recembed estimator (its ``loss_``);
    * anything else: CSV/TSV. With a header, every numeric column except ``epoch`` is a series;
      without one, one number per line (or ``epoch,loss`` lines).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "loss.csv"
    >>> _ = p.write_text("epoch,loss\\n1,2.5\\n2,1.5\\n")
    >>> {k: v.tolist() for k, v in read_losses(p).items()}
    {'loss': [2.5, 1.5]}
    """
    p = check_readable(path)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                header = json.loads(bytes(z["__header__"]).decode())
                kind = header["state"].get("loss_")
                if kind is None:
                    raise InputError(f"the saved {header.get('class', 'model')} has no loss_ (per-epoch losses)", p)
                value = z["loss_"] if kind == "array" else kind[1]
        except (KeyError, ValueError, OSError) as e:
            raise InputError(f"not a recembed model file ({e})", p) from None
        return _series(value, p)
    if suffix == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as e:
            raise InputError(f"not valid JSON ({e})", p) from None
        if isinstance(data, dict):
            for k in ("loss", "loss_", "losses"):
                if k in data:
                    return _series(data[k], p)
            return _series(data, p)
        return _series(data, p)
    with open(p, "rb") as fh:
        first_line = next((ln for ln in fh if ln.split(b"#", 1)[0].strip()), b"")
    sep = "," if b"," in first_line else "\t" if b"\t" in first_line else r"\s+"
    try:
        df = pd.read_csv(p, sep=sep, engine="python", header=None, dtype=str, comment="#", skip_blank_lines=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"cannot parse ({e})", p) from None
    first = df.iloc[0].tolist()
    has_header = any(_not_number(x) for x in first)
    if has_header:
        df.columns = [str(x).strip() for x in first]
        df = df.iloc[1:]
    else:
        df.columns = ["loss"] if df.shape[1] == 1 else ["epoch", "loss"] + [f"loss{i}" for i in range(2, df.shape[1])]
    out = {}
    for col in df.columns:
        if col.lower() in ("epoch", "epochs", "step", "iteration"):
            continue
        vals = pd.to_numeric(df[col], errors="coerce")
        if vals.isna().all():
            continue
        if vals.isna().any():
            i = int(np.flatnonzero(vals.isna().to_numpy())[0])
            raise InputError(f"column {col!r} holds a non-number: {df[col].iloc[i]!r}", p)
        out[col] = vals.to_numpy(dtype=np.float64)
    if not out:
        raise InputError("no numeric loss column", p)
    return out


def _not_number(x) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return True
    return False


def _series(value, p) -> dict[str, np.ndarray]:
    if isinstance(value, dict):
        out = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in value.items()
               if isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v)}
        if not out:
            raise InputError("no list of numbers found (expected 'loss': [...])", p)
        return out
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("losses must be numbers", p) from None
    if arr.ndim == 1:
        if not len(arr):
            raise InputError("the loss list is empty", p)
        return {"loss": arr}
    if arr.ndim == 2:
        return {f"loss {i + 1}": row for i, row in enumerate(arr)}
    raise InputError(f"losses must be a list (or list of lists), got shape {arr.shape}", p)


def plot_loss(losses, path, title: str | None = None, log_scale: bool | None = None) -> dict:
    """Draw per-epoch loss curves and write them as PNG.

    ``losses``: a list of numbers, a ``{name: values}`` dict, or a file :func:`read_losses`
    reads. ``log_scale=None`` uses a log y-axis when the values span more than 100x.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "loss.png"
    >>> plot_loss([3.0, 2.0, 1.5, 1.4], out)["epochs"]
    4
    """
    source = None
    if isinstance(losses, (str, os.PathLike)):
        source = Path(losses).name
        series = read_losses(losses)
    elif isinstance(losses, dict):
        series = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in losses.items()}
    else:
        series = {"loss": np.asarray(losses, dtype=np.float64).ravel()}
    if not series or not any(len(v) for v in series.values()):
        raise InputError("no losses to plot")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    allv = np.concatenate([v[np.isfinite(v)] for v in series.values()])
    if log_scale is None:
        log_scale = bool(len(allv) and allv.min() > 0 and allv.max() / allv.min() > 100)
    for name, v in series.items():
        epochs = np.arange(1, len(v) + 1)
        ax.plot(epochs, v, marker="o" if len(v) <= 50 else None, ms=4, label=name)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if max(len(v) for v in series.values()) <= 20:
        ax.set_xticks(np.arange(1, max(len(v) for v in series.values()) + 1))
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(frameon=False)
    ax.set_title(title or f"training loss per epoch{f' ({source})' if source else ''}", fontsize=10)
    fig.tight_layout()
    _save_png(fig, path)
    plt.close(fig)
    return {"series": list(series), "epochs": max(len(v) for v in series.values()),
            "final": {k: float(v[-1]) for k, v in series.items() if len(v)}}
