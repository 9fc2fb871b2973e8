"""`patroldesk run --drain`: every mailbox read once, the spool processed, mail filed and sent, then exit;
a mailbox that cannot be read is named and makes the exit non-zero, and the others are drained anyway."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.cluster_harness import threaded_corpus
from tests.dovecot import write_daemon_config

SUPPORT = "support@example.com"


def patroldesk(config_path, *argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_path), *argv],
                          capture_output=True, text=True, timeout=120)


def _processed(account) -> int:
    with account.client() as client:
        return account.count(f"patroldesk{client.namespace().personal[0][1]}processed")


def test_drain_reads_processes_files_and_sends_everything_then_exits(tmp_path, imap_account):
    corpus = threaded_corpus(60, seed=5)
    imap_account.append("INBOX", corpus.mails)
    config = write_daemon_config(tmp_path, imap_account, name="support", support=SUPPORT,
                                 sections="[autoreply]\nper_sender_per_hour = 100")
    assert patroldesk(config, "init").returncode == 0
    result = patroldesk(config, "run", "--drain", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    replies = len(corpus.mails) - len(corpus.roots)
    assert summary["spooled"] == summary["processed"] == summary["filed"] == 60
    assert (summary["created"], summary["threaded"]) == (len(corpus.roots), replies)
    assert summary["sent"] == len(corpus.roots)  # one acknowledgement a ticket, written to var/sent/
    assert summary["failed_mailboxes"] == {}
    assert set(summary["phases"]) == {"fetch", "process", "file", "send"}  # seconds each (fetching overlaps)
    assert imap_account.count("INBOX") == 0 and _processed(imap_account) == 60
    assert len(list((tmp_path / "var" / "sent").glob("*.eml"))) == len(corpus.roots)
    again = patroldesk(config, "run", "--drain")  # nothing new: nothing done, said in one line
    assert again.returncode == 0 and again.stdout.startswith("drained: 0 read from the mailboxes, 0 processed")
    listed = patroldesk(config, "cluster")
    assert listed.returncode == 0 and "stopped" in listed.stdout  # the drain took part as a daemon, and stopped


def test_a_mailbox_that_cannot_be_read_is_named_and_the_others_are_drained(tmp_path, dovecot, imap_account):
    other = dovecot.add_user()
    imap_account.append("INBOX", threaded_corpus(5, seed=6).mails)
    broken = f"""
[[mailbox]]
name = "sales"
host = "{other.host}"
port = {other.port}
security = "none"
user = "{other.user}"
password = "not the password"
"""
    config = write_daemon_config(tmp_path, imap_account, name="support", support=SUPPORT, more=broken)
    assert patroldesk(config, "init").returncode == 0
    result = patroldesk(config, "run", "--drain", "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["processed"] == summary["filed"] == 5
    assert list(summary["failed_mailboxes"]) == ["sales"] and "refused" in summary["failed_mailboxes"]["sales"]
    assert "mailbox sales not read: login as" in result.stderr
    assert "Traceback" not in result.stderr


def test_drain_leaves_a_mailbox_a_running_daemon_reads_and_says_so(tmp_path, imap_account):
    from tests.conftest import wait_for
    config = write_daemon_config(tmp_path, imap_account, name="support", support=SUPPORT)
    assert patroldesk(config, "init").returncode == 0
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: json.loads(patroldesk(config, "mailboxes", "--json").stdout)[0]["held_by"], timeout=30)
        result = patroldesk(config, "run", "--drain")
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
    assert result.returncode == 1
    assert "mailbox support not read: the daemon " in result.stderr and f"/{daemon.pid}/" in result.stderr
    assert "reads it now" in result.stderr
