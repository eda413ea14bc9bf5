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
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Text modes write UTF-8. On any exception the temporary file is removed and an
    existing ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(out, "w") as fh:
    ...     _ = fh.write("hi")
    >>> out.read_text()
    'hi'
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        # mkstemp creates the file 0600; give the result the mode an ordinary open() would
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def line_of_row(path, row: int, skip: int = 0) -> int:
    """File line number of data row ``row`` (0-based) as pandas' ``read_csv`` counts rows.

    The reader skipped ``skip`` header lines and every blank or whitespace-only line (pandas does
    so for tab- as for whitespace-separated files). Used to turn a bad row found by a vectorised
    check into the ``file:line`` of the error.
    """
    seen = -1
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno > skip and raw.strip():
                seen += 1
                if seen == row:
                    return lineno
    return row + 1 + skip
