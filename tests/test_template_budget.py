"""Every template render has a budget of time and output: refused at save when a sample ticket
takes it past the budget, cut off at run time, and never in the way of mail being accepted."""
from __future__ import annotations

import json
import smtplib
import time

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.outbound import automatic, replies
from daemon.outbound.compose import tagged_subject
from daemon.outbound.replies import TemplateRefused
from daemon.store.db import database
from daemon.store.models import AuditEvent, Inbound, Message, Outgoing, Ticket
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail

NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"


def refused(config, text: str) -> str:
    with pytest.raises(TemplateRefused) as refusal:
        replies.check(config, "budgeted", "Hello", text)
    return str(refusal.value)


def held_back(ticket: Ticket) -> list[dict]:
    return [json.loads(event.detail) for event in AuditEvent.select().where(
        (AuditEvent.ticket == ticket.id) & (AuditEvent.action == "automatic mail held back"))]


def test_nested_loops_are_refused_at_save_quickly_naming_the_time_budget(config):
    started = time.monotonic()
    message = refused(config, NESTED_LOOPS)
    elapsed = time.monotonic() - started
    samples = len(replies.sample_contexts(config))
    assert "templates.render_milliseconds" in message and "500 ms" in message
    assert elapsed < 0.5 * samples / 2  # stopped at the first sample past the budget, not after all of them


@pytest.mark.parametrize("text", [
    "{{ '{0:>1000000000}'.format(1) }}",
    "{{ '{0:>{1}}'.format(1, 1000000000) }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ 'a' * 10**9 }}",
    "{{ 'x'|center(1000000000) }}",
    "{% set s = 'x' * 200000 %}{{ s ~ s ~ s ~ s ~ s }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
])
def test_a_template_writing_past_the_size_budget_is_refused_before_it_builds_it(config, text):
    started = time.monotonic()
    assert "templates.render_kilobytes" in refused(config, text)
    assert time.monotonic() - started < 2


def test_a_template_that_misbehaves_only_for_another_ticket_number_is_caught_by_the_samples(config):
    message = refused(config, "{% if ticket.number != 10001 %}{{ 'a' * 10**9 }}{% endif %}")
    assert "templates.render_kilobytes" in message and "rendered for" in message
    assert "templates.render_milliseconds" in refused(
        config, "{% if not customer.name %}" + NESTED_LOOPS + "{% endif %}")


def test_a_well_behaved_template_still_passes_every_sample(config):
    replies.check(config, "fine", "Re: {{ ticket.subject }} {{ ticket.reference }}",
                  "{% for line in body.splitlines() %}> {{ line }}\n{% endfor %}{{ '%05d' % ticket.number }} "
                  "{{ '{:>8}'.format(ticket.status) }}{% if agent %} {{ agent.name|center(40) }}{% endif %}")


def test_a_render_past_budget_on_a_real_ticket_holds_the_acknowledgement_and_keeps_the_ticket(config, database):
    # No sample's subject speaks of an invoice: the check passes, the customer's mail finds the fault.
    replies.save_template(config, "acknowledgement", "Got it {{ ticket.reference }}",
                          "{% if 'invoice' in ticket.subject|lower %}" + NESTED_LOOPS + "{% endif %}Thanks.")
    spool.enqueue(simple_mail(frm="kari@example.org", to="support@localhost", subject="Invoice for March",
                              body="Hei", message_id="invoice@example.org"), "cli")
    started = time.monotonic()
    [result] = pipeline.drain(config)
    assert time.monotonic() - started < 5  # cut off at the budget, not after the loops' 10**9 turns
    ticket = Ticket.get()
    assert (result.outcome, result.ticket) == ("created", ticket.number)
    [held] = held_back(ticket)
    assert held["kind"] == "acknowledgement" and "templates.render_milliseconds" in held["reason"]
    assert Outgoing.select().count() == 0 and Message.select().count() == 1  # the customer's mail alone


def test_a_reply_past_budget_is_refused_with_the_reason_for_the_agent(config, database):
    replies.save_template(config, "long", "Re: {{ ticket.subject }}",
                          "{% if 'invoice' in ticket.subject|lower %}{{ ticket.subject * 10**6 }}{% endif %}")
    spool.enqueue(simple_mail(frm="kari@example.org", to="support@localhost", subject="Invoice for March",
                              body="Hei", message_id="long@example.org"), "cli")
    pipeline.drain(config)
    ticket = Ticket.get()
    with pytest.raises(TemplateRefused) as refusal:
        replies.send_templated(config, ticket, "long", "reply")
    assert "templates.render_kilobytes" in str(refusal.value)
    assert not Outgoing.select().where(Outgoing.kind == "reply").exists()


