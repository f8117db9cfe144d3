"""Intraday and firefighting view models → Dash components. Pure: the same model, the same tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from app.presenters.render import empty_state, stat_strip
from app.presenters.status import LEVELS


def _level(level: str, text: str, cls: str = "") -> html.Span:
    meta = LEVELS.get(level, LEVELS["none"])
    return html.Span([html.Span(meta["icon"], className="badge-icon", **{"aria-hidden": "true"}), text],
                     className=f"badge level-{level} {cls}".strip(), title=meta["word"])


def status_line(model: Mapping[str, Any]) -> list[Any]:
    if model["kind"] == "empty":
        return [empty_state(model["message"], model["detail"])]
    fresh = model["fresh"]
    return [
        html.Span(model["source"], className=f"source-badge source-{model['source_key']}"),
        html.Span(f"Plan computed {model['computed']}", className="muted"),
        html.Span(fresh["text"], className="stale" if fresh["stale"] else "muted", role="status"),
    ]


def stats(model: Mapping[str, Any]) -> list[Any]:
    return [] if model["kind"] == "empty" else [stat_strip(model["stats"])]


def explanation_panel(model: Mapping[str, Any]) -> list[Any]:
    if model["kind"] == "empty":
        return []
    ex, acc = model["explanation"], model["accuracy"]
    if not ex["method"]:
        return [html.P("No reforecast for this queue yet.", className="muted")]
    overlays = ex["overlays"] or ["none"]
    days = acc["days"]
    past = (html.Table([html.Thead(html.Tr([html.Th("Day"), html.Th("WAPE"), html.Th("Bias")])),
                        html.Tbody([html.Tr([html.Td(d["day"]), html.Td(d["wape"], className="num"), html.Td(d["bias"])])
                                    for d in days])], className="data-table accuracy-table")
            if days else html.P("No past days with both a forecast and archived actuals.", className="caption"))
    return [
        html.P(ex["method"], className="explain-method"),
        html.P(["Forecast: ", html.B(ex["source"])], className="explain-source"),
        html.Ul([html.Li(line) for line in ex["lines"]], className="explain-lines"),
        html.P(["In short: ", "; ".join(ex["reasons"]), "."], className="explain-reasons"),
        html.P(["Overlays applied: ", ", ".join(overlays)], className="explain-overlays"),
        html.H3("Forecast accuracy", className="subsection-title"),
        html.P([f"Today so far ({acc['today']['n']} closed intervals): WAPE ", html.B(acc["today"]["wape"]),
                ", bias ", html.B(acc["today"]["bias"]), "."], className="accuracy-today"),
        past,
    ]


def _effects(effects: Sequence[Mapping[str, Any]]) -> html.Details:
    """Before → after per affected queue, and per interval in one line each (a few elements per
    action: a list of 30 actions with their intervals stays small to send and to draw)."""
    summary = "; ".join(f"{e['queue']} {e['sl']}" for e in effects)
    lines = [html.Li([html.B(f"{e['queue']} {e['sl']}"), ": " + " · ".join(
        f"{c['label']} agents {c['agents']}, SL {c['sl']}" for c in e["cells"])]) for e in effects]
    return html.Details([html.Summary(["Before → after: ", summary]), html.Ul(lines, className="effects-lines")],
                        className="effects")


def actions_list(rows: Sequence[Mapping[str, Any]], button_type: str, *, problem: str | None = None,
                 compact: bool = False) -> list[Any]:
    if problem:
        return [html.P(f"Actions could not be ranked: {problem}", className="error")]
    if not rows:
        return [html.P("No roster change would improve the projected service level now.", className="muted")]
    items = []
    for r in rows:
        head = html.Div([html.Span(str(r["rank"]), className="action-rank"),
                         html.Span([html.Span(r["icon"], **{"aria-hidden": "true"}), " ", r["kind_label"]],
                                   className=f"kind-badge kind-{r['kind']}"),
                         html.Span(r["score"], className="action-score"),
                         html.Span(r["paid"], className="action-paid") if r["paid"] else None],
                        className="action-head")
        body = [head, html.P(r["text"], className="action-text")]
        if r["alternatives"] and not compact:
            body.append(html.P(f"Or, with the same effect: {r['alternatives']}", className="caption"))
        button = html.Button("Apply", id={"type": button_type, "index": r["id"]}, className="button small apply-button",
                             title="Record it, change the schedules, replan")
        if compact:  # the sentence already names each queue's SL before and after
            head.children.append(button)
        else:
            body += [_effects(r["effects"]), button]
        items.append(html.Li(body, className=f"action-item kind-{r['kind']}", **{"data-action": r["id"]}))
    return [html.Ol(items, className="action-list")]


def audit_list(rows: Sequence[Mapping[str, Any]], button_type: str) -> list[Any]:
    if not rows:
        return [html.P("Nothing applied today.", className="muted")]
    return [html.Ul([
        html.Li([
            html.Span(r["when"], className="audit-when"), html.Span(r["who"], className="audit-who"),
            html.Span(r["kind"], className="audit-kind"), html.Span(r["text"], className="audit-text"),
            html.Span(r["undone"], className="audit-undone") if r["undone"] else
            html.Button("Undo", id={"type": button_type, "index": r["id"]}, className="button small ghost undo-button"),
        ], className=f"audit-row audit-{r['state']}", **{"data-audit": r["id"]})
        for r in rows], className="audit-list")]


def overlays_list(rows: Sequence[Mapping[str, Any]], button_type: str) -> list[Any]:
    if not rows:
        return [html.P("No overlay today.", className="muted")]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Queue", "When", "Change", "Why", "By", "")]))
    body = html.Tbody([html.Tr([html.Td(r["queue"]), html.Td(r["range"]), html.Td(r["change"], className="num"),
                                html.Td(r["label"]), html.Td(r["who"]),
                                html.Td(html.Button("Remove", id={"type": button_type, "index": r["id"]},
                                                    className="button small ghost"))],
                               className="overlay-row") for r in rows])
    return [html.Table([head, body], className="data-table overlays-table")]


def result(message: str, ok: bool) -> html.Span:
    return html.Span(message, className="ok" if ok else "error")


# ------------------------------------------------------------------------------ firefighting
def _strip(cells: Sequence[Mapping[str, Any]]) -> html.Div:
    return html.Div([html.Div([html.Div(c["label"], className="heat-label"), html.Div(c["value"], className="heat-value")],
                              className=f"heat-cell level-{c['level']}", title=f"{c['label']}: projected SL {c['value']}")
                     for c in cells], className="heat-strip")


def firefight_body(model: Mapping[str, Any], button_type: str) -> list[Any]:
    w = model["window"]
    banner = html.Div([html.Span("●" if w["active"] else "○", className="ff-dot", **{"aria-hidden": "true"}), w["text"]],
                      className="ff-banner " + ("active" if w["active"] else "inactive"), role="status")
    if model["kind"] == "empty":
        return [banner, empty_state(model["message"], model["detail"])]
    fresh = model["fresh"]
    head = html.Div([html.H1("Firefighting"), banner, html.Span(model["clock"], className="ff-clock"),
                     html.Span(fresh["text"], className="ff-fresh" + (" stale" if fresh["stale"] else ""))],
                    className="ff-head")
    more = ([html.P(f"… and {model['more_queues']} more queues, less at risk (all on /intraday)", className="caption")]
            if model["more_queues"] else [])
    queues = html.Section([
        html.H2("Queues at risk, next 2 hours", className="section-title"),
        html.Ol([html.Li([
            html.Div([html.Span(q["name"], className="ff-queue-name"),
                      _level(q["level"], f"{q['risk']} calls at risk", "ff-risk")], className="ff-queue-head"),
            html.Div([html.Span(["SL now ", _level(q["sl_level"], q["sl_now"])]), html.Span(f"target {q['target']}"),
                      html.Span(f"gap {q['gap']}"), html.Span(f"present {q['present']}")], className="ff-queue-now"),
            _strip(q["strip"]),
        ], className=f"ff-queue level-{q['level']}", **{"data-queue": q["id"]}) for q in model["queues"]],
            className="ff-queues"), *more,
    ], className="card ff-queues-card")
    actions = html.Section([html.H2("Top actions", className="section-title"),
                            *actions_list(model["actions"], button_type, compact=True)], className="card ff-actions-card")
    if model["exceptions"]:
        exc: Any = html.Table([
            html.Thead(html.Tr([html.Th(h) for h in ("Agent", "Scheduled", "Actual", "Out for", "Impact")])),
            html.Tbody([html.Tr([html.Td(e["name"]), html.Td(e["scheduled"]), html.Td(e["actual"]),
                                 html.Td(e["out"], className="num"), html.Td(e["impact"].capitalize())],
                                className=f"exc-row sev-{e['severity']} impact-{e['impact']}") for e in model["exceptions"]]),
        ], className="data-table ff-exceptions")
    else:
        exc = html.P("Everyone scheduled is where the plan puts them." if model["adherence_known"]
                     else "No adherence yet: import the schedules.", className="muted big-ok")
    exceptions = html.Section([html.H2("Worst adherence exceptions", className="section-title"), exc],
                              className="card ff-exceptions-card")
    return [head, html.Div([queues, actions, exceptions], className="ff-grid")]


def forecast_import_message(result: Any, filename: str) -> list[Any]:
    """What the forecast upload says back: what was imported, or every bad line with its reason."""
    if result.ok:
        return [html.P(f"Imported {filename}: {result.summary()}. The reforecast follows within a tick.",
                       className="upload-ok")]
    return [
        html.P(f"Nothing imported: {result.total} problem{'s' if result.total != 1 else ''} in {filename}. "
               "Fix and upload again.", className="upload-error"),
        html.Pre("\n".join(result.messages()), className="upload-errors"),
    ]
