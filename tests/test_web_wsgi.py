"""The console under real production WSGI servers: gunicorn with several worker processes, and waitress.

A session made by one worker must work in every other (they share the
installation's secret and the database), and /healthz must answer.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.relay import free_port
from tests.test_cli import cli, start_daemon, workdir  # noqa: F401 (a fixture)

BIN = Path(sys.executable).parent


def start(workdir: Path, command: list[str], port: int) -> subprocess.Popen:
    env = dict(os.environ, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml"))
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode(errors="replace"))
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no answer on port {port}: {process.stdout.read().decode(errors='replace')}")


def signed_in_requests(port: int, password: str, count: int) -> list[int]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrf_token": token}).encode()
    opener.open(f"{base}/sign-in", data=form)
    return [opener.open(f"{base}/tickets").status for _ in range(count)]


@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_the_console_runs_under_a_production_wsgi_server(workdir, server):  # noqa: F811
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "production password"})
    port = free_port()
    command = ([str(BIN / "gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}", "web.wsgi:app"]
               if server == "gunicorn" else
               [str(BIN / "waitress-serve"), "--listen", f"127.0.0.1:{port}", "--threads", "4", "web.wsgi:app"])
    process = start(workdir, command, port)
    try:
        assert signed_in_requests(port, "production password", 12) == [200] * 12
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
        assert b'"database":"ok"' in health.replace(b" ", b"")
    finally:
        process.terminate()
        process.wait(10)


def test_patroldesk_run_serves_the_console_with_no_development_server_and_no_version(workdir):  # noqa: F811
    cli(workdir, "init")
    daemon, banner = start_daemon(workdir)
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", banner).group(1))
        responses = [urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) for path in
                     ("/sign-in", "/healthz")]
        for response in responses:
            headers = str(response.headers)
            assert response.status == 200 and "werkzeug" not in headers.lower(), headers
            assert not re.search(r"\d", response.headers.get("Server", "")), headers
            assert "python" not in headers.lower(), headers
    finally:
        daemon.send_signal(signal.SIGINT)
        asked = time.monotonic()
        code = daemon.wait(timeout=30)
    assert code == 0, daemon.stderr.read()
    assert time.monotonic() - asked < 5  # a clean stop does not wait out a timeout
