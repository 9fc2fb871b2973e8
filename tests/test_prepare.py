"""Mail parsed in other processes: the same tickets as parsing in the pipeline's thread, and a
process that dies costs only the mail that killed it."""
from __future__ import annotations

import os

import pytest

from daemon.ingest import pipeline
from daemon.ingest.prepare import REFUSE_START, Preparer, prepare
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import Attachment, Inbound, Message
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import CORPUS, simple_mail


def _ingest_corpus(config, preparer):
    db.open_database(config)
    db.upgrade()
    ids = {spool.enqueue(case.raw, "cli", {"file": case.name}).id: case.name for case in CORPUS}
    results = pipeline.drain(config, preparer=preparer)
    stored = {}
    for row in Inbound.select().order_by(Inbound.id):
        message = Message.get_or_none(Message.id == row.message_id) if row.message_id else None
        stored[ids[row.id]] = (row.state, row.outcome, row.reason.split(":")[0], message and (
            message.subject, message.body_text, message.body_visible, message.body_html, message.language,
            message.language_confidence, sorted((a.filename, a.sha256, a.stored) for a in Attachment.select()
                                                .where(Attachment.message == message.id))))
    files = sorted(path.relative_to(config.attachments_dir).as_posix()
                   for path in config.attachments_dir.rglob("*") if path.is_file())
    db.database.close()
    return results, stored, files


def test_the_corpus_prepared_in_two_processes_is_stored_as_when_the_pipeline_parses_it(tmp_path):
    alone = make_config(tmp_path / "alone")
    beside = make_config(tmp_path / "beside")
    _, expected, expected_files = _ingest_corpus(alone, None)
    preparer = Preparer(beside, 2, take_back=False)  # every mail prepared in the other processes
    preparer.start()
    try:
        results, stored, files = _ingest_corpus(beside, preparer)
        # It really ran elsewhere: a corpus mail prepared now names a process that is not this one.
        assert preparer.submit([CORPUS[0].raw]).results()[0].by not in (0, os.getpid())
    finally:
        preparer.stop()
    assert len(results) == len(CORPUS)
    assert stored == expected
    assert files == expected_files and files  # the corpus has attachments, written by the other processes
    assert {state for state, *_ in stored.values()} == {"done", "discarded", "quarantined"}


def test_a_mail_that_kills_the_process_preparing_it_is_quarantined_alone(tmp_path):
    config = make_config(tmp_path)
    db.open_database(config)
    db.upgrade()
    mails = [simple_mail(frm=f"c{i}@example.org", to="support@localhost",
                         subject=f"mail {i}" if i != 3 else "KILL-THE-PARSER", body="the printer is broken",
                         message_id=f"m{i}@example.org") for i in range(8)]
    rows = [spool.enqueue(raw, "cli") for raw in mails]
    preparer = Preparer(config, 2, fault=b"KILL-THE-PARSER", take_back=False)
    preparer.start()
    try:
        results = {result.inbound_id: result for result in pipeline.drain(config, preparer=preparer)}
        # The pool was started again: the next mail is prepared in a process of its own once more.
        after = preparer.submit([mails[0]]).results()[0]
        assert after.mail is not None and after.by not in (0, os.getpid())
    finally:
        preparer.stop()
    killer = Inbound.get_by_id(rows[3].id)
    assert killer.state == "quarantined"
    assert "stopped the process that read it" in killer.reason
    assert bytes(killer.raw.data) == mails[3]
    assert [results[row.id].outcome for i, row in enumerate(rows) if i != 3] == ["created"] * 7
    db.database.close()


def test_processes_that_cannot_start_leave_the_work_to_the_pipeline_and_quarantine_nothing(tmp_path, caplog):
    config = make_config(tmp_path)
    db.open_database(config)
    db.upgrade()
    for i in range(5):
        spool.enqueue(simple_mail(frm=f"c{i}@example.org", to="support@localhost", subject=f"mail {i}",
                                  body="hello there", message_id=f"s{i}@example.org"), "cli")
    preparer = Preparer(config, 1, fault=REFUSE_START)
    preparer.start()
    try:
        results = pipeline.drain(config, preparer=preparer)
        later = preparer.submit([CORPUS[0].raw]).results()[0]
    finally:
        preparer.stop()
    assert [result.outcome for result in results] == ["created"] * 5
    assert later.by == os.getpid()  # prepared in this process from then on
    assert "cannot be started" in caplog.text
    db.database.close()


