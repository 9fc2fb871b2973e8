"""A reply never overtakes the mail it answers while that mail is still in the spool.

With several workers (threads here, daemons in production) a reply can be
claimed while its parent is queued or in another worker's uncommitted batch;
it then waits and joins its parent's ticket instead of opening a new one.
"""
from __future__ import annotations

import dataclasses
import threading

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.mail.msgids import peek_message_id
from daemon.store import db
from daemon.store.models import Inbound, Message
from tests.conftest import make_config, wait_for
from tests.corpus import simple_mail


def mail(n: int, reply: bool = False, by_references: bool = False) -> bytes:
    parent = f"p{n}@customer.example"
    if not reply:
        return simple_mail(frm=f"c{n}@customer.example", to="support@localhost", subject=f"Problem {n}",
                           body=f"Something broke, case {n}.", message_id=parent)
    threading_header = {"references": parent} if by_references else {"in_reply_to": parent}
    return simple_mail(frm=f"c{n}@customer.example", to="support@localhost", subject=f"More on {n}",
                       body=f"Still broken, case {n}.", message_id=f"r{n}@customer.example", **threading_header)


@pytest.fixture
def store(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url)
    db.open_database(config)
    db.upgrade()
    yield config
    db.database.close()


def ticket_of(message_id: str) -> int:
    return Message.get(Message.message_id == message_id).ticket_id


def test_the_edge_reads_only_the_message_id_of_the_header_section():
    assert peek_message_id(b"From: a@x\r\nMessage-ID:\r\n <abc@x>\r\n\r\nMessage-ID: <body@x>\r\n") == "abc@x"
    assert peek_message_id(b"Subject: none\n\nMessage-ID: <body@x>\n") is None


def test_a_reply_claimed_while_its_parent_is_in_other_hands_waits_and_then_joins_its_ticket(store):
    parent = spool.enqueue(mail(1), "smtp")
    reply = spool.enqueue(mail(1, reply=True), "smtp")
    assert Inbound.get_by_id(parent.id).spooled_id == "p1@customer.example"
    (held,) = spool.claim(1, 60)  # another worker has the parent, its batch not committed yet
    (claimed,) = spool.claim(1, 60)
    assert claimed.id == reply.id
    waited = pipeline.process(claimed, store)
    assert (waited.outcome, waited.waits_for) == ("waiting", parent.id)
    assert Inbound.get_by_id(reply.id).state == "queued" and Message.select().count() == 0
    assert spool.claim(1, 60) == []  # it is not taken again at once, while the parent is still busy
    assert pipeline.process(held, store).outcome == "created"
    results = pipeline.drain(store)
    assert [(r.inbound_id, r.outcome) for r in results] == [(reply.id, "threaded")]
    assert ticket_of("r1@customer.example") == ticket_of("p1@customer.example")


def test_a_reply_to_mail_that_is_not_in_the_spool_does_not_wait(store):
    reply = spool.enqueue(mail(7, reply=True), "smtp")
    (result,) = pipeline.drain(store)
    assert (result.inbound_id, result.outcome) == (reply.id, "created")


def test_a_reply_spooled_before_its_parent_does_not_wait_for_it(store):
    reply = spool.enqueue(mail(8, reply=True), "smtp")
    spool.enqueue(mail(8), "smtp")
    results = pipeline.drain(store)
    assert [r.outcome for r in results] == ["created", "created"] and results[0].inbound_id == reply.id


def test_the_command_line_processes_a_queued_parent_before_the_reply_it_was_asked_for(store):
    from daemon.ingest import requeue
    parent = spool.enqueue(mail(3), "smtp")  # spooled by a listener; no daemon has processed it
    reply = spool.enqueue(mail(3, reply=True, by_references=True), "cli")
    assert requeue.process_now(store, reply.id).outcome == "threaded"
    assert Inbound.get_by_id(parent.id).outcome == "created"
    assert ticket_of("r3@customer.example") == ticket_of("p3@customer.example")


def test_two_workers_one_mail_at_a_time_put_every_reply_in_its_parents_ticket(store):
    config = dataclasses.replace(store, ingest=dataclasses.replace(store.ingest, batch_size=1))
    pairs = 60
    for n in range(pairs):  # each reply right behind its parent: the other worker claims it meanwhile
        spool.enqueue(mail(n), "smtp")
        spool.enqueue(mail(n, reply=True, by_references=n % 2 == 0), "smtp")
    failures = []

    def work():
        try:
            pipeline.drain(config)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
        finally:
            db.database.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures and not any(worker.is_alive() for worker in workers)
    wait_for(lambda: Inbound.select().where(Inbound.state != "done").count() == 0, timeout=10)
    wrong = [n for n in range(pairs) if ticket_of(f"r{n}@customer.example") != ticket_of(f"p{n}@customer.example")]
    assert wrong == []
    assert Message.select().where(Message.kind == "inbound").count() == 2 * pairs
