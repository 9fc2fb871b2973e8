"""/metrics: public, in Prometheus's text format, and the same numbers as the database.

Mail comes in through the spool and the pipeline, as in production; the
outbox and mailbox rows the senders and pollers would write are set directly.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon.config import MailboxConfig
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import Inbound, MailboxState, Outgoing, Ticket, utcnow
from tests.conftest import make_config
from tests.corpus import simple_mail
from web import create_app

MAILBOXES = tuple(MailboxConfig(name=name, host="imap.example.com", user=name, password="p")
                  for name in ("main", "sales", "backup", "old"))


@pytest.fixture
def config(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, smtp={"acknowledge": True})
    handle = db.open_database(config)
    db.upgrade()
    yield dataclasses.replace(config, mailbox=MAILBOXES)
    handle.close()


def scrape(config) -> dict:
    """The samples of one anonymous scrape: {(name, labels): value}."""
    response = create_app(config).test_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def mail(n: int, **fields) -> bytes:
    defaults = dict(frm=f"Kunde {n} <kunde{n}@example.no>", to="support@localhost", subject=f"Problem {n}",
                    body="Det virker ikke.", message_id=f"m{n}@example.no")
    return simple_mail(**{**defaults, **fields})


def ingest(config) -> list[str]:
    """Three new tickets, a reply to the first, the same mail twice, and one that cannot be processed
    (a sender address longer than any real one: quarantined; a mail with no sender is a ticket now)."""
    for raw in (mail(1), mail(2), mail(3), mail(4, subject="Re: Problem 1", in_reply_to="m1@example.no",
                                                  frm="Kunde 1 <kunde1@example.no>"), mail(2),
                b"From: " + b"a" * 400 + b"@example.org\r\nTo: support@localhost\r\nSubject: anonymous\r\n\r\nwho am I\r\n"):
        spool.enqueue(raw, "cli")
    return [result.outcome for result in pipeline.drain(config)]


def test_metrics_are_public_and_match_the_database(config):
    assert ingest(config) == ["created", "created", "created", "threaded", "duplicate", "quarantined"]
    first, second, third = Ticket.select().order_by(Ticket.id)
    Ticket.update(status="solved").where(Ticket.id == third.id).execute()
    Ticket.update(status="pending").where(Ticket.id == second.id).execute()
    acknowledgements = list(Outgoing.select().order_by(Outgoing.id))
    assert len(acknowledgements) == 3
    Outgoing.update(state="failed", last_error="550 no such user").where(
        Outgoing.id == acknowledgements[0].id).execute()
    Outgoing.update(state="sent", sent_at=utcnow()).where(Outgoing.id == acknowledgements[1].id).execute()
    Outgoing.update(state="uncertain").where(Outgoing.id == acknowledgements[2].id).execute()
    fresh, long_ago = utcnow(), utcnow() - dt.timedelta(hours=3)
    MailboxState.create(name="main", status="ok", idle=True, updated_at=fresh)
    MailboxState.create(name="sales", status="ok", idle=True, updated_at=long_ago)  # its poller is stuck
    MailboxState.create(name="backup", status="failing", idle=False, updated_at=fresh, failing_since=fresh,
                        last_error="connection refused")

    figures = scrape(config)

    assert figures[("patroldesk_tickets_open", ())] == 1
    assert figures[("patroldesk_tickets_open", ())] == Ticket.select().where(Ticket.status.in_(("new", "open"))).count()
    assert figures[("patroldesk_tickets", (("status", "pending"),))] == 1
    assert figures[("patroldesk_tickets", (("status", "solved"),))] == 1
    outcomes = {outcome: count for (name, labels), count in figures.items()
                if name == "patroldesk_mails_ingested" for _, outcome in labels}
    assert outcomes == {"created": 3, "threaded": 1, "duplicate": 1, "quarantined": 1}
    assert sum(outcomes.values()) == Inbound.select().count()
    assert figures[("patroldesk_mails_quarantined", ())] == 1
    assert figures[("patroldesk_spool_queued", ())] == 0
    assert figures[("patroldesk_outbox_depth", ())] == 0
    assert figures[("patroldesk_outbox_possibly_sent", ())] == 1
    assert figures[("patroldesk_outbox_failures", (("state", "failed"),))] == 1
    assert figures[("patroldesk_outbox_failures", (("state", "bounced"),))] == 0
    assert figures[("patroldesk_mails_sent_total", ())] == 1
    assert figures[("patroldesk_imap_idle_connections", ())] == 1  # main; sales's row is stale
    assert figures[("patroldesk_imap_mailboxes_failing", ())] == 1
    assert figures[("patroldesk_imap_mailboxes_stale", ())] == 1


def test_figures_that_go_down_are_gauges_and_follow_the_rows(config):
    ingest(config)
    before = scrape(config)
    assert before[("patroldesk_mails_quarantined", ())] == 1
    row = Inbound.get(Inbound.state == "quarantined")
    spool.requeue(row.id)  # back in the queue: no longer in quarantine
    after = scrape(config)
    assert after[("patroldesk_mails_quarantined", ())] == 0
    assert after[("patroldesk_spool_queued", ())] == 1
    assert ("patroldesk_mails_ingested", (("outcome", "quarantined"),)) not in after


def test_an_empty_installation_scrapes_zeros(config):
    figures = scrape(config)
    assert figures[("patroldesk_tickets_open", ())] == 0
    assert figures[("patroldesk_outbox_depth", ())] == 0
    assert figures[("patroldesk_imap_idle_connections", ())] == 0
    assert not [key for key in figures if key[0] == "patroldesk_mails_ingested"]
