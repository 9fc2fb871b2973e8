"""Mail through a real aiosmtpd listener, sent with smtplib, ends as tickets.

Each test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import smtplib
import socket

import pytest

from daemon.store import db
from daemon.store.models import Inbound, Message, Outgoing, RawMail, Ticket
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail

SUPPORT = "support@example.com"


@pytest.fixture
def service(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT, "hjelp@example.no"]})
    with running_service(config) as running:
        yield running


def send(service, raw: bytes, sender="anna@example.org", rcpts=(SUPPORT,)) -> dict:
    with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10) as client:
        return client.sendmail(sender, list(rcpts), raw)


def settled() -> bool:
    return not Inbound.select().where(Inbound.state.in_(("queued", "processing"))).exists()


def deliver(service, raw: bytes, **kwargs) -> Inbound:
    """Send one mail and wait until the pipeline has decided about it."""
    send(service, raw, **kwargs)
    wait_for(settled)
    return Inbound.select().order_by(Inbound.id.desc()).get()


def inbound():
    """The customers' mail stored: a new ticket also carries its acknowledgement, an outbound message."""
    return Message.select().where(Message.kind == "inbound")


def acknowledged() -> list[tuple[int, str]]:
    """(ticket number, recipient) of each acknowledgement queued, in order."""
    return [(row.ticket.number, row.to_address) for row in
            Outgoing.select().where(Outgoing.kind == "acknowledgement").order_by(Outgoing.id)]


def test_a_new_mail_creates_a_ticket(service):
    row = deliver(service, simple_mail(frm="Анна Петрова <anna@example.org>", to=SUPPORT,
                                       subject="Принтер не печатает", body="Здравствуйте! Принтер молчит.",
                                       message_id="m1@example.org"))
    assert row.outcome == "created"
    ticket = Ticket.get()
    assert ticket.subject == "Принтер не печатает"
    assert ticket.requester.email == "anna@example.org"
    assert ticket.requester.name == "Анна Петрова"
    assert ticket.support_address == SUPPORT
    assert ticket.number == 10001
    assert "Принтер молчит" in ticket.messages.where(Message.kind == "inbound").get().body_text


def test_a_reply_by_in_reply_to_joins_the_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Skriveren virker ikke",
                                 body="Hei", message_id="first@example.org"))
    row = deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Sv: noe annet",
                                       body="Fortsatt ødelagt", message_id="second@example.org",
                                       in_reply_to="<first@example.org>"))
    assert row.outcome == "threaded"
    assert Ticket.select().count() == 1
    assert row.message.thread_signal == "in-reply-to"


def test_a_reply_carrying_only_references_joins_the_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Login",
                                 body="cannot log in", message_id="r1@example.org"))
    row = deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="other words",
                                       body="still", message_id="r2@example.org",
                                       references="<unknown@elsewhere> <r1@example.org>"))
    assert row.outcome == "threaded"
    assert row.message.thread_signal == "references"


def test_a_reply_by_subject_tag_from_the_requester_joins_the_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="VPN",
                                 body="VPN drops", message_id="t1@example.org"))
    row = deliver(service, simple_mail(frm="Anna <ANNA@example.org>", to=SUPPORT,
                                       subject="Re: [#10001] VPN", body="more", message_id="t2@example.org"))
    assert row.outcome == "threaded"
    assert row.message.thread_signal == "subject-tag"
    assert Ticket.select().count() == 1


def test_a_subject_tag_from_someone_on_cc_joins_the_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="VPN", body="VPN drops",
                                 message_id="c1@example.org", extra_headers=[("Cc", "boss@example.org")]))
    row = deliver(service, simple_mail(frm="boss@example.org", to=SUPPORT, subject="Re: [#10001] VPN",
                                       body="any news?", message_id="c2@example.org"),
                  sender="boss@example.org")
    assert row.outcome == "threaded"
    assert row.message.thread_signal == "subject-tag"


