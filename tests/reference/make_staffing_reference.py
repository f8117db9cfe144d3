"""Generate tests/reference/staffing_reference.json with mpmath, independently of staffing/.

Nothing here uses the closed forms of the staffing package:

* Erlang B: the defining finite sum ``1/B = sum_{j=0..N} N! / ((N - j)! a^j)``
  at 60 significant digits.
* Erlang C: the textbook formulas on top of that B.
* Erlang A: the M/M/N+M birth-death chain itself, truncated far out (until
  the neglected stationary mass is below 1e-45), and a tagged caller's
  absorbing chain (k callers ahead; served / abandoned), solved by
  uniformization for the time-dependent probabilities and by first-step
  recursions for the means.

Run: ``python tests/reference/make_staffing_reference.py`` (about a minute).
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 60
OUT = Path(__file__).with_name("staffing_reference.json")


def erlang_b(n: int, a) -> mp.mpf:
    a = mp.mpf(a)
    if n == 0:
        return mp.mpf(1)
    term, total = mp.mpf(1), mp.mpf(1)
    for j in range(1, n + 1):
        term *= mp.mpf(n - j + 1) / a
        total += term
        if term < total * mp.mpf(10) ** -70:
            break
    return 1 / total


def erlang_c(lam, aht, n: int, t) -> dict:
    lam, aht, t = mp.mpf(lam), mp.mpf(aht), mp.mpf(t)
    a = lam * aht
    b = erlang_b(n, a)
    rho = a / n
    c = b / (1 - rho * (1 - b))
    gap = (n - a) / aht
    over = c * mp.exp(-gap * t)
    return {"p_wait": c, "service_level": 1 - over, "p_wait_over_t": over, "asa_s": c / gap,
            "mean_wait_delayed_s": 1 / gap, "mean_queue": lam * c / gap, "occupancy": rho}


def _stationary(lam, mu, theta, n: int):
    """Unnormalised pi_k / pi_0 for k = 0..N+J, J grown until the tail is negligible."""
    pi = [mp.mpf(1)]
    for k in range(1, n + 1):
        pi.append(pi[-1] * lam / (k * mu))
    queue = [pi[-1]]
    j = 0
    while True:
        j += 1
        queue.append(queue[-1] * lam / (n * mu + j * theta))
        if queue[-1] < mp.mpf(10) ** -45 * (sum(pi) + sum(queue)) and j > 5:
            break
    return pi[:-1], queue  # states 0..N-1, and N + j for j = 0..J


def _uniformized(n, mu, theta, start, t):
    """Tagged caller with k ahead: P(served by t), P(abandoned by t), P(waiting at t)."""
    big_j = len(start) - 1
    lam_u = n * mu + (big_j + 1) * theta
    v = list(start)
    served = ab = mp.mpf(0)
    x = lam_u * t
    weight = mp.exp(-x)
    acc_w = weight
    res_s = res_a = res_q = mp.mpf(0)
    m = 0
    while True:
        res_s += weight * served
        res_a += weight * ab
        res_q += weight * mp.fsum(v)
        if 1 - acc_w < mp.mpf(10) ** -40:
            break
        # One step of the uniformized chain.
        new = [mp.mpf(0)] * (big_j + 1)
        served += v[0] * n * mu / lam_u
        ab += mp.fsum(v) * theta / lam_u
        for k in range(big_j + 1):
            out = n * mu + k * theta + theta
            new[k] += v[k] * (1 - out / lam_u)
            if k >= 1:
                new[k - 1] += v[k] * (n * mu + k * theta) / lam_u
        v = new
        m += 1
        weight *= x / m
        acc_w += weight
    rest = 1 - acc_w  # mass of the Poisson tail, bounded above
    return res_s, res_a, res_q, rest


def erlang_a(lam, aht, n: int, t, patience, short) -> dict:
    lam, aht, t, patience, short = map(mp.mpf, (lam, aht, t, patience, short))
    mu, theta = 1 / aht, 1 / patience
    below, queue = _stationary(lam, mu, theta, n)
    norm = mp.fsum(below) + mp.fsum(queue)
    p_wait = mp.fsum(queue) / norm
    start = [q / mp.fsum(queue) for q in queue]  # callers ahead, given a wait (PASTA)
    # First-step recursions for P(served | k ahead) and E[W 1{served} | k ahead].
    p_s, m_s = [], []
    for k in range(len(start)):
        q = n * mu + k * theta + theta
        down = n * mu + k * theta
        if k == 0:
            p_s.append(n * mu / q)
            m_s.append(p_s[0] / q)
        else:
            p_s.append(down / q * p_s[k - 1])
            m_s.append(p_s[k] / q + down / q * m_s[k - 1])
    served_all = mp.fsum(w * p for w, p in zip(start, p_s, strict=True))
    e_w_served = mp.fsum(w * m for w, m in zip(start, m_s, strict=True))
    p_ab = p_wait * (1 - served_all)
    s_t, a_t, q_t, _ = _uniformized(n, mu, theta, start, t)
    _, a_s, _, _ = _uniformized(n, mu, theta, start, short)
    return {
        "p_wait": p_wait,
        "p_abandon": p_ab,
        "p_abandon_within_short": p_wait * a_s,
        "p_abandon_within_t": p_wait * a_t,
        "p_answered_within_t": (1 - p_wait) + p_wait * s_t,
        "p_wait_over_t": p_wait * q_t,
        "asa_s": p_wait * e_w_served / (1 - p_ab),
        "mean_wait_s": p_ab * patience,
        "occupancy": lam * (1 - p_ab) / (n * mu),
    }


B_CASES = [(1, 1.0), (10, 5.0), (14, 10.0), (100, 99.5), (100, 60.0), (1000, 990.0),
           (200, 0.001), (10, 100.0), (3, 1e5), (5000, 4000.0), (20000, 19900.0),
           (20000, 30000.0), (50000, 45000.0), (50000, 49990.0), (1, 1e-8), (300, 150.0)]
# (rate_per_s, aht_s, agents, threshold_s)
C_CASES = [(100 / 1800, 180.0, 14, 20.0), (100 / 1800, 180.0, 11, 20.0), (1.0, 180.0, 181, 0.0),
           (1.0, 180.0, 200, 20.0), (0.5, 300.0, 160, 30.0), (0.01, 600.0, 30, 20.0),
           (20.0, 300.0, 6100, 20.0), (100.0, 250.0, 25100, 10.0), (1.0, 180.0, 182, 60.0),
           (1e-4, 100.0, 5, 5.0)]
# (rate_per_s, aht_s, agents, threshold_s, patience_s, short_abandon_s)
A_CASES = [(100 / 1800, 180.0, 14, 20.0, 120.0, 5.0), (100 / 1800, 180.0, 10, 20.0, 60.0, 5.0),
           (0.2, 180.0, 30, 20.0, 60.0, 5.0), (0.2, 180.0, 40, 30.0, 300.0, 10.0),
           (0.05, 240.0, 1, 20.0, 90.0, 5.0), (0.1, 200.0, 25, 20.0, 1e4, 5.0),
           (0.5, 120.0, 50, 15.0, 30.0, 3.0), (0.3, 180.0, 45, 20.0, 5.0, 2.0),
           (1.0, 60.0, 70, 10.0, 200.0, 0.0), (0.02, 300.0, 3, 60.0, 45.0, 5.0),
           (1.0, 180.0, 14, 20.0, 120.0, 5.0), (2.0, 300.0, 500, 20.0, 180.0, 5.0)]

A_FIELDS = ("rate_per_s", "aht_s", "agents", "threshold_s", "patience_s", "short_abandon_s")


def main() -> None:
    data = {
        "note": "generated by make_staffing_reference.py with mpmath at 60 digits",
        "erlang_b": [{"agents": n, "load": a, "b": float(erlang_b(n, a))} for n, a in B_CASES],
        "erlang_c": [dict(zip(("rate_per_s", "aht_s", "agents", "threshold_s"), c, strict=True),
                          **{k: float(v) for k, v in erlang_c(*c).items()}) for c in C_CASES],
        "erlang_a": [],
    }
    for case in A_CASES:
        ref = erlang_a(*case)
        data["erlang_a"].append(dict(zip(A_FIELDS, case, strict=True),
                                     **{k: float(v) for k, v in ref.items()}))
        print(case, {k: float(v) for k, v in ref.items()})
    OUT.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
