"""/wallboard/<group> — the wallboard of one named group of queues (config ``groups``)."""

import dash

from app.pages._layouts import wallboard_layout

dash.register_page(__name__, path_template="/wallboard/<group>", title="Wallboard · floorboard", name="Wallboard group", order=2)

layout = wallboard_layout
