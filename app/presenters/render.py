"""View models → Dash components. Pure: the same model always gives the same tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from app.presenters.status import LEVELS

NAV_LINKS = (("/", "Overview"), ("/wallboard", "Wallboard"))


def navbar(active: str) -> html.Nav:
    links = [
        dcc.Link(label, href=href, className="nav-link" + (" active" if href == active else ""))
        for href, label in NAV_LINKS
    ]
    return html.Nav(
        [dcc.Link([html.Span("▦", className="brand-mark"), "floorboard"], href="/", className="brand"), *links],
        className="navbar",
    )


def empty_state(message: str, detail: str = "") -> html.Div:
    return html.Div(
        [html.Div("◌", className="empty-icon", **{"aria-hidden": "true"}), html.H2(message), html.P(detail)],
        className="empty-state",
    )


def level_badge(level: str, *, word: bool = True) -> html.Span:
    meta = LEVELS[level]
    children = [html.Span(meta["icon"], className="badge-icon", **{"aria-hidden": "true"})]
    if word:
        children.append(html.Span(meta["word"], className="badge-word"))
    return html.Span(children, className=f"badge level-{level}", title=meta["word"])


# --------------------------------------------------------------------------- wallboard
def _metric(label: str, metric: Mapping[str, str], cls: str) -> html.Div:
    level = metric.get("level", "none")
    icon = LEVELS[level]["icon"] if level in ("warning", "critical") else ""
    return html.Div(
        [
            html.Div([metric["value"], html.Span(icon, className="metric-flag")], className="metric-value"),
            html.Div(label, className="metric-label"),
        ],
        className=f"metric {cls} level-{level}",
    )


def _chip(chip: Mapping[str, Any]) -> html.Span:
    return html.Span(
        [html.Span(className="chip-dot"), html.B(str(chip["value"])), html.Span(chip["label"], className="chip-label")],
        className=f"chip state-{chip['key']}" + (" zero" if not chip["value"] else ""),
    )


def _small(label: str, value: str, cls: str = "", level: str = "plain") -> html.Div:
    return _metric(label, {"value": value, "level": level}, f"small {cls}".strip())


def wallboard_tile(t: Mapping[str, Any], stale_text: str = "") -> html.Article:
    return html.Article(
        [
            html.Header([html.H2(t["name"], className="tile-name"), level_badge(t["level"])], className="tile-head"),
            html.Div(
                [
                    _metric("waiting", t["waiting"], "key key-waiting"),
                    _metric("longest wait", t["longest"], "key key-longest"),
                    _metric("SL now", t["sl_now"], "key key-sl"),
                ],
                className="tile-key",
            ),
            html.Div(
                [
                    _metric("SL now", t["sl_now"], "small small-sl-now"),
                    _metric("SL today", t["sl_today"], "small small-sl-today"),
                    _small("SL target", t["sl_target"], "small-target", "muted"),
                    _small("ASA today", t["asa"], "small-asa"),
                    _small("Abandoned", t["abandon"], "small-abandon"),
                    _small("Offered", t["offered"], "small-offered"),
                ],
                className="tile-sl",
            ),
            html.Div([_chip(c) for c in t["agents"]], className="tile-agents"),
            html.Div(t["sl_caption"], className="tile-caption"),
            html.Div(stale_text, className="tile-stale", role="status") if stale_text else None,
        ],
        className=f"tile level-{t['level']}" + (" is-stale" if stale_text else ""),
        **{"data-queue": str(t["id"])},
    )


def _ticker(alerts: Sequence[Mapping[str, Any]], stale: bool) -> html.Footer:
    if stale:
        items = [html.Span("Alerts paused while the data is stale", className="ticker-item level-none")]
    elif not alerts:
        items = [html.Span([html.Span("✓", className="badge-icon"), " No open queue alerts"], className="ticker-item level-ok")]
    else:
        items = [
            html.Span(
                [html.Span(a["icon"], className="badge-icon"), html.B(a["queue"]), " ", a["text"]],
                className=f"ticker-item level-{a['level']}",
            )
            for a in alerts
        ]
    return html.Footer(
        [html.Span("Alerts", className="ticker-title"), html.Div(items, className="ticker-items")],
        className="wb-ticker",
    )


def _rotation(rotation: Mapping[str, Any] | None) -> html.Div | None:
    if not rotation:
        return None
    dots = [
        html.Span(name, className="rot-dot" + (" on" if i == rotation["index"] else ""))
        for i, name in enumerate(rotation["names"])
    ]
    return html.Div(dots, className="rotation", title=f"Rotates every {rotation['every_s']:g} s")


def _summary(summary: Mapping[str, int]) -> html.Div:
    return html.Div(
        [html.Span([LEVELS[lv]["icon"], " ", str(summary.get(lv, 0))], className=f"sum level-{lv}", title=LEVELS[lv]["word"])
         for lv in ("critical", "warning", "ok")],
        className="wb-summary",
    )


def wallboard(model: Mapping[str, Any]) -> list[Any]:
    """The whole board for one refresh: header, tiles (or an empty state), ticker."""
    fresh = model.get("fresh") or {}
    stale_text = fresh.get("text", "") if fresh.get("stale") else ""
    status = (
        html.Div(stale_text, className="wb-status stale", role="alert")
        if stale_text
        else html.Div(f"Updated {model['updated']}" if model.get("updated") else "", className="wb-status")
    )
    header = html.Header(
        [
            html.H1(model["title"], className="wb-title"),
            _rotation(model.get("rotation")),
            _summary(model["summary"]) if model.get("summary") else None,
            status,
            html.Div(model.get("clock", ""), className="wb-clock"),
        ],
        className="wb-header",
    )
    if model["kind"] == "empty":
        return [header, html.Main(empty_state(model["message"], model.get("detail", "")), className="wb-main")]
    grid = model["grid"]
    tiles = html.Main(
        [wallboard_tile(t, stale_text) for t in model["tiles"]],
        className=f"wb-grid density-{grid['density']}" + (" is-stale" if stale_text else ""),
        style={"--cols": grid["cols"], "--rows": grid["rows"]},
    )
    return [header, tiles, _ticker(model["alerts"], bool(stale_text))]


# --------------------------------------------------------------------------- queue page
def queue_header(model: Mapping[str, Any]) -> list[Any]:
    if model["kind"] == "empty":
        return [empty_state(model["message"], model.get("detail", ""))]
    stats = [
        html.Div(
            [html.Div(s["value"], className="stat-value"), html.Div(s["label"], className="stat-label")],
            className=f"stat level-{s['level']}" + (f" state-{s['state']}" if s.get("state") else ""),
        )
        for s in model["stats"]
    ]
    return [
        html.Div([html.H1(model["title"]), html.P(model["caption"], className="caption")], className="page-title"),
        html.Div(stats, className="stat-strip"),
    ]


def waiting_list(model: Mapping[str, Any]) -> list[Any]:
    rows = model.get("waiting") or []
    if not rows:
        return [html.P("No caller waiting", className="muted")]
    return [
        html.Ol(
            [
                html.Li(
                    [html.Span(r["call"], className="call-id"), html.Span([r["wait"], " ", level_badge(r["level"], word=False)], className="call-wait")],
                    className=f"level-{r['level']}",
                )
                for r in rows
            ],
            className="waiting-list",
        )
    ]


# --------------------------------------------------------------------------- agent page
def _kpi_card(k: Mapping[str, Any]) -> html.Div:
    vm = k["vs_median"]
    return html.Div(
        [
            html.Div(k["label"], className="kpi-label"),
            html.Div(k["value"], className="kpi-value"),
            html.Div(
                [level_badge(k["vs_target"], word=False) if k["vs_target"] != "none" else None,
                 html.Span(f"target {k['target_word']}{k['target']}")],
                className=f"kpi-target level-{k['vs_target']}",
            ),
            html.Div(
                [html.Span(vm["icon"], className="rel-icon"), f" team median {k['median']}", html.Span(f" · {vm['word']}" if vm["word"] else "")],
                className=f"kpi-median rel-{vm['relation']}",
            ),
        ],
        className=f"kpi-card kpi-{k['key']}",
    )


def agent_body(model: Mapping[str, Any]) -> list[Any]:
    if model["kind"] == "empty":
        return [empty_state(model["message"], model.get("detail", ""))]
    state = html.Div(
        [
            html.Span(className="state-dot"),
            html.Span(model["state"] + (f" · {model['reason']}" if model["reason"] else ""), className="state-word"),
            html.Span(model["time_in_state"], className="state-time"),
        ],
        className=f"agent-state state-{model['state_key']}",
    )
    breakdown = html.Div(
        [html.Span([html.Span(className="chip-dot"), html.B(b["value"]), html.Span(b["label"], className="chip-label")], className=f"chip state-{b['key']}")
         for b in model["breakdown"]],
        className="agent-breakdown",
    )
    return [
        html.Div(
            [html.Div([html.H1(model["agent"]), html.P(f"Queues: {model['queues']}", className="caption")], className="page-title"), state],
            className="agent-head",
        ),
        html.H2("Today", className="section-title"),
        html.Div([_kpi_card(k) for k in model["kpis"]], className="kpi-grid"),
        html.P(model["team"] + ". Other agents are never shown by name.", className="caption"),
        breakdown,
    ]
