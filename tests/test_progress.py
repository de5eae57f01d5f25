"""Progress of long work: counts and an ETA on a terminal's stderr, nothing in pipes and logs."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from diagnosis.progress import progress

ROOT = Path(__file__).resolve().parent.parent


def test_no_progress_when_stderr_is_not_a_terminal(capsys):
    with progress(10, "classifying", "comment") as bar:
        bar.update(10)
    assert capsys.readouterr().err == ""


def _run_on_a_terminal(args: list[str], stdin: str, env: dict) -> tuple[str, str]:
    """Run with stderr on a pseudo-terminal (as in an interactive shell), stdout on a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "diagnosis", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT, text=True)
    os.close(slave)
    out, _ = proc.communicate(stdin, timeout=300)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.returncode == 0
    return out, b"".join(chunks).decode("utf-8", "replace")


def test_classify_shows_counts_and_eta_on_a_terminal_only(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TEICHAKU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    lines = "使い方がわからない\n上司が使っていない\n何に使うのか不明\n"
    out, err = _run_on_a_terminal(["classify"], lines, env)
    assert len(out.splitlines()) == 3  # the results stay clean on stdout
    assert "classifying" in err and "3/3" in err and "<" in err  # count and [elapsed<remaining]
    piped = subprocess.run([sys.executable, "-m", "diagnosis", "classify"], input=lines, env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 3
    assert "classifying" not in piped.stderr


def test_classify_pending_shows_progress_on_a_terminal(app, world, tmp_path):
    from test_jobs import add_pending

    add_pending(app, world["campaign_a"], 5)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TEICHAKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    out, err = _run_on_a_terminal(["classify-pending"], "", env)
    assert "classified 10 comment(s)" in out
    assert "classifying" in err and "10/10" in err
