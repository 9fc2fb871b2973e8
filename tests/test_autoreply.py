"""Acknowledgements and the outbox, end to end: mail in through the SMTP listener, mail out
to a real aiosmtpd relay, parsed back as a customer's client would read it."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import smtplib
import time

import pytest

from daemon.mail.parse import Address
from daemon.outbound import automatic as autoreply
from daemon.outbound import outbox, replies
from daemon.store.db import database
from daemon.store.models import AuditEvent, Inbound, Message, Outgoing, Ticket, utcnow
from daemon.tickets import lifecycle as tickets
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail
from tests.outbox_cli import patroldesk, write_relayed_config
from tests.relay import Relay

SUPPORT = "hjelp@example.no"
OTHER_SUPPORT = "support@example.com"


def relayed_config(tmp_path, server, url=None, relay_keys=None, **sections):
    relay = {"host": "127.0.0.1", "port": server.port, "timeout_seconds": 2, "lease_seconds": 5,
             "retry_base_seconds": 1, "retry_max_seconds": 2}
    relay.update(relay_keys or {})
    support = {"name": "Kundestøtte", "addresses": [SUPPORT, OTHER_SUPPORT]}
    support.update(sections.pop("support", {}))
    return make_config(tmp_path, url, relay=relay, support=support, **sections)


def send(service, raw: bytes, sender="kari@example.org", rcpts=(SUPPORT,)) -> None:
    with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=10) as client:
        client.sendmail(sender, list(rcpts), raw)


def settled() -> bool:
    """Every mail processed, and every acknowledgement it asked for rendered (or held back)."""
    return not Inbound.select().where(Inbound.state.in_(("queued", "processing"))).exists() \
        and not Outgoing.select().where(Outgoing.state == "rendering").exists()


def trail(ticket: Ticket, action: str) -> list[dict]:
    return [json.loads(e.detail) for e in AuditEvent.select().where(
        (AuditEvent.ticket == ticket.id) & (AuditEvent.action == action)).order_by(AuditEvent.id)]


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path, relay):
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with running_service(relayed_config(tmp_path, relay, url)) as running:
        yield running


def test_a_new_ticket_gets_one_acknowledgement_threaded_to_the_customers_mail(service, relay):
    send(service, simple_mail(frm="Kari Nordmann <kari@example.org>", to=SUPPORT, subject="Skriveren virker ikke",
                              body="Hei, skriveren på tredje etasje virker ikke.", message_id="q1@example.org",
                              references="older@example.org"))
    wait_for(lambda: relay.received)
    [(mail_from, rcpts, _)] = relay.received
    [ack] = relay.mails()
    assert (mail_from, rcpts) == (SUPPORT, ["kari@example.org"])
    assert ack["In-Reply-To"] == "<q1@example.org>"
    assert ack["References"] == "<older@example.org> <q1@example.org>"
    # Written in Norwegian, so answered in Norwegian.
    assert ack["Subject"] == "Re: Vi har mottatt henvendelsen din: Skriveren virker ikke [#10001]"
    assert ack["Content-Language"] == "nb"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"].addresses[0].addr_spec == SUPPORT and ack["From"].addresses[0].display_name == "Kundestøtte"
    assert ack["To"].addresses[0].display_name == "Kari Nordmann"
    assert "Hei Kari Nordmann" in ack.get_body(("plain",)).get_content()
    ticket = Ticket.get()
    stored = Message.get(Message.kind == "outbound")
    assert stored.ticket_id == ticket.id and f"<{stored.message_id}>" == ack["Message-ID"]
    # The customer answers the acknowledgement: it joins the ticket and is not acknowledged again.
    send(service, simple_mail(frm="kari@example.org", to=SUPPORT, subject="Re: [#10001] We have your request",
                              body="Den blinker rødt.", message_id="q2@example.org", in_reply_to=ack["Message-ID"]))
    wait_for(lambda: Message.select().where(Message.kind == "inbound").count() == 2 and settled())
    service.sender.wake()
    time.sleep(0.5)
    assert len(relay.received) == 1 and Ticket.select().count() == 1
    assert Outgoing.get().state == "sent"


def test_the_acknowledgement_comes_from_the_address_the_customer_wrote_to(service, relay):
    send(service, simple_mail(frm="ola@example.org", to=OTHER_SUPPORT, subject="Invoice", body="Where is it?",
                              message_id="inv@example.org"), sender="ola@example.org", rcpts=(OTHER_SUPPORT,))
    wait_for(lambda: relay.received)
    [(mail_from, _, _)] = relay.received
    [ack] = relay.mails()
    assert ack["From"].addresses[0].addr_spec == OTHER_SUPPORT
    assert ack["Message-ID"].endswith("@example.com>")


def test_header_injection_through_name_and_subject_yields_exactly_the_expected_headers(service, relay):
    evil_name = "=?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Eorg?="
    evil_subject = "=?utf-8?q?Hello=0D=0ABcc=3A_victim=40example=2Eorg=0D=0A=0D=0Aforged?="
    raw = (f"From: {evil_name} <eve@example.org>\r\nTo: {SUPPORT}\r\nSubject: {evil_subject}\r\n"
           "Message-ID: <evil@example.org>\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\nhi\r\n").encode()
    send(service, raw, sender="eve@example.org")
    wait_for(lambda: relay.received)
    [(_, rcpts, data)] = relay.received
    assert rcpts == ["eve@example.org"]
    [ack] = relay.mails()
    assert sorted(ack.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                                         "Auto-Submitted", "X-Auto-Response-Suppress", "Content-Language",
                                         "MIME-Version", "Content-Type"])
    assert ack["Bcc"] is None and b"\r\nBcc:" not in data.split(b"\r\n\r\n")[0]
    assert [a.addr_spec for a in ack["To"].addresses] == ["eve@example.org"]
    assert ack["Subject"] == "Re: We have your request: Hello Bcc: victim@example.org forged [#10001]"


def test_a_relay_that_is_down_for_a_while_gets_each_mail_once_when_it_returns(service, relay):
    relay.stop()
    for n in range(3):
        send(service, simple_mail(frm=f"kunde{n}@example.org", to=SUPPORT, subject=f"Sak {n}", body="Hei",
                                  message_id=f"down{n}@example.org"), sender=f"kunde{n}@example.org")
    wait_for(lambda: Outgoing.select().where(Outgoing.attempts >= 2).count() == 3, timeout=30)
    assert not relay.received
    assert all(row.state == "queued" and "refused" in row.last_error for row in Outgoing.select())
    relay.start()
    wait_for(lambda: len(relay.received) == 3, timeout=30)
    time.sleep(1.5)  # a second sending would have happened by now
    assert sorted(rcpts[0] for _, rcpts, _ in relay.received) == [f"kunde{n}@example.org" for n in range(3)]
    assert len({mail["Message-ID"] for mail in relay.mails()}) == 3
    assert [row.state for row in Outgoing.select()] == ["sent"] * 3


def test_retries_are_spaced_by_capped_exponential_backoff(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay, relay_keys={"retry_base_seconds": 60, "retry_max_seconds": 200})
    relay.reply = "451 4.3.0 try again later"
    with database.atomic():
        ticket = tickets.open_ticket(tickets.customer_for(Address("Kari", "kari@example.org")), "Sak", SUPPORT, 10001)
        replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)
    delays = []
    for _ in range(4):
        before = utcnow()
        assert outbox.send_due(config) == 0
        row = Outgoing.get()
        delays.append((row.next_attempt_at - before).total_seconds())
        Outgoing.update(next_attempt_at=utcnow()).execute()  # time passes
    assert 0.8 * 60 - 1 <= delays[0] <= 60 + 1
    assert 0.8 * 120 - 1 <= delays[1] <= 120 + 1
    assert 0.8 * 200 - 1 <= delays[2] <= 200 + 1 and 0.8 * 200 - 1 <= delays[3] <= 200 + 1  # capped
    row = Outgoing.get()
    assert (row.state, row.attempts) == ("queued", 4) and row.last_error.startswith("451")
    assert not relay.received


def test_a_550_fails_the_mail_with_the_relays_words_and_shows_it_on_the_ticket(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)
    with database.atomic():
        ticket = tickets.open_ticket(tickets.customer_for(Address("Kari", "kari@example.org")), "Sak", SUPPORT, 10001)
        replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)
    relay.reply = "451 4.7.1 greylisted, come back later"
    assert outbox.send_due(config) == 0
    row = Outgoing.get()
    assert (row.state, row.attempts) == ("queued", 1) and row.last_error == "451 4.7.1 greylisted, come back later"
    Outgoing.update(next_attempt_at=utcnow()).execute()
    relay.reply = "550 5.1.1 <kari@example.org>: mailbox unavailable"
    assert outbox.send_due(config) == 0 and outbox.send_due(config) == 0
    row = Outgoing.get()
    assert (row.state, row.attempts) == ("failed", 2)
    assert row.last_error == "550 5.1.1 <kari@example.org>: mailbox unavailable"
    [outbound] = [m for m in tickets.ticket_detail(ticket)["messages"] if m["kind"] == "outbound"]
    assert outbound["delivery"]["state"] == "failed"
    assert outbound["delivery"]["error"] == "550 5.1.1 <kari@example.org>: mailbox unavailable"
    assert not relay.received


def test_a_sender_killed_between_claiming_and_sending_is_taken_over_at_once_and_sends_once(
        tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)
    config_file = write_relayed_config(tmp_path, config, SUPPORT)
    mail = tmp_path / "mail.eml"
    mail.write_bytes(simple_mail(frm="kari@example.org", to=SUPPORT, subject="Sak", body="Hei",
                                 message_id="k9@example.org"))
    assert patroldesk(config_file, "ingest", str(mail)).returncode == 0
    killed = patroldesk(config_file, "outbox", "send", crash_at="claimed")
    assert killed.returncode == -9, killed.stderr
    database.close()
    row = Outgoing.get()
    assert row.state == "sending" and row.lease_until > utcnow() and not relay.received
    again = patroldesk(config_file, "outbox", "send")  # its holder is dead: no wait for the lease
    assert again.stdout.startswith("sent 1"), again.stdout + again.stderr
    assert Outgoing.get().lease_until is None
    assert patroldesk(config_file, "outbox", "send").stdout.startswith("sent 0")
    assert len(relay.received) == 1 and Outgoing.get().state == "sent"


def _naive_responder(data: bytes) -> bytes:
    """An auto-responder of the worst kind: no Auto-Submitted, no In-Reply-To, a subject of its own."""
    import email as email_module
    import email.policy as email_policy
    mail = email_module.message_from_bytes(data, policy=email_policy.default)
    return (f"From: robot@example.org\r\nTo: {mail['From'].addresses[0].addr_spec}\r\n"
            f"Subject: Thank you for your message {time.monotonic_ns()}\r\n"
            f"Message-ID: <robot.{time.monotonic_ns()}@example.org>\r\n\r\nI am away.\r\n").encode()


def test_two_auto_responders_cannot_make_more_than_the_configured_number_of_mails(tmp_path, relay):
    config = relayed_config(tmp_path, relay, autoreply={"per_sender_per_hour": 3})
    with running_service(config) as service:
        relay.responder = _naive_responder
        relay.answer_to = ("127.0.0.1", service.smtp.port)
        send(service, simple_mail(frm="robot@example.org", to=SUPPORT, subject="Hello", body="Hi",
                                  message_id="start@example.org"), sender="robot@example.org")
        wait_for(lambda: relay.answered == 3 and Ticket.select().count() == 4 and settled(), timeout=30)
        time.sleep(2)  # anything further would have bounced back and forth by now
        assert len(relay.received) == 3 and relay.answered == 3
        assert Ticket.select().count() == 4
        last = Ticket.select().order_by(Ticket.id.desc()).get()
        [held] = trail(last, "automatic mail held back")
        assert held["kind"] == "acknowledgement" and "per_sender_per_hour" in held["reason"]
        assert Outgoing.select().count() == 3


def _polite_responder(data: bytes) -> bytes:
    import email as email_module
    import email.policy as email_policy
    mail = email_module.message_from_bytes(data, policy=email_policy.default)
    return (f"From: away@example.org\r\nTo: {mail['From'].addresses[0].addr_spec}\r\n"
            f"Subject: Out of office: {mail['Subject']}\r\nAuto-Submitted: auto-replied\r\n"
            f"In-Reply-To: {mail['Message-ID']}\r\n"
            f"Message-ID: <away.{time.monotonic_ns()}@example.org>\r\n\r\nI am away.\r\n").encode()


def test_an_out_of_office_reply_joins_the_ticket_and_is_never_answered(tmp_path, relay):
    config = relayed_config(tmp_path, relay)
    with running_service(config) as service:
        relay.responder = _polite_responder
        relay.answer_to = ("127.0.0.1", service.smtp.port)
        send(service, simple_mail(frm="away@example.org", to=SUPPORT, subject="Hello", body="Hi",
                                  message_id="start@example.org"), sender="away@example.org")
        wait_for(lambda: relay.answered == 1 and Message.select().count() == 3 and settled(), timeout=20)
        time.sleep(1)
        assert len(relay.received) == 1 and Ticket.select().count() == 1
        reply = Message.select().where(Message.kind == "inbound").order_by(Message.id.desc()).get()
        assert reply.automatic == "auto-submitted: auto-replied" and reply.thread_signal == "in-reply-to"


@pytest.mark.parametrize("sender", ["noreply@example.org", "no-reply@example.org", "do-not-reply@example.org",
                                    "DoNotReply@example.org", "postmaster@example.org"])
def test_no_acknowledgement_to_addresses_the_pattern_names(tmp_path, database, sender):
    config = make_config(tmp_path)
    ticket = _ticket_from(sender)
    assert autoreply.send_automatic(config, ticket, "acknowledgement", "acknowledgement") is None
    [held] = trail(ticket, "automatic mail held back")
    assert "autoreply.never_to" in held["reason"] and held["to"] == sender.lower()
    assert Outgoing.select().count() == 0


def _ticket_from(address: str) -> Ticket:
    with database.atomic():
        return tickets.open_ticket(tickets.customer_for(Address("", address.lower())), "Sak", SUPPORT, 10001)


def test_the_limits_each_hold_back_with_their_reason(tmp_path, database):
    config = make_config(tmp_path, support={"addresses": [SUPPORT]},
                         autoreply={"per_sender_per_hour": 2, "per_ticket": 3, "per_ticket_minutes": 10})
    ticket = _ticket_from("kari@example.org")
    assert autoreply.held_back(config, ticket, "kari@example.org", "auto-submitted: auto-replied") \
        == "the mail it would answer is automatic (auto-submitted: auto-replied)"
    assert autoreply.held_back(config, ticket, SUPPORT.upper()) == f"{SUPPORT} is one of our own support addresses"
    assert autoreply.held_back(config, ticket, "") == "there is no address to send it to"
    sent = [autoreply.send_automatic(config, ticket, "acknowledgement", "acknowledgement") for _ in range(3)]
    assert [row is not None for row in sent] == [True, True, False]
    assert "per_sender_per_hour" in trail(ticket, "automatic mail held back")[-1]["reason"]
    # An hour later the sender may hear from us again; the ticket's own cap is the next to hold.
    Outgoing.update(created_at=utcnow() - dt.timedelta(minutes=61)).execute()
    Outgoing.update(created_at=utcnow(), to_address="someone-else@example.org").where(
        Outgoing.id == sent[0].id).execute()
    assert autoreply.send_automatic(config, ticket, "acknowledgement", "acknowledgement") is not None
    assert autoreply.send_automatic(config, ticket, "acknowledgement", "acknowledgement") is not None
    Outgoing.update(created_at=utcnow()).execute()
    Outgoing.update(to_address="x@example.org").execute()  # only the ticket's cap can hold now
    assert autoreply.send_automatic(config, ticket, "acknowledgement", "acknowledgement") is None
    assert "autoreply.per_ticket" in trail(ticket, "automatic mail held back")[-1]["reason"]


def test_a_broken_acknowledgement_template_holds_the_mail_back_and_keeps_the_ticket(tmp_path, relay):
    config = relayed_config(tmp_path, relay)
    with running_service(config) as service:
        with database.atomic():  # written past the checks, as if edited in the database by hand
            from daemon.store.models import ReplyTemplate
            ReplyTemplate.create(name="acknowledgement", subject="Hei {{ customer.nmae }}", text="x")
        send(service, simple_mail(frm="kari@example.org", to=SUPPORT, subject="Sak", body="Hei",
                                  message_id="broken@example.org"))
        wait_for(lambda: Ticket.select().count() == 1 and settled())
        row = Inbound.get()
        assert (row.state, row.outcome) == ("done", "created")
        [held] = trail(Ticket.get(), "automatic mail held back")
        assert "'customer.nmae'" in held["reason"] or "nmae" in held["reason"]
        assert Outgoing.select().count() == 0 and Message.select().count() == 1


def test_acknowledging_is_a_setting_of_each_way_in(tmp_path):
    off = make_config(tmp_path, smtp={"acknowledge": False})
    assert autoreply.acknowledges(off, None) is False
    config = make_config(tmp_path)
    boxes = (dataclasses.replace(_mailbox(), name="quiet", acknowledge=False),
             dataclasses.replace(_mailbox(), name="loud"))
    config = dataclasses.replace(config, mailbox=boxes)
    assert autoreply.acknowledges(config, "quiet") is False
    assert autoreply.acknowledges(config, "loud") is True
    assert autoreply.acknowledges(config, None) is True


def _mailbox():
    from daemon.config import MailboxConfig
    return MailboxConfig(host="127.0.0.1", user="u", password="p")


def test_no_acknowledgement_where_the_listener_is_told_not_to(tmp_path, relay):
    config = relayed_config(tmp_path, relay, smtp={"acknowledge": False})
    with running_service(config) as service:
        send(service, simple_mail(frm="kari@example.org", to=SUPPORT, subject="Sak", body="Hei",
                                  message_id="quiet@example.org"))
        wait_for(lambda: Ticket.select().count() == 1 and settled())
        service.sender.wake()
        time.sleep(0.5)
        assert Outgoing.select().count() == 0 and not relay.received


def test_outbox_send_says_what_it_did(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)
    config_file = write_relayed_config(tmp_path, config, SUPPORT)
    ticket = _ticket_from("kari@example.org")
    with database.atomic():
        replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)
    database.close()
    result = patroldesk(config_file, "outbox", "send")
    assert (result.returncode, result.stdout) == (0, "sent 1; 0 waiting\n")
    assert len(relay.received) == 1


def test_a_lease_shorter_than_two_timeouts_is_refused(tmp_path):
    from daemon.config import load_config
    from daemon.errors import ConfigError
    path = tmp_path / "c.toml"
    path.write_text("[relay]\ntimeout_seconds = 30\nlease_seconds = 40\n")
    with pytest.raises(ConfigError, match=r"relay.lease_seconds: must be at least twice relay.timeout_seconds"):
        load_config(path, {})



# What a review found: each case once broke sending or lost a customer's mail.

def test_a_customers_8bit_message_id_still_opens_a_ticket_and_is_acknowledged(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)
    raw = (f"From: kari@example.org\r\nTo: {SUPPORT}\r\nSubject: Sak\r\nMessage-ID: <\xc3\xbc1@example.org>\r\n"
           "References: <\xff@x> <old@example.org>\r\n\r\nHei\r\n").encode("latin-1")
    from daemon.ingest import pipeline
    from daemon.ingest.sources import spool
    spool.enqueue(raw, "test")
    [result] = pipeline.drain(config)
    assert result.outcome == "created"
    assert outbox.send_due(config) == 1
    [ack] = relay.mails()
    assert ack["In-Reply-To"] is None and ack["References"] == "<old@example.org>"
    assert ack["Subject"].startswith("Re: ") and ack["Subject"].endswith(" [#10001]")


def test_an_internationalised_recipient_needs_smtputf8_and_holds_up_no_other_mail(tmp_path, database):
    plain = Relay(smtputf8=False)
    plain.start()
    try:
        config = relayed_config(tmp_path, plain)
        for address in ("kåre@eksempel.no", "bob@example.org"):
            ticket = _ticket_from(address)
            with database.atomic():
                replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)
        assert outbox.send_due(config) == 1
        failed, sent = Outgoing.select().order_by(Outgoing.id)
        assert (failed.state, sent.state) == ("failed", "sent")
        assert "does not offer SMTPUTF8" in failed.last_error
        assert [rcpts for _, rcpts, _ in plain.received] == [["bob@example.org"]]
    finally:
        plain.stop()
    utf8 = Relay(smtputf8=True)
    utf8.start()
    try:
        config = relayed_config(tmp_path, utf8)
        Outgoing.update(state="queued", next_attempt_at=utcnow()).where(Outgoing.state == "failed").execute()
        assert outbox.send_due(config) == 1
        [(_, rcpts, data)] = utf8.received
        assert rcpts == ["kåre@eksempel.no"] and "kåre@eksempel.no".encode() in data
    finally:
        utf8.stop()


def test_a_relay_that_says_goodbye_wrongly_still_gets_each_mail_once(tmp_path, database):
    from tests.relay import RudeGoodbyeRelay
    rude = RudeGoodbyeRelay()
    rude.start()
    try:
        config = relayed_config(tmp_path, rude)
        with database.atomic():
            replies.send_templated(config, _ticket_from("kari@example.org"), "acknowledgement", "acknowledgement",
                                   automatic=True)
        assert outbox.send_due(config) == 1
        Outgoing.update(next_attempt_at=utcnow()).execute()
        assert outbox.send_due(config) == 0
        assert len(rude.received) == 1 and Outgoing.get().state == "sent"
    finally:
        rude.stop()


def test_a_relay_slower_than_the_lease_is_abandoned_before_the_lease_runs_out(tmp_path, database):
    slow = Relay(delay=1.5)  # MAIL, RCPT and DATA each take 1.5 s: 4.5 s, against a 5 s lease less its margin
    slow.start()
    try:
        config = relayed_config(tmp_path, slow)
        with database.atomic():
            replies.send_templated(config, _ticket_from("kari@example.org"), "acknowledgement", "acknowledgement",
                                   automatic=True)
        started = time.monotonic()
        assert outbox.send_due(config) == 0
        assert time.monotonic() - started < config.relay.lease_seconds
        row = Outgoing.get()
        assert row.state == "queued" and "lease" in row.last_error and not slow.received
    finally:
        slow.stop()


def test_outbox_send_says_when_mail_failed_for_good_and_exits_1(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)
    config_file = write_relayed_config(tmp_path, config, SUPPORT)
    with database.atomic():
        replies.send_templated(config, _ticket_from("kari@example.org"), "acknowledgement", "acknowledgement",
                               automatic=True)
    database.close()
    relay.reply = "550 5.1.1 no such user"
    result = patroldesk(config_file, "outbox", "send")
    assert result.returncode == 1
    assert result.stdout == ("sent 0; 1 failed for good (see `patroldesk outbox list --state failed`); "
                             "0 waiting\n")


def test_an_agents_reply_opens_a_new_ticket_and_says_so_on_the_trail(tmp_path, database):
    config = make_config(tmp_path, support={"addresses": [SUPPORT]})
    ticket = _ticket_from("kari@example.org")
    with database.atomic():
        replies.send_templated(config, ticket, "acknowledgement", "acknowledgement", automatic=True)
    assert Ticket.get_by_id(ticket.id).status == "new"  # an automatic mail is not an answer
    queued = replies.send_templated(config, ticket, "reply", "reply", body="Prøv å starte på nytt.")
    assert Ticket.get_by_id(ticket.id).status == "open"
    [replied] = trail(ticket, "replied")
    assert replied == {"outbox": queued.id, "template": "reply", "status": "new -> open"}
    outbound = Message.select().where(Message.kind == "outbound").order_by(Message.id)
    assert all(m.sent_at is not None for m in outbound)
    assert outbox.send_due(config) == 2
    assert [row.attempts for row in Outgoing.select()] == [1, 1]


def test_a_mail_whose_lease_is_half_gone_is_renewed_or_left_to_the_sender_that_took_it(tmp_path, relay, database):
    config = relayed_config(tmp_path, relay)  # lease 5 s
    for address in ("kari@example.org", "ola@example.org"):
        with database.atomic():
            replies.send_templated(config, _ticket_from(address), "acknowledgement", "acknowledgement",
                                   automatic=True)
    first, second = outbox._claim(config, 10)
    soon = utcnow() + dt.timedelta(seconds=1)
    first.lease_until = second.lease_until = soon  # as if the batch before them had been slow
    Outgoing.update(claim_token="someone-else").where(Outgoing.id == second.id).execute()
    assert outbox._send_one(config, first) == 1  # renewed, then sent
    assert outbox._send_one(config, second) == 0  # taken over meanwhile: left alone
    assert [rcpts for _, rcpts, _ in relay.received] == [["kari@example.org"]]
    assert Outgoing.get_by_id(second.id).state == "sending"
