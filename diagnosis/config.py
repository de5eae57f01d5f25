"""Default configuration.

Overridden, in order, by ``instance/config.py`` and by ``TEICHAKU_*`` environment variables
(Flask's ``from_prefixed_env``; ``TEICHAKU_DATABASE_URL`` → ``SQLALCHEMY_DATABASE_URI``,
``TEICHAKU_SECRET_KEY`` → ``SECRET_KEY``, any other ``TEICHAKU_NAME`` → ``NAME``; see
:func:`apply_environment`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Development-only key: create_app refuses to start with it outside development.
SECRET_KEY = "dev"  # noqa: S105 - placeholder, refused outside development
ENV_NAME = "development"
SQLALCHEMY_DATABASE_URI = None  # default: sqlite:///<instance>/teichaku.sqlite3
SQLALCHEMY_ENGINE_OPTIONS: dict = {}
QUESTIONNAIRE_DIR = str(REPO_ROOT / "questionnaires")
MODELS_DIR = str(REPO_ROOT / "models")
EMBEDDING_MODEL = "default"
DEFAULT_LANGUAGE = "ja"
LANGUAGES = ("ja", "en")
# Public base URL printed in survey links, e.g. https://survey.example.co.jp
PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# After a response or interview note is committed: "queue" hands its comments to the job queue
# (`teichaku worker` classifies them; web processes never load the model); "sync": classify inline
# after the commit (tests, single-process set-ups); "off": leave for `teichaku classify-pending`.
CLASSIFY_ON_SUBMIT = "queue"
# Where queued jobs wait: "auto" (a SQLite file beside a SQLite database, or the PostgreSQL
# database itself), "sqlite:///path/jobs.sqlite3", "postgresql://…", "redis://host:6379/0"
# (pip install redis) or "memory" (this process only; tests).
JOB_QUEUE_URL = "auto"
# Comments a worker leases and classifies per transaction, and how long the lease lasts: a worker
# that dies mid-batch delays that batch by at most this long, and nothing is classified twice.
CLASSIFY_BATCH_SIZE = 64
CLASSIFY_LEASE_SECONDS = 300
# How long a write waits for a database lock (SQLite busy timeout, PostgreSQL lock_timeout).
DB_BUSY_TIMEOUT_SECONDS = 5
# Storing a survey response: attempts on a transient database fault, and the time after which no
# new attempt starts; then the form comes back (503) with every answer kept.
SURVEY_SAVE_ATTEMPTS = 3
SURVEY_SAVE_DEADLINE_SECONDS = 12
MAX_CONTENT_LENGTH = 1 * 1024 * 1024
# The one larger request: a consultant's answer file (CSV or .xlsx) on the dashboard's import page.
IMPORT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024
# Where uploaded answer files wait for their import (default: <instance>/imports, mode 0700).
IMPORT_UPLOAD_DIR = None
WTF_CSRF_TIME_LIMIT = None  # a survey may stay open in a tab for hours
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
# Per-organisation adaptation (diagnosis.adaptation): after every ADAPT_EVERY new reviews, once an
# organisation has ADAPT_MIN_REVIEWED, its classifier is re-taught its wording: "queue" (the
# worker does it), "sync" (in the request, for tests and tiny installations) or "off" (only
# `teichaku adapt ORG` or the review page's button).
ADAPT_ON_REVIEW = "queue"
ADAPT_EVERY = 10
ADAPT_MIN_REVIEWED = 10
# Anonymity thresholds (enforced in diagnosis.recommend; never below 3).
MIN_GROUP = 5
MIN_COMMENTS_GROUP = 10

_ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}
# Settings that are text even when they look like JSON ("123" as a key, a URL).
TEXT_SETTINGS = frozenset({"SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "EMBEDDING_MODEL", "PUBLIC_BASE_URL",
                           "RATELIMIT_STORAGE_URL", "JOB_QUEUE_URL", "QUESTIONNAIRE_DIR", "MODELS_DIR"})
PREFIX = "TEICHAKU"


def apply_environment(config: Any, environ: Mapping[str, str] | None = None) -> None:
    """Override ``config`` from TEICHAKU_* environment variables: Flask's
    ``from_prefixed_env`` (values parsed as JSON where they parse, ``A__B`` for nested keys), then
    the aliases (``TEICHAKU_DATABASE_URL`` → ``SQLALCHEMY_DATABASE_URI``) and the text settings
    kept as written."""
    environ = os.environ if environ is None else environ
    config.from_prefixed_env(PREFIX)
    for key, raw in environ.items():
        if not key.startswith(f"{PREFIX}_"):
            continue
        name = key.removeprefix(f"{PREFIX}_")
        target = _ALIASES.get(name, name)
        if target != name:
            config.pop(name, None)
        if target in TEXT_SETTINGS or target != name:
            config[target] = raw
# Where rate-limit counters live, shared by every worker: "database" (the app database, table
# rate_limit), "memory://" (this process only) or "redis://host:6379/0" (pip install teichaku[redis]).
RATELIMIT_STORAGE_URL = "database"
# Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: the socket address).
# Behind a proxy with 0, every employee shares one address and the per-address limits below bind
# as one survey-wide limit.
PROXY_FIX_X_FOR = 0
# Survey limits, per campaign and per window of SURVEY_LIMIT_WINDOW seconds (see survey/guard.py
# and README, Privacy). A browser is a random token in the session cookie; an address is the
# client IP (IPv6: its /64), hashed. None: the headcount-based default.
SURVEY_LIMIT_WINDOW = 3600
SURVEY_SUBMISSIONS_PER_BROWSER = 3
SURVEY_FORMS_PER_BROWSER = 30
SURVEY_SUBMISSIONS_PER_ADDRESS = None  # max(30, headcount): a whole office behind one NAT address
SURVEY_FORMS_PER_ADDRESS = None  # max(100, 3 × headcount): reloads and language switches
# Login back-off per (e-mail, client address) pair: this many failures are free, then each
# next attempt from that address at that e-mail must wait LOGIN_BACKOFF_SECONDS, doubling per
# failure up to LOGIN_BACKOFF_MAX_SECONDS. Other addresses are never held up (no lockout).
LOGIN_FREE_FAILURES = 3
LOGIN_BACKOFF_SECONDS = 2
LOGIN_BACKOFF_MAX_SECONDS = 900
# Minutes between the password step and the second-factor code step of a login.
LOGIN_CODE_MINUTES = 5
# Login attempts per client address per minute (shared limiter store; the address only hashed).
LOGIN_ATTEMPTS_PER_MINUTE = 20
