"""Numerical kernels shared by the Erlang B, C and A code.

Two scaled special functions carry everything:

* ``log_inv_erlang_b(n, a) = log(1 / B(n, a))`` with
  ``1 / B(n, a) = e^a a^-n Gamma(n + 1, a)``, the *scaled upper* incomplete gamma;
* ``log_a(x, z) = log A(x, z)`` with ``A(x, z) = x e^z z^-x gamma(x, z)
  = sum_j z^j / ((x + 1)(x + 2)...(x + j))``, the *scaled lower* incomplete gamma
  of Garnett, Mandelbaum & Reiman (2002).

Both are evaluated as ``stirling part + bd0 + log(regularized gamma)``: the
regularized functions (``scipy.special.gammaincc`` / ``gammainc``) are
accurate to a few ulps in relative terms, and splitting ``log Gamma`` with
Loader's ``stirlerr`` / ``bd0`` removes the cancellation between terms of
size ``n log n`` that would otherwise cost ``log10(n)`` digits at tens of
thousands of agents.  Where the regularized gamma would underflow (far
tails), the positive power series is summed instead, in blocks.
"""

from __future__ import annotations

import numpy as np
from scipy import special as sc

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
# Below this the regularized gamma is too close to the underflow threshold
# to be trusted in relative terms; the series takes over.
_TINY = 1e-280
# Stop summing when the (bounded) remainder is below this fraction of the sum.
_SERIES_RTOL = 1e-17
_FIRST_BLOCK = 32
_BLOCK = 128
_MAX_TERMS = 50_000_000


def stirlerr(n: np.ndarray) -> np.ndarray:
    """``log(n!) - (n log n - n + log(2 pi n) / 2)`` for ``n > 0`` (Loader 2000).

    The asymptotic series is used for ``n >= 15`` where it is exact to
    ~1e-17; below, the direct difference loses nothing because every term
    is small.
    """
    n = np.asarray(n, dtype=float)
    out = np.empty_like(n)
    big = n >= 15.0
    nb = n[big]
    ni = 1.0 / nb
    ni2 = ni * ni
    out[big] = ni * (1 / 12 - ni2 * (1 / 360 - ni2 * (1 / 1260 - ni2 * (1 / 1680 - ni2 / 1188))))
    ns = n[~big]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~big] = sc.gammaln(ns + 1.0) - (sc.xlogy(ns, ns) - ns + 0.5 * np.log(2.0 * np.pi * ns))
    return out


