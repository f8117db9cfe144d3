"""/wallboard — one tile per queue, for a TV. Options: ?kiosk=1, ?rotate=<seconds>."""

import dash

from app.pages._layouts import wallboard_layout

dash.register_page(__name__, path="/wallboard", title="Wallboard · floorboard", name="Wallboard", order=1)

layout = wallboard_layout
