"""Erlang A (M/M/N+M: exponential patience, FCFS) performance measures, exact.

Notation (Garnett, Mandelbaum & Reiman 2002): arrival rate lambda, service
rate mu = 1/AHT, patience rate theta = 1/patience, N agents, offered load
a = lambda/mu, x = N mu/theta, y = lambda/theta, rho = a/N = y/x,
E = B(N, a) (Erlang B) and

    A(x, y) = x e^y y^-x gamma(x, y) = sum_{j>=0} y^j / ((x+1)(x+2)...(x+j)),

the sum over the birth-death chain's queue states (t_j = pi_{N+j} / pi_N),
taken in closed form: no truncation of the queue.

References: O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center
with impatient customers", MSOM 4(3), 208-227 (2002); A. Mandelbaum and
S. Zeltyn, "The M/M/n+G queue: summary of performance measures" (Technion
note, 2005) and "Service engineering in action: the Palm/Erlang-A queue"
(2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special as sc

from staffing._special import log_a, log_expm1, log_inv_erlang_b, wait_served_sum
from staffing._validate import as_array, broadcast, shaped
from staffing.erlang_c import SL_FORMULAS, check_formula, erlang_c_flat

_FIELDS = (
    "p_wait",
    "p_abandon",
    "p_abandon_within_short",
    "p_abandon_within_t",
    "p_answered_within_t",
    "p_wait_over_t",
    "asa_s",
    "mean_wait_s",
    "mean_queue",
    "occupancy",
)


def service_level_from(formula: str, ans_t, ab, ab_s, ab_t):
    """Model service level under one of ``SL_FORMULAS`` from per-call probabilities.

    Offered = answered + abandoned = 1 per arriving call, so each PRODUCT.md
    ratio of counts becomes a ratio of probabilities.  0/0 (every call a
    short abandon) gives NaN.
    """
    check_formula(formula)
    if formula == "of_offered":
        return ans_t
    if formula == "abandon_within_t_good":
        return np.minimum(ans_t + ab_t, 1.0)
    den = {"excl_short": 1.0 - ab_s, "of_answered": 1.0 - ab, "excl_abandon_after_t": 1.0 - ab_t}[
        formula
    ]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.minimum(np.divide(ans_t, den), 1.0)


@dataclass(frozen=True)
class ErlangAResult:
    """Erlang A measures per arriving call; fields broadcast like the inputs.

    p_wait : P(all N agents busy on arrival) = P(W > 0).
    p_abandon : P(the caller hangs up before being answered).
    p_abandon_within_short : P(abandon with wait <= short_abandon_s).
    p_abandon_within_t : P(abandon with wait <= threshold_s).
    p_answered_within_t : P(answered with wait <= threshold_s).
    p_wait_over_t : P(W > threshold_s), W = min(time to answer, patience).
    asa_s : mean wait of answered calls (ASA as in PRODUCT.md), seconds;
        NaN when no call is ever answered (N = 0).
    mean_wait_s : mean wait of all calls (answered and abandoned) = P(Ab)/theta.
    mean_queue : mean number waiting = lambda * mean_wait_s.
    occupancy : lambda (1 - P(Ab)) / (N mu); 0 when N = 0.

    ``service_level(formula)`` gives the model SL under any of
    ``SL_FORMULAS``; ``abandon_rate`` is PRODUCT.md's
    (abandoned - short) / (offered - short).
    """

    p_wait: Any
    p_abandon: Any
    p_abandon_within_short: Any
    p_abandon_within_t: Any
    p_answered_within_t: Any
    p_wait_over_t: Any
    asa_s: Any
    mean_wait_s: Any
    mean_queue: Any
    occupancy: Any

    def service_level(self, formula: str = SL_FORMULAS[0]) -> Any:
        """Service level under ``formula`` (see ``SL_FORMULAS``)."""
        out = service_level_from(
            formula,
            np.asarray(self.p_answered_within_t),
            np.asarray(self.p_abandon),
            np.asarray(self.p_abandon_within_short),
            np.asarray(self.p_abandon_within_t),
        )
        return out[()] if np.ndim(out) == 0 else out

    @property
    def abandon_rate(self) -> Any:
        """(P(Ab) - P(Ab within S)) / (1 - P(Ab within S)); NaN for 0/0."""
        ab = np.asarray(self.p_abandon)
        ab_s = np.asarray(self.p_abandon_within_short)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.divide(ab - ab_s, 1.0 - ab_s)
        return out[()] if np.ndim(out) == 0 else out


def _window(x, y, theta, n, mu, tau, log_av, am1, s1):
    """Served / abandoned within ``tau`` and P(W > tau), all conditional on waiting.

    Given a wait, the time V to reach an agent satisfies
    ``P(V > tau) = gamma(x, y u)/gamma(x, y) = D A(x, y u)/A(x, y)`` with
    ``u = exp(-theta tau)`` and ``D = exp(-N mu tau + y (1 - u))``, i.e.
    V = log(y / G)/theta for G ~ Gamma(x) conditioned on G < y (mixing the
    hypoexponential waits of rates N mu + j theta over the queue found).
    The caller's own patience is independent of V, which gives
    (Mandelbaum & Zeltyn):

    * ``P(W > tau | wait) = u P(V > tau)``,
    * ``P(served, W <= tau | wait) = [(A-1) - D (A_u - 1)] / (rho A)``,
    * ``P(abandon, W <= tau | wait) = [S1 - u D S1_u] / A``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        theta_tau = np.where(tau == np.inf, np.inf, theta * tau)
        u = np.exp(-theta_tau)
        la_u, am1_u, s1_u = log_a(x, y * u)
        # y (1 - u) via expm1: exact when theta * tau is tiny (long patience).
        log_r = np.where(tau == np.inf, -np.inf, -n * mu * tau - y * np.expm1(-theta_tau))
        log_r = log_r + la_u - log_av
    r = np.exp(log_r)
    served = np.clip((x / y) * (am1 - r * am1_u), 0.0, 1.0)
    aband = np.clip(s1 - u * r * s1_u, 0.0, 1.0)
    return served, aband, log_r - theta_tau


