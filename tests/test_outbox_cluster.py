"""The outbox among several senders: a dead sender's mail taken over at once, a mail whose fate
is unknown kept for a person's word, and a destination refusing for now holding up no one else.

Senders are real processes killed with SIGKILL at the outbox's crash points; the relay is a
real aiosmtpd server on loopback (tests/relay.py).
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from daemon.outbound import outbox
from daemon.store import cluster, db
from daemon.store.db import database
from daemon.store.models import AuditEvent, Node, Outgoing, Ticket, utcnow
from tests.conftest import make_config
from tests.corpus import simple_mail
from tests.outbox_cli import patroldesk, write_relayed_config
from tests.relay import Relay, free_port
from tests.webtools import make_console, token

SUPPORT = "hjelp@example.no"
LEASE = 60  # long: a takeover that waited for the lease would show


def relayed(tmp_path, url, port, **relay_keys) -> object:
    relay = {"host": "127.0.0.1", "port": port, "timeout_seconds": 2, "lease_seconds": LEASE,
             "retry_base_seconds": 60, "retry_max_seconds": 120, **relay_keys}
    return make_config(tmp_path, url, relay=relay, support={"addresses": [SUPPORT], "alerts_to": ["drift@example.no"]})


@pytest.fixture
def opened(tmp_path, backend_url, relay):
    """A relayed configuration on an upgraded database (SQLite, then PostgreSQL)."""
    config = relayed(tmp_path, backend_url, relay.port)
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


def acknowledgement_queued(tmp_path: Path, config_file: Path) -> Outgoing:
    """A customer's mail, through the pipeline in a process of its own: its acknowledgement is queued."""
    mail = tmp_path / "mail.eml"
    mail.write_bytes(simple_mail(frm="kari@example.org", to=SUPPORT, subject="Skriveren", body="Hei",
                                 message_id="k9@example.org"))
    done = patroldesk(config_file, "ingest", str(mail))
    assert done.returncode == 0, done.stderr
    return Outgoing.get()


