"""Delivery failure reports of our own mail mark it bounced on its ticket and open nothing.

The reports are written the way the common servers write them: an RFC 3464
report with the returned headers (Postfix), one with the whole returned mail
(Exim), one with base64 headers (Exchange), a free-form qmail bounce, and a
report of delay only.
"""
from __future__ import annotations

import base64
import json

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.mail import dsn
from daemon.mail.parse import Address
from daemon.outbound import replies
from daemon.store.models import AuditEvent, Inbound, Outgoing, Ticket
from daemon.tickets import lifecycle as tickets
from tests.conftest import make_config

SUPPORT = "hjelp@example.no"


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, support={"addresses": [SUPPORT]})


@pytest.fixture
def sent(config, database):
    """A ticket with its acknowledgement queued; the outbox row."""
    with database.atomic():
        ticket = tickets.open_ticket(tickets.customer_for(Address("Kari", "kari@example.org")), "Sak", SUPPORT, 10001)
        return replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)


def ingest(config, raw: bytes, mail_from: str | None = "") -> Inbound:
    spool.enqueue(raw, "test", mail_from=mail_from)
    pipeline.drain(config)
    return Inbound.select().order_by(Inbound.id.desc()).get()


def returned_headers(message_id: str) -> str:
    return (f"From: Kundestøtte <{SUPPORT}>\r\nTo: kari@example.org\r\nSubject: Re: [#10001] Sak\r\n"
            f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n")


def report(message_id: str, action: str = "failed", status: str = "5.1.1",
           diagnostic: str = "smtp; 550 5.1.1 <kari@example.org>: Recipient address rejected: User unknown",
           returned: str = "text/rfc822-headers", encode_returned: bool = False) -> bytes:
    headers = returned_headers(message_id)
    if returned == "message/rfc822":
        headers += "\r\nHei Kari,\r\nvi har fått saken din.\r\n"
    returned_part = (f"Content-Type: {returned}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                     f"{base64.encodebytes(headers.encode()).decode()}" if encode_returned
                     else f"Content-Type: {returned}\r\n\r\n{headers}")
    return (f"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: {SUPPORT}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce.1@mx.example.org>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:05 +0000\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients.\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
            f"Final-Recipient: rfc822; kari@example.org\r\nOriginal-Recipient: rfc822;kari@example.org\r\n"
            f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n"
            f"--B\r\n{returned_part}\r\n--B--\r\n").encode()


QMAIL = """From: MAILER-DAEMON@mail.example.org
To: {support}
Subject: failure notice
Message-ID: <qmail.1@mail.example.org>
Date: Mon, 23 Nov 2026 10:00:05 +0000

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<kari@example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <{support}>
From: {support}
To: kari@example.org
Subject: Re: [#10001] Sak
Message-ID: {message_id}

Hei Kari,
"""


def events(action: str) -> list[dict]:
    return [json.loads(e.detail) for e in AuditEvent.select().where(AuditEvent.action == action)]


@pytest.mark.parametrize("returned, encoded", [("text/rfc822-headers", False), ("message/rfc822", False),
                                               ("text/rfc822-headers", True)])
def test_a_failure_report_marks_our_mail_bounced_and_opens_no_ticket(config, sent, returned, encoded):
    row = ingest(config, report(sent.message_id, returned=returned, encode_returned=encoded))
    assert (row.state, row.outcome) == ("discarded", "bounced")
    assert sent.message_id in row.reason and "550 5.1.1" in row.reason
    bounced = Outgoing.get_by_id(sent.id)
    assert bounced.state == "bounced" and bounced.bounced_at is not None
    assert bounced.last_error == ("kari@example.org: 550 5.1.1 <kari@example.org>: "
                                  "Recipient address rejected: User unknown")
    assert Ticket.select().count() == 1
    [event] = events("mail bounced")
    assert event["outbox"] == sent.id and event["to"] == "kari@example.org"
    [outbound] = [m for m in tickets.ticket_detail(Ticket.get())["messages"] if m["kind"] == "outbound"]
    assert outbound["delivery"]["state"] == "bounced" and "User unknown" in outbound["delivery"]["error"]


def test_a_free_form_bounce_naming_our_message_id_marks_it_bounced(config, sent):
    raw = QMAIL.format(support=SUPPORT, message_id=sent.message_id).replace("\n", "\r\n").encode()
    row = ingest(config, raw)
    assert row.outcome == "bounced"
    assert Outgoing.get_by_id(sent.id).state == "bounced"
    assert Ticket.select().count() == 1


def test_a_report_of_delay_is_noted_but_the_mail_is_not_bounced(config, sent):
    row = ingest(config, report(sent.message_id, action="delayed", status="4.4.1",
                                diagnostic="smtp; 451 4.4.1 no answer from host"))
    assert (row.state, row.outcome) == ("discarded", "ignored")
    assert Outgoing.get_by_id(sent.id).state == "queued"
    [event] = events("delivery report")
    assert event["actions"] == ["delayed"]
    assert Ticket.select().count() == 1


def test_a_bounce_of_mail_we_never_sent_opens_nothing(config, sent):
    row = ingest(config, report("<somebody.else@example.org>"))
    assert (row.state, row.outcome) == ("discarded", "ignored")
    assert Outgoing.get_by_id(sent.id).state == "queued"
    assert Ticket.select().count() == 1 and not events("mail bounced")


def test_a_person_quoting_our_headers_is_not_a_bounce(config, sent):
    raw = (f"From: kari@example.org\r\nTo: {SUPPORT}\r\nSubject: Fwd: ack\r\nMessage-ID: <fwd@example.org>\r\n\r\n"
           f"---------- Forwarded message ---------\r\nMessage-ID: {sent.message_id}\r\n\r\nHei\r\n").encode()
    row = ingest(config, raw, mail_from="kari@example.org")
    assert row.outcome in ("created", "threaded")
    assert Outgoing.get_by_id(sent.id).state == "queued"


def test_the_report_reader_on_its_own():
    read = dsn.read_report(report("<pd.1.abc@example.no>", action="failed"))
    assert read.structured and read.failed and read.message_ids == ["pd.1.abc@example.no"]
    assert [(r.address, r.action, r.status) for r in read.recipients] == [("kari@example.org", "failed", "5.1.1")]
    delayed = dsn.read_report(report("<x@y>", action="delayed"))
    assert delayed.structured and not delayed.failed
    assert dsn.read_report(b"From: a@b\r\nSubject: hi\r\n\r\nplain text\r\n").message_ids == []


def test_a_report_whose_status_part_is_base64_is_read(config, sent):
    raw = report(sent.message_id).decode()
    status_start = raw.index("Content-Type: message/delivery-status\r\n\r\n") + len(
        "Content-Type: message/delivery-status\r\n\r\n")
    status_end = raw.index("\r\n--B", status_start)
    encoded = base64.encodebytes(raw[status_start:status_end].encode()).decode().replace("\n", "\r\n")
    raw = (raw[:status_start - 2] + "Content-Transfer-Encoding: base64\r\n\r\n" + encoded + raw[status_end:])
    row = ingest(config, raw.encode())
    assert row.outcome == "bounced" and "User unknown" in Outgoing.get_by_id(sent.id).last_error


def test_a_read_receipt_naming_our_mail_is_not_a_bounce(config, sent):
    raw = (f"From: kari@example.org\r\nTo: {SUPPORT}\r\nSubject: Read: Sak\r\nMessage-ID: <mdn@example.org>\r\n"
           'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary="B"'
           "\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n"
           "--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
           f"Final-Recipient: rfc822; kari@example.org\r\nOriginal-Message-ID: {sent.message_id}\r\n"
           "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
           f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {sent.message_id}\r\n\r\n--B--\r\n").encode()
    ingest(config, raw, mail_from="")
    assert Outgoing.get_by_id(sent.id).state == "queued" and not events("mail bounced")


def test_an_auto_reply_quoting_our_headers_is_not_a_bounce(config, sent):
    raw = (f"From: kari@example.org\r\nTo: {SUPPORT}\r\nSubject: Out of office\r\nMessage-ID: <ooo@example.org>\r\n"
           f"Auto-Submitted: auto-replied\r\n\r\nI am away.\r\n\r\n> Message-ID: {sent.message_id}\r\n> Hei Kari\r\n"
           ).encode()
    ingest(config, raw, mail_from="")
    assert Outgoing.get_by_id(sent.id).state == "queued" and not events("mail bounced")
