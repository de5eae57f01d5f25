"""Load test: burst of survey submissions against gunicorn on 127.0.0.1.

    python bench/load_survey.py [--employees 50] [--submissions 300] [--workers 4]

Starts gunicorn (several workers) on a free loopback port with a fresh SQLite database (or the
PostgreSQL database in TEICHAKU_DATABASE_URL when set), then simulated employees each fetch the
form (CSRF token + nonce) and post it. Verifies the database holds exactly one response per
successful submission (none lost, none doubled) and that no request got a 5xx, and prints
throughput and p50/p95 latency against a trivial route (/healthz) measured in the same run.
Traffic goes only to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ANSWERS = {
    "usage": "tried_once",
    "pu_useful": "3",
    "pu_usecase": "2",
    "pu_goal": "dk",
    "pu_nofit": "3",
    "le_exec": "2",
    "le_manager": "2",
    "le_policy": "1",
    "le_fringe": "4",
    "su_skill": "2",
    "su_training": "1",
    "su_ask": "2",
    "su_hard": "4",
    "department": "sales",
    "age_band": "30s",
    "reasons": "使い方の研修がなく、聞ける人もいないので使わなくなりました。",
}
NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(env: dict, *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "teichaku"), *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=300
    )
    return out.stdout


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def employee(base: str, path: str, n: int, deadline: float) -> list[tuple[int, float]]:
    """One simulated employee submitting ``n`` times (fresh form each time), with own cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    results = []
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        try:
            html = opener.open(base + path, timeout=30).read().decode()
            data = dict(ANSWERS, nonce=NONCE.search(html).group(1), csrf_token=CSRF.search(html).group(1))
            req = urllib.request.Request(base + path, data=urllib.parse.urlencode(data).encode())
            try:
                status = opener.open(req, timeout=30).status
            except urllib.error.HTTPError as e:
                status = e.code
        except (urllib.error.URLError, OSError, AttributeError):
            status = 599
        results.append((status, time.perf_counter() - t0))
    return results


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the 302 to /thanks is the success signal
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def trivial(base: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        urllib.request.urlopen(base + "/healthz", timeout=30).read()
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--employees", type=int, default=50)
    ap.add_argument("--submissions", type=int, default=300)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="teichaku-load-")
    env = dict(
        os.environ,
        TEICHAKU_CLASSIFY_ON_SUBMIT="off",
        TEICHAKU_SECRET_KEY="load-test-secret-key-0123456789",
        TEICHAKU_ENV_NAME="development",
        # Each simulated employee submits several times from one browser and all share 127.0.0.1:
        # lift the per-browser survey limits (the per-address ones follow the 1,000 headcount).
        TEICHAKU_SURVEY_SUBMISSIONS_PER_BROWSER="100000",
        TEICHAKU_SURVEY_FORMS_PER_BROWSER="100000",
    )  # plain http on loopback
    backend = "postgresql" if env.get("TEICHAKU_DATABASE_URL", "").startswith("postgres") else "sqlite"
    if backend == "sqlite":
        env["TEICHAKU_DATABASE_URL"] = f"sqlite:///{tmp}/load.sqlite3"
    run_cli(env, "db", "upgrade")
    org = f"負荷試験株式会社-{os.getpid()}"
    run_cli(env, "create-org", org, "--employees", "1000")
    slug = f"load-{os.getpid()}"
    link = run_cli(env, "create-campaign", org, slug).strip().splitlines()[-1]
    path = urllib.parse.urlparse(link.split(": ", 1)[1]).path

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--preload",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{tmp}/gunicorn.log", "w"),
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            print("gunicorn did not start; see", f"{tmp}/gunicorn.log")
            return 1
        trivial(base, 20)  # warm-up
        per = [
            args.submissions // args.employees + (i < args.submissions % args.employees) for i in range(args.employees)
        ]
        deadline = time.monotonic() + args.timeout
        with ThreadPoolExecutor(args.employees) as pool:
            t0 = time.perf_counter()
            base_lat = [x for f in [pool.submit(trivial, base, 10) for _ in range(args.employees)] for x in f.result()]
            base_elapsed = time.perf_counter() - t0
            t0 = time.perf_counter()
            futures = [pool.submit(employee, base, path, n, deadline) for n in per]
            results = [r for f in futures for r in f.result()]
            elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)

    ok = sum(1 for s, _ in results if s == 302)
    errors5xx = sum(1 for s, _ in results if s >= 500)
    other = len(results) - ok - errors5xx
    count = subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "from diagnosis import create_app\nfrom diagnosis.extensions import db\n"
            "from diagnosis.models import Response, Campaign\nfrom sqlalchemy import select, func\n"
            "app = create_app()\nwith app.app_context():\n"
            f"    c = db.session.scalar(select(Campaign).where(Campaign.slug == '{slug}'))\n"
            "    print(db.session.scalar(select(func.count()).select_from(Response)"
            ".where(Response.campaign_id == c.id)))",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stored = int(count)
    lat = [t for _, t in results]
    print(f"backend: {backend}, gunicorn workers: {args.workers}, employees: {args.employees}")
    print(f"{'':24}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    print(
        f"{'trivial GET /healthz':24}{len(base_lat):>10}{len(base_lat) / base_elapsed:>10.1f}"
        f"{percentile(base_lat, 50) * 1000:>10.1f}{percentile(base_lat, 95) * 1000:>10.1f}"
    )
    print(
        f"{'survey GET + POST':24}{len(lat):>10}{len(lat) / elapsed:>10.1f}"
        f"{percentile(lat, 50) * 1000:>10.1f}{percentile(lat, 95) * 1000:>10.1f}"
    )
    print(f"ratio survey/trivial p50: {percentile(lat, 50) / percentile(base_lat, 50):.1f}x")
    print(f"submissions: {len(results)}, accepted (302): {ok}, 5xx: {errors5xx}, other: {other}")
    print(f"responses stored: {stored} → lost: {max(0, ok - stored)}, doubled: {max(0, stored - ok)}")
    good = stored == ok and errors5xx == 0 and ok == args.submissions
    print("RESULT:", "PASS" if good else "FAIL")
    return 0 if good else 1


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    sys.exit(main())
