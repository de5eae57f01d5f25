"""The scale path in processes: gunicorn with 4 workers and 2 `teichaku worker` processes on
PostgreSQL, with rate limits and the job queue in Redis, under concurrent survey traffic while a
worker is killed and restarted. The same run as `python bench/load_survey.py`, smaller (the bench
submits 1,000 answers from 100 employees and prints the figures)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from load_survey import run_load  # noqa: E402


def test_answers_are_stored_once_and_comments_classified_once_across_processes(postgres_server, redis_server,
                                                                               tmp_path):
    if not (Path(sys.executable).parent / "gunicorn").exists():
        pytest.skip("gunicorn is not installed in this environment (pip install gunicorn)")
    name = "teichaku_scale"
    postgres_server.drop_database(name)
    url = postgres_server.create_database(name)
    redis_server.flush()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEICHAKU_")}
    env.update(TEICHAKU_ENV_NAME="development", TEICHAKU_SECRET_KEY="scale-test-secret-key-0123456789abcdef",
               TEICHAKU_DATABASE_URL=url, TEICHAKU_RATELIMIT_STORAGE_URL=redis_server.url(0),
               TEICHAKU_JOB_QUEUE_URL=redis_server.url(1))
    try:
        # Small batches, so the kill lands with work left on both sides of it.
        result = run_load(env, backend="postgresql + redis", responses=80, employees=16, web_workers=4,
                          job_workers=2, kill=True, timeout=300, workdir=tmp_path, batch_size=8)
    finally:
        postgres_server.drop_database(name)
    assert result.problems == []
    assert result.killed and result.stored == result.accepted == 80
    assert sorted(result.classified.values()) == [1] * result.comments
    # The concurrent requests of each check really were spread over several web processes.
    assert result.rate_limit["processes"] >= 2 and result.logout["processes"] >= 2
