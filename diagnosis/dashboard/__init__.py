"""DX lead and consultant views."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

# routes: accounts and the workspace; views: a campaign's dashboard, comments, interviews, exports;
# imports: answer files uploaded, previewed and imported; review: the review queue.
from . import imports, review, routes, views  # noqa: E402,F401
