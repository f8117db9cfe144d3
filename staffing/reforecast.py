"""Intraday reforecast of the rest of today, the history baseline, and forecast accuracy.

Pure numerics on queues x intervals arrays (numpy in, numpy out); no clock, no I/O. The caller
says which intervals are closed; everything is recomputed from the inputs each time.

Reforecast (method ``trend_to_date_ratio``, see docs/intraday.md). For each queue, over the
closed intervals ``i`` that can be used (forecast > 0 and finite, actual finite):

    w_i   = 2 ** (-(last - i) / h)                    recency weight, h = half-life in intervals
    r_raw = sum_i w_i A_i / sum_i w_i F_i             trend-to-date ratio
    r     = clip(r_raw, lo, hi)  if n_used >= min_closed  else 1

    reforecast_j = F_j * r * m_j                       m_j = product of the overlays on j

Volume and AHT are reforecast separately with the same rule; for AHT the weights are
``w_i * handled_i``, so the ratio is actual handle seconds over forecast handle seconds of the
calls actually handled. The ratio's denominator includes the overlays of the closed intervals,
so an event already overlaid (a storm that started two hours ago) is not counted twice.

The simple multiplicative update is the practical form of intraday forecast updating; see
H. Shen, J. Z. Huang, *Interday forecasting and intraday updating of call center arrivals*,
MSOM 10(3):391-410 (2008), for the statistical version. Accuracy: WAPE = sum |F - A| / sum A
and bias = mean(F - A) (PRODUCT.md); on WAPE see R. J. Hyndman, A. B. Koehler, *Another look
at measures of forecast accuracy*, IJF 22(4):679-688 (2006).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHOD = "trend_to_date_ratio"
BASELINE_METHOD = "baseline_median_same_weekday"


@dataclass(frozen=True)
class ReforecastParams:
    """Parameters of the trend-to-date ratio (defaults documented in docs/intraday.md).

    half_life_intervals : recency weight halves every this many intervals back from the last
        closed one; ``inf`` weighs every closed interval equally.
    min_closed : fewest usable closed intervals before a ratio is used (else ratio 1).
    volume_cap, aht_cap : ``(low, high)`` bounds of the volume and AHT ratios.
    """

    half_life_intervals: float = 4.0
    min_closed: int = 4
    volume_cap: tuple[float, float] = (0.5, 2.0)
    aht_cap: tuple[float, float] = (0.5, 2.0)

    def __post_init__(self) -> None:
        if not self.half_life_intervals > 0:
            raise ValueError(f"half_life_intervals must be > 0, got {self.half_life_intervals!r}")
        if int(self.min_closed) != self.min_closed or self.min_closed < 1:
            raise ValueError(f"min_closed must be a whole number >= 1, got {self.min_closed!r}")
        for name in ("volume_cap", "aht_cap"):
            lo, hi = getattr(self, name)
            if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= 1 <= hi):
                raise ValueError(f"{name} must be (low, high) with 0 < low <= 1 <= high, "
                                 f"got {(lo, hi)!r}")


@dataclass(frozen=True)
class Overlay:
    """A manual event: multiply volume (and optionally AHT) of one queue over intervals.

    ``start_iv`` is the first interval, ``end_iv`` the first one after (end exclusive), as
    indexes into the day's intervals: '+30 % on Claims 14:00-18:00' at 15 minutes is
    ``Overlay(claims, 56, 72, 1.3, label="storm")``.
    """

    queue: int
    start_iv: int
    end_iv: int
    volume_multiplier: float
    aht_multiplier: float = 1.0
    label: str = ""


@dataclass(frozen=True)
class RatioExplanation:
    """How one ratio (volume or AHT) was obtained, one value per queue.

    ratio : the ratio applied (capped; 1 where the minimum was not met).
    raw_ratio : ``actual_weighted / forecast_weighted`` before the cap (NaN with no usable
        interval).
    actual_weighted, forecast_weighted : ``sum w_i A_i`` and ``sum w_i F_i`` over the used
        intervals (for AHT: handle seconds, the weights include the handled calls).
    actual_total, forecast_total : the same sums without the recency weight (calls; for AHT
        handle seconds).
    n_used : closed intervals used; met_minimum : ``n_used >= min_closed``;
    capped : the raw ratio was outside ``cap``.
    weights : (queues, intervals) weight of each interval in the ratio, 0 where not used.
    """

    ratio: np.ndarray
    raw_ratio: np.ndarray
    actual_weighted: np.ndarray
    forecast_weighted: np.ndarray
    actual_total: np.ndarray
    forecast_total: np.ndarray
    n_used: np.ndarray
    met_minimum: np.ndarray
    capped: np.ndarray
    cap: tuple[float, float]
    weights: np.ndarray

    def explain(self, q: int, min_closed: int, what: str) -> dict[str, Any]:
        """Queue ``q``'s explanation as plain values, with the reason in words."""
        raw = float(self.raw_ratio[q])
        n = int(self.n_used[q])
        if not self.met_minimum[q]:
            why = (f"{n} usable closed interval(s), fewer than the minimum {min_closed}"
                   if n < min_closed else "no weight on the usable intervals")
            reason = f"{why}: {what} ratio 1 (forecast kept)"
        elif self.capped[q]:
            reason = (f"raw {what} ratio {raw:.3f} outside the cap [{self.cap[0]:g}, "
                      f"{self.cap[1]:g}]: capped to {float(self.ratio[q]):g}")
        else:
            reason = f"{what} ratio {raw:.3f} from {n} closed intervals"
        return {
            "ratio": float(self.ratio[q]),
            "raw_ratio": raw if np.isfinite(raw) else None,
            "actual_weighted": float(self.actual_weighted[q]),
            "forecast_weighted": float(self.forecast_weighted[q]),
            "actual_total": float(self.actual_total[q]),
            "forecast_total": float(self.forecast_total[q]),
            "n_used": n,
            "met_minimum": bool(self.met_minimum[q]),
            "capped": bool(self.capped[q]),
            "cap": list(self.cap),
            "weights": {int(i): float(w) for i, w in enumerate(self.weights[q]) if w > 0},
            "reason": reason,
        }


