"""The Flask application: ``create_app`` configures it, binds the extensions and registers the
blueprints and commands. Importing the ``diagnosis`` package does not import this module (nor
Flask or SQLAlchemy); ``from diagnosis import create_app`` does."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as default_config
from .config import REPO_ROOT


class ConfigurationError(RuntimeError):
    """The application cannot start with this configuration."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: configure, bind extensions, register blueprints and commands."""
    app = Flask(
        "diagnosis",  # the package: instance/ and static/ are found from it
        instance_relative_config=True,
        template_folder=str(REPO_ROOT / "templates"),
    )
    app.config.from_object(default_config)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    default_config.apply_environment(app.config)
    if test_config is not None:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _check_secret_key(app)
    from .display import finalize

    # One hook for every {{ … }} of the web pages and the PDF (they share this environment).
    app.jinja_options = {**app.jinja_options, "finalize": finalize}
    from . import vocabulary

    # Templates loop over the playbook's causes (CAUSES) or causes plus 'other' (LABELS).
    app.jinja_env.globals.update(CAUSES=vocabulary.CAUSES, LABELS=vocabulary.LABELS)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "sqlite:///" + os.path.join(app.instance_path, "teichaku.sqlite3")
        )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config)
    app.config["MIN_GROUP"] = max(3, int(app.config["MIN_GROUP"]))
    if int(app.config.get("PROXY_FIX_X_FOR") or 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only as many X-Forwarded-For hops as there are trusted proxies: more would let a
        # client pick its own address and escape the per-address limits.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))

    from . import i18n
    from .classifier_service import ClassifierService
    from .extensions import csrf, db, login_manager, migrate
    from .questionnaire import load_directory
    from .ratelimit import limiter

    # Load and validate every questionnaire now: a broken file must stop start-up, not a survey.
    app.extensions["questionnaires"] = load_directory(app.config["QUESTIONNAIRE_DIR"])
    # The same for the playbook: every diagnosis, page and PDF reads it.
    from .recommend.playbook import PlaybookError, load_playbook
    from .vocabulary import PLAYBOOK_PATH, playbook_path

    path = playbook_path(app.config["QUESTIONNAIRE_DIR"])
    if path.resolve() != PLAYBOOK_PATH.resolve():
        # The ids (diagnosis.vocabulary) are read from the environment's playbook at import.
        raise ConfigurationError(f"QUESTIONNAIRE_DIR's playbook {path} is not {PLAYBOOK_PATH}, the one the "
                                 "cause and remedy ids come from: set TEICHAKU_QUESTIONNAIRE_DIR in the "
                                 "environment instead of the instance config")
    try:
        app.extensions["playbook"] = load_playbook(path)
    except (PlaybookError, OSError) as exc:
        raise ConfigurationError(f"invalid playbook: {exc}") from None
    _check_vocabulary(app)

    db.init_app(app)
    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    ClassifierService(app)

    from . import auth, cli, ops, security
    from .dashboard import bp as dashboard_bp
    from .survey import bp as survey_bp

    auth.init_app(app)
    security.init_app(app)
    ops.init_app(app)
    # The survey validates its CSRF token inside the form (FlaskForm) instead of the global
    # hook, so an expired token re-renders the form with the employee's answers kept.
    csrf.exempt(survey_bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(dashboard_bp)
    app.add_url_rule("/causes.css", "cause_css", _cause_css)
    cli.init_app(app)
    return app


def _cause_css():
    """The cause colours of the playbook as a stylesheet (every page links it after app.css)."""
    from flask import current_app, request

    from .colours import cause_stylesheet

    pb = current_app.extensions["playbook"]
    css = cause_stylesheet(pb.colours())
    response = current_app.response_class(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.add_etag()
    return response.make_conditional(request)


def _engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Engine options that make database faults short and recoverable, unless configured:
    SQLite waits at most DB_BUSY_TIMEOUT_SECONDS for a lock; PostgreSQL tests pooled connections
    before use (a restarted server costs no request) and gives up on a lock after the same time
    instead of waiting forever."""
    from sqlalchemy.engine import make_url

    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    timeout = float(config.get("DB_BUSY_TIMEOUT_SECONDS", 5))
    backend = make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    connect_args = dict(options.get("connect_args") or {})
    if backend == "sqlite":
        connect_args.setdefault("timeout", timeout)
    elif backend == "postgresql":
        options.setdefault("pool_pre_ping", True)
        connect_args.setdefault("options", f"-c lock_timeout={int(timeout * 1000)}")
    options["connect_args"] = connect_args
    return options


def _check_vocabulary(app: Flask) -> None:
    """The playbook and the trained classifier must name the same causes: a model whose labels are
    not the playbook's causes stops start-up with both lists. (The playbook validator already
    refused a remedy without its texts.)"""
    from .nlp import active_backend
    from .nlp.metadata import read_metadata

    pb = app.extensions["playbook"]
    models_dir = app.config.get("MODELS_DIR")
    try:  # metadata.json only: start-up never imports the model stack
        meta = read_metadata(models_dir) if models_dir else {}
        backend = active_backend(models_dir, app.config.get("EMBEDDING_MODEL"))
    except (OSError, ValueError):
        return  # unreadable: the first classification says why
    order = ((meta.get("heads") or {}).get(backend) or {}).get("label_order")
    causes = list(pb.data["causes"])
    if order and sorted(order) != sorted(causes):
        raise ConfigurationError(f"the classifier ({backend}) labels {order} but the playbook's causes are "
                                 f"{causes}: retrain it (teichaku train) or fix questionnaires/playbook.yaml")


def _check_secret_key(app: Flask) -> None:
    """Refuse a weak key outside development; give development a stable random key."""
    key = app.config.get("SECRET_KEY")
    if app.config.get("ENV_NAME") != "development" and not app.config.get("TESTING"):
        from .passwords import GENERATE_SECRET, MIN_SECRET_KEY, secret_key_problem

        problem = secret_key_problem(key)
        if problem is not None:
            # Anyone who can guess the key can forge a session cookie and log in as anyone.
            raise ConfigurationError(
                f"SECRET_KEY {problem}. Outside development it must be at least {MIN_SECRET_KEY} "
                "random characters: set TEICHAKU_SECRET_KEY or SECRET_KEY in instance/config.py "
                f"to the output of: {GENERATE_SECRET}\n"
                f"SECRET_KEY が弱すぎます。開発環境以外では{MIN_SECRET_KEY}文字以上のランダムな値が必要です。"
                f"{GENERATE_SECRET} の出力を TEICHAKU_SECRET_KEY または instance/config.py の "
                "SECRET_KEY に設定してください。"
            )
        return
    if key == "dev" and not app.config.get("TESTING"):
        # Persist a random key in the instance folder so sessions survive restarts and
        # several workers agree, without ever committing a secret.
        path = Path(app.instance_path) / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        app.config["SECRET_KEY"] = path.read_text().strip()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys on and WAL journal for SQLite connections (the busy timeout is the
    connection's ``timeout``, see _engine_options); other databases untouched."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
