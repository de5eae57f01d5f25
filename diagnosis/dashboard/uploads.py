"""Uploaded answer files waiting between the preview and the import, kept on the server.

The file can hold personal columns (e-mail, name) that are never imported, so it is not put in
the session cookie: it goes into ``IMPORT_UPLOAD_DIR`` (default ``<instance>/imports/``) under a
random name (mode 0600) beside a small JSON record binding it to the consultant and the campaign.
It is deleted when it is imported or discarded, when the same consultant uploads another file for
the campaign, and at the latest :data:`MAX_AGE` after the upload by the sweep every dashboard
request triggers (at most once a minute per process).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

MAX_AGE = 3600  # seconds an upload waits for its import
_SWEEP_EVERY = 60
_CLAIMED = ".importing"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_last_sweep = 0.0


@dataclass(frozen=True)
class PendingUpload:
    """A stored upload: its token (the random file name), original file name and bytes."""

    token: str
    filename: str
    data: bytes
    uploaded_at: float


def _location() -> Path:
    configured = current_app.config.get("IMPORT_UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def _folder() -> Path:
    folder = _location()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _paths(token: str) -> tuple[Path, Path]:
    folder = _folder()
    return folder / f"{token}.data", folder / f"{token}.json"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def save(data: bytes, filename: str, user_id: int, campaign_id: int) -> str:
    """Store an upload for this consultant and campaign; returns its token. The consultant's
    earlier upload for the campaign, if any, is deleted: one file waits per person and campaign."""
    sweep(force=True)
    for token, meta in _records():
        if meta.get("user") == user_id and meta.get("campaign") == campaign_id:
            delete(token)
    token = secrets.token_urlsafe(24)  # 32 characters, 192 random bits
    data_path, meta_path = _paths(token)
    _write_private(data_path, data)
    meta = {"user": user_id, "campaign": campaign_id, "filename": filename[:200], "at": time.time()}
    _write_private(meta_path, json.dumps(meta).encode())
    return token


def load(token: str, user_id: int, campaign_id: int) -> PendingUpload | None:
    """The upload, if the token names one of this consultant's for this campaign that has not
    expired; None otherwise (also for a malformed token, which never reaches the file system)."""
    if not _TOKEN.match(token):
        return None
    data_path, meta_path = _paths(token)
    try:
        meta = json.loads(meta_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user") != user_id or meta.get("campaign") != campaign_id:
        return None
    if time.time() - float(meta.get("at", 0)) > MAX_AGE:
        delete(token)
        return None
    return PendingUpload(token, str(meta.get("filename", "")), data, float(meta["at"]))


def claim(token: str, user_id: int, campaign_id: int) -> PendingUpload | None:
    """Like :func:`load`, and take the upload for importing: of two requests that confirm the
    same upload at once (a double click), only the first gets it (an atomic rename)."""
    upload = load(token, user_id, campaign_id)
    if upload is None:
        return None
    data_path, _ = _paths(token)
    try:
        data_path.rename(data_path.with_suffix(_CLAIMED))
    except FileNotFoundError:
        return None
    return upload


def release(token: str) -> None:
    """Give a claimed upload back (its import was refused), so it can be previewed again."""
    if not _TOKEN.match(token):
        return
    data_path, _ = _paths(token)
    try:
        data_path.with_suffix(_CLAIMED).rename(data_path)
    except FileNotFoundError:
        pass


def delete(token: str) -> None:
    """Remove an upload, claimed or not (nothing happens when it is already gone)."""
    if not _TOKEN.match(token):
        return
    data_path, meta_path = _paths(token)
    for path in (data_path, data_path.with_suffix(_CLAIMED), meta_path):
        path.unlink(missing_ok=True)


def _records() -> list[tuple[str, dict]]:
    out = []
    for meta_path in _folder().glob("*.json"):
        token = meta_path.stem
        try:
            out.append((token, json.loads(meta_path.read_text())))
        except (OSError, ValueError):
            out.append((token, {}))
    return out


def sweep(force: bool = False) -> None:
    """Delete expired uploads (and data files whose record is missing); at most once a minute
    unless ``force``."""
    global _last_sweep
    now = time.time()
    if not force and now - _last_sweep < _SWEEP_EVERY:
        return
    _last_sweep = now
    folder = _location()
    if not folder.is_dir():
        return
    for token, meta in _records():
        if now - float(meta.get("at", 0)) > MAX_AGE:
            delete(token)
    for data_path in [*folder.glob("*.data"), *folder.glob(f"*{_CLAIMED}")]:
        try:
            orphan = not data_path.with_suffix(".json").exists()
            if orphan and now - data_path.stat().st_mtime > MAX_AGE:
                data_path.unlink(missing_ok=True)
        except OSError:  # removed meanwhile by another worker
            continue