@dataclass(frozen=True)
class Reforecast:
    """Reforecast calls and AHT (queues x intervals) and how they were obtained.

    Values are given for every interval (the ratio and overlays applied to the forecast); the
    rest of the day is the intervals not closed. ``volume_overlay`` and ``aht_overlay`` are
    the overlay multipliers per cell (1 where none).
    """

    calls: np.ndarray
    aht_s: np.ndarray
    volume: RatioExplanation
    aht: RatioExplanation
    volume_overlay: np.ndarray
    aht_overlay: np.ndarray
    n_closed: np.ndarray
    params: ReforecastParams
    overlays: tuple[Overlay, ...] = field(default=())
    method: str = METHOD

    def explain(self, q: int) -> dict[str, Any]:
        """Everything the page shows for queue ``q``: method, parameters, ratios, overlays."""
        p = self.params
        return {
            "method": self.method,
            "order": "forecast x ratio, then x overlays",
            "half_life_intervals": p.half_life_intervals,
            "min_closed": p.min_closed,
            "n_closed": int(self.n_closed[q]),
            "volume": self.volume.explain(q, p.min_closed, "volume"),
            "aht": self.aht.explain(q, p.min_closed, "AHT"),
            "overlays": [
                {"start_iv": o.start_iv, "end_iv": o.end_iv,
                 "volume_multiplier": o.volume_multiplier, "aht_multiplier": o.aht_multiplier,
                 "label": o.label}
                for o in self.overlays if o.queue == q
            ],
        }


