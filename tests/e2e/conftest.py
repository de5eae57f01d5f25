"""Browser tests: the real app on a free 127.0.0.1 port with a real SQLite file, driven by
Debian's chromium through Playwright (never ``playwright install``: it downloads a browser)."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from dashboard_helpers import fill
from flask import Flask
from werkzeug.serving import make_server

from diagnosis import create_app
from diagnosis.extensions import db
from diagnosis.workspace import create_campaign, create_organisation, create_user

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "e2e-password-2026"

if shutil.which(CHROMIUM) is None:  # pragma: no cover - set-up installs it (system-deps.sh)
    # A failure, not a skip: `make test` installs Chromium, so its absence is a broken set-up,
    # and a skipped browser test would hide it.
    pytest.fail(f"{CHROMIUM} is not installed: run `make system-deps`", pytrace=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's chromium headless, without sandbox or background network traffic."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"],
    }


@dataclass
class LiveApp:
    """A served app and the people and campaign of its workspace."""

    url: str
    app: object
    campaign_id: int
    token: str
    consultant: str
    dx_lead: str
    password: str = PASSWORD


def make_app(db_file: Path, **config: object) -> Flask:
    """The app on a fresh SQLite file (migrated), CSRF on and the real classifier inline."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "WTF_CSRF_ENABLED": True,
        "CLASSIFY_ON_SUBMIT": "sync",
        **config,
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve the app from a thread on a free 127.0.0.1 port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_app_config() -> dict:
    """Extra settings for ``live_app``; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def live_app(tmp_path, live_app_config) -> Iterator[LiveApp]:
    """The app served from a thread on a free port, CSRF on and the real classifier inline."""
    app = make_app(tmp_path / "e2e.sqlite3", **live_app_config)
    with app.app_context():
        org = create_organisation("株式会社さくら工業", 40, dt.date(2026, 8, 1), "Sakura Industries")
        campaign = create_campaign(org, "sakura-2026", "2026年 定着度調査",
                                   opens_on=dt.date(2026, 1, 1))
        create_user("consultant@e2e.example", "佐藤 コンサルタント", "consultant", PASSWORD, [org])
        create_user("dx@e2e.example", "鈴木 DX推進", "dx_lead", PASSWORD, [org])
        db.session.commit()
        ids = (campaign.id, campaign.public_token)
        fill(campaign.id, 6, department="sales", comment="研修が一度きりで、プロンプトの書き方がわからない。")
        fill(campaign.id, 5, department="engineering", usage="tried_once",
             comment="自分の業務のどこで使えばいいのか分からない。", label="purpose", confidence=0.7)
    with served(app) as url:
        yield LiveApp(url, app, ids[0], ids[1], "consultant@e2e.example", "dx@e2e.example")


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (gitignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
