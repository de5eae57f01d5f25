"""Teichaku: diagnose why a generative-AI rollout stopped being used, and what to do first.

Importing the package is cheap: nothing heavy (no Flask, SQLAlchemy or model) is imported until
it is used, so ``diagnosis.nlp`` and ``diagnosis.recommend`` stay plain Python. The application
factory lives in :mod:`diagnosis.app`; ``from diagnosis import create_app`` still works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ConfigurationError, create_app

__all__ = ["ConfigurationError", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'diagnosis' has no attribute {name!r}")
