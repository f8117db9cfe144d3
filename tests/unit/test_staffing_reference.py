"""Staffing engine against high-precision mpmath references (tests/reference/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import staffing

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "staffing_reference.json").read_text()
)
C_FIELDS = ("p_wait", "service_level", "p_wait_over_t", "asa_s", "mean_wait_delayed_s",
            "mean_queue", "occupancy")
A_FIELDS = ("p_wait", "p_abandon", "p_abandon_within_short", "p_abandon_within_t",
            "p_answered_within_t", "p_wait_over_t", "asa_s", "mean_wait_s", "occupancy")


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows], dtype=float)


def test_erlang_b_matches_reference_to_full_precision() -> None:
    rows = REF["erlang_b"]
    got = staffing.erlang_b(_column(rows, "agents"), _column(rows, "load"))
    # exp(-log(1/B)): relative error ~1e-16 * |log B|, so 5e-13 down to B ~ 1e-120.
    np.testing.assert_allclose(got, _column(rows, "b"), rtol=5e-13, atol=0)


@pytest.mark.parametrize("field", C_FIELDS)
def test_erlang_c_matches_reference(field: str) -> None:
    rows = REF["erlang_c"]
    res = staffing.erlang_c(*(_column(rows, k) for k in
                              ("rate_per_s", "aht_s", "agents", "threshold_s")))
    np.testing.assert_allclose(getattr(res, field), _column(rows, field), rtol=2e-14, atol=0)


@pytest.mark.parametrize("field", A_FIELDS)
def test_erlang_a_matches_birth_death_chain(field: str) -> None:
    rows = REF["erlang_a"]
    res = staffing.erlang_a(*(_column(rows, k) for k in
                              ("rate_per_s", "aht_s", "agents", "threshold_s", "patience_s",
                               "short_abandon_s")))
    # Absolute slack only for the values computed as differences (tiny answered share
    # in deep overload); everything else is relative.
    np.testing.assert_allclose(getattr(res, field), _column(rows, field), rtol=1e-10, atol=1e-14)


def test_erlang_a_tiny_p_wait_over_t_keeps_relative_precision() -> None:
    rows = [r for r in REF["erlang_a"] if r["p_wait_over_t"] < 1e-3]
    assert rows
    res = staffing.erlang_a(*(_column(rows, k) for k in
                              ("rate_per_s", "aht_s", "agents", "threshold_s", "patience_s",
                               "short_abandon_s")))
    np.testing.assert_allclose(res.p_wait_over_t, _column(rows, "p_wait_over_t"), rtol=1e-11)


def test_published_worked_example() -> None:
    rate = 100 / (30 * 60)
    res = staffing.erlang_c(rate, 180.0, 14, 20.0)
    assert staffing.load_from_calls(100, 1800, 180) == pytest.approx(10.0)
    assert round(float(res.p_wait), 5) == 0.17413
    assert round(float(res.service_level), 5) == 0.88835
    assert round(float(res.asa_s), 2) == 7.84
    assert staffing.required_agents(rate, 180.0, target_sl=0.8, threshold_s=20.0) == 14
