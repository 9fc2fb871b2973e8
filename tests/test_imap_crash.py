"""Exactly once, proved with kill -9: a real daemon process dies at each point
between fetching a mail and moving it; its restart loses nothing and makes no
second ticket.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from daemon.config import load_config
from daemon.ingest.sources.imap import CRASH_POINTS
from daemon.store import db
from daemon.store.models import Inbound, Message, Outgoing, Ticket
from tests.conftest import wait_for
from tests.corpus import simple_mail
from tests.dovecot import write_daemon_config

SUPPORT = "support@example.com"


def corpus() -> list[bytes]:
    """Seven mails: five new problems, two replies by References and In-Reply-To."""
    new = [simple_mail(frm=f"Ольга {i} <olga{i}@example.ru>", to=SUPPORT, subject=f"Вопрос {i}",
                       body=f"Не работает принтер номер {i}.", message_id=f"c{i}@example.ru") for i in range(5)]
    replies = [
        simple_mail(frm="olga0@example.ru", to=SUPPORT, subject="Re: Вопрос 0", body="Спасибо!",
                    message_id="c0-reply@example.ru", references="c0@example.ru"),
        simple_mail(frm="olga3@example.ru", to=SUPPORT, subject="Re: Вопрос 3", body="Всё ещё не работает.",
                    message_id="c3-reply@example.ru", in_reply_to="c3@example.ru"),
    ]
    return new[:3] + replies[:1] + new[3:] + replies[1:]


def write_config(tmp_path, account, alerts_to: str = "") -> str:
    return str(write_daemon_config(tmp_path, account, name="crash", support=SUPPORT, alerts_to=alerts_to,
                                   sections="[ingest]\nbatch_size = 2\nlease_seconds = 5",
                                   mailbox="batch_size = 3\nbackoff_max_seconds = 1"))


def daemon(config_path: str, crash_at: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    if crash_at:
        env["PATROLDESK_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "daemon", "--config", config_path, "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a service manager would; SIGKILL if it has not stopped in 20 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def unfiled(root) -> int:
    """Spooled mails whose move out of INBOX the daemon has not yet recorded (read beside it)."""
    with contextlib.closing(sqlite3.connect(f"file:{root}/patroldesk.db?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute('SELECT COUNT(*) FROM "inbound" WHERE "filed_at" IS NULL').fetchone()[0]


def rendering(root) -> int:
    """Acknowledgements waiting for their template (read beside the daemon)."""
    with contextlib.closing(sqlite3.connect(f"file:{root}/patroldesk.db?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute('SELECT COUNT(*) FROM "outbox" WHERE "state" = ?', ("rendering",)).fetchone()[0]


def processed(account) -> int:
    with account.client() as client:
        delimiter = client.namespace().personal[0][1]
    return account.count(f"patroldesk{delimiter}processed")


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_restart_after_kill_9_neither_loses_nor_doubles_a_mail(tmp_path, imap_account, point):
    mails = corpus()
    imap_account.append("INBOX", mails)
    config_path = write_config(tmp_path, imap_account)
    db.open_database(load_config(config_path, {}))
    db.upgrade()
    db.database.close()

    victim = daemon(config_path, crash_at=point)
    try:
        victim.wait(timeout=30)
    finally:
        victim.kill()
        victim.wait()
    assert victim.returncode == -signal.SIGKILL, victim.stderr.read().decode()
    assert f"killing the process at '{point}'" in victim.stderr.read().decode()

    survivor = daemon(config_path)
    try:
        # Done is every mail in the processed folder and recorded as filed: a victim killed after
        # its last move leaves the first true at once, and the survivor still has to record it.
        wait_for(lambda: processed(imap_account) == len(mails) and unfiled(tmp_path) == 0, timeout=30)
        # Acknowledgements are rendered by the sender after their tickets are stored, not in step with
        # the mailbox: stopping before that would leave them unrendered, not lost.
        wait_for(lambda: rendering(tmp_path) == 0, timeout=30)
    finally:
        _stop(survivor)
    assert imap_account.count("INBOX") == 0

    db.open_database(load_config(config_path, {}))
    try:
        inbound = Message.select().where(Message.kind == "inbound")
        assert inbound.count() == len(mails)
        assert Ticket.select().count() == 5
        assert sorted(m.message_id for m in inbound) == sorted(
            [f"c{i}@example.ru" for i in range(5)] + ["c0-reply@example.ru", "c3-reply@example.ru"])
        # Each ticket was acknowledged exactly once, in the transaction that opened it: a kill
        # before the commit lost both, the restart made both, and no reply was acknowledged.
        tickets = sorted(t.id for t in Ticket.select(Ticket.id))
        acks = Outgoing.select().where(Outgoing.kind == "acknowledgement")
        assert sorted(a.ticket_id for a in acks) == tickets
        assert sorted(a.to_address for a in acks) == [f"olga{i}@example.ru" for i in range(5)]
        assert Outgoing.select().count() == 5
        outbound = Message.select().where(Message.kind == "outbound")
        assert sorted(m.ticket_id for m in outbound) == tickets
        assert sorted(m.message_id for m in outbound) == sorted(a.message_id.strip("<>") for a in acks)
        assert Message.select().count() == len(mails) + 5
        # Whatever was spooled twice (fetched again after the kill) was recognised, not stored twice.
        extra = Inbound.select().where(Inbound.outcome == "duplicate").count()
        assert Inbound.select().count() == len(mails) + extra
        assert not Inbound.select().where(Inbound.filed_at.is_null()).exists()
    finally:
        db.database.close()


def test_a_mail_that_kills_the_daemon_three_times_is_skipped(tmp_path, imap_account):
    from daemon.store.models import MailboxState, Outgoing
    imap_account.append("INBOX", corpus()[:1])
    config_path = write_config(tmp_path, imap_account, alerts_to="ops@example.com")
    db.open_database(load_config(config_path, {}))
    db.upgrade()
    with imap_account.client() as client:
        uidvalidity = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    # As if a batch fetch had failed before: UID 1 is read one mail at a time.
    MailboxState.create(name="crash", uidvalidity=uidvalidity, careful_until=1)
    db.database.close()
    for _ in range(3):
        victim = daemon(config_path, crash_at="fetching-one")
        try:
            victim.wait(timeout=30)
        finally:
            victim.kill()  # a daemon that did not die where asked must not outlive the test
            victim.wait()
        assert victim.returncode == -signal.SIGKILL
    survivor = daemon(config_path)
    try:
        db.open_database(load_config(config_path, {}))
        wait_for(lambda: Outgoing.select().count() == 1, timeout=30)
    finally:
        _stop(survivor)
    try:
        assert b"fetching it stopped patroldesk 3 times" in bytes(Outgoing.get().data)
        assert MailboxState.get().last_uid == 1 and Message.select().count() == 0
    finally:
        db.database.close()
    assert imap_account.count("INBOX") == 1  # skipped, never deleted
