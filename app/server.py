"""The Dash app factory: pages from ``app/pages``, CSS from ``assets/``, the JSON API beside."""

from __future__ import annotations

from pathlib import Path

import dash

from app import api, auth
from app.auth.users import UsersFile
from app.context import get_store, set_context
from floorboard.config import Settings
from realtime.history import History
from realtime.store import Store

APP_DIR = Path(__file__).resolve().parent
ASSETS_DIR = APP_DIR.parent / "assets"


def create_app(settings: Settings, store: Store, history: History | None = None) -> dash.Dash:
    """Build the app around one store. Callbacks find both through :mod:`app.context`."""
    set_context(settings, store)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(APP_DIR / "pages"),
        assets_folder=str(ASSETS_DIR),
        suppress_callback_exceptions=True,
        title="floorboard",
        update_title=None,  # no "Updating..." flicker in the tab title on every refresh
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    # Callbacks register themselves with dash.callback on first import.
    from app.callbacks import (  # noqa: F401
        adherence,
        agent,
        agent_adherence,
        firefight,
        intraday,
        queue,
        wallboard,
    )

    app.layout = dash.page_container
    # Every page, callback and route passes the access-control gate (docs/security.md).
    auth.install(app.server, settings, UsersFile(settings.auth.users_file), get_store, dash_app=app)
    api.register_api(app.server, store, history)
    return app
