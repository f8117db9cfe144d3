"""Inverse problem: the fewest agents that meet a target, vectorised over problems.

Search (all problems at once, no per-problem Python loop):

1. Bracket from the load with square-root staffing, ``lo = a - 2 sqrt(a) - 1``
   (Erlang C: ``floor(a)``, which is unstable and so always fails) and
   ``hi = a + 2 sqrt(a) + 3``; widen each end by doubling its width where it
   does not yet fail / meet (a few problems with strict targets).
2. Narrow every unresolved bracket at once until ``hi = lo + 1``; ``hi`` is
   the answer: N meets the target, N - 1 does not.  Each round probes the
   integer where a secant of the measure (on a near-linear scale) crosses
   the target, plus its neighbour, which usually closes the bracket in two
   rounds; after four rounds it is plain bisection, so the worst case stays
   logarithmic in the bracket width.

For Erlang C the measures at the probed points come from a table of
``1/B(N, a)`` built by the stable upward recursion
``1/B(N) = 1 + (N / a) / B(N - 1)`` from one exact (incomplete gamma) value
at ``floor(a)``: each step costs a multiply-add instead of an incomplete
gamma, which is what keeps 10,000 problems within a few milliseconds.
Relative error does not grow along that recursion: the relative error of
``1/B(N)`` is that of ``1/B(N - 1)`` times ``(1/B(N) - 1) / (1/B(N)) < 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from staffing._special import log_inv_erlang_b
from staffing._validate import as_array, broadcast, shaped
from staffing.erlang_a import erlang_a_flat, service_level_from
from staffing.erlang_c import SL_FORMULAS, check_formula, erlang_c_flat

_TABLE_MAX_CELLS = 8_000_000  # 64 MB of float64; beyond, use the closed form per point
ValueFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class _InvBTable:
    """``1/B(n, a)`` for ``n = n0, n0 + 1, ...``, grown on demand by recursion."""

    def __init__(self, a: np.ndarray, n0: np.ndarray) -> None:
        self.a = a
        self.n0 = n0
        with np.errstate(over="ignore"):
            first = np.exp(log_inv_erlang_b(n0, a))
        self.rows = np.empty((64, a.size))
        self.rows[0] = first
        self.size = 1

    def get(self, idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        # Below n0 = floor(a) the queue is unstable and 1/B is not used.
        k = np.maximum(n - self.n0[idx], 0.0).astype(np.intp)
        need = int(k.max(initial=0)) + 1
        if need > self.size:
            self._grow(need)
        # A flat take is several times cheaper than 2-D fancy indexing.
        return self.rows.reshape(-1).take(k * self.a.size + idx)

    def _grow(self, need: int) -> None:
        if need > self.rows.shape[0]:
            bigger = np.empty((max(need, 2 * self.rows.shape[0]), self.a.size))
            bigger[: self.size] = self.rows[: self.size]
            self.rows = bigger
        rows = self.rows
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            inv_a = 1.0 / self.a
            ratio = (self.n0 + (self.size - 1)) * inv_a
            for r in range(self.size, need):
                # 1/B(n) = 1 + (n/a) / B(n-1), three in-place ufuncs per row:
                # this loop is the hot spot of the Erlang C search.  Overflow
                # to inf only means B underflowed to 0, which the measures handle.
                # n/a is accumulated (rounding <= rows * 1e-16, invisible here).
                np.add(ratio, inv_a, out=ratio)
                np.multiply(ratio, rows[r - 1], out=rows[r])
                np.add(rows[r], 1.0, out=rows[r])
        self.size = need


def _erlang_c_table_fns(kind: str, lam, aht, t, table: _InvBTable) -> tuple[ValueFn, ValueFn]:
    """(measure, scaled measure) at N from the 1/B table; see ``to_scale``."""
    # Per-problem constants hoisted out of the search loop.
    rate_t = t / aht
    no_calls = lam == 0
    any_no_calls = bool(no_calls.any())
    inv_aht = 1.0 / aht
    unstable_g = 0.0 if kind == "sl" else np.inf  # SL 0 -> log(1 - 0); ASA inf

    def scaled(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        gap = n - table.a.take(idx)  # N - a: the queue is stable iff > 0
        inv_b = table.get(idx, n)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_c = -np.log1p((gap / n) * (inv_b - 1.0))
            # log P(W > t) = log C - (N mu - lambda) t;  log ASA = log C - log(N mu - lambda)
            tail = gap * rate_t.take(idx) if kind == "sl" else np.log(gap * inv_aht.take(idx))
            g = np.where(gap > 0, log_c - tail, unstable_g)
        return np.where(no_calls.take(idx), -np.inf, g) if any_no_calls else g

    def value(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        g = scaled(idx, n)
        return -np.expm1(g) if kind == "sl" else np.exp(g)

    return value, scaled


def _erlang_c_closed_fn(kind: str, lam, aht, t) -> ValueFn:
    def value(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        out = erlang_c_flat(lam[idx], aht[idx], n, t[idx])
        return out["service_level"] if kind == "sl" else out["asa_s"]

    return value


def _erlang_a_fn(kind: str, lam, aht, t, pat, s, formula: str) -> ValueFn:
    want_s = (kind == "abandon") or (kind == "sl" and formula == "excl_short")

    def value(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        o = erlang_a_flat(lam[idx], aht[idx], n, t[idx], pat[idx], s[idx],
                          want_s=want_s, want_asa=kind == "asa")
        if kind == "sl":
            return service_level_from(formula, o["p_answered_within_t"], o["p_abandon"],
                                      o["p_abandon_within_short"], o["p_abandon_within_t"])
        if kind == "asa":
            return o["asa_s"]
        if kind == "occupancy":
            return o["occupancy"]
        ab, ab_s = o["p_abandon"], o["p_abandon_within_short"]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (ab - ab_s) / (1.0 - ab_s)

    return value


def to_scale(v: np.ndarray, higher: bool) -> np.ndarray:
    """Map a measure to the falling, near-linear search scale.

    ``log(1 - v)`` for measures that must be high (SL: ``log P(W > t)``),
    ``log v`` for measures that must be low; ``v >= T`` becomes
    ``scale(v) <= scale(T)`` and ``v <= T`` likewise.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p(-np.minimum(v, 1.0)) if higher else np.log(v)


