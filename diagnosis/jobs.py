"""The job queue: web processes enqueue, ``teichaku worker`` classifies and retrains.

Built on Huey (one small, pure-Python dependency): it stores jobs in a SQLite file by default, in
PostgreSQL or Redis for larger installations, and brings a consumer with signal handling,
retries and periodic jobs. Web processes never load the model; they only put a message on the
queue after the answers are committed.

The database, not the queue, is the record of what is left to do: a comment without a label is
pending whether or not a message about it exists. Each worker sweeps pending comments when it
starts and every minute, and comments are leased batch by batch (``classification.claim_batch``),
so work survives a worker killed mid-batch or a lost message, and no comment is classified twice
by two workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.engine import make_url

from .ops import log_event

log = logging.getLogger(__name__)
QUEUE_NAME = "teichaku"


def is_queue_table(name: str) -> bool:
    """True for the tables Huey keeps in the app's own PostgreSQL database (``huey_kv``,
    ``huey_task``, …): Huey creates them, so migrations must neither create nor drop them."""
    return name.startswith("huey_")


class JobQueueError(RuntimeError):
    """The job queue is misconfigured (bad URL, missing client library)."""


def queue_location(config: dict, instance_path: str) -> str:
    """The JOB_QUEUE_URL to use: "auto" becomes a SQLite file beside a SQLite database (the
    in-memory database gets an in-memory queue) or the PostgreSQL database itself."""
    url = str(config.get("JOB_QUEUE_URL") or "auto")
    if url != "auto":
        return url
    db_url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if db_url.get_backend_name() == "postgresql":
        return db_url.set(drivername="postgresql").render_as_string(hide_password=False)
    if db_url.get_backend_name() == "sqlite" and db_url.database not in (None, "", ":memory:"):
        path = Path(db_url.database)
        return f"sqlite:///{path.with_name(path.stem + '.jobs.sqlite3')}"
    if db_url.get_backend_name() == "sqlite":
        return "memory"
    return f"sqlite:///{Path(instance_path) / 'jobs.sqlite3'}"


def make_huey(location: str) -> Huey:
    """A Huey instance for a queue location (see ``queue_location``)."""
    common = {"results": False, "utc": True}
    if location == "memory":
        return MemoryHuey(QUEUE_NAME, **common)
    if location.startswith("sqlite:///"):
        return SqliteHuey(QUEUE_NAME, filename=location.removeprefix("sqlite:///"), timeout=10, **common)
    if location.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis  # noqa: F401
        except ImportError:
            raise JobQueueError("JOB_QUEUE_URL is a Redis URL but the redis client is not installed: "
                                "pip install 'teichaku[redis]'") from None
        return RedisHuey(QUEUE_NAME, url=location, **common)
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresHuey(QUEUE_NAME, dsn=location, **common)
    raise JobQueueError(f"JOB_QUEUE_URL {location!r} is not understood: use auto, sqlite:///PATH, "
                        "postgresql://…, redis://… or memory")


class JobQueue:
    """The app's queue and its jobs. Created once per process, on first use."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.location = queue_location(app.config, app.instance_path)
        self.huey = make_huey(self.location)
        task = self.huey.task
        self._classify = task(name="classify", retries=3, retry_delay=10)(self._run_classify)
        self._retrain = task(name="retrain")(self._run_retrain)
        self._adapt = task(name="adapt")(self._run_adapt)
        self.huey.periodic_task(crontab(minute="*"), name="sweep")(self.sweep)

    # Producers (web processes, CLI) -------------------------------------------------------------
    def classify(self, response_ids: Sequence[int] = (), interview_ids: Sequence[int] = ()) -> None:
        """Ask a worker to classify the pending comments of these responses and interview notes."""
        self._classify(list(response_ids), list(interview_ids))

    def retrain(self, backend: str | None, corrections: list[dict] | None, set_default: bool) -> None:
        """Ask a worker to retrain the classifier head (with exported corrections, if given), then
        relabel what the old one labelled."""
        self._retrain(backend, corrections, set_default)

    def adapt(self, organisation_id: int) -> None:
        """Ask a worker to adapt the organisation's classifier to its reviewed comments, then
        relabel that organisation's comments."""
        self._adapt(int(organisation_id))

    def pending_jobs(self) -> int:
        """Messages waiting on the queue (not counting the one a worker is running)."""
        return self.huey.pending_count()

    # Jobs (run by the worker) -------------------------------------------------------------------
    def _run_classify(self, response_ids: list[int], interview_ids: list[int]) -> int:
        from .classification import classify_owned

        with self.app.app_context():
            return classify_owned(response_ids, interview_ids)

    def sweep(self) -> int:
        """Classify every pending comment: what a dead worker left, a lost message, an import
        made with --no-classify."""
        from .classification import classify_pending

        with self.app.app_context():
            n = classify_pending()
        if n:
            log_event("sweep_classified", count=n)
        return n

    def _run_retrain(self, backend: str | None, corrections: list[dict] | None, set_default: bool) -> None:
        from .adaptation import readapt_all
        from .classification import reclassify_stale
        from .nlp import clear_cache
        from .nlp.training import train

        with self.app.app_context():
            entry = train(Path(self.app.config["MODELS_DIR"]), backend, corrections=corrections,
                          set_default=set_default)
            clear_cache()
            readapted = readapt_all()
            relabelled = reclassify_stale()
        log_event("retrained", file=entry["file"], n_train=entry["n_train"],
                  n_corrections=entry["n_corrections"], relabelled=relabelled, readapted=readapted)

    def _run_adapt(self, organisation_id: int) -> None:
        from .adaptation import AdaptError, adapt_organisation, new_reviews, org_model
        from .classifier_service import classifier_service

        with self.app.app_context():
            record = org_model(organisation_id)
            if (record is not None and new_reviews(organisation_id) == 0
                    and classifier_service().version_for(organisation_id) == record.version):
                return  # asked twice: the model already knows every review
            try:
                result = adapt_organisation(organisation_id)
            except AdaptError as exc:
                log.info("adaptation of organisation %s skipped: %s", organisation_id, exc)
                return
        log_event("adapt_job_done", organisation_id=organisation_id, relabelled=result.relabelled)

    # The worker ---------------------------------------------------------------------------------
    def run_worker(self, threads: int = 1) -> None:
        """Run a consumer until SIGINT (finish the job in hand) or SIGTERM (stop now): sweep what
        is pending first, then take messages and sweep every minute."""
        consumer = self.huey.create_consumer(workers=threads, worker_type="thread", periodic=True,
                                             check_worker_health=True)
        log_event("worker_started", pid=os.getpid(), queue=self.huey.storage.__class__.__name__,
                  threads=threads)
        self.sweep()
        consumer.run()


def job_queue(app: Flask | None = None) -> JobQueue:
    """This process's queue for the app (``current_app`` by default)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get("job_queue")
    if queue is None:
        queue = app.extensions["job_queue"] = JobQueue(app)
    return queue
