"""Exponential patience estimated from a queue's own counters."""

from __future__ import annotations

from typing import Any

import numpy as np

from staffing._validate import as_array, broadcast, shaped

#: Default minimum number of abandons before the estimate is trusted.
MIN_ABANDONS = 10


def estimate_patience(
    abandoned: Any,
    total_wait_s: Any,
    *,
    min_abandons: float = MIN_ABANDONS,
    fallback_s: Any = np.nan,
) -> Any:
    """Mean patience ``1/theta`` in seconds from observed counts, broadcast.

    For exponential patience the maximum-likelihood rate is
    ``theta = abandons / total seconds waited by all callers`` (answered and
    abandoned: every waiting second is exposure to hanging up), so
    ``patience_s = total_wait_s / abandoned``.  See Mandelbaum & Zeltyn
    (2007), and PRODUCT.md "Patience".

    Fallback: where ``abandoned < min_abandons`` the estimate is too noisy
    (its relative standard error is ``1/sqrt(abandoned)``) and ``fallback_s``
    is returned instead: NaN by default, or a value the caller passes (for
    example a site default, or ``np.inf`` to fall back to Erlang C).
    ``total_wait_s = 0`` with enough abandons gives 0 (everybody left at once).
    """
    ab = as_array("abandoned", abandoned)
    wait = as_array("total_wait_s", total_wait_s)
    fb = np.asarray(fallback_s, dtype=float)
    if (fb[~np.isnan(fb)] < 0).any():  # NaN is the documented "no estimate"
        raise ValueError("fallback_s must be >= 0 or NaN")
    if not np.isscalar(min_abandons) or not min_abandons > 0:
        raise ValueError(f"min_abandons must be a number > 0, got {min_abandons!r}")
    shape, (ab, wait, fb) = broadcast(ab, wait, fb)
    enough = ab >= min_abandons
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(enough, wait / np.where(enough, ab, 1.0), fb)
    return shaped(est, shape)