def _matrix(name: str, value: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (queues x intervals), got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    return arr


def closed_mask(closed: Any, shape: tuple[int, int]) -> np.ndarray:
    """Boolean (queues, intervals) mask from a mask, or from a count of closed intervals.

    A whole number (or one per queue) ``n`` means the first ``n`` intervals are closed.
    """
    arr = np.asarray(closed)
    if arr.dtype == bool:
        if arr.shape != shape:
            raise ValueError(f"closed mask has shape {arr.shape}, expected {shape}")
        return arr
    n = np.broadcast_to(arr, (shape[0],)).astype(float)
    if np.isnan(n).any() or (n < 0).any() or (n > shape[1]).any() or (n != np.floor(n)).any():
        raise ValueError(f"n_closed must be whole numbers in [0, {shape[1]}], got {closed!r}")
    return np.arange(shape[1]) < n[:, None]


def recency_weights(closed: np.ndarray, half_life_intervals: float) -> np.ndarray:
    """``w_i = 2 ** (-(last - i) / h)`` on closed cells (0 elsewhere), ``last`` per queue.

    The last closed interval of each queue weighs 1, one half-life earlier 0.5; the age
    counts intervals, used or not, so a gap still ages what lies before it.
    """
    n_iv = closed.shape[1]
    last = n_iv - 1 - np.argmax(closed[:, ::-1], axis=1)
    age = last[:, None] - np.arange(n_iv)
    with np.errstate(over="ignore"):
        w = np.exp2(-age / half_life_intervals)
    return np.where(closed, w, 0.0)


def trend_ratio(actual: np.ndarray, expected: np.ndarray, recency: np.ndarray, use: np.ndarray,
                cap: tuple[float, float], min_closed: int, volume: np.ndarray | None = None
                ) -> RatioExplanation:
    """Capped ratio ``sum w A / sum w F`` per queue (row) over the ``use`` cells.

    ``w = recency * volume`` (``volume`` defaults to 1; for AHT it is the handled calls, so
    the sums are handle seconds). Cells not in ``use`` weigh 0. With fewer than
    ``min_closed`` used cells the ratio is 1; otherwise it is clipped to ``cap``.
    """
    base = np.where(use, 1.0 if volume is None else volume, 0.0)
    w = base * recency
    a = np.where(use, actual, 0.0)
    f = np.where(use, expected, 0.0)
    n_used = use.sum(axis=1)
    aw, fw = (w * a).sum(axis=1), (w * f).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(fw > 0, aw / np.where(fw > 0, fw, 1.0), np.nan)
    met = (n_used >= min_closed) & np.isfinite(raw)
    capped_raw = np.clip(raw, cap[0], cap[1])
    return RatioExplanation(
        ratio=np.where(met, capped_raw, 1.0), raw_ratio=raw, actual_weighted=aw,
        forecast_weighted=fw, actual_total=(base * a).sum(axis=1),
        forecast_total=(base * f).sum(axis=1), n_used=n_used, met_minimum=met,
        capped=met & (capped_raw != raw), cap=(float(cap[0]), float(cap[1])), weights=w,
    )


def overlay_multipliers(overlays: Sequence[Overlay], shape: tuple[int, int]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(volume, AHT) multipliers per cell: overlapping overlays multiply; 1 where none."""
    vol, aht = np.ones(shape), np.ones(shape)
    for o in overlays:
        if not (0 <= o.queue < shape[0] and 0 <= o.start_iv < o.end_iv <= shape[1]):
            raise ValueError(f"overlay {o.label!r} is outside {shape[0]} queues x {shape[1]} "
                             f"intervals or empty: {o!r}")
        for name in ("volume_multiplier", "aht_multiplier"):
            m = getattr(o, name)
            if not (np.isfinite(m) and m >= 0):
                raise ValueError(f"overlay {o.label!r}: {name} must be finite and >= 0, got {m!r}")
        vol[o.queue, o.start_iv:o.end_iv] *= o.volume_multiplier
        aht[o.queue, o.start_iv:o.end_iv] *= o.aht_multiplier
    return vol, aht


def reforecast(
    forecast_calls: Any,
    forecast_aht: Any,
    actual_calls: Any,
    actual_aht: Any,
    closed: Any,
    params: ReforecastParams | None = None,
    overlays: Sequence[Overlay] = (),
    handled_calls: Any = None,
) -> Reforecast:
    """Reforecast calls and AHT of every queue (rows) and interval (columns).

    ``closed`` is a boolean mask or the number of closed intervals (one, or one per queue).
    Over each queue's closed intervals, with ``m`` the overlay multipliers and ``w`` the
    recency weights (:func:`recency_weights`):

    * volume ratio ``r_v = sum w A_calls / sum w (F_calls m_v)``, using intervals where
      ``F_calls m_v > 0`` (zero- or NaN-forecast intervals say nothing about a ratio) and the
      actual is known;
    * AHT ratio ``r_h = sum w c A_aht / sum w c (F_aht m_h)`` with ``c`` = ``handled_calls``
      (default ``actual_calls``), using intervals with ``c > 0``, a known actual AHT and
      ``F_aht m_h > 0``;
    * each ratio is clipped to its cap, and is 1 unless at least ``params.min_closed``
      intervals were used.

    Then ``calls = F_calls r_v m_v`` and ``aht_s = F_aht r_h m_h``: ratio first, then the
    overlays, which are not capped. A NaN forecast stays NaN. Actual values of intervals not
    closed are ignored. Reference: Shen & Huang (2008), intraday updating.
    """
    p = params or ReforecastParams()
    fc = _matrix("forecast_calls", forecast_calls)
    shape = fc.shape
    fa = _matrix("forecast_aht", forecast_aht, shape)
    ac = _matrix("actual_calls", actual_calls, shape)
    aa = _matrix("actual_aht", actual_aht, shape)
    hc = ac if handled_calls is None else _matrix("handled_calls", handled_calls, shape)
    mask = closed_mask(closed, shape)
    m_v, m_h = overlay_multipliers(overlays, shape)
    w = recency_weights(mask, p.half_life_intervals)
    exp_calls, exp_aht = fc * m_v, fa * m_h
    with np.errstate(invalid="ignore"):
        use_v = mask & (exp_calls > 0) & np.isfinite(exp_calls) & np.isfinite(ac)
        use_h = (mask & (exp_aht > 0) & np.isfinite(exp_aht) & np.isfinite(aa)
                 & np.isfinite(hc) & (hc > 0))
    vol = trend_ratio(ac, exp_calls, w, use_v, p.volume_cap, p.min_closed)
    aht = trend_ratio(aa, exp_aht, w, use_h, p.aht_cap, p.min_closed, volume=hc)
    return Reforecast(
        calls=exp_calls * vol.ratio[:, None], aht_s=exp_aht * aht.ratio[:, None],
        volume=vol, aht=aht, volume_overlay=m_v, aht_overlay=m_h, n_closed=mask.sum(axis=1),
        params=p, overlays=tuple(overlays),
    )


@dataclass(frozen=True)
class Baseline:
    """A forecast built from history when none was imported, labelled as such.

    values : median per cell over the days given (NaN where fewer than ``min_days`` known).
    n_days : how many days had a value in each cell.
    """

    values: np.ndarray
    n_days: np.ndarray
    min_days: int
    method: str = BASELINE_METHOD


def baseline_from_history(days_matrix: Any, *, min_days: int = 3) -> Baseline:
    """Median per cell across past days (axis 0), e.g. the same weekday of the last weeks.

    ``days_matrix`` has shape (days, ...) -- typically (days, queues, intervals) -- with NaN
    for a missing value (a day not archived, an interval with no data). The median of an even
    number of days is the mean of the two middle values (numpy). Cells known on fewer than
    ``min_days`` days are NaN. The median resists one unusual day (a holiday, an outage)
    better than the mean.
    """
    arr = np.asarray(days_matrix, dtype=float)
    if arr.ndim < 1 or arr.shape[0] == 0:
        raise ValueError("days_matrix needs at least one day along axis 0")
    if int(min_days) != min_days or min_days < 1:
        raise ValueError(f"min_days must be a whole number >= 1, got {min_days!r}")
    n = np.isfinite(arr).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: handled just below
        med = np.nanmedian(np.where(np.isfinite(arr), arr, np.nan), axis=0)
    return Baseline(values=np.where(n >= min_days, med, np.nan), n_days=n, min_days=int(min_days))


@dataclass(frozen=True)
class Accuracy:
    """WAPE and bias along the last axis (per queue, or per day and queue) and in total.

    wape = abs_error / actual_sum (NaN when actual_sum = 0); bias = mean(F - A) (NaN when
    n = 0). The totals pool every cell: total_wape = sum |F - A| / sum A over all of them.
    """

    wape: np.ndarray
    bias: np.ndarray
    n: np.ndarray
    abs_error: np.ndarray
    actual_sum: np.ndarray
    total_wape: float
    total_bias: float
    total_n: int


def accuracy(forecast: Any, actual: Any, mask: Any = None) -> Accuracy:
    """Forecast accuracy: ``WAPE = sum |F - A| / sum A`` and ``bias = mean(F - A)``.

    Reduced over the last axis (intervals) over the cells in ``mask`` (default: all) where
    both values are known (NaN = missing, left out). WAPE is undefined -- NaN -- where
    ``sum A = 0`` (no actual calls: any error is infinitely large relative to nothing);
    bias is NaN with no cell. Bias > 0 means over-forecast. Reference: Hyndman & Koehler
    (2006); PRODUCT.md.
    """
    f = np.asarray(forecast, dtype=float)
    a = np.asarray(actual, dtype=float)
    if f.shape != a.shape or f.ndim < 1:
        raise ValueError(f"forecast and actual need the same shape, got {f.shape} and {a.shape}")
    use = np.isfinite(f) & np.isfinite(a)
    if mask is not None:
        use &= np.broadcast_to(np.asarray(mask, dtype=bool), f.shape)
    err = np.where(use, f - a, 0.0)
    act = np.where(use, a, 0.0)
    n = use.sum(axis=-1)
    abs_err, a_sum, e_sum = np.abs(err).sum(axis=-1), act.sum(axis=-1), err.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        wape = np.where(a_sum != 0, abs_err / np.where(a_sum != 0, a_sum, 1.0), np.nan)
        bias = np.where(n > 0, e_sum / np.maximum(n, 1), np.nan)
    tot_a, tot_n = float(a_sum.sum()), int(n.sum())
    return Accuracy(
        wape=wape, bias=bias, n=n, abs_error=abs_err, actual_sum=a_sum,
        total_wape=float(abs_err.sum()) / tot_a if tot_a != 0 else float("nan"),
        total_bias=float(e_sum.sum()) / tot_n if tot_n else float("nan"),
        total_n=tot_n,
    )
