"""models/metadata.json: which backend is the default and what each trained head records.

Light on purpose (json and pathlib only): the web process reads it for the active classifier's
version, label order and threshold without importing the training stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METADATA = "metadata.json"
DEFAULT_BACKEND = "e5-ft"  # chosen by `teichaku evaluate` + bench: see README / metadata.json


def read_metadata(models_dir: str | Path) -> dict[str, Any]:
    """metadata.json as a dict (empty if there is none yet)."""
    path = Path(models_dir) / METADATA
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
