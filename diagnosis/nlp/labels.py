"""The cause labels: stable ids shared by the corpus, the classifier and the dashboard."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("purpose", "leadership", "support", "other")
UNCLEAR = "unclear"
