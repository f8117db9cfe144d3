"""The live plan's view for the pages and the API (:mod:`realtime.intraday`), as JSON.

Each queue's day as columns (forecast, reforecast, actual, required, scheduled, gap, projected
SL), trimmed to where something happens, with the reforecast's explanation and the forecast's
accuracy; the summary: each queue's risk over the next two hours and the plan now; and the live
part refreshed every tick (agents present and adhering). Pure: the planner reads and writes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from staffing.plan import calls_at_risk
from staffing.reforecast import Reforecast, accuracy

if TYPE_CHECKING:
    from floorboard.config import Settings
    from realtime.timebase import Timebase

RISK_WINDOW_MS = 2 * 3_600_000  # "the next two hours" of the firefighting page


def dumps(value: Any) -> str:
    """Compact JSON; a NaN left anywhere is an error (browsers cannot read it)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def rounded(x: Any, digits: int = 3) -> float | None:
    """A JSON-safe rounded number (None for NaN/inf)."""
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def _col2(a: np.ndarray, digits: int = 3) -> np.ndarray:
    """Rounded numbers as an object array, None where not finite: rows ``.tolist()`` straight
    into JSON (vectorised: a large plan has ~10^6 of them)."""
    a = np.round(np.asarray(a, dtype=float), digits)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out


