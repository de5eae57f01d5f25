"""Load test of the scale path: several web and worker processes, SQLite beside PostgreSQL + Redis.

    python bench/load_survey.py [--backend both|sqlite|postgresql] [--responses 1000] [--employees 100]
                                [--web-workers 4] [--job-workers 2] [--no-kill] [--no-redis]

For each backend: gunicorn with ``--web-workers`` processes on a free 127.0.0.1 port and
``--job-workers`` ``teichaku worker`` processes beside it. ``--employees`` simulated employees at
once submit ``--responses`` survey answers in all, each answer from a fresh browser (form GET, then
POST with its nonce; default limits), while job worker 0 is killed (SIGKILL) after its first
batch and started again. Checked: every accepted answer stored once and no 5xx; every comment
classified exactly once (from the workers' ``comments_classified`` events); a browser's
submission limit holds across the web processes (8 concurrent posts, 3 accepted) and a copied
session cookie stops working in every process after logout. Prints throughput and p50/p95
latency beside a trivial route (/healthz), for each backend side by side.

SQLite: a fresh file, the job queue in a SQLite file beside it, rate limits in the database.
PostgreSQL: the database in TEICHAKU_DATABASE_URL when it is a PostgreSQL URL, else a throwaway
cluster started here (fsync on, as installed); rate limits and the job queue in a throwaway Redis
(``--no-redis``: in PostgreSQL too). Traffic goes only to 127.0.0.1; every loop is bounded in
count and time. tests/test_scale.py runs the same thing, smaller, in the test suite.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))  # servers.py: the throwaway PostgreSQL and Redis

ANSWERS = {
    "usage": "tried_once", "pu_useful": "3", "pu_usecase": "2", "pu_goal": "dk", "pu_nofit": "3",
    "le_exec": "2", "le_manager": "2", "le_policy": "1", "le_fringe": "4", "su_skill": "2",
    "su_training": "1", "su_ask": "2", "su_hard": "4", "department": "sales", "age_band": "30s",
}
REASONS = ["使い方の研修がなく、聞ける人もいないので使わなくなりました。",
           "上司が誰も使っていないので、使っていいのか迷う。",
           "何に使えば業務が楽になるのか、具体的な場面が思いつかない。",
           "Nobody on my team uses it, so I stopped too."]
NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
PASSWORD = "load-test-consultant-2026"
LEASE_SECONDS = 10  # a killed worker's batch comes back after this long (production: 300)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand back the 302 itself: it is the success signal of a survey post and a login."""

    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def browser() -> urllib.request.OpenerDirector:
    """A fresh browser: its own cookies, redirects not followed."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())


def status_of(opener: urllib.request.OpenerDirector, url: str, data: dict | None = None,
              headers: dict | None = None) -> tuple[int, str]:
    """Status and body of one request (599 when the connection failed)."""
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data is not None else None,
                                 headers=headers or {})
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError:
        return 599, ""


def submit_once(base: str, path: str, i: int) -> tuple[int, float]:
    """One employee in a fresh browser: open the form, send it. Status of the post and the time of both."""
    t0 = time.perf_counter()
    b = browser()
    status, html = status_of(b, base + path)
    nonce, csrf = NONCE.search(html), CSRF.search(html)
    if status != 200 or nonce is None or csrf is None:
        return (status if status != 200 else 598), time.perf_counter() - t0
    status, _ = status_of(b, base + path, dict(ANSWERS, nonce=nonce.group(1), csrf_token=csrf.group(1),
                                                reasons=f"{REASONS[i % 4]}（{i}）"))
    return status, time.perf_counter() - t0


def trivial(base: str, n: int) -> list[float]:
    """n sequential GET /healthz, timed."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=30) as r:  # noqa: S310 - loopback
            r.read()
        times.append(time.perf_counter() - t0)
    return times


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def run_cli(env: dict, *args: str, extra: dict | None = None) -> str:
    out = subprocess.run([str(BIN / "teichaku"), *args], env={**env, **(extra or {})}, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=300)
    return out.stdout


