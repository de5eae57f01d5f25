"""Background work from the command line: ``worker`` runs the job queue, ``serve`` runs the web
server and a worker together (what ``make run`` uses); Ctrl-C stops both."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import click
from flask import Flask


def _warm_model(app: Flask) -> str | None:
    """Load the classifier now, so a broken model stops the worker at start, not at the first
    job; returns its version."""
    from ..classification import _classify_texts

    with app.app_context():
        return _classify_texts(["準備"])[1]


def init_app(app: Flask) -> None:
    """Register ``worker`` and ``serve``."""

    @app.cli.command("worker")
    @click.option("--threads", type=click.IntRange(1, 8), default=1, show_default=True,
                  help="Jobs run at once in this process (each classification batch already uses every core).")
    @click.option("-v", "--verbose", is_flag=True, help="Log every job the queue runs, not only problems.")
    def worker_cmd(threads: int, verbose: bool) -> None:
        """Classify submitted comments and retrain on request, until Ctrl-C (SIGINT: finish the
        job in hand) or SIGTERM.

        Events (worker_started, comments_classified, retrained) are logged as JSON lines with ids
        and counts only, never what employees wrote.
        """
        from ..jobs import JobQueueError, job_queue

        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("huey").setLevel(logging.INFO if verbose else logging.WARNING)
        try:
            queue = job_queue(app)
        except JobQueueError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            version = _warm_model(app)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"the classifier cannot be loaded ({exc}); run: make setup") from None
        click.echo(f"worker {os.getpid()}: model {version}, queue {queue.location.split('@')[-1]}", err=True)
        queue.run_worker(threads=threads)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=5000, show_default=True)
    @click.option("--no-worker", is_flag=True, help="Serve only (a worker runs elsewhere).")
    def serve_cmd(host: str, port: int, no_worker: bool) -> None:
        """Serve the app with Flask's server and run a worker beside it; Ctrl-C stops both.

        For development and small installations; in production run gunicorn and `teichaku worker`
        as two services (README, Production).
        """
        worker = None
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "diagnosis", "worker"])  # noqa: S603
        # SIGTERM (systemd, a test harness) must stop the worker too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            # Werkzeug's server itself: Flask's app.run() refuses to run inside a CLI command.
            from werkzeug.serving import run_simple

            run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            if worker is not None:
                _stop(worker)

    def _stop(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.send_signal(signal.SIGINT)  # finish the batch in hand
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        click.echo("stopped the web server and the worker", err=True)
