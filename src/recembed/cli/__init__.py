"""The ``recembed`` command line.

Each concern owns one module here with a ``register(subparsers)`` function that adds
its sub-commands; a sub-command's handler receives the parsed ``args`` and returns an
exit code. :class:`recembed.InputError` becomes a one-line message and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .._io import InputError

# modules providing register(subparsers); a missing one is skipped so the CLI works while
# features are being added
_COMMAND_MODULES = ["embed", "graph", "evaluate", "index", "serve", "train", "plot", "spark", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recembed",
        description="Embeddings from user behaviour for recommender systems: Word2Vec/Item2Vec, "
                    "graph embeddings (DeepWalk, Node2Vec, LINE, SDNE, Struc2Vec), EGES, recall models, LSH serving.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"recembed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith(f"{__name__}.{name}"):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InputError as e:
        print(f"recembed: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, permission denied...: one line, not a traceback
        print(f"recembed: error: {e}", file=sys.stderr)
        return 1
    except FloatingPointError as e:  # a model diverged (learning rate too high): nothing was written
        print(f"recembed: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("recembed: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