def build_views(tb: Timebase, settings: Settings, starts_ms: np.ndarray, past_accuracy: Mapping[str, Any] | None,
                day: str, now_iv: int, queues: Sequence[str], cfgs: Sequence[Any], patience: Sequence[float],
                sources: Sequence[str], base_info: Mapping[str, Any], f_calls: np.ndarray, f_aht: np.ndarray,
                rf: Reforecast, a_calls: np.ndarray, a_aht: np.ndarray, sched: np.ndarray, plan: Any,
                overlay_rows: Sequence[Mapping[str, Any]], json_cache: dict[str, tuple[bytes, str]]
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """Each queue's day (rows trimmed to where something happens) and the summary view: risk
    over the next two hours, the plan now. Columns are built for every queue at once."""
    n_iv, n_q = starts_ms.size, len(queues)
    labels = [tb.local_label(int(s)) for s in starts_ms]
    closed = np.arange(n_iv) < now_iv

    def full(rest: np.ndarray, fill: float = np.nan) -> np.ndarray:
        return np.hstack([np.full((n_q, now_iv), fill), rest])

    # A cell without calls has no service level to speak of (the model says 1): shown as none.
    sl = np.where(np.nan_to_num(rf.calls) > 0, full(plan.service_level), np.nan)
    table = {
        "forecast": _col2(f_calls, 2), "forecast_aht": _col2(f_aht, 1), "reforecast": _col2(rf.calls, 2),
        "reforecast_aht": _col2(rf.aht_s, 1), "overlay": _col2(rf.volume_overlay, 3),
        "actual": _col2(np.where(closed, a_calls, np.nan), 0), "actual_aht": _col2(np.where(closed, a_aht, np.nan), 1),
        "required": _col2(full(plan.required), 2), "scheduled": _col2(full(sched), 2), "gap": _col2(full(plan.gap), 2),
        "projected_sl": _col2(sl, 4),
    }
    numbers = np.stack([f_calls, f_aht, rf.calls, rf.aht_s, rf.volume_overlay, a_calls, a_aht, full(plan.required),
                        full(sched), full(plan.gap), sl], axis=1)  # (Q, columns, I): what the JSON holds
    interesting = (np.nan_to_num(f_calls) > 0) | (np.nan_to_num(a_calls) > 0) | (full(sched, 0.0) > 0)
    acc = accuracy(f_calls, a_calls, np.broadcast_to(closed, f_calls.shape))
    win = slice(now_iv, min(now_iv + max(1, RISK_WINDOW_MS // tb.interval_ms), n_iv))
    target = np.array([c.sl_target for c in cfgs])[:, None]
    risk = calls_at_risk(rf.calls[:, win], sl[:, win], target)
    nxt = {"sl": _col2(sl[:, win], 4), "calls": _col2(rf.calls[:, win], 1), "gap": _col2(full(plan.gap)[:, win], 2)}
    now_cols = {"required": _col2(full(plan.required)[:, now_iv:now_iv + 1], 2),
                "scheduled": _col2(full(sched)[:, now_iv:now_iv + 1], 2), "projected_sl": _col2(sl[:, now_iv:now_iv + 1], 4)}
    starts = starts_ms.tolist()
    summaries, queue_json = [], {}
    past = past_accuracy or {}
    for q, queue in enumerate(queues):
        cfg = cfgs[q]
        idx = np.flatnonzero(interesting[q])
        lo = int(min(idx[0], now_iv)) if idx.size else now_iv
        hi = int(max(idx[-1] + 1, min(now_iv + 1, n_iv))) if idx.size else min(now_iv + 1, n_iv)
        cols = {"start_ms": starts[lo:hi], "label": labels[lo:hi]}
        cols.update({name: values[q, lo:hi].tolist() for name, values in table.items()})
        explain = _explain(rf, q, queue, sources[q], base_info, overlay_rows, labels)
        body = {
            "queue": queue, "name": cfg.label, "day": day, "source": sources[q],
            "config": {"sl_threshold_s": cfg.sl_threshold_s, "sl_target": cfg.sl_target, "model": cfg.model,
                       "sl_formula": cfg.sl_formula, "short_abandon_s": cfg.short_abandon_s,
                       "patience_s": None if not math.isfinite(patience[q]) else patience[q]},
            "now_index": now_iv - lo, "rest_from": now_iv - lo, "columns": cols, "explain": explain,
            "accuracy": {"today": {"wape": rounded(acc.wape[q], 4), "bias": rounded(acc.bias[q], 3), "n": int(acc.n[q])},
                         "days": past.get(queue, [])},
        }
        # Most queues' days do not change when one queue's inputs do: their JSON (the costly
        # part: ~10^5 numbers at 500 queues) is reused when the numbers are the same.
        rows = np.ascontiguousarray(numbers[q, :, lo:hi])
        scalars = {k: v for k, v in body.items() if k != "columns"}
        mark = hashlib.blake2b(rows.tobytes() + repr((lo, hi, scalars)).encode(), digest_size=16).digest()
        cached = json_cache.get(queue)
        if cached is None or cached[0] != mark:
            cached = json_cache[queue] = (mark, dumps(body))
        queue_json[queue] = cached[1]
        sl_n, calls_n, gap_n = (nxt[k][q].tolist() for k in ("sl", "calls", "gap"))
        summaries.append({
            "id": queue, "name": cfg.label, "source": sources[q], "target": cfg.sl_target,
            "risk": rounded(risk[q], 2), "calls_next": rounded(np.nansum(rf.calls[q, win]), 1),
            "next": [{"start_ms": starts[i], "label": labels[i], "sl": sl_n[j], "calls": calls_n[j], "gap": gap_n[j]}
                     for j, i in enumerate(range(win.start, win.stop))],
            "now": {"required": now_cols["required"][q, 0], "scheduled": now_cols["scheduled"][q, 0],
                    "projected_sl": now_cols["projected_sl"][q, 0],
                    "volume_ratio": explain["volume"]["ratio"], "aht_ratio": explain["aht"]["ratio"]},
        })
    summaries.sort(key=lambda s: (-(s["risk"] or 0.0), s["id"]))
    view = {"day": day, "interval_min": settings.interval_min, "timezone": settings.timezone,
            "queues": summaries, "sources": dict(zip(queues, sources, strict=True))}
    return view, queue_json


def _explain(rf: Reforecast, q: int, queue: str, source: str, base_info: Mapping[str, Any],
             overlay_rows: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """The reforecast's own explanation, with the forecast's source, the overlays as stored
    and each interval's weight keyed by its local time."""
    explain = rf.explain(q)
    explain["source"] = source
    if source == "baseline":
        got = base_info["queues"][queue]
        explain["baseline"] = {"method": "baseline_median_same_weekday", "days": base_info["days"],
                               "days_known": got["n_days"], "min_days": base_info["min_days"]}
    explain["overlays"] = [o for o in overlay_rows if o["queue"] == queue]
    # Each used interval's weight is 2^(-age / half-life): the first and the last are kept
    # (the full list costs more to store every run than it tells).
    for part in ("volume", "aht"):
        w = explain[part]["weights"]
        used = sorted(w)
        explain[part]["weights"] = {labels[i]: w[i] for i in (used[:1] + used[-1:])} if used else {}
    return explain


def live_view(view: Mapping[str, Any], blocks: Mapping[str, Mapping[str, Any]], adherence: Mapping[str, Any],
              now_ms: int) -> dict[str, Any]:
    """The view with what changes every tick: agents present and adhering now, per queue."""
    out_present: dict[str, int] = {}
    out_any: dict[str, int] = {}
    for e in adherence.get("exceptions", []):
        for q in e.get("queues", []):
            out_any[q] = out_any.get(q, 0) + 1
            if e.get("actual_state") in ("available", "on_call", "acw"):
                out_present[q] = out_present.get(q, 0) + 1
    queues = []
    for s in view["queues"]:
        agents = ((blocks.get(s["id"]) or {}).get("now") or {}).get("agents") or {}
        present = agents.get("available", 0) + agents.get("on_call", 0) + agents.get("acw", 0)
        live = {"present": present, "logged_in": agents.get("logged_in", 0),
                "out_of_adherence": out_any.get(s["id"], 0),
                "adhering": max(0, present - out_present.get(s["id"], 0))}
        queues.append({**s, "now": {**s["now"], **live}})
    return {**view, "queues": queues, "generated_ms": now_ms,
            "adherence_generated_ms": adherence.get("generated_ms")}
