"""The IMAP poller against a real Dovecot: tickets, filing, IDLE, failures.

Each test gets its own Dovecot account (an empty mailbox) on the session's
server. The daemon runs in-process here; tests/test_imap_crash.py kills a
real daemon process.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
import time

import pytest

from daemon.config import MailboxConfig
from daemon.outbound import outbox
from daemon.store import db
from daemon.store.models import Inbound, MailboxState, Message, Outgoing, Ticket, utcnow
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail
from tests.dovecot import write_daemon_config

SUPPORT = "support@example.com"


def mailbox(account, **overrides) -> MailboxConfig:
    values = dict(name=account.user, host=account.host, port=account.port, security="none",
                  user=account.user, password=account.password, poll_seconds=3600, backoff_max_seconds=1)
    values.update(overrides)
    return MailboxConfig(**values)


def imap_config(tmp_path, *boxes, url=None, **sections):
    sections.setdefault("support", {"addresses": [SUPPORT]})
    config = make_config(tmp_path, url, smtp={"enabled": False}, **sections)
    return dataclasses.replace(config, mailbox=tuple(boxes))


def mails(count: int, prefix: str = "m") -> list[bytes]:
    return [simple_mail(frm=f"Kunde {i} <kunde{i}@example.no>", to=SUPPORT, subject=f"Spørsmål {i}",
                        body=f"Hei! Skriveren på kontor {i} virker ikke.", message_id=f"{prefix}{i}@example.no")
            for i in range(count)]


def processed_name(account) -> str:
    with account.client() as client:
        delimiter = client.namespace().personal[0][1]
    return f"patroldesk{delimiter}processed"


def quarantine_name(account) -> str:
    return processed_name(account).replace("processed", "quarantine")


def state(name: str) -> MailboxState | None:
    return MailboxState.get_or_none(MailboxState.name == name)


def inbound():
    """The customers' mail stored: each new ticket also carries its acknowledgement, an outbound message."""
    return Message.select().where(Message.kind == "inbound")


def alerts():
    """The admins' alerts in the outbox (the customers' acknowledgements are there too)."""
    return Outgoing.select().where(Outgoing.kind == "alert")


def assert_each_ticket_acknowledged_once() -> None:
    # Acknowledgements are rendered by the sender after their tickets are stored, not in step with the
    # mailbox: wait until none waits for its template.
    wait_for(lambda: not Outgoing.select().where(Outgoing.state == "rendering").exists(), timeout=20)
    tickets = sorted(t.id for t in Ticket.select(Ticket.id))
    acks = Outgoing.select(Outgoing.ticket).where(Outgoing.kind == "acknowledgement")
    assert sorted(a.ticket_id for a in acks) == tickets
    assert sorted(m.ticket_id for m in Message.select(Message.ticket).where(Message.kind == "outbound")) == tickets


def test_mails_in_the_inbox_become_tickets_and_move_to_the_processed_folder(tmp_path, backend_url, imap_account):
    first, second = mails(2)
    reply = simple_mail(frm="kunde0@example.no", to=SUPPORT, subject="Sv: Spørsmål 0", body="Takk, nå virker det.",
                        message_id="r0@example.no", references="m0@example.no")
    russian = simple_mail(frm="Анна <anna@example.ru>", to=SUPPORT, subject="Принтер не печатает",
                          body="Здравствуйте! Принтер молчит.", message_id="ru@example.ru")
    # An internationalised address (RFC 6532): raw UTF-8 in the header, as such mail arrives.
    utf8_address = ("From: Åse Øvrebø <åse@eksempel.no>\r\nTo: support@example.com\r\n"
                    "Subject: Blåskjerm\r\nMessage-ID: <eai@eksempel.no>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\nMaskinen viser blå skjerm.\r\n").encode()
    imap_account.append("INBOX", [first, second, reply, russian, utf8_address])
    with running_service(imap_config(tmp_path, mailbox(imap_account), url=backend_url)):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 5)
        assert imap_account.count("INBOX") == 0
        assert Ticket.select().count() == 4
        assert inbound().count() == 5
        assert_each_ticket_acknowledged_once()  # the reply is not acknowledged
        assert Ticket.get(Ticket.subject == "Blåskjerm").requester.email == "åse@eksempel.no"
        assert Message.get(Message.message_id == "r0@example.no").ticket.subject == "Spørsmål 0"
        assert Ticket.get(Ticket.subject == "Принтер не печатает").requester.name == "Анна"
        # Processed mail is marked read; the bytes are the ones the server had.
        flags = imap_account.flags(processed_name(imap_account))
        assert all(b"\\Seen" in f for f in flags.values())
        assert sorted(imap_account.fetch_all(processed_name(imap_account))) == sorted(
            [first, second, reply, russian, utf8_address])
        box = state(imap_account.user)
        assert (box.status, box.last_uid) == ("ok", 5)