def survey_path(env: dict, org: str, headcount: int, slug: str) -> str:
    """Create an organisation and a campaign; the survey's path."""
    run_cli(env, "create-org", org, "--employees", str(headcount))
    link = run_cli(env, "create-campaign", org, slug).strip().splitlines()[-1]
    return urllib.parse.urlparse(link.split(": ", 1)[1]).path


def campaign_state(env: dict, slug: str) -> dict:
    """Responses stored, comment ids, comments still pending or leased (read by a fresh process)."""
    script = (
        "import json\nfrom diagnosis import create_app\nfrom diagnosis.extensions import db\n"
        "from diagnosis.store.models import Response, Campaign, Comment\nfrom sqlalchemy import select, func\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    c = db.session.scalar(select(Campaign).where(Campaign.slug == {slug!r}))\n"
        "    def n(m, *w):\n"
        "        return db.session.scalar(select(func.count()).select_from(m).where(m.campaign_id == c.id, *w))\n"
        "    print(json.dumps({'responses': n(Response), 'pending': n(Comment, Comment.label.is_(None)),\n"
        "        'leased': n(Comment, Comment.claim_token.is_not(None)),\n"
        "        'comments': list(db.session.scalars(select(Comment.id).where(Comment.campaign_id == c.id)))}))"
    )
    out = subprocess.run([str(BIN / "python"), "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def classified_events(logs: list[Path]) -> collections.Counter:
    """How often each comment id was reported classified by any worker."""
    counts: collections.Counter = collections.Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"comments_classified"' in line:
                counts.update(json.loads(line)["comment_ids"])
    return counts


def served_by(access_log: Path, tag: str) -> set[str]:
    """The gunicorn worker pids that served the requests carrying this probe tag."""
    pids = set()
    for line in access_log.read_text(errors="replace").splitlines():
        if f"probe={tag}" in line:
            pids.add(line.split()[0])
    return pids


def check_rate_limit(base: str, path: str, access_log: Path, n: int = 8) -> dict:
    """One browser, n forms, n concurrent posts: exactly the browser limit (3) may be accepted,
    whichever processes serve them."""
    b = browser()
    forms = []
    for _ in range(n):
        status, html = status_of(b, base + path)
        forms.append(dict(ANSWERS, nonce=NONCE.search(html).group(1), csrf_token=CSRF.search(html).group(1)))
    cookie = _cookie_header(b)

    def post(i: int) -> int:
        return status_of(browser(), f"{base}{path}?probe=limit-{i}", forms[i], {"Cookie": cookie})[0]

    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(post, range(n)))
    time.sleep(0.5)  # the access log is written after the response
    pids = set().union(*(served_by(access_log, f"limit-{i}") for i in range(n)))
    ok = sorted(statuses) == sorted([302] * 3 + [429] * (n - 3))
    return {"ok": ok, "statuses": collections.Counter(statuses), "processes": len(pids)}


def _cookie_header(opener: urllib.request.OpenerDirector) -> str:
    jar = next(h.cookiejar for h in opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def check_logout(base: str, email: str, access_log: Path, n: int = 8) -> dict:
    """Log in, copy the session cookie, log out: the copy must be refused by every process."""
    b = browser()
    _, html = status_of(b, base + "/login")
    status, _ = status_of(b, base + "/login", {"email": email, "password": PASSWORD,
                                               "csrf_token": CSRF.search(html).group(1)})
    copied = _cookie_header(b)

    def dashboard(tag: str) -> int:
        return status_of(browser(), f"{base}/dashboard?probe={tag}", headers={"Cookie": copied})[0]

    with ThreadPoolExecutor(n) as pool:
        before = list(pool.map(dashboard, [f"in-{i}" for i in range(n)]))
    _, html = status_of(b, base + "/dashboard")
    logout, _ = status_of(b, base + "/logout", {"csrf_token": CSRF.search(html).group(1)})
    with ThreadPoolExecutor(n) as pool:
        after = list(pool.map(dashboard, [f"out-{i}" for i in range(n)]))
    time.sleep(0.5)
    pids = set().union(*(served_by(access_log, f"out-{i}") for i in range(n)))
    ok = status == 302 and before == [200] * n and logout == 302 and after == [302] * n
    return {"ok": ok, "before": collections.Counter(before), "after": collections.Counter(after),
            "processes": len(pids)}


@dataclass
class LoadResult:
    """What one run measured and checked."""

    backend: str
    responses: int
    employees: int
    statuses: collections.Counter = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    base_latencies: list[float] = field(default_factory=list)
    stored: int = 0
    comments: int = 0
    pending: int = -1
    classified: collections.Counter = field(default_factory=collections.Counter)
    killed: bool = False
    drained_after: float = 0.0
    rate_limit: dict = field(default_factory=dict)
    logout: dict = field(default_factory=dict)
    web_rss: list[float] = field(default_factory=list)
    worker_rss: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.statuses.get(302, 0)

    @property
    def ok(self) -> bool:
        return not self.problems

    def check(self, comment_ids: list[int], kill: bool) -> None:
        """Record every way this run fell short."""
        if self.accepted != self.responses:
            self.problems.append(f"{self.accepted} of {self.responses} answers accepted: {dict(self.statuses)}")
        if self.stored != self.accepted:
            self.problems.append(f"{self.accepted} accepted but {self.stored} stored")
        if any(s >= 500 for s in self.statuses):
            self.problems.append(f"server errors: {dict(self.statuses)}")
        if self.pending:
            self.problems.append(f"{self.pending} comments never classified")
        if set(self.classified) != set(comment_ids):
            self.problems.append(f"classified {len(self.classified)} distinct comments of {len(comment_ids)}")
        twice = [i for i, k in self.classified.items() if k > 1]
        if twice:
            self.problems.append(f"{len(twice)} comments classified more than once")
        if kill and not self.killed:
            self.problems.append("the worker was not killed mid-run")
        if not self.rate_limit.get("ok"):
            self.problems.append(f"browser limit across processes: {self.rate_limit}")
        if not self.logout.get("ok"):
            self.problems.append(f"logout across processes: {self.logout}")


@contextlib.contextmanager
def processes(env: dict, workdir: Path, web_workers: int, job_workers: int) -> Iterator[dict]:
    """gunicorn and the job workers, stopped (workers with Ctrl-C) whatever happens."""
    from servers import free_port

    port = free_port()
    access_log = workdir / "access.log"
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(web_workers), "--bind", f"127.0.0.1:{port}", "--preload",
         "--log-level", "warning", "--access-logfile", str(access_log),
         "--access-logformat", "%(p)s %(m)s %(U)s?%(q)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "gunicorn.log", "w"))  # noqa: SIM115
    state = {"base": f"http://127.0.0.1:{port}", "web": web, "workers": [], "logs": [], "access_log": access_log}

    def start_worker(name: str) -> subprocess.Popen:
        log = workdir / f"worker-{name}.log"
        state["logs"].append(log)
        return subprocess.Popen([str(BIN / "teichaku"), "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=open(log, "w"))  # noqa: SIM115

    state["start_worker"] = start_worker
    state["workers"] = [start_worker(str(i)) for i in range(job_workers)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                trivial(state["base"], 1)
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
        yield state
    finally:
        web.terminate()
        for w in state["workers"]:
            if w.poll() is None:
                w.send_signal(signal.SIGINT)  # finish the batch in hand
        for p in [web, *state["workers"]]:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_load(env: dict, *, backend: str, responses: int, employees: int, web_workers: int = 4,
             job_workers: int = 2, kill: bool = True, timeout: float = 900, workdir: Path | None = None,
             batch_size: int | None = None) -> LoadResult:
    """One full run on the database, queue and limiter store that ``env`` names (see module doc)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="teichaku-load-"))
    env = {**env, "TEICHAKU_CLASSIFY_ON_SUBMIT": "queue", "TEICHAKU_CLASSIFY_LEASE_SECONDS": str(LEASE_SECONDS),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    if batch_size:
        env["TEICHAKU_CLASSIFY_BATCH_SIZE"] = str(batch_size)
    run_cli(env, "db", "upgrade")
    tag = f"{os.getpid()}-{int(time.time())}"
    # Headcount above the answers: the address limit (max(30, headcount)) must not bind, since every
    # simulated employee comes from 127.0.0.1.
    path = survey_path(env, f"負荷試験株式会社-{tag}", responses + 100, f"load-{tag}")
    limit_path = survey_path(env, f"制限確認株式会社-{tag}", 10, f"limit-{tag}")
    email = f"consultant-{tag}@load.example"
    run_cli(env, "create-user", email, "--role", "consultant", "--org", f"負荷試験株式会社-{tag}",
            extra={"TEICHAKU_NEW_PASSWORD": PASSWORD})
    result = LoadResult(backend, responses, employees)
    deadline = time.monotonic() + timeout
    with processes(env, workdir, web_workers, job_workers) as state:
        base = state["base"]
        trivial(base, 20)  # warm-up
        with ThreadPoolExecutor(employees) as pool:
            result.base_latencies = [x for f in [pool.submit(trivial, base, 10) for _ in range(employees)]
                                     for x in f.result()]
        done = threading.Event()

        def killer() -> None:
            """Kill the first worker that finishes a batch (SIGKILL: no clean-up), start it again
            once the lease on whatever it held has run out."""
            logs = list(state["logs"])
            while not done.is_set() and time.monotonic() < deadline:
                for i, log in enumerate(logs):
                    if '"comments_classified"' in log.read_text(errors="replace"):
                        state["workers"][i].send_signal(signal.SIGKILL)
                        state["workers"][i].wait()
                        result.killed = True
                        time.sleep(LEASE_SECONDS + 1)
                        state["workers"][i] = state["start_worker"](f"{i}-restarted")
                        return
                time.sleep(0.05)

        kill_thread = threading.Thread(target=killer, daemon=True) if kill and job_workers else None
        if kill_thread:
            kill_thread.start()
        t0 = time.perf_counter()
        result.load.append(os.getloadavg()[0])
        with ThreadPoolExecutor(employees) as pool:
            outcomes = list(pool.map(lambda i: submit_once(base, path, i), range(responses)))
        result.elapsed = time.perf_counter() - t0
        result.load.append(os.getloadavg()[0])
        result.statuses = collections.Counter(s for s, _ in outcomes)
        result.latencies = [t for _, t in outcomes]
        result.web_rss = [rss_mb(pid) for pid in children(state["web"].pid)]
        result.rate_limit = check_rate_limit(base, limit_path, state["access_log"])
        result.logout = check_logout(base, email, state["access_log"])
        # Drain: every comment classified, no lease left (bounded).
        view = campaign_state(env, f"load-{tag}")
        while time.monotonic() < deadline and (view["pending"] or view["leased"] or
                                               (kill_thread and kill_thread.is_alive())):
            time.sleep(1)
            view = campaign_state(env, f"load-{tag}")
        result.drained_after = time.perf_counter() - t0
        done.set()
        result.worker_rss = [rss_mb(w.pid) for w in state["workers"]]
    result.stored, result.pending, result.comments = view["responses"], view["pending"], len(view["comments"])
    result.classified = classified_events(state["logs"])
    result.check(view["comments"], kill and job_workers > 0)
    return result


def report(results: list[LoadResult], web_workers: int, job_workers: int) -> str:
    """The runs side by side."""
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        rows.append((label, [fn(r) for r in results]))

    row("answers accepted / stored", lambda r: f"{r.accepted} / {r.stored}")
    row("5xx / other refusals", lambda r: f"{sum(v for s, v in r.statuses.items() if s >= 500)} / "
        f"{sum(v for s, v in r.statuses.items() if 302 != s < 500)}")
    row("survey GET+POST per s", lambda r: f"{len(r.latencies) / r.elapsed:.1f}")
    row("survey p50 / p95 ms", lambda r: f"{percentile(r.latencies, 50) * 1000:.0f} / "
        f"{percentile(r.latencies, 95) * 1000:.0f}")
    row("/healthz p50 / p95 ms", lambda r: f"{percentile(r.base_latencies, 50) * 1000:.0f} / "
        f"{percentile(r.base_latencies, 95) * 1000:.0f}")
    row("comments classified once", lambda r: f"{sum(1 for k in r.classified.values() if k == 1)} of {r.comments}")
    row("all classified after (s)", lambda r: f"{r.drained_after:.0f}")
    row("worker killed + restarted", lambda r: "yes" if r.killed else "no")
    row("browser limit, 8 posts", lambda r: f"{r.rate_limit.get('statuses', {}).get(302, 0)} accepted, "
        f"{r.rate_limit.get('processes', 0)} processes")
    row("copied cookie after logout", lambda r: f"{r.logout.get('after', {}).get(302, 0)}/8 refused, "
        f"{r.logout.get('processes', 0)} processes")
    # The figures depend on what else the machine runs: the 1-minute load average before and after
    # the answers were sent says how busy it was.
    row("machine load before / after", lambda r: " / ".join(f"{x:.1f}" for x in r.load))
    row("web / job worker RSS MB", lambda r: f"{max(r.web_rss, default=0):.0f} / {max(r.worker_rss, default=0):.0f}")
    row("result", lambda r: "PASS" if r.ok else "FAIL")
    width = max(28, *(len(r.backend) + 2 for r in results))
    r0 = results[0]
    lines = [f"{r0.responses} answers from {r0.employees} concurrent employees; gunicorn {web_workers} workers, "
             f"{job_workers} job workers", f"{'':28}" + "".join(f"{r.backend:>{width}}" for r in results)]
    lines += [f"{label:28}" + "".join(f"{v:>{width}}" for v in values) for label, values in rows]
    for r in results:
        lines += [f"{r.backend}: {p}" for p in r.problems]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--responses", type=int, default=1000)
    ap.add_argument("--employees", type=int, default=100)
    ap.add_argument("--web-workers", type=int, default=4)
    ap.add_argument("--job-workers", type=int, default=2)
    ap.add_argument("--no-kill", action="store_true", help="leave the job workers alone")
    ap.add_argument("--no-redis", action="store_true", help="PostgreSQL also holds the rate limits and the queue")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    import servers

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TEICHAKU_")}
    # Development: plain http on loopback (production cookies are Secure, so a client on http drops them).
    base_env.update(TEICHAKU_ENV_NAME="development", TEICHAKU_SECRET_KEY=os.urandom(32).hex())
    given_pg = os.environ.get("TEICHAKU_DATABASE_URL", "")
    results: list[LoadResult] = []
    workdirs: list[Path] = []
    with contextlib.ExitStack() as stack:
        for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
            env = dict(base_env)
            name = backend
            workdir = Path(tempfile.mkdtemp(prefix=f"teichaku-load-{backend}-"))
            workdirs.append(workdir)
            if backend == "sqlite":
                env["TEICHAKU_DATABASE_URL"] = f"sqlite:///{workdir}/load.sqlite3"
            else:
                if given_pg.startswith("postgres"):
                    env["TEICHAKU_DATABASE_URL"] = given_pg
                else:
                    pg = servers.start_postgres(durable=True)
                    stack.callback(pg.close)
                    env["TEICHAKU_DATABASE_URL"] = pg.create_database("teichaku_load")
                if not args.no_redis:
                    redis = servers.start_redis()
                    stack.callback(redis.close)
                    env.update(TEICHAKU_RATELIMIT_STORAGE_URL=redis.url(0), TEICHAKU_JOB_QUEUE_URL=redis.url(1))
                    name = "postgresql + redis"
            print(f"running {name} …", file=sys.stderr, flush=True)
            results.append(run_load(env, backend=name, responses=args.responses, employees=args.employees,
                                    web_workers=args.web_workers, job_workers=args.job_workers,
                                    kill=not args.no_kill, timeout=args.timeout, workdir=workdir))
    print(report(results, args.web_workers, args.job_workers))
    if all(r.ok for r in results):
        for workdir in workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print("logs (gunicorn, access, each worker) kept in:", *map(str, workdirs))
    return 1


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    sys.exit(main())
