"""The customer's language: detected on their mail, kept on the customer, set by a person, and the mail we
send them written in it (built-in templates, team template variants, dates and numbers)."""
from __future__ import annotations

import pytest
from peewee import IntegrityError

from daemon.store import db
from daemon.store.models import Customer, Message, Outgoing, ReplyTemplate, Ticket
from tests.conftest import make_config


def test_the_upgrade_to_0014_keeps_customers_templates_and_mail(tmp_path, backend_url):
    handle = db.open_database(make_config(tmp_path, backend_url))
    db.migration_runner().up(target="0013_sign_in_throttle")
    p = "%s" if not db.is_sqlite(handle) else "?"
    handle.execute_sql(f'INSERT INTO customer (email, name, created_at, attributes) VALUES ({p}, {p}, {p}, {p})',
                       ("ola@example.no", "Ola Nordmann", "2026-01-02 03:04:05", '{"plan": "gold"}'))
    handle.execute_sql(f'INSERT INTO reply_template (name, subject, text, html, created_at, updated_at, revision, '
                       f'needs_review) VALUES ({p}, {p}, {p}, NULL, {p}, {p}, 3, {p})',
                       ("printer", "Re: {{ ticket.subject }}", "Slå av og på.", "2026-01-02 03:04:05",
                        "2026-01-02 03:04:05", False))
    customer_id = Customer.select(Customer.id).scalar()
    handle.execute_sql(f'INSERT INTO ticket (number, subject, requester_id, status, priority, support_address, '
                       f'created_at, updated_at, escalated, group_name, last_speaker) VALUES ({p}, {p}, {p}, {p}, '
                       f'{p}, {p}, {p}, {p}, {p}, {p}, {p})', (10001, "Skriveren", customer_id, "open", "normal",
                                                               "s@x", "2026-01-02 03:04:05", "2026-01-02 03:04:05",
                                                               False, "", "customer"))
    ticket = Ticket.select(Ticket.id).scalar()
    handle.execute_sql(f'INSERT INTO message (ticket_id, kind, in_reply_to, refs, sender_address, sender_name, '
                       f'to_addrs, cc_addrs, subject, created_at, body_text, body_visible, notes) VALUES '
                       f'({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})',
                       (ticket, "inbound", "", "", "ola@example.no", "Ola", "[]", "[]", "Skriveren",
                        "2026-01-02 03:04:05", "Hjelp", "Hjelp", ""))
    handle.execute_sql(f'INSERT INTO outbox (ticket_id, kind, mail_from, recipients, message_id, subject, data, '
                       f'state, attempts, next_attempt_at, last_error, created_at, automatic, to_address) VALUES '
                       f'({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, {p}, {p}, {p}, {p}, {p})',
                       (ticket, "reply", "s@x", '["ola@example.no"]', "<r1@x>", "Re: Skriveren", b"mail",
                        "sent", "2026-01-02 03:04:05", "", "2026-01-02 03:04:05", False, "ola@example.no"))

    assert db.upgrade()[0] == "0014_languages"
    customer = Customer.get()
    assert (customer.name, customer.attributes, customer.language, customer.language_source) == (
        "Ola Nordmann", '{"plan": "gold"}', "", "")
    message = Message.get()
    assert (message.body_text, message.language, message.language_confidence) == ("Hjelp", "", None)
    template = ReplyTemplate.get()
    assert (template.name, template.text, template.revision, template.language) == ("printer", "Slå av og på.", 3, "")
    outgoing = Outgoing.get()
    assert (bytes(outgoing.data), outgoing.state, outgoing.language) == (b"mail", "sent", "")
    # A name now has one base text and one variant per language, never two of either.
    ReplyTemplate.create(name="printer", language="ru", subject="Re: x", text="Выключите и включите.")
    with pytest.raises(IntegrityError), handle.atomic():
        ReplyTemplate.create(name="printer", language="ru", subject="Re: y", text="Другое.")
    with pytest.raises(IntegrityError), handle.atomic():
        ReplyTemplate.create(name="printer", language="", subject="Re: y", text="Other.")
    handle.close()