def _general(lam, mu, n, theta, t, s, want_s=True, want_asa=True):
    """Erlang A for lambda > 0, N >= 1, 0 < theta < inf (flat arrays)."""
    a = lam / mu
    x = n * mu / theta
    y = lam / theta
    log_av, am1, s1 = log_a(x, y)
    # P(W > 0) = A E / (1 + (A - 1) E) = expit(log A - log(1/E - 1)).
    logit_w = log_av - log_expm1(log_inv_erlang_b(n, a))
    p_wait = sc.expit(logit_w)
    p_ab = p_wait * s1  # P(Ab | wait) = S1 / A = 1 + 1/(rho A) - 1/rho
    served_t, ab_t, log_over_t = _window(x, y, theta, n, mu, t, log_av, am1, s1)
    out = {
        "p_wait": p_wait,
        "p_abandon": p_ab,
        # expit(-logit) rather than 1 - p_wait: exact when nearly everyone waits.
        "p_answered_within_t": sc.expit(-logit_w) + p_wait * served_t,
        "p_abandon_within_t": p_wait * ab_t,
        # log space: P(W > t) keeps its relative precision when tiny.
        "p_wait_over_t": np.exp(sc.log_expit(logit_w) + log_over_t),
        "mean_wait_s": p_ab / theta,  # Little: theta E[Q] = lambda P(Ab)
        "mean_queue": lam * p_ab / theta,
        # lambda (1 - P(Ab)) = mu E[busy] <= N mu; clip the rounding in deep overload.
        "occupancy": np.minimum(a * (1.0 - p_ab) / n, 1.0),
    }
    out["p_abandon_within_short"] = np.zeros_like(p_wait)
    k = np.flatnonzero(s > 0) if want_s else np.zeros(0, dtype=np.intp)
    if k.size:  # S = 0 (the default) has no short abandons: skip a third A(x, .)
        window = _window(x[k], y[k], theta[k], n[k], mu[k], s[k], log_av[k], am1[k], s1[k])
        out["p_abandon_within_short"][k] = p_wait[k] * window[1]
    if want_asa:
        # E[W; served] = P(wait) (x/y) / theta * sum_m (t_m/A) h_m (hypoexponential).
        e_served = p_wait * (x / y) / theta * wait_served_sum(x, y, log_av)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["asa_s"] = e_served / (1.0 - p_ab)
    return out


def _fill(out, i, values):
    for k, v in values.items():
        out[k][i] = v