def test_a_bug_while_preparing_quarantines_the_mail_with_the_reason_and_the_traceback(tmp_path):
    config = make_config(tmp_path)
    prepared = prepare(b"", config)
    assert prepared.mail is None
    reason, detail = prepared.failure
    assert reason == "MailUnparseable: empty input" and "Traceback" in detail


@pytest.mark.parametrize("processes", [0, 1])
def test_the_daemon_files_mail_with_and_without_processes_to_parse_it(tmp_path, processes):
    import smtplib
    config = make_config(tmp_path, ingest={"parse_processes": processes})
    with running_service(config) as service:
        with smtplib.SMTP("127.0.0.1", service.smtp.port) as client:
            client.sendmail("anna@example.org", ["support@localhost"],
                            simple_mail(frm="anna@example.org", to="support@localhost", subject="Skriveren",
                                        body="Hei! Skriveren på kontoret skriver ut blanke ark. Hva gjør vi nå?",
                                        message_id="nb@example.org"))
        message = wait_for(lambda: Message.get_or_none(Message.message_id == "nb@example.org"))
        assert message.ticket.subject == "Skriveren"
        assert message.language == "nb"


def test_acknowledgements_rendered_in_a_helper_process_are_the_ones_rendered_here(tmp_path):
    from daemon import outbound
    from daemon.store.models import Outgoing
    queued = {}
    for place, processes in (("here", 0), ("helper", 1)):
        config = make_config(tmp_path / place)
        db.open_database(config)
        db.upgrade()
        for i in range(3):
            spool.enqueue(simple_mail(frm=f"Kunde {i} <k{i}@example.org>", to="support@localhost",
                                      subject=f"Принтер {i}", body="Принтер не печатает.",
                                      message_id=f"a{i}@example.org"), "cli")
        pipeline.process_claimed(spool.claim(10, 60), config)  # queued, not yet rendered
        preparer = Preparer(config, processes)
        preparer.start()
        where = []

        def elsewhere(function, *args, preparer=preparer, where=where):
            where.append(preparer.call(_pid, None))  # the process the helper's calls run in
            return preparer.call(function, *args)
        try:
            assert outbound.render_pending(config, elsewhere=elsewhere) == 3
        finally:
            preparer.stop()
        assert (where[0] != os.getpid()) == bool(processes)
        rows = Outgoing.select().where(Outgoing.kind == "acknowledgement").order_by(Outgoing.id)
        queued[place] = [(row.subject, row.recipients, row.state, b"Auto-Submitted: auto-replied" in bytes(row.data))
                         for row in rows]
        db.database.close()
    assert queued["helper"] == queued["here"] and len(queued["here"]) == 3
    assert all(state == "queued" and automatic for _, _, state, automatic in queued["here"])


def _pid(config, _):
    return os.getpid()


def test_mail_no_process_has_begun_is_prepared_by_the_pipeline_instead_of_waited_for(tmp_path):
    config = make_config(tmp_path)
    preparer = Preparer(config, 1)
    preparer.start()
    try:
        preparer.call(_pid, None)  # the process is up
        mails = [case.raw for case in CORPUS[:40]]
        prepared = preparer.submit(mails).results()  # taken at once: most pieces not yet begun
    finally:
        preparer.stop()
    by = {item.by for item in prepared if item.mail is not None}
    assert os.getpid() in by  # some were taken back
    alone = [prepare(raw, config) for raw in mails]
    assert [(p.mail, p.language, p.failure and p.failure[0]) for p in prepared] == \
        [(p.mail, p.language, p.failure and p.failure[0]) for p in alone]
