"""Shared input/output plumbing: one error type for bad input, and atomic writes.

Every reader in recembed reports bad input as :class:`InputError`, naming the
file, the 1-based line and the problem, and every writer goes through
:func:`atomic_write`, so a crash or an error never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class InputError(ValueError):
    """Bad input: a missing/empty file, a malformed line, or an invalid parameter.

    ``str(err)`` reads ``path:line: message`` when the location is known.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``Path(path)`` or raise :class:`InputError` if it is missing, a folder or empty."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if p.is_dir():
        raise InputError("is a directory, expected a file", p)
    if p.stat().st_size == 0:
        raise InputError("file is empty", p)
    return p


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb"):
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_positive(name: str, value, integer: bool = False, allow_zero: bool = False):
    """Validate a hyperparameter; raise :class:`InputError` naming it."""
    ok_type = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type):
        try:
            import numpy as np

            if not isinstance(value, (np.integer,) if integer else (np.integer, np.floating)):
                raise TypeError
        except TypeError:
            raise InputError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}") from None
    if value != value or (value < 0 if allow_zero else value <= 0):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value
