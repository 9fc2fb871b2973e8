"""The outbox against a real SMTP relay (an aiosmtpd sink on loopback)."""
from __future__ import annotations

import dataclasses
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from daemon.outbound import outbox
from daemon.store.db import database
from daemon.store.models import Outgoing, utcnow
from tests.conftest import make_config, wait_for


class Sink:
    """Records what it accepts; `reply` overrides the answer to DATA (e.g. '451 ...')."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def relay():
    sink = Sink()
    sink.port = _closed_port()  # free now; aiosmtpd's readiness check needs a real port number
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def relayed(tmp_path, relay, database):
    config = make_config(tmp_path, relay={"host": "127.0.0.1", "port": relay.port, "retry_base_seconds": 60},
                         support={"name": "Støtte", "addresses": ["hjelp@example.no"],
                                  "alerts_to": ["drift@example.no"]})
    return config


def test_an_alert_reaches_the_relay_once_and_parses_back(relayed, relay):
    with database.atomic():
        outbox.queue_alert(relayed, "mailbox «support» is failing\r\nBcc: victim@example.org", "Detaljer: ingen.")
    assert outbox.send_due(relayed) == 1
    assert outbox.send_due(relayed) == 0  # sent is sent
    [(mail_from, rcpts, data)] = relay.received
    assert (mail_from, rcpts) == ("hjelp@example.no", ["drift@example.no"])
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == "[patroldesk] mailbox «support» is failing Bcc: victim@example.org"
    assert parsed["Bcc"] is None and parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"].addresses[0].display_name == "Støtte"
    assert parsed.get_content().strip() == "Detaljer: ingen."
    assert Outgoing.get().state == "sent"


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_fails(relayed, relay):
    with database.atomic():
        outbox.queue_alert(relayed, "first", "body")
    relay.reply = "451 4.3.0 try again later"
    assert outbox.send_due(relayed) == 0
    row = Outgoing.get()
    assert (row.state, row.attempts) == ("queued", 1) and "451" in row.last_error
    assert row.next_attempt_at > utcnow()  # backoff: not due yet
    assert outbox.send_due(relayed) == 0 and not relay.received
    Outgoing.update(next_attempt_at=utcnow()).execute()
    relay.reply = "550 5.1.1 no such user"
    assert outbox.send_due(relayed) == 0
    row = Outgoing.get()
    assert row.state == "failed" and row.last_error.startswith("550")
    assert not relay.received


def test_a_relay_that_is_down_keeps_the_mail_queued(relayed, relay, tmp_path):
    down = dataclasses.replace(relayed, relay=dataclasses.replace(relayed.relay, port=_closed_port()))
    with database.atomic():
        outbox.queue_alert(down, "down", "body")
    assert outbox.send_due(down) == 0
    row = Outgoing.get()
    assert row.state == "queued" and "refused" in row.last_error


def test_without_a_relay_mail_is_written_to_var_sent(tmp_path, database):
    config = make_config(tmp_path, support={"addresses": ["support@example.com"], "alerts_to": ["ops@example.com"]})
    with database.atomic():
        outbox.queue_alert(config, "offline", "body")
    assert outbox.send_due(config) == 1
    [written] = (tmp_path / "var" / "sent").glob("*.eml")
    assert b"Subject: [patroldesk] offline" in written.read_bytes()


def test_without_a_relay_a_batch_is_written_and_recorded_at_once(tmp_path, database, monkeypatch):
    config = make_config(tmp_path, support={"addresses": ["support@example.com"], "alerts_to": ["ops@example.com"]})
    with database.atomic():
        for n in range(5):
            outbox.queue_alert(config, f"offline {n}", "body")
    recorded = []
    monkeypatch.setattr(outbox, "execute", lambda sql, params=(): recorded.append(sql) or database.execute_sql(sql, params))
    assert outbox.send_due(config) == 5
    assert len(recorded) == 1  # one statement records the whole batch
    sent = tmp_path / "var" / "sent"
    assert sorted(p.name for p in sent.glob("*.eml")) == [f"{row.id:08d}.eml" for row in Outgoing.select().order_by(Outgoing.id)]
    assert {(row.state, row.attempts, row.lease_until, row.claim_token is not None) for row in Outgoing.select()} == {
        ("sent", 1, None, True)}
    assert outbox.send_due(config) == 0


def test_without_a_relay_a_record_the_database_refused_is_written_later_and_the_mail_not_again(
        tmp_path, database, monkeypatch):
    config = make_config(tmp_path, support={"addresses": ["support@example.com"], "alerts_to": ["ops@example.com"]})
    with database.atomic():
        outbox.queue_alert(config, "offline", "body")
    from peewee import OperationalError

    def refused(sql, params=()):
        raise OperationalError("database is locked")

    monkeypatch.setattr(outbox, "execute", refused)
    assert outbox.send_due(config) == 1 and outbox._UNRECORDED
    [written] = (tmp_path / "var" / "sent").glob("*.eml")
    first = written.stat().st_mtime_ns
    monkeypatch.undo()
    Outgoing.update(lease_until=utcnow()).execute()  # its lease run out: it is still not written again
    assert outbox.send_due(config) == 0 and not outbox._UNRECORDED
    assert written.stat().st_mtime_ns == first and len(list(written.parent.glob("*.eml"))) == 1
    row = Outgoing.get()
    assert (row.state, row.attempts) == ("sent", 1)


def test_without_a_relay_a_folder_that_cannot_be_written_keeps_the_mail_queued(tmp_path, database):
    config = make_config(tmp_path, support={"addresses": ["support@example.com"], "alerts_to": ["ops@example.com"]})
    (tmp_path / "var").mkdir(exist_ok=True)
    (tmp_path / "var" / "sent").write_text("a file where the folder should be")
    with database.atomic():
        outbox.queue_alert(config, "offline", "body")
    assert outbox.send_due(config) == 0
    row = Outgoing.get()
    assert row.state == "queued" and row.attempts == 1 and row.last_error and row.lease_until is None
    assert row.next_attempt_at > utcnow()


def test_no_recipient_no_alert(tmp_path, database, caplog):
    config = make_config(tmp_path)
    assert outbox.queue_alert(config, "nobody to tell", "body") is None
    assert "nobody to send it to" in caplog.text
    assert Outgoing.select().count() == 0


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ticket_mail_is_kept_on_its_ticket_and_sent_once(relayed, relay):
    from daemon.mail.parse import Address
    from daemon.outbound.compose import Draft, ticket_of_message_id
    from daemon.store.models import Message
    from daemon.tickets.lifecycle import customer_for, open_ticket
    with database.atomic():
        customer = customer_for(Address(name="Åse", addr="ase@example.no"))
        ticket = open_ticket(customer, "Skriveren", "hjelp@example.no", 10001)
        row = outbox.queue_ticket_mail(relayed, ticket, Draft(
            ticket_number=ticket.number, to=("Åse", "ase@example.no"), sender=("Støtte", "hjelp@example.no"),
            subject="Skriveren", text="Vi ser på saken.", in_reply_to="first@example.no"), "reply")
    stored = Message.get(Message.kind == "outbound")
    assert stored.ticket_id == ticket.id and stored.message_id == row.message_id.strip("<>")
    assert stored.subject == "Re: Skriveren [#10001]" and stored.body_text == "Vi ser på saken."
    assert outbox.send_due(relayed) == 1 and outbox.send_due(relayed) == 0
    [(_, rcpts, data)] = relay.received
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert rcpts == ["ase@example.no"] and parsed["In-Reply-To"] == "<first@example.no>"
    assert ticket_of_message_id(relayed, parsed["Message-ID"]) == ticket.number


def test_the_sender_still_sends_when_preparing_other_mail_fails(relayed, relay):
    with database.atomic():
        outbox.queue_alert(relayed, "mailbox failing", "Detaljer: ingen.")
    sender = outbox.Sender(relayed)
    sender.before_send.append(lambda: 1 / 0)  # a fault injected in what makes other mail ready
    sender.start()
    try:
        sender.wake()
        wait_for(lambda: relay.received, timeout=10)
    finally:
        sender.stop()
    assert len(relay.received) == 1


def test_a_database_fault_between_the_relays_250_and_the_record_sends_once_and_records_once(
        tmp_path, relay, postgres_url, monkeypatch):
    import psycopg2

    from daemon.store import db
    from tests.conftest import PG_DSN
    config = make_config(tmp_path, postgres_url, relay={"host": "127.0.0.1", "port": relay.port},
                         support={"alerts_to": ["ops@example.org"]})
    db.open_database(config)
    db.upgrade()
    with database.atomic():
        outbox.queue_alert(config, "the mailbox is failing", "details")
    ours = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    crash_point = outbox._crash_point

    def cut_the_connection(point):  # the database goes away the moment the relay has said 250
        if point == "accepted":
            with psycopg2.connect(PG_DSN) as admin, admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", (ours,))
            monkeypatch.setattr(outbox, "_crash_point", crash_point)
        crash_point(point)

    monkeypatch.setattr(outbox, "_crash_point", cut_the_connection)
    assert outbox.send_due(config) == 1  # the relay has it: it counts as sent, its record is owed
    assert len(relay.received) == 1 and outbox._UNRECORDED
    Outgoing.update(lease_until=utcnow()).execute()  # even with its lease run out it is not sent again
    assert outbox.send_due(config) == 0
    assert not outbox._UNRECORDED and len(relay.received) == 1
    row = Outgoing.get()
    assert (row.state, row.attempts, row.lease_until) == ("sent", 1, None) and row.sent_at is not None
    database.close()



def test_what_people_wrote_goes_before_a_backlog_of_automatic_mail(relayed, relay, database):
    with database.atomic():
        for n in range(5):
            row = outbox.queue(relayed, outbox.compose_notice(relayed, [f"c{n}@example.org"], "ack", "x"),
                               "acknowledgement")
            Outgoing.update(automatic=True).where(Outgoing.id == row.id).execute()
        person = outbox.queue(relayed, outbox.compose_notice(relayed, ["kari@example.no"], "reply", "x"), "reply")
    assert outbox.send_due(relayed, limit=2) == 2
    assert [rcpts for _, rcpts, _ in relay.received] == [["kari@example.no"], ["c0@example.org"]]
    assert Outgoing.get_by_id(person.id).state == "sent"


@pytest.mark.parametrize("subject", [
    "[#10001] Скоро срок первого ответа: Skriveren virker ikke",
    "[#10001] Første svar er for sent: Skriveren på tredje etasje skriver ikke ut lenger, hjelp",
    "Сводка патрульных отчётов за период с 2026-11-30 по 2026-12-06: 12 отчётов, 3 без проверки",
])
def test_a_notice_keeps_every_space_of_a_long_non_ascii_subject(tmp_path, subject):
    # Python 3.11's own folder dropped the space where it broke such a subject between encoded words.
    config = make_config(tmp_path)
    data = outbox.compose_notice(config, ["rita@example.no"], subject, "text").as_bytes()
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    assert email.message_from_bytes(data, policy=email.policy.default)["Subject"] == subject