def test_idle_turns_a_new_mail_into_a_ticket_within_a_second(tmp_path, imap_account):
    with running_service(imap_config(tmp_path, mailbox(imap_account))) as service:
        wait_for(lambda: (s := state(imap_account.user)) and s.status == "ok" and s.idle)
        time.sleep(0.3)  # let the poller enter IDLE; the poll job is an hour away
        (raw,) = mails(1)
        imap_account.append("INBOX", [raw])
        appended = time.monotonic()
        wait_for(lambda: Ticket.select().count() == 1, timeout=1.0)
        assert time.monotonic() - appended < 1.0
        assert service.pollers[0].box.poll_seconds == 3600


def test_without_idle_the_scheduler_polls(tmp_path, imap_account):
    with running_service(imap_config(tmp_path, mailbox(imap_account, idle=False, poll_seconds=1))):
        wait_for(lambda: (s := state(imap_account.user)) and s.status == "ok")
        assert not state(imap_account.user).idle
        imap_account.append("INBOX", mails(2))
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 2)
        assert Ticket.select().count() == 2


def test_a_mail_that_quarantines_moves_to_the_quarantine_folder_unread(tmp_path, imap_account):
    nobody = (b"From: " + b"a" * 400 + b"@example.org\r\nSubject: an impossible sender\r\n"
              b"Message-ID: <q1@example.org>\r\n\r\nWho wrote this?\r\n")
    imap_account.append("INBOX", [nobody, *mails(1)])
    with running_service(imap_config(tmp_path, mailbox(imap_account))):
        wait_for(lambda: imap_account.count(quarantine_name(imap_account)) == 1)
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 1)
        assert imap_account.fetch_all(quarantine_name(imap_account)) == [nobody]
        assert all(b"\\Seen" not in f for f in imap_account.flags(quarantine_name(imap_account)).values())
        assert Inbound.get(Inbound.imap_uid == 1).state == "quarantined"
        assert imap_account.count("INBOX") == 0


def test_read_only_access_remembers_uids_and_changes_nothing(tmp_path, imap_account):
    imap_account.append("INBOX", mails(3))
    before_flags = imap_account.flags("INBOX")
    before_folders = imap_account.folders()
    config = imap_config(tmp_path, mailbox(imap_account, read_only=True))
    with running_service(config):
        wait_for(lambda: Ticket.select().count() == 3)
        wait_for(lambda: not Inbound.select().where(Inbound.state.in_(("queued", "processing"))).exists())
    with running_service(config):  # a restart reads nothing twice
        imap_account.append("INBOX", mails(1, prefix="later"))
        wait_for(lambda: Ticket.select().count() == 4)
        time.sleep(0.3)
        assert Inbound.select().count() == 4
    assert imap_account.count("INBOX") == 4
    assert imap_account.folders() == before_folders
    flags = imap_account.flags("INBOX")
    assert {uid: flags[uid] for uid in before_flags} == before_flags
    assert all(b"\\Seen" not in f for f in flags.values())