def test_smtp_answers_at_once_while_a_slow_acknowledgement_renders(tmp_path):
    config = make_config(tmp_path, templates={"render_milliseconds": 60000})
    slow = "{% for i in range(100000) %}{% for j in range(6) %}{% endfor %}{% endfor %}Thanks."
    with running_service(config) as service:
        with database.atomic():  # written past the check, whose samples would take as long each
            from daemon.store.models import ReplyTemplate
            ReplyTemplate.create(name="acknowledgement", subject="Got it", text=slow)

        def send(number: int) -> float:
            started = time.monotonic()
            with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=60) as client:
                client.sendmail("kari@example.org", ["support@localhost"], simple_mail(
                    frm="kari@example.org", to="support@localhost", subject=f"Sak {number}", body="Hei",
                    message_id=f"slow{number}@example.org"))
            return time.monotonic() - started

        send(1)
        wait_for(lambda: Outgoing.select().where(Outgoing.state == "rendering").exists())
        rendering_took = time.monotonic()
        accepted_in = send(2)
        still_rendering = Outgoing.select().where(
            (Outgoing.state == "rendering") & (Outgoing.ticket == Ticket.get(Ticket.number == 10001).id)).exists()
        assert still_rendering, "the render ended before the second mail came: make the template slower"
        assert accepted_in < 0.5, f"SMTP took {accepted_in:.2f} s while an acknowledgement rendered"
        wait_for(lambda: not Outgoing.select().where(Outgoing.state == "rendering").exists(), timeout=60)
        assert time.monotonic() - rendering_took > 5 * accepted_in  # an order of magnitude apart
        assert Inbound.select().where(Inbound.outcome == "created").count() == 2


def test_the_acknowledgement_and_a_reply_put_the_tag_in_the_same_place(config, database):
    subject = "Re: [#10002] Sv: Skriveren"  # the customer's own prefixes and an older ticket's tag
    spool.enqueue(simple_mail(frm="kari@example.org", to="support@localhost", subject=subject, body="Hei",
                              message_id="tags@example.org"), "cli")
    pipeline.drain(config)
    ticket = Ticket.get()
    acknowledgement = Outgoing.get(Outgoing.kind == "acknowledgement")
    reply = replies.send_templated(config, ticket, "reply", "reply", body="Hei igjen")
    assert acknowledgement.subject == "Re: We have your request: Skriveren [#10001]"
    assert reply.subject == "Re: Skriveren [#10001]"
    for sent in (acknowledgement.subject, reply.subject):
        assert sent.count("[#") == 1 and sent.endswith(" [#10001]") and not sent.startswith("Re: Re:")
    # Either, answered, threads to this ticket by its tag and keeps it in the one place.
    assert tagged_subject(f"Re: {acknowledgement.subject}", 10001, "[#{ref}]", reply=True) == \
        acknowledgement.subject


def test_an_acknowledgement_that_cannot_be_queued_is_held_back_and_the_others_still_go(config, database,
                                                                                     monkeypatch):
    real = automatic.queue_ticket_mail

    def failing_for_one(config, ticket, draft, kind, **provenance):  # a fault injected for one customer
        if "olga" in draft.to[1]:
            raise ValueError("the composer broke on this one")
        return real(config, ticket, draft, kind, **provenance)

    monkeypatch.setattr(automatic, "queue_ticket_mail", failing_for_one)
    for sender, subject in (("olga@example.ru", "Принтер не печатает"), ("kari@example.no", "Skriveren")):
        spool.enqueue(simple_mail(frm=sender, to="support@localhost", subject=subject, body="Hei"), "cli")
    pipeline.drain(config)
    olga, kari = Ticket.select().order_by(Ticket.id)
    [held] = held_back(olga)
    assert "could not be queued: ValueError" in held["reason"]
    assert [row.ticket_id for row in Outgoing.select()] == [kari.id]
    assert not Outgoing.select().where(Outgoing.state == "rendering").exists()
