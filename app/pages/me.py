"""/me?agent=<id> — the agent's own view (sign-in replaces the parameter in a later issue)."""

import dash

from app.pages._layouts import agent_layout

dash.register_page(__name__, path="/me", title="My day · floorboard", name="My day", order=5)

layout = agent_layout
