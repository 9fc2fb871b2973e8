"""The whole generated corpus through the spool and the pipeline: nothing lost, nothing raises."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from peewee import OperationalError

from daemon import tickets
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.outbound import render_pending
from daemon.store import db
from daemon.store.models import Inbound, Message, Outgoing, Ticket, utcnow
from tests.conftest import make_config
from tests.corpus import CORPUS, simple_mail


@pytest.fixture
def drained(tmp_path, backend_url):
    """The whole corpus spooled and processed, on SQLite and on PostgreSQL."""
    config = make_config(tmp_path, backend_url)
    db.open_database(config)
    db.upgrade()
    rows = {case.name: spool.enqueue(case.raw, "cli", {"file": case.name}) for case in CORPUS}
    results = {r.inbound_id: r for r in pipeline.drain(config)}
    yield {name: (Inbound.get_by_id(row.id), results[row.id]) for name, row in rows.items()}
    db.database.close()


def test_every_corpus_mail_ends_as_a_ticket_or_in_quarantine_with_its_bytes(drained):
    by_name = {case.name: case for case in CORPUS}
    for name, (row, result) in drained.items():
        case = by_name[name]
        assert row.state in ("done", "discarded", "quarantined"), name
        # Only what is not a mail at all is quarantined; a person's mail with no sender is a ticket.
        expect_quarantine = case.subject is None
        assert (row.state == "quarantined") == expect_quarantine, f"{name}: {row.state} {row.reason}"
        if row.state == "quarantined":
            assert row.reason
            assert hashlib.sha256(bytes(row.raw.data)).hexdigest() == row.raw.sha256
            assert bytes(row.raw.data) == case.raw
            continue
        if case.automatic:
            assert row.outcome == "ignored", name
            continue
        assert row.outcome == "created", f"{name}: {row.outcome} {row.reason}"
        message = row.message
        assert message.subject == case.subject, name
        assert message.ticket.subject == case.subject, name
        assert message.body_text == case.text, name
        for fragment in case.text_contains:
            assert fragment in message.body_text, f"{name}: {fragment!r} not in {message.body_text[:300]!r}"
        if case.sender:
            assert message.sender_address == case.sender.casefold(), name
        else:
            assert message.sender_address == "" and message.ticket.requester.email == "", name
        assert sorted(a.filename for a in message.attachments) == sorted(case.attachments), name


def test_stored_attachments_are_written_once_by_content(config, database):
    raw = (b"From: a@example.org\r\nTo: support@localhost\r\nSubject: two copies\r\nMessage-ID: <two@x>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
           b"--b\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nsame\r\n"
           b"--b\r\nContent-Type: text/plain; name=b.txt\r\nContent-Disposition: attachment; filename=b.txt\r\n\r\nsame\r\n"
           b"--b--\r\n")
    spool.enqueue(raw, "cli")
    [result] = pipeline.drain(config)
    assert result.outcome == "created"
    files = [p for p in config.attachments_dir.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == b"same"
    assert files[0].name == hashlib.sha256(b"same").hexdigest()


def test_an_attachment_over_the_limit_is_listed_but_not_copied(tmp_path):
    config = make_config(tmp_path, ingest={"max_attachment_bytes": 3})
    db.open_database(config)
    db.upgrade()
    raw = (b"From: a@example.org\r\nTo: support@localhost\r\nSubject: big\r\nMessage-ID: <big@x>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
           b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n0123456789\r\n"
           b"--b--\r\n")
    spool.enqueue(raw, "cli")
    pipeline.drain(config)
    [attachment] = Ticket.get().messages.get().attachments
    assert attachment.filename == "big.bin" and not attachment.stored and attachment.size == 10
    assert not config.attachments_dir.exists()
    db.database.close()


def test_a_mail_from_our_own_support_address_is_a_loop_and_opens_nothing(config, database):
    spool.enqueue(simple_mail(frm="support@localhost", to="support@localhost", subject="loop", body="x",
                              message_id="loop@x"), "cli")
    [result] = pipeline.drain(config)
    assert result.outcome == "ignored" and "loop" in result.reason
    assert Ticket.select().count() == 0


def test_a_mail_with_no_sender_anywhere_is_a_ticket_with_no_reply_address(config, database):
    raw = b"To: support@localhost\r\nSubject: anonymous\r\n\r\nwho am I\r\n"
    row = spool.enqueue(raw, "cli")
    [result] = pipeline.drain(config)
    assert result.outcome == "created"
    ticket = Ticket.by_number(result.ticket)
    assert ticket.requester.email == "" and "no reply address" in tickets.reply_refusal(ticket)
    assert Inbound.get_by_id(row.id).message.body_text == "who am I"
    assert not Outgoing.select().exists()


def test_the_envelope_sender_stands_in_for_a_missing_from(config, database):
    spool.enqueue(b"To: support@localhost\r\nSubject: no from\r\n\r\nbody\r\n", "smtp", {},
                  mail_from="kari@example.no")
    [result] = pipeline.drain(config)
    assert result.outcome == "created"
    assert Ticket.get().requester.email == "kari@example.no"


def test_a_worker_that_died_mid_batch_hands_it_over_after_the_lease(config, database):
    rows = [spool.enqueue(simple_mail(frm="a@example.org", to="support@localhost", subject=f"s{i}", body="y",
                                      message_id=f"lease{i}@x"), "cli") for i in range(3)]
    claimed = spool.claim(10, lease_seconds=60)
    assert [r.id for r in claimed] == [r.id for r in rows]
    assert spool.claim(10, lease_seconds=60) == []  # still leased: nobody else takes them
    # The worker finished the first mail, then died with the second in hand.
    pipeline.process(claimed[0], config)
    again = spool.claim(10, lease_seconds=60, now=utcnow() + dt.timedelta(seconds=61))
    assert [(r.id, r.attempts) for r in again] == [(rows[1].id, 1), (rows[2].id, 0)]
    assert [r.outcome for r in pipeline.process_claimed(again, config)] == ["created", "created"]


def test_a_mail_that_keeps_killing_workers_is_quarantined(config, database):
    row = spool.enqueue(b"From: a@b.example\r\n\r\nx", "cli")
    moment = utcnow()
    claimed = spool.claim(10, config.ingest.lease_seconds, now=moment)
    for _ in range(config.ingest.max_attempts):
        moment += dt.timedelta(seconds=config.ingest.lease_seconds + 1)
        claimed = spool.claim(10, config.ingest.lease_seconds, now=moment)
    [result] = pipeline.process_claimed(claimed, config)
    assert result.outcome == "quarantined" and "its worker stopped each time" in result.reason
    assert Inbound.get_by_id(row.id).state == "quarantined"


def test_a_mail_that_makes_the_database_fail_is_quarantined_after_its_attempts(config, database):
    # A real statement failure at run time, provoked by this mail only.
    database.execute_sql("CREATE TRIGGER poison BEFORE INSERT ON message WHEN NEW.subject = 'poison' "
                         "BEGIN SELECT json('not json'); END")
    spool.enqueue(simple_mail(frm="a@example.org", to="support@localhost", subject="poison", body="x",
                              message_id="poison@x"), "cli")
    good = spool.enqueue(simple_mail(frm="b@example.org", to="support@localhost", subject="fine", body="x",
                                     message_id="fine@x"), "cli")
    outcomes = []
    for _ in range(config.ingest.max_attempts + 2):
        try:
            outcomes += [r.outcome for r in pipeline.drain(config)]
        except OperationalError:
            continue
    poisoned = Inbound.get(Inbound.state == "quarantined")
    assert "malformed JSON" in poisoned.reason and f"failed {config.ingest.max_attempts} times" in poisoned.reason
    assert Inbound.get_by_id(good.id).outcome == "created"


def test_a_mail_that_violates_a_constraint_is_quarantined_not_retried_forever(config, database):
    database.execute_sql("CREATE TRIGGER refuse BEFORE INSERT ON message WHEN NEW.subject = 'refuse' "
                         "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END")
    spool.enqueue(simple_mail(frm="a@example.org", to="support@localhost", subject="refuse", body="x",
                              message_id="refuse@x"), "cli")
    [result] = pipeline.drain(config)
    assert result.outcome == "quarantined" and "refused by trigger" in result.reason


def ingest_all(config, *raws) -> list:
    for raw in raws:
        spool.enqueue(raw, "cli")
    return pipeline.drain(config)


@pytest.mark.parametrize("switch, reply_headers", [
    ("in_reply_to", {"in_reply_to": "<first@x>"}),
    ("references", {"references": "<first@x>"}),
    ("subject_tag", {}),
])
def test_each_threading_signal_can_be_switched_off(tmp_path, switch, reply_headers):
    config = make_config(tmp_path, threading={switch: False})
    db.open_database(config)
    db.upgrade()
    first = simple_mail(frm="ola@example.no", to="support@localhost", subject="Skriver", body="x",
                        message_id="first@x")
    reply = simple_mail(frm="ola@example.no", to="support@localhost", subject="Re: [#10001] Skriver",
                        body="y", message_id="reply@x", **reply_headers)
    results = ingest_all(config, first, reply)
    signal = {"in_reply_to": "in-reply-to", "references": "references", "subject_tag": "subject-tag"}[switch]
    # With its signal off the reply still threads by the next signal, never by the switched-off one.
    second = Inbound.get_by_id(results[1].inbound_id).message
    assert second.thread_signal != signal
    if switch == "subject_tag":
        assert results[1].outcome == "created" and second.ticket.number == 10002
    else:
        assert results[1].outcome == "threaded" and second.thread_signal == "subject-tag"
    db.database.close()


def test_threading_looks_across_support_addresses(config, database):
    import dataclasses
    config = dataclasses.replace(config, support=dataclasses.replace(
        config.support, addresses=["support@localhost", "hjelp@localhost"]))
    first = simple_mail(frm="ola@example.no", to="support@localhost", subject="A", body="x", message_id="a1@x")
    reply = simple_mail(frm="ola@example.no", to="hjelp@localhost", subject="Re: A", body="y",
                        message_id="a2@x", in_reply_to="<a1@x>")
    results = ingest_all(config, first, reply)
    assert [r.outcome for r in results] == ["created", "threaded"]
    assert Ticket.get().support_address == "support@localhost"


def test_hostile_header_values_are_stored_on_both_databases(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url)
    db.open_database(config)
    db.upgrade()
    long_id = "y" * 1500 + "@example.org"
    nul = (b"From: \"Ola\x00N\" <ola@example.no>\r\nTo: support@localhost, \"\x01\" <x\x00@y.example>\r\n"
           b"Subject: a\x00b\r\nMessage-ID: <n\x00ul@x>\r\nReferences: <" + long_id.encode() + b">\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\x00text\r\n")
    huge_sender = simple_mail(frm="a" * 400 + "@example.org", to="support@localhost", subject="long",
                              body="x", message_id="huge@x")
    results = ingest_all(config, nul, huge_sender)
    assert [r.outcome for r in results] == ["created", "quarantined"]
    message = Inbound.get_by_id(results[0].inbound_id).message
    assert (message.subject, message.message_id, message.body_text) == ("a b", "nul@x", "bodytext")
    assert "characters long" in results[1].reason
    db.database.close()


def test_a_reused_message_id_cannot_pull_the_victims_reply_into_another_ticket(config, database):
    victim = simple_mail(frm="victim@example.org", to="support@localhost", subject="Invoice", body="x",
                         message_id="v1@corp.example")
    mallory = simple_mail(frm="mallory@evil.example", to="support@localhost", subject="Invoice too",
                          body="y", message_id="v1@corp.example")
    reply = simple_mail(frm="victim@example.org", to="support@localhost", subject="Re: Invoice",
                        body="my account number", message_id="v2@corp.example", in_reply_to="<v1@corp.example>")
    results = ingest_all(config, victim, mallory, reply)
    assert [r.outcome for r in results] == ["created", "created", "threaded"]
    assert results[2].ticket == results[0].ticket != results[1].ticket
    assert Ticket.by_number(results[0].ticket).requester.email == "victim@example.org"


def test_a_locked_database_is_not_blamed_on_the_mail(tmp_path):
    import sqlite3

    from peewee import SqliteDatabase
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    impatient = SqliteDatabase(str(path), pragmas={"busy_timeout": 0})
    with pytest.raises(OperationalError) as locked:
        impatient.execute_sql("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    with pytest.raises(OperationalError) as provoked:
        impatient.execute_sql("SELECT json('not json')")
    assert pipeline._is_transient(locked.value)
    assert not pipeline._is_transient(provoked.value)


def test_a_read_only_standby_is_not_blamed_on_the_mail(tmp_path, postgres_url):
    from peewee import InternalError
    db.open_database(make_config(tmp_path, postgres_url))
    db.upgrade()
    db.database.execute_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    with pytest.raises(InternalError) as refused:
        spool.enqueue(b"From: a@b.example\r\n\r\nx", "cli")
    assert pipeline._is_transient(refused.value)
    db.database.close()


def test_a_worker_whose_lease_was_taken_over_leaves_the_mail_to_the_new_holder(config, database):
    row = spool.enqueue(simple_mail(frm="a@example.org", to="support@localhost", subject="slow", body="y",
                                    message_id="slow@x"), "cli")
    [first] = spool.claim(10, lease_seconds=60)
    [second] = spool.claim(10, lease_seconds=60, now=utcnow() + dt.timedelta(seconds=61))
    with pytest.raises(spool.LeaseLost):
        pipeline.process(first, config)
    # The first worker's work was rolled back, its acknowledgement of the ticket with it.
    assert Ticket.select().count() == 0 and Message.select().count() == 0 and Outgoing.select().count() == 0
    assert pipeline.process(second, config).outcome == "created"
    inbound = Message.select().where(Message.kind == "inbound")
    assert Inbound.get_by_id(row.id).outcome == "created" and inbound.count() == 1
    [ticket] = Ticket.select()
    render_pending(config)  # after the mail's transaction, as the daemon's sender does
    [acknowledgement] = Outgoing.select()  # the new holder's, sent once
    assert (acknowledgement.kind, acknowledgement.ticket_id) == ("acknowledgement", ticket.id)
    assert Message.select().where(Message.kind == "outbound").count() == 1


def test_a_reply_to_our_signed_message_id_threads_though_the_subject_was_rewritten(config, database):
    from daemon.outbound.compose import new_message_id
    spool.enqueue(simple_mail(frm="kari@example.no", to="support@localhost", subject="Skriveren",
                              body="Hei", message_id="first@example.no"), "cli")
    [first] = pipeline.drain(config)
    ours = new_message_id(config, first.ticket, "localhost").strip("<>")  # a mail we sent, not stored
    spool.enqueue(simple_mail(frm="kari@example.no", to="support@localhost", subject="helt nytt emne",
                              body="Takk!", message_id="second@example.no", in_reply_to=ours), "cli")
    forged = ours.replace(f"pd.{first.ticket}.", f"pd.{first.ticket + 1}.")
    spool.enqueue(simple_mail(frm="mallory@example.org", to="support@localhost", subject="hi",
                              body="x", message_id="third@example.org", in_reply_to=forged), "cli")
    second, third = pipeline.drain(config)
    assert (second.outcome, second.ticket) == ("threaded", first.ticket)
    assert Message.get(Message.message_id == "second@example.no").thread_signal == "in-reply-to"
    assert third.outcome == "created" and third.ticket != first.ticket
