"""Plotly figure builders: rows in, a figure out. Pure; no data is fetched here.

Every figure carries a ``uirevision`` that stays the same across refreshes of the same page, so
a zoom or a hidden trace survives the next update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.presenters import format as fmt

# Okabe–Ito, as in assets/00-tokens.css (plotly needs literal colours).
BLUE, SKY, GREEN, ORANGE, VERMILION, PURPLE, YELLOW = (
    "#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#F0E442",
)
STATE_COLOURS = {"available": GREEN, "on_call": SKY, "acw": PURPLE, "aux": YELLOW, "logged_out": "#6b7280"}
STATE_ORDER = ("available", "on_call", "acw", "aux", "logged_out")
INK, MUTED, GRID = "#e8edf5", "#9aa7bd", "rgba(154,167,189,0.18)"


def _base_layout(fig: go.Figure, uirevision: str, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif", "color": INK, "size": 13},
        margin={"l": 56, "r": 16, "t": 64, "b": 36},
        height=height,
        uirevision=uirevision,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1, "bgcolor": "rgba(0,0,0,0)"},
        hoverlabel={"bgcolor": "#1b2333"},
        bargap=0.25,
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, linecolor=GRID)
    return fig


def empty_figure(message: str, *, uirevision: str, height: int = 320) -> go.Figure:
    """A blank dark figure with a message (no axes: an empty axis draws NaN paths)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16, "color": MUTED}, x=0.5, y=0.5, xref="paper", yref="paper")
    fig = _base_layout(fig, uirevision, height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def interval_figure(rows: Sequence[Mapping[str, Any]], *, sl_target: float | None, uirevision: str) -> go.Figure:
    """Today by interval: volume (offered, answered, abandoned), SL against target, ASA and AHT."""
    if not rows:
        return empty_figure("No intervals yet today", uirevision=uirevision)
    labels = [r.get("label") for r in rows]
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09,
        subplot_titles=("Calls per interval", "Service level", "ASA and AHT (seconds)"),
        row_heights=[0.38, 0.31, 0.31],
    )
    for key, name, colour in (("offered", "Offered", SKY), ("answered", "Answered", BLUE), ("abandoned", "Abandoned", VERMILION)):
        fig.add_trace(go.Bar(x=labels, y=[r.get(key) or 0 for r in rows], name=name, marker_color=colour, legendgroup="vol"), row=1, col=1)
    sl = [None if r.get("service_level") is None else r["service_level"] * 100 for r in rows]
    fig.add_trace(
        go.Scatter(x=labels, y=sl, name="SL", mode="lines+markers", line={"color": GREEN, "width": 3}, connectgaps=False,
                   hovertemplate="%{x}: %{y:.0f} %<extra>SL</extra>"),
        row=2, col=1,
    )
    if sl_target is not None:
        fig.add_trace(
            go.Scatter(x=labels, y=[sl_target * 100] * len(labels), name=f"Target {fmt.pct(sl_target)}", mode="lines",
                       line={"color": ORANGE, "dash": "dash", "width": 2}, hoverinfo="skip"),
            row=2, col=1,
        )
    for key, name, colour in (("asa_s", "ASA", PURPLE), ("aht_s", "AHT", YELLOW)):
        fig.add_trace(
            go.Scatter(x=labels, y=[r.get(key) for r in rows], name=name, mode="lines+markers", line={"color": colour, "width": 2.5}),
            row=3, col=1,
        )
    fig.update_yaxes(range=[0, 105], ticksuffix=" %", row=2, col=1)
    fig.update_yaxes(rangemode="tozero", row=3, col=1)
    fig.update_layout(barmode="group")
    fig.update_annotations(font={"size": 14, "color": MUTED}, x=0, xanchor="left")
    return _base_layout(fig, uirevision, 640)


