"""`patroldesk run --only ROLES`: a daemon process does what it was started for and nothing else.
Real daemon processes, a real aiosmtpd relay, a real Dovecot mailbox.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.store import db
from daemon.store.models import Lease, Node, Outgoing, Ticket, utcnow
from tests.conftest import wait_for
from tests.corpus import simple_mail
from tests.relay import free_port

SUPPORT = "support@example.com"


def write_config(root: Path, url: str, relay, smtp_port: int, account=None) -> Path:
    mailbox = "" if account is None else f"""
[[mailbox]]
name = "support"
host = "{account.host}"
port = {account.port}
security = "none"
user = "{account.user}"
password = "{account.password}"
"""
    path = root / "patroldesk.toml"
    path.write_text(f"""
[database]
url = "{url}"
[paths]
var = "{root}/var"
[smtp]
port = {smtp_port}
[web]
enabled = false
[support]
addresses = ["{SUPPORT}"]
[relay]
host = "127.0.0.1"
port = {relay.port}
timeout_seconds = 5
[cluster]
heartbeat_seconds = 1
dead_after_seconds = 5
{mailbox}""")
    return path


def patroldesk(config_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *args],
                          capture_output=True, text=True, timeout=60)


def start_daemon(config_file: Path, roles: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    return subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config_file), "run", "--only", roles],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> tuple[str, str]:
    """SIGTERM, as a service manager stops it; what it printed."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=30)
    finally:
        process.kill()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


def node_of(process: subprocess.Popen) -> Node | None:
    return Node.get_or_none(Node.pid == process.pid)


@pytest.fixture
def opened():
    """Close this process's connection after the test (the daemons have their own)."""
    yield
    db.database.close()


def test_an_outbox_only_daemon_listens_for_nothing_reads_no_mailbox_and_sends(tmp_path, relay, imap_account, opened):
    smtp_port = free_port()
    config_file = write_config(tmp_path, f"sqlite:///{tmp_path}/patroldesk.db", relay, smtp_port, imap_account)
    assert patroldesk(config_file, "init").returncode == 0
    waiting = tmp_path / "waiting.eml"
    waiting.write_bytes(simple_mail(frm="kari@example.org", to=SUPPORT, subject="Skriveren", body="Hjelp",
                                    message_id="queued@example.org"))
    assert patroldesk(config_file, "ingest", str(waiting)).returncode == 0  # its acknowledgement is queued
    imap_account.append("INBOX", [simple_mail(frm="ola@example.org", to=SUPPORT, subject="Unread",
                                              body="Anyone?", message_id="unread@example.org")])
    db.open_database(load_config(str(config_file), {}))

    daemon = start_daemon(config_file, "outbox")
    try:
        wait_for(lambda: len(relay.received) == 1, timeout=30)
        assert not listening(smtp_port)
        assert node_of(daemon).roles == "outbox"
    finally:
        out, err = stop(daemon)
    assert relay.received[0][1] == ["kari@example.org"] and Outgoing.get().state == "sent"
    assert Lease.get_or_none(Lease.name == "mailbox:support") is None  # no poller ever asked for it
    assert imap_account.count("INBOX") == 1 and Ticket.select().count() == 1
    assert "roles:    outbox only" in out and "mail in:" not in out and "mailbox:" not in out, out + err


@pytest.mark.parametrize("split", ["ingest", "ingest,scheduler"])
def test_an_ingest_daemon_takes_mail_in_and_sends_nothing_until_an_outbox_daemon_runs(
        tmp_path, backend_url, relay, opened, split):
    smtp_port = free_port()
    config_file = write_config(tmp_path, backend_url, relay, smtp_port)
    assert patroldesk(config_file, "init").returncode == 0
    db.open_database(load_config(str(config_file), {}))

    ingest = start_daemon(config_file, split)
    sender = None
    try:
        wait_for(lambda: listening(smtp_port), timeout=30)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.sendmail("kari@example.org", [SUPPORT], simple_mail(
                frm="kari@example.org", to=SUPPORT, subject="Skriveren", body="Hjelp", message_id="in@example.org"))
        wait_for(lambda: Ticket.select().count() == 1, timeout=30)
        assert node_of(ingest).roles == split
        # A sender would have had its wake-up after the batch, and a beat of its own, by now.
        opened_at = utcnow()
        wait_for(lambda: node_of(ingest).heartbeat_at > opened_at + dt.timedelta(seconds=2), timeout=30)
        assert relay.received == []
        [ack] = Outgoing.select()
        assert ack.kind == "acknowledgement" and ack.state == "rendering" and ack.attempts == 0

        sender = start_daemon(config_file, "outbox")
        wait_for(lambda: len(relay.received) == 1, timeout=30)
        assert relay.received[0][1] == ["kari@example.org"]
        wait_for(lambda: Outgoing.get().state == "sent", timeout=10)
    finally:
        ingest_out, _ = stop(ingest)
        if sender is not None:
            stop(sender)
    assert f"roles:    {split.replace(',', ', ')} only" in ingest_out and "mail in:" in ingest_out


@pytest.mark.parametrize("asked, unknown", [("nonsense", "nonsense"), ("ingest,outbx", "outbx"), (",", "nothing")])
def test_an_unknown_role_is_refused_naming_the_roles(tmp_path, relay, asked, unknown):
    config_file = write_config(tmp_path, f"sqlite:///{tmp_path}/patroldesk.db", relay, free_port())
    assert patroldesk(config_file, "init").returncode == 0
    result = patroldesk(config_file, "run", "--only", asked)
    assert result.returncode == 2
    assert f"{unknown} is not a role; the roles are ingest, outbox, scheduler, console" in result.stderr
    assert result.stdout == ""  # refused before anything started
