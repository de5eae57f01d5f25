"""Throwaway PostgreSQL and Redis servers for the tests and the load benchmark.

Each server lives in a fresh temporary folder, listens on a free port of 127.0.0.1 only (no other
address, PostgreSQL's unix socket inside that folder), needs a random password, keeps nothing
after it stops and is removed with its folder. PostgreSQL refuses to run as root, so as root the
cluster is made and run by an unprivileged system user (``postgres`` when Debian's package made
one, else ``nobody``) through ``runuser``.

``start_postgres`` and ``start_redis`` raise ``ServerUnavailable`` with a one-line reason when a
server cannot be started (binary missing, no user to run it as, start-up failed), so the tests can
skip and say why.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_BIN_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


class ServerUnavailable(RuntimeError):
    """A throwaway server could not be started; the message says why, in one line."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str, extra_dirs: list[str]) -> str:
    found = shutil.which(name) or next((str(Path(d) / name) for d in extra_dirs if (Path(d) / name).exists()), None)
    if found is None:
        raise ServerUnavailable(f"{name} is not installed (Debian: apt-get install "
                                f"{'postgresql' if name in ('initdb', 'pg_ctl') else 'redis-server'})")
    return found


def _run_as() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root (None: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise ServerUnavailable("running as root, and no unprivileged user (postgres, nobody) to run PostgreSQL as")


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in ``root``, serving 127.0.0.1:``port`` to ``user``/``password``."""

    root: Path
    port: int
    password: str
    bin_dir: Path
    run_as: str | None
    durable: bool = False
    user: str = "teichaku"
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "postgres.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of one database (``driver="postgresql"`` for libpq tools)."""
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        """libpq environment for psql, pg_dump and pg_restore."""
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.user,
                "PGPASSWORD": self.password}

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}",
                   "-c max_connections=200", "-c shared_buffers=64MB"]
        if not self.durable:
            # A test cluster that dies with the run: no need to survive a power cut. Commits stay
            # synchronous (written to the OS before COMMIT returns): the fault tests crash the
            # server on purpose ("immediate" stop), and a committed row must survive that.
            options += ["-c fsync=off", "-c full_page_writes=off"]
        p = subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-l",
                                     str(self.log), "-w", "-t", "60", "-o", " ".join(options), "start"),
                           capture_output=True, text=True, timeout=90)
        if p.returncode != 0:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] if self.log.exists() else []
            raise ServerUnavailable(f"pg_ctl start failed: {(tail or [p.stderr.strip()])[0]}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: like a crash, no checkpoint)."""
        subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "-w",
                                 "stop"), capture_output=True, text=True, timeout=90)

    def connect(self, database: str = "postgres") -> Any:
        """An autocommit psycopg connection (for CREATE/DROP DATABASE and test set-up)."""
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                               dbname=database, autocommit=True, connect_timeout=10)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create an empty database (or a copy of ``template``); returns its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending whatever is still connected to it."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(durable: bool = False) -> PostgresServer:
    """initdb a cluster in a new temporary folder and start it on a free 127.0.0.1 port.

    ``durable=False`` (tests) turns fsync off; the benchmark keeps the defaults so that its figures
    are those of a real installation.
    """
    initdb = Path(_binary("initdb", PG_BIN_DIRS))
    bin_dir = initdb.resolve().parent
    run_as = _run_as()
    # The server's user must reach its folder: /tmp, not a TMPDIR inside root's own home.
    root = Path(tempfile.mkdtemp(prefix="teichaku-pg-", dir="/tmp" if run_as and Path("/tmp").is_dir() else None))
    try:
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        password = secrets.token_urlsafe(24)
        pwfile = root / "pw"
        pwfile.write_text(password)
        if run_as:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        p = subprocess.run(["runuser", "-u", run_as, "--"] * bool(run_as) + [
            str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "teichaku", "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            capture_output=True, text=True, timeout=120)
        pwfile.unlink()
        if p.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
        server = PostgresServer(root, 0, password, bin_dir, run_as, durable)
        for _ in range(3):  # another program may take the free port before the server does
            server.port = free_port()
            try:
                server.start()
                return server
            except ServerUnavailable as exc:
                error = exc
        raise error
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


@dataclass
class RedisServer:
    """A redis-server on 127.0.0.1:``port`` with a password, no persistence."""

    root: Path
    port: int
    password: str
    process: subprocess.Popen

    def url(self, db: int = 0) -> str:
        """redis:// URL of one logical database."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        """A redis-py client."""
        import redis

        return redis.Redis.from_url(self.url(db))

    def flush(self) -> None:
        """Forget every key in every logical database."""
        with self.client() as r:
            r.flushall()

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> RedisServer:
    """Start redis-server in a new temporary folder on a free 127.0.0.1 port, nothing saved to disk."""
    binary = _binary("redis-server", [])
    try:
        import redis
    except ImportError:
        raise ServerUnavailable("the redis Python client is not installed (pip install redis)") from None
    root = Path(tempfile.mkdtemp(prefix="teichaku-redis-"))
    password = secrets.token_urlsafe(24)
    error = "did not start"
    for _ in range(3):
        port = free_port()
        conf = root / "redis.conf"
        # In a file, not on the command line, so the password is not in the process list.
        conf.write_text(f'port {port}\nbind 127.0.0.1\nprotected-mode yes\nrequirepass "{password}"\n'
                        f'dir "{root}"\nsave ""\nappendonly no\ndaemonize no\n'
                        f'logfile "{root / "redis.log"}"\n')
        process = subprocess.Popen([binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2) as r:
                    r.ping()
                return RedisServer(root, port, password, process)
            except redis.RedisError:
                time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        process.wait()
        log = root / "redis.log"
        error = (log.read_text(errors="replace").strip().splitlines() or [error])[-1] if log.exists() else error
    shutil.rmtree(root, ignore_errors=True)
    raise ServerUnavailable(f"redis-server did not start: {error}")