def timeline_figure(segments: Sequence[Mapping[str, Any]], *, tz: str, uirevision: str) -> go.Figure:
    """Today's states as horizontal bars on a local-time axis, one row per state (or aux reason)."""
    if not segments:
        return empty_figure("No state changes yet today", uirevision=uirevision, height=160)
    fig = go.Figure()
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for seg in segments:
        state = seg.get("state") or "logged_out"
        label = fmt.humanize(state) if state != "aux" else f"Aux: {fmt.humanize(seg.get('reason') or 'other')}"
        rows.setdefault(label, []).append(seg)
    order = sorted(rows, key=lambda lb: (STATE_ORDER.index(_state_of(rows[lb][0])), lb))
    for label in order:
        segs = rows[label]
        state = _state_of(segs[0])
        fig.add_trace(
            go.Bar(
                y=[label] * len(segs),
                base=[fmt.local_iso(s["start_ms"], tz) for s in segs],
                x=[max(0, s["end_ms"] - s["start_ms"]) for s in segs],
                orientation="h",
                name=label,
                marker={"color": STATE_COLOURS.get(state, MUTED), "line": {"width": 0}},
                customdata=[[fmt.local_time(s["start_ms"], tz, "%H:%M"), fmt.local_time(s["end_ms"], tz, "%H:%M"),
                             fmt.clock((s["end_ms"] - s["start_ms"]) / 1000)] for s in segs],
                hovertemplate="%{y}<br>%{customdata[0]}–%{customdata[1]} (%{customdata[2]})<extra></extra>",
                showlegend=False,
            )
        )
    fig.update_xaxes(type="date", tickformat="%H:%M")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), automargin=True)
    height = 90 + 34 * max(1, len(order))
    fig = _base_layout(fig, uirevision, height)
    fig.update_layout(margin={"l": 8, "r": 12, "t": 12, "b": 30}, barmode="overlay", bargap=0.35)
    return fig


def _state_of(seg: Mapping[str, Any]) -> str:
    state = seg.get("state") or "logged_out"
    return state if state in STATE_ORDER else "logged_out"


ACTIVITY_COLOURS = {"open": GREEN, "break": YELLOW, "lunch": ORANGE, "meeting": PURPLE, "training": BLUE, "off": "#6b7280"}


def _bars(row: str, segs: Sequence[Mapping[str, Any]], label_of: Any, colour_of: Any, tz: str) -> list[go.Bar]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for s in segs:
        groups.setdefault(label_of(s), []).append(s)
    return [
        go.Bar(
            y=[row] * len(items),
            base=[fmt.local_iso(s["start_ms"], tz) for s in items],
            x=[max(0, s["end_ms"] - s["start_ms"]) for s in items],
            orientation="h",
            name=label,
            legendgroup=label,
            marker={"color": colour_of(items[0]), "line": {"width": 0}},
            customdata=[[label, fmt.local_time(s["start_ms"], tz, "%H:%M"), fmt.local_time(s["end_ms"], tz, "%H:%M")] for s in items],
            hovertemplate=f"{row}: %{{customdata[0]}}<br>%{{customdata[1]}}–%{{customdata[2]}}<extra></extra>",
        )
        for label, items in groups.items()
    ]


def adherence_timeline_figure(
    planned: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    *,
    tz: str,
    now_ms: int,
    uirevision: str,
) -> go.Figure:
    """One agent's day: the schedule above, what happened below, on one local-time axis."""
    if not planned and not actual:
        return empty_figure("No schedule and no state changes today", uirevision=uirevision, height=180)
    fig = go.Figure()
    for bar in _bars("Scheduled", planned, lambda s: fmt.humanize(s["activity"]),
                     lambda s: ACTIVITY_COLOURS.get(s["activity"], MUTED), tz):
        fig.add_trace(bar)
    for bar in _bars("Actual", actual,
                     lambda s: fmt.humanize(s.get("state") or "logged_out") if s.get("state") != "aux"
                     else f"Aux: {fmt.humanize(s.get('reason') or 'other')}",
                     lambda s: STATE_COLOURS.get(_state_of(s), MUTED), tz):
        fig.add_trace(bar)
    now = fmt.local_iso(now_ms, tz)
    fig.add_shape(type="line", x0=now, x1=now, y0=0, y1=1, yref="paper", line={"color": INK, "width": 2, "dash": "dot"})
    fig.add_annotation(x=now, y=1, yref="paper", text="now", showarrow=False, yanchor="bottom", font={"color": MUTED})
    fig.update_xaxes(type="date", tickformat="%H:%M")
    fig.update_yaxes(categoryorder="array", categoryarray=["Actual", "Scheduled"], automargin=True)
    fig = _base_layout(fig, uirevision, 230)
    fig.update_layout(margin={"l": 8, "r": 12, "t": 40, "b": 30}, barmode="overlay", bargap=0.3)
    return fig


def _now_line(fig: go.Figure, label: str | None) -> None:
    if label is None:
        return
    fig.add_shape(type="line", xref="x", x0=label, x1=label, yref="paper", y0=0, y1=1,
                  line={"color": INK, "width": 2, "dash": "dot"})
    fig.add_annotation(x=label, y=1, xref="x", yref="paper", text="now", showarrow=False, yanchor="bottom",
                       font={"color": MUTED})


