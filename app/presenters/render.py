"""View models → Dash components. Pure: the same model always gives the same tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dash import dcc, html

from app.presenters.markup import Markup, el, join
from app.presenters.status import LEVELS

NAV_LINKS = (("/", "Overview"), ("/wallboard", "Wallboard"), ("/adherence", "Adherence"),
             ("/intraday", "Intraday"), ("/firefight", "Firefight"))


def navbar(active: str, may_open: Callable[[str], bool] | None = None) -> html.Nav:
    """The top bar; with ``may_open``, only the pages the caller may open are linked (the
    server refuses the others anyway: this only spares a click into "Not allowed")."""
    links = [
        dcc.Link(label, href=href, className="nav-link" + (" active" if href == active else ""))
        for href, label in NAV_LINKS
        if may_open is None or may_open(href)
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
# The wallboard is rendered as one escaped HTML string (see app/presenters/markup.py for why).
def _badge_html(level: str, *, word: bool = True) -> Markup:
    meta = LEVELS[level]
    return el(
        "span", {"cls": f"badge level-{level}", "title": meta["word"]},
        el("span", {"cls": "badge-icon", "aria_hidden": "true"}, meta["icon"]),
        el("span", {"cls": "badge-word"}, meta["word"]) if word else None,
    )


def _metric(label: str, metric: Mapping[str, str], cls: str) -> Markup:
    level = metric.get("level", "none")
    flag = LEVELS[level]["icon"] if level in ("warning", "critical") else ""
    return el(
        "div", {"cls": f"metric {cls} level-{level}"},
        el("div", {"cls": "metric-value"}, metric["value"], el("span", {"cls": "metric-flag"}, flag) if flag else None),
        el("div", {"cls": "metric-label"}, label),
    )


def _chip(chip: Mapping[str, Any]) -> Markup:
    return el(
        "span", {"cls": f"chip state-{chip['key']}" + (" zero" if not chip["value"] else "")},
        el("span", {"cls": "chip-dot"}), el("b", None, chip["value"]), el("span", {"cls": "chip-label"}, chip["label"]),
    )


def wallboard_tile(t: Mapping[str, Any], stale_text: str = "") -> Markup:
    body = el(
        "div", {"cls": "tile-in"},
        el("header", {"cls": "tile-head"}, el("h2", {"cls": "tile-name"}, t["name"]), _badge_html(t["level"])),
        el(
            "div", {"cls": "tile-key"},
            _metric("waiting", t["waiting"], "key key-waiting"),
            _metric("longest wait", t["longest"], "key key-longest"),
            _metric("SL now", t["sl_now"], "key key-sl"),
        ),
        el(
            "div", {"cls": "tile-sl"},
            _metric("SL now", t["sl_now"], "small small-sl-now"),
            _metric("SL today", t["sl_today"], "small small-sl-today"),
            _metric("SL target", {"value": t["sl_target"], "level": "muted"}, "small small-target"),
            _metric("ASA today", {"value": t["asa"], "level": "plain"}, "small small-asa"),
            _metric("Abandoned", {"value": t["abandon"], "level": "plain"}, "small small-abandon"),
            _metric("Offered", {"value": t["offered"], "level": "plain"}, "small small-offered"),
        ),
        el("div", {"cls": "tile-agents"}, [_chip(c) for c in t["agents"]]),
        el("div", {"cls": "tile-caption"}, t["sl_caption"]),
    )
    return el(
        "article", {"cls": f"tile level-{t['level']}" + (" is-stale" if stale_text else ""), "data_queue": t["id"]},
        body, el("div", {"cls": "tile-stale", "role": "status"}, stale_text) if stale_text else None,
    )


def _ticker(alerts: Sequence[Mapping[str, Any]], stale: bool) -> Markup:
    if stale:
        items = [el("span", {"cls": "ticker-item level-none"}, "Alerts paused while the data is stale")]
    elif not alerts:
        items = [el("span", {"cls": "ticker-item level-ok"}, el("span", {"cls": "badge-icon"}, "✓"), " No open queue alerts")]
    else:
        items = [
            el("span", {"cls": f"ticker-item level-{a['level']}"}, el("span", {"cls": "badge-icon"}, a["icon"]), el("b", None, a["queue"]), " ", a["text"])
            for a in alerts
        ]
    return el("footer", {"cls": "wb-ticker"}, el("span", {"cls": "ticker-title"}, "Alerts"), el("div", {"cls": "ticker-items"}, items))


def _rotation(rotation: Mapping[str, Any] | None) -> Markup | None:
    if not rotation:
        return None
    dots = [el("span", {"cls": "rot-dot" + (" on" if i == rotation["index"] else "")}, name) for i, name in enumerate(rotation["names"])]
    return el("div", {"cls": "rotation", "title": f"Rotates every {rotation['every_s']:g} s"}, dots)


def _summary(summary: Mapping[str, int]) -> Markup:
    return el(
        "div", {"cls": "wb-summary"},
        [el("span", {"cls": f"sum level-{lv}", "title": LEVELS[lv]["word"]}, LEVELS[lv]["icon"], " ", summary.get(lv, 0))
         for lv in ("critical", "warning", "ok")],
    )


def _empty_html(message: str, detail: str) -> Markup:
    return el(
        "div", {"cls": "empty-state"},
        el("div", {"cls": "empty-icon", "aria_hidden": "true"}, "◌"), el("h2", None, message), el("p", None, detail),
    )


def wallboard(model: Mapping[str, Any]) -> Markup:
    """The whole board for one refresh as HTML: header, tiles (or an empty state), ticker."""
    fresh = model.get("fresh") or {}
    stale_text = fresh.get("text", "") if fresh.get("stale") else ""
    if stale_text:
        status = el("div", {"cls": "wb-status stale", "role": "alert"}, stale_text)
    else:
        status = el("div", {"cls": "wb-status"}, f"Updated {model['updated']}" if model.get("updated") else "")
    header = el(
        "header", {"cls": "wb-header"},
        el("h1", {"cls": "wb-title"}, model["title"]),
        _rotation(model.get("rotation")),
        _summary(model["summary"]) if model.get("summary") else None,
        status,
        el("div", {"cls": "wb-clock"}, model.get("clock", "")),
    )
    if model["kind"] == "empty":
        return join([header, el("main", {"cls": "wb-main"}, _empty_html(model["message"], model.get("detail", "")))])
    grid = model["grid"]
    tiles = el(
        "main",
        {"cls": f"wb-grid density-{grid['density']}" + (" is-stale" if stale_text else ""),
         "style": f"--cols: {int(grid['cols'])}; --rows: {int(grid['rows'])}"},
        [wallboard_tile(t, stale_text) for t in model["tiles"]],
    )
    return join([header, tiles, _ticker(model["alerts"], bool(stale_text))])


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


# --------------------------------------------------------------------------- adherence page
def stat_strip(stats: Sequence[Mapping[str, Any]]) -> html.Div:
    return html.Div(
        [html.Div([html.Div(s["value"], className="stat-value"), html.Div(s["label"], className="stat-label")],
                  className=f"stat level-{s['level']}") for s in stats],
        className="stat-strip",
    )


def _judgement(j: Mapping[str, str], kind: str) -> html.Span:
    return html.Span([html.Span(j["icon"], className="badge-icon", **{"aria-hidden": "true"}), j["word"]],
                     className=f"badge {kind}-{j['key']} level-{j['level']}")


def _alert_buttons(row: Mapping[str, Any]) -> list[Any]:
    alert = row["alert"]
    if alert["id"] is None:
        return [html.Span("no alert", className="muted")]
    out: list[Any] = [html.Span(alert["text"], className=f"alert-state alert-{alert['state']}")]
    if alert["state"] == "open":
        out.append(html.Button("Acknowledge", id={"type": "adh-ack", "index": alert["id"]}, className="button small"))
    if alert["state"] in ("open", "acknowledged"):
        out.append(html.Button("Snooze 15 min", id={"type": "adh-snooze", "index": alert["id"]}, className="button small ghost"))
    return out


def exceptions_table(model: Mapping[str, Any]) -> list[Any]:
    rows = model.get("rows") or []
    if not rows:
        return [html.P("Everyone scheduled is where the plan puts them.", className="muted big-ok")]
    head = html.Thead(html.Tr([html.Th(h) for h in
                               ("Agent", "Team", "Scheduled", "Actual", "Since", "Out for", "Severity", "Impact", "Alert")]))
    body = html.Tbody([
        html.Tr(
            [
                html.Td(html.Button(r["name"], id={"type": "adh-pick", "index": r["agent"]}, className="link-button",
                                    title="Show this agent's day")),
                html.Td(r["team"]),
                html.Td(r["scheduled"]),
                html.Td(r["actual"], className="actual"),
                html.Td(r["since"]),
                html.Td(r["out"], className="num"),
                html.Td(_judgement(r["severity"], "sev")),
                html.Td(_judgement(r["impact"], "impact")),
                html.Td(_alert_buttons(r), className="alert-cell"),
            ],
            className=f"exc-row sev-{r['severity']['key']} impact-{r['impact']['key']}",
            **{"data-agent": r["agent"]},
        )
        for r in rows
    ])
    more = [html.P(f"… and {model['hidden']} more (filter by team)", className="caption")] if model.get("hidden") else []
    return [html.Table([head, body], className="data-table exceptions-table"), *more]


def team_table(model: Mapping[str, Any]) -> list[Any]:
    rows = model.get("teams") or []
    if not rows:
        return [html.P("No teams yet: import the roster (floorboard import agents FILE).", className="muted")]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Team", "Agents", "Adherence", "Conformance", "Out now")]))
    body = html.Tbody([html.Tr([html.Td(r["team"]), html.Td(r["agents"], className="num"), html.Td(r["adherence"], className="num"),
                                html.Td(r["conformance"], className="num"), html.Td(r["out_now"], className="num")]) for r in rows])
    return [html.Table([head, body], className="data-table team-table")]


def agent_adherence(model: Mapping[str, Any]) -> list[Any]:
    if model["kind"] == "empty":
        return [html.H2("My schedule", className="section-title"), html.P(model["message"] + ". " + model["detail"], className="muted")]
    stats = [
        {"label": "Scheduled now", "value": model["scheduled"], "level": "none"},
        {"label": "Next", "value": model["next"], "level": "none"},
        {"label": "Adherence today", "value": model["adherence"], "level": "none"},
        {"label": "Conformance today", "value": model["conformance"], "level": "none"},
    ]
    chips = [html.Span([html.B(s["time"]), " ", s["activity"]],
                       className=f"chip activity-{s['key']}" + (" now" if s["now"] else "") + (" past" if s["past"] else ""))
             for s in model["segments"]]
    warning = ([html.Div([html.Span("▲ ", **{"aria-hidden": "true"}), model["warning"]],
                         className=f"adherence-warning sev-{model['severity']}", role="alert")]
               if model["warning"] else [])
    return [html.H2("My schedule", className="section-title"), *warning, stat_strip(stats),
            html.Div(chips, className="schedule-strip")]