def trail(action: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


# A sender that dies ----------------------------------------------------------

def test_a_sender_killed_holding_a_claim_is_taken_over_at_once_and_the_mail_delivered_once(
        tmp_path, opened, relay):
    config_file = write_relayed_config(tmp_path, opened, SUPPORT)
    acknowledgement_queued(tmp_path, config_file)
    killed = patroldesk(config_file, "outbox", "send", crash_at="claimed")
    assert killed.returncode == -9, killed.stderr
    held = Outgoing.get()
    assert held.state == "sending" and held.claimed_by and not relay.received
    assert (held.lease_until - utcnow()).total_seconds() > LEASE - 10  # nearly the whole lease still to run
    again = patroldesk(config_file, "outbox", "send")
    assert again.stdout.startswith("sent 1"), again.stdout + again.stderr
    assert "is no longer running; taking the mail over" in again.stderr
    assert patroldesk(config_file, "outbox", "send").stdout.startswith("sent 0")
    assert len(relay.received) == 1
    row = Outgoing.get()
    assert (row.state, row.attempts, row.data_at) == ("sent", 1, None)
    assert row.claimed_by != held.claimed_by


def test_a_holder_on_another_host_is_taken_over_once_its_heartbeat_is_old_and_not_before(opened, relay):
    with database.atomic():
        outbox.queue_alert(opened, "the mailbox is failing", "details")
    elsewhere = "other-host.example/4242/99"
    beat = utcnow()
    Node.create(identity=elsewhere, host="other-host.example", pid=4242, roles="outbox", started_at=beat,
                heartbeat_at=beat)
    Outgoing.update(state="sending", claimed_by=elsewhere, claim_token="theirs",
                    lease_until=utcnow() + dt.timedelta(seconds=LEASE)).execute()
    assert outbox.send_due(opened) == 0  # its heartbeat is fresh: it may be sending right now
    Outgoing.update(claimed_by="unregistered.example/77/1").execute()
    assert outbox.send_due(opened) == 0  # a one-off command elsewhere is not known dead: its lease must run out
    Outgoing.update(claimed_by=elsewhere).execute()
    Node.update(heartbeat_at=beat - dt.timedelta(seconds=opened.cluster.dead_after_seconds + 5)).execute()
    assert outbox.send_due(opened) == 1
    assert len(relay.received) == 1 and Outgoing.get().claimed_by == cluster.process_identity()


def test_a_sender_killed_after_handing_over_the_content_leaves_the_mail_possibly_sent_until_a_person_says(
        tmp_path, opened, relay):
    config_file = write_relayed_config(tmp_path, opened, SUPPORT)
    queued = acknowledgement_queued(tmp_path, config_file)
    killed = patroldesk(config_file, "outbox", "send", crash_at="data")
    assert killed.returncode == -9, killed.stderr
    assert Outgoing.get().data_at is not None and Outgoing.get().state == "sending"
    again = patroldesk(config_file, "outbox", "send")
    assert again.stdout == ("sent 0; 1 possibly sent, waiting for a person's word (see `patroldesk outbox list "
                            "--state uncertain`); 0 waiting\n"), again.stdout + again.stderr
    assert f"outbox {queued.id} to kari@example.org: possibly sent" in again.stderr  # said at WARNING
    row = Outgoing.get()
    assert row.state == "uncertain" and "stopped after handing the mail to the relay" in row.last_error
    assert patroldesk(config_file, "outbox", "send").stdout.startswith("sent 0") and not relay.received
    [event] = trail("mail possibly sent")
    assert event.ticket_id == row.ticket_id and json.loads(event.detail)["outbox"] == row.id

    listed = patroldesk(config_file, "outbox", "list", "--state", "uncertain", "--json")
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["id"], item["state"]) == (row.id, "uncertain") and "possibly sent" in item["last_error"]
    refused = patroldesk(config_file, "outbox", "retry", str(row.id))
    assert refused.returncode == 1 and f"outbox resend {row.id}" in refused.stderr

    console = make_console(opened)
    page = console.client("agent").get(f"/tickets/{Ticket.get().number}").get_data(as_text=True)
    assert "possibly sent" in page and f"/mail/{row.id}/send-again" in page and f"/mail/{row.id}/arrived" in page

    resent = patroldesk(config_file, "outbox", "resend", str(row.id))
    assert resent.returncode == 0 and resent.stdout == f"outbox {row.id}: uncertain -> queued, due now\n"
    assert patroldesk(config_file, "outbox", "send").stdout.startswith("sent 1")
    assert len(relay.received) == 1 and Outgoing.get().state == "sent"
    assert [json.loads(e.detail)["outbox"] for e in trail("mail sent again")] == [row.id]


def test_a_relay_that_gives_no_answer_after_the_content_leaves_the_mail_possibly_sent(tmp_path, database):
    class Silent(Relay):
        contents: list = []

        async def handle_DATA(self, server, session, envelope):
            self.contents.append(envelope.original_content)  # the relay has the whole mail ...
            await asyncio.sleep(3)  # ... and answers later than the sender waits
            return "250 OK"

    silent = Silent()
    silent.start()
    try:
        config = relayed(tmp_path, None, silent.port, timeout_seconds=1, lease_seconds=5)
        with database.atomic():
            outbox.queue_alert(config, "the mailbox is failing", "details")
        assert outbox.send_due(config) == 0
        row = Outgoing.get()
        assert row.state == "uncertain" and "no answer after the mail's content" in row.last_error
        assert row.data_at is not None and row.attempts == 1
        assert len(silent.contents) == 1  # it may well arrive: sending it again could make two
        Outgoing.update(next_attempt_at=utcnow()).execute()
        assert outbox.send_due(config) == 0 and len(silent.contents) == 1
    finally:
        silent.stop()


def test_a_lease_that_ran_out_after_the_content_went_makes_the_mail_possibly_sent_with_a_warning(
        opened, relay, caplog):
    with database.atomic():
        queued = outbox.queue_alert(opened, "the mailbox is failing", "details")
    Outgoing.update(state="sending", claimed_by=cluster.process_identity(), claim_token="slow",
                    lease_until=utcnow() - dt.timedelta(seconds=1), data_at=utcnow()).execute()
    with caplog.at_level(logging.WARNING, logger="patroldesk.outbox"):
        assert outbox.send_due(opened) == 0
    row = Outgoing.get()
    assert row.state == "uncertain" and "its sender's lease ran out" in row.last_error and not relay.received
    assert f"outbox {queued.id} to drift@example.no: possibly sent" in caplog.text