def test_an_account_the_server_lets_only_read_is_read_and_left_alone(tmp_path, dovecot, imap_account, caplog):
    imap_account.append("INBOX", mails(2))
    dovecot.limit_rights(imap_account.user, "lr")  # see and read: no flags, no new folders, no moves
    before_folders, before_flags = imap_account.folders(), imap_account.flags("INBOX")
    with caplog.at_level(logging.WARNING, logger="patroldesk.imap"), \
            running_service(imap_config(tmp_path, mailbox(imap_account))):
        wait_for(lambda: Ticket.select().count() == 2)
        wait_for(lambda: (s := state(imap_account.user)) and s.read_only)
    assert any("grants read-only access" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert imap_account.folders() == before_folders
    assert imap_account.flags("INBOX") == before_flags
    assert imap_account.count("INBOX") == 2


def test_a_changed_uidvalidity_reads_again_without_duplicates(tmp_path, imap_account, caplog):
    originals = mails(3)
    imap_account.append("Support", originals)
    config = imap_config(tmp_path, mailbox(imap_account, folder="Support", read_only=True))
    with running_service(config):
        wait_for(lambda: Ticket.select().count() == 3)
    old = state(imap_account.user).uidvalidity
    # The folder is recreated with the same mails and one new one: same UIDs, new UIDVALIDITY.
    imap_account.delete_folder("Support")
    imap_account.append("Support", [*originals, *mails(1, prefix="new")])
    with caplog.at_level(logging.WARNING, logger="patroldesk.imap"), running_service(config):
        wait_for(lambda: Ticket.select().count() == 4)
        wait_for(lambda: Inbound.select().where(Inbound.outcome == "duplicate").count() == 3)
    assert state(imap_account.user).uidvalidity != old
    assert inbound().count() == 4
    assert_each_ticket_acknowledged_once()  # the mails read again acknowledge nothing twice
    assert any("UIDVALIDITY changed" in r.getMessage() for r in caplog.records)


def test_the_poller_reconnects_after_a_server_restart(tmp_path, dovecot, imap_account):
    with running_service(imap_config(tmp_path, mailbox(imap_account))):
        imap_account.append("INBOX", mails(1))
        wait_for(lambda: Ticket.select().count() == 1)
        dovecot.stop()
        wait_for(lambda: state(imap_account.user).status == "failing")
        dovecot.start()
        imap_account.append("INBOX", mails(2, prefix="after"))
        wait_for(lambda: Ticket.select().count() == 3, timeout=15)
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 3)
        assert state(imap_account.user).status == "ok"


def test_broken_mailboxes_log_one_line_each_and_the_good_one_keeps_working(tmp_path, dovecot, imap_account, caplog):
    good = mailbox(imap_account)
    wrong_password = mailbox(imap_account, name="wrong-password", password="not-the-password")
    unknown_folder = mailbox(imap_account, name="unknown-folder", folder="Nope")
    refused = mailbox(imap_account, name="refused", port=_closed_port())
    config = imap_config(tmp_path, good, wrong_password, unknown_folder, refused)
    with caplog.at_level(logging.INFO, logger="patroldesk.imap"), running_service(config):
        imap_account.append("INBOX", mails(2))
        wait_for(lambda: Ticket.select().count() == 2)
        for name in ("wrong-password", "unknown-folder", "refused"):
            wait_for(lambda: len(_errors(caplog, name)) >= 2, timeout=15)  # retried, with backoff
    expected = {"wrong-password": "login as", "unknown-folder": "cannot open folder 'Nope'",
                "refused": "connection refused"}
    for name, words in expected.items():
        lines = _errors(caplog, name)
        assert all(words in r.getMessage() and "retrying in" in r.getMessage() for r in lines), lines
        assert all(r.exc_info is None for r in lines), "a traceback was logged"
        assert state(name).status in ("failing", "stopped") and words in state(name).last_error
    assert state(imap_account.user).last_error == ""


def _errors(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and f"mailbox {name}:" in r.getMessage()]


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failing_mailbox_alerts_the_admins_once_and_once_more_on_recovery(tmp_path, imap_account):
    box = mailbox(imap_account, folder="Later", alert_after_seconds=1)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    with running_service(config):
        wait_for(lambda: alerts().count() == 1, timeout=15)
        failures = wait_for(lambda: (s := state(box.name)) and s.alerted_at and s)
        assert "cannot open folder 'Later'" in failures.last_error
        time.sleep(3)  # more failed attempts: no more alerts
        assert Outgoing.select().count() == 1
        imap_account.append("Later", mails(1))  # the folder now exists: the mailbox recovers
        wait_for(lambda: Ticket.select().count() == 1, timeout=15)
        wait_for(lambda: alerts().count() == 2)
        assert state(box.name).alerted_at is None
    alert, recovery = alerts().order_by(Outgoing.id)
    assert "is failing" in alert.subject and "working again" in recovery.subject
    assert_each_ticket_acknowledged_once()
    outbox.send_due(config)  # whatever the daemon's sender had not sent yet
    db.open_database(config)
    assert alerts().where(Outgoing.state == "sent").count() == 2
    sent_dir = tmp_path / "var" / "sent"
    # The two alerts and the new ticket's acknowledgement, each once, under its outbox id.
    assert sorted(sent_dir.glob("*.eml")) == sorted(sent_dir / f"{row.id:08d}.eml" for row in Outgoing.select())
    assert Outgoing.select().count() == 3
    for row in (alert, recovery):
        assert b"To: ops@example.com" in (sent_dir / f"{row.id:08d}.eml").read_bytes()