class _Bracket:
    """Per-problem bracket ``[lo, hi]`` (lo fails, hi meets) and the measure at both ends.

    The measure is kept on a scale where it is close to linear in N --
    ``log P(W > t) = log(1 - SL)`` for service levels (Erlang C: ``log C``
    minus a term linear in N), ``log`` of ASA / abandonment / occupancy --
    so that interpolating between the ends predicts the answer to within an
    agent or so, and a search costs a handful of evaluations, not log2(width).
    """

    def __init__(self, scaled: ValueFn, g_target, lo, hi) -> None:
        self.scaled, self.g_target = scaled, g_target
        self.lo, self.hi = lo, hi
        self.g_lo = np.full(lo.size, np.nan)
        self.g_hi = np.full(lo.size, np.nan)
        # The last two probes (a secant through adjacent N gives the local slope).
        self.n_a, self.g_a = np.full(lo.size, np.nan), np.full(lo.size, np.nan)
        self.n_b, self.g_b = np.full(lo.size, np.nan), np.full(lo.size, np.nan)

    def probe(self, idx: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(meets?, scaled measure); the scaled measure falls with N, NaN never meets."""
        g = self.scaled(idx, n)
        return g <= self.g_target[idx], g

    def update(self, idx: np.ndarray, n: np.ndarray) -> None:
        good, g = self.probe(idx, n)
        met, miss = idx[good], idx[~good]
        self.hi[met], self.g_hi[met] = n[good], g[good]
        self.lo[miss], self.g_lo[miss] = n[~good], g[~good]
        self.n_a[idx], self.g_a[idx] = self.n_b[idx], self.g_b[idx]
        self.n_b[idx], self.g_b[idx] = n, g

    def guess(self, idx: np.ndarray) -> np.ndarray:
        """Secant (else chord) crossing of the target, strictly inside; else the midpoint."""
        lo, hi = self.lo[idx], self.hi[idx]
        n_a, g_a, n_b, g_b = self.n_a[idx], self.g_a[idx], self.n_b[idx], self.g_b[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = n_b + (self.g_target[idx] - g_b) * (n_b - n_a) / (g_b - g_a)
            chord = lo + (self.g_target[idx] - self.g_lo[idx]) * (hi - lo) / (
                self.g_hi[idx] - self.g_lo[idx])
        est = np.where(np.isfinite(secant), secant,
                       np.where(np.isfinite(chord), chord, 0.5 * (lo + hi)))
        return np.clip(np.ceil(est), lo + 1.0, hi - 1.0)


def _widen_down(br: _Bracket, result, done, check) -> None:
    """Move ``lo`` down until it fails; a problem met at N = 0 is solved with 0."""
    while check.size:
        good, g = br.probe(check, br.lo[check])
        br.g_lo[check[~good]] = g[~good]
        met = check[good]
        zero = met[br.lo[met] == 0]
        result[zero] = 0.0
        done[zero] = True
        met = met[br.lo[met] > 0]
        width = br.hi[met] - br.lo[met]
        br.hi[met] = br.lo[met]
        br.g_hi[met] = g[good][br.lo[check[good]] > 0]
        br.lo[met] = np.maximum(0.0, br.lo[met] - 2.0 * width)
        check = met


def _widen_up(br: _Bracket, cap, done) -> None:
    """Move ``hi`` up until it meets; past ``cap`` the target is unattainable (NaN)."""
    check = np.flatnonzero(~done)
    while check.size:
        good, g = br.probe(check, br.hi[check])
        br.g_hi[check[good]] = g[good]
        bad = check[~good]
        stuck = bad[br.hi[bad] >= cap[bad]]
        done[stuck] = True  # result stays NaN
        keep = br.hi[bad] < cap[bad]
        bad = bad[keep]
        width = br.hi[bad] - br.lo[bad]
        br.lo[bad], br.g_lo[bad] = br.hi[bad], g[~good][keep]
        br.hi[bad] = np.minimum(cap[bad], br.hi[bad] + 2.0 * width)
        check = bad


def search(value: ValueFn, target, higher: bool, lo, hi, cap, fractional: bool,
           fails_at_lo: np.ndarray | None = None, scaled: ValueFn | None = None) -> np.ndarray:
    """Smallest whole N >= 0 with ``value(N)`` meeting ``target`` (NaN if none <= cap).

    ``value`` must be monotone in N.  After bracketing, each round probes the
    interpolated crossing and its neighbour on the far side (usually closing
    the bracket at once); after four rounds it falls back to plain
    bisection, so the worst case stays logarithmic.  With ``fractional`` the
    answer is ``N - 1 + (target - v(N-1)) / (v(N) - v(N-1))``: where the
    straight line between the two neighbouring measures crosses the target.
    ``fails_at_lo`` marks problems known to fail at ``lo`` (saves one evaluation);
    ``scaled`` computes ``to_scale(value)`` directly where that is cheaper.
    """
    if scaled is None:
        def scaled(idx: np.ndarray, n: np.ndarray) -> np.ndarray:
            return to_scale(value(idx, n), higher)
    br = _Bracket(scaled, to_scale(target, higher), lo.astype(float),
                  np.maximum(hi, lo + 1.0).astype(float))
    result = np.full(lo.size, np.nan)
    done = np.zeros(lo.size, dtype=bool)
    unknown = np.arange(lo.size) if fails_at_lo is None else np.flatnonzero(~fails_at_lo)
    _widen_down(br, result, done, unknown)
    _widen_up(br, cap, done)
    open_ = np.flatnonzero(~done)
    act = open_[br.hi[open_] - br.lo[open_] > 1.0]
    rounds = 0
    while act.size:
        if rounds < 4:
            mid = br.guess(act)
            br.update(act, mid)
            # The neighbour across the guess: if the guess was right, this closes it.
            nb = np.where(br.hi[act] == mid, mid - 1.0, mid + 1.0)
            inside = (nb > br.lo[act]) & (nb < br.hi[act])
            br.update(act[inside], nb[inside])
        else:
            br.update(act, np.floor(0.5 * (br.lo[act] + br.hi[act])))
        rounds += 1
        act = act[br.hi[act] - br.lo[act] > 1.0]
    result[open_] = br.hi[open_]
    if fractional:
        _interpolate(value, target, result)
    return result


def _interpolate(value: ValueFn, target, result) -> None:
    idx = np.flatnonzero(np.isfinite(result) & (result > 0))
    if not idx.size:
        return
    n = result[idx]
    v1, v0 = value(idx, n), value(idx, n - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (target[idx] - v0) / (v1 - v0)
    frac = np.where(np.isfinite(frac), np.clip(frac, 0.0, 1.0), 1.0)
    result[idx] = n - 1.0 + frac


def _inputs(rate_per_s, aht_s, threshold_s, patience_s, short_abandon_s, model):
    if model not in ("erlang_c", "erlang_a"):
        raise ValueError(f"model must be 'erlang_c' or 'erlang_a', got {model!r}")
    if model == "erlang_a" and patience_s is None:
        raise ValueError("patience_s is required with model='erlang_a'")
    if model == "erlang_c" and patience_s is not None:
        raise ValueError("patience_s is only used with model='erlang_a'")
    lam = as_array("rate_per_s", rate_per_s)
    aht = as_array("aht_s", aht_s, positive=True)
    t = as_array("threshold_s", threshold_s, allow_inf=True)
    pat = as_array("patience_s", np.inf if patience_s is None else patience_s, allow_inf=True)
    s = as_array("short_abandon_s", short_abandon_s, allow_inf=True)
    return [lam, aht, t, pat, s]


def _optional(name: str, value: Any, **kw) -> np.ndarray:
    return np.asarray(np.nan) if value is None else as_array(name, value, **kw)


def required_agents(
    rate_per_s: Any,
    aht_s: Any,
    *,
    target_sl: Any = None,
    threshold_s: Any = 20.0,
    target_asa_s: Any = None,
    target_abandon: Any = None,
    model: str = "erlang_c",
    patience_s: Any = None,
    sl_formula: str = SL_FORMULAS[0],
    short_abandon_s: Any = 0.0,
    max_occupancy: Any = None,
    shrinkage: Any = 0.0,
    fractional: bool = False,
) -> Any:
    """Fewest agents meeting every given target, broadcast over all array arguments.

    Targets (give at least one; each is met, the answer is the largest need):

    * ``target_sl``: model service level ``>= target_sl`` at ``threshold_s``
      under ``sl_formula`` (one of ``SL_FORMULAS``; all coincide for Erlang C);
    * ``target_asa_s``: ASA ``<=`` target (Erlang C: all calls; Erlang A:
      answered calls, as in PRODUCT.md);
    * ``target_abandon``: abandon rate ``(Ab - Ab within S)/(1 - Ab within S)
      <=`` target (``model='erlang_a'`` only: Erlang C has no abandonment);
    * ``max_occupancy``: occupancy ``<=`` max (Erlang C: ``N >= a / max``).

    Then ``scheduled = required / (1 - shrinkage)``, rounded up to a whole
    agent (after rounding to 9 decimals, so 8 / 0.8 is 10, not 11).

    With ``fractional=True`` nothing is rounded: each target contributes
    ``N - 1 + (target - m(N-1)) / (m(N) - m(N-1))``, the linear
    interpolation of the measure m between the last failing and the first
    meeting whole N (``a / max_occupancy`` for the Erlang C occupancy
    cap), so fractional needs of several queues can be summed before
    rounding.  It always lies in ``(N - 1, N]``.

    Returns a float array (whole numbers unless ``fractional``); NaN where
    the target cannot be met by any N up to ``a + 40 sqrt(a) + 200`` (for
    example an ASA target of 0 with calls).  No calls: 0 agents.
    """
    lam, aht, t, pat, s = _inputs(rate_per_s, aht_s, threshold_s, patience_s,
                                  short_abandon_s, model)
    check_formula(sl_formula)
    if all(v is None for v in (target_sl, target_asa_s, target_abandon, max_occupancy)):
        raise ValueError("give at least one of target_sl, target_asa_s, target_abandon, "
                         "max_occupancy")
    if target_abandon is not None and model == "erlang_c":
        raise ValueError("target_abandon needs model='erlang_a' (Erlang C has no abandonment)")
    targets = {
        "sl": _optional("target_sl", target_sl, upper=1.0),
        "asa": _optional("target_asa_s", target_asa_s),
        "abandon": _optional("target_abandon", target_abandon, upper=1.0),
        "occupancy": _optional("max_occupancy", max_occupancy, positive=True, upper=1.0),
    }
    shrink = as_array("shrinkage", shrinkage)
    if (shrink >= 1).any():
        raise ValueError("shrinkage must be < 1")
    given = {k: v for k, v, raw in zip(targets, targets.values(),
                                       (target_sl, target_asa_s, target_abandon, max_occupancy),
                                       strict=True) if raw is not None}
    shape, flat = broadcast(lam, aht, t, pat, s, shrink, *given.values())
    lam, aht, t, pat, s, shrink = flat[:6]
    goals = dict(zip(given, flat[6:], strict=True))
    need = np.zeros(lam.size)
    for kind, target in goals.items():
        # np.maximum propagates NaN: one unattainable target makes the answer NaN.
        need = np.maximum(need, _solve(kind, target, lam, aht, t, pat, s, model, sl_formula,
                                       fractional))
    need = _apply_shrinkage(need, shrink, fractional)
    return shaped(need, shape)


def _apply_shrinkage(need: np.ndarray, shrink: np.ndarray, fractional: bool) -> np.ndarray:
    scheduled = need / (1.0 - shrink)
    return scheduled if fractional else np.ceil(np.round(scheduled, 9))


def _solve(kind, target, lam, aht, t, pat, s, model, formula, fractional) -> np.ndarray:
    a = lam * aht
    if kind == "occupancy" and model == "erlang_c":
        exact = np.where(lam > 0, a / target, 0.0)
        return exact if fractional else np.ceil(np.round(exact, 9))
    higher = kind == "sl"
    root = np.sqrt(a)
    cap = np.ceil(a + 40.0 * root + 200.0)
    hi = np.ceil(a + 2.0 * root + 3.0)
    fails = scaled = None
    if model == "erlang_c":
        lo = np.floor(a)
        # N = floor(a) <= a is unstable: SL 0 and ASA inf fail any target but SL 0.
        fails = (lam > 0) & ((target > 0) if higher else np.isfinite(target))
        cells = float((hi - lo).max(initial=0) + 64) * lam.size
        if cells <= _TABLE_MAX_CELLS:
            fn, scaled = _erlang_c_table_fns(kind, lam, aht, t, _InvBTable(a, lo))
        else:
            fn = _erlang_c_closed_fn(kind, lam, aht, t)
    else:
        lo = np.floor(np.maximum(0.0, a - 2.0 * root - 1.0))
        fn = _erlang_a_fn(kind, lam, aht, t, pat, s, formula)
    return search(fn, target, higher, lo, hi, cap, fractional, fails, scaled)