# A person's word ---------------------------------------------------------------

def possibly_sent_mail(config, to: str) -> Outgoing:
    from daemon.mail.parse import Address
    from daemon.outbound.compose import Draft
    from daemon.tickets import lifecycle
    with database.atomic():
        ticket = lifecycle.open_ticket(lifecycle.customer_for(Address("", to)), "Skriveren", SUPPORT, 10001)
        row = outbox.queue_ticket_mail(config, ticket, Draft(
            ticket_number=ticket.number, to=("", to), sender=("Støtte", SUPPORT), subject="Skriveren",
            text="Vi ser på saken."), "reply")
    went = utcnow() - dt.timedelta(minutes=3)
    Outgoing.update(state="uncertain", data_at=went, last_error="possibly sent: test").where(
        Outgoing.id == row.id).execute()
    return Outgoing.get_by_id(row.id)


def test_an_agent_settles_a_possibly_sent_mail_on_the_ticket_page(opened):
    console = make_console(opened)
    arrived, lost = possibly_sent_mail(opened, "ase@example.no"), possibly_sent_mail(opened, "ola@example.no")
    agent = console.client("agent")
    number = Ticket.get_by_id(arrived.ticket_id).number
    page = f"/tickets/{number}"
    shown = agent.get(page).get_data(as_text=True)
    assert "possibly sent" in shown and "Send again" in shown and "It arrived" in shown
    assert agent.post(f"{page}/mail/{arrived.id}/arrived").status_code == 400  # no CSRF token, no change
    answer = agent.post(f"{page}/mail/{arrived.id}/arrived", data={"csrf_token": token(agent, page)})
    assert answer.status_code == 302
    row = Outgoing.get_by_id(arrived.id)
    assert (row.state, row.sent_at, row.data_at) == ("sent", arrived.data_at, None)
    [event] = trail("mail taken as arrived")
    assert event.actor_id == console.people["agent"].id and event.ticket_id == arrived.ticket_id
    twice = agent.post(f"{page}/mail/{arrived.id}/send-again", data={"csrf_token": token(agent, page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "is not possibly sent (it is sent now)" in twice and Outgoing.get_by_id(arrived.id).state == "sent"
    other_ticket = agent.post(f"{page}/mail/{lost.id}/send-again", data={"csrf_token": token(agent, page)},
                              follow_redirects=True).get_data(as_text=True)
    assert f"no outbox mail {lost.id}" in other_ticket and Outgoing.get_by_id(lost.id).state == "uncertain"
    lost_page = f"/tickets/{Ticket.get_by_id(lost.ticket_id).number}"
    agent.post(f"{lost_page}/mail/{lost.id}/send-again", data={"csrf_token": token(agent, lost_page)})
    row = Outgoing.get_by_id(lost.id)
    assert (row.state, row.data_at) == ("queued", None) and row.next_attempt_at <= utcnow()
    assert [e.ticket_id for e in trail("mail sent again")] == [lost.ticket_id]
    assert "possibly sent" not in agent.get(lost_page).get_data(as_text=True)


def test_the_ticket_page_says_possibly_sent_in_the_agents_language(opened):
    from daemon.store.models import User
    console = make_console(opened)
    row = possibly_sent_mail(opened, "ase@example.no")
    for language, said in (("nb", ("muligens sendt", "Send på nytt", "Den kom fram")),
                           ("ru", ("возможно, отправлено", "Отправить снова", "Письмо дошло"))):
        User.update(language=language).where(User.username == "agent").execute()
        page = console.client("agent").get(f"/tickets/{Ticket.get_by_id(row.ticket_id).number}")
        assert all(words in page.get_data(as_text=True) for words in said), language


def test_outbox_mark_sent_and_resend_take_only_possibly_sent_mail(tmp_path, opened):
    config_file = write_relayed_config(tmp_path, opened, SUPPORT)
    arrived = possibly_sent_mail(opened, "ase@example.no")
    done = patroldesk(config_file, "outbox", "mark-sent", str(arrived.id))
    assert done.returncode == 0 and done.stdout == f"outbox {arrived.id}: uncertain -> sent\n", done.stderr
    assert Outgoing.get_by_id(arrived.id).state == "sent"
    again = patroldesk(config_file, "outbox", "resend", str(arrived.id), "999999")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.splitlines() == [
        f"outbox {arrived.id} is not possibly sent (it is sent now); nothing was changed", "no outbox mail 999999"]
    assert Outgoing.get_by_id(arrived.id).state == "sent" and len(trail("mail taken as arrived")) == 1
    helped = patroldesk(config_file, "outbox", "--help").stdout
    assert "resend" in helped and "mark-sent" in helped


# A destination that refuses for now ---------------------------------------------------

class RefusingDomain(Relay):
    """Answers 451 at RCPT to one domain (that destination refuses for now), and counts the tries."""

    def __init__(self, domain: str):
        super().__init__()
        self.domain = domain
        self.refused: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith(f"@{self.domain}"):
            self.refused.append(address)
            return "451 4.7.1 try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def queue_to(config, *addresses: str) -> list[Outgoing]:
    with database.atomic():
        return [outbox.queue(config, outbox.compose_notice(config, [address], f"til {address}", "x"), "notice")
                for address in addresses]


def test_a_destination_refusing_for_now_holds_back_its_own_mail_and_no_one_elses(tmp_path, backend_url):
    server = RefusingDomain("slow.example")
    server.start()
    handle = None
    try:
        config = relayed(tmp_path, backend_url, server.port)
        handle = db.open_database(config)
        db.upgrade()
        first, second, fast, faster, later = queue_to(
            config, "a@slow.example", "b@slow.example", "c@fast.example", "d@fast.example", "e@SLOW.example")
        assert outbox.send_due(config, limit=4) == 2  # e is not in this round's batch
        assert server.refused == ["a@slow.example"]  # one try at the refusing destination
        assert sorted(rcpts[0] for _, rcpts, _ in server.received) == ["c@fast.example", "d@fast.example"]
        tried = Outgoing.get_by_id(first.id)
        assert (tried.state, tried.attempts) == ("queued", 1) and tried.last_error.startswith("a@slow.example: 451")
        assert tried.next_attempt_at > utcnow()
        for waiting in (second, later):
            row = Outgoing.get_by_id(waiting.id)
            assert (row.state, row.attempts, row.next_attempt_at) == ("queued", 0, tried.next_attempt_at)
            assert "held back, not tried: slow.example refuses mail for now" in row.last_error
        assert outbox.send_due(config) == 0 and server.refused == ["a@slow.example"]  # nothing due before then
        server.domain = "nowhere.invalid"  # the destination takes mail again
        Outgoing.update(next_attempt_at=utcnow()).where(Outgoing.state == "queued").execute()
        assert outbox.send_due(config) == 3 and len(server.received) == 5
        assert {row.state for row in Outgoing.select()} == {"sent"}
    finally:
        server.stop()
        if handle is not None:
            handle.close()


def test_a_relay_that_is_down_or_busy_holds_nothing_back(tmp_path, database):
    down = relayed(tmp_path, None, free_port())
    queue_to(down, "a@slow.example", "b@slow.example", "c@slow.example")
    assert outbox.send_due(down) == 0
    rows = list(Outgoing.select())
    assert [(row.attempts, "refused" in row.last_error) for row in rows] == [(1, True)] * 3  # each tried

    class Busy(Relay):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            return "451 4.3.2 system busy"

    busy = Busy()
    busy.start()
    try:
        config = dataclasses.replace(down, relay=dataclasses.replace(down.relay, port=busy.port))
        Outgoing.update(next_attempt_at=utcnow()).execute()
        assert outbox.send_due(config) == 0
        assert [(row.attempts, row.last_error) for row in Outgoing.select().order_by(Outgoing.id)] == \
            [(2, "451 4.3.2 system busy")] * 3
    finally:
        busy.stop()