def test_patroldesk_mailboxes_shows_checkpoint_and_health(tmp_path, imap_account):
    import subprocess
    import sys

    def mailboxes_command(*args: str) -> subprocess.CompletedProcess:
        # Another process, as an admin's shell would be: the daemon's own database handle stays untouched.
        return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), "mailboxes", *args],
                              capture_output=True, text=True, timeout=60)

    imap_account.append("INBOX", mails(2))
    config_file = write_daemon_config(tmp_path, imap_account, name="main", support=SUPPORT, more=f"""
[[mailbox]]
name = "broken"
host = "127.0.0.1"
port = {_closed_port()}
security = "none"
user = "x"
password = "y"
backoff_max_seconds = 1
""")
    from daemon.config import load_config
    config = load_config(config_file, {})
    with running_service(config):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 2)
        wait_for(lambda: (s := state("broken")) and s.status == "failing")
        result = mailboxes_command()
        as_json = mailboxes_command("--json")
    assert result.returncode == 0, result.stderr
    assert "main  ok (IDLE)" in result.stdout and "last UID 2" in result.stdout
    assert "broken  failing" in result.stdout and "connection refused" in result.stdout
    import json
    rows = {row["name"]: row for row in json.loads(as_json.stdout)}
    assert rows["main"]["last_uid"] == 2 and rows["main"]["waiting_to_file"] == 0


@pytest.mark.parametrize("size", [3])
def test_batches_are_spooled_with_their_checkpoint(tmp_path, imap_account, size):
    imap_account.append("INBOX", mails(7))
    with running_service(imap_config(tmp_path, mailbox(imap_account, batch_size=size))):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 7)
    rows = list(Inbound.select().order_by(Inbound.imap_uid))
    assert [r.imap_uid for r in rows] == list(range(1, 8))
    assert all(r.filed_at is not None and r.mailbox == imap_account.user for r in rows)
    assert state(imap_account.user).last_uid == 7


def test_a_mailbox_that_fails_after_login_backs_off_and_alerts_once(tmp_path, dovecot, imap_account, caplog):
    imap_account.append("INBOX", mails(2))
    with imap_account.client() as client:  # the folders exist, but the account may not expunge from INBOX
        for name in (processed_name(imap_account), quarantine_name(imap_account)):
            client.create_folder(name)
    dovecot.limit_rights(imap_account.user, "lrws", "INBOX")
    box = mailbox(imap_account, alert_after_seconds=2, backoff_max_seconds=2)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    with caplog.at_level(logging.ERROR, logger="patroldesk.imap"), running_service(config):
        wait_for(lambda: Ticket.select().count() == 2)  # read and processed; only the move is refused
        wait_for(lambda: alerts().count() == 1, timeout=15)
        time.sleep(3)
        assert alerts().count() == 1, "one alert, not a storm"
        assert state(box.name).status == "failing"
    attempts = [int(r.getMessage().rsplit("attempt ", 1)[1].rstrip(")")) for r in caplog.records]
    assert attempts == list(range(1, len(attempts) + 1)), "the backoff must not restart after each login"
    assert len(attempts) <= 6  # 1, 2, 2, 2 ... seconds apart: not a reconnect every second
    assert imap_account.count("INBOX") == 2  # nothing deleted
    assert inbound().count() == 2
    assert_each_ticket_acknowledged_once()


