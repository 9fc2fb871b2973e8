"""`patroldesk run --only ROLES`: a daemon process does what it was started for and nothing else.
Real daemon processes, a real aiosmtpd relay, a real Dovecot mailbox.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.store import db
from daemon.store.models import Lease, Node, Outgoing, Ticket, utcnow
from tests.conftest import wait_for
from tests.corpus import simple_mail

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
    """`run --only roles`, printing into files beside the configuration (a pipe nobody reads
    while the test waits could fill up and stop the daemon in its tracks)."""
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    name = config_file.parent / roles.replace(",", "+")
    with open(f"{name}.out", "w") as out, open(f"{name}.err", "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config_file), "run",
                                    "--only", roles], env=env, stdout=out, stderr=err, text=True)
    process.printed = Path(f"{name}.out")
    return process


def banner(process: subprocess.Popen) -> str:
    """What the daemon printed once it was ready (it ends with an empty line)."""
    def printed() -> str:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited: {process.printed.with_suffix('.err').read_text()}")
        text = process.printed.read_text()
        return text if "\n\n" in text.lstrip("\n") else ""
    return wait_for(printed, timeout=30, interval=0.1)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a service manager stops it."""
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def listening_ports(pid: int) -> set[int]:
    """The TCP ports the process listens on: its socket descriptors, found among the kernel's
    listening sockets."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def node_of(process: subprocess.Popen) -> Node | None:
    return Node.get_or_none(Node.pid == process.pid)


@pytest.fixture
def opened():
    """Close this process's connection after the test (the daemons have their own)."""
    yield
    db.database.close()


def test_an_outbox_only_daemon_listens_for_nothing_reads_no_mailbox_and_sends(tmp_path, relay, imap_account, opened):
    config_file = write_config(tmp_path, f"sqlite:///{tmp_path}/patroldesk.db", relay, 0, imap_account)
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
        printed = banner(daemon)
        wait_for(lambda: len(relay.received) == 1, timeout=30)
        assert listening_ports(daemon.pid) == set()
        assert node_of(daemon).roles == "outbox"
    finally:
        stop(daemon)
    assert relay.received[0][1] == ["kari@example.org"] and Outgoing.get().state == "sent"
    assert Lease.get_or_none(Lease.name == "mailbox:support") is None  # no poller ever asked for it
    assert imap_account.count("INBOX") == 1 and Ticket.select().count() == 1
    assert "roles:    outbox only" in printed and "mail in:" not in printed and "mailbox:" not in printed


@pytest.mark.parametrize("split", ["ingest", "ingest,scheduler"])
def test_an_ingest_daemon_takes_mail_in_and_sends_nothing_until_an_outbox_daemon_runs(
        tmp_path, backend_url, relay, opened, split):
    config_file = write_config(tmp_path, backend_url, relay, 0)
    assert patroldesk(config_file, "init").returncode == 0
    db.open_database(load_config(str(config_file), {}))

    ingest = start_daemon(config_file, split)
    sender = None
    try:
        printed = banner(ingest)
        smtp_port = int(re.search(r"mail in:  SMTP 127\.0\.0\.1:(\d+) ", printed).group(1))
        assert listening_ports(ingest.pid) == {smtp_port}
        assert f"roles:    {split.replace(',', ', ')} only" in printed
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
        stop(ingest)
        if sender is not None:
            stop(sender)


@pytest.mark.parametrize("asked, unknown", [("nonsense", "nonsense"), ("ingest,outbx", "outbx"), (",", "nothing"),
                                            ("", "nothing")])  # "": an unset variable, not "everything"
def test_an_unknown_role_is_refused_naming_the_roles(tmp_path, relay, asked, unknown):
    config_file = write_config(tmp_path, f"sqlite:///{tmp_path}/patroldesk.db", relay, 0)
    assert patroldesk(config_file, "init").returncode == 0
    result = patroldesk(config_file, "run", "--only", asked)
    assert result.returncode == 2
    assert f"{unknown} is not a role; the roles are ingest, outbox, scheduler, console" in result.stderr
    assert result.stdout == ""  # refused before anything started
