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