def test_a_mail_the_server_cannot_deliver_is_skipped_after_three_tries(tmp_path, dovecot, imap_account, caplog):
    raws = mails(3)
    imap_account.append("INBOX", raws)
    maildir = dovecot.mail_dir / imap_account.user / "Maildir"
    [broken] = [f for f in maildir.glob("*/*") if f.is_file() and f.read_bytes().replace(b"\r\n", b"\n")
                == raws[1].replace(b"\r\n", b"\n")]
    broken.chmod(0)  # Dovecot's mail process can no longer read it
    box = mailbox(imap_account, backoff_max_seconds=1)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    with caplog.at_level(logging.WARNING, logger="patroldesk.imap"), running_service(config):
        wait_for(lambda: Ticket.select().count() == 2, timeout=20)
        wait_for(lambda: state(box.name).status == "ok")
        assert state(box.name).last_uid == 3
        alert = wait_for(lambda: alerts().get_or_none())
        # The third mail is moved after its ticket is made, on the poller's next pass: wait for it.
        wait_for(lambda: imap_account.count("INBOX") == 1, timeout=20)
    assert "1 mail(s) not read" in alert.subject and b"UID 2:" in bytes(alert.data)
    assert {m.message_id for m in inbound()} == {"m0@example.no", "m2@example.no"}
    assert alerts().count() == 1
    assert_each_ticket_acknowledged_once()
    assert any("could not be fetched 3 times" in r.getMessage() for r in caplog.records)
    for file in maildir.glob("*/*"):  # Dovecot may have renamed it from new/ to cur/
        if file.is_file() and not file.stat().st_mode & 0o777:
            file.chmod(0o600)
    assert imap_account.fetch_all("INBOX") == [raws[1]]  # left where it was, never deleted


def test_a_dropped_postgresql_connection_is_opened_again(tmp_path, postgres_url, imap_account):
    import psycopg2
    config = imap_config(tmp_path, mailbox(imap_account), url=postgres_url)
    with running_service(config):
        imap_account.append("INBOX", mails(1))
        wait_for(lambda: Ticket.select().count() == 1)
        name = postgres_url.rsplit("/", 1)[1]
        admin = psycopg2.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        admin.close()
        db.database.close()
        imap_account.append("INBOX", mails(1, prefix="after"))
        wait_for(lambda: Ticket.select().count() == 2, timeout=20)
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 2, timeout=20)


def test_sizes_are_asked_in_chunks(tmp_path, imap_account, monkeypatch):
    from daemon.ingest.sources import imap
    monkeypatch.setattr(imap, "SIZE_CHUNK", 2)
    imap_account.append("INBOX", mails(5))
    with running_service(imap_config(tmp_path, mailbox(imap_account, batch_size=2))):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 5)
    assert Ticket.select().count() == 5


def test_uid_sets_are_written_as_ranges():
    from daemon.ingest.sources.imap import _uid_set
    assert _uid_set([5, 1, 2, 3, 9, 11, 12, 12]) == "1:3,5,9,11:12"
    assert _uid_set([7]) == "7"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_verified_against_the_configured_ca(tmp_path, dovecot, imap_account, security):
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    box = mailbox(imap_account, security=security, port=port, ca_file=str(dovecot.ca_file))
    imap_account.append("INBOX", mails(1))
    with running_service(imap_config(tmp_path, box)):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 1)
    assert Ticket.select().count() == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_that_does_not_verify_is_one_clear_line(tmp_path, dovecot, imap_account, security, caplog):
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    box = mailbox(imap_account, security=security, port=port)  # the system's CAs do not know it
    with caplog.at_level(logging.ERROR, logger="patroldesk.imap"), running_service(imap_config(tmp_path, box)):
        wait_for(lambda: (s := state(box.name)) and s.status == "failing")
    [first, *_] = [r for r in caplog.records if f"mailbox {box.name}:" in r.getMessage()]
    assert "certificate does not verify" in first.getMessage() and first.exc_info is None
    assert Inbound.select().count() == 0


def test_a_mail_over_the_size_limit_is_left_in_place_and_the_admins_told(tmp_path, imap_account):
    big = simple_mail(frm="kunde@example.no", to=SUPPORT, subject="Stor fil", body="x" * 60_000,
                      message_id="big@example.no")
    imap_account.append("INBOX", [mails(1)[0], big, mails(1, prefix="after")[0]])
    box = mailbox(imap_account, max_message_bytes=50_000)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    with running_service(config):
        wait_for(lambda: imap_account.count(processed_name(imap_account)) == 2)
        alert = wait_for(lambda: alerts().get_or_none())
        assert state(box.name).last_uid == 3
    assert "over max_message_bytes" in bytes(alert.data).decode()
    assert imap_account.fetch_all("INBOX") == [big]
    assert inbound().count() == 2
    assert alerts().count() == 1
    assert_each_ticket_acknowledged_once()


