"""End-to-end ingest from a real Dovecot mailbox, on SQLite.

Starts a private Dovecot, appends N mails of the mixed corpus to INBOX
(untimed), then runs the daemon (`patroldesk run`, IMAP only) as a separate
process until every mail has left INBOX for the processed or quarantine
folder. Reports the wall time from starting the process, the time from the
first spooled batch (start-up excluded), mails per second on both,
the tickets made, and the daemon process's peak RSS (VmHWM). Each new
ticket is acknowledged (written to var/sent/, as no relay is set): the
acknowledgements queued, how many had left when the last mail was filed,
and the time until the outbox was empty are reported too.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import knowledge
from bench.mailgen import SUPPORT, corpus
from daemon.config import load_config
from daemon.store import db
from daemon.store.models import Inbound, Outgoing, Ticket
from tests.dovecot import running_dovecot, write_daemon_config

APPEND_CHUNK = 500


def run(count: int, every_ticket_acknowledged: bool = False, checked_articles: int = 0) -> dict:
    """`every_ticket_acknowledged` lifts the per-sender cap (the corpus has senders who open many
    tickets, most of whose acknowledgements the cap holds back) to measure the cost of one for each.
    `checked_articles` validated articles are in the knowledge base first, so every new ticket
    gets its suggestions."""
    mails = corpus(count)
    with tempfile.TemporaryDirectory(prefix="patroldesk-bench-") as tmp:
        root = Path(tmp)
        with running_dovecot(root) as server:
            account = server.add_user("bench")
            with account.client() as client:
                for start in range(0, count, APPEND_CHUNK):
                    client.multiappend("INBOX", mails[start:start + APPEND_CHUNK])
                delimiter = client.namespace().personal[0][1]
            sections = "[log]\nlevel = \"WARNING\"\n"
            if every_ticket_acknowledged:
                sections += "[autoreply]\nper_sender_per_hour = 1000000\n"
            config_path = str(write_daemon_config(root, account, name="bench", support=SUPPORT, sections=sections))
            config = load_config(config_path, {})
            db.open_database(config)
            db.upgrade()
            if checked_articles:
                knowledge.build_base(checked_articles, "validated")
            db.database.close()
            result = _measure(count, config, config_path, account, delimiter)
            result["every_ticket_acknowledged"] = every_ticket_acknowledged
            result["checked_articles"] = checked_articles
            return result


def _measure(count, config, config_path, account, delimiter) -> dict:
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "--config", config_path, "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    session = None
    peak_kb = 0
    db.open_database(config)
    try:
        with account.client() as watcher:
            while True:
                peak_kb = max(peak_kb, _hwm_kb(daemon.pid))
                if session is None and Inbound.select().exists():
                    session = time.perf_counter()  # the first batch is spooled: start-up is over
                left = watcher.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
                if left == 0 and not Inbound.select().where(Inbound.filed_at.is_null()).exists():
                    break
                if daemon.poll() is not None:
                    raise RuntimeError(f"the daemon exited with {daemon.returncode}")
                time.sleep(0.02)
            drained = time.perf_counter()
            sent_at_drain = Outgoing.select().where(Outgoing.state == "sent").count()
            deadline = drained + 120
            while Outgoing.select().where(Outgoing.state.in_(("rendering", "queued", "sending"))).exists() \
                    and time.perf_counter() < deadline:
                time.sleep(0.02)
            outbox_empty = time.perf_counter()
            processed = watcher.folder_status(f"patroldesk{delimiter}processed", [b"MESSAGES"])[b"MESSAGES"]
            quarantined = watcher.folder_status(f"patroldesk{delimiter}quarantine", [b"MESSAGES"])[b"MESSAGES"]
        peak_kb = max(peak_kb, _hwm_kb(daemon.pid))
        session = session or started
        return {
            "benchmark": "imap_ingest", "database": "sqlite", "mails": count,
            "tickets": Ticket.select().count(),
            "processed_folder": processed, "quarantine_folder": quarantined,
            "seconds": round(drained - started, 3),
            "mails_per_second": round(count / (drained - started), 1),
            "seconds_after_startup": round(drained - session, 3),
            "mails_per_second_after_startup": round(count / (drained - session), 1),
            "acknowledgements": Outgoing.select().where(Outgoing.kind == "acknowledgement").count(),
            "sent_when_filed": sent_at_drain,
            "seconds_until_outbox_empty": round(outbox_empty - started, 3),
            "unsent": Outgoing.select().where(Outgoing.state != "sent").count(),
            "peak_rss_mb": round(peak_kb / 1024, 1),
        }
    finally:
        db.database.close()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
