"""Figure builders and renderers: pure, escaped, and keeping zoom across refreshes (uirevision)."""

from __future__ import annotations

from app.figures import empty_figure, interval_figure, timeline_figure
from app.presenters import render
from app.presenters.markup import Markup, el, join
from app.presenters.wallboard import wallboard_model
from tests.unit.test_app_presenters import NOW, queue, snapshot

ROWS = [
    {"start_ms": NOW, "label": "10:00", "offered": 10.0, "answered": 9.0, "abandoned": 1.0, "service_level": 0.8, "asa_s": 12.0, "aht_s": 240.0},
    {"start_ms": NOW + 900_000, "label": "10:15", "offered": 4.0, "answered": 4.0, "abandoned": 0.0, "service_level": None, "asa_s": None, "aht_s": None},
]


def test_markup_escapes_text_and_attributes():
    html = el("div", {"cls": "a", "data_queue": 'x"><script>'}, "<b>", el("i", None, "ok"), None, ["1", 2])
    assert html == '<div class="a" data-queue="x&quot;&gt;&lt;script&gt;">&lt;b&gt;<i>ok</i>12</div>'
    assert isinstance(join([html, "&"]), Markup)
    assert join([html, "&"]).endswith("&amp;")


def test_wallboard_html_escapes_queue_names_and_shows_levels():
    snap = snapshot(queue("sales", name="<img src=x onerror=alert(1)>", waiting=3, longest=200, available=0))
    html = render.wallboard(wallboard_model(snap, now_ms=NOW, tick_s=2.0))
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'class="tile level-critical"' in html and 'data-queue="sales"' in html
    assert "Critical" in html and "✖" in html  # never colour alone
    assert "--cols: 1; --rows: 1" in html
    assert "no agent available" in html


def test_wallboard_html_stale_and_empty():
    stale = render.wallboard(wallboard_model(snapshot(queue(), generated_ms=NOW - 42_000), now_ms=NOW, tick_s=2.0))
    assert stale.count("tile-stale") == 1 and "is-stale" in stale
    assert "Data 42\u202fs old — engine not responding" in stale
    assert "Alerts paused" in stale
    empty = render.wallboard(wallboard_model(None, now_ms=NOW, tick_s=2.0))
    assert "No data yet" in empty and "tile" not in empty


def test_interval_figure_has_three_panels_target_and_uirevision():
    fig = interval_figure(ROWS, sl_target=0.8, uirevision="queue:sales")
    names = [t.name for t in fig.data]
    assert names == ["Offered", "Answered", "Abandoned", "SL", "Target 80\u202f%", "ASA", "AHT"]
    assert fig.layout.uirevision == "queue:sales"
    assert fig.layout.template.layout.paper_bgcolor is not None  # the dark template
    sl = next(t for t in fig.data if t.name == "SL")
    assert list(sl.y) == [80.0, None]  # an undefined SL is a gap, never 0 %
    assert [a.text for a in fig.layout.annotations] == ["Calls per interval", "Service level", "ASA and AHT (seconds)"]


def test_figures_without_data_are_blank_not_nan():
    fig = interval_figure([], sl_target=0.8, uirevision="q")
    assert len(fig.data) == 0 and fig.layout.annotations[0].text == "No intervals yet today"
    assert empty_figure("x", uirevision="u").layout.xaxis.visible is False


def test_timeline_rows_per_state_in_local_time():
    segments = [
        {"start_ms": NOW, "end_ms": NOW + 600_000, "state": "available", "reason": None},
        {"start_ms": NOW + 600_000, "end_ms": NOW + 900_000, "state": "aux", "reason": "break"},
        {"start_ms": NOW + 900_000, "end_ms": NOW + 1_200_000, "state": "on_call", "reason": None},
        {"start_ms": NOW + 1_200_000, "end_ms": NOW + 1_500_000, "state": "available", "reason": None},
    ]
    fig = timeline_figure(segments, tz="Europe/Paris", uirevision="agent:a1")
    assert [t.name for t in fig.data] == ["Available", "On call", "Aux: Break"]
    available = fig.data[0]
    assert list(available.base) == ["2025-11-24T17:00:00", "2025-11-24T17:20:00"]
    assert list(available.x) == [600_000, 300_000]
    assert available.orientation == "h"
    assert fig.layout.uirevision == "agent:a1"


def test_agent_body_and_queue_header_render():
    from app.presenters.agent import agent_model
    from tests.unit.test_app_presenters import VIEW

    body = render.agent_body(agent_model(VIEW, agent="a7"))
    assert body[0].children[1].className == "agent-state state-aux"
    empty = render.queue_header({"kind": "empty", "message": "Unknown queue", "detail": ""})
    assert empty[0].className == "empty-state"