def test_the_same_tag_from_a_stranger_opens_a_new_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="VPN",
                                 body="VPN drops", message_id="s1@example.org"))
    row = deliver(service, simple_mail(frm="mallory@evil.example", to=SUPPORT,
                                       subject="Re: [#10001] VPN", body="give me access",
                                       message_id="s2@example.org"), sender="mallory@evil.example")
    assert row.outcome == "created"
    new = row.message.ticket
    assert new.number != 10001
    assert new.claimed_ref == 10001
    assert Ticket.by_number(10001).messages.where(Message.kind == "inbound").count() == 1
    # Each ticket is acknowledged to its own requester: the stranger learns nothing of #10001.
    assert acknowledged() == [(10001, "anna@example.org"), (new.number, "mallory@evil.example")]


def test_a_duplicate_delivery_is_stored_once(service):
    raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="Twice", body="x",
                      message_id="dup@example.org")
    deliver(service, raw)
    row = deliver(service, raw)
    assert row.outcome == "duplicate"
    assert inbound().count() == 1
    assert acknowledged() == [(10001, "anna@example.org")]  # acknowledged once, not per delivery
    assert RawMail.select().count() == 1
    assert Inbound.select().count() == 2


def test_a_copy_through_another_route_is_a_duplicate(service):
    raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="Twice", body="x",
                      message_id="route@example.org")
    deliver(service, raw)
    row = deliver(service, b"Received: from relay2.example.org by mx\r\n" + raw)
    assert row.outcome == "duplicate"
    assert inbound().count() == 1
    assert acknowledged() == [(10001, "anna@example.org")]


def test_a_mail_without_message_id_delivered_twice_is_stored_once(service):
    raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="No id", body="x")
    assert b"Message-ID" not in raw
    deliver(service, raw)
    row = deliver(service, raw)
    assert row.outcome == "duplicate"
    assert Ticket.select().count() == 1
    assert acknowledged() == [(10001, "anna@example.org")]


def test_an_auto_reply_opens_nothing(service):
    row = deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Out of office",
                                       body="I am away", message_id="ooo@example.org",
                                       extra_headers=[("Auto-Submitted", "auto-replied")]))
    assert row.outcome == "ignored"
    assert row.state == "discarded"
    assert "auto-replied" in row.reason
    assert Ticket.select().count() == 0


def test_an_auto_reply_to_a_ticket_is_kept_on_it_without_reopening(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Help", body="x",
                                 message_id="h1@example.org"))
    Ticket.update(status="solved").execute()
    row = deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Auto: Help",
                                       body="away", message_id="h2@example.org", in_reply_to="<h1@example.org>",
                                       extra_headers=[("Auto-Submitted", "auto-replied")]))
    assert row.outcome == "threaded"
    assert row.message.automatic
    assert Ticket.get().status == "solved"


def test_a_bounce_with_the_null_sender_opens_nothing(service):
    row = deliver(service, simple_mail(frm="someone@example.org", to=SUPPORT, subject="Undelivered",
                                       body="failed", message_id="b1@example.org"), sender="")
    assert row.outcome == "ignored"
    assert Ticket.select().count() == 0


def test_a_customer_reply_reopens_a_solved_ticket(service):
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Help", body="x",
                                 message_id="o1@example.org"))
    Ticket.update(status="solved").execute()
    deliver(service, simple_mail(frm="anna@example.org", to=SUPPORT, subject="Re: Help", body="again",
                                 message_id="o2@example.org", in_reply_to="<o1@example.org>"))
    assert Ticket.get().status == "open"


def test_an_unknown_recipient_is_refused_with_550(service):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(service, simple_mail(frm="a@example.org", to="sales@example.com", subject="x", body="y"),
             rcpts=("sales@example.com",))
    code, _ = refused.value.recipients["sales@example.com"]
    assert code == 550
    assert Inbound.select().count() == 0


def test_a_mail_over_the_size_limit_is_refused_with_552(tmp_path):
    config = make_config(tmp_path, smtp={"max_message_bytes": 2048})
    with running_service(config) as running:
        big = simple_mail(frm="a@example.org", to="support@localhost", subject="big", body="x" * 10_000)
        # A client that declares the size is refused at MAIL FROM ...
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            send(running, big, rcpts=("support@localhost",))
        assert refused.value.smtp_code == 552
        # ... and one that does not, after DATA.
        with smtplib.SMTP("127.0.0.1", running.smtp.port, timeout=10) as client:
            client.ehlo()
            assert client.mail("a@example.org")[0] == 250
            assert client.rcpt("support@localhost")[0] == 250
            assert client.data(big)[0] == 552
        assert Inbound.select().count() == 0


