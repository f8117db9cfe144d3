"""/queues/<queue> — today by interval, live agents and callers waiting for one queue."""

import dash

from app.pages._layouts import queue_layout

dash.register_page(__name__, path_template="/queues/<queue>", title="Queue · floorboard", name="Queue", order=3)

layout = queue_layout
