"""The cause labels: stable ids shared by the corpus, the classifier and the dashboard."""

from __future__ import annotations

from diagnosis.vocabulary import LABELS, UNCLEAR

__all__ = ["LABELS", "UNCLEAR"]
