"""Small array tools of the roster actions: ranges, runs, segment sums, hashes.

Vectorised helpers that know nothing of queues or agents; the other modules of
``staffing.actions`` build on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _expand(starts: Any, counts: Any) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges: ``owner[k] = j`` and ``value[k] = starts[j] + t``, ``t < counts[j]``."""
    counts = np.maximum(np.asarray(counts, dtype=np.int64), 0)
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    value = np.asarray(starts, dtype=np.int64)[owner] + (np.arange(owner.size) - first[owner])
    return owner, value


def _skill_entries(skills: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(agent, queue) of every skill, sorted by agent, and the agents' offsets ``ptr``."""
    n_a, n_q = skills.shape
    flat = np.flatnonzero(skills)  # far cheaper than 2-D nonzero on a wide bool matrix
    e_agent, e_queue = flat // n_q, flat % n_q
    return e_agent, e_queue, np.r_[0, np.cumsum(np.bincount(e_agent, minlength=n_a))]


def _summer(ptr: np.ndarray) -> sparse.csr_matrix:
    """(segments, entries) 0/1 matrix: ``_summer(ptr) @ v`` sums ``v`` per segment.

    A sparse product is an order of magnitude faster than ``np.add.reduceat`` along
    axis 0 of a (entries, intervals) array.
    """
    n = int(ptr[-1])
    return sparse.csr_matrix((np.ones(n), np.arange(n), ptr), shape=(ptr.size - 1, n))


def _take(arr: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``arr[rows, cols]`` through the flat index (about twice as fast as 2-D indexing)."""
    return arr.reshape(-1)[rows * arr.shape[1] + cols]


def _segment_sum(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Sum of ``values[ptr[j]:ptr[j+1]]`` per segment ``j`` (empty segments give 0)."""
    if values.ndim == 2 and values.dtype.kind in "fb":
        return np.asarray(_summer(ptr) @ values.astype(float, copy=False))
    out = np.zeros((ptr.size - 1,) + values.shape[1:], dtype=values.dtype)
    full = np.flatnonzero(ptr[1:] > ptr[:-1])
    if full.size:
        # reduceat over the non-empty starts only: an empty segment would repeat a value.
        out[full] = np.add.reduceat(values, ptr[full], axis=0)
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of True along each row: (row, start, end) with end exclusive."""
    pad = np.zeros((mask.shape[0], 1), dtype=np.int8)
    step = np.diff(np.hstack([pad, mask.astype(np.int8), pad]), axis=1)
    row, start = np.nonzero(step == 1)
    _, end = np.nonzero(step == -1)  # row-major order pairs each start with its end
    return row, start, end


def _run_forward(mask: np.ndarray) -> np.ndarray:
    """Number of consecutive True from each cell onwards along the rows."""
    n = mask.shape[1]
    idx = np.where(mask, n, np.arange(n))
    next_false = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    return next_false - np.arange(n)


def _run_backward(mask: np.ndarray) -> np.ndarray:
    """Number of consecutive True up to and including each cell along the rows."""
    n = mask.shape[1]
    prev_false = np.maximum.accumulate(np.where(mask, -1, np.arange(n)), axis=1)
    return np.arange(n) - prev_false


def _range_sum(cum: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray
               ) -> np.ndarray:
    """Sum over ``[start, end)`` of row ``rows`` from a (R, I + 1) cumulative sum."""
    return _take(cum, rows, end) - _take(cum, rows, start)


def _mix(*cols: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of integer columns (splitmix-style; only equality is used)."""
    h = np.full(np.asarray(cols[0]).shape, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for c in cols:
        c = np.asarray(c)
        h ^= c.astype(np.int64).view(np.uint64) if c.dtype != np.uint64 else c
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    return h


def _cumsum0(v: np.ndarray) -> np.ndarray:
    out = np.zeros((v.shape[0], v.shape[1] + 1), dtype=v.dtype)
    np.cumsum(v, axis=1, out=out[:, 1:])
    return out
