"""WSGI entry point: ``gunicorn wsgi:app``. Refuses to start, in one line, on a database that is
missing or behind its migrations (instead of answering every request with a 500)."""

import sys

from diagnosis import create_app
from diagnosis.extensions import db
from diagnosis.ops import schema_problem

app = create_app()
with app.app_context():
    if (problem := schema_problem(app)) is not None:
        sys.exit(f"error: {problem}")
    # With `gunicorn --preload` the workers are forked after this import: the connection the check
    # opened must not stay in the pool, or every worker would talk over the same socket.
    db.engine.dispose()
