"""Several writers at once: the SMTP edge, the daemon's worker and `patroldesk ingest`.

Nothing may be lost, stored twice, or fail with 'database is locked'.
Bounded: a few hundred mails, every wait has a deadline.
"""
from __future__ import annotations

import contextlib
import json
import os
import smtplib
import subprocess
import sys
import threading

from daemon.store import db
from daemon.store.models import AuditEvent, Inbound, Message, Outgoing, Ticket
from tests.conftest import make_config, running_service, wait_for
from tests.corpus import simple_mail


def write_config(tmp_path, url: str) -> dict:
    path = tmp_path / "patroldesk.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[smtp]\nport = 0\n[web]\nenabled = false\n')
    return dict(os.environ, PATROLDESK_CONFIG=str(path))


def inbound_messages() -> int:
    """The customers' mail stored (each new ticket also carries its outbound acknowledgement)."""
    return Message.select().where(Message.kind == "inbound").count()


def acknowledgements() -> tuple[int, int]:
    """(acknowledged, held back) tickets, after checking every ticket got exactly one of the two:
    the acknowledgement is queued in the ticket's own transaction, so a race or a restart may
    neither lose it nor send it twice."""
    tickets = sorted(t.id for t in Ticket.select(Ticket.id))
    acked = [row.ticket_id for row in Outgoing.select(Outgoing.ticket).where(Outgoing.kind == "acknowledgement")]
    outbound = [row.ticket_id for row in Message.select(Message.ticket).where(Message.kind == "outbound")]
    held = [row.ticket_id for row in AuditEvent.select(AuditEvent.ticket).where(
        AuditEvent.action == "automatic mail held back")]
    assert len(set(acked)) == len(acked), "a ticket was acknowledged twice"
    assert sorted(outbound) == sorted(acked), "the outbound messages are not the acknowledgements queued"
    assert len(set(held)) == len(held) and not set(held) & set(acked)
    assert sorted(acked + held) == tickets
    assert Outgoing.select().count() == len(acked)  # nothing else went out
    return len(acked), len(held)


def start_ingest(env, files) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "daemon", "ingest", "--json", *map(str, files)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_ingests_of_the_same_mail_at_once_store_each_mail_once(tmp_path, backend_url):
    env = write_config(tmp_path, backend_url)
    subprocess.run([sys.executable, "-m", "daemon", "init"], env=env, check=True, capture_output=True)
    files = []
    for i in range(60):
        path = tmp_path / f"m{i}.eml"
        # Half the customers write twice: customers are created concurrently too.
        path.write_bytes(simple_mail(frm=f"c{i // 2}@example.no", to="support@localhost", subject=f"Sak {i}",
                                     body="x", message_id=f"same{i}@example.no"))
        files.append(path)
    first, second = start_ingest(env, files), start_ingest(env, list(reversed(files)))
    outputs = [proc.communicate(timeout=120) for proc in (first, second)]
    for proc, (out, err) in zip((first, second), outputs):
        assert proc.returncode == 0, err
    outcomes = [json.loads(line)["outcome"] for out, _ in outputs for line in out.splitlines()]
    assert sorted(set(outcomes)) <= ["created", "duplicate"]
    assert outcomes.count("created") == 60 and outcomes.count("duplicate") == 60

    db.open_database(make_config(tmp_path, backend_url))
    assert inbound_messages() == 60 and Ticket.select().count() == 60
    assert acknowledgements() == (60, 0)  # two tickets per customer: within autoreply.per_sender_per_hour
    db.database.close()


def test_smtp_flood_worker_and_ingest_together_lose_nothing_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/desk.db"
    env = write_config(tmp_path, url)
    config = make_config(tmp_path, url)
    with running_service(config) as service:
        files = []
        for i in range(40):
            path = tmp_path / f"file{i}.eml"
            path.write_bytes(simple_mail(frm=f"f{i}@example.no", to="support@localhost", subject=f"Fil {i}",
                                         body="x", message_id=f"file{i}@example.no"))
            files.append(path)
        ingest = start_ingest(env, files)

        def sender(n: int) -> None:
            with smtplib.SMTP("127.0.0.1", service.smtp.port, timeout=30) as client:
                for i in range(40):
                    client.sendmail(f"s{n}@example.org", ["support@localhost"],
                                    simple_mail(frm=f"s{n}@example.org", to="support@localhost",
                                                subject=f"Flood {n}/{i}", body="x",
                                                message_id=f"flood{n}.{i}@example.org"))

        senders = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(60)
        out, err = ingest.communicate(timeout=120)
        assert ingest.returncode == 0, err
        assert [json.loads(line)["outcome"] for line in out.splitlines()] == ["created"] * 40
        wait_for(lambda: Inbound.select().where(Inbound.state == "done").count() == 200, timeout=60)
        assert inbound_messages() == 200 and Ticket.select().count() == 200
        # Each file has its own sender; each SMTP sender opens 40 tickets, of which
        # autoreply.per_sender_per_hour (3) are acknowledged and the rest held back.
        per_sender = config.autoreply.per_sender_per_hour
        assert acknowledgements() == (40 + 4 * per_sender, 4 * (40 - per_sender))
        assert not Inbound.select().where(Inbound.state == "quarantined").exists()


