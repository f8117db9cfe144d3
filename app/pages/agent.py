"""/agents/<agent> — one agent's day, for supervisors."""

import dash

from app.pages._layouts import agent_layout

dash.register_page(__name__, path_template="/agents/<agent>", title="Agent · floorboard", name="Agent", order=4)

layout = agent_layout
