"""Schema migrations: an old database upgrades with its data intact; an old schema refuses to run."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from daemon.errors import SchemaOutOfDate
from daemon.store import db
from daemon.store.models import AuditEvent, Customer, Inbound, Message, Participant, RawMail, Ticket, User
from daemon.tickets import search as ticket_search
from tests.conftest import make_config


def seed_first_version(handle) -> None:
    """Rows as the first schema version wrote them, with plain SQL."""
    p = "%s" if not db.is_sqlite(handle) else "?"
    handle.execute_sql(f'INSERT INTO customer (email, name, created_at) VALUES ({p}, {p}, {p})',
                       ("ola@example.no", "Ola Nordmann", "2026-01-02 03:04:05"))
    handle.execute_sql(f'INSERT INTO ticket (number, subject, requester_id, status, priority, support_address,'
                       f' created_at, updated_at) VALUES ({p}, {p}, 1, {p}, {p}, {p}, {p}, {p})',
                       (10001, "Skriveren er død", "open", "normal", "support@x", "2026-01-02 03:04:05",
                        "2026-01-02 03:04:05"))
    handle.execute_sql(f'INSERT INTO raw_mail (sha256, data, size, created_at) VALUES ({p}, {p}, {p}, {p})',
                       ("ab" * 32, b"Subject: x\r\n\r\nbody\xff", 18, "2026-01-02 03:04:05"))
    handle.execute_sql(f'INSERT INTO message (ticket_id, kind, message_id, in_reply_to, refs, sender_address,'
                       f' sender_name, to_addrs, cc_addrs, subject, created_at, body_text, body_visible, notes,'
                       f' raw_id) VALUES (1, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 1)',
                       ("inbound", "m1@example.no", "", "", "ola@example.no", "Ola", "[]", "[]",
                        "Skriveren er død", "2026-01-02 03:04:05", "Hjelp, æøå", "Hjelp, æøå", ""))


def test_a_first_version_database_upgrades_with_its_data_intact(tmp_path, backend_url):
    handle = db.open_database(make_config(tmp_path, backend_url))
    db.migration_runner().up(target="0001_initial")
    seed_first_version(handle)
    with pytest.raises(SchemaOutOfDate, match="0002_threading_signals"):
        db.require_current_schema()

    pending = db.pending_migrations()
    assert pending[0] == "0002_threading_signals"
    assert db.upgrade() == pending
    db.require_current_schema()

    ticket = Ticket.get(Ticket.number == 10001)
    assert ticket.subject == "Skriveren er død" and ticket.claimed_ref is None
    assert ticket.requester == Customer.get(Customer.email == "ola@example.no")
    message = Message.get()
    assert message.body_text == "Hjelp, æøå" and message.thread_signal is None
    # 0011: the deadline by the default SLA for its priority, no answer yet, and the old mail searchable.
    assert ticket.respond_by == dt.datetime(2026, 1, 2, 11, 4, 5) and ticket.first_response_at is None
    assert ticket_search.ticket_ids("æøå") == [ticket.id]
    assert bytes(RawMail.get().data) == b"Subject: x\r\n\r\nbody\xff"
    Participant.create(ticket=ticket, address="ola@example.no")
    assert [p.address for p in ticket.participants] == ["ola@example.no"]
    assert Inbound.select().count() == 0
    handle.close()


def test_run_refuses_an_out_of_date_schema(tmp_path):
    (tmp_path / "c.toml").write_text(f'[database]\nurl = "sqlite:///{tmp_path}/old.db"\n'
                                     '[smtp]\nport = 0\n[web]\nport = 0\n')
    handle = db.open_database(make_config(tmp_path, f"sqlite:///{tmp_path}/old.db"))
    db.migration_runner().up(target="0001_initial")
    handle.close()
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(tmp_path / "c.toml"), "run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "out of date" in result.stderr and "patroldesk db upgrade" in result.stderr


def test_the_upgrade_to_0012_fills_whose_turn_it_is_for_existing_tickets(tmp_path, backend_url):
    handle = db.open_database(make_config(tmp_path, backend_url))
    db.migration_runner().up(target="0011_console")
    at = lambda hour: dt.datetime(2026, 3, 2, hour)  # noqa: E731
    # Only the columns 0011 knew: today's models have more.
    p = "%s" if not db.is_sqlite(handle) else "?"
    handle.execute_sql(f'INSERT INTO "user" (username, password_hash, email, name, role, active, created_at, '
                       f'session_version) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})',
                       ("kari", "x", "", "", "agent", True, at(8), 0))
    agent = User.select(User.id).where(User.username == "kari").get()
    customer = Customer.create(email="ola@example.no")
    for number in (10001, 10002, 10003):
        handle.execute_sql(f'INSERT INTO ticket (number, subject, requester_id, status, priority, support_address, '
                           f'created_at, updated_at, escalated, group_name) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, '
                           f'{p}, {p}, {p}, {p})', (number, "Skriveren", customer.id, "open", "normal", "s@x",
                                                    at(9), at(9), False, ""))
    ids = {number: Ticket.select(Ticket.id).where(Ticket.number == number).scalar() for number in (10001, 10002, 10003)}

    def said(number, kind, hour, automatic=None):
        Message.create(ticket=ids[number], kind=kind, created_at=at(hour), automatic=automatic)

    # 10001: the customer wrote, we acknowledged automatically, then a person answered.
    said(10001, "inbound", 10), said(10001, "outbound", 10, "auto-replied"), said(10001, "outbound", 11)
    said(10001, "note", 12)
    AuditEvent.create(ticket=ids[10001], actor=agent, action="replied", created_at=at(11))
    # 10002: answered, then two words from the customer and an out-of-office reply; no agent acted since.
    said(10002, "inbound", 10), said(10002, "outbound", 11), said(10002, "inbound", 12), said(10002, "inbound", 13)
    said(10002, "inbound", 14, "auto-submitted: auto-replied")
    AuditEvent.create(ticket=ids[10002], actor=agent, action="replied", created_at=at(11))
    AuditEvent.create(ticket=ids[10002], actor=None, action="reopened", created_at=at(12))
    # 10003: no mail at all.

    db.upgrade()
    first, second, third = (Ticket.get(Ticket.number == number) for number in (10001, 10002, 10003))
    assert (first.last_speaker, first.waiting_since, first.last_inbound_at, first.seen_at) == ("us", at(11), at(10),
                                                                                              at(11))
    assert (second.last_speaker, second.waiting_since, second.last_inbound_at, second.seen_at) == (
        "customer", at(12), at(13), at(11))
    assert (third.last_speaker, third.waiting_since, third.last_inbound_at, third.seen_at) == ("customer", at(9),
                                                                                              at(9), None)
    handle.close()
