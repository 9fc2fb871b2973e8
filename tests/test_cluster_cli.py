"""`patroldesk cluster` and the admin console's Cluster page, with real daemon processes on one
database: one alive, one killed with SIGKILL while it held a Dovecot mailbox.
"""
from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.store import db
from daemon.store.models import Lease, Node, User
from tests import webtools
from tests.conftest import wait_for

SUPPORT = "support@example.com"


def write_config(root: Path, url: str, account) -> Path:
    """Both daemons read this file: the same database, one Dovecot mailbox, no listener, no console.
    A killed daemon's mailbox lease lasts dead_after_seconds past its last beat: long enough here
    to be seen (on one host, the dead pid says it is dead at once)."""
    path = root / "patroldesk.toml"
    path.write_text(f"""
[database]
url = "{url}"
[paths]
var = "{root}/var"
[smtp]
enabled = false
[web]
enabled = false
[support]
addresses = ["{SUPPORT}"]
[cluster]
heartbeat_seconds = 1
dead_after_seconds = 60
[[mailbox]]
name = "support"
host = "{account.host}"
port = {account.port}
security = "none"
user = "{account.user}"
password = "{account.password}"
""")
    return path


def patroldesk(config_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *args],
                          capture_output=True, text=True, timeout=60)


def start_daemon(config_file: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    return subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config_file), "run", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def registered(process: subprocess.Popen) -> Node | None:
    return Node.get_or_none(Node.pid == process.pid)


def holds_mailbox(process: subprocess.Popen) -> bool:
    node = registered(process)
    lease = Lease.get_or_none(Lease.name == "mailbox:support")
    return bool(node and lease and lease.holder == node.identity)


@pytest.fixture
def two_daemons(tmp_path, backend_url, imap_account):
    """A daemon of every role that reads the mailbox and was then killed, and a live one that
    only sends and schedules; yields (config file, killed identity, live identity)."""
    config_file = write_config(tmp_path, backend_url, imap_account)
    config = load_config(str(config_file), {})
    db.open_database(config)
    db.upgrade()
    victim = start_daemon(config_file)
    live = None
    try:
        wait_for(lambda: holds_mailbox(victim), timeout=30, interval=0.1)
        live = start_daemon(config_file, "--only", "outbox,scheduler")
        wait_for(lambda: registered(live), timeout=30, interval=0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        yield config_file, registered(victim).identity, registered(live).identity
    finally:
        for process in (victim, live):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        db.database.close()


def test_cluster_lists_a_live_and_a_killed_daemon_and_the_mailbox_nobody_reads(two_daemons):
    config_file, killed, alive = two_daemons
    result = patroldesk(config_file, "cluster")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [alive_line] = [line for line in lines if line.startswith(alive + " ")]
    [killed_line] = [line for line in lines if line.startswith(killed + " ")]
    assert "  alive  roles outbox,scheduler  " in alive_line and "no mailbox" in alive_line
    assert "  DEAD " in killed_line and "roles ingest,outbox,scheduler,console" in killed_line
    assert "mailboxes support" in killed_line  # its lease has not run out yet: nobody else has it
    assert f"warning: mailbox support is read by no live daemon (last held by {killed})" in lines[-1]
    assert len(lines) == 3


def test_cluster_json_says_the_same_as_values(two_daemons):
    config_file, killed, alive = two_daemons
    result = patroldesk(config_file, "cluster", "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    by_identity = {node["identity"]: node for node in state["daemons"]}
    assert set(by_identity) == {killed, alive}
    assert by_identity[alive]["alive"] is True and by_identity[alive]["roles"] == ["outbox", "scheduler"]
    assert by_identity[alive]["heartbeat_age_seconds"] < 5
    assert by_identity[killed]["alive"] is False and by_identity[killed]["stopped_at"] is None
    assert by_identity[killed]["mailboxes"] == ["support"]
    assert by_identity[killed]["roles"] == ["ingest", "outbox", "scheduler", "console"]
    assert {"spool_in_hand", "outbox_in_hand", "jobs_in_hand"} <= set(by_identity[killed])
    assert state["unread_mailboxes"] == [{"mailbox": "support", "last_holder": killed}]
    assert state["dead_after_seconds"] == 60


def test_a_cleanly_stopped_daemon_is_stopped_not_dead(tmp_path, imap_account):
    config_file = write_config(tmp_path, f"sqlite:///{tmp_path}/patroldesk.db", imap_account)
    assert patroldesk(config_file, "init").returncode == 0
    assert "no daemon seen in the last hour" in patroldesk(config_file, "cluster").stdout
    daemon = start_daemon(config_file)
    try:
        wait_for(lambda: json.loads(patroldesk(config_file, "cluster", "--json").stdout)["daemons"],
                 timeout=30, interval=0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    [line, warning] = patroldesk(config_file, "cluster").stdout.splitlines()
    assert "  stopped " in line and "no mailbox" in line  # a clean stop lets go of the mailbox
    assert warning.startswith("warning: mailbox support is read by no live daemon")


def test_the_cluster_page_shows_them_to_admins_only(two_daemons):
    config_file, killed, alive = two_daemons
    console = webtools.make_console(load_config(str(config_file), {}))
    admin = console.client("admin")
    index = admin.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/cluster"' in index
    response = admin.get("/admin/cluster")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert killed in text and alive in text
    assert "dead (killed, or cut off from the database)" in text and "running" in text
    assert "Mailbox support is read by no running daemon" in text and f"Last read by {killed}." in text
    assert "outbox, scheduler" in text and "after 60 seconds without a heartbeat" in text
    assert console.client("agent").get("/admin/cluster").status_code == 403
    assert console.client("reviewer").get("/admin/cluster").status_code == 403
    anonymous = console.client().get("/admin/cluster")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/sign-in")

    User.update(language="ru").where(User.username == "admin").execute()
    russian = html.unescape(console.client("admin").get("/admin/cluster").get_data(as_text=True))
    assert "Кластер" in russian and "мёртв (убит" in russian and "отправка, планировщик" in russian
    assert "нет сигнала 60 секунд," in russian  # the plural form for sixty