def _sparse_ticks(labels: Sequence[str], most: int = 16) -> list[str]:
    """At most ``most`` tick labels: the full hours when there are enough of them (a day of
    quarter-hours would otherwise print 60 labels on top of each other)."""
    if len(labels) <= most:
        return list(labels)
    hours = [lb for lb in labels if str(lb).endswith(":00")]
    if 4 <= len(hours) <= most:
        return hours
    step = -(-len(labels) // most)
    return list(labels[::step])


def intraday_figure(rows: Sequence[Mapping[str, Any]], *, target: float | None, uirevision: str) -> go.Figure:
    """One queue's day: calls (forecast, reforecast, actual), agents (required, scheduled,
    present now) and projected SL against the target, on one time axis with a now marker."""
    if not rows:
        return empty_figure("No plan for this queue yet", uirevision=uirevision)
    x = [r["label"] for r in rows]
    rest = [r if r.get("rest") else {} for r in rows]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.36, 0.34, 0.30],
                        subplot_titles=("Calls per interval", "Agents", "Projected service level"))
    fig.add_trace(go.Bar(x=x, y=[r.get("actual") for r in rows], name="Actual", marker_color=SKY, opacity=0.85,
                         legendgroup="calls"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("forecast") for r in rows], name="Forecast", mode="lines",
                             line={"color": MUTED, "width": 2, "dash": "dash"}, legendgroup="calls"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("reforecast") for r in rows], name="Reforecast", mode="lines",
                             line={"color": ORANGE, "width": 3}, legendgroup="calls"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("required") for r in rest], name="Required", mode="lines",
                             line={"color": VERMILION, "width": 3, "shape": "hv"}, legendgroup="agents"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("scheduled") for r in rest], name="Scheduled", mode="lines",
                             line={"color": BLUE, "width": 3, "shape": "hv"}, fill="tonexty",
                             fillcolor="rgba(0,114,178,0.12)", legendgroup="agents"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=[r.get("present") for r in rows], name="Present now", mode="markers",
                             marker={"color": GREEN, "size": 14, "symbol": "diamond"}, legendgroup="agents"), row=2, col=1)
    sl = [None if r.get("projected_sl") is None else r["projected_sl"] * 100 for r in rest]
    fig.add_trace(go.Scatter(x=x, y=sl, name="Projected SL", mode="lines+markers", line={"color": GREEN, "width": 3},
                             hovertemplate="%{x}: %{y:.0f} %<extra>projected SL</extra>"), row=3, col=1)
    if target is not None:
        fig.add_trace(go.Scatter(x=x, y=[target * 100] * len(x), name=f"Target {fmt.pct(target)}", mode="lines",
                                 line={"color": ORANGE, "dash": "dash", "width": 2}, hoverinfo="skip"), row=3, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_yaxes(range=[0, 105], ticksuffix=" %", row=3, col=1)
    fig.update_xaxes(type="category", tickmode="array", tickvals=_sparse_ticks(x))
    _now_line(fig, next((r["label"] for r in rows if r.get("now")), None))
    fig.update_annotations(font={"size": 14, "color": MUTED})
    fig = _base_layout(fig, uirevision, 720)
    fig.update_layout(hovermode="x unified")
    return fig


def what_if_figure(rows: Sequence[Mapping[str, Any]], *, target: float | None, uirevision: str) -> go.Figure:
    """Projected SL per interval before and after a what-if change (the range shaded)."""
    if not rows:
        return empty_figure("Choose a range and a change, then press Project", uirevision=uirevision, height=260)
    x = [r["label"] for r in rows]
    fig = go.Figure()
    inside = [r["label"] for r in rows if r.get("in_range")]
    if inside:
        fig.add_vrect(x0=inside[0], x1=inside[-1], fillcolor="rgba(86,180,233,0.12)", line_width=0)
    for key, name, colour, dash in (("sl_before", "Before", MUTED, "dash"), ("sl_after", "After", GREEN, "solid")):
        fig.add_trace(go.Scatter(x=x, y=[None if r.get(key) is None else r[key] * 100 for r in rows], name=name,
                                 mode="lines+markers", line={"color": colour, "width": 3, "dash": dash}))
    if target is not None:
        fig.add_trace(go.Scatter(x=x, y=[target * 100] * len(x), name=f"Target {fmt.pct(target)}", mode="lines",
                                 line={"color": ORANGE, "dash": "dot", "width": 2}, hoverinfo="skip"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 105], ticksuffix=" %")
    fig = _base_layout(fig, uirevision, 280)
    fig.update_layout(margin={"l": 48, "r": 12, "t": 40, "b": 30})
    return fig
