"""Binary search in a sorted slice: the one implementation shared by the walk engine (is ``x``
a neighbour of ``t``? CSR rows are sorted) and the LSH index (which bucket holds code ``c``?)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def find_sorted(arr, lo, hi, x):
    """Position of ``x`` in the sorted slice ``arr[lo:hi]``, or -1.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([1, 3, 3, 7, 9])
    >>> int(find_sorted(a, 0, 5, 7)), int(find_sorted(a, 0, 3, 7)), int(find_sorted(a, 0, 5, 3))
    (3, -1, 1)
    """
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and arr[lo] == x:
        return lo
    return -1