def test_a_daemon_killed_mid_batch_loses_nothing_and_doubles_nothing_after_restart(tmp_path):
    url = f"sqlite:///{tmp_path}/desk.db"
    path = tmp_path / "patroldesk.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[smtp]\nport = 0\n[web]\nenabled = false\n'
                    '[ingest]\nlease_seconds = 5\n')
    env = dict(os.environ, PATROLDESK_CONFIG=str(path))
    db.open_database(make_config(tmp_path, url))
    db.upgrade()
    from daemon.ingest.sources import spool
    total = 1500
    for i in range(total):
        spool.enqueue(simple_mail(frm=f"k{i}@example.no", to="support@localhost", subject=f"Sak {i}",
                                  body="x", message_id=f"kill{i}@example.no"), "cli")

    def done() -> int:
        return Inbound.select().where(Inbound.state == "done").count()

    first = subprocess.Popen([sys.executable, "-m", "daemon", "run"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: done() > 0, timeout=30, interval=0.005)
    finally:
        first.kill()  # SIGKILL: no chance to hand anything back
        first.wait(10)
    assert done() < total, "the daemon finished before it could be killed; make the backlog larger"

    second = subprocess.Popen([sys.executable, "-m", "daemon", "run"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: done() == total, timeout=90, interval=0.1)
        # and the acknowledgements the killed daemon had not rendered yet, rendered by the new one
        wait_for(lambda: not Outgoing.select().where(Outgoing.state == "rendering").exists(), timeout=90,
                 interval=0.1)
    finally:
        second.terminate()
        second.wait(30)
    assert inbound_messages() == total and Ticket.select().count() == total
    assert acknowledgements() == (total, 0)
    assert not Inbound.select().where(Inbound.state != "done").exists()
    db.database.close()


def test_a_mail_that_loses_two_races_on_postgresql_is_still_a_duplicate(tmp_path, postgres_url, monkeypatch):
    """The interleaving behind a duplicate once quarantined with IntegrityError on
    message_inbound_id_sender: worker B's copy of mail `two` first loses the race for the
    customer to worker A's mail `one`, and on its second run for the message to A's copy of
    `two`. Each worker waits at its pause only until the other is blocked on a lock, or 3 s."""
    import psycopg2

    from daemon.ingest import pipeline, requeue
    from daemon.ingest.sources import spool
    from daemon.store.db import database

    config = make_config(tmp_path, postgres_url)
    db.open_database(config)
    db.upgrade()
    sender = "kari@example.no"
    one, two = (simple_mail(frm=sender, to="support@localhost", subject=f"Sak {n}", body="x",
                            message_id=f"{n}@example.no") for n in ("one", "two"))
    rows = {name: spool.enqueue(raw, "cli").id for name, raw in (("one", one), ("two", two), ("copy", two))}
    database.close()

    watcher = psycopg2.connect(postgres_url)
    watcher.autocommit = True
    pids, a_holds_two, results = {}, threading.Event(), {}

    def blocked(name: str) -> bool:
        with watcher.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", (pids.get(name),))
            return cur.fetchone() is not None

    def pause_until(condition) -> None:
        with contextlib.suppress(AssertionError):
            wait_for(condition, timeout=3)

    def staged(name: str, run):
        def stage(ctx):
            run(ctx)
            who = threading.current_thread().name
            if who == "A" and name == "ticket":  # A's customer, or A's copy of `two`, is written, not committed
                if ctx.mail.message_id == "two@example.no":
                    a_holds_two.set()
                pause_until(lambda: blocked("B"))
            elif who == "B" and name == "dedupe" and ctx.attempt == 2:  # B looked, and found nothing yet
                pause_until(a_holds_two.is_set)
        return stage

    attempts = {}

    def counted(run):
        def stage(ctx):
            attempts[threading.current_thread().name] = attempts.get(threading.current_thread().name, 0) + 1
            ctx.attempt = attempts[threading.current_thread().name]
            run(ctx)
        return stage

    patched = {name: staged(name, run) for name, run in pipeline._RUN.items()}
    patched["loop_guard"] = counted(patched["loop_guard"])
    monkeypatch.setattr(pipeline, "_RUN", patched)

    def worker(name: str, spool_ids: list[int]) -> None:
        pids[name] = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        results[name] = [requeue.process_now(config, spool_id).outcome for spool_id in spool_ids]
        database.close()

    a = threading.Thread(target=worker, args=("A", [rows["one"], rows["two"]]), name="A")
    b = threading.Thread(target=worker, args=("B", [rows["copy"]]), name="B")
    a.start()
    wait_for(lambda: "A" in pids)
    b.start()
    a.join(60)
    b.join(60)
    watcher.close()

    assert not a.is_alive() and not b.is_alive()
    assert sorted(results["A"] + results["B"]) == ["created", "created", "duplicate"], results
    assert Message.select().where((Message.kind == "inbound") & (Message.message_id == "two@example.no")).count() == 1
    database.close()
