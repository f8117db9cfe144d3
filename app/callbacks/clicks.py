"""Which button of a redrawn list was clicked.

Lists of buttons (pattern-matching ids) are redrawn on every refresh, which fires their
callbacks with ``n_clicks`` None, and a refresh can arrive together with a click: the click is
the triggered input whose value is set, wherever it is among the triggers (not only the first).
"""

from __future__ import annotations

from typing import Any

from dash import ctx


def clicked_id() -> Any:
    """The id of the clicked input (a dict for a pattern-matching id), or None if nothing was."""
    for trigger in ctx.triggered:
        if trigger["value"]:
            return ctx.triggered_prop_ids[trigger["prop_id"]]
    return None
