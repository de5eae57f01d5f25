"""The ``teichaku`` command: a Flask CLI group over create_app plus the project's own commands,
one module per area (admin: organisations, users, campaigns, corrections; imports; nlp; diagnose;
report; jobs), all registered by :func:`init_app`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from .. import create_app

    return create_app()


# Commands that work without the database, or that create and migrate it.
NO_DATABASE_COMMANDS = frozenset({"db", "shell", "routes", "classify", "evaluate", "train"})


class TeichakuGroup(FlaskGroup):
    """The Flask CLI group, refusing in one line to run a command against a database that is
    missing or behind its migrations."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        if name not in NO_DATABASE_COMMANDS and not any(a in ("--help", "-h") for a in rest):
            from flask.cli import ScriptInfo

            from ..ops import schema_problem

            app = ctx.ensure_object(ScriptInfo).load_app()
            with app.app_context():
                problem = schema_problem(app)
            if problem is not None:
                click.echo(f"error: {problem}", err=True)
                ctx.exit(1)
        return name, cmd, rest


def main() -> None:
    """Console-script entry point; start-up errors are printed plainly, not as tracebacks."""
    try:
        from .. import vocabulary  # noqa: F401 - the cause and remedy ids, read from the playbook
    except ValueError as exc:  # VocabularyError: the playbook cannot give them
        click.echo(f"error: invalid playbook: {exc}", err=True)
        sys.exit(2)
    from .. import ConfigurationError
    from ..questionnaire import QuestionnaireError

    group = TeichakuGroup(create_app=_create_app, help="Teichaku (定着) adoption diagnosis.")
    try:
        group.main(prog_name="teichaku")
    except QuestionnaireError as exc:
        click.echo(f"error: invalid questionnaire: {exc}", err=True)
        sys.exit(2)
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        from ..dbfaults import fault_reason, is_transient

        if not is_transient(exc):
            raise
        # A lock held too long, a lost connection: the unfinished transaction was rolled back.
        click.echo(f"error: the database is unavailable ({type(exc).__name__}: {fault_reason(exc)}); "
                   "the step in progress was not saved; try again in a moment", err=True)
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Register every command of the project on the app's CLI."""
    from . import admin, diagnose, imports, jobs, nlp, report

    for module in (admin, imports, nlp, diagnose, report, jobs):
        module.init_app(app)