def erlang_a_flat(lam, aht, n, t, patience, s, want_s=True, want_asa=True) -> dict:
    """Erlang A on flat validated arrays, dispatching the edge cases."""
    size = lam.size
    out = {k: np.zeros(size) for k in _FIELDS}
    out["p_answered_within_t"][:] = 1.0  # zero calls: every (virtual) caller answered at once
    mu = 1.0 / aht
    with np.errstate(divide="ignore"):
        theta = 1.0 / patience
    calls = lam > 0
    # Patience infinite: Erlang C exactly (no abandonment).
    i = np.flatnonzero(calls & (patience == np.inf))
    if i.size:
        c = erlang_c_flat(lam[i], aht[i], n[i], t[i])
        _fill(out, i, {"p_wait": c["p_wait"], "p_answered_within_t": c["service_level"],
                       "p_wait_over_t": c["p_wait_over_t"], "asa_s": c["asa_s"],
                       "mean_wait_s": c["asa_s"], "mean_queue": c["mean_queue"],
                       "occupancy": c["occupancy"]})
    # Patience zero: callers who find all agents busy leave at once (Erlang B loss).
    i = np.flatnonzero(calls & (patience == 0))
    if i.size:
        b = np.exp(-log_inv_erlang_b(n[i], lam[i] * aht[i]))
        occ = np.divide(lam[i] * aht[i] * (1.0 - b), n[i], out=np.zeros(i.size), where=n[i] > 0)
        _fill(out, i, {"p_wait": b, "p_abandon": b, "p_abandon_within_short": b,
                       "p_abandon_within_t": b, "p_answered_within_t": 1.0 - b,
                       "occupancy": occ, "asa_s": np.where(n[i] > 0, 0.0, np.nan)})
    # No agents, finite positive patience: everybody waits and abandons.
    finite = calls & (patience > 0) & (patience < np.inf)
    i = np.flatnonzero(finite & (n == 0))
    if i.size:
        _fill(out, i, {"p_wait": 1.0, "p_abandon": 1.0,
                       "p_abandon_within_short": -np.expm1(-s[i] * theta[i]),
                       "p_abandon_within_t": -np.expm1(-t[i] * theta[i]),
                       "p_answered_within_t": 0.0, "p_wait_over_t": np.exp(-t[i] * theta[i]),
                       "asa_s": np.nan, "mean_wait_s": patience[i],
                       "mean_queue": lam[i] * patience[i]})
    i = np.flatnonzero(finite & (n > 0))
    if i.size:
        g = _general(lam[i], mu[i], n[i], theta[i], t[i], s[i], want_s, want_asa)
        _fill(out, i, g)
    return out


def erlang_a(
    rate_per_s: Any,
    aht_s: Any,
    agents: Any,
    threshold_s: Any,
    patience_s: Any,
    short_abandon_s: Any = 0.0,
) -> ErlangAResult:
    """Erlang A (M/M/N+M) measures, exact, broadcast over all arguments.

    With the notation of the module docstring (GMR 2002; Mandelbaum & Zeltyn):

    * ``P(W > 0) = A E / (1 + (A - 1) E)``
    * ``P(Ab | W > 0) = 1 + 1/(rho A) - 1/rho``, ``P(Ab) = P(Ab | W > 0) P(W > 0)``
    * ``E[W] = P(Ab) / theta``, ``L_q = lambda E[W]``, occupancy ``rho (1 - P(Ab))``
    * ``P(W > t | W > 0) = exp(-(N mu + theta) t + y (1 - u)) A(x, y u) / A(x, y)``,
      ``u = exp(-theta t)``; answered / abandoned within ``t`` split as in
      ``_window``; ASA of answered calls from the hypoexponential waits.

    Edges: ``patience_s = inf`` is Erlang C exactly (and its unstable
    convention when ``a >= N``); ``patience_s = 0`` is the Erlang B loss
    system (``p_abandon = p_wait = B``, all abandons count as within any S or
    T, waits 0); ``agents = 0`` means every caller abandons (``asa_s`` NaN);
    no calls means nothing waits (answered within t = 1).  With finite
    patience the system is always stable, for any load.

    Parameters
    ----------
    rate_per_s, aht_s, agents, threshold_s : as for ``erlang_c``.
    patience_s : mean patience ``1/theta`` in seconds, >= 0 (inf allowed).
    short_abandon_s : short-abandon threshold S in seconds, >= 0.

    Accuracy: relative error ~1e-13 typically; P(abandon) loses about
    ``log10(N * patience / AHT)`` digits when that ratio is huge (> 1e5),
    i.e. when the queue is practically Erlang C.
    """
    lam = as_array("rate_per_s", rate_per_s)
    aht = as_array("aht_s", aht_s, positive=True)
    n = as_array("agents", agents, integer=True)
    t = as_array("threshold_s", threshold_s, allow_inf=True)
    pat = as_array("patience_s", patience_s, allow_inf=True)
    s = as_array("short_abandon_s", short_abandon_s, allow_inf=True)
    shape, flat = broadcast(lam, aht, n, t, pat, s)
    out = erlang_a_flat(*flat)
    return ErlangAResult(**{k: shaped(out[k], shape) for k in _FIELDS})
