"""The overview page's view model: links to every wallboard, group, queue and agent page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from app.presenters.wallboard import tile


def index_model(snapshot: Mapping[str, Any] | None, config_groups: Mapping[str, list[str]]) -> dict[str, Any]:
    """Groups come from the snapshot, else from the configuration; queues from the snapshot."""
    snapshot = snapshot or {}
    groups = snapshot.get("groups") or config_groups or {}
    queues = [tile(q) for q in snapshot.get("queues") or []]
    return {
        "groups": [
            {"name": name, "href": f"/wallboard/{quote(name, safe='')}", "queues": ", ".join(ids)}
            for name, ids in groups.items()
        ],
        "queues": [
            {"name": t["name"], "href": f"/queues/{quote(str(t['id']), safe='')}", "level": t["level"],
             "waiting": t["waiting"]["value"], "sl": t["sl_now"]["value"]}
            for t in queues
        ],
        "has_data": bool(snapshot),
    }