def test_a_failed_spool_write_answers_451_and_the_retry_lands(service):
    db.database.execute_sql("ALTER TABLE raw_mail RENAME TO raw_mail_away")
    raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="Retry me", body="x", message_id="w@x")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(service, raw)
    assert refused.value.smtp_code == 451
    db.database.execute_sql("ALTER TABLE raw_mail_away RENAME TO raw_mail")
    row = deliver(service, raw)
    assert row.outcome == "created"


def test_an_internationalised_address_is_accepted_with_smtputf8(service):
    raw = ("From: Åse Ødegård <åse@eksempel.no>\r\nTo: støtte <" + SUPPORT + ">\r\n"
           "Subject: Internasjonal adresse\r\nMessage-ID: <eai@eksempel.no>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nHei fra Åse\r\n").encode()
    with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10) as client:
        client.sendmail("åse@eksempel.no", [SUPPORT], raw, mail_options=["SMTPUTF8"])
    wait_for(settled)
    ticket = Ticket.get()
    assert ticket.requester.email == "åse@eksempel.no"
    assert ticket.requester.name == "Åse Ødegård"


def test_lmtp_answers_once_per_recipient(tmp_path):
    config = make_config(tmp_path, smtp={"protocol": "lmtp"},
                         support={"addresses": [SUPPORT, "hjelp@example.no"]})
    with running_service(config) as running:
        raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="LMTP", body="x",
                          message_id="lmtp@example.org")
        replies = lmtp_conversation(running.smtp.port, "anna@example.org", [SUPPORT, "hjelp@example.no"], raw)
        assert [r[:3] for r in replies] == ["250", "250"]
        wait_for(settled)
        assert Ticket.select().count() == 1
        assert Inbound.select().count() == 1


def lmtp_conversation(port: int, sender: str, rcpts: list[str], raw: bytes) -> list[str]:
    """Speak LMTP by hand and return the final replies to DATA, one per recipient."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> str:
            while True:
                line = reader.readline().decode()
                if line[3:4] != "-":
                    return line.strip()

        def command(text: str) -> str:
            sock.sendall(text.encode() + b"\r\n")
            return reply()

        assert reply().startswith("220")
        assert command("LHLO client.example").startswith("250")
        assert command(f"MAIL FROM:<{sender}>").startswith("250")
        for rcpt in rcpts:
            assert command(f"RCPT TO:<{rcpt}>").startswith("250")
        assert command("DATA").startswith("354")
        sock.sendall(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        finals = [reply() for _ in rcpts]
        command("QUIT")
        return finals


def test_a_sender_address_with_control_characters_is_refused_for_good(service):
    with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10) as client:
        client.ehlo()
        code, _ = client.mail("ann\x01a@example.org")
    assert code == 553
    assert Inbound.select().count() == 0


def test_a_100_kb_header_line_arrives_over_smtp(service):
    raw = simple_mail(frm="anna@example.org", to=SUPPORT, subject="Long header", body="x",
                      message_id="long-header@example.org",
                      extra_headers=[("X-Long", "y" * 100_000)])
    row = deliver(service, raw)
    assert row.outcome == "created"
    assert bytes(row.raw.data) == raw


def test_the_listener_recovers_when_the_database_drops_its_connections(tmp_path, postgres_url):
    config = make_config(tmp_path, postgres_url)
    with running_service(config) as running:
        deliver(running, simple_mail(frm="anna@example.org", to="support@localhost", subject="before",
                                     body="x", message_id="before@x"), rcpts=("support@localhost",))
        # What a server restart or a failover does to every open connection.
        name = postgres_url.rsplit("/", 1)[1]
        db.database.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        row = deliver(running, simple_mail(frm="anna@example.org", to="support@localhost", subject="after",
                                           body="x", message_id="after@x"), rcpts=("support@localhost",))
        assert row.outcome == "created"


def test_a_stop_tells_open_sessions_to_come_back_later(service):
    client = smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10)
    client.ehlo()
    service.smtp.stop()
    code, message = client.noop()
    assert code == 421 and b"shutting down" in message
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.noop()
