"""Erlang B (M/M/N/N) and Erlang C (M/M/N) performance measures.

Reference: N. Gans, G. Koole and A. Mandelbaum, "Telephone call centers:
tutorial, review, and research prospects", Manufacturing & Service Operations
Management 5(2), 79-141 (2003), section 4.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special as sc

from staffing._special import log_expm1, log_inv_erlang_b
from staffing._validate import as_array, broadcast, shaped

#: Service-level definitions shared with the live pipeline; the first is the default.
SL_FORMULAS: tuple[str, ...] = (
    "excl_short",
    "of_answered",
    "abandon_within_t_good",
    "excl_abandon_after_t",
    "of_offered",
)


def check_formula(formula: str) -> str:
    if formula not in SL_FORMULAS:
        raise ValueError(f"sl_formula must be one of {SL_FORMULAS}, got {formula!r}")
    return formula


def load_from_calls(calls: Any, interval_s: Any, aht_s: Any) -> Any:
    """Offered load in Erlangs: ``a = calls * aht_s / interval_s``.

    The arrival rate per second is ``calls / interval_s``.
    """
    calls_a = as_array("calls", calls)
    interval = as_array("interval_s", interval_s, positive=True)
    aht = as_array("aht_s", aht_s, positive=True)
    shape, (c, i, h) = broadcast(calls_a, interval, aht)
    return shaped(c * h / i, shape)


def erlang_b(agents: Any, load: Any) -> Any:
    """Erlang B blocking probability ``B(N, a)`` of an M/M/N/N loss system.

    ``B(N, a) = (a^N / N!) / sum_{k=0..N} a^k / k!``, computed as
    ``1/B = e^a a^-N N! Q(N + 1, a)`` (``Q`` = ``scipy.special.gammaincc``)
    in log space, so there are no factorials and no overflow for any ``N``;
    tiny blocking keeps its relative precision down to the underflow limit.
    ``B(0, a) = 1``; ``B(N, 0) = 0`` for ``N >= 1``.

    Parameters
    ----------
    agents : array_like of whole numbers >= 0
    load : array_like, offered load ``a = lambda / mu`` in Erlangs, >= 0

    Reference: Gans, Koole & Mandelbaum (2003), section 4.1.
    """
    n = as_array("agents", agents, integer=True)
    a = as_array("load", load)
    shape, (nf, af) = broadcast(n, a)
    return shaped(np.exp(-log_inv_erlang_b(nf, af)), shape)


@dataclass(frozen=True)
class ErlangCResult:
    """Erlang C measures; every field has the broadcast shape of the inputs.

    p_wait : P(W > 0), probability that a call waits (Erlang C formula).
    service_level : P(W <= t), answered within the threshold.
    p_wait_over_t : P(W > t) = 1 - service_level, exact even when tiny.
    asa_s : mean wait of all calls, seconds.
    mean_wait_delayed_s : mean wait of calls that wait, seconds.
    mean_queue : mean number of calls waiting.
    occupancy : a / N (1 when unstable, 0 with no calls).
    stable : a < N (or no calls); when False the queue grows without
        bound: p_wait = 1, service_level = 0, waits and queue = inf.
    """

    p_wait: Any
    service_level: Any
    p_wait_over_t: Any
    asa_s: Any
    mean_wait_delayed_s: Any
    mean_queue: Any
    occupancy: Any
    stable: Any

    def sl(self, formula: str = SL_FORMULAS[0]) -> Any:
        """Service level under ``formula``; without abandonment all are P(W <= t)."""
        check_formula(formula)
        return self.service_level


def erlang_c_flat(lam: np.ndarray, aht: np.ndarray, n: np.ndarray, t: np.ndarray) -> dict:
    """Erlang C on flat, validated arrays (used by the public function and the search)."""
    a = lam * aht
    stable = (n > a) | (lam == 0)
    busy = (lam > 0) & stable  # the general case
    out = {
        "p_wait": np.where(stable, 0.0, 1.0),
        "service_level": np.where(stable, 1.0, 0.0),
        "p_wait_over_t": np.where(stable, 0.0, 1.0),
        "asa_s": np.where(stable, 0.0, np.inf),
        "mean_queue": np.where(stable, 0.0, np.inf),
        "occupancy": np.where(stable, np.divide(a, n, out=np.zeros_like(a), where=n > 0), 1.0),
        "stable": stable,
    }
    with np.errstate(divide="ignore"):
        out["mean_wait_delayed_s"] = np.where(stable, aht / np.maximum(n - a, 0.0), np.inf)
    i = np.flatnonzero(busy)
    if i.size:
        ni, ai, hi, ti = n[i], a[i], aht[i], t[i]
        # C = 1 / (1 + (1 - rho)(1/B - 1)); 1 - rho = (N - a)/N is formed from
        # N - a directly so a load within an ulp of N still gives C < 1.
        z = np.log((ni - ai) / ni) + log_expm1(log_inv_erlang_b(ni, ai))
        log_c = sc.log_expit(-z)
        c = np.exp(log_c)
        gap_s = (ni - ai) / hi  # N mu - lambda, per second
        with np.errstate(invalid="ignore"):
            # threshold inf: exp(-inf) = 0, guard 0 * inf when gap is tiny.
            log_over = log_c - np.where(ti == np.inf, np.inf, gap_s * ti)
        over = np.exp(log_over)
        out["p_wait"][i] = c
        out["p_wait_over_t"][i] = over
        out["service_level"][i] = -np.expm1(log_over)
        out["asa_s"][i] = c / gap_s
        out["mean_queue"][i] = lam[i] * c / gap_s
    return out


def erlang_c(rate_per_s: Any, aht_s: Any, agents: Any, threshold_s: Any = 20.0) -> ErlangCResult:
    """Erlang C (M/M/N, FCFS, infinite patience) measures, broadcast over all arguments.

    With ``a = lambda * AHT`` (Erlangs), ``rho = a / N`` and ``B = B(N, a)``:

    * ``C = P(W > 0) = B / (1 - rho (1 - B))``
    * ``P(W > t) = C exp(-(N mu - lambda) t)``, ``SL = 1 - P(W > t)``
    * ``ASA = E[W] = C / (N mu - lambda)``; ``E[W | W > 0] = 1 / (N mu - lambda)``
    * ``L_q = lambda E[W]``; occupancy ``rho``.

    Edges: ``a >= N`` (with calls) is unstable: ``p_wait = 1``,
    ``service_level = 0``, ``asa_s = inf``, ``stable = False``.  No calls:
    ``p_wait = 0``, ``service_level = 1``, waits 0.  ``threshold_s = 0`` gives
    ``service_level = 1 - p_wait``; ``threshold_s = inf`` gives 1 when stable.

    Parameters
    ----------
    rate_per_s : arrival rate lambda (calls per second), >= 0.
    aht_s : average handle time ``1/mu`` in seconds, > 0.
    agents : whole numbers of agents N >= 0.
    threshold_s : service-level threshold t in seconds, >= 0 (inf allowed).

    Reference: Gans, Koole & Mandelbaum (2003), section 4.1.
    """
    lam = as_array("rate_per_s", rate_per_s)
    aht = as_array("aht_s", aht_s, positive=True)
    n = as_array("agents", agents, integer=True)
    t = as_array("threshold_s", threshold_s, allow_inf=True)
    shape, flat = broadcast(lam, aht, n, t)
    out = erlang_c_flat(*flat)
    return ErlangCResult(**{k: shaped(v, shape) for k, v in out.items()})
