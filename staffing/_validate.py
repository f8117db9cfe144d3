"""Input checking and broadcasting shared by the public functions."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    allow_inf: bool = False,
    integer: bool = False,
    upper: float | None = None,
) -> np.ndarray:
    """Return ``value`` as a float array, or raise ``ValueError`` naming ``name``.

    Every value must be a non-NaN number ``>= 0`` (``> 0`` with ``positive``),
    finite unless ``allow_inf``, whole with ``integer`` and ``<= upper``.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite")
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {arr.min()!r}")
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {arr.min()!r}")
    if integer and (arr != np.floor(arr)).any():
        raise ValueError(f"{name} must be whole numbers")
    if upper is not None and (arr > upper).any():
        raise ValueError(f"{name} must be <= {upper}, got max {arr.max()!r}")
    return arr


def broadcast(*arrays: np.ndarray) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Broadcast to one shape and return ``(shape, flat contiguous copies)``."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return shape, [np.broadcast_to(a, shape).ravel().copy() for a in arrays]


def shaped(flat: np.ndarray, shape: tuple[int, ...]) -> Any:
    """Reshape a flat result; 0-d results come back as numpy scalars, like scipy.special."""
    out = flat.reshape(shape)
    return out[()] if out.ndim == 0 else out
