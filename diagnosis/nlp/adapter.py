"""The committed fine-tune adapter (``models/adapters/e5-ft.npz``): where it is and how to read it.

Made by ``python -m tools.finetune train``; ``teichaku train`` reads its head and out-of-fold
logits, and ``python -m tools.finetune build`` merges it into the e5 body at set-up.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ADAPTER_FILE = "adapters/e5-ft.npz"


def adapter_path(models_dir: Path) -> Path:
    """Where the committed adapter lives."""
    return Path(models_dir) / ADAPTER_FILE


def load_adapter(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays and info of a saved adapter."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "info"}
        info = json.loads(str(z["info"]))
    return arrays, info