def bd0(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Deviance ``x log(x / m) + m - x >= 0`` without cancellation (Loader 2000).

    Near ``x == m`` the direct form subtracts nearly equal numbers; the
    series in ``v = (x - m) / (x + m)`` keeps full relative precision.
    """
    x, m = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(m, dtype=float))
    d = x - m
    near = np.abs(d) < 0.1 * (x + m)
    out = np.empty(d.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        far = ~near
        out[far] = x[far] * np.log(x[far] / m[far]) + m[far] - x[far]
        xn, dn = x[near], d[near]
        v = dn / (xn + m[near])
        v2 = v * v
        ej = 2.0 * xn * v
        acc = dn * v
        # |v| < 0.1, so 9 odd powers reach v**19 < 1e-19 relative; near
        # the diagonal (the common case) far fewer terms already converge.
        for k in range(1, 10):
            ej = ej * v2
            term = ej / (2 * k + 1)
            acc = acc + term
            if not (np.abs(term) > 1e-17 * np.abs(acc)).any():
                break
        out[near] = acc
    return out


def log_expm1(v: np.ndarray) -> np.ndarray:
    """``log(exp(v) - 1)`` for ``v >= 0`` without overflow."""
    v = np.asarray(v, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        big = v > 30.0
        return np.where(big, v + np.log1p(-np.exp(-v)), np.log(np.expm1(np.minimum(v, 30.0))))


def _inv_b_series(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``log sum_{j=0..n} n! / ((n - j)! a^j)`` for ``a > n`` (terms fall geometrically)."""
    tail = np.zeros_like(a)
    logt = np.zeros_like(a)
    idx = np.arange(a.size)
    j0 = 0
    block = _FIRST_BLOCK
    while idx.size and j0 < _MAX_TERMS:
        j = j0 + np.arange(1, block + 1, dtype=float)
        nn, aa = n[idx, None], a[idx, None]
        with np.errstate(divide="ignore"):
            lr = np.log(np.maximum(nn - j + 1.0, 0.0)) - np.log(aa)
        lt = logt[idx, None] + np.cumsum(lr, axis=1)
        t = np.exp(lt)
        tail[idx] += t.sum(axis=1)
        logt[idx] = lt[:, -1]
        r = np.maximum(nn[:, 0] - j[-1], 0.0) / aa[:, 0]
        # Remainder of a series whose ratio keeps falling is <= t r / (1 - r).
        done = t[:, -1] * r / (1.0 - r) <= _SERIES_RTOL * (1.0 + tail[idx])
        idx = idx[~done]
        j0 += block
        block = _BLOCK
    # log1p of the tail: 1/B - 1 can be far below one ulp of 1.
    return np.log1p(tail)


def log_inv_erlang_b(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``log(1 / B(n, a))`` for whole ``n >= 0`` and ``a >= 0`` (flat arrays).

    ``1/B = e^a a^-n n! Q(n + 1, a)`` where ``Q`` is the regularized upper
    incomplete gamma (a Poisson cdf); with Loader's split of ``log n!``:
    ``log(1/B) = log(2 pi n)/2 + stirlerr(n) + bd0(n, a) + log Q(n + 1, a)``.
    """
    n = np.asarray(n, dtype=float)
    a = np.asarray(a, dtype=float)
    out = np.zeros(np.broadcast(n, a).shape)
    n, a = np.broadcast_to(n, out.shape), np.broadcast_to(a, out.shape)
    out[(n > 0) & (a == 0)] = np.inf  # B(n, 0) = 0 for n >= 1
    pos = np.flatnonzero((n > 0) & (a > 0))
    if pos.size == 0:
        return out
    nn, aa = n.ravel()[pos], a.ravel()[pos]
    q = sc.gammaincc(nn + 1.0, aa)
    # Far in overload (a > 2(n + 1)) the gamma form would subtract terms of
    # size a to leave log(1/B) ~ n/a; the series (ratio <= 1/2) is exact there.
    good = (q > _TINY) & (aa <= 2.0 * (nn + 1.0))
    res = np.empty_like(aa)
    ng, ag = nn[good], aa[good]
    res[good] = 0.5 * np.log(2.0 * np.pi * ng) + stirlerr(ng) + bd0(ng, ag) + np.log(q[good])
    if not good.all():
        # Q underflows only far in the overload region a >> n, where the
        # finite series of 1/B has ratio <= n/a < 1 as well.
        res[~good] = _inv_b_series(nn[~good], aa[~good])
    flat = out.ravel()
    flat[pos] = res
    return flat.reshape(out.shape)


def _a_series(x: np.ndarray, z: np.ndarray, log_scale: np.ndarray | None = None):
    """Series for ``A(x, z)`` when the terms fall from the start (``z < x + 1``).

    Returns ``(log A, (A - 1) / A, S1 / A)`` with
    ``S1 = sum_j t_j (j + 1) / (x + j + 1)`` (the abandonment sum).
    """
    total = np.ones_like(x)
    tail = np.zeros_like(x)
    s1 = 1.0 / (x + 1.0)
    logt = np.zeros_like(x)
    idx = np.arange(x.size)
    j0 = 0
    block = _FIRST_BLOCK
    with np.errstate(divide="ignore"):
        logz = np.log(z)
    while idx.size and j0 < _MAX_TERMS:
        j = j0 + np.arange(1, block + 1, dtype=float)
        xx = x[idx, None]
        lt = logt[idx, None] + np.cumsum(logz[idx, None] - np.log(xx + j), axis=1)
        t = np.exp(lt)
        s = t.sum(axis=1)
        tail[idx] += s
        total[idx] += s
        s1[idx] += (t * (j + 1.0) / (xx + j + 1.0)).sum(axis=1)
        logt[idx] = lt[:, -1]
        r = z[idx] / (x[idx] + j[-1] + 1.0)
        done = (r < 1.0) & (t[:, -1] * r / (1.0 - r) <= _SERIES_RTOL * total[idx])
        idx = idx[~done]
        j0 += block
        block = _BLOCK
    # log1p(tail), not log(total): A - 1 can be far below one ulp of 1.
    return np.log1p(tail), tail / total, s1 / total


def log_a(x: np.ndarray, z: np.ndarray):
    """Garnett-Mandelbaum-Reiman ``A(x, z)`` for ``x > 0``, ``z >= 0`` (flat arrays).

    Returns ``(log A, (A - 1) / A, S1 / A)`` where
    ``S1 = A - (x / z)(A - 1) = sum_j t_j (j + 1) / (x + j + 1)``.

    ``log A = log(2 pi x)/2 + stirlerr(x) + bd0(x, z) + log P(x, z)`` with ``P``
    the regularized lower incomplete gamma.  For ``z < (x + 1) / 2`` the
    series converges in under ~60 terms and keeps ``A - 1`` and ``S1`` exact
    even when they are tiny (no cancellation); it also covers the rare
    cases where ``P`` underflows.
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z, dtype=float)
    log_av = np.empty_like(x)
    am1 = np.empty_like(x)
    s1 = np.empty_like(x)
    ser = z < 0.5 * (x + 1.0)
    gam = np.flatnonzero(~ser)
    if gam.size:
        xg, zg = x[gam], z[gam]
        p = sc.gammainc(xg, zg)
        ok = p > _TINY
        g = gam[ok]
        xg, zg = xg[ok], zg[ok]
        la = 0.5 * np.log(2.0 * np.pi * xg) + stirlerr(xg) + bd0(xg, zg) + np.log(p[ok])
        log_av[g] = la
        am1[g] = -np.expm1(-la)
        s1[g] = np.clip(1.0 - (xg / zg) * am1[g], 0.0, 1.0)
        ser[gam[~ok]] = True
    si = np.flatnonzero(ser)
    if si.size:
        log_av[si], am1[si], s1[si] = _a_series(x[si], z[si])
    return log_av, am1, s1


def wait_served_sum(x: np.ndarray, z: np.ndarray, log_av: np.ndarray) -> np.ndarray:
    """``sum_{m>=1} (t_m / A) h_m`` with ``h_m = sum_{k=1..m} 1 / (x + k)``.

    ``t_m h_m / theta`` is the mean of ``V exp(-theta V)`` for a caller with
    ``m - 1`` ahead (hypoexponential rates ``theta (x + k)``), so this sum
    gives the mean wait of answered calls.  Terms are scaled by ``A`` (each
    ``t_m / A <= 1``) so nothing overflows when ``z >> x``; summing goes on
    past the peak at ``m ~ z - x`` until the geometric remainder bound is
    negligible.
    """
    total = np.zeros_like(x)
    logt = -log_av.copy()
    h = np.zeros_like(x)
    idx = np.arange(x.size)
    j0 = 0
    block = _BLOCK
    with np.errstate(divide="ignore"):
        logz = np.log(z)
    while idx.size and j0 < _MAX_TERMS:
        j = j0 + np.arange(1, block + 1, dtype=float)
        xx = x[idx, None]
        inv = 1.0 / (xx + j)
        lt = logt[idx, None] + np.cumsum(logz[idx, None] + np.log(inv), axis=1)
        hh = h[idx, None] + np.cumsum(inv, axis=1)
        t = np.exp(lt)
        total[idx] += (t * hh).sum(axis=1)
        logt[idx] = lt[:, -1]
        h[idx] = hh[:, -1]
        r = z[idx] / (x[idx] + j[-1] + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = t[:, -1] * (h[idx] + 1.0) * r / (1.0 - r) ** 2
        done = (r < 1.0) & (bound <= _SERIES_RTOL * np.maximum(total[idx], 1e-300))
        idx = idx[~done]
        j0 += block
    return total
