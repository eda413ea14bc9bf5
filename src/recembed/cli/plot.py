"""``recembed plot``: a PNG map of embeddings coloured by label, or a training-loss curve.

::

    recembed plot vectors.emb --labels labels.txt -o map.png        # t-SNE map
    recembed plot vectors.emb --dataset wiki -o map.png --method umap
    recembed plot --loss model.npz -o loss.png                      # a saved model's loss_
    recembed plot --loss losses.csv -o loss.png                     # or a CSV/JSON of losses
"""
from __future__ import annotations

import argparse
import sys

from .._io import InputError
from .embed import nonnegative_int, positive_float, positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot", help="draw embeddings in 2-D coloured by label, or a training-loss curve (PNG)",
        description="Draw a 2-D map of embeddings (t-SNE by default; UMAP if umap-learn is installed and "
                    "--method umap) coloured by node labels, or with --loss a per-epoch training-loss curve. "
                    "Writes a PNG.")
    p.add_argument("emb", nargs="?", metavar="EMB", help="embeddings file (.txt/.emb/.vec, .bin, .npz)")
    p.add_argument("--loss", metavar="PATH",
                   help="instead of a map: plot per-epoch losses from a saved model (.npz, its loss_), a JSON "
                        "list (or {\"loss\": [...]}) or a CSV (a 'loss' column, or one number per line)")
    p.add_argument("--output", "-o", required=True, metavar="PNG", help="where to write the PNG")
    lab = p.add_mutually_exclusive_group()
    lab.add_argument("--labels", metavar="PATH",
                     help="'node label' lines (a 'node label' header is skipped; a node may repeat)")
    lab.add_argument("--dataset", metavar="NAME", help="use a benchmark's labels (blogcatalog, wiki, cora, ...)")
    p.add_argument("--data-dir", metavar="DIR", help="the dataset's folder (with --dataset)")
    p.add_argument("--method", choices=["tsne", "umap", "pca", "auto"], default="tsne",
                   help="projection: tsne (scikit-learn, default), umap (needs umap-learn), pca, or auto "
                        "(umap when installed, else tsne)")
    p.add_argument("--perplexity", type=positive_float, default=30.0, metavar="X", help="t-SNE perplexity (default: 30)")
    p.add_argument("--max-points", type=positive_int, default=None, metavar="N",
                   help="draw a random sample of N vectors (stated in the title; default: all)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="N", help="projection/sample seed (default: 0)")
    p.add_argument("--title", default=None, help="figure title")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.plot import plot_embeddings, plot_loss

    if args.loss:
        if args.emb or args.labels or args.dataset:
            raise InputError("--loss draws a loss curve: give no EMB, --labels or --dataset with it")
        info = plot_loss(args.loss, args.output, title=args.title)
        final = ", ".join(f"{k} {v:.4g}" for k, v in info["final"].items())
        print(f"loss curve: {info['epochs']} epochs (final {final}) -> {args.output}", file=sys.stderr)
        return 0
    if not args.emb:
        raise InputError("give an embeddings file (EMB) to draw, or --loss PATH for a loss curve")
    if args.data_dir and not args.dataset:
        raise InputError("--data-dir only applies with --dataset")
    labels = args.labels
    if args.dataset:
        from ..datasets.public import load_dataset

        labels = load_dataset(args.dataset, args.data_dir).labels
    info = plot_embeddings(args.emb, args.output, labels=labels, method=args.method, seed=args.seed,
                           perplexity=args.perplexity, max_points=args.max_points, title=args.title)
    print(f"{info['method']} map: {info['n_points']:,} of {info['n_total']:,} vectors, {info['n_labelled']:,} "
          f"labelled, {len(info['classes'])} colours -> {args.output}", file=sys.stderr)
    return 0
