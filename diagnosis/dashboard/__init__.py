"""DX lead and consultant views."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

# home: logging in, the workspace of organisations, their users and new campaigns;
# campaigns: one campaign's dashboard, comments, interviews, exports and PDF;
# imports: answer files uploaded, previewed and imported; review: the review queue.
from . import campaigns, home, imports, review  # noqa: E402,F401