def test_read_only_mail_waits_for_no_filing_and_a_silent_daemon_shows_as_stale(tmp_path, imap_account):
    from daemon.ingest.sources.imap import mailbox_states
    imap_account.append("INBOX", mails(2))
    config = imap_config(tmp_path, mailbox(imap_account, read_only=True))
    with running_service(config):
        wait_for(lambda: Ticket.select().count() == 2)
        [live] = mailbox_states(config)
        assert (live["waiting_to_file"], live["stale"], live["status"]) == (0, False, "ok")
        later = utcnow() + datetime.timedelta(hours=3)
        [silent] = mailbox_states(config, now=later)  # as if the daemon had died three hours ago
        assert silent["stale"] is True


@pytest.mark.parametrize("error, expected", [
    (ConnectionResetError(104, "Connection reset by peer"), "ConnectionResetError: Connection reset by peer"),
    (__import__("imapclient").exceptions.LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"),
     "[AUTHENTICATIONFAILED] Authentication failed"),
    (__import__("imapclient").exceptions.IMAPClientError(
        "select failed: Mailbox doesn't exist: Nope (0.001 + 0.000 secs)."), "select failed: Mailbox doesn't exist: Nope"),
])
def test_failures_are_described_in_plain_words(error, expected):
    from daemon.ingest.sources.imap import _describe
    assert _describe(error) == expected


def test_an_unreadable_mail_without_a_size_in_its_file_name_is_skipped(tmp_path, dovecot, imap_account):
    # Delivered straight into the maildir by a delivery agent: Dovecot must open the file even
    # to say how large it is, and cannot; its failure ends the whole session each time.
    first, last = mails(1)[0], mails(1, prefix="later")[0]
    imap_account.append("INBOX", [first])
    maildir = dovecot.mail_dir / imap_account.user / "Maildir"
    unreadable = maildir / "new" / "1795000000.M1P1.delivered"
    unreadable.write_bytes(mails(1, prefix="broken")[0])
    unreadable.chmod(0)
    imap_account.append("INBOX", [last])
    box = mailbox(imap_account, backoff_max_seconds=1)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    try:
        with running_service(config):
            wait_for(lambda: Ticket.select().count() == 2, timeout=30)
            wait_for(lambda: state(box.name).status == "ok")
            alert = wait_for(lambda: alerts().get_or_none())
    finally:
        for file in maildir.glob("*/*"):
            if file.is_file() and not file.stat().st_mode & 0o777:
                file.chmod(0o600)
    assert "1 mail(s) not read" in alert.subject
    assert {m.message_id for m in inbound()} == {"m0@example.no", "later0@example.no"}
    assert alerts().count() == 1
    assert_each_ticket_acknowledged_once()
    assert imap_account.count("INBOX") == 1 and state(box.name).stuck_uid is None


def test_many_oversized_mails_make_one_alert(tmp_path, imap_account):
    big = [simple_mail(frm="spam@example.com", to=SUPPORT, subject=f"Stor {i}", body="x" * 60_000,
                       message_id=f"big{i}@example.com") for i in range(5)]
    imap_account.append("INBOX", [*big, mails(1)[0]])
    box = mailbox(imap_account, max_message_bytes=50_000)
    config = imap_config(tmp_path, box, support={"addresses": [SUPPORT], "alerts_to": ["ops@example.com"]})
    with running_service(config):
        wait_for(lambda: Ticket.select().count() == 1)
        alert = wait_for(lambda: alerts().get_or_none())
        time.sleep(0.5)
    assert alerts().count() == 1 and "5 mail(s) not read" in alert.subject
    assert_each_ticket_acknowledged_once()
    assert Outgoing.select().count() == 2  # the alert and the one ticket's acknowledgement


def test_folder_names_follow_the_servers_namespaces():
    from daemon.config import load_config
    from daemon.ingest.sources.imap import MailboxPoller
    poller = MailboxPoller(MailboxConfig(host="h", user="u", password="p"), load_config(None, {}), lambda: None)
    poller._prefix, poller._delimiter, poller._foreign = "INBOX.", ".", ("shared.", "user.")
    assert poller._server_name("patroldesk/processed") == "INBOX.patroldesk.processed"
    assert poller._server_name("shared/support") == "shared.support"
    assert poller._server_name("INBOX") == "INBOX"
    assert poller._server_name("INBOX.Support") == "INBOX.Support"
