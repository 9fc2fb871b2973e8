"""Who mail can be sent to: RFC 5322 sender addresses through the pipeline and out to a real relay,
and tickets with no reply address (no sender at all, or one that is no mail address), which agents
see and answer nothing to."""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys

import pytest

from daemon import patrol, tickets
from daemon.errors import NoReplyAddress
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import article_replies
from daemon.outbound import outbox
from daemon.outbound.compose import Draft
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.models import AuditEvent, Customer, Outgoing, Ticket
from daemon.tickets.lifecycle import NO_ADDRESS_NAME
from tests.conftest import make_config
from tests.webtools import make_console, post

SUPPORT = "hjelp@example.no"
NOTE = patrol.Note(
    situation="Someone wrote without any sender address about the printer on the third floor.",
    behaviour="Read the mail, checked the printer queue and restarted the spooler service.",
    outcome="Printing works again after the restart; nobody could be told, there is no address.",
    outcome_kind="resolved", cause="A stuck spooler", tags=("printer",))



@pytest.fixture
def setup(tmp_path, relay):
    config = make_config(tmp_path, relay={"host": "127.0.0.1", "port": relay.port, "timeout_seconds": 5},
                         support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    yield config
    handle.close()


def mail_in(config, from_header: str | None, subject: str = "Skriveren", mail_from: str | None = None) -> Ticket:
    head = f"From: {from_header}\r\n" if from_header is not None else ""
    raw = (f"{head}To: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{abs(hash(subject))}@example.org>\r\n"
           f"\r\nHei, skriveren skriver ikke ut.\r\n").encode()
    spool.enqueue(raw, "smtp", {"rcpt_tos": [SUPPORT]}, mail_from=mail_from)
    [result] = pipeline.drain(config)
    assert result.outcome == "created", result
    return Ticket.by_number(result.ticket)


def held_back_reasons(ticket: Ticket) -> list[str]:
    return [json.loads(event.detail)["reason"] for event in
            AuditEvent.select().where((AuditEvent.ticket == ticket.id)
                                      & (AuditEvent.action == "automatic mail held back"))]


def test_a_quoted_local_part_without_angle_brackets_is_acknowledged_at_that_address(setup, relay):
    ticket = mail_in(setup, '"john smith"@example.org')
    assert ticket.requester.email == '"john smith"@example.org'
    assert outbox.send_due(setup) == 1
    [(_, rcpts, data)] = relay.received
    assert rcpts == ['"john smith"@example.org']
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ['"john smith"@example.org']


def test_html_in_the_sender_is_an_address_or_a_name_never_a_mangled_recipient(setup, relay):
    in_local_part = mail_in(setup, '"<img src=x onerror=alert(1)>"@example.org', subject="one")
    in_name = mail_in(setup, '"<img src=x onerror=alert(1)>" <x@example.org>', subject="two")
    assert in_local_part.requester.email == '"<img src=x onerror=alert(1)>"@example.org'
    assert (in_name.requester.email, in_name.requester.name) == ("x@example.org", "<img src=x onerror=alert(1)>")
    assert outbox.send_due(setup) == 2
    sent = {tuple(rcpts): email.message_from_bytes(data, policy=email.policy.default)
            for _, rcpts, data in relay.received}
    assert set(sent) == {('"<img src=x onerror=alert(1)>"@example.org',), ("x@example.org",)}
    named = sent[("x@example.org",)]["To"].addresses[0]
    assert (named.display_name, named.addr_spec) == ("<img src=x onerror=alert(1)>", "x@example.org")


def test_a_mail_with_no_sender_is_a_ticket_with_no_reply_address_and_no_acknowledgement(setup):
    ticket = mail_in(setup, None)
    assert ticket.requester.email == "" and ticket.requester.name == NO_ADDRESS_NAME
    assert tickets.reply_refusal(ticket).startswith("no reply address: the mail that opened it named no sender")
    assert held_back_reasons(ticket) == ["there is no address to send it to"]
    assert not Outgoing.select().exists()
    second = mail_in(setup, None, subject="another")  # every such mail shares the one address-less customer
    assert second.requester_id == ticket.requester_id and Customer.select().count() == 1


def test_a_sender_that_is_no_mail_address_makes_a_ticket_with_no_reply_address(setup):
    ticket = mail_in(setup, "John")
    assert ticket.requester.email == "john"
    assert tickets.reply_refusal(ticket) == \
        "no reply address: 'john' is not a valid mail address (RFC 5322 addr-spec)"
    assert held_back_reasons(ticket) == ["'john' is not a valid mail address (RFC 5322 addr-spec)"]
    assert not Outgoing.select().exists()


def test_the_envelope_sender_stands_in_for_a_from_that_is_no_address(setup):
    ticket = mail_in(setup, "John", mail_from="john@example.org")
    assert ticket.requester.email == "john@example.org" and tickets.reply_refusal(ticket) is None


def test_the_outbox_refuses_to_queue_mail_to_what_is_not_an_address(setup):
    ticket = mail_in(setup, "ola@example.no")
    for bad in ("", "@example.org", '"<img src=x onerror=alert" <@example.org>', "ola@example.no\r\nBcc: x@y.z"):
        draft = Draft(ticket_number=ticket.number, to=("", bad), sender=("Support", SUPPORT), subject="s", text="t")
        with pytest.raises(NoReplyAddress, match="no mail queued to the requester"):
            outbox.queue_ticket_mail(setup, ticket, draft, "reply")
    assert Outgoing.select().count() == 1  # the acknowledgement alone


def test_a_reply_to_a_ticket_with_no_reply_address_is_refused_with_the_reason(setup):
    ticket = mail_in(setup, None)
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari")
    with pytest.raises(NoReplyAddress, match=rf"ticket #{ticket.number} has no reply address: the mail"):
        article_replies.reply(setup, ticket, "reply", agent, body="Hei")
    assert not Outgoing.select().exists()


def test_closing_a_ticket_with_no_reply_address_sends_no_notice_and_says_why(setup):
    ticket = mail_in(setup, None)
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari")
    report = patrol.close(setup, ticket, NOTE, agent, notify=True)
    assert Ticket.get_by_id(ticket.id).status == "solved" and report.customer_hears == ""
    [event] = AuditEvent.select().where((AuditEvent.ticket == ticket.id)
                                        & (AuditEvent.action == "solved notice not sent"))
    assert json.loads(event.detail)["reason"].startswith("no reply address")
    assert not Outgoing.select().exists()


def test_the_ticket_page_says_there_is_no_reply_address_in_place_of_the_reply_form(setup):
    console = make_console(setup)
    ticket = mail_in(setup, None)
    client = console.client("agent")
    page = " ".join(client.get(f"/tickets/{ticket.number}").get_data(as_text=True).split())
    assert "This ticket has no reply address: the mail that opened it named no sender" in page
    assert f'action="/tickets/{ticket.number}/reply' not in page
    refused = post(client, f"/tickets/{ticket.number}/reply", {"template": "reply", "body": "Hei", "action": "send"},
                   page=f"/tickets/{ticket.number}")
    assert refused.status_code == 400 and not Outgoing.select().exists()
    answerable = mail_in(setup, "ola@example.no", subject="other")
    other = client.get(f"/tickets/{answerable.number}").get_data(as_text=True)
    assert "no reply address" not in other and f'action="/tickets/{answerable.number}/reply' in other


def test_the_cli_reply_refuses_a_ticket_with_no_reply_address(tmp_path):
    (tmp_path / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'
        f'[support]\naddresses = ["{SUPPORT}"]\n')
    (tmp_path / "anonymous.eml").write_bytes(b"To: hjelp@example.no\r\nSubject: anonymous\r\n\r\nwho am I\r\n")
    env = dict(os.environ, PATROLDESK_CONFIG=str(tmp_path / "patroldesk.toml"))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=tmp_path, env=env, capture_output=True,
                              check=False, text=True, timeout=120)

    assert cli("init").returncode == 0
    assert cli("ingest", "anonymous.eml").returncode == 0
    result = cli("reply", "10001", "--template", "reply", "--body", "Hei")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("patroldesk: ticket #10001 has no reply address: the mail that opened it")
    shown = json.loads(cli("tickets", "show", "10001", "--json").stdout)
    assert shown["no_reply"].startswith("no reply address")
